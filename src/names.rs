//! Validation of names, thresholds and reasons (DESIGN §5).

use crate::error::{Error, Result};

/// Longest reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Largest backup code, in bytes.
pub const MAX_CODE_BYTES: usize = 4 * 1024;
/// Largest credential, in bytes.
pub const MAX_CREDENTIAL_BYTES: usize = 64 * 1024;

/// An officer name: `[a-z0-9][a-z0-9._-]{0,31}`.
pub fn officer(name: &str) -> Result<()> {
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

/// A release reason: 1–500 characters, no control characters but none at
/// all of them (it is shown to officers and written to the ledger).
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
    if text.chars().any(char::is_control) {
        return Err(Error::invalid(
            "reason",
            "control characters are not allowed",
        ));
    }
    Ok(())
}

/// Names in messages are cut short so one line stays one line.
fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
