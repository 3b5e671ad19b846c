//! Release: choose a secret, type a reason, then officers approve one after
//! another. Each sees the exact statement they sign before typing their
//! passphrase (hidden). At quorum the app releases and opens the reveal.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, Paragraph, Wrap};

use super::Action;
use super::theme::Theme;
use super::widgets::{ApprovalPane, InputEvent, Prompt, TextInput, list_move, step};
use crate::clock::rfc3339;
use crate::names;
use crate::vault::{ReleaseRequest, SecretSummary};

/// Where the release is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Choosing the secret.
    Pick,
    /// Typing the reason.
    Reason,
    /// Choosing the next approving officer.
    Approvers,
    /// The chosen officer types their passphrase.
    Passphrase(String),
    /// Argon2 is running for this officer.
    Unlocking(String),
}

/// Release screen state. Dropping it drops the request and its shares.
pub struct Release {
    /// Current step.
    pub step: Step,
    secrets: Vec<SecretSummary>,
    picked: usize,
    reason: TextInput,
    /// The request, once begun.
    pub request: Option<ReleaseRequest>,
    officers: Vec<String>,
    chosen: usize,
    passphrase: TextInput,
    /// The last error, shown in red.
    pub error: Option<String>,
    /// The last good news, shown in green.
    pub note: Option<String>,
    /// The statement the chosen officer signs, as display lines.
    pub statement: Vec<(String, String)>,
    /// Wrong passphrases typed so far, per officer, in this release.
    wrong: Attempts,
    /// Asking whether to discard the approvals collected so far.
    confirm_cancel: bool,
}

/// Wrong passphrases an officer may type in one release, as at the CLI.
pub const ATTEMPTS: u32 = 3;

/// What a wrong passphrase leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum WrongPassphrase {
    /// The officer may try again: this many attempts were wrong so far.
    Retry(u32),
    /// The officer used every attempt and cannot approve this release;
    /// the others still can.
    OfficerOut,
    /// The officer used every attempt, and too few officers are left to
    /// reach the quorum: the release must be cancelled.
    QuorumOut,
}

/// Wrong passphrases typed so far, per officer, in one release or
/// ceremony: [`ATTEMPTS`] each.
#[derive(Debug, Default)]
pub struct Attempts(Vec<(String, u32)>);

impl Attempts {
    /// Wrong passphrases `officer` has typed.
    pub fn count(&self, officer: &str) -> u32 {
        self.0
            .iter()
            .find(|(o, _)| o == officer)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }

    /// Counts one more wrong passphrase for `officer`.
    pub fn add(&mut self, officer: &str) {
        match self.0.iter_mut().find(|(o, _)| o == officer) {
            Some((_, n)) => *n += 1,
            None => self.0.push((officer.to_string(), 1)),
        }
    }

    /// What follows `officer`'s latest wrong passphrase, when `able`
    /// approvals are still possible (given, plus officers who may still
    /// try) and `needed` are needed.
    pub fn outcome(&self, officer: &str, able: usize, needed: usize) -> WrongPassphrase {
        let n = self.count(officer);
        if n < ATTEMPTS {
            WrongPassphrase::Retry(n)
        } else if able < needed {
            WrongPassphrase::QuorumOut
        } else {
            WrongPassphrase::OfficerOut
        }
    }

    /// Officers out of attempts, in the order they ran out.
    pub fn out(&self) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(_, n)| *n >= ATTEMPTS)
            .map(|(o, _)| o.as_str())
            .collect()
    }
}

impl Release {
    /// Empties what is being typed hidden (a passphrase, a code's partial
    /// line) when the screen cannot be seen: true if anything was there.
    pub fn drop_hidden_input(&mut self) -> bool {
        let had = !self.passphrase.text().is_empty();
        self.passphrase.clear();
        had
    }
    /// A release of `preselect` (or a choice among `secrets`).
    pub fn new(
        secrets: Vec<SecretSummary>,
        officers: Vec<String>,
        preselect: Option<String>,
    ) -> Self {
        let picked = preselect
            .as_deref()
            .and_then(|p| secrets.iter().position(|s| s.name == p))
            .unwrap_or(0);
        Release {
            step: if preselect.is_some() && !secrets.is_empty() {
                Step::Reason
            } else {
                Step::Pick
            },
            secrets,
            picked,
            reason: TextInput::visible(names::MAX_REASON_CHARS),
            request: None,
            officers,
            chosen: 0,
            passphrase: TextInput::hidden(1024),
            error: None,
            note: None,
            statement: Vec::new(),
            wrong: Attempts::default(),
            confirm_cancel: false,
        }
    }

    /// Whether the release is asking to confirm discarding approvals.
    pub fn confirming_cancel(&self) -> bool {
        self.confirm_cancel
    }

    /// Wrong passphrases `officer` has typed in this release.
    pub fn wrong_count(&self, officer: &str) -> u32 {
        self.wrong.count(officer)
    }

    /// Counts a wrong passphrase for `officer` and says what follows.
    pub fn wrong_passphrase(&mut self, officer: &str) -> WrongPassphrase {
        self.wrong.add(officer);
        let (approved, needed) = self
            .request
            .as_ref()
            .map(|r| (r.approved_by().len(), r.needed()))
            .unwrap_or((0, 0));
        self.wrong
            .outcome(officer, approved + self.pending().len(), needed)
    }

    fn secret(&self) -> Option<&SecretSummary> {
        self.secrets.get(self.picked)
    }

    /// Officers who may still approve, in enrolment order: not yet
    /// approved, and not out of passphrase attempts.
    fn pending(&self) -> Vec<&str> {
        let done = self
            .request
            .as_ref()
            .map(|r| r.approved_by())
            .unwrap_or_default();
        self.officers
            .iter()
            .map(String::as_str)
            .filter(|o| !done.contains(o) && self.wrong_count(o) < ATTEMPTS)
            .collect()
    }

    /// Officers out of passphrase attempts in this release.
    fn locked_out(&self) -> Vec<&str> {
        self.wrong.out()
    }

    fn approvals(&self) -> usize {
        self.request
            .as_ref()
            .map(|r| r.approved_by().len())
            .unwrap_or(0)
    }

    /// Leaving the approvals: at once if none was given, else after a
    /// `y` (approvals are not thrown away by a stray Esc).
    fn leave(&mut self) -> Action {
        if self.approvals() == 0 {
            Action::CancelRelease
        } else {
            self.confirm_cancel = true;
            Action::None
        }
    }

    /// The officer currently chosen in the approvers list.
    pub fn chosen_officer(&self) -> Option<String> {
        self.pending().get(self.chosen).map(|s| s.to_string())
    }

    /// Goes back to choosing an approver (after an approval or a failure).
    pub fn back_to_approvers(&mut self) {
        self.passphrase.clear();
        self.chosen = 0;
        self.step = Step::Approvers;
    }

    /// Asks `officer` for their passphrase again (after a wrong one).
    pub fn retry(&mut self, officer: String) {
        self.passphrase.clear();
        self.step = Step::Passphrase(officer);
    }

    /// Pasted text goes to the focused input.
    pub fn paste(&mut self, text: &str) {
        match self.step {
            Step::Reason => self.reason.paste(text),
            Step::Passphrase(_) => self.passphrase.paste(text),
            _ => {}
        }
    }

    /// Maps a key to an action.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if self.confirm_cancel {
            self.confirm_cancel = false;
            return match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Action::CancelRelease,
                _ => Action::None,
            };
        }
        // ↑↓ move through the list of the step that has one.
        if let Some(delta) = list_move(&key) {
            match self.step {
                Step::Pick => {
                    self.picked = step(self.picked, self.secrets.len(), delta);
                    return Action::None;
                }
                Step::Approvers => {
                    self.chosen = step(self.chosen, self.pending().len(), delta);
                    return Action::StatementFor(self.chosen_officer());
                }
                _ => {}
            }
        }
        match self.step.clone() {
            Step::Pick => match key.code {
                KeyCode::Enter => {
                    match self.secret() {
                        Some(s) if s.remaining + s.unconfirmed == 0 => {
                            self.error = Some(nothing_left(s));
                        }
                        Some(_) => {
                            self.error = None;
                            self.step = Step::Reason;
                        }
                        None => {}
                    }
                    Action::None
                }
                KeyCode::Esc | KeyCode::Char('q') => Action::Back,
                _ => Action::None,
            },
            Step::Reason => match self.reason.on_key(key) {
                InputEvent::Submit => {
                    if let Err(e) = names::reason(self.reason.text()) {
                        self.error = Some(e.to_string());
                        return Action::None;
                    }
                    self.error = None;
                    match self.secret() {
                        Some(s) => Action::BeginRelease {
                            secret: s.name.clone(),
                            reason: self.reason.text().to_string(),
                        },
                        None => Action::Back,
                    }
                }
                InputEvent::Cancel => Action::Back,
                InputEvent::Edited => Action::None,
            },
            Step::Approvers => match key.code {
                KeyCode::Enter => match self.chosen_officer() {
                    Some(o) => {
                        self.error = None;
                        self.passphrase.clear();
                        self.step = Step::Passphrase(o);
                        Action::None
                    }
                    None => Action::None,
                },
                KeyCode::Esc | KeyCode::Char('q') => self.leave(),
                _ => Action::None,
            },
            Step::Passphrase(officer) => match self.passphrase.on_key(key) {
                InputEvent::Submit => {
                    self.step = Step::Unlocking(officer.clone());
                    self.passphrase.unlock(officer)
                }
                InputEvent::Cancel => {
                    self.back_to_approvers();
                    Action::None
                }
                InputEvent::Edited => Action::None,
            },
            // Keys wait while Argon2 runs, except cancelling the release.
            Step::Unlocking(_) => match key.code {
                KeyCode::Esc => self.leave(),
                _ => Action::None,
            },
        }
    }

    /// Draws the screen. `now` and `spinner` come from the app's clock.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, now: i64, spinner: &str, theme: &Theme) {
        let title = match self.secret() {
            Some(s) if self.step != Step::Pick => format!(" Release from {} ", s.name),
            _ => " Release ".to_string(),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(title, theme.accent()));
        let inner = block.inner(area);
        f.render_widget(block, area);
        let [body, msg] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(2)]).areas(inner);
        match &self.step {
            Step::Pick => self.render_pick(f, body, theme),
            Step::Reason => {
                let [hint, input] =
                    Layout::vertical([Constraint::Length(3), Constraint::Length(1)]).areas(body);
                f.render_widget(
                    Paragraph::new(vec![
                        Line::from(
                            "Why is this needed? Every approving officer signs this reason,",
                        ),
                        Line::from("and it is written to the ledger. (1-500 characters)"),
                    ])
                    .style(theme.dim()),
                    hint,
                );
                self.reason.render(f, input, "Reason", theme);
            }
            Step::Approvers | Step::Passphrase(_) | Step::Unlocking(_) => {
                self.render_approvals(f, body, now, spinner, theme)
            }
        }
        let mut lines = Vec::new();
        if let Some(e) = &self.error {
            lines.push(Line::from(Span::styled(e.clone(), theme.error())));
        }
        if let Some(n) = &self.note {
            lines.push(Line::from(Span::styled(n.clone(), theme.ok())));
        }
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), msg);
    }

    fn render_pick(&self, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
        let items: Vec<ListItem<'_>> = self
            .secrets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let text = format!(
                    "{:<32} {:>4} left{}",
                    s.name,
                    s.remaining + s.unconfirmed,
                    s.min_approvals
                        .map(|k| format!("  needs {k} approvals"))
                        .unwrap_or_default()
                );
                let item = ListItem::new(text);
                if i == self.picked {
                    item.style(theme.selected())
                } else {
                    item
                }
            })
            .collect();
        f.render_widget(
            List::new(items).block(Block::default().title("Choose the secret to release")),
            area,
        );
    }

    fn render_approvals(
        &self,
        f: &mut Frame<'_>,
        area: Rect,
        now: i64,
        spinner: &str,
        theme: &Theme,
    ) {
        let Some(req) = &self.request else { return };
        let signer = match &self.step {
            Step::Passphrase(o) | Step::Unlocking(o) => Some(o.clone()),
            _ => self.chosen_officer(),
        };
        ApprovalPane {
            signer: signer.as_deref(),
            statement: &self.statement,
            field_width: 8,
            columns: [Constraint::Percentage(62), Constraint::Percentage(38)],
            approved: &req.approved_by(),
            needed: req.needed(),
            pending: &self.pending(),
            chosen: (self.step == Step::Approvers).then_some(self.chosen),
            locked_out: &self.locked_out(),
            seconds_left: req.expires() - now,
            cancelling: self.confirm_cancel.then_some("release"),
            prompt: match &self.step {
                Step::Passphrase(o) => Prompt::Passphrase {
                    officer: o,
                    wrong: self.wrong_count(o),
                },
                Step::Unlocking(o) => Prompt::Unlocking(o),
                _ => Prompt::Choose,
            },
        }
        .render(f, area, &self.passphrase, spinner, theme);
    }
}

/// Why `s` cannot be released: every item is gone and confirmed seen.
pub fn nothing_left(s: &SecretSummary) -> String {
    let what = if s.kind == "credential" {
        "its credential was released".to_string()
    } else {
        format!(
            "all {} were released",
            super::widgets::plural(s.total as usize, "code", "codes")
        )
    };
    format!(
        "Nothing left to release in {}: {what}. Press d to deposit more.",
        s.name
    )
}

/// The statement as `(field, value)` lines for display.
pub fn statement_lines(st: &serde_json::Value) -> Vec<(String, String)> {
    let get = |k: &str| {
        st.get(k)
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_default()
    };
    vec![
        ("secret".into(), get("secret")),
        ("reason".into(), get("reason")),
        ("expires".into(), get("expires")),
        ("vault".into(), get("vault")),
        ("epoch".into(), get("epoch")),
        ("nonce".into(), get("nonce")),
        ("officer".into(), get("officer")),
    ]
}

/// Formats an expiry for messages.
pub fn expiry_text(unix: i64) -> String {
    rfc3339(unix)
}
