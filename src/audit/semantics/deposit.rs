//! Rule 17: a deposit, signed by its officer, appending a secret's items.

use super::*;

/// The fields of a signed deposit statement.
const DEPOSIT_FIELDS: [&str; 12] = [
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
];

impl Semantics {
    pub(super) fn deposit(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let actor = str_field(m, seq, "actor")?;
        let secret = str_field(m, seq, "secret")?;
        if names::secret(secret).is_err() {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("{secret:?} is not a valid secret name"),
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
            return malformed(seq, format!("the deposit statement has no {f:?}"));
        }
        let typed = |v: Option<&Value>| v.is_some_and(|v| v.is_null() || v.is_u64());
        if !typed(m.get("min_approvals")) || !typed(st.get("min_approvals")) {
            return malformed(seq, "min_approvals is neither a number nor null");
        }
        let entry_min = m.get("min_approvals").filter(|v| !v.is_null());
        let signed_min = st.get("min_approvals").filter(|v| !v.is_null());
        let field = |k: &str| st.get(k).and_then(Value::as_str);
        let matches = field("type") == Some("breakglass-deposit/v2")
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
        let info = self
            .secrets
            .entry(secret.to_string())
            .or_insert(SecretInfo {
                kind: field("kind").unwrap_or_default().to_string(),
                // Set by the first deposit; later ones may only repeat it.
                min_approvals: min.unwrap_or(0),
                digests: Vec::new(),
            });
        info.digests.extend(digests.unwrap_or_default());
        Ok(())
    }
}
