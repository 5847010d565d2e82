//! The interactive terminal UI of mmrace. It renders a view the binary
//! provides and knows nothing of the readers or of the analysis.
//!
//! ```text
//!  TraceView (trait, view.rs) ◀── implemented by the binary over a trace
//!      │ findings, lanes(cpus, time range, columns), events_around, search
//!      ▼
//!  App (app.rs): keys/mouse in → state out (no terminal; unit-tested)
//!      │
//!      ▼
//!  ui::draw (ui.rs): one frame from App + TraceView (TestBackend snapshots)
//!      │
//!  run (this file): terminal setup, event loop, restore on quit/error/panic
//! ```
#![forbid(unsafe_code)]

pub mod app;
pub mod fixture;
pub mod ui;
pub mod view;

use std::io::{self, Stdout};
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub use app::App;
pub use view::TraceView;

/// Whether colours are wanted: off when `NO_COLOR` is set and not empty
/// (<https://no-color.org>).
pub fn color_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Puts the terminal back: raw mode off, mouse capture off, main screen,
/// cursor shown. Safe to call more than once.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Restores the terminal when dropped: on quit, on an error returned by the
/// loop, and while unwinding from a panic.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Runs the TUI over `view` until the user quits. The terminal is restored
/// on every way out: quit, error, panic (a panic hook restores it before
/// the panic message is printed, so the message is readable).
pub fn run(view: &mut dyn TraceView) -> io::Result<()> {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        prev(info);
    }));
    let guard = Restore;
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let mut terminal: Terminal<CrosstermBackend<Stdout>> =
        Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    let mut app = App::new(view, color_wanted());
    let res = event_loop(&mut terminal, &mut app, view);
    drop(guard);
    let _ = std::panic::take_hook();
    res
}

fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    app: &mut App,
    view: &mut dyn TraceView,
) -> io::Result<()> {
    let mut dirty = true;
    loop {
        if view.poll() {
            dirty = true;
        }
        // Follows the span while the trace is read (a no-op once known).
        app.sync(view);
        if dirty {
            terminal.draw(|f| ui::draw(f, app, view))?;
            dirty = false;
        }
        // Redraw at least every 100 ms while indexing (progress).
        let wait = if view.progress().done {
            Duration::from_millis(250)
        } else {
            Duration::from_millis(100)
        };
        if event::poll(wait)? {
            let ev = event::read()?;
            app.handle_event(&ev, view);
            if app.quit {
                return Ok(());
            }
            dirty = true;
        } else if !view.progress().done {
            dirty = true;
        }
    }
}
