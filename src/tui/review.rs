//! Review: an officer who did not approve a release classifies it
//! (emergency, drill or misuse), names the incident and says what happened
//! in a sentence, and signs that (docs/OPERATIONS.md, "After a break-glass
//! release"). One officer, no quorum.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, Paragraph, Wrap};

use super::Action;
use super::theme::Theme;
use super::widgets::{InputEvent, TextInput, list_move, step};
use crate::vault::{MAX_INCIDENT_CHARS, MAX_NOTE_CHARS, OfficerSession, ReviewClass};

/// Where the review is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Choosing the reviewing officer (approvers are not offered).
    Officer,
    /// Their passphrase.
    Passphrase(String),
    /// Argon2 is running.
    Unlocking(String),
    /// Choosing the class.
    Class,
    /// Naming the incident.
    Incident,
    /// The note.
    Note,
    /// Confirming what is signed.
    Confirm,
}

const CLASSES: [ReviewClass; 3] = [
    ReviewClass::Emergency,
    ReviewClass::Drill,
    ReviewClass::Misuse,
];

/// The release under review, as the screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The release entry.
    pub release: u64,
    /// Its secret.
    pub secret: String,
    /// Its item, from 0.
    pub index: u64,
    /// Who approved it.
    pub approvers: Vec<String>,
    /// The reason they gave.
    pub reason: String,
}

/// Review screen state.
pub struct Review {
    /// Current step.
    pub step: Step,
    /// What is reviewed.
    pub subject: Subject,
    officers: Vec<String>,
    chosen: usize,
    passphrase: TextInput,
    /// The authenticated reviewer.
    pub session: Option<OfficerSession>,
    class: usize,
    incident: TextInput,
    note: TextInput,
    /// The last error.
    pub error: Option<String>,
    /// Wrong passphrases typed so far (three end the review).
    pub wrong: u32,
}

impl Review {
    /// Empties what is being typed hidden (a passphrase, a code's partial
    /// line) when the screen cannot be seen: true if anything was there.
    pub fn drop_hidden_input(&mut self) -> bool {
        let had = !self.passphrase.text().is_empty();
        self.passphrase.clear();
        had
    }
    /// A review of `subject` by one of `officers` who did not approve it.
    pub fn new(officers: &[String], subject: Subject) -> Self {
        let officers = officers
            .iter()
            .filter(|o| !subject.approvers.contains(o))
            .cloned()
            .collect();
        Review {
            step: Step::Officer,
            subject,
            officers,
            chosen: 0,
            passphrase: TextInput::hidden(1024),
            session: None,
            class: 0,
            incident: TextInput::visible(MAX_INCIDENT_CHARS),
            note: TextInput::visible(MAX_NOTE_CHARS),
            error: None,
            wrong: 0,
        }
    }

    /// Whether any officer may review it (every officer approved it).
    pub fn has_reviewers(&self) -> bool {
        !self.officers.is_empty()
    }

    /// The class chosen.
    pub fn class(&self) -> ReviewClass {
        CLASSES[self.class]
    }

    /// The incident, if one was named.
    pub fn incident(&self) -> Option<&str> {
        Some(self.incident.text().trim()).filter(|t| !t.is_empty())
    }

    /// The note.
    pub fn note(&self) -> &str {
        self.note.text().trim()
    }

    /// The reviewer authenticated: on to the class.
    pub fn authenticated(&mut self, session: OfficerSession) {
        self.session = Some(session);
        self.error = None;
        self.step = Step::Class;
    }

    /// A wrong passphrase: ask again.
    pub fn retry(&mut self, officer: String, why: String) {
        self.passphrase.clear();
        self.error = Some(why);
        self.step = Step::Passphrase(officer);
    }

    /// Pasted text goes to the field being typed.
    pub fn paste(&mut self, text: &str) {
        match self.step {
            Step::Passphrase(_) => self.passphrase.paste(text),
            Step::Incident => self.incident.paste(text),
            Step::Note => self.note.paste(text),
            _ => {}
        }
    }

    /// Maps a key to an action.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        match self.step.clone() {
            Step::Officer => {
                if let Some(delta) = list_move(&key) {
                    self.chosen = step(self.chosen, self.officers.len(), delta);
                    return Action::None;
                }
                match key.code {
                    KeyCode::Enter => {
                        if let Some(o) = self.officers.get(self.chosen) {
                            self.step = Step::Passphrase(o.clone());
                        }
                        Action::None
                    }
                    KeyCode::Esc | KeyCode::Char('q') => Action::Back,
                    _ => Action::None,
                }
            }
            Step::Passphrase(officer) => match self.passphrase.on_key(key) {
                InputEvent::Submit => {
                    self.step = Step::Unlocking(officer.clone());
                    self.passphrase.unlock(officer)
                }
                InputEvent::Cancel => Action::Back,
                InputEvent::Edited => Action::None,
            },
            Step::Unlocking(_) => Action::None,
            Step::Class => {
                if let Some(delta) = list_move(&key) {
                    self.class = step(self.class, CLASSES.len(), delta);
                    return Action::None;
                }
                match key.code {
                    KeyCode::Enter => {
                        self.step = Step::Incident;
                        Action::None
                    }
                    KeyCode::Esc => Action::Back,
                    _ => Action::None,
                }
            }
            Step::Incident => match self.incident.on_key(key) {
                InputEvent::Submit => {
                    if self.incident().is_none() && self.class() != ReviewClass::Drill {
                        self.error =
                            Some("Name the incident (only a drill may go without).".into());
                    } else {
                        self.error = None;
                        self.step = Step::Note;
                    }
                    Action::None
                }
                InputEvent::Cancel => {
                    self.step = Step::Class;
                    Action::None
                }
                InputEvent::Edited => Action::None,
            },
            Step::Note => match self.note.on_key(key) {
                InputEvent::Submit => {
                    if self.note().is_empty() {
                        self.error = Some("Say what happened, in a sentence.".into());
                    } else {
                        self.error = None;
                        self.step = Step::Confirm;
                    }
                    Action::None
                }
                InputEvent::Cancel => {
                    self.step = Step::Incident;
                    Action::None
                }
                InputEvent::Edited => Action::None,
            },
            Step::Confirm => match key.code {
                KeyCode::Enter | KeyCode::Char('y') => Action::Review,
                KeyCode::Esc | KeyCode::Char('n') => {
                    self.step = Step::Note;
                    Action::None
                }
                _ => Action::None,
            },
        }
    }

    /// Draws the screen.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, spinner: &str, theme: &Theme) {
        let s = &self.subject;
        let who = self
            .session
            .as_ref()
            .map(|x| format!(" by {}", x.name()))
            .unwrap_or_default();
        let block = Block::default().borders(Borders::ALL).title(Span::styled(
            format!(" Review entry {}{who} ", s.release),
            theme.accent(),
        ));
        let inner = block.inner(area);
        f.render_widget(block, area);
        let [head, body, msg] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Min(3),
            Constraint::Length(3),
        ])
        .areas(inner);
        f.render_widget(
            Paragraph::new(vec![
                Line::from(vec![
                    Span::styled("Release ", theme.dim()),
                    Span::raw(format!(
                        "{} #{} by {}",
                        s.secret,
                        s.index + 1,
                        s.approvers.join(", ")
                    )),
                ]),
                Line::from(vec![
                    Span::styled("Reason ", theme.dim()),
                    Span::raw(s.reason.clone()),
                ]),
            ])
            .wrap(Wrap { trim: true }),
            head,
        );
        let line = |text: String| Paragraph::new(text).wrap(Wrap { trim: true });
        match &self.step {
            Step::Officer if self.officers.is_empty() => f.render_widget(
                line(
                    "Every officer approved this release: an officer added later reviews it."
                        .into(),
                ),
                body,
            ),
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
                f.render_widget(
                    List::new(items).block(
                        Block::default().title("Who reviews? (an officer who did not approve it)"),
                    ),
                    body,
                );
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
            Step::Class => {
                let items: Vec<ListItem<'_>> = CLASSES
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let it = ListItem::new(c.as_str());
                        if i == self.class {
                            it.style(theme.selected())
                        } else {
                            it
                        }
                    })
                    .collect();
                f.render_widget(
                    List::new(items).block(Block::default().title("What was it? (↑↓, Enter)")),
                    body,
                );
            }
            Step::Incident => {
                self.incident
                    .render(f, first_line(body), "Incident or ticket", theme)
            }
            Step::Note => self
                .note
                .render(f, first_line(body), "What happened", theme),
            Step::Confirm => f.render_widget(
                Paragraph::new(vec![
                    Line::from(Span::styled(
                        format!(
                            "Sign: entry {} was {}{}.",
                            s.release,
                            self.class().as_str(),
                            self.incident()
                                .map(|i| format!(" ({i})"))
                                .unwrap_or_default()
                        ),
                        theme.accent(),
                    )),
                    Line::from(format!("“{}”", self.note())),
                    Line::from("Enter/y signs the review (logged); Esc/n goes back."),
                ])
                .wrap(Wrap { trim: true }),
                body,
            ),
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
