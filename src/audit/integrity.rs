//! The first pass: bytes, sequence, time, the Merkle tree, every
//! checkpoint and its signature, and the saved state.

use super::*;

pub(super) struct Integrity {
    pub(super) checkpoint: Checkpoint,
    pub(super) checkpoints_checked: u64,
    pub(super) ledger_fingerprint: String,
    pub(super) genesis_leaf: Hash,
    /// The ledger key's fingerprint as genesis names it.
    pub(super) genesis_ledger_key: String,
}

/// Reads the ledger key from genesis and compares it with the pin.
fn ledger_verifier(
    genesis: &Map<String, Value>,
    pinned: Option<&PublicCert>,
) -> Result<(Verifier, String), Failure> {
    let armored = str_field(genesis, 0, "ledger_cert")?;
    let from_genesis = PublicCert::from_bytes(armored.as_bytes()).or_else(|e| {
        fail(
            Some(0),
            FailureKind::Malformed,
            format!("genesis ledger certificate: {e}"),
        )
    })?;
    let named = str_field(genesis, 0, "ledger_fingerprint")?;
    if named != from_genesis.fingerprint() {
        return fail(
            Some(0),
            FailureKind::Malformed,
            "genesis ledger_fingerprint does not match ledger_cert",
        );
    }
    let cert = match pinned {
        Some(p) if p.fingerprint() != from_genesis.fingerprint() => {
            return fail(
                Some(0),
                FailureKind::LedgerKeyMismatch,
                format!(
                    "genesis names ledger key {}, but the pinned certificate is {}: this ledger was made (or regenerated) under another key",
                    from_genesis.fingerprint(),
                    p.fingerprint()
                ),
            );
        }
        Some(p) => p.clone(),
        None => from_genesis,
    };
    let v = cert
        .verifier()
        .or_else(|e| fail(Some(0), FailureKind::Malformed, e.to_string()))?;
    let fpr = v.fingerprint().to_string();
    Ok((v, fpr))
}

/// Checks one checkpoint's body, signature and origin. Failures name the
/// checkpoint (`which`), not an entry: a checkpoint is not an entry.
fn check_checkpoint(
    cp: &CheckpointRecord,
    verifier: &Verifier,
    origin: &str,
    which: &str,
) -> Result<Checkpoint, Failure> {
    let entry = None;
    let parsed = ledger::parse_checkpoint(&cp.body).or_else(|e| {
        fail(
            entry,
            FailureKind::BadCheckpointSignature,
            format!("{which}: {e}"),
        )
    })?;
    if verifier
        .verify(cp.body.as_bytes(), cp.signature.as_bytes())
        .is_err()
    {
        return fail(
            entry,
            FailureKind::BadCheckpointSignature,
            format!(
                "{which} (size {}) does not verify with ledger key {}",
                parsed.size,
                verifier.fingerprint()
            ),
        );
    }
    if parsed.origin != origin {
        return fail(
            entry,
            FailureKind::OriginMismatch,
            format!(
                "{which} is for {:?}, the ledger's genesis is {:?}",
                parsed.origin, origin
            ),
        );
    }
    Ok(parsed)
}

pub(super) fn check_integrity(
    source: &dyn Source,
    opts: &Options,
    saved: Option<&State>,
) -> Result<Integrity, Failure> {
    let mut entries = source.entries().map_err(io_fail)?.peekable();
    let mut checkpoints = source.checkpoints().map_err(io_fail)?.peekable();
    let mut frontier = Frontier::default();
    let mut leaves: Vec<Hash> = Vec::new();
    let mut prev_time = i64::MIN;
    let mut verifier: Option<(Verifier, String)> = None;
    let mut origin = String::new();
    let mut checked = 0u64;
    let mut pos = 0u64;
    let mut genesis_leaf = Hash::default();
    let mut genesis_ledger_key = String::new();
    let which = if source.keeps_every_checkpoint() {
        "a stored checkpoint"
    } else {
        "the bundle's checkpoint"
    };

    while let Some(bytes) = entries.next() {
        let bytes = bytes.map_err(io_fail)?;
        let m = match ledger::parse_entry(&bytes) {
            Ok(m) => m,
            Err(e) => return fail(Some(pos), FailureKind::NotCanonical, e.to_string()),
        };
        if m.get("v").and_then(Value::as_u64) != Some(ledger::ENTRY_VERSION) {
            return fail(
                Some(pos),
                FailureKind::Malformed,
                format!(
                    "entry version {} is not supported (this breakglass reads version {})",
                    m.get("v").map(Value::to_string).unwrap_or_default(),
                    ledger::ENTRY_VERSION
                ),
            );
        }
        let seq = u64_field(&m, pos, "seq")?;
        if seq != pos {
            if seq < pos {
                return fail(
                    Some(pos),
                    FailureKind::EntryInserted,
                    format!("position {pos} holds an entry with seq {seq}"),
                );
            }
            // Reordered if the entry that belongs here comes next.
            let next_seq = entries
                .peek()
                .and_then(|n| n.as_ref().ok())
                .and_then(|b| ledger::parse_entry(b).ok())
                .and_then(|n| n.get("seq").and_then(Value::as_u64));
            return if next_seq == Some(pos) {
                fail(
                    Some(pos),
                    FailureKind::EntriesReordered,
                    format!("entries {pos} and {seq} stand in each other's place"),
                )
            } else {
                fail(
                    Some(pos),
                    FailureKind::EntryMissing,
                    format!("position {pos} holds entry {seq}: entry {pos} was removed"),
                )
            };
        }
        let time = time_field(&m, pos, "time")?;
        // Times never go back, except in a `clock` entry that records the
        // system clock being set back: its `previous` is the time before
        // it (docs/LEDGER.md §2.3).
        let recorded_jump = m.get("kind").and_then(Value::as_str) == Some("clock")
            && m.get("direction").and_then(Value::as_str) == Some("behind")
            && m.get("previous")
                .and_then(Value::as_str)
                .and_then(parse_rfc3339)
                == Some(prev_time);
        if time < prev_time && !recorded_jump {
            return fail(
                Some(pos),
                FailureKind::TimeWentBack,
                "its time is earlier than the entry before it",
            );
        }
        prev_time = time;
        str_field(&m, pos, "actor")?;
        let kind = str_field(&m, pos, "kind")?;
        if (pos == 0) != (kind == "genesis") {
            return fail(
                Some(pos),
                FailureKind::Malformed,
                "the first entry, and only it, is the genesis entry",
            );
        }
        let leaf = merkle::leaf_hash(&bytes);
        if pos == 0 {
            if let Some(pin) = opts.pin {
                if pin != leaf {
                    return fail(
                        Some(0),
                        FailureKind::PinMismatch,
                        format!(
                            "the genesis entry's fingerprint is {}, not the pinned {}: this is another vault, or its genesis was rewritten",
                            hex::encode(leaf),
                            hex::encode(pin)
                        ),
                    );
                }
            }
            genesis_leaf = leaf;
            genesis_ledger_key = str_field(&m, 0, "ledger_fingerprint")?.to_string();
            verifier = Some(ledger_verifier(&m, opts.cert.as_ref())?);
            origin = ledger::origin(str_field(&m, 0, "vault")?);
        }
        frontier.push(leaf);
        leaves.push(leaf);
        let size = pos + 1;
        let (v, _) = verifier.as_ref().expect("set at genesis");
        // Every stored checkpoint must be the root of the prefix it names.
        let mut seen_here = false;
        while let Some(cp) = checkpoints.next_if(|c| {
            c.as_ref()
                .ok()
                .and_then(|c| ledger::parse_checkpoint(&c.body).ok())
                .is_none_or(|p| p.size <= size)
        }) {
            let cp = cp.map_err(io_fail)?;
            let parsed = check_checkpoint(&cp, v, &origin, which)?;
            checked += 1;
            if parsed.size == size {
                seen_here = true;
                if parsed.root != frontier.root() {
                    // With every checkpoint kept, the one before matched,
                    // so this entry is the changed one. A bundle has only
                    // the latest, which cannot say which entry changed.
                    return if source.keeps_every_checkpoint() {
                        fail(
                            Some(pos),
                            FailureKind::CheckpointNotPrefix,
                            format!(
                                "the signed checkpoint of size {size} has another root: this entry was changed"
                            ),
                        )
                    } else {
                        fail(
                            None,
                            FailureKind::RootMismatch,
                            format!(
                                "the {size} entries do not hash to the signed root {}: an entry was changed",
                                STANDARD.encode(parsed.root)
                            ),
                        )
                    };
                }
            }
        }
        if source.keeps_every_checkpoint() && !seen_here {
            return fail(
                Some(pos),
                FailureKind::MissingCheckpoint,
                format!("no checkpoint of size {size} is stored"),
            );
        }
        pos += 1;
    }
    let n = pos;
    if n == 0 {
        return fail(
            None,
            FailureKind::Malformed,
            "the ledger is empty: no genesis entry",
        );
    }
    let (v, fpr) = verifier.expect("n > 0");
    let latest = source.latest().map_err(io_fail)?;
    let Some(latest) = latest else {
        return fail(
            None,
            FailureKind::NoCheckpoint,
            "there is no signed checkpoint",
        );
    };
    let cp = check_checkpoint(&latest, &v, &origin, "the latest checkpoint")?;
    if cp.size > n {
        return fail(
            None,
            FailureKind::Truncated,
            format!(
                "the signed checkpoint covers {} entries but only {n} are present",
                cp.size
            ),
        );
    }
    if cp.size < n {
        return fail(
            Some(cp.size),
            FailureKind::UnsignedTail,
            format!(
                "entries {}..{} are not covered by the signed checkpoint of size {}",
                cp.size,
                n - 1,
                cp.size
            ),
        );
    }
    if cp.root != frontier.root() {
        return fail(
            None,
            FailureKind::RootMismatch,
            format!(
                "the {n} entries do not hash to the signed root {}: an entry was changed",
                STANDARD.encode(cp.root)
            ),
        );
    }
    if let Some(s) = saved {
        check_against_state(s, &cp, &leaves)?;
    }
    for path in &opts.checkpoints {
        super::collected::check_collected(path, &v, &origin, &cp, &leaves)?;
    }
    Ok(Integrity {
        checkpoint: cp,
        checkpoints_checked: checked,
        ledger_fingerprint: fpr,
        genesis_leaf,
        genesis_ledger_key,
    })
}

/// The ledger must extend the saved `{size, root}`: an RFC 6962 §2.1.2
/// consistency proof from the saved tree to this one must verify.
fn check_against_state(saved: &State, cp: &Checkpoint, leaves: &[Hash]) -> Result<(), Failure> {
    if saved.origin != cp.origin {
        return fail(
            None,
            FailureKind::OriginMismatch,
            format!(
                "the saved state is for {:?}, this ledger is {:?}",
                saved.origin, cp.origin
            ),
        );
    }
    let saved_root = saved.root_hash()?;
    if cp.size < saved.size {
        return fail(
            None,
            FailureKind::Rollback,
            format!(
                "the ledger has {} entries, but {} were seen before: it was truncated or restored from an older copy",
                cp.size, saved.size
            ),
        );
    }
    let proof = merkle::consistency_proof(leaves, saved.size as usize);
    if !merkle::verify_consistency(saved.size, cp.size, &saved_root, &cp.root, &proof) {
        return fail(
            None,
            FailureKind::Fork,
            format!(
                "the first {} entries differ from the ones seen before: history was rewritten",
                saved.size
            ),
        );
    }
    Ok(())
}
