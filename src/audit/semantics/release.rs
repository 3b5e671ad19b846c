//! Rule 18: a release, approved by a quorum, of an item a deposit signed.

use super::*;
use crate::ledger::statements::{ReceiptFacts, receipt_statement};

/// The fields of a signed approval statement.
const APPROVAL_FIELDS: [&str; 8] = [
    "type", "vault", "epoch", "secret", "reason", "nonce", "expires", "officer",
];

impl Semantics {
    pub(super) fn release(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        self.outside_gap(seq, "release")?;
        let secret = str_field(m, seq, "secret")?.to_string();
        let index = u64_field(m, seq, "index")?;
        let digest = str_field(m, seq, "digest")?;
        let reason = str_field(m, seq, "reason")?;
        let nonce = str_field(m, seq, "nonce")?;
        let time = time_field(m, seq, "time")?;
        if u64_field(m, seq, "epoch")? != self.epoch {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                "the release names another epoch",
            );
        }
        let info = self.secrets.get(&secret).map_or_else(
            || {
                fail(
                    Some(seq),
                    FailureKind::UnknownItem,
                    format!("secret {} was never deposited", quoted(&secret)),
                )
            },
            Ok,
        )?;
        if info.digests.get(index as usize).map(String::as_str) != Some(digest) {
            return fail(
                Some(seq),
                FailureKind::UnknownItem,
                format!(
                    "{secret} #{} with digest {digest} is not an item any deposit signed",
                    index.saturating_add(1)
                ),
            );
        }
        let mut needed = self.threshold.max(info.min_approvals);
        // Rule 18: a release soon after the secret's previous one needs one
        // more approver (capped at the officers there are, never below the
        // usual quorum); a re-release repeats a release, so it does not.
        let soon = !m.contains_key("re_release_of")
            && info
                .rules
                .min_interval
                .zip(info.last_release)
                .is_some_and(|(interval, last)| time.saturating_sub(last) < interval as i64);
        if soon {
            needed = needed.max((needed + 1).min(self.officers.len() as u64));
        }
        if let Some(first) = self.nonces.get(nonce) {
            return fail(
                Some(seq),
                FailureKind::ApprovalReplayed,
                format!("the nonce was already used by the release in entry {first}"),
            );
        }
        let check = |s: &Self, officer: &str, st: &Value| {
            let st = st.as_object().map_or_else(
                || {
                    fail(
                        Some(seq),
                        FailureKind::Malformed,
                        "statement is not an object",
                    )
                },
                Ok,
            )?;
            exact_fields(st, seq, "an approval statement", |k| {
                APPROVAL_FIELDS.contains(&k)
            })?;
            let field = |k: &str| st.get(k).and_then(Value::as_str);
            let same = field("type") == Some("breakglass-approval/v1")
                && field("vault") == Some(&s.vault)
                && st.get("epoch").and_then(Value::as_u64) == Some(s.epoch)
                && field("officer") == Some(officer)
                && field("secret") == Some(&secret)
                && field("reason") == Some(reason);
            if !same {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalMismatch,
                    format!("{officer}'s signed statement is for another release"),
                );
            }
            Self::nonce_and_expiry(seq, officer, st, nonce, time)
        };
        let approvers = self.approvals(seq, m, Approvals::RELEASE, check)?;
        if (approvers.len() as u64) < needed {
            return fail(
                Some(seq),
                FailureKind::NoQuorum,
                format!(
                    "{} distinct officers approved, {needed} needed{}",
                    approvers.len(),
                    if soon {
                        " (a release within the secret's minimum interval needs one more)"
                    } else {
                        ""
                    }
                ),
            );
        }
        let actor = approvers.join("+");
        if str_field(m, seq, "actor")? != actor {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("the actor is not the approvers joined by \"+\" ({actor})"),
            );
        }
        let again = match m.get("re_release_of") {
            None => None,
            Some(v) => Some(v.as_u64().map_or_else(
                || malformed(seq, "re_release_of is not an entry number"),
                Ok,
            )?),
        };
        let key = (secret.clone(), index);
        match (self.items.get(&key), again) {
            (None, None) => {}
            (Some(prev), Some(r)) if prev.release_seq == r && !prev.confirmed => {}
            (Some(prev), _) => {
                return fail(
                    Some(seq),
                    FailureKind::DoubleRelease,
                    format!(
                        "{secret} #{} was already released by entry {}{}",
                        index.saturating_add(1),
                        prev.release_seq,
                        if prev.confirmed {
                            " and confirmed seen"
                        } else {
                            ""
                        }
                    ),
                );
            }
            (None, Some(r)) => {
                return fail(
                    Some(seq),
                    FailureKind::DoubleRelease,
                    format!("re-release of entry {r}, which did not release this item"),
                );
            }
        }
        // I10: the item a release takes is the one the ledger's history
        // gives next: one released but never confirmed seen, else the first
        // never released.
        let next = self.next_item(&secret);
        if next != Some(index) {
            return fail(
                Some(seq),
                FailureKind::WrongItem,
                format!(
                    "it takes {secret} #{}, but the next item the ledger allows is {}",
                    index.saturating_add(1),
                    next.map_or("none".into(), |n| format!("#{}", n.saturating_add(1)))
                ),
            );
        }
        let vault = self.vault.clone();
        let facts = ReceiptFacts {
            vault: &vault,
            epoch: self.epoch,
            secret: &secret,
            index,
            digest,
            nonce,
            approvers: &approvers,
            re_release_of: again,
            time: str_field(m, seq, "time")?,
        };
        self.receipts(seq, m, facts.approvers, &receipt_statement(&facts))?;
        self.items.insert(
            key,
            ItemInfo {
                release_seq: seq,
                confirmed: false,
            },
        );
        self.nonces.insert(nonce.to_string(), seq);
        if let Some(info) = self.secrets.get_mut(&secret) {
            info.last_release = Some(time);
        }
        self.releases.insert(
            seq,
            ReleaseInfo {
                secret,
                index,
                actor,
                time,
                reviewed: None,
            },
        );
        self.release_count += 1;
        Ok(())
    }

    /// The item a release of `secret` takes next, by the ledger's history:
    /// of the items not void, one released but never confirmed seen, else
    /// the first never released.
    fn next_item(&self, secret: &str) -> Option<u64> {
        let info = self.secrets.get(secret)?;
        let live = || (0..info.digests.len() as u64).filter(|i| !info.void.contains(i));
        let state = |i: u64| self.items.get(&(secret.to_string(), i));
        live()
            .find(|&i| state(i).is_some_and(|s| !s.confirmed))
            .or_else(|| live().find(|&i| state(i).is_none()))
    }
}
