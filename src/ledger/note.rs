//! C2SP signed notes (<https://c2sp.org/signed-note>) for checkpoints, so
//! that transparency-log witnesses and note verifiers can check them.
//!
//! A note is the text (here the tlog-checkpoint body, ending in a newline),
//! a blank line, then one signature line per signer:
//!
//! ```text
//! — <key name> <base64(key hash ‖ signature)>
//! ```
//!
//! For an Ed25519 key (signature type 0x01) the key hash is the first 4
//! bytes of SHA-256(key name ‖ "\n" ‖ 0x01 ‖ 32-byte public key), and the
//! signature is the 64-byte Ed25519 signature of the text. The key name is
//! the checkpoint origin, `breakglass/<vault-id>`. The signing itself is in
//! `pgp` (the only module that knows sequoia); this module only formats and
//! parses.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The signature type byte of an Ed25519 note signature.
const ED25519: u8 = 0x01;
/// What starts a signature line: an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// The 4-byte key hash that names an Ed25519 key `public` called `name`.
pub fn key_hash(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ED25519]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The note for `text` (which must end in a newline) signed by the Ed25519
/// key `public` named `name`, with `signature` its Ed25519 signature of
/// `text`.
pub fn format(text: &str, name: &str, public: &[u8; 32], signature: &[u8; 64]) -> String {
    let mut blob = Vec::with_capacity(68);
    blob.extend_from_slice(&key_hash(name, public));
    blob.extend_from_slice(signature);
    format!("{text}\n{SIG_PREFIX}{name} {}\n", STANDARD.encode(blob))
}

/// A parsed note: its text and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, with its final newline.
    pub text: String,
    /// Each signature line: key name, key hash, signature bytes.
    pub signatures: Vec<(String, [u8; 4], Vec<u8>)>,
}

/// Parses a note: text, a blank line, one or more signature lines, each
/// ending in a newline.
pub fn parse(note: &str) -> Result<Note> {
    let bad = |why: &str| Error::Ledger(format!("malformed signed note: {why}"));
    let split = note.rfind("\n\n").ok_or_else(|| bad("no blank line"))?;
    let text = &note[..split + 1];
    let sigs = &note[split + 2..];
    let sigs = sigs
        .strip_suffix('\n')
        .ok_or_else(|| bad("no final newline"))?;
    let mut signatures = Vec::new();
    for line in sigs.split('\n') {
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or_else(|| bad("a signature line does not start with an em dash"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| bad("a signature line has no signature"))?;
        let blob = STANDARD
            .decode(b64)
            .map_err(|_| bad("a signature is not base64"))?;
        if name.is_empty() || blob.len() < 5 {
            return Err(bad("a signature line is too short"));
        }
        let hash = [blob[0], blob[1], blob[2], blob[3]];
        signatures.push((name.to_string(), hash, blob[4..].to_vec()));
    }
    if text.trim().is_empty() {
        return Err(bad("no text"));
    }
    Ok(Note {
        text: text.to_string(),
        signatures,
    })
}

impl Note {
    /// The 64-byte Ed25519 signature by the key `public` named `name`, if
    /// the note carries one (by name and key hash; other signers, such as
    /// witnesses' cosignatures, are skipped).
    pub fn ed25519_signature(&self, name: &str, public: &[u8; 32]) -> Option<[u8; 64]> {
        let want = key_hash(name, public);
        self.signatures
            .iter()
            .find(|(n, h, _)| n == name && *h == want)
            .and_then(|(_, _, s)| s.as_slice().try_into().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse_round_trip() {
        let text = "breakglass/abc\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let public = [9u8; 32];
        let sig = [7u8; 64];
        let note = format(text, "breakglass/abc", &public, &sig);
        assert!(note.starts_with(text));
        assert!(note.contains("\n\n\u{2014} breakglass/abc "));
        let parsed = parse(&note).unwrap();
        assert_eq!(parsed.text, text);
        assert_eq!(
            parsed.ed25519_signature("breakglass/abc", &public),
            Some(sig)
        );
        assert_eq!(parsed.ed25519_signature("breakglass/abc", &[8u8; 32]), None);
    }

    #[test]
    fn malformed_notes_are_refused() {
        for bad in [
            "no blank line\n",
            "text\n\n- name AAAAAAAA\n",
            "text\n\n\u{2014} name\n",
            "text\n\n\u{2014} name !!!\n",
            "text\n\n\u{2014} name AAAAAAAA",
            "\n\n\u{2014} name AAAAAAAA\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
