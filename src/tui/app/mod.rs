//! The console's state and its one loop body: keys become [`Action`]s, and
//! [`App::apply`] turns actions into library calls. Screens never call the
//! vault themselves. Time comes from the vault's clock and Argon2 runs on a
//! worker thread, so tests drive the app with scripted keys and a manual
//! clock and never sleep.
//!
//! This file is the routing: [`App`], the `Screen` it shows, the one
//! [`Action`] enum, construction, the accessors the loop and the tests use,
//! and the dispatch of keys, pastes and actions. What an action does lives
//! next to the concern it serves:
//!
//! - `release.rs`, `deposit.rs`, `ledger.rs`, `officers.rs`, `ceremony.rs`:
//!   the vault side of the screen of the same name in `tui/` (opening it,
//!   and the library calls its actions ask for);
//! - `drill.rs`: the end-to-end drill, from the canary's deposit through
//!   its release to the alert hook's check;
//! - `unlock.rs`: the officer unlock flow every passphrase goes through;
//! - `jobs.rs`: `tick`, the background jobs, verification, `idle`, `settle`;
//! - `frame.rs`: drawing the console around the screen, key bars, help;
//! - `texts.rs`: messages that take more than a line to word.
//!
//! # Adding a screen
//!
//! 1. Write the component in `tui/<name>.rs`: its state, a pure `render`,
//!    and `on_key` returning an [`Action`] (plus `paste` if it has inputs).
//! 2. Add a variant `Screen::<Name>(Box<<Name>>)` below, and the actions it
//!    needs to [`Action`], each documented.
//! 3. Write `app/<name>.rs` with an `impl App` holding `open_<name>` and one
//!    small method per action, the only place its vault calls are made; add
//!    its `mod` line here.
//! 4. Route: in [`App::apply`] one line per new action; in `on_key`, and in
//!    `on_paste` and `typing` if it takes text. The compiler then names the
//!    rest, in `frame.rs`: the title's screen name, the body's `render`
//!    call and the key bar (`keys`); add a help line in `render_help`.
//! 5. If it asks for a passphrase, add its arms to `unlock`, `unlocked`
//!    and `unlock_failed` in `unlock.rs`; if it holds a request that
//!    expires, to `tick` in `jobs.rs` and to `cancel_in_progress` here.

mod ceremony;
mod deposit;
mod drill;
mod frame;
mod jobs;
mod ledger;
mod officers;
mod read_only;
mod release;
mod review;
mod texts;
mod unlock;

use std::path::PathBuf;
use std::thread::JoinHandle;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use self::jobs::VerifyResult;
use self::texts::err_text;
use self::unlock::Job;
use crate::audit::Report;
use crate::error::Result;
use crate::records::SecretKind;
use crate::secret::Passphrase;
use crate::tui::ceremony::Ceremony;
use crate::tui::deposit::{self as deposit_screen, Deposit};
use crate::tui::home::Home;
use crate::tui::ledger_view::LedgerView;
use crate::tui::officers::Officers;
use crate::tui::release::{Release, Step};
use crate::tui::reveal::{RevealKey, RevealScreen};
use crate::tui::review::{self as review_screen, Review};
use crate::tui::theme::Theme;
use crate::tui::widgets::plural;
use crate::vault::{CeremonyPlan, Displayed, Released, SecretSummary, Status, Vault};

/// Smallest terminal the console draws in.
pub const MIN_WIDTH: u16 = 80;
/// Smallest terminal the console draws in.
pub const MIN_HEIGHT: u16 = 24;
/// How long a released item stays on screen, in seconds (I3).
pub const REVEAL_SECS: i64 = 60;

/// Everything a key can ask for.
#[derive(Debug)]
pub enum Action {
    /// Nothing.
    None,
    /// Leave the console.
    Quit,
    /// Back to the home screen (cancelling a release in progress).
    Back,
    /// Start a release, of this secret if given.
    OpenRelease(Option<String>),
    /// Start a deposit.
    OpenDeposit,
    /// Store the rotated credential the deposit screen holds.
    Rotate(String),
    /// Open the review of the oldest unreviewed release.
    OpenReview,
    /// Sign the review the review screen holds.
    Review,
    /// Open the ledger view.
    OpenLedger,
    /// Open the officers screen.
    OpenOfficers,
    /// Start an end-to-end drill, begun by this officer if given.
    OpenDrill(Option<String>),
    /// Begin a ceremony (its refusal is shown on the officers screen).
    BeginCeremony(CeremonyPlan),
    /// Abandon the ceremony, discarding approvals.
    CancelCeremony,
    /// Begin the release request.
    BeginRelease {
        /// Secret.
        secret: String,
        /// Reason.
        reason: String,
    },
    /// Show the statement this officer would sign.
    StatementFor(Option<String>),
    /// Derive this officer's key (off the UI thread).
    Unlock {
        /// Officer.
        officer: String,
        /// Their passphrase.
        passphrase: Passphrase,
    },
    /// Abandon the release, discarding approvals.
    CancelRelease,
    /// The reveal ended.
    Display(Displayed),
    /// Deposit what the deposit screen holds.
    Deposit {
        /// Secret.
        secret: String,
        /// Kind.
        kind: SecretKind,
    },
    /// Ask whether to write an export bundle into this directory (as
    /// typed: relative to the export base).
    Export(PathBuf),
    /// Write the export bundle into this absolute directory, confirmed.
    ExportTo(PathBuf),
    /// Verify the ledger again.
    Verify,
}

/// The secrets home lists: not the end-to-end drill's canary, which the
/// officers screen's drill owns.
fn real_secrets(mut secrets: Vec<SecretSummary>) -> Vec<SecretSummary> {
    secrets.retain(|s| !crate::lifecycle::is_drill_secret(&s.name));
    secrets
}

/// A released item on screen, and since when (clock time).
struct RevealState {
    released: Released,
    opened: i64,
    /// Spelled out for reading aloud (`p`) instead of large.
    spelled: bool,
}

/// What the console shows: one screen at a time, each owning its state.
enum Screen {
    Home,
    Release(Box<Release>),
    Reveal(Box<RevealState>),
    Deposit(Box<Deposit>),
    Ledger(Box<LedgerView>),
    Officers(Box<Officers>),
    Ceremony(Box<Ceremony>),
    Review(Box<Review>),
    /// An end-to-end drill's canary was shown: its alert delivery is
    /// being checked.
    Drill(Box<drill::DrillCheck>),
}

/// The console.
pub struct App {
    vault: Vault,
    status: Status,
    home: Home,
    screen: Screen,
    help: bool,
    message: Option<(bool, String)>,
    job: Option<Job>,
    generation: u64,
    verify_job: Option<(u64, JoinHandle<VerifyResult>)>,
    /// A background alert delivery, if one runs (I17).
    alert_job: Option<JoinHandle<()>>,
    /// The ledger size when delivery last started, and when (clock time).
    alerts_seen_size: u64,
    alerts_last_run: i64,
    verified: Option<(u64, std::result::Result<Report, String>)>,
    theme: Theme,
    reveal_secs: i64,
    demo: Vec<(String, String)>,
    ticks: u64,
    quit: bool,
    clear: bool,
    /// The terminal's size, once known; below the minimum only `q` and
    /// Ctrl-C act.
    size: Option<(u16, u16)>,
    /// What to tell the user after leaving, when the console was left with
    /// an item released and not confirmed.
    exit_note: Option<String>,
    /// A hidden input was cleared while the window was too small; said
    /// when it is big enough again.
    cleared_while_small: bool,
    /// What a Ctrl-C cut short (a release or ceremony cancelled, a drill's
    /// check not run), said after leaving; the caller exits 130.
    interrupted: Option<String>,
    /// Where the export prompt offers to write (its default directory's
    /// parent): the current directory.
    export_base: PathBuf,
    /// `v` was pressed: report the next verification's result.
    reverify: bool,
    /// Set on a read-only console (`read_only.rs`): what holds the vault
    /// for writing.
    read_only: Option<String>,
}

impl App {
    /// A console on `vault`. `demo` lists officer passphrases to show (the
    /// demo vault only).
    pub fn new(vault: Vault, theme: Theme, demo: Vec<(String, String)>) -> Result<Self> {
        let status = vault.status()?;
        let mut home = Home::default();
        home.set_secrets(real_secrets(vault.secrets()?));
        // The whole-ledger verification starts at the first tick, after the
        // first frame: on a large ledger it takes both cores for a while.
        Ok(App {
            vault,
            status,
            home,
            screen: Screen::Home,
            help: false,
            message: None,
            job: None,
            generation: 0,
            verify_job: None,
            alert_job: None,
            alerts_seen_size: 0,
            alerts_last_run: 0,
            verified: None,
            theme,
            reveal_secs: REVEAL_SECS,
            demo,
            ticks: 0,
            quit: false,
            clear: false,
            size: None,
            exit_note: None,
            interrupted: None,
            cleared_while_small: false,
            export_base: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            reverify: false,
            read_only: None,
        })
    }

    /// Sets how long a reveal stays on screen.
    pub fn set_reveal_secs(&mut self, secs: i64) {
        self.reveal_secs = secs;
    }

    /// Selects the secret called `name` on the home screen.
    pub fn select(&mut self, name: &str) {
        self.home.select(name);
    }

    /// The terminal's size changed (or is first known).
    pub fn on_resize(&mut self, width: u16, height: u16) {
        let was_small = self.too_small();
        self.size = Some((width, height));
        let small = self.too_small();
        if small && !was_small {
            // Keys typed now are dropped (the screen cannot be seen), so a
            // half-typed passphrase would be finished wrong and cost an
            // attempt: it is cleared, and said so when the screen is back.
            let cleared = match &mut self.screen {
                Screen::Release(r) => r.drop_hidden_input(),
                Screen::Deposit(d) => d.drop_hidden_input(),
                Screen::Review(r) => r.drop_hidden_input(),
                Screen::Ceremony(c) => c.drop_hidden_input(),
                Screen::Officers(o) => o.drop_hidden_input(),
                _ => false,
            };
            self.cleared_while_small |= cleared;
        }
        if !small && was_small && std::mem::take(&mut self.cleared_while_small) {
            self.say(
                true,
                "The window was too small, so what you had typed hidden was cleared, unsent: type it again.".to_string(),
            );
        }
    }

    fn too_small(&self) -> bool {
        self.size
            .is_some_and(|(w, h)| w < MIN_WIDTH || h < MIN_HEIGHT)
    }

    /// Sets the directory in which the ledger export offers its default
    /// bundle directory (the current directory unless set).
    pub fn set_export_base(&mut self, dir: PathBuf) {
        self.export_base = dir;
    }

    /// Set when the console was left with an item released and not
    /// confirmed seen: the note to print once the terminal is restored.
    pub fn exit_note(&self) -> Option<&str> {
        self.exit_note.as_deref()
    }

    /// What Ctrl-C cut short, if it cut anything short: the console then
    /// exits 130 with this on stderr, as an interrupted prompt does.
    pub fn interrupted(&self) -> Option<&str> {
        self.interrupted.as_deref()
    }

    /// Whether the console should close.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Whether the terminal should be cleared before the next draw (after
    /// a reveal), then resets it.
    pub fn take_clear(&mut self) -> bool {
        std::mem::take(&mut self.clear)
    }

    /// The status line's message, if any.
    pub fn message(&self) -> Option<&str> {
        self.message.as_ref().map(|(_, m)| m.as_str())
    }

    /// The vault (for tests and the caller).
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    fn say(&mut self, error: bool, text: impl Into<String>) {
        self.message = Some((error, text.into()));
    }

    fn refresh(&mut self) {
        self.generation += 1;
        match (self.vault.status(), self.vault.secrets()) {
            (Ok(st), Ok(secrets)) => {
                self.status = st;
                self.home.set_secrets(real_secrets(secrets));
            }
            (Err(e), _) | (_, Err(e)) => self.say(true, err_text(&e)),
        }
    }

    /// Pasted text goes to the focused input.
    pub fn on_paste(&mut self, text: &str) {
        self.keep_open();
        match &mut self.screen {
            Screen::Release(r) => r.paste(text),
            Screen::Deposit(d) => d.paste(text),
            Screen::Ledger(l) => l.paste(text),
            Screen::Officers(o) => o.paste(text),
            Screen::Ceremony(c) => c.paste(text),
            Screen::Review(r) => r.paste(text),
            _ => {}
        }
    }

    fn typing(&self) -> bool {
        match &self.screen {
            Screen::Release(r) => matches!(r.step, Step::Reason | Step::Passphrase(_)),
            Screen::Deposit(d) => matches!(
                d.step,
                deposit_screen::Step::Passphrase(_)
                    | deposit_screen::Step::Name
                    | deposit_screen::Step::Values
            ),
            Screen::Review(r) => matches!(
                r.step,
                review_screen::Step::Passphrase(_)
                    | review_screen::Step::Incident
                    | review_screen::Step::Note
            ),
            Screen::Ledger(l) => l.is_editing(),
            Screen::Officers(o) => o.is_editing(),
            Screen::Ceremony(c) => c.is_typing(),
            _ => false,
        }
    }

    /// Handles one key press.
    pub fn on_key(&mut self, key: KeyEvent) {
        // Someone is at the console: keep the database open while they work.
        self.keep_open();
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.interrupt();
            return;
        }
        // The screen behind "Terminal too small" is not visible: no key may
        // act on it, except leaving.
        if self.too_small() {
            if key.code == KeyCode::Char('q') {
                self.apply(Action::Quit);
            }
            return;
        }
        // Any key closes the help; q and Esc then also act, as the help
        // says, so `?` then `q` quits rather than leaving a console open to
        // whatever is typed next.
        if self.help {
            self.help = false;
            if !matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) {
                return;
            }
        }
        // A message answers the key before this one; it goes stale now.
        self.message = None;
        if let Some(why) = self.read_only_refusal(&key) {
            self.say(true, why);
            return;
        }
        if key.code == KeyCode::Char('?')
            && !self.typing()
            && !matches!(self.screen, Screen::Reveal(_))
        {
            self.help = true;
            return;
        }
        let action = match &mut self.screen {
            Screen::Home => self.home.on_key(key),
            Screen::Release(r) => r.on_key(key),
            Screen::Deposit(d) => d.on_key(key),
            Screen::Ledger(l) => l.on_key(key),
            Screen::Officers(o) => o.on_key(key),
            Screen::Ceremony(c) => c.on_key(key),
            Screen::Review(r) => r.on_key(key),
            // The check ends by itself, within the delivery's budget.
            Screen::Drill(_) => Action::None,
            Screen::Reveal(r) => match RevealScreen::new(&r.released, 0).on_key(key) {
                RevealKey::None => Action::None,
                RevealKey::ToggleSpelling => {
                    r.spelled = !r.spelled;
                    Action::None
                }
                RevealKey::End(how) => Action::Display(how),
                RevealKey::Interrupt => Action::Quit,
            },
        };
        self.apply(action);
    }

    /// Applies an action. Vault calls happen here and in the handlers it
    /// and [`App::tick`] use (a finished Argon2 job, expiry, refresh);
    /// screens never call the vault.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::None => {}
            Action::Quit => {
                self.cancel_in_progress();
                if let Some(note) = self.reveal_exit_note() {
                    self.apply(Action::Display(Displayed::Dismissed));
                    self.exit_note = Some(note);
                }
                self.quit = true;
            }
            Action::Back => {
                self.cancel_in_progress();
                self.screen = Screen::Home;
                self.refresh();
            }
            Action::OpenOfficers => {
                self.message = None;
                self.open_officers();
            }
            Action::BeginCeremony(plan) => self.begin_ceremony(&plan),
            Action::CancelCeremony => self.cancel_ceremony(),
            Action::OpenRelease(pre) => self.open_release(pre),
            Action::OpenDeposit => self.open_deposit(),
            Action::OpenLedger => self.open_ledger(),
            Action::BeginRelease { secret, reason } => self.begin_release(&secret, &reason),
            Action::StatementFor(officer) => self.statement_for(officer),
            Action::Unlock {
                officer,
                passphrase,
            } => self.unlock(officer, passphrase),
            Action::CancelRelease => self.cancel_release(),
            Action::Display(how) => self.reveal_ended(how),
            Action::Deposit { secret, kind } => self.deposit(&secret, kind),
            Action::Rotate(secret) => self.rotate(&secret),
            Action::OpenReview => self.open_review(),
            Action::OpenDrill(first) => self.open_drill(first.as_deref()),
            Action::Review => self.review(),
            Action::Export(dir) => self.ask_export(dir),
            Action::ExportTo(dir) => self.export(dir),
            Action::Verify => self.verify_again(),
        }
    }

    /// Ctrl-C: quits from anywhere. What it cuts short is kept for the
    /// caller to say, with exit status 130; a reveal it clears keeps its
    /// own note (exit 1).
    fn interrupt(&mut self) {
        let drill = matches!(self.screen, Screen::Drill(_)).then(|| {
            "the end-to-end drill was interrupted before its alert check, so it did not pass \
             (its release and display are logged)"
                .to_string()
        });
        let cancelled = self.cancel_in_progress();
        self.apply(Action::Quit);
        if self.exit_note.is_none() {
            self.interrupted = cancelled.or(drill).map(|c| format!("interrupted: {c}"));
        }
    }

    /// Cancels (and logs) the release or ceremony in progress, if any, and
    /// says what it cancelled.
    fn cancel_in_progress(&mut self) -> Option<String> {
        let (what, result) = match &mut self.screen {
            Screen::Release(r) => {
                let q = r.request.take()?;
                let what = format!(
                    "the release of {} was cancelled with {} given (logged)",
                    q.secret(),
                    plural(q.approved_by().len(), "approval", "approvals")
                );
                (what, self.vault.cancel_release(q))
            }
            Screen::Ceremony(c) => {
                let q = c.request.take()?;
                let what = format!(
                    "the {} ceremony was cancelled with {} given (logged)",
                    q.kind().as_str(),
                    plural(q.approved_by().len(), "approval", "approvals")
                );
                (what, self.vault.cancel_ceremony(q))
            }
            _ => return None,
        };
        self.generation += 1;
        match result {
            Ok(()) => Some(what),
            Err(e) => {
                self.say(true, err_text(&e));
                Some(format!(
                    "{what}; its cancellation could not be logged: {}",
                    err_text(&e)
                ))
            }
        }
    }
}
