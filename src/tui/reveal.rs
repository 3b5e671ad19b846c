//! The reveal screen: one released item, large and grouped for reading
//! aloud, with a countdown.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::records::SecretKind;
use crate::vault::{Displayed, Released};

/// The reveal screen's state. Holds a borrowed item; renders it, nothing
/// else keeps it.
pub struct RevealScreen<'a> {
    released: &'a Released,
    timeout_secs: u64,
}

/// Groups a code in fours for reading aloud: `4F2K-9QX7` → `4F2K 9QX7`.
/// Separators in the code are dropped from the grouped form only.
pub fn grouped(code: &str) -> String {
    let chars: Vec<char> = code.chars().filter(|c| c.is_alphanumeric()).collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

impl<'a> RevealScreen<'a> {
    /// A reveal of `released` that clears after `timeout_secs`.
    pub fn new(released: &'a Released, timeout_secs: u64) -> Self {
        RevealScreen {
            released,
            timeout_secs,
        }
    }

    /// Draws the screen `elapsed_secs` after it opened.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, elapsed_secs: u64) {
        let r = self.released;
        let left = self.timeout_secs.saturating_sub(elapsed_secs);
        let title = format!(
            " {} — {} #{} ",
            r.secret,
            match r.kind {
                SecretKind::Codes => "code",
                SecretKind::Credential => "credential",
            },
            r.index + 1
        );
        let block = Block::default().borders(Borders::ALL).title(title);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let [_, body, _, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(3),
        ])
        .areas(inner);
        let value = r.value.expose_secret();
        let mut lines = Vec::new();
        let bold = Style::default().add_modifier(Modifier::BOLD);
        match r.kind {
            SecretKind::Codes => {
                let group = grouped(value);
                if let Some(rows) = super::bigtext::render(&group, body.width as usize) {
                    for r in rows {
                        lines.push(Line::from(Span::styled(r, bold)).alignment(Alignment::Center));
                    }
                    lines.push(Line::from(""));
                }
                lines.push(Line::from(Span::styled(group, bold)).alignment(Alignment::Center));
                lines.push(Line::from(""));
                lines.push(Line::from(format!("exactly: {value}")).alignment(Alignment::Center));
            }
            SecretKind::Credential => {
                for l in value.lines() {
                    lines.push(Line::from(Span::styled(l.to_string(), bold)));
                }
            }
        }
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
        let again = r
            .re_release_of
            .map(|s| format!(" (re-release of ledger entry {s})"))
            .unwrap_or_default();
        let help = vec![
            Line::from(format!(
                "Released by {} — ledger entry {}{again}. Shown once.",
                r.officers.join(", "),
                r.seq
            )),
            Line::from(format!(
                "Enter: seen, clear it   Esc: clear without confirming   clears in {left} s"
            )),
        ];
        f.render_widget(Paragraph::new(help).alignment(Alignment::Center), footer);
    }

    /// Maps a key to how the display ends, if it does.
    pub fn on_key(&self, key: KeyEvent) -> Option<Displayed> {
        match key.code {
            KeyCode::Enter => Some(Displayed::Confirmed),
            KeyCode::Esc => Some(Displayed::Dismissed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_for_reading_aloud() {
        assert_eq!(grouped("4F2K-9QX7"), "4F2K 9QX7");
        assert_eq!(grouped("abcdefghij"), "abcd efgh ij");
        assert_eq!(grouped(""), "");
    }
}
