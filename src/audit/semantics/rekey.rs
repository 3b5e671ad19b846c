//! Rule 19: a ceremony (officer add, officer remove, rekey) and what it
//! carries into the new epoch.

use super::*;
use crate::ledger::statements::{
    CeremonyReceiptFacts, ceremony_inherits, ceremony_receipt_statement,
};

/// The fields of a signed ceremony statement.
const CEREMONY_FIELDS: [&str; 12] = [
    "type",
    "vault",
    "epoch",
    "ceremony",
    "new_epoch",
    "threshold",
    "officers",
    "vault_key_fingerprint",
    "kdf",
    "nonce",
    "expires",
    "officer",
];

impl Semantics {
    /// A ceremony: approved by a quorum of the current officers, each
    /// signing this very change; it carries every secret's state into the
    /// new epoch, whose officers, threshold and keys it names.
    pub(super) fn rekey(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        self.outside_gap(seq, "ceremony")?;
        let epoch = u64_field(m, seq, "epoch")?;
        if epoch != self.epoch + 1
            || str_field(m, seq, "vault")? != self.vault
            || str_field(m, seq, "ledger_fingerprint")? != self.ledger_key
        {
            return malformed(
                seq,
                "a ceremony opens the next epoch of this vault, under its ledger key",
            );
        }
        let ledger_cert = PublicCert::from_ledger(str_field(m, seq, "ledger_cert")?.as_bytes());
        if ledger_cert.map(|(c, _)| c.fingerprint()).ok().as_deref()
            != Some(self.ledger_key.as_str())
        {
            return malformed(seq, "ledger_cert is not the ledger key");
        }
        let ceremony = str_field(m, seq, "ceremony")?;
        let list = officer_list(m, seq)?;
        let new_fprs: BTreeMap<String, String> = list
            .iter()
            .map(|(n, f, ..)| (n.clone(), f.clone()))
            .collect();
        let names_of = |k: &str| -> Result<Vec<String>, Failure> {
            m.get(k)
                .and_then(Value::as_array)
                .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect())
                .map_or_else(|| malformed(seq, format!("{k} is not a list of names")), Ok)
        };
        let mut added = names_of("added")?;
        let mut removed = names_of("removed")?;
        let mut want_added: Vec<String> = new_fprs
            .keys()
            .filter(|n| !self.fingerprints.contains_key(*n))
            .cloned()
            .collect();
        let mut want_removed: Vec<String> = self
            .fingerprints
            .keys()
            .filter(|n| !new_fprs.contains_key(*n))
            .cloned()
            .collect();
        for v in [&mut added, &mut removed, &mut want_added, &mut want_removed] {
            v.sort();
        }
        if added != want_added || removed != want_removed {
            return malformed(seq, "added and removed do not match the change of officers");
        }
        if new_fprs
            .iter()
            .any(|(n, f)| self.fingerprints.get(n).is_some_and(|old| old != f))
        {
            return malformed(seq, "an officer who stays has another certificate");
        }
        if self.certs.iter().any(|(n, _)| added.contains(n)) {
            return malformed(seq, "a name is enrolled a second time");
        }
        let fits_kind = match ceremony {
            "officer_add" => added.len() == 1 && removed.is_empty(),
            "officer_remove" => removed.len() == 1 && added.is_empty(),
            "rekey" => true,
            _ => false,
        };
        if !fits_kind {
            return malformed(
                seq,
                format!("a {} ceremony cannot make this change", quoted(ceremony)),
            );
        }
        let threshold = u64_field(m, seq, "threshold")?;
        if threshold < 2 || threshold as usize > list.len() {
            return malformed(seq, "threshold out of range");
        }
        let vault_key = vault_key(m, seq)?;
        if kdf_field(m, seq)? != self.kdf {
            return malformed(seq, "a ceremony changes the vault's Argon2 settings");
        }
        let nonce = str_field(m, seq, "nonce")?;
        let time = time_field(m, seq, "time")?;
        if let Some(first) = self.nonces.get(nonce) {
            return fail(
                Some(seq),
                FailureKind::ApprovalReplayed,
                format!("the nonce was already used by entry {first}"),
            );
        }
        let check = |s: &Self, officer: &str, st: &Value| {
            // The shared loop made sure it is an object.
            let Some(st) = st.as_object() else {
                return malformed(seq, "approval without statement");
            };
            exact_fields(st, seq, "a ceremony statement", |k| {
                CEREMONY_FIELDS.contains(&k)
            })?;
            let field = |k: &str| st.get(k).and_then(Value::as_str);
            let signed_officers: Option<BTreeMap<String, String>> =
                st.get("officers").and_then(Value::as_object).and_then(|o| {
                    o.iter()
                        .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                });
            let same = field("type") == Some("breakglass-ceremony/v1")
                && field("vault") == Some(&s.vault)
                && st.get("epoch").and_then(Value::as_u64) == Some(s.epoch)
                && st.get("new_epoch").and_then(Value::as_u64) == Some(epoch)
                && field("ceremony") == Some(ceremony)
                && st.get("threshold").and_then(Value::as_u64) == Some(threshold)
                && field("vault_key_fingerprint") == Some(&vault_key)
                && st.get("kdf").and_then(KdfParams::from_json) == Some(s.kdf)
                && field("officer") == Some(officer)
                && signed_officers.as_ref() == Some(&new_fprs);
            if !same {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalMismatch,
                    format!("{officer}'s signed statement is for another ceremony"),
                );
            }
            Self::nonce_and_expiry(seq, officer, st, nonce, time)
        };
        let approvers = self.approvals(seq, m, Approvals::CEREMONY, check)?;
        if (approvers.len() as u64) < self.threshold {
            return fail(
                Some(seq),
                FailureKind::NoQuorum,
                format!(
                    "{} distinct officers approved the ceremony, {} needed",
                    approvers.len(),
                    self.threshold
                ),
            );
        }
        if str_field(m, seq, "actor")? != approvers.join("+") {
            return malformed(seq, "the actor is not the approvers joined by \"+\"");
        }
        // Every officer who neither approved nor joined gets a delivered
        // share, and only they do.
        let pending = m.get("pending").and_then(Value::as_object);
        let want: Vec<&String> = new_fprs
            .keys()
            .filter(|n| !approvers.contains(&n.as_str()) && !added.contains(n))
            .collect();
        let fits = pending.is_some_and(|p| {
            p.len() == want.len()
                && want
                    .iter()
                    .all(|n| p.get(*n).and_then(Value::as_str).is_some_and(is_digest))
        });
        if !fits {
            return malformed(
                seq,
                "pending does not deliver a share to exactly the absent officers",
            );
        }
        self.carry_secrets(seq, m)?;
        let Some(inherits) = ceremony_inherits(m) else {
            return malformed(seq, "the entry cannot be encoded");
        };
        let receipt = ceremony_receipt_statement(&CeremonyReceiptFacts {
            vault: &self.vault,
            epoch: self.epoch,
            new_epoch: epoch,
            ceremony,
            nonce,
            approvers: &approvers,
            inherits: &inherits,
            time: str_field(m, seq, "time")?,
        });
        self.receipts(seq, m, &approvers, &receipt)?;
        self.nonces.insert(nonce.to_string(), seq);
        self.epoch = epoch;
        self.threshold = threshold;
        self.vault_key = vault_key;
        self.officers.clear();
        self.fingerprints.clear();
        for (name, fpr, armored, v) in list {
            if added.contains(&name) {
                self.certs.push((name.clone(), armored));
            }
            self.fingerprints.insert(name.clone(), fpr);
            self.officers.insert(name, v);
        }
        Ok(())
    }

    /// A ceremony's `secrets` must carry every secret exactly as it stands:
    /// kind, minimum approvals, every item and its state; an item already
    /// seen keeps its digest, the others are re-encrypted.
    fn carry_secrets(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let Some(list) = m.get("secrets").and_then(Value::as_array) else {
            return malformed(seq, "secrets is not a list");
        };
        if list.len() != self.secrets.len() {
            return malformed(seq, "the ceremony does not carry every secret");
        }
        let mut carried: HashMap<String, Vec<String>> = HashMap::new();
        for s in list {
            let Some(s) = s.as_object() else {
                return malformed(seq, "a carried secret is not an object");
            };
            exact_fields(s, seq, "a carried secret", |k| {
                matches!(k, "name" | "kind" | "min_approvals" | "policy" | "items")
            })?;
            let name = s.get("name").and_then(Value::as_str).unwrap_or_default();
            if carried.contains_key(name) {
                return malformed(seq, format!("the ceremony carries {} twice", quoted(name)));
            }
            let Some(info) = self.secrets.get(name) else {
                return malformed(
                    seq,
                    format!(
                        "the ceremony carries {}, which was never deposited",
                        quoted(name)
                    ),
                );
            };
            let min = match s.get("min_approvals") {
                Some(Value::Null) => 0,
                Some(v) if v.is_u64() => v.as_u64().unwrap_or_default(),
                _ => return malformed(seq, format!("{name}'s min_approvals is not a number")),
            };
            let items = s.get("items").and_then(Value::as_array);
            let same = s.get("kind").and_then(Value::as_str) == Some(info.kind.as_str())
                && min == info.min_approvals
                && s.get("policy") == Some(&info.policy)
                && items.is_some_and(|i| i.len() == info.digests.len());
            if !same {
                return malformed(
                    seq,
                    format!("the ceremony changes {name}'s kind, minimum or items"),
                );
            }
            let mut digests = Vec::new();
            for (i, it) in items.into_iter().flatten().enumerate() {
                let Some(it) = it.as_object() else {
                    return malformed(seq, "a carried item is not an object");
                };
                exact_fields(it, seq, "a carried item", |k| {
                    matches!(k, "digest" | "state" | "release")
                })?;
                if it.get("release").is_some_and(|r| !r.is_u64()) {
                    return malformed(seq, "a carried item's release is not an entry number");
                }
                let d = it
                    .get("digest")
                    .and_then(Value::as_str)
                    .filter(|d| is_digest(d));
                let state = it.get("state").and_then(Value::as_str);
                let release = it.get("release").and_then(Value::as_u64);
                let now = self.items.get(&(name.to_string(), i as u64));
                let unchanged = d == Some(info.digests[i].as_str());
                // A void item is never released again, so it keeps its
                // digest, with its latest release if it had one (rule 19).
                let fits = match (info.void.contains(&(i as u64)), now, state) {
                    (true, _, Some("void")) => release == now.map(|r| r.release_seq) && unchanged,
                    (false, None, Some("available")) => release.is_none(),
                    (false, Some(r), Some("released")) => {
                        !r.confirmed && release == Some(r.release_seq)
                    }
                    (false, Some(r), Some("seen")) => {
                        r.confirmed && release == Some(r.release_seq) && unchanged
                    }
                    _ => false,
                };
                match (fits, d) {
                    (true, Some(d)) => digests.push(d.to_string()),
                    _ => {
                        return malformed(
                            seq,
                            format!(
                                "the ceremony carries {name} #{} in another state than the ledger's",
                                i + 1
                            ),
                        );
                    }
                }
            }
            carried.insert(name.to_string(), digests);
        }
        for (name, digests) in carried {
            if let Some(info) = self.secrets.get_mut(&name) {
                info.digests = digests;
            }
        }
        Ok(())
    }
}
