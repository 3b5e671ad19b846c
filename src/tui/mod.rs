//! The only module that knows the terminal (ratatui and crossterm).
//!
//! Screens are components: each owns its state, draws with a pure `render`
//! and maps keys to actions. The reveal screen shows a released item once,
//! on the alternate screen, and is cleared on confirmation or timeout (I3).

pub mod app;
pub mod ceremony;
pub mod deposit;
pub mod home;
pub mod ledger_view;
pub mod officers;
pub mod release;
pub mod reveal;
pub mod review;
pub mod theme;
pub mod widgets;

use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{self, DisableBracketedPaste, EnableBracketedPaste, Event, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::error::{Error, Result};
use crate::vault::{Displayed, Released, Vault};

pub use app::{Action, App};
pub use reveal::{RevealKey, RevealScreen};

/// Whether the console or a reveal holds the terminal (raw mode, alternate
/// screen) right now.
static ENTERED: AtomicBool = AtomicBool::new(false);

/// Leaves raw mode and the alternate screen, if the console or a reveal
/// had entered them; otherwise does nothing, so no escape codes reach a
/// stdout that is a pipe or a file (`--batch`). Safe to call more than
/// once and from the panic hook.
pub fn restore_terminal() {
    if !ENTERED.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = terminal::disable_raw_mode();
    // The same stdout the guard entered the alternate screen on.
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
        if !io::stdout().is_terminal() {
            return Err(Error::invalid(
                "terminal",
                "stdout is not a terminal; the console and the reveal draw only on one",
            ));
        }
        terminal::enable_raw_mode()?;
        ENTERED.store(true, Ordering::SeqCst);
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

/// How a reveal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevealEnd {
    /// How the display ended, for the ledger.
    pub how: Displayed,
    /// Ctrl-C ended it (cleared, unconfirmed): the caller says so and fails.
    pub interrupted: bool,
}

/// Shows `released` on the alternate screen until an officer confirms it
/// (Enter), dismisses it (Esc or Ctrl-C, unconfirmed) or `timeout` passes;
/// then clears the screen and leaves it.
pub fn reveal(released: &Released, timeout: Duration) -> Result<RevealEnd> {
    let _guard = TerminalGuard::enter()?;
    let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    term.clear()?;
    let start = Instant::now();
    let mut spelled = false;
    let end = |how| RevealEnd {
        how,
        interrupted: false,
    };
    let outcome = loop {
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            break end(Displayed::TimedOut);
        }
        let screen = RevealScreen::new(released, timeout.as_secs()).spelled(spelled);
        term.draw(|f| screen.render(f, f.area(), elapsed.as_secs()))?;
        if event::poll(Duration::from_millis(250))? {
            if let Event::Key(k) = event::read()? {
                if k.kind == KeyEventKind::Press {
                    match screen.on_key(k) {
                        RevealKey::None => {}
                        RevealKey::ToggleSpelling => spelled = !spelled,
                        RevealKey::End(how) => break end(how),
                        RevealKey::Interrupt => {
                            break RevealEnd {
                                how: Displayed::Dismissed,
                                interrupted: true,
                            };
                        }
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

/// How the console is opened.
#[derive(Debug, Default)]
pub struct Options {
    /// The demo vault's officers and passphrases, shown on the home screen.
    pub demo: Vec<(String, String)>,
    /// The secret selected at first.
    pub select: Option<String>,
    /// Open read-only (the vault is a reader): what holds it for writing.
    pub read_only: Option<String>,
}

/// How the console ended.
#[derive(Debug, Default)]
pub struct ConsoleEnd {
    /// Set when it was left with an item released and not confirmed seen
    /// (Ctrl-C on the reveal): what to tell the user after the screen is
    /// restored. The caller exits non-zero.
    pub unconfirmed: Option<String>,
    /// Set when Ctrl-C cut a release, a ceremony or a drill short: what
    /// to say on stderr. The caller exits 130, as after Ctrl-C at a prompt.
    pub interrupted: Option<String>,
}

/// How long the console waits without input before it lets go of the
/// vault's database for readers (see [`App::idle`]). Short enough that a
/// reader's wait is rarely noticed, long enough that scrolling the ledger
/// does not reopen it at every key.
const IDLE: Duration = Duration::from_secs(1);

/// Runs the console on `vault` until the user quits.
pub fn run(vault: Vault, options: Options) -> Result<ConsoleEnd> {
    if !io::stdin().is_terminal() {
        return Err(Error::invalid(
            "terminal",
            "stdin is not a terminal; the console needs one (scripts use the commands, see --help)",
        ));
    }
    let mut app = App::new(vault, theme::Theme::from_env(), options.demo)?;
    if let Some(s) = &options.select {
        app.select(s);
    }
    if let Some(holder) = options.read_only {
        app.set_read_only(holder);
    }
    let _guard = TerminalGuard::enter()?;
    let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    term.clear()?;
    let mut last_input = std::time::Instant::now();
    loop {
        if app.take_clear() {
            term.clear()?;
        }
        let size = term.size()?;
        app.on_resize(size.width, size.height);
        term.draw(|f| app.render(f))?;
        if app.should_quit() {
            break;
        }
        if !event::poll(Duration::from_millis(100))? {
            if last_input.elapsed() >= IDLE {
                app.idle();
            }
        } else {
            last_input = std::time::Instant::now();
            match event::read()? {
                Event::Key(k) if k.kind == KeyEventKind::Press => app.on_key(k),
                Event::Paste(text) => app.on_paste(&text),
                Event::Resize(w, h) => app.on_resize(w, h),
                _ => {}
            }
        }
        // After the frame: the first one is drawn before any background
        // work (the ledger's verification) starts.
        app.tick();
    }
    term.clear()?;
    Ok(ConsoleEnd {
        unconfirmed: app.exit_note().map(str::to_owned),
        interrupted: app.interrupted().map(str::to_owned),
    })
}
