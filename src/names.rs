//! Validation of names, thresholds and reasons (DESIGN §5).

use crate::error::{Error, Result};

/// Longest reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Largest backup code, in bytes.
pub const MAX_CODE_BYTES: usize = 4 * 1024;
/// Largest credential, in bytes.
pub const MAX_CREDENTIAL_BYTES: usize = 64 * 1024;

/// Whether `c` is a control or format character: Unicode general category
/// Cc, Cf, Zl or Zp (DESIGN §5). Such characters are invisible or change
/// how the text around them is shown (U+202E turns the rest of a line
/// around), so what an officer reads could differ from what is stored and
/// signed. The Cf ranges are listed by hand from the Unicode 16 character
/// database (`DerivedGeneralCategory.txt`), to need no tables crate.
pub fn is_control_or_format(c: char) -> bool {
    // Cc: C0 controls, DEL and C1 controls (U+0000–U+001F, U+007F–U+009F).
    if c.is_control() {
        return true;
    }
    matches!(
        c as u32,
        // Cf
        0x00AD                 // SOFT HYPHEN
        | 0x0600..=0x0605      // ARABIC NUMBER SIGN .. ARABIC NUMBER MARK ABOVE
        | 0x061C               // ARABIC LETTER MARK
        | 0x06DD               // ARABIC END OF AYAH
        | 0x070F               // SYRIAC ABBREVIATION MARK
        | 0x0890..=0x0891      // ARABIC POUND / PIASTRE MARK ABOVE
        | 0x08E2               // ARABIC DISPUTED END OF AYAH
        | 0x180E               // MONGOLIAN VOWEL SEPARATOR
        | 0x200B..=0x200F      // ZERO WIDTH SPACE, ZWNJ, ZWJ, LRM, RLM
        | 0x202A..=0x202E      // LRE, RLE, PDF, LRO, RLO (bidi embeddings, overrides)
        | 0x2060..=0x2064      // WORD JOINER .. INVISIBLE PLUS
        | 0x2066..=0x206F      // LRI, RLI, FSI, PDI (bidi isolates) .. NOMINAL DIGIT SHAPES
        | 0xFEFF               // ZERO WIDTH NO-BREAK SPACE (byte order mark)
        | 0xFFF9..=0xFFFB      // INTERLINEAR ANNOTATION ANCHOR .. TERMINATOR
        | 0x110BD | 0x110CD    // KAITHI NUMBER SIGN, KAITHI NUMBER SIGN ABOVE
        | 0x13430..=0x1343F    // EGYPTIAN HIEROGLYPH format controls
        | 0x1BCA0..=0x1BCA3    // SHORTHAND FORMAT LETTER OVERLAP .. UP STEP
        | 0x1D173..=0x1D17A    // MUSICAL SYMBOL BEGIN BEAM .. END PHRASE
        | 0xE0001              // LANGUAGE TAG
        | 0xE0020..=0xE007F    // TAG SPACE .. CANCEL TAG
        // Zl and Zp
        | 0x2028               // LINE SEPARATOR
        | 0x2029 // PARAGRAPH SEPARATOR
    )
}

/// Refuses text holding a control or format character
/// ([`is_control_or_format`]). `what` names the text in the error, which
/// gives the character's code point and never the text itself (it may be a
/// secret).
pub fn check_no_control(what: &'static str, text: &str) -> Result<()> {
    match text.chars().find(|c| is_control_or_format(*c)) {
        None => Ok(()),
        Some(c) => Err(Error::invalid(
            what,
            format!(
                "it contains U+{:04X}; control characters and format characters are not allowed (they are invisible or change how the text is shown)",
                c as u32
            ),
        )),
    }
}

/// One backup code as it will be stored: not empty, at most
/// [`MAX_CODE_BYTES`], and no control or format character (so a pasted
/// line break or a bidi override never ends up inside a code). Its text is
/// never in the error.
pub fn code(value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid("code", "it is empty"));
    }
    if value.len() > MAX_CODE_BYTES {
        return Err(Error::invalid(
            "code",
            format!("it is {} bytes; at most {MAX_CODE_BYTES}", value.len()),
        ));
    }
    check_no_control("code", value)
}

/// Splits pasted or piped text into lines at CR, LF or CRLF. Bracketed
/// paste in most terminals (tmux included) separates lines with CR alone,
/// and files from other systems use CRLF: each is one line break.
pub fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        match t.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(t)
            }
            Some(i) => {
                let skip = if t[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&t[i + skip..]);
                Some(&t[..i])
            }
        }
    })
}

/// An officer name: `[a-z0-9][a-z0-9._-]{0,31}`.
pub fn officer(name: &str) -> Result<()> {
    check_no_control("officer name", name)?;
    let ok = (1..=32).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "officer name",
            format!(
                "{:?} must be 1-32 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
                truncate(name)
            ),
        ))
    }
}

/// A secret name: `[A-Za-z0-9][A-Za-z0-9._/-]{0,63}`.
pub fn secret(name: &str) -> Result<()> {
    check_no_control("secret name", name)?;
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "secret name",
            format!(
                "{:?} must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '/' or '-', starting with a letter or digit",
                truncate(name)
            ),
        ))
    }
}

/// A threshold m of n officers: 2 ≤ m ≤ n ≤ 255.
pub fn threshold(m: usize, n: usize) -> Result<()> {
    if n > 255 {
        return Err(Error::invalid(
            "officers",
            format!("{n} officers; at most 255"),
        ));
    }
    if m < 2 {
        return Err(Error::invalid(
            "threshold",
            format!("{m}; a quorum needs at least 2 officers"),
        ));
    }
    if m > n {
        return Err(Error::invalid(
            "threshold",
            format!("{m} is more than the {n} officers named"),
        ));
    }
    Ok(())
}

/// A release reason: 1–500 characters, no control or format characters
/// (it is shown to officers, signed by them and written to the ledger; a
/// bidi override would make the statement read differently from what is
/// signed).
pub fn reason(text: &str) -> Result<()> {
    let n = text.chars().count();
    if text.trim().is_empty() {
        return Err(Error::invalid("reason", "a reason is required"));
    }
    if n > MAX_REASON_CHARS {
        return Err(Error::invalid(
            "reason",
            format!("{n} characters; at most {MAX_REASON_CHARS}"),
        ));
    }
    check_no_control("reason", text)
}

/// Names in messages are cut short so one line stays one line.
fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The warning a quorum of every officer (m of m) deserves, for the
/// proposed side of `init` and each ceremony, before anyone signs: losing
/// one passphrase then locks every secret. `None` when m < n.
pub fn unanimity_warning(m: usize, n: usize) -> Option<String> {
    (m >= n).then(|| {
        format!(
            "every officer is needed ({m} of {n}): if any one passphrase is lost, every secret is locked for good; add an officer or choose a lower threshold"
        )
    })
}

/// The candidate `name` was most likely meant to be: the same but for
/// case, or at most two edits away (and closer than any other). For
/// "did you mean" hints; `None` when nothing is that close.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let d = if c.to_lowercase() == lower {
            0
        } else {
            edit_distance(&lower, &c.to_lowercase())
        };
        if d <= 2 && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = here;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_name_is_the_same_but_for_case_or_two_edits_away() {
        let names = ["github/admin", "okta/recovery", "alice", "bob"];
        assert_eq!(nearest("Github/Admin", names), Some("github/admin"));
        assert_eq!(nearest("github/admn", names), Some("github/admin"));
        assert_eq!(nearest("alise", names), Some("alice"));
        assert_eq!(nearest("carol", names), None);
        assert_eq!(nearest("alice", names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn officer_names() {
        for ok in ["alice", "a", "0", "bob.smith", "x_y-z", &"a".repeat(32)] {
            assert!(officer(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Alice",
            "-bob",
            ".x",
            "a b",
            "é",
            &"a".repeat(33),
            "a/b",
            "a+b",
        ] {
            assert!(officer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_names() {
        for ok in ["GitHub", "aws/root", "a.b_c-d", &"A".repeat(64)] {
            assert!(secret(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/x", "a b", "ü", &"A".repeat(65), "a\nb", "_a"] {
            assert!(secret(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn thresholds() {
        assert!(threshold(2, 2).is_ok());
        assert!(threshold(255, 255).is_ok());
        assert!(threshold(1, 3).is_err());
        assert!(threshold(4, 3).is_err());
        assert!(threshold(2, 256).is_err());
    }

    #[test]
    fn reasons() {
        assert!(reason("IdP down, INC-1234").is_ok());
        assert!(reason(&"é".repeat(500)).is_ok());
        assert!(reason("").is_err());
        assert!(reason("   ").is_err());
        assert!(reason(&"x".repeat(501)).is_err());
        assert!(reason("a\nb").is_err());
    }

    /// Every character the design names, and the edges of each range.
    const FORBIDDEN: &[u32] = &[
        0x00, 0x09, 0x0A, 0x0D, 0x1B, 0x1F, 0x7F, 0x80, 0x85, 0x9F, 0xAD, 0x061C, 0x180E, 0x200B,
        0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2060, 0x2064,
        0x2066, 0x2067, 0x2068, 0x2069, 0x206F, 0xFEFF, 0xFFF9, 0xFFFB, 0xE0001, 0xE0020, 0xE007F,
        0x2028, 0x2029,
    ];
    /// Look-alikes that are ordinary printing characters and stay allowed.
    const ALLOWED: &[u32] = &[
        0x20, 0x7E, 0xA0, 0xAE, 0xE9, 0x2010, 0x2027, 0x202F, 0x205F, 0x2070, 0xFEFE, 0xFFFC,
        0xE0000, 0xE0080, 0x1F600,
    ];

    #[test]
    fn control_and_format_characters_are_refused_everywhere() {
        for &u in FORBIDDEN {
            let c = char::from_u32(u).unwrap();
            assert!(is_control_or_format(c), "U+{u:04X}");
            let text = format!("INC{c}42");
            for (what, r) in [
                ("reason", reason(&text)),
                ("code", code(&text)),
                ("officer", officer(&format!("al{c}ice"))),
                ("secret", secret(&format!("gh{c}admin"))),
            ] {
                let e = r.expect_err(&format!("{what} accepted U+{u:04X}"));
                assert!(e.to_string().contains(&format!("U+{u:04X}")), "{e}");
            }
        }
        for &u in ALLOWED {
            let c = char::from_u32(u).unwrap();
            assert!(!is_control_or_format(c), "U+{u:04X}");
        }
    }

    #[test]
    fn lines_break_at_cr_lf_and_crlf() {
        let split = |t| split_lines(t).collect::<Vec<_>>();
        assert_eq!(split("A1\rB2\rC3"), ["A1", "B2", "C3"]);
        assert_eq!(split("A1\r\nB2\nC3\n"), ["A1", "B2", "C3", ""]);
        assert_eq!(split("A1\n\rB2"), ["A1", "", "B2"]);
        assert_eq!(split(""), [""]);
    }

    #[test]
    fn codes() {
        assert!(code("K7QX-P2MW").is_ok());
        assert!(code(&"A".repeat(MAX_CODE_BYTES)).is_ok());
        assert!(code("").is_err());
        assert!(code(&"A".repeat(MAX_CODE_BYTES + 1)).is_err());
        let e = code("SECRET\u{202E}CODE").unwrap_err().to_string();
        assert!(!e.contains("SECRET"), "the error echoes the code: {e}");
    }
}
