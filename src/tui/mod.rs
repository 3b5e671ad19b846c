//! The only module that knows the terminal (ratatui and crossterm).
//!
//! Screens are components: each owns its state, draws with a pure `render`
//! and maps keys to actions. The reveal screen shows a released item once,
//! on the alternate screen, and is cleared on confirmation or timeout (I3).

pub mod app;
pub mod bigtext;
pub mod deposit;
pub mod home;
pub mod ledger_view;
pub mod release;
pub mod reveal;
pub mod theme;
pub mod widgets;

use std::io;
use std::time::{Duration, Instant};

use crossterm::event::{self, DisableBracketedPaste, EnableBracketedPaste, Event, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::error::Result;
use crate::vault::{Displayed, Released, Vault};

pub use app::{Action, App};
pub use reveal::RevealScreen;

/// Leaves raw mode and the alternate screen. Safe to call more than once and
/// from the panic hook.
pub fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Restores the terminal when dropped, on every exit path.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> Result<Self> {
        terminal::enable_raw_mode()?;
        let guard = TerminalGuard;
        execute!(io::stdout(), EnterAlternateScreen, EnableBracketedPaste)?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Shows `released` on the alternate screen until an officer confirms it
/// (Enter), dismisses it (Esc, unconfirmed) or `timeout` passes; then
/// clears the screen and leaves it.
pub fn reveal(released: &Released, timeout: Duration) -> Result<Displayed> {
    let _guard = TerminalGuard::enter()?;
    let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    term.clear()?;
    let start = Instant::now();
    let screen = RevealScreen::new(released, timeout.as_secs());
    let outcome = loop {
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            break Displayed::TimedOut;
        }
        term.draw(|f| screen.render(f, f.area(), elapsed.as_secs()))?;
        if event::poll(Duration::from_millis(250))? {
            if let Event::Key(k) = event::read()? {
                if k.kind == KeyEventKind::Press {
                    if let Some(how) = screen.on_key(k) {
                        break how;
                    }
                }
            }
        }
    };
    // Overwrite the item before leaving the alternate screen, so no
    // terminal keeps it in a buffer.
    term.clear()?;
    Ok(outcome)
}

/// Runs the console on `vault` until the user quits. `demo` lists the demo
/// vault's officers and passphrases to show on the home screen.
pub fn run(vault: Vault, demo: Vec<(String, String)>) -> Result<()> {
    let mut app = App::new(vault, theme::Theme::from_env(), demo)?;
    let _guard = TerminalGuard::enter()?;
    let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    term.clear()?;
    loop {
        app.tick();
        if app.take_clear() {
            term.clear()?;
        }
        term.draw(|f| app.render(f))?;
        if app.should_quit() {
            break;
        }
        if event::poll(Duration::from_millis(100))? {
            match event::read()? {
                Event::Key(k) if k.kind == KeyEventKind::Press => app.on_key(k),
                Event::Paste(text) => app.on_paste(&text),
                _ => {}
            }
        }
    }
    term.clear()?;
    Ok(())
}
