//! The interactive terminal UI of mmrace. It renders a view the binary
//! provides and knows nothing of the readers or of the analysis.
#![forbid(unsafe_code)]
