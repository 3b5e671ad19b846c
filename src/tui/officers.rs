//! Officers: the current set with each officer's latest drill and any new
//! share waiting for them, and the keys that start a ceremony (add,
//! remove, threshold, rekey). Nothing here is secret: it is read from the
//! status and the ledger.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

use super::Action;
use super::release::{ATTEMPTS, Attempts};
use super::theme::Theme;
use super::widgets::{InputEvent, TextInput, plural, step};
use crate::clock::rfc3339;
use crate::vault::{CeremonyKind, CeremonyPlan, OfficerOverview, Status};

/// The note beside an officer whose new share waits for them.
pub const SHARE_WAITING: &str = "new share waiting (drill to take it)";
/// The note of an officer whose end-to-end drill is overdue.
pub const DRILL_OVERDUE: &str = "end-to-end drill OVERDUE (90 days)";

/// What the screen is asking for.
enum Prompt {
    /// The name of the officer who joins.
    Name(TextInput),
    /// The new threshold.
    Threshold(TextInput),
    /// The officer who drills types their passphrase (hidden).
    Drill(String, TextInput),
    /// Argon2 runs for the officer who drills.
    Drilling(String),
}

/// Officers screen state.
pub struct Officers {
    rows: Vec<OfficerOverview>,
    threshold: u8,
    epoch: u32,
    selected: usize,
    prompt: Option<Prompt>,
    /// A problem with what was typed, shown until the next key.
    pub error: Option<String>,
    /// Wrong passphrases typed in drills on this screen, per officer.
    wrong: Attempts,
}

impl Officers {
    /// Empties what is being typed hidden (a passphrase, a code's partial
    /// line) when the screen cannot be seen: true if anything was there.
    pub fn drop_hidden_input(&mut self) -> bool {
        match &mut self.prompt {
            Some(Prompt::Drill(_, input)) => {
                let had = !input.text().is_empty();
                input.clear();
                had
            }
            _ => false,
        }
    }
    /// The screen for the officers in `rows`, under `status`.
    pub fn new(rows: Vec<OfficerOverview>, status: &Status) -> Self {
        Officers {
            rows,
            threshold: status.threshold,
            epoch: status.epoch,
            selected: 0,
            prompt: None,
            error: None,
            wrong: Attempts::default(),
        }
    }

    /// Whether a prompt takes the keys (so `?` is typed, not help).
    pub fn is_editing(&self) -> bool {
        self.prompt.is_some()
    }

    /// Whether a drill's Argon2 is running (keys wait).
    pub fn is_drilling(&self) -> bool {
        matches!(self.prompt, Some(Prompt::Drilling(_)))
    }

    /// Selects the officer called `name`, if listed.
    pub fn select(&mut self, name: &str) {
        if let Some(i) = self.rows.iter().position(|r| r.name == name) {
            self.selected = i;
        }
    }

    /// A drill's passphrase was wrong: counts it, and asks again unless
    /// the officer has used every attempt on this screen. Returns the
    /// message to show.
    pub fn drill_failed(&mut self, officer: &str) -> String {
        self.wrong.add(officer);
        let n = self.wrong.count(officer);
        if n < ATTEMPTS {
            self.prompt = Some(Prompt::Drill(officer.to_string(), TextInput::hidden(1024)));
            format!(
                "Wrong passphrase for {officer} (attempt {n} of {ATTEMPTS}, logged). Try again, or Esc."
            )
        } else {
            self.prompt = None;
            format!(
                "Wrong passphrase for {officer} {ATTEMPTS} times (logged). The drill failed: \
                 find out why before {officer} is needed in an emergency."
            )
        }
    }

    /// A drill ended other than with a wrong passphrase.
    pub fn drill_done(&mut self) {
        self.prompt = None;
    }

    /// The selected officer's name.
    pub fn selected(&self) -> Option<&str> {
        self.rows.get(self.selected).map(|r| r.name.as_str())
    }

    /// Pasted text goes to the open prompt.
    pub fn paste(&mut self, text: &str) {
        match &mut self.prompt {
            Some(Prompt::Name(i)) | Some(Prompt::Threshold(i)) | Some(Prompt::Drill(_, i)) => {
                i.paste(text)
            }
            Some(Prompt::Drilling(_)) | None => {}
        }
    }

    /// Maps a key to an action.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        self.error = None;
        if let Some(p) = &mut self.prompt {
            let (input, is_name) = match p {
                Prompt::Name(i) => (i, true),
                Prompt::Threshold(i) => (i, false),
                Prompt::Drill(officer, i) => {
                    return match i.on_key(key) {
                        InputEvent::Edited => Action::None,
                        InputEvent::Cancel => {
                            self.prompt = None;
                            Action::None
                        }
                        InputEvent::Submit => {
                            let officer = officer.clone();
                            let action = i.unlock(officer.clone());
                            self.prompt = Some(Prompt::Drilling(officer));
                            action
                        }
                    };
                }
                // Keys wait while Argon2 runs.
                Prompt::Drilling(_) => return Action::None,
            };
            return match input.on_key(key) {
                InputEvent::Edited => Action::None,
                InputEvent::Cancel => {
                    self.prompt = None;
                    Action::None
                }
                InputEvent::Submit if is_name => {
                    let name = input.text().trim().to_string();
                    if name.is_empty() {
                        self.error = Some("Type the new officer's name, or Esc.".into());
                        return Action::None;
                    }
                    self.prompt = None;
                    Action::BeginCeremony(CeremonyPlan {
                        kind: CeremonyKind::OfficerAdd,
                        add: vec![name],
                        remove: Vec::new(),
                        threshold: None,
                    })
                }
                InputEvent::Submit => match input.text().trim().parse::<usize>() {
                    Ok(m) => {
                        self.prompt = None;
                        Action::BeginCeremony(CeremonyPlan {
                            kind: CeremonyKind::Rekey,
                            add: Vec::new(),
                            remove: Vec::new(),
                            threshold: Some(m),
                        })
                    }
                    Err(_) => {
                        self.error = Some(format!(
                            "Type a number of officers, from 2 to {}, or Esc.",
                            self.rows.len()
                        ));
                        Action::None
                    }
                },
            };
        }
        // Arrows only: `k` is rekey here, not the list's "up".
        let delta = match key.code {
            KeyCode::Up => Some(-1),
            KeyCode::Down => Some(1),
            _ => None,
        };
        if let Some(delta) = delta {
            self.selected = step(self.selected, self.rows.len(), delta);
            return Action::None;
        }
        match key.code {
            KeyCode::Char('a') => {
                self.prompt = Some(Prompt::Name(TextInput::visible(32)));
                Action::None
            }
            KeyCode::Char('t') => {
                self.prompt = Some(Prompt::Threshold(TextInput::visible(3)));
                Action::None
            }
            KeyCode::Char('x') => match self.selected() {
                Some(name) => Action::BeginCeremony(CeremonyPlan {
                    kind: CeremonyKind::OfficerRemove,
                    add: Vec::new(),
                    remove: vec![name.to_string()],
                    threshold: None,
                }),
                None => Action::None,
            },
            KeyCode::Char('d') => {
                match self.selected() {
                    Some(o) if self.wrong.count(o) >= ATTEMPTS => {
                        self.error = Some(format!(
                            "{o} has used every attempt on this screen; drill again later."
                        ));
                    }
                    Some(o) => {
                        self.prompt = Some(Prompt::Drill(o.to_string(), TextInput::hidden(1024)));
                    }
                    None => {}
                }
                Action::None
            }
            // An end-to-end drill: a whole release of a canary, begun by
            // the selected officer.
            KeyCode::Char('e') => Action::OpenDrill(self.selected().map(str::to_owned)),
            KeyCode::Char('k') => Action::BeginCeremony(CeremonyPlan {
                kind: CeremonyKind::Rekey,
                add: Vec::new(),
                remove: Vec::new(),
                threshold: None,
            }),
            KeyCode::Esc | KeyCode::Char('q') => Action::Back,
            _ => Action::None,
        }
    }

    /// Draws the screen. `now` (Unix seconds) dates the drills; `spinner`
    /// turns while a drill's Argon2 runs.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, now: i64, spinner: &str, theme: &Theme) {
        let [head, table, foot] = Layout::vertical([
            Constraint::Length(5),
            Constraint::Min(4),
            Constraint::Length(3),
        ])
        .areas(area);
        let waiting = self.rows.iter().filter(|r| r.share_waiting).count();
        let mut lines = vec![
            Line::from(vec![
                Span::styled("Quorum ", theme.dim()),
                Span::styled(
                    format!("{} of {}", self.threshold, self.rows.len()),
                    theme.accent(),
                ),
                Span::styled(format!("   Epoch {}", self.epoch), theme.dim()),
            ]),
            Line::from("Drill quarterly and after each ceremony: d drills the selected officer.")
                .style(theme.dim()),
            Line::from(
                "Every 90 days each also drills end to end (e): a whole release of a canary.",
            )
            .style(theme.dim()),
        ];
        if waiting > 0 {
            lines.push(Line::from(Span::styled(
                if waiting == 1 {
                    "1 officer has a new share waiting: a drill (d) takes it.".to_string()
                } else {
                    format!("{waiting} officers have a new share waiting: a drill (d) takes it.")
                },
                theme.warn(),
            )));
        }
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: true })
                .block(Block::default().borders(Borders::BOTTOM)),
            head,
        );
        let rows = self.rows.iter().enumerate().map(|(i, o)| {
            let drill = match o.last_drill {
                Some(t) => Cell::from(drill_text(t, now)),
                None => Cell::from(Span::styled("never", theme.warn())),
            };
            let note = if o.share_waiting {
                Cell::from(Span::styled(SHARE_WAITING, theme.warn()))
            } else if o.drill_overdue {
                Cell::from(Span::styled(DRILL_OVERDUE, theme.error()))
            } else {
                Cell::from("")
            };
            let row = Row::new(vec![Cell::from(o.name.clone()), drill, note]);
            if i == self.selected {
                row.style(theme.selected())
            } else {
                row
            }
        });
        // At 80 columns: 12 + 28 + 36 and 2 gaps leave the note whole.
        let t = Table::new(
            rows,
            [
                Constraint::Min(10),
                Constraint::Length(28),
                Constraint::Length(SHARE_WAITING.len() as u16),
            ],
        )
        .header(Row::new(vec!["OFFICER", "LAST DRILL (UTC)", "NOTE"]).style(theme.dim()))
        .block(Block::default().title(Span::styled(" Officers ", theme.accent())));
        f.render_widget(t, table);

        let mut lines = Vec::new();
        if let Some(e) = &self.error {
            lines.push(Line::from(Span::styled(e.clone(), theme.error())));
        }
        match &self.prompt {
            Some(Prompt::Drilling(o)) => {
                lines.push(Line::from(Span::styled(
                    format!("{spinner} Unlocking {o}'s share (Argon2id)…"),
                    theme.warn(),
                )));
                f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), foot);
            }
            Some(Prompt::Drill(o, i)) => {
                let [hint, input] =
                    Layout::vertical([Constraint::Length(2), Constraint::Length(1)]).areas(foot);
                if lines.is_empty() {
                    lines.push(Line::from(Span::styled(
                        format!("{o} proves their passphrase still opens their share; nothing is released."),
                        theme.dim(),
                    )));
                }
                f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), hint);
                let n = self.wrong.count(o);
                let label = if n == 0 {
                    format!("Passphrase for {o} (hidden)")
                } else {
                    format!(
                        "Passphrase for {o} (hidden, attempt {} of {ATTEMPTS})",
                        n + 1
                    )
                };
                i.render(f, input, &label, theme);
            }
            Some(p) => {
                let [hint, input] =
                    Layout::vertical([Constraint::Length(2), Constraint::Length(1)]).areas(foot);
                let (label, input_w, text) = match p {
                    Prompt::Drill(..) | Prompt::Drilling(_) => return,
                    Prompt::Name(i) => (
                        "New officer's name",
                        i,
                        "Lower-case letters, digits, '.', '_' or '-'; a name the vault has never used.",
                    ),
                    Prompt::Threshold(i) => (
                        "New threshold",
                        i,
                        "How many officers must approve a release (2 up to the number of officers).",
                    ),
                };
                if lines.is_empty() {
                    lines.push(Line::from(Span::styled(text, theme.dim())));
                }
                f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), hint);
                input_w.render(f, input, label, theme);
            }
            None => {
                lines.push(Line::from(Span::styled(
                    format!(
                        "Each ceremony needs {} of the current officers: a add an officer, \
                         x remove the selected one, t change the threshold, k new keys only.",
                        plural(self.threshold as usize, "approval", "approvals")
                    ),
                    theme.dim(),
                )));
                f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), foot);
            }
        }
    }
}

/// `2027-01-15 08:00, 3 days ago`: a drill's time for the table.
pub fn drill_text(t: i64, now: i64) -> String {
    let stamp = rfc3339(t);
    let short = format!(
        "{} {}",
        stamp.get(..10).unwrap_or(&stamp),
        stamp.get(11..16).unwrap_or("")
    );
    let secs = (now - t).max(0);
    let ago = match (secs / 3600, secs / 86_400) {
        (0, _) => "just now".to_string(),
        (h, 0) => format!("{h} h ago"),
        (_, 1) => "1 day ago".to_string(),
        (_, d) => format!("{d} days ago"),
    };
    format!("{short}, {ago}")
}

#[cfg(test)]
mod tests {
    use super::drill_text;

    #[test]
    fn a_drill_time_reads_as_a_date_and_how_long_ago() {
        let t = 1_800_000_000; // 2027-01-15T08:00:00Z
        for (later, want) in [
            (0, "2027-01-15 08:00, just now"),
            (59 * 60, "2027-01-15 08:00, just now"),
            (5 * 3600, "2027-01-15 08:00, 5 h ago"),
            (86_400, "2027-01-15 08:00, 1 day ago"),
            (120 * 86_400, "2027-01-15 08:00, 120 days ago"),
            (-60, "2027-01-15 08:00, just now"),
        ] {
            assert_eq!(drill_text(t, t + later), want, "{later} s later");
        }
    }
}
