//! Rules 21, 24 and 24b: a restore, its gap, and the gap's acknowledgement.

use super::*;

impl Semantics {
    /// A `restored` entry (rule 24): its numbers agree with the ledger, its
    /// evidence is a checkpoint the entries before it extend, and it leaves a
    /// gap exactly when nothing proves the restored ledger complete; a gap
    /// then waits for its acknowledgement. `prior` is the root of the entries
    /// before it.
    pub(super) fn restored(
        &mut self,
        seq: u64,
        m: &Map<String, Value>,
        prior: &Hash,
    ) -> Result<(), Failure> {
        let bad = |why: String| fail(Some(seq), FailureKind::BadRestore, why);
        let backup = u64_field(m, seq, "backup_entries")?;
        let replayed = u64_field(m, seq, "replayed")?;
        if backup == 0 || backup.checked_add(replayed) != Some(seq) {
            return bad(format!(
                "it restores {backup} entries from the backup and replays {replayed}, but {seq} entries come before it"
            ));
        }
        let Some(gap) = m.get("gap").and_then(Value::as_bool) else {
            return malformed(seq, "gap is not true or false");
        };
        let reached = match m.get("evidence") {
            Some(Value::Null) => None,
            Some(Value::Object(e)) => {
                exact_fields(e, seq, "the evidence", |k| {
                    matches!(k, "size" | "root" | "proof")
                })?;
                let size = u64_field(e, seq, "size")?;
                let root = hash_field(e.get("root"), seq, "the evidence's root")?;
                let Some(proof) = e.get("proof").and_then(Value::as_array) else {
                    return malformed(seq, "the evidence's proof is not a list");
                };
                let proof = proof
                    .iter()
                    .map(|h| hash_field(Some(h), seq, "a proof hash"))
                    .collect::<Result<Vec<_>, _>>()?;
                if size == 0 || !merkle::verify_consistency(size, seq, &root, prior, &proof) {
                    return bad(format!(
                        "its evidence does not prove that the {seq} entries before it extend the checkpoint of size {size}"
                    ));
                }
                Some(size)
            }
            _ => return malformed(seq, "evidence is not an object or null"),
        };
        let beyond = match m.get("beyond") {
            Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(b) if b > seq => Some(b),
                _ => {
                    return bad(format!(
                        "beyond names a checkpoint the {seq} entries before it would reach"
                    ));
                }
            },
            None => return malformed(seq, "no beyond"),
        };
        if gap != (reached.is_none() || beyond.is_some()) {
            return bad(if gap {
                "it claims a gap, yet its evidence proves the restored ledger complete".into()
            } else {
                "it claims no gap, but no evidence proves the restored ledger complete".into()
            });
        }
        // A gap starts a new origin (§5.1), which the entry names.
        let origin = match gap {
            true => Value::from(ledger::restored_origin(&self.vault, seq)),
            false => Value::Null,
        };
        if m.get("origin") != Some(&origin) {
            return bad(format!("its origin is not {origin}"));
        }
        if gap {
            self.gaps.insert(seq);
        }
        Ok(())
    }

    /// Refuses a release or ceremony while a restore's gap waits for its
    /// acknowledgement (rule 24b): the restored ledger may lack releases,
    /// so its items may have been shown already.
    pub(super) fn outside_gap(&self, seq: u64, what: &str) -> Result<(), Failure> {
        match self.gaps.iter().min() {
            None => Ok(()),
            Some(r) => fail(
                Some(seq),
                FailureKind::UnacknowledgedGap,
                format!(
                    "a {what} follows the restore in entry {r}, whose gap no quorum acknowledged"
                ),
            ),
        }
    }

    /// A quorum's acknowledgement of a restore without replay: each
    /// approval signed by a current officer, for this vault, epoch and
    /// restore, with the entry's nonce; at least the threshold of them.
    pub(super) fn gap_acknowledged(
        &mut self,
        seq: u64,
        m: &Map<String, Value>,
    ) -> Result<(), Failure> {
        let restored = u64_field(m, seq, "restored")?;
        let nonce = str_field(m, seq, "nonce")?;
        if !self.gaps.remove(&restored) {
            return malformed(
                seq,
                format!(
                    "entry {restored} is not a restore without replay waiting for acknowledgement"
                ),
            );
        }
        if let Some(first) = self.nonces.get(nonce) {
            return fail(
                Some(seq),
                FailureKind::ApprovalReplayed,
                format!("the nonce was already used by entry {first}"),
            );
        }
        let check = |s: &Self, officer: &str, st: &Value| {
            let expected = serde_json::json!({
                "type": "breakglass-gap/v1",
                "vault": s.vault,
                "epoch": s.epoch,
                "restored": restored,
                "nonce": nonce,
                "officer": officer,
                "time": str_field(m, seq, "time")?,
            });
            if *st != expected {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalMismatch,
                    format!("{officer}'s acknowledgement is for something else"),
                );
            }
            Ok(())
        };
        let approvers = self.approvals(seq, m, Approvals::GAP, check)?;
        if (approvers.len() as u64) < self.threshold {
            return fail(
                Some(seq),
                FailureKind::NoQuorum,
                format!(
                    "{} officers acknowledged the gap, {} needed",
                    approvers.len(),
                    self.threshold
                ),
            );
        }
        if str_field(m, seq, "actor")? != approvers.join("+") {
            return malformed(seq, "the actor is not the approvers joined by \"+\"");
        }
        self.nonces.insert(nonce.to_string(), seq);
        Ok(())
    }
}
