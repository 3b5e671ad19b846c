//! A ceremony (officer add or remove, threshold change, rekey): first the
//! current and the proposed officer set and threshold side by side, before
//! anyone signs; then approvals exactly as for a release (each officer sees
//! the statement they sign and types their passphrase, hidden); then each
//! new officer chooses a passphrase, typed twice; then the app writes the
//! new epoch.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::Action;
use super::release::{ATTEMPTS, Attempts, WrongPassphrase};
use super::theme::Theme;
use super::widgets::{ApprovalPane, InputEvent, Prompt, TextInput, list_move, plural, step};
use crate::secret::Passphrase;
use crate::vault::{CeremonyKind, CeremonyRequest, MIN_PASSPHRASE_CHARS};

/// Where the ceremony is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Current and proposed side by side; nothing signed yet.
    Review,
    /// Choosing the next approving officer.
    Approvers,
    /// The chosen officer types their passphrase.
    Passphrase(String),
    /// Argon2 is running for this officer.
    Unlocking(String),
    /// A new officer chooses a passphrase; `true` once typed the first
    /// time (now typed again to confirm).
    NewPassphrase(String, bool),
    /// Every approval and passphrase is in: the app writes the new epoch.
    /// `true` once the "Re-encrypting" screen has been drawn.
    Completing(bool),
}

/// Ceremony screen state. Dropping it drops the request (its shares and
/// keys are zeroized) and the new officers' passphrases.
pub struct Ceremony {
    /// Current step.
    pub step: Step,
    /// The request, until the app completes or cancels it.
    pub request: Option<CeremonyRequest>,
    /// Current officers (who may approve), by name.
    current: Vec<String>,
    current_threshold: u8,
    epoch: u32,
    chosen: usize,
    passphrase: TextInput,
    first: TextInput,
    again: TextInput,
    new_passphrases: Vec<(String, Passphrase)>,
    /// The last error, shown in red.
    pub error: Option<String>,
    /// The last good news, shown in green.
    pub note: Option<String>,
    /// The statement the chosen officer signs, as display lines.
    pub statement: Vec<(String, String)>,
    wrong: Attempts,
    confirm_cancel: bool,
}

impl Ceremony {
    /// Empties what is being typed hidden (a passphrase, a code's partial
    /// line) when the screen cannot be seen: true if anything was there.
    pub fn drop_hidden_input(&mut self) -> bool {
        let had = [&self.passphrase, &self.first, &self.again]
            .iter()
            .any(|i| !i.text().is_empty());
        self.passphrase.clear();
        self.first.clear();
        self.again.clear();
        had
    }
    /// A ceremony on `request`, begun by the vault whose officers are
    /// `current` under `threshold` in `epoch`.
    pub fn new(request: CeremonyRequest, current: Vec<String>, threshold: u8, epoch: u32) -> Self {
        Ceremony {
            step: Step::Review,
            request: Some(request),
            current,
            current_threshold: threshold,
            epoch,
            chosen: 0,
            passphrase: TextInput::hidden(1024),
            first: TextInput::hidden(1024),
            again: TextInput::hidden(1024),
            new_passphrases: Vec::new(),
            error: None,
            note: None,
            statement: Vec::new(),
            wrong: Attempts::default(),
            confirm_cancel: false,
        }
    }

    /// Whether the ceremony is asking to confirm discarding approvals.
    pub fn confirming_cancel(&self) -> bool {
        self.confirm_cancel
    }

    /// Whether an input takes the keys.
    pub fn is_typing(&self) -> bool {
        matches!(self.step, Step::Passphrase(_) | Step::NewPassphrase(..))
    }

    /// The new officers' passphrases, taken out for the vault.
    pub fn take_new_passphrases(&mut self) -> Vec<(String, Passphrase)> {
        std::mem::take(&mut self.new_passphrases)
    }

    /// What the ceremony does, in a few words (the screen's title).
    pub fn title(&self) -> String {
        let Some(req) = &self.request else {
            return "Ceremony".into();
        };
        match req.kind() {
            CeremonyKind::OfficerAdd => format!("Add officer {}", req.added().join(", ")),
            CeremonyKind::OfficerRemove => {
                format!("Remove officer {}", req.removed().join(", "))
            }
            CeremonyKind::Rekey if req.threshold() != self.current_threshold => format!(
                "Change the threshold: {} → {}",
                self.current_threshold,
                req.threshold()
            ),
            CeremonyKind::Rekey => "Rekey: new keys, same officers".into(),
        }
    }

    /// Wrong passphrases `officer` has typed in this ceremony.
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

    /// Current officers who may still approve: not yet approved, and not
    /// out of passphrase attempts.
    fn pending(&self) -> Vec<&str> {
        let done = self
            .request
            .as_ref()
            .map(|r| r.approved_by())
            .unwrap_or_default();
        self.current
            .iter()
            .map(String::as_str)
            .filter(|o| !done.contains(o) && self.wrong.count(o) < ATTEMPTS)
            .collect()
    }

    fn approvals(&self) -> usize {
        self.request
            .as_ref()
            .map(|r| r.approved_by().len())
            .unwrap_or(0)
    }

    /// Leaving: at once if no approval was given, else after a `y`.
    fn leave(&mut self) -> Action {
        if self.approvals() == 0 {
            Action::CancelCeremony
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

    /// The quorum is in: each new officer chooses a passphrase, then the
    /// ceremony completes.
    pub fn quorum_reached(&mut self) {
        self.passphrase.clear();
        self.next_new_officer();
    }

    fn next_new_officer(&mut self) {
        let next = self.request.as_ref().and_then(|r| {
            r.added()
                .into_iter()
                .find(|n| !self.new_passphrases.iter().any(|(m, _)| m == n))
                .map(str::to_owned)
        });
        self.first.clear();
        self.again.clear();
        self.step = match next {
            Some(n) => Step::NewPassphrase(n, false),
            None => Step::Completing(false),
        };
    }

    /// Pasted text goes to the focused input.
    pub fn paste(&mut self, text: &str) {
        match self.step {
            Step::Passphrase(_) => self.passphrase.paste(text),
            Step::NewPassphrase(_, false) => self.first.paste(text),
            Step::NewPassphrase(_, true) => self.again.paste(text),
            _ => {}
        }
    }

    /// Maps a key to an action.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if self.confirm_cancel {
            self.confirm_cancel = false;
            return match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Action::CancelCeremony,
                _ => Action::None,
            };
        }
        if let (Some(delta), Step::Approvers) = (list_move(&key), &self.step) {
            self.chosen = step(self.chosen, self.pending().len(), delta);
            return Action::StatementFor(self.chosen_officer());
        }
        match self.step.clone() {
            Step::Review => match key.code {
                KeyCode::Enter => {
                    self.back_to_approvers();
                    Action::StatementFor(self.chosen_officer())
                }
                KeyCode::Esc | KeyCode::Char('q') => Action::CancelCeremony,
                _ => Action::None,
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
            Step::Unlocking(_) => match key.code {
                KeyCode::Esc => self.leave(),
                _ => Action::None,
            },
            Step::NewPassphrase(name, again) => {
                let input = if again {
                    &mut self.again
                } else {
                    &mut self.first
                };
                match input.on_key(key) {
                    InputEvent::Edited => Action::None,
                    InputEvent::Cancel => self.leave(),
                    InputEvent::Submit => {
                        self.new_passphrase_entered(name, again);
                        Action::None
                    }
                }
            }
            Step::Completing(_) => Action::None,
        }
    }

    fn new_passphrase_entered(&mut self, name: String, again: bool) {
        self.note = None;
        if !again {
            if self.first.text().chars().count() < MIN_PASSPHRASE_CHARS {
                self.first.clear();
                self.error = Some(format!(
                    "{name}'s passphrase must have at least {MIN_PASSPHRASE_CHARS} characters. Type another."
                ));
                return;
            }
            self.error = None;
            self.step = Step::NewPassphrase(name, true);
            return;
        }
        if self.first.text() != self.again.text() {
            self.first.clear();
            self.again.clear();
            self.error = Some(format!(
                "The two passphrases for {name} differ. Type it again, twice."
            ));
            self.step = Step::NewPassphrase(name, false);
            return;
        }
        self.error = None;
        self.again.clear();
        let pass = Passphrase::new(self.first.take());
        self.new_passphrases.push((name, pass));
        self.next_new_officer();
    }

    /// Draws the screen; `spinner` comes from the app's clock.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, now: i64, spinner: &str, theme: &Theme) {
        let block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(format!(" {} ", self.title()), theme.accent()));
        let inner = block.inner(area);
        f.render_widget(block, area);
        let Some(req) = &self.request else { return };
        let [body, msg] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(2)]).areas(inner);
        match &self.step {
            Step::Review => self.render_review(f, body, req, theme),
            Step::NewPassphrase(name, again) => {
                self.render_new_passphrase(f, body, req, name, *again, theme)
            }
            Step::Completing(_) => f.render_widget(
                Paragraph::new(vec![
                    Line::from(Span::styled(
                        format!(
                            "{spinner} Re-encrypting the vault for epoch {}…",
                            self.epoch + 1
                        ),
                        theme.warn(),
                    )),
                    Line::from(
                        "New keys, new shares, every item not yet seen re-encrypted: \
                         one transaction, written all at once or not at all.",
                    ),
                ])
                .wrap(Wrap { trim: true }),
                body,
            ),
            _ => self.render_approvals(f, body, req, now, spinner, theme),
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

    /// The officer set as lines: a quorum line, then one officer a line,
    /// marked when they join or leave.
    fn set_lines(
        &self,
        threshold: u8,
        officers: &[&str],
        mark: impl Fn(&str) -> Option<(&'static str, bool)>,
        theme: &Theme,
    ) -> Vec<Line<'static>> {
        let mut lines = vec![Line::from(Span::styled(
            format!("{} of {}", threshold, officers.len()),
            theme.accent(),
        ))];
        for o in officers {
            lines.push(match mark(o) {
                Some((m, true)) => Line::from(vec![
                    Span::styled("+ ", theme.ok()),
                    Span::raw(o.to_string()),
                    Span::styled(format!(" ({m})"), theme.ok()),
                ]),
                Some((m, false)) => Line::from(vec![
                    Span::styled("− ", theme.error()),
                    Span::raw(o.to_string()),
                    Span::styled(format!(" ({m})"), theme.error()),
                ]),
                None => Line::from(format!("  {o}")),
            });
        }
        lines
    }

    fn render_review(&self, f: &mut Frame<'_>, area: Rect, req: &CeremonyRequest, theme: &Theme) {
        let current: Vec<&str> = self.current.iter().map(String::as_str).collect();
        let proposed = req.officers();
        let removed = req.removed();
        let added = req.added();
        let now_lines = self.set_lines(
            self.current_threshold,
            &current,
            |o| removed.contains(&o).then_some(("leaves", false)),
            theme,
        );
        let new_lines = self.set_lines(
            req.threshold(),
            &proposed,
            |o| added.contains(&o).then_some(("joins", true)),
            theme,
        );
        let rows = now_lines.len().max(new_lines.len()) as u16 + 2;
        let [intro, sets, after] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(rows),
            Constraint::Min(1),
        ])
        .areas(area);
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(
                "Nothing is signed yet. Compare the two, then press Enter to begin signing.",
                theme.dim(),
            ))),
            intro,
        );
        // Side by side when each half has room; stacked otherwise.
        let (left, right) = if area.width >= 60 {
            let [l, r] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(sets);
            (l, r)
        } else {
            let [l, r] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(sets);
            (l, r)
        };
        f.render_widget(
            Paragraph::new(now_lines).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(format!(" CURRENT (epoch {}) ", self.epoch)),
            ),
            left,
        );
        f.render_widget(
            Paragraph::new(new_lines).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(format!(" PROPOSED (epoch {}) ", self.epoch + 1)),
            ),
            right,
        );
        let mut lines = Vec::new();
        if let Some(w) =
            crate::names::unanimity_warning(req.threshold().into(), req.officers().len())
        {
            lines.push(Line::from(Span::styled(
                format!("Warning: {w}."),
                theme.warn(),
            )));
        }
        lines.push(Line::from(format!(
            "Needs {} of the current officers, each signing this change.",
            plural(req.needed(), "approval", "approvals")
        )));
        if !added.is_empty() {
            lines.push(Line::from(format!(
                "Then {} chooses a passphrase (at least {MIN_PASSPHRASE_CHARS} characters), typed twice.",
                added.join(", ")
            )));
        }
        lines.push(Line::from(
            "Officers who stay but do not approve keep their passphrase and take \
             their new share at their next drill.",
        ));
        lines.push(Line::from(Span::styled(
            carried_summary(req.carried()),
            theme.dim(),
        )));
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), after);
    }

    fn render_new_passphrase(
        &self,
        f: &mut Frame<'_>,
        area: Rect,
        req: &CeremonyRequest,
        name: &str,
        again: bool,
        theme: &Theme,
    ) {
        let [text, _, input] = Layout::vertical([
            Constraint::Length(4),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        f.render_widget(
            Paragraph::new(vec![
                Line::from(Span::styled(
                    format!(
                        "{} approved ({} of {}).",
                        req.approved_by().join(", "),
                        req.approved_by().len(),
                        req.needed()
                    ),
                    theme.ok(),
                )),
                Line::from(format!(
                    "{name}, choose your passphrase: at least {MIN_PASSPHRASE_CHARS} characters, \
                     never shown. It opens your share; nobody can recover it for you."
                )),
            ])
            .wrap(Wrap { trim: true }),
            text,
        );
        if again {
            self.again.render(
                f,
                input,
                &format!("{name}, again to confirm (hidden)"),
                theme,
            )
        } else {
            self.first.render(
                f,
                input,
                &format!("New passphrase for {name} (hidden)"),
                theme,
            )
        }
    }

    fn render_approvals(
        &self,
        f: &mut Frame<'_>,
        area: Rect,
        req: &CeremonyRequest,
        now: i64,
        spinner: &str,
        theme: &Theme,
    ) {
        let signer = match &self.step {
            Step::Passphrase(o) | Step::Unlocking(o) => Some(o.clone()),
            _ => self.chosen_officer(),
        };
        ApprovalPane {
            signer: signer.as_deref(),
            statement: &self.statement,
            field_width: 9,
            // The statement's widest line, "vault key" and a 40-digit
            // fingerprint, fits whole at 80 columns.
            columns: [Constraint::Min(52), Constraint::Percentage(34)],
            approved: &req.approved_by(),
            needed: req.needed(),
            pending: &self.pending(),
            chosen: (self.step == Step::Approvers).then_some(self.chosen),
            locked_out: &self.wrong.out(),
            seconds_left: req.expires() - now,
            cancelling: self.confirm_cancel.then_some("ceremony"),
            prompt: match &self.step {
                Step::Passphrase(o) => Prompt::Passphrase {
                    officer: o,
                    wrong: self.wrong.count(o),
                },
                Step::Unlocking(o) => Prompt::Unlocking(o),
                _ => Prompt::Choose,
            },
        }
        .render(f, area, &self.passphrase, spinner, theme);
    }
}

/// A ceremony statement as `(field, value)` lines for display: what the
/// officer signs, with the officer set by name.
pub fn ceremony_statement_lines(st: &serde_json::Value) -> Vec<(String, String)> {
    let get = |k: &str| {
        st.get(k)
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_default()
    };
    let officers: Vec<String> = st
        .get("officers")
        .and_then(|o| o.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    vec![
        ("ceremony".into(), get("ceremony")),
        (
            "epoch".into(),
            format!("{} → {}", get("epoch"), get("new_epoch")),
        ),
        (
            "quorum".into(),
            format!("{} of {}", get("threshold"), officers.len()),
        ),
        ("officers".into(), officers.join(", ")),
        ("vault key".into(), get("vault_key_fingerprint")),
        ("expires".into(), get("expires")),
        ("vault".into(), get("vault")),
        ("nonce".into(), get("nonce")),
        ("officer".into(), get("officer")),
    ]
}

/// What a ceremony carries, in one sentence for its approvers.
pub fn carried_summary(c: crate::vault::Carried) -> String {
    format!(
        "Carries {}: {} not yet seen, re-encrypted to a new vault key, and {} seen. When it completes, each approver's key signs a receipt of all the new epoch inherits.",
        plural(c.secrets, "secret", "secrets"),
        plural(c.unseen, "item", "items"),
        c.seen
    )
}
