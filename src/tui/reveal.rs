//! The reveal screen: one released item, large and grouped for reading
//! aloud, with a countdown. `p` spells the code in the NATO alphabet.
//!
//! Codes are drawn with `tui-big-text` (an 8×8 font) as one block: every
//! glyph row starts at the same column. A code too wide for one line has
//! its groups wrapped onto more lines; if that is too tall, a smaller size
//! is tried, and then none: the plain grouped form is always shown, wrapped,
//! never cut.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use tui_big_text::{BigText, PixelSize};

use super::widgets::{wrap, wrap_parts};
use crate::records::SecretKind;
use crate::vault::{Displayed, Released};

/// The reveal screen's state. Holds a borrowed item; renders it, nothing
/// else keeps it.
pub struct RevealScreen<'a> {
    released: &'a Released,
    timeout_secs: u64,
    spelled: bool,
    in_console: bool,
}

/// What a key asks of the reveal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevealKey {
    /// Nothing.
    None,
    /// Show or hide the code spelled out (`p`).
    ToggleSpelling,
    /// The display ends this way.
    End(Displayed),
    /// Ctrl-C: clear it unconfirmed and leave, reporting it.
    Interrupt,
}

/// One piece of a value as read aloud: a group of letters and digits, or
/// a separator the value itself holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Group(String),
    Separator(char),
}

/// Runs of letters and digits longer than this are read in fours.
const LONGEST_GROUP: usize = 6;

/// The value cut where it cuts itself (at its dashes, spaces and other
/// separators), each run longer than [`LONGEST_GROUP`] in fours.
fn parts(value: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut Vec<Part>| {
        if run.len() > LONGEST_GROUP {
            out.extend(run.chunks(4).map(|c| Part::Group(c.iter().collect())));
        } else if !run.is_empty() {
            out.push(Part::Group(run.iter().collect()));
        }
        run.clear();
    };
    for c in value.chars() {
        if c.is_alphanumeric() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(Part::Separator(c));
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Groups a code for reading aloud, at its own separators when it has
/// them (`k0l1m-n2o3p` → `k0l1m n2o3p`), runs longer than six in fours
/// (`4F2K9QX7` → `4F2K 9QX7`). Separators are dropped from the grouped
/// form only; the exact form is always shown beside it.
pub fn grouped(code: &str) -> String {
    parts(code)
        .into_iter()
        .filter_map(|p| match p {
            Part::Group(g) => Some(g),
            Part::Separator(_) => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

const NATO: [&str; 26] = [
    "Alfa", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India", "Juliett",
    "Kilo", "Lima", "Mike", "November", "Oscar", "Papa", "Quebec", "Romeo", "Sierra", "Tango",
    "Uniform", "Victor", "Whiskey", "X-ray", "Yankee", "Zulu",
];
const DIGITS: [&str; 10] = [
    "Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine",
];

/// One character as said aloud: `K` → `Kilo`, `k` → `lowercase Kilo`,
/// `7` → `Seven`, `-` → `dash`; anything else without a name quoted.
pub fn spoken(c: char) -> String {
    if c.is_ascii_digit() {
        DIGITS[(c as u8 - b'0') as usize].to_string()
    } else if c.is_ascii_uppercase() {
        NATO[(c as u8 - b'A') as usize].to_string()
    } else if c.is_ascii_lowercase() {
        format!("lowercase {}", NATO[(c as u8 - b'a') as usize])
    } else if let Some(name) = symbol_name(c) {
        name.to_string()
    } else if c.is_control() {
        // Never the character itself: it would act on the terminal.
        format!("control character U+{:04X}", c as u32)
    } else {
        format!("\"{c}\"")
    }
}

/// What a separator or symbol is called when read out.
fn symbol_name(c: char) -> Option<&'static str> {
    Some(match c {
        '-' => "dash",
        ' ' => "space",
        '\n' => "new line",
        '\t' => "tab",
        '_' => "underscore",
        '.' => "dot",
        ',' => "comma",
        ':' => "colon",
        ';' => "semicolon",
        '/' => "slash",
        '\\' => "backslash",
        '!' => "exclamation mark",
        '?' => "question mark",
        '@' => "at sign",
        '#' => "hash",
        '$' => "dollar sign",
        '%' => "percent",
        '^' => "caret",
        '&' => "ampersand",
        '*' => "asterisk",
        '+' => "plus",
        '=' => "equals",
        '~' => "tilde",
        '`' => "backtick",
        '|' => "vertical bar",
        '\'' => "apostrophe",
        '"' => "double quote",
        '(' => "open parenthesis",
        ')' => "close parenthesis",
        '[' => "open bracket",
        ']' => "close bracket",
        '{' => "open brace",
        '}' => "close brace",
        '<' => "less-than sign",
        '>' => "greater-than sign",
        _ => return None,
    })
}

/// The value spelled piece by piece, as displayed, its own separators
/// named where they fall: `LMCK-7a0` → `LMCK` "Lima Mike Charlie Kilo",
/// `-` "dash", `7a0` "Seven lowercase Alfa Zero".
pub fn spelled(value: &str) -> Vec<(String, String)> {
    parts(value)
        .into_iter()
        .map(|p| match p {
            Part::Group(g) => {
                let words: Vec<String> = g.chars().map(spoken).collect();
                (g, words.join(" "))
            }
            Part::Separator(c) => (
                match c {
                    ' ' => "␠".to_string(),
                    '\n' => "↵".to_string(),
                    '\t' => "⇥".to_string(),
                    c if c.is_control() => "?".to_string(),
                    c => c.to_string(),
                },
                spoken(c),
            ),
        })
        .collect()
}

/// Characters that are easily read or heard as one another.
const LOOK_ALIKES: [&str; 4] = ["0Oo", "1Il", "5Ss", "8B"];

/// A note naming the easily confused characters this code holds, if any:
/// `0 = Zero, O = Oscar`.
pub fn look_alike_note(code: &str) -> Option<String> {
    let mut seen = Vec::new();
    for c in grouped(code).chars() {
        if LOOK_ALIKES.iter().any(|set| set.contains(c)) && !seen.contains(&c) {
            seen.push(c);
        }
    }
    if seen.is_empty() {
        return None;
    }
    let said: Vec<String> = seen
        .iter()
        .map(|c| format!("{c} = {}", spoken(*c)))
        .collect();
    Some(format!(
        "Look-alikes in this code: {}. (0/O, 1/I/l, 5/S and 8/B are easily confused.)",
        said.join(", ")
    ))
}

/// A glyph size: its width and height in cells.
const SIZES: [(PixelSize, u16, u16); 3] = [
    (PixelSize::Full, 8, 8),
    (PixelSize::HalfHeight, 8, 4),
    (PixelSize::Quadrant, 4, 4),
];

/// How a grouped code is drawn large in `width`×`height` cells: the glyph
/// size, and the groups on each line (wrapped between groups, never inside
/// one). `None` when no size fits, or the code holds a character the font
/// does not draw unambiguously (only ASCII letters and digits are drawn).
pub fn big_layout(group: &str, width: u16, height: u16) -> Option<(PixelSize, Vec<String>)> {
    if group.is_empty() || !group.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') {
        return None;
    }
    'size: for (size, gw, gh) in SIZES {
        let per_line = (width / gw) as usize;
        let mut lines: Vec<String> = Vec::new();
        for g in group.split(' ') {
            if g.len() > per_line {
                continue 'size;
            }
            match lines.last_mut() {
                Some(l) if l.len() + 1 + g.len() <= per_line => {
                    l.push(' ');
                    l.push_str(g);
                }
                _ => lines.push(g.to_string()),
            }
        }
        if lines.len() as u16 * gh <= height {
            return Some((size, lines));
        }
    }
    None
}

fn size_cells(size: PixelSize) -> (u16, u16) {
    SIZES
        .iter()
        .find(|(s, ..)| *s == size)
        .map(|(_, w, h)| (*w, *h))
        .unwrap_or((8, 8))
}

impl<'a> RevealScreen<'a> {
    /// A reveal of `released` that clears after `timeout_secs`.
    pub fn new(released: &'a Released, timeout_secs: u64) -> Self {
        RevealScreen {
            released,
            timeout_secs,
            spelled: false,
            in_console: false,
        }
    }

    /// Shown inside the console, where `r` on the secret's row rotates it
    /// (the command line says which command does).
    pub fn in_console(mut self) -> Self {
        self.in_console = true;
        self
    }

    /// Shows the code spelled out (NATO alphabet) instead of large.
    pub fn spelled(mut self, on: bool) -> Self {
        self.spelled = on;
        self
    }

    fn is_code(&self) -> bool {
        self.released.kind == SecretKind::Codes
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
        let width = inner.width as usize;

        // The footer, wrapped at word boundaries so nothing is cut.
        let again = r
            .re_release_of
            .map(|s| format!(" (a re-release of entry {s})"))
            .unwrap_or_default();
        let mut keys = vec![
            "Enter: seen, clear it".to_string(),
            "Esc: clear unconfirmed".into(),
        ];
        keys.push(
            match (self.spelled, self.is_code()) {
                (true, true) => "p: large letters",
                (true, false) => "p: as typed",
                (false, _) => "p: read aloud",
            }
            .into(),
        );
        keys.push(format!("clears in {left} s"));
        let mut footer: Vec<String> = wrap(
            &format!(
                "Released by {} as ledger entry {}{again}. Shown once.",
                r.officers.join(", "),
                r.seq
            ),
            width,
        );
        if !self.is_code() {
            // A released credential stays valid at its system until it is
            // changed there (docs/OPERATIONS.md, "After a break-glass
            // release").
            footer.extend(wrap(
                &if self.in_console {
                    "Rotate it now: change it at its system, then press r here on its row."
                        .to_string()
                } else {
                    format!(
                        "Rotate it now: change it at its system, then run breakglass rotate {}.",
                        r.secret
                    )
                },
                width,
            ));
        }
        footer.extend(wrap_parts(&keys, "   ", width));
        let footer_h = (footer.len() as u16).min(inner.height);
        let footer_area = Rect {
            y: inner.bottom() - footer_h,
            height: footer_h,
            ..inner
        };
        // One blank row above the body and one above the footer.
        let body = Rect {
            y: inner.y + 1,
            height: inner.height.saturating_sub(footer_h + 2),
            ..inner
        };
        f.render_widget(
            Paragraph::new(
                footer
                    .into_iter()
                    .map(|l| Line::from(l).alignment(Alignment::Center))
                    .collect::<Vec<_>>(),
            ),
            footer_area,
        );

        let value = r.value.expose_secret();
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let centred = |text: String, style: Style| {
            wrap(&text, width)
                .into_iter()
                .map(move |l| Line::from(Span::styled(l, style)).alignment(Alignment::Center))
        };
        let mut lines: Vec<Line<'_>> = Vec::new();
        match r.kind {
            _ if self.spelled => {
                if self.is_code() {
                    lines.extend(centred(grouped(value), bold));
                } else {
                    // Reading a credential aloud is where the NATO
                    // alphabet matters most, and where it leaks most.
                    lines.extend(centred(
                        "Read aloud, this speaks the secret: only to the one person who needs it, where no one else can hear."
                            .to_string(),
                        bold,
                    ));
                }
                lines.push(Line::from(""));
                let spelled = spelled(value);
                let label = spelled
                    .iter()
                    .map(|(g, _)| g.chars().count())
                    .max()
                    .unwrap_or(0);
                for (g, words) in spelled {
                    for (i, l) in wrap(&words, width.saturating_sub(label + 3))
                        .into_iter()
                        .enumerate()
                    {
                        let head = if i == 0 { g.clone() } else { String::new() };
                        lines.push(Line::from(vec![
                            Span::styled(format!(" {head:<label$}  "), bold),
                            Span::styled(l, bold),
                        ]));
                    }
                }
                if let Some(note) = look_alike_note(value) {
                    let note = if self.is_code() {
                        note
                    } else {
                        note.replace("this code", "this credential")
                    };
                    lines.push(Line::from(""));
                    lines.extend(centred(note, Style::default()));
                }
                if self.is_code() {
                    lines.push(Line::from(""));
                    lines.extend(centred(format!("exactly: {value}"), Style::default()));
                }
                // Never cut silently: the last row says the rest is there.
                let room = body.height as usize;
                if lines.len() > room && room > 0 {
                    lines.truncate(room - 1);
                    lines.push(
                        Line::from("… more than fits: a taller terminal shows the rest; p shows it as typed.")
                            .alignment(Alignment::Center),
                    );
                }
            }
            SecretKind::Codes => {
                let group = grouped(value);
                let mut text = Vec::new();
                text.extend(centred(group.clone(), bold));
                text.push(Line::from(""));
                text.extend(centred(format!("exactly: {value}"), Style::default()));
                // The large block takes what the plain lines leave.
                let room = body.height.saturating_sub(text.len() as u16 + 1);
                let mut top = body.y;
                if let Some((size, rows)) = big_layout(&group, body.width, room) {
                    let (gw, gh) = size_cells(size);
                    let glyphs = rows.iter().map(|l| l.chars().count()).max().unwrap_or(0);
                    let w = glyphs as u16 * gw;
                    let h = rows.len() as u16 * gh;
                    // One block for all rows: centred as a whole, each line
                    // left-aligned in it, so no row shifts against another.
                    let rect = Rect {
                        x: body.x + (body.width - w) / 2,
                        y: body.y,
                        width: w,
                        height: h,
                    };
                    let big = BigText::builder()
                        .pixel_size(size)
                        .style(bold)
                        .lines(rows.into_iter().map(Line::from).collect::<Vec<_>>())
                        .left_aligned()
                        .build();
                    f.render_widget(big, rect);
                    top = body.y + h + 1;
                }
                let rest = Rect {
                    y: top,
                    height: body.bottom().saturating_sub(top),
                    ..body
                };
                f.render_widget(Paragraph::new(text), rest);
                return;
            }
            SecretKind::Credential => {
                for l in value.lines() {
                    for w in wrap(l, width) {
                        lines.push(Line::from(Span::styled(w, bold)));
                    }
                }
            }
        }
        f.render_widget(Paragraph::new(lines), body);
    }

    /// Maps a key to what it asks of the reveal.
    pub fn on_key(&self, key: KeyEvent) -> RevealKey {
        match key.code {
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                RevealKey::Interrupt
            }
            KeyCode::Enter => RevealKey::End(Displayed::Confirmed),
            KeyCode::Esc => RevealKey::End(Displayed::Dismissed),
            KeyCode::Char('p') => RevealKey::ToggleSpelling,
            _ => RevealKey::None,
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

    #[test]
    fn codes_are_spelled_in_the_nato_alphabet_group_by_group() {
        assert_eq!(
            spelled("LMCK-7a0"),
            [
                ("LMCK".to_string(), "Lima Mike Charlie Kilo".to_string()),
                ("-".to_string(), "dash".to_string()),
                ("7a0".to_string(), "Seven lowercase Alfa Zero".to_string())
            ]
        );
        assert_eq!(spoken('X'), "X-ray");
        assert_eq!(spoken('é'), "\"é\"");
        assert_eq!(spoken('\u{7}'), "control character U+0007");
    }

    #[test]
    fn a_code_is_grouped_and_spelled_at_its_own_separators() {
        // Grouped in fours, `k0l1m-n2o3p` read as `k0l1 mn2o 3p`, and the
        // dash was never said: the listener typed another string.
        assert_eq!(grouped("k0l1m-n2o3p"), "k0l1m n2o3p");
        assert_eq!(grouped("1234 5678"), "1234 5678");
        assert_eq!(grouped("ABCDEFGH-12"), "ABCD EFGH 12");
        let said: Vec<String> = spelled("k0l1m-n2o3p").into_iter().map(|(_, w)| w).collect();
        assert_eq!(said[1], "dash");
        assert_eq!(said.len(), 3);
        let said: Vec<String> = spelled("ab cd")
            .into_iter()
            .map(|(g, w)| format!("{g}={w}"))
            .collect();
        assert_eq!(
            said,
            [
                "ab=lowercase Alfa lowercase Bravo",
                "␠=space",
                "cd=lowercase Charlie lowercase Delta"
            ]
        );
        // A credential's symbols have names.
        let said: Vec<String> = spelled("p@ss!").into_iter().map(|(_, w)| w).collect();
        assert_eq!(
            said,
            [
                "lowercase Papa",
                "at sign",
                "lowercase Sierra lowercase Sierra",
                "exclamation mark"
            ]
        );
    }

    #[test]
    fn look_alikes_are_named_only_when_present() {
        assert_eq!(look_alike_note("K7QX-P2MW"), None);
        let note = look_alike_note("B0OK-1234").unwrap();
        assert!(
            note.contains("B = Bravo, 0 = Zero, O = Oscar, 1 = One"),
            "{note}"
        );
    }

    #[test]
    fn large_layout_wraps_groups_then_shrinks_then_gives_up() {
        // 9 glyphs of 8 columns fit in 78 on one line of 8 rows.
        let (size, rows) = big_layout("K7QX P2MW", 78, 12).unwrap();
        assert_eq!((size, rows.len()), (PixelSize::Full, 1));
        // Too tall for two full-size lines: half height.
        let (size, rows) = big_layout("ABCD EFGH IJKL", 78, 12).unwrap();
        assert_eq!(
            (size, rows),
            (
                PixelSize::HalfHeight,
                vec!["ABCD EFGH".into(), "IJKL".into()]
            )
        );
        // Not drawn large: lower-case is fine, symbols and other scripts are not.
        assert!(big_layout("abcd", 78, 12).is_some());
        assert!(big_layout("é", 78, 12).is_none());
        assert!(big_layout(&"ABCD ".repeat(40), 78, 12).is_none());
    }
}
