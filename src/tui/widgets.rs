//! Small pieces shared by the screens: a text input that can hide what is
//! typed, the key bar, and layout helpers.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, Paragraph, Wrap};
use zeroize::Zeroizing;

use super::theme::Theme;

/// A one-line text input. When `hidden`, it renders one `•` per character
/// and never the text; its buffer is zeroized on drop and on `take`.
pub struct TextInput {
    buf: Zeroizing<String>,
    hidden: bool,
    max_chars: usize,
    /// The text is an offered default: typing or pasting replaces it,
    /// Enter accepts it.
    offered: bool,
}

/// What a key did to an input.
#[derive(Debug, PartialEq, Eq)]
pub enum InputEvent {
    /// The text changed (or nothing happened).
    Edited,
    /// Enter was pressed.
    Submit,
    /// Esc was pressed.
    Cancel,
}

impl TextInput {
    /// A visible input.
    pub fn visible(max_chars: usize) -> Self {
        TextInput {
            buf: Zeroizing::new(String::new()),
            hidden: false,
            max_chars,
            offered: false,
        }
    }

    /// A visible input offering `default`: Enter takes it, and the first
    /// character typed or pasted replaces it (Backspace edits it).
    pub fn offering(max_chars: usize, default: &str) -> Self {
        let mut input = Self::visible(max_chars);
        input.paste(default);
        input.offered = true;
        input
    }

    /// Drops an offered default before new text goes in.
    fn replace_offer(&mut self) {
        if std::mem::take(&mut self.offered) {
            self.clear();
        }
    }

    /// An input whose text is never drawn.
    pub fn hidden(max_chars: usize) -> Self {
        TextInput {
            hidden: true,
            ..Self::visible(max_chars)
        }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.buf
    }

    /// Takes the text out, leaving the input empty. The returned `String`'s
    /// capacity is exactly its length: the secret types box it, and boxing
    /// a `String` with spare capacity reallocates, leaving an unzeroized
    /// copy behind. The input's own buffer is zeroized here.
    pub fn take(&mut self) -> String {
        let mut exact = String::with_capacity(self.buf.len());
        exact.push_str(&self.buf);
        self.clear();
        exact
    }

    /// Empties the input.
    pub fn clear(&mut self) {
        self.buf = Zeroizing::new(String::new());
    }

    /// Inserts pasted text (line breaks dropped: one line).
    pub fn paste(&mut self, text: &str) {
        self.replace_offer();
        for c in text.chars().filter(|c| !c.is_control()) {
            if self.buf.chars().count() < self.max_chars {
                self.buf.push(c);
            }
        }
    }

    /// Applies a key.
    pub fn on_key(&mut self, key: KeyEvent) -> InputEvent {
        match key.code {
            KeyCode::Enter => InputEvent::Submit,
            KeyCode::Esc => InputEvent::Cancel,
            KeyCode::Backspace => {
                self.offered = false;
                self.buf.pop();
                InputEvent::Edited
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.offered = false;
                self.clear();
                InputEvent::Edited
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.replace_offer();
                if self.buf.chars().count() < self.max_chars {
                    self.buf.push(c);
                }
                InputEvent::Edited
            }
            _ => InputEvent::Edited,
        }
    }

    /// Takes the typed passphrase out as the action that unlocks `officer`.
    pub fn unlock(&mut self, officer: String) -> super::Action {
        super::Action::Unlock {
            officer,
            passphrase: crate::Passphrase::new(self.take()),
        }
    }

    /// The line to draw: the text, or one bullet per character.
    pub fn display(&self) -> String {
        if self.hidden {
            "•".repeat(self.buf.chars().count())
        } else {
            self.buf.to_string()
        }
    }

    /// Draws `label: text▏`; text too long for the line shows its end,
    /// after "…", where the cursor is.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, label: &str, theme: &Theme) {
        let head = format!("{label}: ");
        let room = (area.width as usize).saturating_sub(width(&head) + 1);
        let mut shown = self.display();
        if width(&shown) > room {
            let mut tail: Vec<char> = Vec::new();
            for c in shown.chars().rev() {
                if tail.len() + 2 > room {
                    break;
                }
                tail.push(c);
            }
            shown = std::iter::once('…').chain(tail.into_iter().rev()).collect();
        }
        let line = Line::from(vec![
            Span::styled(head, theme.accent()),
            Span::raw(shown),
            Span::styled("▏", theme.accent()),
        ]);
        f.render_widget(Paragraph::new(line), area);
    }
}

/// The bottom line of key hints: `key description` pairs.
pub fn key_bar(f: &mut Frame<'_>, area: Rect, keys: &[(&str, &str)], theme: &Theme) {
    let mut spans = Vec::new();
    for (i, (k, d)) in keys.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(k.to_string(), theme.key()));
        spans.push(Span::raw(format!(" {d}")));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Display width of `s` in terminal columns.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// `text` wrapped at spaces into lines of at most `max` columns. A word
/// longer than a line is split, never dropped, so nothing is cut off at the
/// edge of a screen.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let fits = if line.is_empty() {
            width(word) <= max
        } else {
            width(&line) + 1 + width(word) <= max
        };
        if fits {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for c in word.chars() {
            if width(&line) + width(c.encode_utf8(&mut [0; 4])) > max {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    lines.push(line);
    lines
}

/// `parts` joined by `sep` into lines of at most `max` columns, breaking
/// only between parts (key hints: "Esc clear" never splits).
pub fn wrap_parts(parts: &[String], sep: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for p in parts {
        match lines.last_mut() {
            Some(l) if width(l) + width(sep) + width(p) <= max => {
                l.push_str(sep);
                l.push_str(p);
            }
            _ => lines.extend(wrap(p, max)),
        }
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// `1 code`, `2 codes`: a count with its noun in the right number.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A rectangle of at most `w`×`h`, centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [c] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    c
}

/// The selection move a key asks for in a list: -1 for ↑/k, +1 for ↓/j.
pub fn list_move(key: &KeyEvent) -> Option<isize> {
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => Some(-1),
        KeyCode::Down | KeyCode::Char('j') => Some(1),
        _ => None,
    }
}

/// Moves a selection index by `delta` within `len` items.
pub fn step(selected: usize, len: usize, delta: isize) -> usize {
    if len == 0 {
        return 0;
    }
    (selected as isize + delta).clamp(0, len as isize - 1) as usize
}

/// The line under an approval pane: the passphrase prompt, the Argon2
/// wait, or the hint to choose an officer.
pub enum Prompt<'a> {
    /// An officer is typing their passphrase.
    Passphrase {
        /// Who.
        officer: &'a str,
        /// Their wrong passphrases so far.
        wrong: u32,
    },
    /// `officer`'s share is being unlocked.
    Unlocking(&'a str),
    /// No officer chosen yet.
    Choose,
}

/// The pane where a quorum is collected, shared by the release and the
/// ceremonies: on the left what the officer signs, on the right the
/// officers (approved, still able to approve with the chosen one
/// highlighted, locked out after [`ATTEMPTS`] wrong passphrases) and the
/// time left; below, the [`Prompt`] or the question whether to cancel.
///
/// [`ATTEMPTS`]: super::release::ATTEMPTS
pub struct ApprovalPane<'a> {
    /// Who signs: the officer at the prompt, else the one chosen.
    pub signer: Option<&'a str>,
    /// The statement, as `(field, value)` lines.
    pub statement: &'a [(String, String)],
    /// The field names' column width.
    pub field_width: usize,
    /// The widths of the statement and the officer list.
    pub columns: [Constraint; 2],
    /// Who approved, in order.
    pub approved: &'a [&'a str],
    /// Approvals the quorum needs.
    pub needed: usize,
    /// Who can still approve.
    pub pending: &'a [&'a str],
    /// The highlighted officer in `pending`, while one is being chosen.
    pub chosen: Option<usize>,
    /// Who gave too many wrong passphrases.
    pub locked_out: &'a [&'a str],
    /// Until the request expires.
    pub seconds_left: i64,
    /// `Some("release")` while asking whether to cancel it.
    pub cancelling: Option<&'a str>,
    /// The line under the pane.
    pub prompt: Prompt<'a>,
}

impl ApprovalPane<'_> {
    /// Draws the pane in `area`; `passphrase` is the prompt's input.
    pub fn render(
        &self,
        f: &mut Frame<'_>,
        area: Rect,
        passphrase: &TextInput,
        spinner: &str,
        theme: &Theme,
    ) {
        let [top, bottom] =
            Layout::vertical([Constraint::Min(6), Constraint::Length(3)]).areas(area);
        let [left, right] = Layout::horizontal(self.columns).areas(top);

        let mut lines = vec![Line::from(Span::styled(
            format!("{} signs:", self.signer.unwrap_or("the officer")),
            theme.accent(),
        ))];
        for (k, v) in self.statement {
            lines.push(Line::from(vec![
                Span::styled(format!("{k:>w$}  ", w = self.field_width), theme.dim()),
                Span::raw(v.clone()),
            ]));
        }
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::RIGHT).title("Statement")),
            left,
        );

        let mut items = vec![ListItem::new(Line::from(Span::styled(
            format!("{} of {} approvals", self.approved.len(), self.needed),
            theme.accent(),
        )))];
        for o in self.approved {
            items.push(ListItem::new(Line::from(vec![
                Span::styled("  ✓ ", theme.ok()),
                Span::raw(o.to_string()),
            ])));
        }
        for (i, o) in self.pending.iter().enumerate() {
            let item = ListItem::new(format!("    {o}"));
            items.push(if self.chosen == Some(i) {
                item.style(theme.selected())
            } else {
                item
            });
        }
        for o in self.locked_out {
            items.push(ListItem::new(Line::from(vec![
                Span::styled("  ✗ ", theme.error()),
                Span::raw(format!("{o} ({} wrong)", super::release::ATTEMPTS)),
            ])));
        }
        let left_secs = self.seconds_left.max(0);
        items.push(ListItem::new(Line::from(Span::styled(
            format!("expires in {}:{:02}", left_secs / 60, left_secs % 60),
            theme.dim(),
        ))));
        f.render_widget(
            List::new(items).block(Block::default().title(" Officers")),
            right,
        );

        if let Some(what) = self.cancelling {
            f.render_widget(
                Paragraph::new(vec![
                    Line::from(Span::styled(
                        format!(
                            "Cancel the {what} and discard {} ({})?",
                            plural(self.approved.len(), "approval", "approvals"),
                            self.approved.join(", ")
                        ),
                        theme.warn(),
                    )),
                    Line::from("y: discard them and cancel   any other key: keep collecting"),
                ])
                .wrap(Wrap { trim: true }),
                bottom,
            );
            return;
        }
        match self.prompt {
            Prompt::Passphrase { officer, wrong } => {
                let label = if wrong == 0 {
                    format!("Passphrase for {officer} (hidden)")
                } else {
                    format!(
                        "Passphrase for {officer} (hidden, attempt {} of {})",
                        wrong + 1,
                        super::release::ATTEMPTS
                    )
                };
                passphrase.render(f, bottom, &label, theme)
            }
            Prompt::Unlocking(officer) => f.render_widget(
                Paragraph::new(Line::from(Span::styled(
                    format!("{spinner} Unlocking {officer}'s share (Argon2id)…"),
                    theme.warn(),
                ))),
                bottom,
            ),
            Prompt::Choose => f.render_widget(
                Paragraph::new(
                    "Choose the next officer and press Enter to sign with their passphrase.",
                )
                .style(theme.dim()),
                bottom,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEvent;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn hidden_input_never_displays_its_text() {
        let mut i = TextInput::hidden(64);
        for c in "s3cret".chars() {
            i.on_key(key(KeyCode::Char(c)));
        }
        assert_eq!(i.display(), "••••••");
        assert_eq!(i.on_key(key(KeyCode::Enter)), InputEvent::Submit);
        let taken = i.take();
        assert_eq!((taken.as_str(), taken.capacity()), ("s3cret", 6));
        assert_eq!(i.text(), "");
    }

    #[test]
    fn wrapping_keeps_every_word_whole() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(plural(1, "code", "codes"), "1 code");
        assert_eq!(plural(0, "code", "codes"), "0 codes");
    }

    #[test]
    fn an_offered_default_is_taken_by_enter_and_replaced_by_typing() {
        let mut i = TextInput::offering(64, "/tmp/default");
        assert_eq!(i.text(), "/tmp/default");
        i.paste("/elsewhere");
        assert_eq!(i.text(), "/elsewhere");
        let mut i = TextInput::offering(64, "dir");
        i.on_key(key(KeyCode::Char('x')));
        assert_eq!(i.text(), "x");
        let mut i = TextInput::offering(64, "dir");
        i.on_key(key(KeyCode::Backspace));
        i.on_key(key(KeyCode::Char('x')));
        assert_eq!(i.text(), "dix");
    }

    #[test]
    fn input_respects_its_limit_and_backspace() {
        let mut i = TextInput::visible(3);
        i.paste("abcdef");
        assert_eq!(i.text(), "abc");
        i.on_key(key(KeyCode::Backspace));
        assert_eq!(i.text(), "ab");
    }
}
