//! mmrace: finds address-space races between context switches and TLB
//! maintenance in Linux kernel traces.
//!
//! Data flow (race-model.md §3):
//!
//! ```text
//! records ──profile (compiled per event id)──▶ role events (ingest)
//!         ──replay: in merged order, cross-CPU checks online──▶ findings
//!         ──INV-7 gate, coverage──▶ Analysis (serde Serialize)
//! ```
//!
//! Entry points for the CLI: [`analysis::analyze`] (a parsed trace.dat),
//! [`analysis::analyze_records`] (a merged record
//! stream + the file's formats), [`analysis::analyze_ingested`],
//! [`profile::Profile::parse`] (`--profile FILE`), and [`synth::build`] /
//! [`synth::write`] (`mmrace synth`).

pub mod analysis;
pub mod baseline;
pub mod batch;
pub mod browse;
pub mod chunks;
pub mod detect;
pub mod dump;
pub mod feed;
pub mod finding;
pub mod ingest;
pub mod input;
pub mod model;
pub mod profile;
pub mod replay;
pub mod report;
pub mod synth;
#[cfg(test)]
mod testing;
pub mod timeline;
#[cfg(feature = "tui")]
pub mod tui_view;

pub use mmrace_parsers as parsers;
