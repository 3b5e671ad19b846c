//! Ledger: the auditor's view. A scrollable table of entries, a detail pane
//! with the whole entry and its approvals, filters by kind, secret and
//! officer, the verification status, and export.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;

use super::Action;
use super::theme::Theme;
use super::widgets::{InputEvent, TextInput, centered, step, wrap};
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

/// The kind picker (`f`): every kind the ledger holds, with its count,
/// "all" first. Up/Down or a kind's first letter choose, Enter shows it.
struct KindPicker {
    /// `(kind, entries)`, "all" (the whole ledger) first, then by name.
    kinds: Vec<(String, u64)>,
    selected: usize,
}

impl KindPicker {
    /// Picks the next kind after the selection starting with `c`.
    fn jump(&mut self, c: char) {
        let n = self.kinds.len();
        if let Some(i) = (1..=n)
            .map(|d| (self.selected + d) % n)
            .find(|&i| self.kinds[i].0.starts_with(c))
        {
            self.selected = i;
        }
    }
}

/// Which filter is being typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Editing {
    Secret,
    Officer,
    Export,
}

/// Rows kept in memory at most; the view reads what it shows, so a
/// million-entry ledger costs no more than a small one.
const ROW_CACHE: usize = 4096;

/// Ledger screen state. Entries are read lazily: a frame reads only the
/// rows it draws (and keeps a bounded cache), so opening and scrolling do
/// not depend on the ledger's size. A filter scans the ledger once, keeping
/// only the matching sequence numbers.
pub struct LedgerView {
    store: Store,
    /// The number of entries when the view opened.
    total: u64,
    /// The entries passing the filters, when one is set.
    matches: Option<Vec<u64>>,
    /// The kind shown; `None` for all.
    kind_filter: Option<String>,
    /// Open while a kind is being picked.
    picker: Option<KindPicker>,
    /// The kinds and their counts, counted once, when first picked.
    kind_counts: Option<Vec<(String, u64)>>,
    secret_filter: String,
    officer_filter: String,
    selected: usize,
    /// The first row drawn, kept between frames so scrolling is smooth.
    offset: std::cell::Cell<usize>,
    rows: RefCell<HashMap<u64, LedgerRow>>,
    /// The selected entry's detail lines.
    detail: RefCell<Option<(u64, Vec<Line<'static>>)>>,
    /// What became of each release (display, review, rotation), by its
    /// entry, as the ledger's later entries say.
    links: HashMap<u64, String>,
    detail_scroll: u16,
    editing: Option<(Editing, TextInput)>,
    export_default: String,
    /// The export's whole directory, asked about before anything is
    /// written.
    confirm_export: Option<std::path::PathBuf>,
}

/// The table row of one stored entry.
fn row_of(seq: u64, bytes: &[u8]) -> Result<LedgerRow> {
    let m = ledger::parse_entry(bytes)?;
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Ok(LedgerRow {
        seq,
        time: s("time"),
        kind: s("kind"),
        actor: s("actor"),
        secret: s("secret"),
        // A display's row says how it ended, where others give a reason.
        reason: if m.get("kind").and_then(Value::as_str) == Some("displayed") {
            s("outcome")
        } else {
            s("reason")
        },
    })
}

impl LedgerView {
    /// Opens the view on the last entry, reading nothing but the ledger's
    /// size. `export_default` is the directory the export prompt offers.
    pub fn new(store: Store, export_default: String) -> Result<Self> {
        let total = ledger::size(&store)?;
        Ok(LedgerView {
            store,
            total,
            matches: None,
            kind_filter: None,
            picker: None,
            kind_counts: None,
            secret_filter: String::new(),
            officer_filter: String::new(),
            selected: (total as usize).saturating_sub(1),
            offset: std::cell::Cell::new(0),
            rows: RefCell::new(HashMap::new()),
            detail: RefCell::new(None),
            links: HashMap::new(),
            detail_scroll: 0,
            editing: None,
            export_default,
            confirm_export: None,
        })
    }

    /// What became of each release, shown in its detail.
    pub fn with_links(mut self, links: HashMap<u64, String>) -> Self {
        self.links = links;
        self
    }

    /// How many entries pass the filters.
    pub fn len(&self) -> usize {
        match &self.matches {
            Some(m) => m.len(),
            None => self.total as usize,
        }
    }

    /// Whether no entry passes the filters.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sequence number of the `i`-th entry passing the filters.
    fn seq_at(&self, i: usize) -> Option<u64> {
        match &self.matches {
            Some(m) => m.get(i).copied(),
            None => (i < self.total as usize).then_some(i as u64),
        }
    }

    /// The rows `from..from + count` of those passing the filters, read
    /// from the cache or the store (consecutive entries in one range read).
    fn window(&self, from: usize, count: usize) -> Vec<LedgerRow> {
        let seqs: Vec<u64> = (from..from + count).map_while(|i| self.seq_at(i)).collect();
        let mut cache = self.rows.borrow_mut();
        if seqs.iter().any(|s| !cache.contains_key(s)) {
            if cache.len() + seqs.len() > ROW_CACHE {
                cache.clear();
            }
            if self.matches.is_none() {
                if let Some(&first) = seqs.first() {
                    let read = ledger::entries_from(&self.store, first).take(seqs.len());
                    for (seq, bytes) in read.flatten() {
                        if let Ok(row) = row_of(seq, &bytes) {
                            cache.insert(seq, row);
                        }
                    }
                }
            } else {
                let missing: Vec<u64> = seqs
                    .iter()
                    .copied()
                    .filter(|s| !cache.contains_key(s))
                    .collect();
                for seq in missing {
                    if let Ok(Some(bytes)) = ledger::entry(&self.store, seq) {
                        if let Ok(row) = row_of(seq, &bytes) {
                            cache.insert(seq, row);
                        }
                    }
                }
            }
        }
        seqs.iter()
            .map(|&seq| {
                cache.get(&seq).cloned().unwrap_or_else(|| LedgerRow {
                    seq,
                    time: String::new(),
                    kind: "unreadable".into(),
                    actor: String::new(),
                    secret: String::new(),
                    reason: String::new(),
                })
            })
            .collect()
    }

    /// Applies the filters: none set shows every entry without reading
    /// any; otherwise one pass over the ledger keeps the matching sequence
    /// numbers. Selects the last match.
    fn apply_filters(&mut self) {
        let kind = self.kind_filter.as_deref().unwrap_or("");
        if kind.is_empty() && self.secret_filter.is_empty() && self.officer_filter.is_empty() {
            self.matches = None;
        } else {
            let mut matches = Vec::new();
            for e in ledger::entries_from(&self.store, 0).take(self.total as usize) {
                let Ok((seq, bytes)) = e else { continue };
                let Ok(r) = row_of(seq, &bytes) else { continue };
                if (kind.is_empty() || r.kind == kind)
                    && r.secret.contains(&self.secret_filter)
                    && (self.officer_filter.is_empty()
                        || r.actor.split('+').any(|a| a == self.officer_filter))
                {
                    matches.push(seq);
                }
            }
            self.matches = Some(matches);
        }
        self.selected = self.len().saturating_sub(1);
    }

    /// Whether a filter or the export path is being typed, or the export
    /// is being confirmed.
    pub fn is_editing(&self) -> bool {
        self.editing.is_some() || self.confirm_export.is_some() || self.picker.is_some()
    }

    /// Opens the kind picker on the kind shown. The ledger is counted by
    /// kind once (one pass, as a filter takes).
    fn open_picker(&mut self) {
        let kinds = self.kind_counts.get_or_insert_with(|| {
            let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
            for e in ledger::entries_from(&self.store, 0).take(self.total as usize) {
                let kind = match e.map(|(seq, bytes)| row_of(seq, &bytes)) {
                    Ok(Ok(r)) => r.kind,
                    _ => "unreadable".into(),
                };
                *counts.entry(kind).or_default() += 1;
            }
            std::iter::once(("all".to_string(), self.total))
                .chain(counts)
                .collect()
        });
        let selected = self
            .kind_filter
            .as_ref()
            .and_then(|k| kinds.iter().position(|(n, _)| n == k))
            .unwrap_or(0);
        self.picker = Some(KindPicker {
            kinds: kinds.clone(),
            selected,
        });
    }

    fn on_picker_key(&mut self, key: KeyEvent) {
        let Some(p) = &mut self.picker else { return };
        let n = p.kinds.len();
        match key.code {
            KeyCode::Up => p.selected = step(p.selected, n, -1),
            KeyCode::Down => p.selected = step(p.selected, n, 1),
            KeyCode::PageUp => p.selected = step(p.selected, n, -10),
            KeyCode::PageDown => p.selected = step(p.selected, n, 10),
            KeyCode::Home => p.selected = 0,
            KeyCode::End => p.selected = n.saturating_sub(1),
            KeyCode::Enter => {
                // The first row, "all", clears the kind filter.
                let chosen = (p.selected > 0).then(|| p.kinds[p.selected].0.clone());
                self.picker = None;
                self.kind_filter = chosen;
                self.apply_filters();
            }
            KeyCode::Esc | KeyCode::Char('f') => self.picker = None,
            KeyCode::Char(c) if c.is_ascii_lowercase() => p.jump(c),
            _ => {}
        }
    }

    /// Asks whether to export into `dir`, the whole path as it will be
    /// written.
    pub fn ask_export(&mut self, dir: std::path::PathBuf) {
        self.confirm_export = Some(dir);
    }

    /// Pasted text goes to the field being typed.
    pub fn paste(&mut self, text: &str) {
        if let Some((_, input)) = &mut self.editing {
            input.paste(text);
        }
    }

    /// Maps a key to an action.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if self.confirm_export.is_some() {
            return match key.code {
                KeyCode::Enter | KeyCode::Char('y') => self
                    .confirm_export
                    .take()
                    .map_or(Action::None, Action::ExportTo),
                KeyCode::Esc | KeyCode::Char('n') => {
                    self.confirm_export = None;
                    Action::None
                }
                _ => Action::None,
            };
        }
        if self.picker.is_some() {
            self.on_picker_key(key);
            return Action::None;
        }
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
                        Editing::Export => return Action::None,
                    }
                    self.apply_filters();
                }
                InputEvent::Cancel => self.editing = None,
                InputEvent::Edited => {}
            }
            return Action::None;
        }
        let n = self.len();
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
            KeyCode::Char('f') => self.open_picker(),
            KeyCode::Char('s') => self.editing = Some((Editing::Secret, TextInput::visible(64))),
            KeyCode::Char('o') => self.editing = Some((Editing::Officer, TextInput::visible(32))),
            KeyCode::Char('c') => {
                self.kind_filter = None;
                self.secret_filter.clear();
                self.officer_filter.clear();
                self.apply_filters();
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

    /// The selected entry's detail lines, read once per selection.
    fn detail(&self, seq: u64, theme: &Theme) -> Vec<Line<'static>> {
        let mut cached = self.detail.borrow_mut();
        match &*cached {
            Some((s, lines)) if *s == seq => lines.clone(),
            _ => {
                let lines = self.read_detail(seq, theme);
                *cached = Some((seq, lines.clone()));
                lines
            }
        }
    }

    fn read_detail(&self, seq: u64, theme: &Theme) -> Vec<Line<'static>> {
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
        if let Some(links) = self.links.get(&seq) {
            let style = if links.contains("NOT REVIEWED") {
                theme.warn()
            } else {
                theme.dim()
            };
            out.push(Line::from(Span::styled(format!("  -> {links}"), style)));
        }
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
        let kind = self.kind_filter.as_deref().unwrap_or("all");
        let len = self.len();
        // While a filter or the export path is typed, this row says so, in
        // the warning colour: the keys go to the field at the bottom, not
        // to the list.
        if let Some((what, _)) = &self.editing {
            let what = match what {
                Editing::Secret => "the secret filter",
                Editing::Officer => "the officer filter",
                Editing::Export => "the export directory",
            };
            f.render_widget(
                Paragraph::new(Span::styled(
                    format!("Typing {what} on the bottom line: Enter applies it, Esc cancels."),
                    theme.warn(),
                )),
                filters,
            );
        } else {
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
                        format!(
                            "  {len} of {}",
                            super::widgets::plural(self.total as usize, "entry", "entries")
                        ),
                        theme.dim(),
                    ),
                ])),
                filters,
            );
        }
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
        // Only the rows that fit are read: the table's height less its
        // border and header.
        let height = (table_area.height as usize).saturating_sub(2).max(1);
        let selected = self.selected.min(len.saturating_sub(1));
        // The window never starts so late that it leaves rows blank: after
        // a filter the list may be far shorter than where it had scrolled.
        let mut offset = self
            .offset
            .get()
            .min(selected)
            .min(len.saturating_sub(height));
        if selected >= offset + height {
            offset = selected + 1 - height;
        }
        self.offset.set(offset);
        let window = self.window(offset, height);
        let rows = window.iter().map(|r| {
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
        let mut state = TableState::default().with_selected((len > 0).then_some(selected - offset));
        if len == 0 && self.total > 0 {
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
        let detail = self
            .seq_at(selected)
            .map(|seq| self.detail(seq, theme))
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
        if let Some(dir) = &self.confirm_export {
            self.render_confirm_export(f, area, dir, theme);
        }
        if let Some(p) = &self.picker {
            render_picker(f, main, p, theme);
        }
    }

    /// The export's question over the screen: the whole directory,
    /// wrapped, never cut.
    fn render_confirm_export(
        &self,
        f: &mut Frame<'_>,
        area: Rect,
        dir: &std::path::Path,
        theme: &Theme,
    ) {
        let w = area.width.saturating_sub(4).max(20);
        let inner = w.saturating_sub(2) as usize;
        let mut lines = vec![Line::from(
            "Write the ledger's export bundle into this directory?",
        )];
        lines.extend(
            wrap(&dir.display().to_string(), inner)
                .into_iter()
                .map(|l| Line::from(Span::styled(l, theme.accent()))),
        );
        lines.push(Line::from(Span::styled(
            "Enter/y exports; Esc/n goes back and writes nothing.",
            theme.dim(),
        )));
        let h = (lines.len() as u16 + 2).min(area.height);
        let popup = centered(area, w, h);
        f.render_widget(Clear, popup);
        f.render_widget(
            Paragraph::new(lines).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(Span::styled(" Export ", theme.accent())),
            ),
            popup,
        );
    }

    /// Draws the field being typed (a filter or the export directory) with
    /// its keys, in place of the key bar; false when nothing is typed.
    pub fn render_prompt(&self, f: &mut Frame<'_>, area: Rect, theme: &Theme) -> bool {
        if self.confirm_export.is_some() {
            f.render_widget(
                Paragraph::new(Span::styled("Enter/y export · Esc/n back", theme.dim())),
                area,
            );
            return true;
        }
        if self.picker.is_some() {
            f.render_widget(
                Paragraph::new(Span::styled(
                    "↑↓ or a first letter choose · Enter show · Esc keep",
                    theme.dim(),
                )),
                area,
            );
            return true;
        }
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

/// The kind picker over the entries: each kind with its count, the
/// selection in view however many kinds there are.
fn render_picker(f: &mut Frame<'_>, area: Rect, p: &KindPicker, theme: &Theme) {
    let name_w = p.kinds.iter().map(|(k, _)| k.len()).max().unwrap_or(3);
    let lines: Vec<Line<'static>> = p
        .kinds
        .iter()
        .enumerate()
        .map(|(i, (k, n))| {
            let text = format!(" {k:<name_w$}  {n:>7} ");
            if i == p.selected {
                Line::from(Span::styled(text, theme.selected()))
            } else {
                Line::from(text)
            }
        })
        .collect();
    let w = (name_w + 13) as u16;
    let h = (lines.len() as u16 + 2).min(area.height);
    let popup = centered(area, w.max(24), h);
    let inner = h.saturating_sub(2) as usize;
    let scroll = p.selected.saturating_sub(inner.saturating_sub(1)) as u16;
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(lines).scroll((scroll, 0)).block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(" Show kind ", theme.accent())),
        ),
        popup,
    );
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
                Span::raw(folded(s)),
            ])),
            // A deposit's ciphertexts: one folded line each, not screens
            // of base64.
            Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_string) => {
                out.push(Line::from(Span::styled(
                    format!("{indent}{k}:"),
                    theme.dim(),
                )));
                for (i, item) in a.iter().enumerate() {
                    out.push(Line::from(vec![
                        Span::styled(format!("{indent}  [{i}] "), theme.dim()),
                        Span::raw(folded(item.as_str().unwrap_or_default())),
                    ]));
                }
            }
            other => out.push(Line::from(vec![
                Span::styled(format!("{indent}{k}: "), theme.dim()),
                Span::raw(other.to_string()),
            ])),
        }
    }
}

/// A long opaque value (a ciphertext, in base64) folded to its start and
/// length; the whole entry is in `breakglass ledger show --json`.
fn folded(s: &str) -> String {
    const LONGEST: usize = 96;
    let opaque = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b));
    if s.len() <= LONGEST || !opaque {
        return s.to_string();
    }
    format!("{}… ({} characters)", &s[..24], s.len())
}
