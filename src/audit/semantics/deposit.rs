//! Rule 17: a deposit, signed by its officer, appending a secret's items,
//! and the lifecycle policy (§2.7) its first deposit fixes.

use super::*;

/// The fields of a signed deposit statement, in the order of §3.2.
const DEPOSIT_FIELDS: [&str; 13] = [
    "type",
    "vault",
    "epoch",
    "secret",
    "kind",
    "first_index",
    "count",
    "items",
    "min_approvals",
    "vault_key_fingerprint",
    "officer",
    "time",
    "policy",
];

/// What the verifier needs of a secret's policy (§2.7); the rest of it
/// (`reorder_below`, `hours`) only has to be within bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Policy {
    /// Seconds within which a release of the credential is to be rotated.
    pub(super) rotate_within: Option<u64>,
    /// Seconds within which each release is to be reviewed.
    pub(super) review_within: u64,
    /// A release less than this many seconds after the secret's previous
    /// one needs one approval more (rule 18).
    pub(super) min_interval: Option<u64>,
}

impl Policy {
    /// Reads a policy of a secret of `kind` (§2.7): exactly its five
    /// fields, each within its bounds, `rotate_within` `null` for codes and
    /// `reorder_below` `null` for a credential. `None` if it is not one.
    pub(super) fn read(v: &Value, kind: &str) -> Option<Policy> {
        const FIELDS: [&str; 5] = [
            "rotate_within",
            "reorder_below",
            "review_within",
            "min_interval",
            "hours",
        ];
        let m = v.as_object()?;
        if m.len() != FIELDS.len() || !FIELDS.iter().all(|f| m.contains_key(*f)) {
            return None;
        }
        // `null`, or an integer within `range`.
        let optional = |k: &str, range: std::ops::RangeInclusive<u64>| match &m[k] {
            Value::Null => Some(None),
            v => v.as_u64().filter(|n| range.contains(n)).map(Some),
        };
        let rotate_within = optional("rotate_within", 3600..=31_622_400)?;
        let reorder_below = optional("reorder_below", 1..=1000)?;
        let review_within = m["review_within"]
            .as_u64()
            .filter(|n| (3600..=7_776_000).contains(n))?;
        let min_interval = optional("min_interval", 60..=31_622_400)?;
        let hours_ok = match &m["hours"] {
            Value::Null => true,
            Value::Object(h) => {
                let at = |k: &str| {
                    h.get(k)
                        .and_then(Value::as_str)
                        .filter(|t| is_time_of_day(t))
                };
                h.len() == 2 && matches!((at("from"), at("to")), (Some(f), Some(t)) if f != t)
            }
            _ => false,
        };
        let kind_ok = match kind {
            "codes" => rotate_within.is_none(),
            _ => reorder_below.is_none(),
        };
        (hours_ok && kind_ok).then_some(Policy {
            rotate_within,
            review_within,
            min_interval,
        })
    }
}

/// `HH:MM`, a UTC time of day from `00:00` to `23:59` (§2.7 `hours`).
fn is_time_of_day(t: &str) -> bool {
    let b = t.as_bytes();
    let two = |i: usize| {
        let (h, l) = (b[i], b[i + 1]);
        (h.is_ascii_digit() && l.is_ascii_digit()).then(|| (h - b'0') * 10 + (l - b'0'))
    };
    b.len() == 5 && b[2] == b':' && two(0).is_some_and(|h| h < 24) && two(3).is_some_and(|m| m < 60)
}

impl Semantics {
    pub(super) fn deposit(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let actor = str_field(m, seq, "actor")?;
        let secret = str_field(m, seq, "secret")?;
        if names::secret(secret).is_err() {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("{} is not a valid secret name", quoted(secret)),
            );
        }
        let count = u64_field(m, seq, "count")?;
        let total = u64_field(m, seq, "total")?;
        let st = self.actor_statement(
            seq,
            m,
            ("deposit", "the deposit"),
            FailureKind::BadDepositSignature,
            &DEPOSIT_FIELDS,
        )?;
        let digests: Option<Vec<String>> =
            st.get("items").and_then(Value::as_array).and_then(|a| {
                a.iter()
                    .map(|d| d.as_str().filter(|d| is_digest(d)).map(str::to_owned))
                    .collect()
            });
        let prev = self.secrets.get(secret);
        let prev_total = prev.map_or(0, |s| s.digests.len() as u64);
        // Every statement field is there, and a minimum is a number or
        // null, in the entry and in what the depositor signed.
        if let Some(f) = DEPOSIT_FIELDS.iter().find(|f| !st.contains_key(**f)) {
            return malformed(seq, format!("the deposit statement has no {}", quoted(f)));
        }
        let typed = |v: Option<&Value>| v.is_some_and(|v| v.is_null() || v.is_u64());
        if !typed(m.get("min_approvals")) || !typed(st.get("min_approvals")) {
            return malformed(seq, "min_approvals is neither a number nor null");
        }
        let entry_min = m.get("min_approvals").filter(|v| !v.is_null());
        let signed_min = st.get("min_approvals").filter(|v| !v.is_null());
        let field = |k: &str| st.get(k).and_then(Value::as_str);
        let matches = field("type") == Some("breakglass-deposit/v3")
            && field("vault") == Some(&self.vault)
            && st.get("epoch").and_then(Value::as_u64) == Some(self.epoch)
            && field("secret") == Some(secret)
            && field("officer") == Some(actor)
            // The depositor's word on when: the entry's time (§2.3).
            && field("time") == m.get("time").and_then(Value::as_str)
            && field("vault_key_fingerprint") == Some(&self.vault_key)
            && st.get("count").and_then(Value::as_u64) == Some(count)
            && st.get("first_index").and_then(Value::as_u64) == Some(prev_total)
            && st.get("kind") == m.get("item_kind")
            && matches!(field("kind"), Some("codes") | Some("credential"))
            && digests.as_ref().is_some_and(|d| d.len() as u64 == count)
            && count > 0
            && (field("kind") != Some("credential") || count == 1)
            && prev_total + count == total
            && entry_min == signed_min
            && prev.is_none_or(|p| {
                Some(p.kind.as_str()) == field("kind")
                    && p.kind == "codes"
                    && signed_min.is_none_or(|k| k.as_u64() == Some(p.min_approvals))
            });
        if !matches {
            return fail(
                Some(seq),
                FailureKind::BadDepositSignature,
                "the signed deposit statement does not match the entry or the secret's history",
            );
        }
        // Each ciphertext carried in the entry is the one the depositor
        // signed, by its digest.
        let carried: Option<Vec<String>> =
            m.get("ciphertexts")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter()
                        .map(|c| {
                            let bytes = STANDARD.decode(c.as_str()?).ok()?;
                            Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)))
                        })
                        .collect()
                });
        if carried != digests {
            return fail(
                Some(seq),
                FailureKind::BadDepositSignature,
                "the ciphertexts in the entry are not the ones the depositor signed",
            );
        }
        let min = signed_min.and_then(Value::as_u64);
        if min.is_some_and(|k| k < self.threshold || k as usize > self.officers.len()) {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                "min_approvals is outside threshold..officers",
            );
        }
        // The matching above made sure the kind is codes or a credential.
        let kind = field("kind").unwrap_or_default();
        let policy = m.get("policy").unwrap_or(&Value::Null);
        let Some(rules) = Policy::read(policy, kind) else {
            return malformed(seq, "policy is not a policy within bounds");
        };
        // The depositor signed the policy, and the first deposit fixed it.
        if st.get("policy") != Some(policy) || prev.is_some_and(|p| p.policy != *policy) {
            return fail(
                Some(seq),
                FailureKind::BadDepositSignature,
                "the signed deposit statement does not match the entry or the secret's history",
            );
        }
        let info = self
            .secrets
            .entry(secret.to_string())
            .or_insert(SecretInfo {
                kind: kind.to_string(),
                // Set by the first deposit; later ones may only repeat it.
                min_approvals: min.unwrap_or(0),
                policy: policy.clone(),
                rules,
                digests: Vec::new(),
                void: Default::default(),
                last_release: None,
                first: seq,
                rotated: 0,
            });
        info.digests.extend(digests.unwrap_or_default());
        Ok(())
    }
}
