//! A 3×5 block font for codes on the reveal screen, so a code can be read
//! aloud from across a desk. Only `0-9`, `A-Z` and space have glyphs; text
//! with anything else is not drawn large (a lower-case letter drawn as a
//! capital would be a different code).

const GLYPHS: [(char, [&str; 5]); 37] = [
    ('0', ["###", "#.#", "#.#", "#.#", "###"]),
    ('1', [".#.", "##.", ".#.", ".#.", "###"]),
    ('2', ["###", "..#", "###", "#..", "###"]),
    ('3', ["###", "..#", ".##", "..#", "###"]),
    ('4', ["#.#", "#.#", "###", "..#", "..#"]),
    ('5', ["###", "#..", "###", "..#", "###"]),
    ('6', ["###", "#..", "###", "#.#", "###"]),
    ('7', ["###", "..#", ".#.", ".#.", ".#."]),
    ('8', ["###", "#.#", "###", "#.#", "###"]),
    ('9', ["###", "#.#", "###", "..#", "###"]),
    ('A', [".#.", "#.#", "###", "#.#", "#.#"]),
    ('B', ["##.", "#.#", "##.", "#.#", "##."]),
    ('C', [".##", "#..", "#..", "#..", ".##"]),
    ('D', ["##.", "#.#", "#.#", "#.#", "##."]),
    ('E', ["###", "#..", "##.", "#..", "###"]),
    ('F', ["###", "#..", "##.", "#..", "#.."]),
    ('G', [".##", "#..", "#.#", "#.#", ".##"]),
    ('H', ["#.#", "#.#", "###", "#.#", "#.#"]),
    ('I', ["###", ".#.", ".#.", ".#.", "###"]),
    ('J', ["..#", "..#", "..#", "#.#", ".#."]),
    ('K', ["#.#", "#.#", "##.", "#.#", "#.#"]),
    ('L', ["#..", "#..", "#..", "#..", "###"]),
    ('M', ["#.#", "###", "###", "#.#", "#.#"]),
    ('N', ["##.", "#.#", "#.#", "#.#", "#.#"]),
    ('O', [".#.", "#.#", "#.#", "#.#", ".#."]),
    ('P', ["##.", "#.#", "##.", "#..", "#.."]),
    ('Q', [".#.", "#.#", "#.#", "##.", ".##"]),
    ('R', ["##.", "#.#", "##.", "#.#", "#.#"]),
    ('S', [".##", "#..", ".#.", "..#", "##."]),
    ('T', ["###", ".#.", ".#.", ".#.", ".#."]),
    ('U', ["#.#", "#.#", "#.#", "#.#", "###"]),
    ('V', ["#.#", "#.#", "#.#", "#.#", ".#."]),
    ('W', ["#.#", "#.#", "###", "###", "#.#"]),
    ('X', ["#.#", "#.#", ".#.", "#.#", "#.#"]),
    ('Y', ["#.#", "#.#", ".#.", ".#.", ".#."]),
    ('Z', ["###", "..#", ".#.", "#..", "###"]),
    (' ', ["...", "...", "...", "...", "..."]),
];

/// Height of the large text in rows.
pub const HEIGHT: usize = 5;

fn glyph(c: char) -> Option<&'static [&'static str; 5]> {
    GLYPHS.iter().find(|(g, _)| *g == c).map(|(_, rows)| rows)
}

/// `text` as five rows of block characters, or `None` if a character has
/// no glyph or the result is wider than `max_width`.
pub fn render(text: &str, max_width: usize) -> Option<[String; HEIGHT]> {
    let glyphs: Vec<&[&str; 5]> = text.chars().map(glyph).collect::<Option<_>>()?;
    let width = glyphs.len() * 4;
    if width > max_width {
        return None;
    }
    let mut rows: [String; HEIGHT] = Default::default();
    for g in glyphs {
        for (row, line) in rows.iter_mut().zip(g.iter()) {
            row.extend(line.chars().map(|c| if c == '#' { '█' } else { ' ' }));
            row.push(' ');
        }
    }
    Some(rows.map(|r| r.trim_end().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_and_capitals_render_five_rows() {
        let rows = render("A1", 80).unwrap();
        assert_eq!(rows[0], " █   █");
        assert_eq!(rows[2], "███  █");
    }

    #[test]
    fn lower_case_symbols_and_overwide_text_are_not_drawn_large() {
        assert!(render("a1", 80).is_none());
        assert!(render("A-1", 80).is_none());
        assert!(render("ABCDEFGHIJ", 20).is_none());
    }

    #[test]
    fn every_glyph_is_three_wide() {
        for (c, rows) in GLYPHS {
            assert!(rows.iter().all(|r| r.len() == 3), "{c}");
        }
    }
}
