//! Rule 25b: a retirement, a quorum voiding what is left of a code set.

use super::*;

impl Semantics {
    pub(super) fn retired(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let secret = str_field(m, seq, "secret")?;
        if names::secret(secret).is_err() {
            return malformed(
                seq,
                format!("{} is not a valid secret name", quoted(secret)),
            );
        }
        let nonce = str_field(m, seq, "nonce")?;
        let voided = u64_field(m, seq, "voided")?;
        let bad = |why: String| fail(Some(seq), FailureKind::BadLifecycle, why);
        let Some(info) = self.secrets.get(secret) else {
            return bad(format!("secret {} was never deposited", quoted(secret)));
        };
        if info.kind != "codes" {
            return bad(format!("{secret} is a credential: only codes are retired"));
        }
        // What is left: every item neither void nor confirmed seen.
        let left: Vec<u64> = (0..info.digests.len() as u64)
            .filter(|i| {
                !info.void.contains(i)
                    && !self
                        .items
                        .get(&(secret.to_string(), *i))
                        .is_some_and(|s| s.confirmed)
            })
            .collect();
        if left.is_empty() {
            return bad(format!(
                "every item of {secret} is void or seen: the retirement voids nothing"
            ));
        }
        if voided != left.len() as u64 {
            return bad(format!(
                "it voids {voided} items, but {secret} has {} neither void nor seen",
                left.len()
            ));
        }
        let needed = self.threshold.max(info.min_approvals);
        if let Some(first) = self.nonces.get(nonce) {
            return fail(
                Some(seq),
                FailureKind::ApprovalReplayed,
                format!("the nonce was already used by entry {first}"),
            );
        }
        let check = |s: &Self, officer: &str, st: &Value| {
            let expected = serde_json::json!({
                "type": "breakglass-retire/v1",
                "vault": s.vault,
                "epoch": s.epoch,
                "secret": secret,
                "voided": voided,
                "nonce": nonce,
                "officer": officer,
                "time": str_field(m, seq, "time")?,
            });
            if *st != expected {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalMismatch,
                    format!("{officer}'s approval is for another retirement"),
                );
            }
            Ok(())
        };
        let approvers = self.approvals(seq, m, Approvals::RETIRE, check)?;
        // The quorum a release of the secret needs: one officer's
        // passphrase must not take the emergency path away (§2.7).
        if (approvers.len() as u64) < needed {
            return fail(
                Some(seq),
                FailureKind::NoQuorum,
                format!(
                    "{} officers approved the retirement, {needed} needed",
                    approvers.len()
                ),
            );
        }
        if str_field(m, seq, "actor")? != approvers.join("+") {
            return malformed(seq, "the actor is not the approvers joined by \"+\"");
        }
        self.nonces.insert(nonce.to_string(), seq);
        if let Some(info) = self.secrets.get_mut(secret) {
            info.void.extend(left);
        }
        Ok(())
    }
}
