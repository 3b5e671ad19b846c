//! Ledger: the auditor's view. A scrollable table of entries, a detail pane
//! with the whole entry and its approvals, filters by kind, secret and
//! officer, the verification status, and export.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};
use serde_json::{Map, Value};

use super::Action;
use super::theme::Theme;
use super::widgets::{InputEvent, TextInput, step};
use crate::error::Result;
use crate::ledger;
use crate::store::Store;

/// One table row (the entry itself is read when selected).
#[derive(Debug, Clone)]
pub struct LedgerRow {
    /// Sequence number.
    pub seq: u64,
    /// Time.
    pub time: String,
    /// Kind.
    pub kind: String,
    /// Actor.
    pub actor: String,
    /// Secret, if the entry names one.
    pub secret: String,
    /// The reason typed for a release, if the entry holds one.
    pub reason: String,
}

const KINDS: [&str; 11] = [
    "",
    "genesis",
    "deposit",
    "release",
    "displayed",
    "refused",
    "auth_failed",
    "expired",
    "cancelled",
    "drill",
    "passphrase",
];

/// Which filter is being typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Editing {
    Secret,
    Officer,
    Export,
}

/// Ledger screen state.
pub struct LedgerView {
    store: Store,
    rows: Vec<LedgerRow>,
    kind_filter: usize,
    secret_filter: String,
    officer_filter: String,
    selected: usize,
    detail_scroll: u16,
    editing: Option<(Editing, TextInput)>,
    export_default: String,
}

impl LedgerView {
    /// Reads every entry's summary. `export_default` is the directory the
    /// export prompt offers.
    pub fn new(store: Store, export_default: String) -> Result<Self> {
        let mut rows = Vec::new();
        for e in ledger::entries_from(&store, 0) {
            let (seq, bytes) = e?;
            let m = ledger::parse_entry(&bytes)?;
            let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            rows.push(LedgerRow {
                seq,
                time: s("time"),
                kind: s("kind"),
                actor: s("actor"),
                secret: s("secret"),
                reason: s("reason"),
            });
        }
        let selected = rows.len().saturating_sub(1);
        Ok(LedgerView {
            store,
            rows,
            kind_filter: 0,
            secret_filter: String::new(),
            officer_filter: String::new(),
            selected,
            detail_scroll: 0,
            editing: None,
            export_default,
        })
    }

    /// Rows passing the filters.
    pub fn visible(&self) -> Vec<&LedgerRow> {
        let kind = KINDS[self.kind_filter];
        self.rows
            .iter()
            .filter(|r| kind.is_empty() || r.kind == kind)
            .filter(|r| r.secret.contains(&self.secret_filter))
            .filter(|r| {
                self.officer_filter.is_empty()
                    || r.actor.split('+').any(|a| a == self.officer_filter)
            })
            .collect()
    }

    /// Whether a filter or the export path is being typed.
    pub fn is_editing(&self) -> bool {
        self.editing.is_some()
    }

    /// Pasted text goes to the field being typed.
    pub fn paste(&mut self, text: &str) {
        if let Some((_, input)) = &mut self.editing {
            input.paste(text);
        }
    }

    /// Maps a key to an action.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if let Some((what, input)) = &mut self.editing {
            let what = *what;
            match input.on_key(key) {
                InputEvent::Submit => {
                    let text = input.text().trim().to_string();
                    self.editing = None;
                    match what {
                        Editing::Secret => self.secret_filter = text,
                        Editing::Officer => self.officer_filter = text,
                        Editing::Export if !text.is_empty() => return Action::Export(text.into()),
                        Editing::Export => {}
                    }
                    self.selected = self.visible().len().saturating_sub(1);
                }
                InputEvent::Cancel => self.editing = None,
                InputEvent::Edited => {}
            }
            return Action::None;
        }
        let n = self.visible().len();
        if !matches!(key.code, KeyCode::Char('J') | KeyCode::Char('K')) {
            self.detail_scroll = 0;
        }
        match key.code {
            KeyCode::Char('J') => self.detail_scroll = self.detail_scroll.saturating_add(3),
            KeyCode::Char('K') => self.detail_scroll = self.detail_scroll.saturating_sub(3),
            KeyCode::Up | KeyCode::Char('k') => self.selected = step(self.selected, n, -1),
            KeyCode::Down | KeyCode::Char('j') => self.selected = step(self.selected, n, 1),
            KeyCode::PageUp => self.selected = step(self.selected, n, -10),
            KeyCode::PageDown => self.selected = step(self.selected, n, 10),
            KeyCode::Home | KeyCode::Char('g') => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.selected = n.saturating_sub(1),
            KeyCode::Char('f') => {
                self.kind_filter = (self.kind_filter + 1) % KINDS.len();
                self.selected = self.visible().len().saturating_sub(1);
            }
            KeyCode::Char('s') => self.editing = Some((Editing::Secret, TextInput::visible(64))),
            KeyCode::Char('o') => self.editing = Some((Editing::Officer, TextInput::visible(32))),
            KeyCode::Char('c') => {
                self.kind_filter = 0;
                self.secret_filter.clear();
                self.officer_filter.clear();
                self.selected = self.rows.len().saturating_sub(1);
            }
            KeyCode::Char('e') => {
                let input = TextInput::offering(4096, &self.export_default);
                self.editing = Some((Editing::Export, input));
            }
            KeyCode::Char('v') => return Action::Verify,
            KeyCode::Esc | KeyCode::Char('q') => return Action::Back,
            _ => {}
        }
        Action::None
    }

    fn detail(&self, seq: u64, theme: &Theme) -> Vec<Line<'static>> {
        let Ok(Some(bytes)) = ledger::entry(&self.store, seq) else {
            return vec![Line::from("entry unreadable")];
        };
        let Ok(m) = ledger::parse_entry(&bytes) else {
            return vec![Line::from("entry is not canonical JSON")];
        };
        let mut out = vec![Line::from(Span::styled(
            ledger::summary_line(seq, &m).trim().to_string(),
            theme.accent(),
        ))];
        // Approvals first, one line each: who signed, until when, for which
        // request.
        if let Some(list) = m.get("approvals").and_then(Value::as_array) {
            for a in list {
                let st = &a["statement"];
                let nonce: String = st["nonce"]
                    .as_str()
                    .unwrap_or("?")
                    .chars()
                    .take(8)
                    .collect();
                out.push(Line::from(vec![
                    Span::styled("  signed by ", theme.dim()),
                    Span::raw(a["officer"].as_str().unwrap_or("?").to_string()),
                    Span::styled("  expires ", theme.dim()),
                    Span::raw(st["expires"].as_str().unwrap_or("?").to_string()),
                    Span::styled("  nonce ", theme.dim()),
                    Span::raw(format!("{nonce}…")),
                ]));
            }
        }
        out.push(Line::from(""));
        field_lines(&m, "", theme, &mut out);
        out
    }

    /// Draws the screen; `verified` is the whole-ledger status line.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, verified: &Line<'_>, theme: &Theme) {
        let [status, filters, main] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(5),
        ])
        .areas(area);
        f.render_widget(
            Paragraph::new(Line::from(
                std::iter::once(Span::styled("Ledger ", theme.dim()))
                    .chain(verified.spans.iter().cloned())
                    .collect::<Vec<_>>(),
            )),
            status,
        );
        let kind = if KINDS[self.kind_filter].is_empty() {
            "all"
        } else {
            KINDS[self.kind_filter]
        };
        let visible = self.visible();
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("kind ", theme.dim()),
                Span::raw(kind.to_string()),
                Span::styled("  secret ", theme.dim()),
                Span::raw(if self.secret_filter.is_empty() {
                    "*".into()
                } else {
                    self.secret_filter.clone()
                }),
                Span::styled("  officer ", theme.dim()),
                Span::raw(if self.officer_filter.is_empty() {
                    "*".into()
                } else {
                    self.officer_filter.clone()
                }),
                Span::styled(
                    format!("  {} of {} entries", visible.len(), self.rows.len()),
                    theme.dim(),
                ),
            ])),
            filters,
        );
        let [table_area, detail_area] = if main.width >= 120 {
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(main)
        } else {
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(main)
        };
        // Narrow tables drop the year and shorten long cells with "…"
        // (the entry pane below shows everything whole).
        let wide = table_area.width >= 100;
        let widths: [u16; 5] = if wide {
            [6, 19, 11, 16, 20]
        } else {
            [5, 14, 11, 12, 14]
        };
        let reason_w = table_area
            .width
            .saturating_sub(widths.iter().sum::<u16>() + 5)
            .max(6) as usize;
        let rows = visible.iter().map(|r| {
            let time = r.time.replace('T', " ");
            let time = time.trim_end_matches('Z');
            let time = if wide {
                time
            } else {
                time.get(5..).unwrap_or(time)
            };
            Row::new(vec![
                Cell::from(r.seq.to_string()),
                Cell::from(time.to_string()),
                Cell::from(r.kind.clone()),
                Cell::from(ellipsis(&r.actor, widths[3] as usize)),
                Cell::from(ellipsis(&r.secret, widths[4] as usize)),
                Cell::from(ellipsis(&r.reason, reason_w)),
            ])
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(widths[0]),
                Constraint::Length(widths[1]),
                Constraint::Length(widths[2]),
                Constraint::Length(widths[3]),
                Constraint::Length(widths[4]),
                Constraint::Min(6),
            ],
        )
        .header(
            Row::new(vec![
                "SEQ",
                "TIME (UTC)",
                "KIND",
                "ACTOR",
                "SECRET",
                "REASON",
            ])
            .style(theme.dim()),
        )
        .row_highlight_style(theme.selected())
        .block(
            Block::default()
                .borders(Borders::TOP)
                .title(Span::styled(" Entries ", theme.accent())),
        );
        let mut state = TableState::default().with_selected(
            (!visible.is_empty()).then_some(self.selected.min(visible.len().saturating_sub(1))),
        );
        if visible.is_empty() && !self.rows.is_empty() {
            f.render_widget(
                Paragraph::new(vec![
                    Line::from(""),
                    Line::from(Span::styled(
                        "No entries match these filters.",
                        theme.warn(),
                    )),
                    Line::from(Span::styled("Press c to clear them.", theme.dim())),
                ])
                .block(
                    Block::default()
                        .borders(Borders::TOP)
                        .title(Span::styled(" Entries ", theme.accent())),
                ),
                table_area,
            );
        } else {
            f.render_stateful_widget(table, table_area, &mut state);
        }
        let detail = visible
            .get(self.selected.min(visible.len().saturating_sub(1)))
            .map(|r| self.detail(r.seq, theme))
            .unwrap_or_default();
        f.render_widget(
            Paragraph::new(detail)
                .wrap(Wrap { trim: false })
                .scroll((self.detail_scroll, 0))
                .block(
                    Block::default()
                        .borders(Borders::TOP)
                        .title(Span::styled(" Entry (J/K scroll) ", theme.accent())),
                ),
            detail_area,
        );
    }

    /// Draws the field being typed (a filter or the export directory) with
    /// its keys, in place of the key bar; false when nothing is typed.
    pub fn render_prompt(&self, f: &mut Frame<'_>, area: Rect, theme: &Theme) -> bool {
        let Some((what, input)) = &self.editing else {
            return false;
        };
        let (label, enter) = match what {
            Editing::Secret => ("Secret contains", "filter"),
            Editing::Officer => ("Officer", "filter"),
            Editing::Export => ("Export to", "export"),
        };
        let keys = format!("  Enter {enter} · Esc cancel");
        let [field, hint] = Layout::horizontal([
            Constraint::Min(10),
            Constraint::Length(super::widgets::width(&keys) as u16),
        ])
        .areas(area);
        input.render(f, field, label, theme);
        f.render_widget(Paragraph::new(Span::styled(keys, theme.dim())), hint);
        true
    }
}

/// `s` cut to `max` columns, ending in "…" when it was longer.
fn ellipsis(s: &str, max: usize) -> String {
    if super::widgets::width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        if super::widgets::width(&out) + 2 > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// Entry fields as `key: value` lines; statements indented; signatures
/// shortened (the verification status says whether they verify).
fn field_lines(m: &Map<String, Value>, indent: &str, theme: &Theme, out: &mut Vec<Line<'static>>) {
    for (k, v) in m {
        match v {
            Value::String(s) if s.starts_with("-----BEGIN PGP") => {
                // "-----BEGIN PGP SIGNATURE-----" → "OpenPGP signature".
                let what = s
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_matches('-')
                    .trim_start_matches("BEGIN PGP ")
                    .to_lowercase();
                out.push(Line::from(vec![
                    Span::styled(format!("{indent}{k}: "), theme.dim()),
                    Span::raw(format!("[OpenPGP {what}]")),
                ]));
            }
            Value::Object(o) => {
                out.push(Line::from(Span::styled(
                    format!("{indent}{k}:"),
                    theme.dim(),
                )));
                field_lines(o, &format!("{indent}  "), theme, out);
            }
            Value::Array(a) if a.iter().all(Value::is_object) && !a.is_empty() => {
                out.push(Line::from(Span::styled(
                    format!("{indent}{k}:"),
                    theme.dim(),
                )));
                for (i, item) in a.iter().enumerate() {
                    out.push(Line::from(Span::styled(
                        format!("{indent}  [{i}]"),
                        theme.accent(),
                    )));
                    if let Value::Object(o) = item {
                        field_lines(o, &format!("{indent}    "), theme, out);
                    }
                }
            }
            Value::String(s) => out.push(Line::from(vec![
                Span::styled(format!("{indent}{k}: "), theme.dim()),
                Span::raw(s.clone()),
            ])),
            other => out.push(Line::from(vec![
                Span::styled(format!("{indent}{k}: "), theme.dim()),
                Span::raw(other.to_string()),
            ])),
        }
    }
}
