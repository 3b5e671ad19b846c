//! Small pieces shared by the screens: a text input that can hide what is
//! typed, the key bar, and layout helpers.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use zeroize::Zeroizing;

use super::theme::Theme;

/// A one-line text input. When `hidden`, it renders one `•` per character
/// and never the text; its buffer is zeroized on drop and on `take`.
pub struct TextInput {
    buf: Zeroizing<String>,
    hidden: bool,
    max_chars: usize,
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

    /// Takes the text out, leaving the input empty.
    pub fn take(&mut self) -> String {
        std::mem::take(&mut *self.buf)
    }

    /// Empties the input.
    pub fn clear(&mut self) {
        self.buf = Zeroizing::new(String::new());
    }

    /// Inserts pasted text (line breaks dropped: one line).
    pub fn paste(&mut self, text: &str) {
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
                self.buf.pop();
                InputEvent::Edited
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.clear();
                InputEvent::Edited
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
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

    /// Draws `label: text▏`.
    pub fn render(&self, f: &mut Frame<'_>, area: Rect, label: &str, theme: &Theme) {
        let line = Line::from(vec![
            Span::styled(format!("{label}: "), theme.accent()),
            Span::raw(self.display()),
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
        assert_eq!(i.take(), "s3cret");
        assert_eq!(i.text(), "");
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
