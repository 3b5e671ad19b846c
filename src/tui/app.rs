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

use super::deposit::Deposit;
use super::home::Home;
use super::ledger_view::LedgerView;
use super::release::{Release, Step, statement_lines};
use super::reveal::RevealScreen;
use super::theme::Theme;
use super::widgets::{centered, key_bar};
use crate::audit::{self, Failure, Options, Report, VaultSource};
use crate::error::{Error, Result};
use crate::records::SecretKind;
use crate::secret::Passphrase;
use crate::vault::{DerivedKey, Displayed, Released, Status, Vault};

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
    /// Open the ledger view.
    OpenLedger,
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
}

enum Screen {
    Home,
    Release(Box<Release>),
    Reveal(Box<RevealState>),
    Deposit(Box<Deposit>),
    Ledger(Box<LedgerView>),
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
    verified: Option<(u64, std::result::Result<Report, String>)>,
    theme: Theme,
    reveal_secs: i64,
    demo: Vec<(String, String)>,
    ticks: u64,
    quit: bool,
    clear: bool,
}

fn err_text(e: &Error) -> String {
    e.to_string()
}

impl App {
    /// A console on `vault`. `demo` lists officer passphrases to show (the
    /// demo vault only).
    pub fn new(vault: Vault, theme: Theme, demo: Vec<(String, String)>) -> Result<Self> {
        let status = vault.status()?;
        let mut home = Home::default();
        home.set_secrets(vault.secrets()?);
        let mut app = App {
            vault,
            status,
            home,
            screen: Screen::Home,
            help: false,
            message: None,
            job: None,
            generation: 0,
            verify_job: None,
            verified: None,
            theme,
            reveal_secs: REVEAL_SECS,
            demo,
            ticks: 0,
            quit: false,
            clear: false,
        };
        app.start_verify();
        Ok(app)
    }

    /// Sets how long a reveal stays on screen.
    pub fn set_reveal_secs(&mut self, secs: i64) {
        self.reveal_secs = secs;
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
            _ => {}
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
            }
        }
    }

    /// The whole-ledger verification status as one line.
    pub fn verification_line(&self) -> Line<'static> {
        match &self.verified {
            Some((g, Ok(r))) if *g == self.generation => Line::from(Span::styled(
                format!(
                    "Ledger verified ✓  {} entries, {} signatures",
                    r.entries, r.signatures_checked
                ),
                self.theme.ok(),
            )),
            Some((_, Err(e))) => Line::from(Span::styled(
                format!("Ledger verification FAILED: {e}"),
                self.theme.error(),
            )),
            _ => Line::from(Span::styled("Verifying the ledger…", self.theme.dim())),
        }
        .patch_style(ratatui::style::Style::default())
    }

    /// Pasted text goes to the focused input.
    pub fn on_paste(&mut self, text: &str) {
        match &mut self.screen {
            Screen::Release(r) => r.paste(text),
            Screen::Deposit(d) => d.paste(text),
            Screen::Ledger(l) => l.paste(text),
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
            _ => false,
        }
    }

    /// Handles one key press.
    pub fn on_key(&mut self, key: KeyEvent) {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            let action = match &self.screen {
                Screen::Reveal(_) => Action::Display(Displayed::Dismissed),
                _ => Action::Quit,
            };
            self.apply(action);
            self.apply(Action::Quit);
            return;
        }
        if self.help {
            self.help = false;
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
            Screen::Reveal(r) => match RevealScreen::new(&r.released, 0).on_key(key) {
                Some(how) => Action::Display(how),
                None => Action::None,
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
                self.cancel_release_in_progress();
                if let Screen::Reveal(_) = self.screen {
                    self.apply(Action::Display(Displayed::Dismissed));
                }
                self.quit = true;
            }
            Action::Back => {
                self.cancel_release_in_progress();
                self.screen = Screen::Home;
                self.refresh();
            }
            Action::OpenRelease(pre) => {
                self.message = None;
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
            Action::OpenLedger => match LedgerView::new(self.vault.store().clone()) {
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
                        Err(e) => r.error = Some(err_text(&e)),
                    }
                }
            }
            Action::StatementFor(officer) => {
                if let (Screen::Release(r), Some(o)) = (&mut self.screen, officer) {
                    if let Some(req) = &r.request {
                        r.statement = statement_lines(&self.vault.statement(req, &o));
                    }
                }
            }
            Action::Unlock {
                officer,
                passphrase,
            } => self.unlock(officer, passphrase),
            Action::CancelRelease => {
                self.cancel_release_in_progress();
                self.screen = Screen::Home;
                self.say(
                    false,
                    "Release cancelled; the collected approvals were discarded.",
                );
                self.refresh();
            }
            Action::Display(how) => {
                if let Screen::Reveal(r) = std::mem::replace(&mut self.screen, Screen::Home) {
                    let RevealState { released, .. } = *r;
                    let what = format!("{} #{}", released.secret, released.index + 1);
                    match self.vault.record_display(&released, how) {
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
                                    rep.added, rep.total, rep.seq
                                ),
                            );
                            self.refresh();
                        }
                        Err(e) => d.error = Some(err_text(&e)),
                    }
                }
            }
            Action::Export(dir) => {
                match audit::export(self.vault.store(), &self.vault.ledger_cert(), &dir) {
                    Ok(n) => self.say(false, format!("Exported {n} entries to {}", dir.display())),
                    Err(e) => self.say(true, format!("Export failed: {}", err_text(&e))),
                }
            }
            Action::Verify => {
                self.generation += 1;
                self.verified = None;
            }
        }
    }

    fn cancel_release_in_progress(&mut self) {
        if let Screen::Release(r) = &mut self.screen {
            if let Some(req) = r.request.take() {
                if let Err(e) = self.vault.cancel_release(req) {
                    self.say(true, err_text(&e));
                }
                self.generation += 1;
            }
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
            Screen::Deposit(_) => ("deposit", None, Ok(())),
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
                    r.error = Some(format!(
                        "Wrong passphrase for {officer} (logged). Try again, or Esc to choose another officer."
                    ));
                    r.note = None;
                    r.retry(officer);
                } else {
                    r.error = Some(err_text(&e));
                    r.back_to_approvers();
                }
            }
            Screen::Deposit(d) => {
                if matches!(e, Error::BadPassphrase(_)) {
                    d.retry(
                        officer.clone(),
                        format!(
                            "Wrong passphrase for {officer} (logged). Try again, or Esc to leave."
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
                        self.screen = Screen::Reveal(Box::new(RevealState { released, opened }));
                    }
                    Err(e) => {
                        self.screen = Screen::Home;
                        self.say(true, format!("Nothing was released: {}", err_text(&e)));
                        self.refresh();
                    }
                }
            }
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
            let p = Paragraph::new(vec![
                Line::from(Span::styled("Terminal too small", self.theme.error())),
                Line::from(format!(
                    "breakglass needs {MIN_WIDTH}×{MIN_HEIGHT}; this one is {}×{}.",
                    area.width, area.height
                )),
                Line::from("Enlarge the window, or press q to quit."),
            ])
            .wrap(Wrap { trim: true });
            f.render_widget(p, area);
            return;
        }
        if let Screen::Reveal(r) = &self.screen {
            let elapsed = (self.vault.clock_now() - r.opened).max(0) as u64;
            RevealScreen::new(&r.released, self.reveal_secs as u64).render(f, area, elapsed);
            return;
        }
        let demo_height = if self.demo.is_empty() || !matches!(self.screen, Screen::Home) {
            0
        } else {
            1
        };
        let [title, body, demo, msg, keys] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(10),
            Constraint::Length(demo_height),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        let screen_name = match &self.screen {
            Screen::Home => "home",
            Screen::Release(_) => "release",
            Screen::Deposit(_) => "deposit",
            Screen::Ledger(_) => "ledger",
            Screen::Reveal(_) => "reveal",
        };
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(" breakglass ", self.theme.accent()),
                Span::styled(
                    format!("· {screen_name} · {}", self.vault.path().display()),
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
        if let Some((error, m)) = &self.message {
            let style = if *error {
                self.theme.error()
            } else {
                self.theme.ok()
            };
            f.render_widget(Paragraph::new(Span::styled(m.clone(), style)), msg);
        }
        key_bar(f, keys, self.keys(), &self.theme);
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
                ("?", "help"),
                ("q", "quit"),
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
            Screen::Reveal(_) => &[],
        }
    }

    fn render_help(&self, f: &mut Frame<'_>, area: Rect) {
        let text = vec![
            Line::from(Span::styled("breakglass console", self.theme.accent())),
            Line::from(""),
            Line::from("Home      ↑↓ select · r/Enter release · d deposit · l ledger · q quit"),
            Line::from("Release   choose a secret, type the reason; then each officer picks their"),
            Line::from("          name and types their passphrase (hidden). Each sees the exact"),
            Line::from(
                "          statement they sign. At the quorum the item is logged, then shown",
            ),
            Line::from("          once: Enter confirms you saw it, Esc clears it unconfirmed; it"),
            Line::from(format!(
                "          clears by itself after {} s. Esc before that cancels the release.",
                self.reveal_secs
            )),
            Line::from("Deposit   one officer; name the secret (Tab: codes/credential), paste the"),
            Line::from("          codes one per line (hidden), confirm the count."),
            Line::from("Ledger    ↑↓ PgUp PgDn scroll · J/K scroll the entry · f kind filter ·"),
            Line::from(
                "          s secret · o officer · c clear filters · e export · v verify again",
            ),
            Line::from(""),
            Line::from("Ctrl-C quits from anywhere (a release in progress is cancelled)."),
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
