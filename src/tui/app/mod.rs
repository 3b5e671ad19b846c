//! The console's state and its one loop body: keys become [`Action`]s, and
//! [`App::apply`] turns actions into library calls. Screens never call the
//! vault themselves. Time comes from the vault's clock and Argon2 runs on a
//! worker thread, so tests drive the app with scripted keys and a manual
//! clock and never sleep.

use std::path::PathBuf;
use std::thread::JoinHandle;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::ceremony::{self as ceremony_screen, Ceremony, Step as CeremonyStep};
use super::deposit::Deposit;
use super::home::Home;
use super::ledger_view::LedgerView;
use super::officers::Officers;
use super::release::{ATTEMPTS, Release, Step, WrongPassphrase, nothing_left, statement_lines};
use super::reveal::{RevealKey, RevealScreen};
use super::theme::Theme;
use super::widgets::{centered, key_bar, plural, width, wrap};
use crate::audit::{self, Failure, Options, Report, VaultSource};
use crate::error::{Error, Result};
use crate::records::SecretKind;
use crate::secret::Passphrase;
use crate::vault::{CeremonyPlan, CeremonyReport, DerivedKey, Displayed, Released, Status, Vault};

/// Smallest terminal the console draws in.
pub const MIN_WIDTH: u16 = 80;
/// Smallest terminal the console draws in.
pub const MIN_HEIGHT: u16 = 24;
/// How long a released item stays on screen, in seconds (I3).
pub const REVEAL_SECS: i64 = 60;

/// How often the console retries undelivered alert events, seconds.
const ALERT_PERIOD: i64 = 30;

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
    /// Open the ledger view.
    OpenLedger,
    /// Open the officers screen.
    OpenOfficers,
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
    /// Write an export bundle.
    Export(PathBuf),
    /// Verify the ledger again.
    Verify,
}

struct RevealState {
    released: Released,
    opened: i64,
    /// Spelled out for reading aloud (`p`) instead of large.
    spelled: bool,
}

enum Screen {
    Home,
    Release(Box<Release>),
    Reveal(Box<RevealState>),
    Deposit(Box<Deposit>),
    Ledger(Box<LedgerView>),
    Officers(Box<Officers>),
    Ceremony(Box<Ceremony>),
}

struct Job {
    officer: String,
    handle: JoinHandle<Result<DerivedKey>>,
}

type VerifyResult = std::result::Result<Report, Failure>;

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
    /// Where the export prompt offers to write (its default directory's
    /// parent): the current directory.
    export_base: PathBuf,
    /// `v` was pressed: report the next verification's result.
    reverify: bool,
}

/// What the approval pane says after a wrong passphrase for `officer` in
/// a quorum for a `what` ("release", "ceremony"); `None` once the quorum
/// is lost, which [`quorum_out_text`] says instead.
fn wrong_passphrase_text(officer: &str, what: &str, outcome: &WrongPassphrase) -> Option<String> {
    match outcome {
        WrongPassphrase::Retry(n) => Some(format!(
            "Wrong passphrase for {officer} (attempt {n} of {ATTEMPTS}, logged). Try again, or Esc to choose another officer."
        )),
        WrongPassphrase::OfficerOut => Some(format!(
            "Wrong passphrase for {officer} {ATTEMPTS} times (logged): {officer} cannot approve this {what}. Another officer can."
        )),
        WrongPassphrase::QuorumOut => None,
    }
}

/// Why a `what` ("Release", "Ceremony") ended when `officer`'s third wrong
/// passphrase left too few officers, with the `approved` approvals lost.
fn quorum_out_text(officer: &str, what: &str, approved: usize) -> String {
    format!(
        "{what} cancelled: wrong passphrase for {officer} {ATTEMPTS} times, and too few officers are left to approve; {} discarded (logged).",
        plural(approved, "approval", "approvals")
    )
}

fn err_text(e: &Error) -> String {
    e.to_string()
}

/// `code`/`codes`, `credential`/`credentials`.
fn kind_noun(kind: SecretKind, many: bool) -> &'static str {
    match (kind, many) {
        (SecretKind::Codes, false) => "code",
        (SecretKind::Codes, true) => "codes",
        (SecretKind::Credential, false) => "credential",
        (SecretKind::Credential, true) => "credentials",
    }
}

/// What a finished ceremony tells the officers: the new epoch, its
/// quorum, and who takes their share later.
fn report_text(r: &CeremonyReport) -> String {
    let mut text = format!(
        "Epoch {}: {} of {} ({}); ledger entry {}. Re-encrypted {} to the new vault key.",
        r.epoch,
        r.threshold,
        r.officers.len(),
        r.officers.join(", "),
        r.seq,
        plural(r.reencrypted, "item", "items")
    );
    if !r.delivered.is_empty() {
        text.push_str(&format!(
            " {} take{} the new share at the next drill.",
            r.delivered.join(", "),
            if r.delivered.len() == 1 { "s" } else { "" }
        ));
    }
    text
}

/// `s` cut from the left to `max` columns, starting with "…" when cut.
fn tail(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out: Vec<char> = Vec::new();
    for c in s.chars().rev() {
        if out.len() + 2 > max {
            break;
        }
        out.push(c);
    }
    std::iter::once('…').chain(out.into_iter().rev()).collect()
}

impl App {
    /// A console on `vault`. `demo` lists officer passphrases to show (the
    /// demo vault only).
    pub fn new(vault: Vault, theme: Theme, demo: Vec<(String, String)>) -> Result<Self> {
        let status = vault.status()?;
        let mut home = Home::default();
        home.set_secrets(vault.secrets()?);
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
            export_base: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            reverify: false,
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
        self.size = Some((width, height));
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

    /// The directory the export prompt offers: a new one in the export
    /// base, named after the vault and the time.
    fn export_default(&self) -> PathBuf {
        let stamp: String = crate::clock::rfc3339(self.vault.clock_now())
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == 'T')
            .collect();
        let id: String = self.status.vault_id.chars().take(8).collect();
        self.export_base
            .join(format!("breakglass-ledger-{id}-{stamp}"))
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
                self.home.set_secrets(secrets);
            }
            (Err(e), _) | (_, Err(e)) => self.say(true, err_text(&e)),
        }
    }

    fn start_verify(&mut self) {
        let store = self.vault.store().clone();
        let generation = self.generation;
        let handle =
            std::thread::spawn(move || audit::verify(&VaultSource(&store), &Options::default()));
        self.verify_job = Some((generation, handle));
    }

    /// Advances time-driven state: finished Argon2 and verification jobs,
    /// approval expiry, the reveal's timeout. Called every loop turn.
    pub fn tick(&mut self) {
        self.ticks += 1;
        if self.job.as_ref().is_some_and(|j| j.handle.is_finished()) {
            self.finish_job();
        }
        if self
            .verify_job
            .as_ref()
            .is_some_and(|(_, h)| h.is_finished())
        {
            self.finish_verify();
        }
        if self.verify_job.is_none()
            && self
                .verified
                .as_ref()
                .is_none_or(|(g, _)| *g != self.generation)
        {
            self.start_verify();
        }
        // A clock moved while the console is open is warned about at once
        // (I16): the next write records the jump.
        if matches!(self.screen, Screen::Home) {
            self.status.clock_warning = self.vault.clock_warning();
        }
        self.tick_alerts();
        // The reveal is timed by the clock itself: vault time stands still
        // while a clock set back catches up, and the code must still clear.
        let now = self.vault.clock_now();
        match &mut self.screen {
            Screen::Reveal(r) if now - r.opened >= self.reveal_secs => {
                self.apply(Action::Display(Displayed::TimedOut))
            }
            Screen::Release(r) if self.job.is_none() => {
                if let Some(req) = r.request.as_mut() {
                    if let Err(e) = self.vault.check_expiry(req) {
                        self.screen = Screen::Home;
                        self.say(true, err_text(&e));
                        self.refresh();
                    }
                }
            }
            // The "Re-encrypting" screen is drawn once before the work.
            Screen::Ceremony(c) if c.step == CeremonyStep::Completing(false) => {
                c.step = CeremonyStep::Completing(true);
            }
            Screen::Ceremony(c) if c.step == CeremonyStep::Completing(true) => {
                self.complete_ceremony();
            }
            Screen::Ceremony(c) if self.job.is_none() => {
                if let Some(req) = c.request.as_mut() {
                    if let Err(e) = self.vault.check_ceremony_expiry(req) {
                        self.unlock_failed(String::new(), e);
                    }
                }
            }
            _ => {}
        }
    }

    /// Delivers pending alert events in the background (I17): on a worker
    /// thread, one run at a time, soon after anything was appended and at
    /// most every [`ALERT_PERIOD`] seconds otherwise. Never waited for: a
    /// reveal is not delayed by a slow or broken hook. The home screen's
    /// warning is refreshed when a run ends.
    fn tick_alerts(&mut self) {
        if self.alert_job.as_ref().is_some_and(|h| h.is_finished()) {
            if let Some(h) = self.alert_job.take() {
                let _ = h.join();
            }
            self.status.alerts_warning = self.vault.alert_status().ok().and_then(|a| a.warning);
        }
        let now = self.vault.clock_now();
        let size = self.vault.ledger_size();
        let appended = size != self.alerts_seen_size;
        let due = now.saturating_sub(self.alerts_last_run) >= ALERT_PERIOD;
        if self.alert_job.is_none() && (appended || due) {
            self.alerts_seen_size = size;
            self.alerts_last_run = now;
            let courier = self.vault.courier();
            self.alert_job = Some(std::thread::spawn(move || {
                let _ = courier.deliver(std::time::Duration::from_secs(10));
            }));
        }
    }

    /// Nothing happened for a while: lets go of the vault's database so
    /// that readers in other processes (`list`, `status`, `ledger verify`)
    /// can open it. The next operation opens it again; the writer lock
    /// stays, so no other process writes meanwhile.
    pub fn idle(&mut self) {
        // Not while an officer's passphrase is being checked: its approval,
        // and the release it may complete, follow at once.
        if self.job.is_none() {
            self.vault.suspend();
        }
    }

    /// Waits for background work (Argon2, verification) and applies it:
    /// what a test calls instead of sleeping.
    pub fn settle(&mut self) {
        if let Some(job) = self.job.take() {
            let result = job
                .handle
                .join()
                .unwrap_or(Err(Error::Corrupt("worker panicked".into())));
            self.unlocked(job.officer, result);
        }
        if matches!(&self.screen, Screen::Ceremony(c) if matches!(c.step, CeremonyStep::Completing(_)))
        {
            self.complete_ceremony();
        }
        while self.verify_job.is_some()
            || self
                .verified
                .as_ref()
                .is_none_or(|(g, _)| *g != self.generation)
        {
            if let Some((g, h)) = self.verify_job.take() {
                let r = h.join().unwrap_or_else(|_| {
                    Err(Failure {
                        entry: None,
                        kind: audit::FailureKind::Malformed,
                        detail: "verifier panicked".into(),
                    })
                });
                self.verified = Some((g, r.map_err(|f| f.to_string())));
                self.verify_done();
            } else {
                self.start_verify();
            }
        }
    }

    fn finish_job(&mut self) {
        if let Some(job) = self.job.take() {
            let result = job
                .handle
                .join()
                .unwrap_or(Err(Error::Corrupt("worker panicked".into())));
            self.unlocked(job.officer, result);
        }
    }

    fn finish_verify(&mut self) {
        if let Some((g, h)) = self.verify_job.take() {
            if let Ok(r) = h.join() {
                self.verified = Some((g, r.map_err(|f| f.to_string())));
                self.verify_done();
            }
        }
    }

    /// After `v`: says how the new verification went, with the time, so the
    /// key visibly did something even when the status line reads the same.
    fn verify_done(&mut self) {
        if !self.reverify {
            return;
        }
        let at = crate::clock::rfc3339(self.vault.clock_now());
        let at = at.get(11..19).unwrap_or(&at).to_string();
        match &self.verified {
            Some((g, Ok(r))) if *g == self.generation => {
                self.reverify = false;
                let text = format!(
                    "Verified the whole ledger again at {at} UTC: {}, {} ✓",
                    plural(r.entries as usize, "entry", "entries"),
                    plural(r.signatures_checked as usize, "signature", "signatures")
                );
                self.say(false, text);
            }
            Some((_, Err(e))) => {
                self.reverify = false;
                let text = format!("Verified again at {at} UTC: FAILED: {e}");
                self.say(true, text);
            }
            _ => {}
        }
    }

    /// The whole-ledger verification status, to follow "Ledger" on a line
    /// that already gives its size.
    pub fn verification_line(&self) -> Line<'static> {
        match &self.verified {
            Some((g, Ok(r))) if *g == self.generation => Line::from(Span::styled(
                format!(
                    "verified ✓ ({})",
                    plural(r.signatures_checked as usize, "signature", "signatures")
                ),
                self.theme.ok(),
            )),
            Some((_, Err(e))) => Line::from(Span::styled(
                format!("verification FAILED: {e}"),
                self.theme.error(),
            )),
            _ => Line::from(Span::styled("verifying…", self.theme.dim())),
        }
        .patch_style(ratatui::style::Style::default())
    }

    /// Pasted text goes to the focused input.
    pub fn on_paste(&mut self, text: &str) {
        self.vault.resume();
        match &mut self.screen {
            Screen::Release(r) => r.paste(text),
            Screen::Deposit(d) => d.paste(text),
            Screen::Ledger(l) => l.paste(text),
            Screen::Officers(o) => o.paste(text),
            Screen::Ceremony(c) => c.paste(text),
            _ => {}
        }
    }

    fn typing(&self) -> bool {
        match &self.screen {
            Screen::Release(r) => matches!(r.step, Step::Reason | Step::Passphrase(_)),
            Screen::Deposit(d) => matches!(
                d.step,
                super::deposit::Step::Passphrase(_)
                    | super::deposit::Step::Name
                    | super::deposit::Step::Values
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
        self.vault.resume();
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.apply(Action::Quit);
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
        if self.help {
            self.help = false;
            return;
        }
        // A message answers the key before this one; it goes stale now.
        self.message = None;
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
                if let Screen::Reveal(r) = &self.screen {
                    let r = &r.released;
                    let note = format!(
                        "the console was left on the reveal: {} #{} was released (ledger entry {}) and cleared without confirmation; a new quorum can release it again",
                        r.secret,
                        r.index + 1,
                        r.seq
                    );
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
            Action::BeginCeremony(plan) => {
                let result = self.vault.begin_ceremony(&plan);
                self.generation += 1; // a refusal is logged
                match result {
                    Ok(req) => {
                        self.screen = Screen::Ceremony(Box::new(Ceremony::new(
                            req,
                            self.status.officers.clone(),
                            self.status.threshold,
                            self.status.epoch,
                        )));
                    }
                    // Refused (logged) or invalid: one message on the
                    // officers screen, and nothing else changes.
                    Err(e @ Error::Refused(_)) => self.say(
                        true,
                        format!("Refused (logged): {}. Nothing changed.", err_text(&e)),
                    ),
                    Err(e) => self.say(true, format!("Nothing changed: {}.", err_text(&e))),
                }
            }
            Action::CancelCeremony => {
                let n = match &self.screen {
                    Screen::Ceremony(c) => c
                        .request
                        .as_ref()
                        .map(|q| q.approved_by().len())
                        .unwrap_or(0),
                    _ => 0,
                };
                self.cancel_in_progress();
                let text = if n == 0 {
                    "Ceremony cancelled before anyone signed (logged). Nothing changed.".into()
                } else {
                    format!(
                        "Ceremony cancelled and logged; {} discarded. Nothing changed.",
                        plural(n, "approval", "approvals")
                    )
                };
                self.back_to_officers(false, text);
            }
            Action::OpenRelease(pre) => {
                self.message = None;
                // A secret with nothing left stops here, with the reason:
                // no release is begun, so nothing is refused or logged.
                if let Some(s) = pre
                    .as_deref()
                    .and_then(|p| self.home.secrets.iter().find(|s| s.name == p))
                {
                    if s.remaining + s.unconfirmed == 0 {
                        let why = nothing_left(s);
                        self.say(true, why);
                        return;
                    }
                }
                self.screen = Screen::Release(Box::new(Release::new(
                    self.home.secrets.clone(),
                    self.status.officers.clone(),
                    pre,
                )));
            }
            Action::OpenDeposit => {
                self.message = None;
                self.screen = Screen::Deposit(Box::new(Deposit::new(self.status.officers.clone())));
            }
            Action::OpenLedger => match LedgerView::new(
                self.vault.store().clone(),
                self.export_default().display().to_string(),
            ) {
                Ok(v) => {
                    self.message = None;
                    self.screen = Screen::Ledger(Box::new(v));
                }
                Err(e) => self.say(true, err_text(&e)),
            },
            Action::BeginRelease { secret, reason } => {
                let result = self.vault.begin_release(&secret, &reason);
                self.generation += 1; // a refusal is logged
                if let Screen::Release(r) = &mut self.screen {
                    match result {
                        Ok(req) => {
                            r.request = Some(req);
                            r.error = None;
                            r.back_to_approvers();
                            let o = r.chosen_officer();
                            self.apply(Action::StatementFor(o));
                        }
                        // Refused (and logged once): back to the home
                        // screen with the reason, where the same Enter
                        // cannot log it again.
                        Err(e) => {
                            self.screen = Screen::Home;
                            self.say(true, format!("Nothing was released: {}", err_text(&e)));
                            self.refresh();
                        }
                    }
                }
            }
            Action::StatementFor(officer) => match (&mut self.screen, officer) {
                (Screen::Release(r), Some(o)) => {
                    if let Some(req) = &r.request {
                        r.statement = statement_lines(&self.vault.statement(req, &o));
                    }
                }
                (Screen::Ceremony(c), Some(o)) => {
                    if let Some(req) = &c.request {
                        c.statement = ceremony_screen::ceremony_statement_lines(
                            &self.vault.ceremony_statement(req, &o),
                        );
                    }
                }
                _ => {}
            },
            Action::Unlock {
                officer,
                passphrase,
            } => self.unlock(officer, passphrase),
            Action::CancelRelease => {
                let n = match &self.screen {
                    Screen::Release(r) => r
                        .request
                        .as_ref()
                        .map(|q| q.approved_by().len())
                        .unwrap_or(0),
                    _ => 0,
                };
                self.cancel_in_progress();
                self.screen = Screen::Home;
                self.say(
                    false,
                    format!(
                        "Release cancelled and logged; {} discarded.",
                        plural(n, "approval", "approvals")
                    ),
                );
                self.refresh();
            }
            Action::Display(how) => {
                if let Screen::Reveal(r) = std::mem::replace(&mut self.screen, Screen::Home) {
                    let RevealState { mut released, .. } = *r;
                    let what = format!("{} #{}", released.secret, released.index + 1);
                    match self.vault.record_display(&mut released, how) {
                        Ok(_) => self.say(
                            false,
                            match how {
                                Displayed::Confirmed => format!("Released {what}; confirmed seen and logged."),
                                Displayed::TimedOut => format!("Released {what}; cleared after {} s without confirmation (it can be re-released).", self.reveal_secs),
                                _ => format!("Released {what}; dismissed without confirmation (it can be re-released)."),
                            },
                        ),
                        Err(e) => self.say(true, err_text(&e)),
                    }
                    drop(released);
                    self.clear = true;
                    self.refresh();
                }
            }
            Action::Deposit { secret, kind } => {
                if let Screen::Deposit(d) = &mut self.screen {
                    let values = d.values();
                    let result = match &d.session {
                        Some(s) => self.vault.deposit(s, &secret, kind, None, &values),
                        None => Err(Error::invalid("deposit", "no officer authenticated")),
                    };
                    match result {
                        Ok(rep) => {
                            self.screen = Screen::Home;
                            self.say(
                                false,
                                format!(
                                    "Deposited {} into {secret} ({} in all); logged as entry {}.",
                                    plural(
                                        rep.added as usize,
                                        kind_noun(kind, false),
                                        kind_noun(kind, true)
                                    ),
                                    rep.total,
                                    rep.seq
                                ),
                            );
                            self.refresh();
                        }
                        Err(e) => d.error = Some(err_text(&e)),
                    }
                }
            }
            Action::Export(dir) => {
                // Relative paths are taken from the export base, and the
                // message gives the absolute path, so the bundle can be
                // found after the console is closed.
                let dir = self.export_base.join(dir);
                let dir = std::path::absolute(&dir).unwrap_or(dir);
                match audit::export(self.vault.store(), &self.vault.ledger_cert(), &dir) {
                    Ok(n) => self.say(
                        false,
                        format!(
                            "Exported {} to {}",
                            plural(n as usize, "entry", "entries"),
                            dir.display()
                        ),
                    ),
                    Err(e) => self.say(true, format!("Export failed: {}", err_text(&e))),
                }
            }
            Action::Verify => {
                self.generation += 1;
                self.verified = None;
                self.reverify = true;
                self.say(false, "Verifying the whole ledger again…");
            }
        }
    }

    /// Cancels (and logs) the release or ceremony in progress, if any.
    fn cancel_in_progress(&mut self) {
        let result = match &mut self.screen {
            Screen::Release(r) => r.request.take().map(|q| self.vault.cancel_release(q)),
            Screen::Ceremony(c) => c.request.take().map(|q| self.vault.cancel_ceremony(q)),
            _ => None,
        };
        if let Some(result) = result {
            if let Err(e) = result {
                self.say(true, err_text(&e));
            }
            self.generation += 1;
        }
    }

    /// Opens the officers screen on the current status and ledger.
    fn open_officers(&mut self) {
        match self.vault.officer_overview() {
            Ok(rows) => {
                self.screen = Screen::Officers(Box::new(Officers::new(rows, &self.status)));
            }
            Err(e) => self.say(true, err_text(&e)),
        }
    }

    /// Back to a fresh officers screen (after a ceremony or a drill ended)
    /// with `text`, the same officer selected if still listed.
    fn back_to_officers(&mut self, error: bool, text: String) {
        let selected = match &self.screen {
            Screen::Officers(o) => o.selected().map(str::to_owned),
            _ => None,
        };
        self.refresh();
        self.open_officers();
        if let (Screen::Officers(o), Some(name)) = (&mut self.screen, selected) {
            o.select(&name);
        }
        self.say(error, text);
    }

    /// Writes the new epoch of the ceremony whose approvals and new
    /// passphrases are in. Slow (every item is re-encrypted, and each new
    /// officer's passphrase goes through Argon2), so the app draws
    /// "Re-encrypting…" first; the `Vault` cannot leave this thread.
    fn complete_ceremony(&mut self) {
        self.vault.resume();
        let Screen::Ceremony(c) = &mut self.screen else {
            return;
        };
        let Some(req) = c.request.take() else {
            return;
        };
        let new = c.take_new_passphrases();
        self.generation += 1;
        let result = self.vault.complete_ceremony(req, &new);
        drop(new);
        match result {
            Ok(r) => self.back_to_officers(false, report_text(&r)),
            Err(e) => self.back_to_officers(true, format!("Nothing changed: {}", err_text(&e))),
        }
    }

    fn unlock(&mut self, officer: String, pass: Passphrase) {
        let (action, secret, checked) = match &mut self.screen {
            Screen::Release(r) => {
                let Some(req) = r.request.as_mut() else {
                    return;
                };
                let secret = req.secret().to_string();
                (
                    "release",
                    Some(secret),
                    self.vault.check_approver(req, &officer),
                )
            }
            Screen::Ceremony(c) => {
                let Some(req) = c.request.as_mut() else {
                    return;
                };
                (
                    req.kind().action(),
                    None,
                    self.vault.check_ceremony_approver(req, &officer),
                )
            }
            Screen::Deposit(_) => ("deposit", None, Ok(())),
            Screen::Officers(_) => ("drill", None, Ok(())),
            _ => return,
        };
        let params = checked.and_then(|()| {
            self.vault
                .unlock_params(&officer, action, secret.as_deref())
        });
        match params {
            Ok(unlock) => {
                let handle = std::thread::spawn(move || unlock.derive(&pass));
                self.job = Some(Job { officer, handle });
            }
            Err(e) => {
                self.generation += 1;
                self.unlock_failed(officer, e);
            }
        }
    }

    fn unlock_failed(&mut self, officer: String, e: Error) {
        match &mut self.screen {
            Screen::Release(r) => {
                if matches!(e, Error::Expired(_)) {
                    self.screen = Screen::Home;
                    self.say(true, err_text(&e));
                    self.refresh();
                } else if matches!(e, Error::BadPassphrase(_)) {
                    r.note = None;
                    let outcome = r.wrong_passphrase(&officer);
                    r.error = wrong_passphrase_text(&officer, "release", &outcome);
                    match outcome {
                        WrongPassphrase::Retry(_) => r.retry(officer),
                        WrongPassphrase::OfficerOut => {
                            r.back_to_approvers();
                            let o = r.chosen_officer();
                            self.apply(Action::StatementFor(o));
                        }
                        WrongPassphrase::QuorumOut => {
                            let n = r.request.as_ref().map_or(0, |q| q.approved_by().len());
                            self.cancel_in_progress();
                            self.screen = Screen::Home;
                            self.say(true, quorum_out_text(&officer, "Release", n));
                            self.refresh();
                        }
                    }
                } else {
                    r.error = Some(err_text(&e));
                    r.back_to_approvers();
                }
            }
            Screen::Ceremony(c) => {
                if let Error::Expired(at) = &e {
                    c.request = None; // discarded and logged as expired
                    let text = format!(
                        "Ceremony ended: its approvals expired at {at} (logged); nothing changed. Begin it again."
                    );
                    self.back_to_officers(true, text);
                } else if matches!(e, Error::BadPassphrase(_)) {
                    c.note = None;
                    let outcome = c.wrong_passphrase(&officer);
                    c.error = wrong_passphrase_text(&officer, "ceremony", &outcome);
                    match outcome {
                        WrongPassphrase::Retry(_) => c.retry(officer),
                        WrongPassphrase::OfficerOut => {
                            c.back_to_approvers();
                            let o = c.chosen_officer();
                            self.apply(Action::StatementFor(o));
                        }
                        WrongPassphrase::QuorumOut => {
                            let n = c.request.as_ref().map_or(0, |q| q.approved_by().len());
                            self.cancel_in_progress();
                            let text = quorum_out_text(&officer, "Ceremony", n);
                            self.back_to_officers(true, format!("{text} Nothing changed."));
                        }
                    }
                } else {
                    c.error = Some(err_text(&e));
                    c.back_to_approvers();
                    let o = c.chosen_officer();
                    self.apply(Action::StatementFor(o));
                }
            }
            Screen::Officers(o) => {
                let text = if matches!(e, Error::BadPassphrase(_)) {
                    o.drill_failed(&officer)
                } else {
                    o.drill_done();
                    format!("The drill failed: {}", err_text(&e))
                };
                self.say(true, text);
            }
            Screen::Deposit(d) => {
                if matches!(e, Error::BadPassphrase(_)) {
                    d.wrong += 1;
                    if d.wrong >= ATTEMPTS {
                        self.screen = Screen::Home;
                        self.say(
                            true,
                            format!(
                                "Deposit abandoned: wrong passphrase for {officer} {ATTEMPTS} times (logged)."
                            ),
                        );
                        return;
                    }
                    let n = d.wrong;
                    d.retry(
                        officer.clone(),
                        format!(
                            "Wrong passphrase for {officer} (attempt {n} of {ATTEMPTS}, logged). Try again, or Esc to leave."
                        ),
                    );
                } else {
                    d.retry(officer, err_text(&e));
                }
            }
            _ => {}
        }
    }

    fn unlocked(&mut self, officer: String, derived: Result<DerivedKey>) {
        // An operation follows: keep the database open for all of it.
        self.vault.resume();
        let kek = match derived {
            Ok(k) => k,
            Err(e) => return self.unlock_failed(officer, e),
        };
        self.generation += 1;
        match &mut self.screen {
            Screen::Release(r) => {
                let Some(req) = r.request.as_mut() else {
                    return;
                };
                if let Err(e) = self.vault.approve_derived(req, &officer, &kek) {
                    return self.unlock_failed(officer, e);
                }
                r.error = None;
                let (have, need) = (req.approved_by().len(), req.needed());
                if have < need {
                    r.note = Some(format!("{officer} approved ({have} of {need})."));
                    r.back_to_approvers();
                    let o = r.chosen_officer();
                    self.apply(Action::StatementFor(o));
                    return;
                }
                let req = r.request.take().expect("checked above");
                match self.vault.complete_release(req) {
                    Ok(released) => {
                        let opened = self.vault.clock_now();
                        self.clear = true;
                        self.screen = Screen::Reveal(Box::new(RevealState {
                            released,
                            opened,
                            spelled: false,
                        }));
                    }
                    Err(e) => {
                        self.screen = Screen::Home;
                        self.say(true, format!("Nothing was released: {}", err_text(&e)));
                        self.refresh();
                    }
                }
            }
            Screen::Ceremony(c) => {
                let Some(req) = c.request.as_mut() else {
                    return;
                };
                if let Err(e) = self.vault.approve_ceremony_derived(req, &officer, kek) {
                    return self.unlock_failed(officer, e);
                }
                c.error = None;
                let (have, need) = (req.approved_by().len(), req.needed());
                if have < need {
                    c.note = Some(format!("{officer} approved ({have} of {need})."));
                    c.back_to_approvers();
                    let o = c.chosen_officer();
                    self.apply(Action::StatementFor(o));
                    return;
                }
                c.note = None;
                c.quorum_reached();
            }
            Screen::Officers(_) => match self.vault.drill_derived(&officer, &kek) {
                // A fresh screen: the drill's time, and any share taken.
                Ok(seq) => self.back_to_officers(
                    false,
                    format!(
                        "{officer}'s passphrase unlocks their share; drill logged as ledger entry {seq}."
                    ),
                ),
                Err(e) => self.unlock_failed(officer, e),
            },
            Screen::Deposit(d) => match self
                .vault
                .authenticate_derived(&officer, &kek, "deposit", None)
            {
                Ok(s) => d.authenticated(s),
                Err(e) => self.unlock_failed(officer, e),
            },
            _ => {}
        }
    }

    fn spinner(&self) -> &'static str {
        const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
        FRAMES[(self.ticks % 10) as usize]
    }

    /// Draws the whole console.
    pub fn render(&self, f: &mut Frame<'_>) {
        let area = f.area();
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            let mut lines = vec![
                Line::from(Span::styled("Terminal too small", self.theme.error())),
                Line::from(format!(
                    "breakglass needs {MIN_WIDTH}×{MIN_HEIGHT}; this one is {}×{}.",
                    area.width, area.height
                )),
                Line::from("Enlarge the window, or press q to quit."),
                Line::from("Other keys do nothing until then."),
            ];
            if matches!(self.screen, Screen::Reveal(_)) {
                // Nothing of the item is drawn here; its countdown runs on.
                lines.push(Line::from(
                    "A released item is waiting to be shown; it clears itself when its time is up.",
                ));
            }
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
            return;
        }
        if let Screen::Reveal(r) = &self.screen {
            let elapsed = (self.vault.clock_now() - r.opened).max(0) as u64;
            RevealScreen::new(&r.released, self.reveal_secs as u64)
                .spelled(r.spelled)
                .render(f, area, elapsed);
            return;
        }
        let demo_height = if self.demo.is_empty() || !matches!(self.screen, Screen::Home) {
            0
        } else {
            1
        };
        // The message wraps (up to three lines) rather than being cut.
        let message: Vec<String> = self
            .message
            .as_ref()
            .map(|(_, m)| wrap(m, area.width as usize))
            .unwrap_or_default();
        let msg_height = (message.len() as u16).clamp(1, 3);
        let [title, body, demo, msg, keys] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(10),
            Constraint::Length(demo_height),
            Constraint::Length(msg_height),
            Constraint::Length(1),
        ])
        .areas(area);
        let screen_name = match &self.screen {
            Screen::Home => "home",
            Screen::Release(_) => "release",
            Screen::Deposit(_) => "deposit",
            Screen::Ledger(_) => "ledger",
            Screen::Officers(_) => "officers",
            Screen::Ceremony(_) => "ceremony",
            Screen::Reveal(_) => "reveal",
        };
        let head = format!("· {screen_name} · ");
        let room = (area.width as usize).saturating_sub(width(&head) + 12);
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(" breakglass ", self.theme.accent()),
                Span::styled(
                    format!(
                        "{head}{}",
                        tail(&self.vault.path().display().to_string(), room)
                    ),
                    self.theme.dim(),
                ),
            ])),
            title,
        );
        let verified = self.verification_line();
        match &self.screen {
            Screen::Home => self
                .home
                .render(f, body, &self.status, &verified, &self.theme),
            Screen::Release(r) => r.render(f, body, self.vault.now(), self.spinner(), &self.theme),
            Screen::Deposit(d) => d.render(f, body, self.spinner(), &self.theme),
            Screen::Ledger(l) => l.render(f, body, &verified, &self.theme),
            Screen::Officers(o) => o.render(f, body, self.vault.now(), self.spinner(), &self.theme),
            Screen::Ceremony(c) => c.render(f, body, self.vault.now(), self.spinner(), &self.theme),
            Screen::Reveal(_) => {}
        }
        if demo_height > 0 {
            let text = self
                .demo
                .iter()
                .map(|(n, p)| format!("{n}: {p}"))
                .collect::<Vec<_>>()
                .join("   ");
            f.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled("Demo passphrases  ", self.theme.warn()),
                    Span::raw(text),
                ])),
                demo,
            );
        }
        if let Some((error, _)) = &self.message {
            let style = if *error {
                self.theme.error()
            } else {
                self.theme.ok()
            };
            f.render_widget(
                Paragraph::new(
                    message
                        .into_iter()
                        .map(|l| Line::from(Span::styled(l, style)))
                        .collect::<Vec<_>>(),
                ),
                msg,
            );
        }
        let prompted = match &self.screen {
            Screen::Ledger(l) => l.render_prompt(f, keys, &self.theme),
            _ => false,
        };
        if !prompted {
            key_bar(f, keys, self.keys(), &self.theme);
        }
        if self.help {
            self.render_help(f, area);
        }
    }

    fn keys(&self) -> &'static [(&'static str, &'static str)] {
        match &self.screen {
            Screen::Home => &[
                ("↑↓", "select"),
                ("r/Enter", "release"),
                ("d", "deposit"),
                ("l", "ledger"),
                ("o", "officers"),
                ("?", "help"),
                ("q", "quit"),
            ],
            Screen::Release(r) if r.confirming_cancel() => &[
                ("y", "discard the approvals and cancel"),
                ("any other key", "keep collecting"),
            ],
            Screen::Release(r) => match r.step {
                Step::Pick => &[("↑↓", "select"), ("Enter", "choose"), ("Esc", "back")],
                Step::Reason => &[("Enter", "continue"), ("Esc", "back")],
                Step::Approvers => &[
                    ("↑↓", "officer"),
                    ("Enter", "sign"),
                    ("Esc", "cancel release"),
                    ("?", "help"),
                ],
                Step::Passphrase(_) => &[("Enter", "sign"), ("Esc", "other officer")],
                Step::Unlocking(_) => &[("Esc", "cancel release")],
            },
            Screen::Deposit(_) => &[
                ("Enter", "continue"),
                ("Tab", "kind"),
                ("Ctrl-D", "end input"),
                ("Esc", "back"),
            ],
            Screen::Ledger(_) => &[
                ("↑↓", "scroll"),
                ("f", "kind"),
                ("s", "secret"),
                ("o", "officer"),
                ("c", "clear"),
                ("e", "export"),
                ("v", "verify"),
                ("q", "back"),
            ],
            Screen::Officers(o) if o.is_drilling() => &[],
            Screen::Officers(o) if o.is_editing() => &[("Enter", "continue"), ("Esc", "cancel")],
            Screen::Officers(_) => &[
                ("↑↓", "select"),
                ("d", "drill"),
                ("a", "add"),
                ("x", "remove"),
                ("t", "threshold"),
                ("k", "rekey"),
                ("?", "help"),
                ("Esc", "back"),
            ],
            Screen::Ceremony(c) if c.confirming_cancel() => &[
                ("y", "discard the approvals and cancel"),
                ("any other key", "keep collecting"),
            ],
            Screen::Ceremony(c) => match c.step {
                CeremonyStep::Review => &[
                    ("Enter", "begin signing"),
                    ("Esc", "cancel ceremony"),
                    ("?", "help"),
                ],
                CeremonyStep::Approvers => &[
                    ("↑↓", "officer"),
                    ("Enter", "sign"),
                    ("Esc", "cancel ceremony"),
                    ("?", "help"),
                ],
                CeremonyStep::Passphrase(_) => &[("Enter", "sign"), ("Esc", "other officer")],
                CeremonyStep::Unlocking(_) => &[("Esc", "cancel ceremony")],
                CeremonyStep::NewPassphrase(..) => {
                    &[("Enter", "continue"), ("Esc", "cancel ceremony")]
                }
                CeremonyStep::Completing(_) => &[],
            },
            Screen::Reveal(_) => &[],
        }
    }

    fn render_help(&self, f: &mut Frame<'_>, area: Rect) {
        let text = vec![
            Line::from(Span::styled("breakglass console", self.theme.accent())),
            Line::from(""),
            Line::from("Home      ↑↓ select · r/Enter release · d deposit · l ledger · o officers"),
            Line::from("Release   choose a secret, type the reason; then each officer picks their"),
            Line::from("          name, reads the exact statement they sign and types their"),
            Line::from(format!(
                "          passphrase (hidden; {ATTEMPTS} attempts). Esc asks before approvals"
            )),
            Line::from("          are discarded. At the quorum the item is logged, then shown"),
            Line::from("          once: Enter confirms you saw it, Esc clears it unconfirmed,"),
            Line::from(format!(
                "          p spells a code aloud (NATO); it clears itself after {} s.",
                self.reveal_secs
            )),
            Line::from("Deposit   one officer; name the secret (Tab: codes/credential), paste the"),
            Line::from("          codes one per line (hidden), confirm the count."),
            Line::from("Ledger    ↑↓ PgUp PgDn scroll · J/K scroll the entry · f kind filter ·"),
            Line::from("          s secret · o officer · c clear filters · e export · v verify"),
            Line::from("Officers  each officer's last drill, any new share waiting; d drill ·"),
            Line::from(
                "          a add · x remove · t threshold · k rekey: a ceremony shows current",
            ),
            Line::from(
                "          and proposed side by side, then collects approvals as a release.",
            ),
            Line::from(""),
            Line::from("q quits from home. Ctrl-C quits from anywhere: a release or ceremony in"),
            Line::from("progress is cancelled; on the reveal, the item is cleared unconfirmed and"),
            Line::from("the exit status says so."),
            Line::from(Span::styled(
                "Press any key to close this help.",
                self.theme.dim(),
            )),
        ];
        let popup = centered(area, 78, text.len() as u16 + 2);
        f.render_widget(Clear, popup);
        f.render_widget(
            Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(" Help ")),
            popup,
        );
    }
}
