//! Deposit: an officer authenticates, names the secret, pastes or types the
//! codes (hidden) or a credential, sees the count, and confirms. No quorum.
//! The same screen rotates a released credential: the name is given, and
//! the value entered is its replacement (docs/OPERATIONS.md, "After a
//! break-glass release"), and starts an end-to-end drill: the officer who
//! authenticates deposits the canary the quorum then releases.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, Paragraph, Wrap};
use zeroize::Zeroizing;

use super::Action;
use super::theme::Theme;
use super::widgets::{InputEvent, TextInput, list_move, step};
use crate::names;
use crate::records::SecretKind;
use crate::secret::SecretValue;
use crate::vault::OfficerSession;

/// Where the deposit is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Choosing the depositing officer.
    Officer,
    /// Their passphrase.
    Passphrase(String),
    /// Argon2 is running.
    Unlocking(String),
    /// Naming the secret and choosing its kind.
    Name,
    /// Entering the values (hidden).
    Values,
    /// Confirming the count.
    Confirm,
}

/// What the screen is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Deposit,
    /// Replacing a released credential.
    Rotate,
    /// Starting an end-to-end drill: the officer deposits the canary.
    Canary,
}

/// Deposit screen state. Typed values are zeroized on drop.
pub struct Deposit {
    /// Current step.
    pub step: Step,
    officers: Vec<String>,
    chosen: usize,
    passphrase: TextInput,
    /// The authenticated officer.
    pub session: Option<OfficerSession>,
    name: TextInput,
    kind: SecretKind,
    lines: Vec<Zeroizing<String>>,
    current: Zeroizing<String>,
    /// The last error.
    pub error: Option<String>,
    /// Wrong passphrases typed so far (three end the deposit).
    pub wrong: u32,
    mode: Mode,
}

impl Deposit {
    /// Empties what is being typed hidden (a passphrase, a code's partial
    /// line) when the screen cannot be seen: true if anything was there.
    pub fn drop_hidden_input(&mut self) -> bool {
        let had = !self.passphrase.text().is_empty() || !self.current.is_empty();
        self.passphrase.clear();
        self.current = Zeroizing::new(String::new());
        had
    }
    /// A deposit by one of `officers`.
    pub fn new(officers: Vec<String>) -> Self {
        Deposit {
            step: Step::Officer,
            officers,
            chosen: 0,
            passphrase: TextInput::hidden(1024),
            session: None,
            name: TextInput::visible(64),
            kind: SecretKind::Codes,
            lines: Vec::new(),
            current: Zeroizing::new(String::new()),
            error: None,
            wrong: 0,
            mode: Mode::Deposit,
        }
    }

    /// A rotation of the released credential `secret` by one of
    /// `officers`: its new value replaces it.
    pub fn rotate(officers: Vec<String>, secret: &str) -> Self {
        let mut d = Deposit::new(officers);
        d.name.paste(secret);
        d.kind = SecretKind::Credential;
        d.mode = Mode::Rotate;
        d
    }

    /// The start of an end-to-end drill: one of `officers` (`first`
    /// chosen) authenticates to deposit the canary code.
    pub fn canary(officers: Vec<String>, first: Option<&str>) -> Self {
        let mut d = Deposit::new(officers);
        d.chosen = first
            .and_then(|f| d.officers.iter().position(|o| o == f))
            .unwrap_or(0);
        d.mode = Mode::Canary;
        d
    }

    /// Whether this is a rotation.
    pub fn is_rotation(&self) -> bool {
        self.mode == Mode::Rotate
    }

    /// Whether this starts an end-to-end drill.
    pub fn is_canary(&self) -> bool {
        self.mode == Mode::Canary
    }

    /// The key bar for where the screen is: what each key does here and
    /// now, never a key this step ignores.
    pub fn keys(&self) -> &'static [(&'static str, &'static str)] {
        match (&self.step, self.mode) {
            (Step::Officer, _) => &[("↑↓", "officer"), ("Enter", "continue"), ("Esc", "back")],
            (Step::Passphrase(_), _) => &[("Enter", "sign"), ("Esc", "back")],
            (Step::Unlocking(_), _) => &[],
            (Step::Name, _) => &[("Enter", "continue"), ("Tab", "kind"), ("Esc", "back")],
            // Esc here leaves the screen, and what was typed is dropped.
            (Step::Values, _) if self.kind == SecretKind::Credential => {
                &[("Enter/Ctrl-D", "end input"), ("Esc", "cancel")]
            }
            (Step::Values, _) => &[
                ("Enter", "next code"),
                ("Ctrl-D", "end input"),
                ("Esc", "cancel"),
            ],
            (Step::Confirm, Mode::Rotate) => &[("Enter/y", "rotate"), ("Esc/n", "back")],
            (Step::Confirm, _) => &[("Enter/y", "deposit"), ("Esc/n", "back")],
        }
    }

    /// The values entered, as the vault takes them.
    pub fn values(&self) -> Vec<SecretValue> {
        match self.kind {
            SecretKind::Codes => self
                .codes()
                .map(|c| SecretValue::new(c.to_string()))
                .collect(),
            SecretKind::Credential => {
                let mut all: Vec<&str> = self.lines.iter().map(|l| l.as_str()).collect();
                if !self.current.is_empty() {
                    all.push(&self.current);
                }
                let joined = Zeroizing::new(all.join("\n"));
                if joined.is_empty() {
                    Vec::new()
                } else {
                    vec![SecretValue::new(joined.to_string())]
                }
            }
        }
    }

    fn codes(&self) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .map(|l| l.trim())
            .chain(std::iter::once(self.current.trim()))
            .filter(|l| !l.is_empty())
    }

    /// Why a code cannot be stored (a control or format character, or its
    /// size), naming it by number and never by its text.
    fn invalid_code(&self) -> Option<String> {
        if self.kind != SecretKind::Codes {
            return None;
        }
        let n = self.count();
        self.codes().enumerate().find_map(|(i, c)| {
            names::code(c).err().map(|e| {
                let why = match e {
                    crate::Error::Invalid { why, .. } => why,
                    other => other.to_string(),
                };
                format!(
                    "Code {} of {n}: {why}. Nothing is deposited; Esc to start again.",
                    i + 1
                )
            })
        })
    }

    fn count(&self) -> usize {
        match self.kind {
            SecretKind::Codes => self.codes().count(),
            SecretKind::Credential => usize::from(!self.values().is_empty()),
        }
    }

    /// `1 code`, `3 codes`, `1 credential`.
    fn counted(&self, n: usize) -> String {
        match self.kind {
            SecretKind::Codes => super::widgets::plural(n, "code", "codes"),
            SecretKind::Credential => super::widgets::plural(n, "credential", "credentials"),
        }
    }

    /// The authenticated officer moves on to naming the secret.
    pub fn authenticated(&mut self, session: OfficerSession) {
        self.session = Some(session);
        self.error = None;
        // A rotation's secret is given.
        self.step = if self.is_rotation() {
            Step::Values
        } else {
            Step::Name
        };
    }

    /// A wrong passphrase: ask again.
    pub fn retry(&mut self, officer: String, why: String) {
        self.passphrase.clear();
        self.error = Some(why);
        self.step = Step::Passphrase(officer);
    }

    /// Pasted text: passphrase or name in one line; values line by line.
    pub fn paste(&mut self, text: &str) {
        match self.step {
            Step::Passphrase(_) => self.passphrase.paste(text),
            Step::Name => self.name.paste(text),
            Step::Values => {
                // Terminals separate pasted lines with CR (tmux, most
                // bracketed paste), LF or CRLF: each is one line break.
                let mut parts = names::split_lines(text).peekable();
                while let Some(p) = parts.next() {
                    self.current.push_str(p);
                    if parts.peek().is_some() {
                        self.lines.push(std::mem::replace(
                            &mut self.current,
                            Zeroizing::new(String::new()),
                        ));
                    }
                }
            }
            _ => {}
        }
    }

    /// Maps a key to an action.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if self.step == Step::Officer {
            if let Some(delta) = list_move(&key) {
                self.chosen = step(self.chosen, self.officers.len(), delta);
                return Action::None;
            }
        }
        match self.step.clone() {
            Step::Officer => match key.code {
                KeyCode::Enter => {
                    if let Some(o) = self.officers.get(self.chosen) {
                        self.step = Step::Passphrase(o.clone());
                    }
                    Action::None
                }
                KeyCode::Esc | KeyCode::Char('q') => Action::Back,
                _ => Action::None,
            },
            Step::Passphrase(officer) => match self.passphrase.on_key(key) {
                InputEvent::Submit => {
                    self.step = Step::Unlocking(officer.clone());
                    self.passphrase.unlock(officer)
                }
                InputEvent::Cancel => Action::Back,
                InputEvent::Edited => Action::None,
            },
            Step::Unlocking(_) => Action::None,
            Step::Name => {
                if key.code == KeyCode::Tab {
                    self.kind = match self.kind {
                        SecretKind::Codes => SecretKind::Credential,
                        SecretKind::Credential => SecretKind::Codes,
                    };
                    return Action::None;
                }
                match self.name.on_key(key) {
                    InputEvent::Submit => {
                        match names::secret(self.name.text()) {
                            Ok(()) => {
                                self.error = None;
                                self.step = Step::Values;
                            }
                            Err(e) => self.error = Some(e.to_string()),
                        }
                        Action::None
                    }
                    InputEvent::Cancel => Action::Back,
                    InputEvent::Edited => Action::None,
                }
            }
            Step::Values => self.on_value_key(key),
            Step::Confirm => match key.code {
                KeyCode::Enter | KeyCode::Char('y') if self.is_rotation() => {
                    Action::Rotate(self.name.text().to_string())
                }
                KeyCode::Enter | KeyCode::Char('y') => Action::Deposit {
                    secret: self.name.text().to_string(),
                    kind: self.kind,
                },
                KeyCode::Esc | KeyCode::Char('n') => {
                    self.step = Step::Values;
                    Action::None
                }
                _ => Action::None,
            },
        }
    }

    fn on_value_key(&mut self, key: KeyEvent) -> Action {
        let finish = |d: &mut Deposit| {
            if d.count() == 0 {
                d.error = Some("nothing entered yet".into());
            } else if let Some(why) = d.invalid_code() {
                d.error = Some(why);
            } else {
                d.error = None;
                d.step = Step::Confirm;
            }
            Action::None
        };
        match key.code {
            KeyCode::Esc => Action::Back,
            // Ctrl-D ends input, as at a shell prompt.
            KeyCode::Char('d') if key.modifiers.contains(KeyModifiers::CONTROL) => finish(self),
            KeyCode::Enter => {
                let line_empty = self.current.trim().is_empty();
                if self.kind == SecretKind::Credential || line_empty {
                    return finish(self);
                }
                self.lines.push(std::mem::replace(
                    &mut self.current,
                    Zeroizing::new(String::new()),
                ));
                Action::None
            }
            KeyCode::Backspace => {
                self.current.pop();
                Action::None
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.current.push(c);
                Action::None
            }
            _ => Action::None,
        }
    }

    /// Draws the screen.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, spinner: &str, theme: &Theme) {
        let who = self
            .session
            .as_ref()
            .map(|s| format!(" by {}", s.name()))
            .unwrap_or_default();
        let title = match self.mode {
            Mode::Rotate => format!(" Rotate {}{who} ", self.name.text()),
            Mode::Canary => " End-to-end drill ".to_string(),
            Mode::Deposit => format!(" Deposit{who} "),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(title, theme.accent()));
        let inner = block.inner(area);
        f.render_widget(block, area);
        let [body, msg] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(3)]).areas(inner);
        let kind = self.kind.as_str();
        match &self.step {
            Step::Officer => {
                let items: Vec<ListItem<'_>> = self
                    .officers
                    .iter()
                    .enumerate()
                    .map(|(i, o)| {
                        let it = ListItem::new(o.clone());
                        if i == self.chosen {
                            it.style(theme.selected())
                        } else {
                            it
                        }
                    })
                    .collect();
                let title = match self.mode {
                    Mode::Rotate => {
                        "Which officer stores the new value? (one is enough; no quorum)"
                    }
                    Mode::Canary => "Which officer starts the drill?",
                    Mode::Deposit => "Which officer deposits? (one is enough; no quorum)",
                };
                let list = List::new(items).block(Block::default().title(title));
                if self.mode == Mode::Canary {
                    let [a, b] =
                        Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(body);
                    f.render_widget(list, a);
                    f.render_widget(
                        Paragraph::new(
                            "A whole release, with no real secret: this officer deposits a canary code into drill/canary, then a quorum releases it, it is shown, and the alert hook must take every event. The result is logged as a drill.",
                        )
                        .style(theme.dim())
                        .wrap(Wrap { trim: true }),
                        b,
                    );
                } else {
                    f.render_widget(list, body);
                }
            }
            Step::Passphrase(o) => self.passphrase.render(
                f,
                first_line(body),
                &format!("Passphrase for {o} (hidden)"),
                theme,
            ),
            Step::Unlocking(o) => f.render_widget(
                Paragraph::new(Span::styled(
                    format!("{spinner} Unlocking {o} (Argon2id)…"),
                    theme.warn(),
                )),
                body,
            ),
            Step::Name => {
                let [a, b, c] = Layout::vertical([
                    Constraint::Length(1),
                    Constraint::Length(1),
                    Constraint::Min(1),
                ])
                .areas(body);
                self.name.render(f, a, "Secret name", theme);
                f.render_widget(
                    Paragraph::new(Line::from(vec![
                        Span::styled("Kind: ", theme.accent()),
                        Span::raw(kind),
                        Span::styled("   (Tab switches codes / credential)", theme.dim()),
                    ])),
                    b,
                );
                f.render_widget(
                    Paragraph::new("Depositing into an existing codes secret adds to it.")
                        .style(theme.dim()),
                    c,
                );
            }
            Step::Values => {
                let help = match self.kind {
                    SecretKind::Codes => {
                        "Paste or type the codes, one per line (hidden). An empty line or Ctrl-D ends."
                    }
                    SecretKind::Credential if self.is_rotation() => {
                        "Change it at its system first. Then paste or type the new value (hidden). Enter or Ctrl-D ends."
                    }
                    SecretKind::Credential => {
                        "Paste or type the credential (hidden). Enter or Ctrl-D ends."
                    }
                };
                let n = self.count();
                f.render_widget(
                    Paragraph::new(vec![
                        Line::from(help).style(theme.dim()),
                        Line::from(""),
                        Line::from(Span::styled(
                            format!("{} entered", self.counted(n)),
                            theme.accent(),
                        )),
                        Line::from(format!(
                            "current line: {}",
                            "•".repeat(self.current.chars().count())
                        )),
                    ])
                    .wrap(Wrap { trim: false }),
                    body,
                );
            }
            Step::Confirm => {
                let n = self.count();
                f.render_widget(
                    Paragraph::new(vec![
                        Line::from(Span::styled(
                            if self.is_rotation() {
                                format!(
                                    "Replace {} with the new value? The released one becomes void.",
                                    self.name.text()
                                )
                            } else {
                                format!("Deposit {} into {}?", self.counted(n), self.name.text())
                            },
                            theme.accent(),
                        )),
                        Line::from(if self.is_rotation() {
                            "Enter/y rotates (and logs it, signed by you); Esc/n goes back."
                        } else {
                            "Enter/y deposits (and logs it, signed by you); Esc/n goes back."
                        }),
                    ]),
                    body,
                );
            }
        }
        if let Some(e) = &self.error {
            f.render_widget(
                Paragraph::new(Span::styled(e.clone(), theme.error())).wrap(Wrap { trim: true }),
                msg,
            );
        }
    }
}

fn first_line(area: Rect) -> Rect {
    Rect {
        height: 1.min(area.height),
        ..area
    }
}
