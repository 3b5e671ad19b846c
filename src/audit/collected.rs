//! Checkpoints collected off the machine (`ledger verify --checkpoint`):
//! an alert event, a checkpoint body with its `.asc` beside it, or a C2SP
//! signed note. Each must be signed by the ledger key and the ledger must
//! extend it (RFC 6962 §2.1.2 consistency), so a ledger truncated, rolled
//! back or forked after any of them fails (I17).

use std::collections::BTreeMap;
use std::io::Read;

use super::*;
use crate::ledger::note;

/// The largest collected file read, in bytes: an event carries its entry,
/// which a bundle bounds at [`bundle_source::MAX_ENTRY_BYTES`].
const MAX_FILE: u64 = 2 * bundle_source::MAX_ENTRY_BYTES as u64 + 64 * 1024;

/// How a collected checkpoint is signed.
enum Proof {
    /// An armored OpenPGP detached signature (an event's `checkpoint_sig`,
    /// or `FILE.asc`); an event's signed note is checked too.
    Pgp(String, Option<String>),
    /// A signed note alone.
    Note(String),
}

fn bad_file<T>(path: &Path, why: impl fmt::Display) -> Result<T, Failure> {
    fail(
        None,
        FailureKind::BadCheckpointFile,
        format!("checkpoint {}: {why}", path.display()),
    )
}

fn read_bounded(path: &Path) -> Result<String, Failure> {
    let mut s = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE).read_to_string(&mut s))
        .or_else(|e| bad_file(path, e))?;
    Ok(s)
}

/// A collected checkpoint as read: its body and how it is signed.
pub(super) struct Loaded {
    body: String,
    proof: Proof,
}

impl Loaded {
    /// The size its body claims, if it parses: the walk keeps the root of
    /// the ledger's prefix of that size.
    pub(super) fn size(&self) -> Option<u64> {
        ledger::parse_checkpoint(&self.body).ok().map(|c| c.size)
    }
}

/// The checkpoint a collected file (`--checkpoint FILE`) holds, parsed
/// but not yet checked: for a restore to sort the checkpoints its bundle
/// should reach from those beyond it. [`verify`] checks them.
pub fn collected_checkpoint(path: &Path) -> Result<Checkpoint, Failure> {
    let (body, _) = read(path)?;
    ledger::parse_checkpoint(&body).or_else(|e| bad_file(path, e))
}

/// Reads a collected checkpoint: its body and how it is signed.
pub(super) fn load(path: &Path) -> Result<Loaded, Failure> {
    read(path).map(|(body, proof)| Loaded { body, proof })
}

fn read(path: &Path) -> Result<(String, Proof), Failure> {
    let text = read_bounded(path)?;
    if text.trim_start().starts_with('{') {
        let v: Value = serde_json::from_str(&text)
            .or_else(|e| bad_file(path, format!("not an alert event: {e}")))?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        // Versions 2 and 3 only added fields (`auth_delays`; `old_size`
        // and `proof`): the checkpoint is read alike.
        if !v
            .get("v")
            .and_then(Value::as_u64)
            .is_some_and(|n| (1..=crate::alerts::EVENT_VERSION).contains(&n))
        {
            return bad_file(path, "not an alert event of format version 1, 2 or 3");
        }
        let (Some(body), Some(sig)) = (s("checkpoint"), s("checkpoint_sig")) else {
            return bad_file(path, "the event has no checkpoint and checkpoint_sig");
        };
        return Ok((body, Proof::Pgp(sig, s("note"))));
    }
    if text.contains("\n\n\u{2014} ") {
        let n = note::parse(&text).or_else(|e| bad_file(path, e))?;
        return Ok((n.text, Proof::Note(text)));
    }
    let mut asc = path.as_os_str().to_owned();
    asc.push(".asc");
    let asc = PathBuf::from(asc);
    if !asc.is_file() {
        return bad_file(
            path,
            format!(
                "a checkpoint body needs its signature beside it, as {}",
                asc.display()
            ),
        );
    }
    Ok((text, Proof::Pgp(read_bounded(&asc)?, None)))
}

fn check_note(
    note_text: &str,
    body: &str,
    verifier: &Verifier,
    origin: &str,
    path: &Path,
) -> Result<(), Failure> {
    let bad = |why: String| -> Result<(), Failure> {
        fail(
            None,
            FailureKind::BadCheckpointSignature,
            format!("checkpoint {}: {why}", path.display()),
        )
    };
    let n = match note::parse(note_text) {
        Ok(n) => n,
        Err(e) => return bad(e.to_string()),
    };
    if n.text != body {
        return bad("the signed note is for another checkpoint".into());
    }
    let public = match verifier.ed25519_public() {
        Ok(p) => p,
        Err(e) => return bad(e.to_string()),
    };
    let Some(sig) = n.ed25519_signature(origin, &public) else {
        return bad(format!(
            "the signed note has no signature by {origin} with ledger key {}",
            verifier.fingerprint()
        ));
    };
    if verifier.verify_ed25519(body.as_bytes(), &sig).is_err() {
        return bad(format!(
            "the signed note's signature does not verify with ledger key {}",
            verifier.fingerprint()
        ));
    }
    Ok(())
}

/// Checks one collected checkpoint (read by [`load`]) against the
/// verified ledger: the ledger key signed it, it is of this ledger, and
/// the ledger (ending in `latest`, with the roots of its prefixes at the
/// sizes collected checkpoints name) extends it.
pub(super) fn check_collected(
    path: &Path,
    loaded: Loaded,
    verifier: &Verifier,
    eras: &super::integrity::Origins,
    latest: &Checkpoint,
    prefix_roots: &BTreeMap<u64, Hash>,
) -> Result<(), Failure> {
    let Loaded { body, proof } = loaded;
    let which = format!("checkpoint {}", path.display());
    let cp = ledger::parse_checkpoint(&body).or_else(|e| bad_file(path, e))?;
    // The origin this ledger's checkpoint of that size carries; one beyond
    // the ledger is judged by the latest's.
    let origin = if cp.size <= latest.size {
        eras.at(cp.size)
    } else {
        latest.origin.as_str()
    };
    match &proof {
        Proof::Pgp(sig, note) => {
            if verifier.verify(body.as_bytes(), sig.as_bytes()).is_err() {
                return fail(
                    None,
                    FailureKind::BadCheckpointSignature,
                    format!(
                        "{which} (size {}) does not verify with ledger key {}",
                        cp.size,
                        verifier.fingerprint()
                    ),
                );
            }
            if let Some(n) = note {
                check_note(n, &body, verifier, origin, path)?;
            }
        }
        Proof::Note(n) => check_note(n, &body, verifier, origin, path)?,
    }
    if cp.origin != origin {
        return fail(
            None,
            FailureKind::OriginMismatch,
            format!(
                "{which} is for {}, this ledger is {}",
                quoted(&cp.origin),
                quoted(origin)
            ),
        );
    }
    if cp.size > latest.size {
        return fail(
            None,
            FailureKind::Rollback,
            format!(
                "{which} was signed over {} entries, but the ledger has {}: it was truncated or rolled back (restored from an older copy) after that checkpoint",
                cp.size, latest.size
            ),
        );
    }
    if !super::integrity::extends(cp.size, &cp.root, prefix_roots.get(&cp.size)) {
        return fail(
            None,
            FailureKind::Fork,
            format!(
                "the ledger's first {} entries are not the ones {which} signed: history was rewritten (a fork)",
                cp.size
            ),
        );
    }
    Ok(())
}
