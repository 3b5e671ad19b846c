//! Home: the vault at a glance. Secrets with remaining counts and warnings,
//! officers, ledger size and verification status, and what needs doing
//! after a release (rotations, reviews, drills, reorders). No secret value.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

use super::Action;
use super::theme::Theme;
use super::widgets::{list_move, plural, step};
use crate::vault::{SecretSummary, Status};

/// Home screen state.
#[derive(Default)]
pub struct Home {
    /// Secrets, refreshed after every action.
    pub secrets: Vec<SecretSummary>,
    selected: usize,
}

/// Due items the home screen lists before counting the rest.
const TODO_SHOWN: usize = 3;

/// Fewer codes than this left is a warning.
const FEW_LEFT: u32 = 3;

/// The warning for a secret, if any.
pub fn warning(s: &SecretSummary) -> Option<String> {
    if s.unconfirmed > 0 {
        Some(format!("{} released, unconfirmed", s.unconfirmed))
    } else if s.remaining == 0 {
        Some("none left".into())
    } else if s.kind == "codes" && s.remaining < FEW_LEFT {
        Some("few left".into())
    } else {
        None
    }
}

impl Home {
    /// The selected secret's name.
    pub fn selected(&self) -> Option<&str> {
        self.secrets.get(self.selected).map(|s| s.name.as_str())
    }

    /// Selects the secret called `name`, if listed.
    pub fn select(&mut self, name: &str) {
        if let Some(i) = self.secrets.iter().position(|s| s.name == name) {
            self.selected = i;
        }
    }

    /// The selected secret.
    pub fn selected_summary(&self) -> Option<&SecretSummary> {
        self.secrets.get(self.selected)
    }

    /// Replaces the list, keeping the selection in range.
    pub fn set_secrets(&mut self, secrets: Vec<SecretSummary>) {
        self.secrets = secrets;
        self.selected = self.selected.min(self.secrets.len().saturating_sub(1));
    }

    /// Maps a key to an action.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if let Some(delta) = list_move(&key) {
            self.selected = step(self.selected, self.secrets.len(), delta);
            return Action::None;
        }
        match key.code {
            KeyCode::Enter | KeyCode::Char('r') => {
                Action::OpenRelease(self.selected().map(str::to_owned))
            }
            KeyCode::Char('d') => Action::OpenDeposit,
            KeyCode::Char('v') => Action::OpenReview,
            KeyCode::Char('l') => Action::OpenLedger,
            KeyCode::Char('o') => Action::OpenOfficers,
            KeyCode::Char('q') | KeyCode::Esc => Action::Quit,
            _ => Action::None,
        }
    }

    /// Draws the screen.
    pub fn render(
        &self,
        f: &mut Frame<'_>,
        area: Rect,
        status: &Status,
        verified: &Line<'_>,
        theme: &Theme,
    ) {
        // What stops the vault, or should be fixed, is said on its own
        // lines: the ledger's tail lock, a lock from stored data that
        // disagrees with what officers signed (I15), a clock that
        // disagrees with the ledger (I16).
        let mut warnings: Vec<Line<'_>> = Vec::new();
        if let Some(p) = &status.ledger_problem {
            warnings.push(Line::from(Span::styled(
                format!("LOCKED: {p}; nothing is written until an auditor has verified the ledger"),
                theme.error(),
            )));
        }
        if let Some(p) = &status.locked {
            warnings.push(Line::from(Span::styled(
                format!("LOCKED: {p}; nothing is written. Restore the vault from a copy you trust"),
                theme.error(),
            )));
        }
        if let Some(w) = &status.clock_warning {
            warnings.push(Line::from(Span::styled(
                format!("CLOCK: {w}"),
                theme.warn(),
            )));
        }
        if let Some(w) = &status.alerts_warning {
            warnings.push(Line::from(Span::styled(
                format!("ALERTS: {w}"),
                theme.warn(),
            )));
        }
        if let Some(r) = status.gap {
            warnings.push(Line::from(Span::styled(
                format!("GAP: {}", crate::vault::gap_warning(r)),
                theme.error(),
            )));
        }
        // Online guessing: an officer's wait after wrong passphrases.
        for (name, secs) in &status.auth_delays {
            warnings.push(Line::from(Span::styled(
                format!(
                    "WAIT: {name} must wait {secs} s before authenticating again (wrong passphrases in a row, each logged)"
                ),
                theme.warn(),
            )));
        }
        // What needs doing (docs/OPERATIONS.md, "After a break-glass
        // release"), most pressing first, each with how to do it; the
        // rest is counted, and `status` lists it all.
        let mut todo: Vec<Line<'_>> = Vec::new();
        for d in status.due.iter().take(TODO_SHOWN) {
            let (tag, style) = if d.overdue {
                ("OVERDUE ", theme.error())
            } else {
                ("TO DO ", theme.warn())
            };
            todo.push(Line::from(vec![
                Span::styled(tag, style),
                Span::raw(d.words(status.now)),
            ]));
        }
        if status.due.len() > TODO_SHOWN {
            todo.push(Line::from(Span::styled(
                format!(
                    "…and {} more: breakglass status lists them",
                    status.due.len() - TODO_SHOWN
                ),
                theme.dim(),
            )));
        }
        // Each warning and to-do line as many rows as it wraps to, so a
        // long one (an alert hook's error) is never cut at its end.
        let rows_of = |l: &Line<'_>| {
            let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
            crate::tui::widgets::wrap(&text, area.width.max(1) as usize).len() as u16
        };
        let wrapped: u16 = warnings.iter().chain(todo.iter()).map(rows_of).sum();
        let head_height = (4 + wrapped).min(area.height.saturating_sub(3));
        let [head, table] =
            Layout::vertical([Constraint::Length(head_height), Constraint::Min(3)]).areas(area);
        let lines = vec![
            Line::from(vec![
                Span::styled("Vault ", theme.dim()),
                Span::raw(status.vault_id.clone()),
                Span::styled("   epoch ", theme.dim()),
                Span::raw(status.epoch.to_string()),
            ]),
            Line::from(vec![
                Span::styled("Quorum ", theme.dim()),
                Span::styled(
                    format!("{} of {}", status.threshold, status.officers.len()),
                    theme.accent(),
                ),
                Span::styled("   officers ", theme.dim()),
                Span::raw(status.officers.join(", ")),
            ]),
            // The size once, with the verification status after it.
            Line::from(
                [
                    Span::styled("Ledger ", theme.dim()),
                    Span::raw(plural(status.ledger_size as usize, "entry", "entries")),
                    Span::styled(
                        format!(
                            "  root {}…  ",
                            &status.ledger_root[..12.min(status.ledger_root.len())]
                        ),
                        theme.dim(),
                    ),
                ]
                .into_iter()
                .chain(verified.spans.iter().cloned())
                .collect::<Vec<_>>(),
            ),
        ];
        let mut lines = lines;
        lines.extend(warnings);
        lines.extend(todo);
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: true })
                .block(Block::default().borders(Borders::BOTTOM)),
            head,
        );
        if self.secrets.is_empty() {
            f.render_widget(
                Paragraph::new("No secrets yet. Press d to deposit backup codes or a credential.")
                    .block(Block::default().title(" Secrets ").borders(Borders::NONE)),
                table,
            );
            return;
        }
        let rows = self.secrets.iter().enumerate().map(|(i, s)| {
            let left = if s.kind == "credential" {
                if s.remaining > 0 {
                    "available".to_string()
                } else {
                    "released".to_string()
                }
            } else {
                format!("{} of {} left", s.remaining, s.total)
            };
            // A released credential waiting for its rotation says so (r on
            // its row rotates it), rather than "none left".
            let rotation = status.due.iter().find(|d| {
                d.what == crate::lifecycle::What::Rotation && d.secret.as_deref() == Some(&s.name)
            });
            let (note, style) = match (rotation, warning(s)) {
                (Some(d), _) if d.overdue => ("ROTATION OVERDUE: r".to_string(), theme.error()),
                (Some(_), _) => ("rotate it: r".to_string(), theme.warn()),
                (None, Some(w)) if w.starts_with("few") => (w, theme.warn()),
                (None, Some(w)) => (w, theme.error()),
                (None, None) => (String::new(), theme.dim()),
            };
            let needs = s
                .min_approvals
                .map(|k| format!("needs {k}"))
                .unwrap_or_default();
            let row = Row::new(vec![
                Cell::from(s.name.clone()),
                Cell::from(s.kind),
                Cell::from(left),
                Cell::from(needs),
                Cell::from(Span::styled(note, style)),
            ]);
            if i == self.selected {
                row.style(theme.selected())
            } else {
                row
            }
        });
        // At 80 columns: 18 + 10 + 13 + 8 + 24 and 4 gaps leave the
        // longest note ("12 released, unconfirmed") whole. A wider terminal
        // gives the names what they need and the rest to the notes, so a
        // note stays beside its row rather than drifting to column 100.
        let fixed = 10 + 13 + 8 + 24 + 4;
        let longest = self
            .secrets
            .iter()
            .map(|s| super::widgets::width(&s.name))
            .max()
            .unwrap_or(0);
        let room = (table.width as usize).saturating_sub(fixed).max(18);
        let name_width = longest.clamp(18, room) as u16;
        let t = Table::new(
            rows,
            [
                Constraint::Length(name_width),
                Constraint::Length(10),
                Constraint::Length(13),
                Constraint::Length(8),
                Constraint::Fill(1),
            ],
        )
        .header(Row::new(vec!["SECRET", "KIND", "REMAINING", "QUORUM", "NOTE"]).style(theme.dim()))
        .block(Block::default().title(Span::styled(" Secrets ", theme.accent())));
        f.render_widget(t, table);
    }
}
