//! Rule 20: how a release's display ended, signed by one of its approvers.

use super::*;
use crate::ledger::statements::{DisplayFacts, display_statement};

impl Semantics {
    pub(super) fn displayed(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let r = u64_field(m, seq, "release")?;
        let secret = str_field(m, seq, "secret")?;
        let index = u64_field(m, seq, "index")?;
        let outcome = str_field(m, seq, "outcome")?;
        let signer = str_field(m, seq, "signer")?;
        let Some(ReleaseInfo {
            secret: s,
            index: i,
            actor,
            ..
        }) = self.releases.get(&r)
        else {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("entry {r} is not a release"),
            );
        };
        if (s.as_str(), *i) != (secret, index) || str_field(m, seq, "actor")? != actor {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!(
                    "entry {r} is not the release of {secret} #{} by its actor",
                    index.saturating_add(1)
                ),
            );
        }
        if !matches!(outcome, "confirmed" | "stdout" | "timeout" | "dismissed") {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("unknown display outcome {}", quoted(outcome)),
            );
        }
        if let Some(first) = self.displays.get(&r) {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("the display of entry {r} was already recorded by entry {first}"),
            );
        }
        // The outcome is an approver's word: the ledger key alone cannot
        // turn a code seen into one that may be released again.
        if !actor.split('+').any(|a| a == signer) {
            return fail(
                Some(seq),
                FailureKind::BadReceipt,
                format!("the display is signed by {signer}, who did not approve entry {r}"),
            );
        }
        let statement = display_statement(&DisplayFacts {
            vault: &self.vault,
            epoch: self.epoch,
            release: r,
            secret,
            index,
            outcome,
            officer: signer,
            time: str_field(m, seq, "time")?,
        });
        let Some(sig) = m.get("signature").and_then(Value::as_str) else {
            return fail(
                Some(seq),
                FailureKind::BadReceipt,
                "the display has no signature",
            );
        };
        let v = self.officer(seq, signer, FailureKind::BadReceipt)?;
        if v.verify(&statement_bytes(&statement), sig.as_bytes())
            .is_err()
        {
            return fail(
                Some(seq),
                FailureKind::BadReceipt,
                format!(
                    "{signer}'s display statement does not verify: the outcome is not the one signed"
                ),
            );
        }
        self.signatures += 1;
        self.displays.insert(r, seq);
        if matches!(outcome, "confirmed" | "stdout") {
            let key = (secret.to_string(), index);
            if let Some(item) = self.items.get_mut(&key).filter(|i| i.release_seq == r) {
                item.confirmed = true;
            }
        }
        Ok(())
    }
}
