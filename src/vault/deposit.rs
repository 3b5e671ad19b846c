//! Deposits: one officer, no quorum, encrypted to the epoch's key.

use super::*;
use crate::policy::Policy;

/// A policy in words, "the default" when it is.
pub(super) fn words_or_default(p: &Policy) -> String {
    let w = p.words();
    if w.is_empty() {
        "the default".into()
    } else {
        w
    }
}

impl Vault {
    /// The vault encryption certificate named by the ledger entry that
    /// opened the current epoch, which must be the one `session`'s sealed
    /// record vouches for (I15): a swapped certificate in the configuration
    /// or the ledger cannot capture deposits.
    pub(super) fn deposit_cert(&self, session: &OfficerSession) -> Result<PublicCert> {
        let (seq, m) = self.epoch_entry()?;
        let armored = m
            .get("vault_key_cert")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Ledger(format!("entry {seq} names no vault encryption key")))?;
        let cert = PublicCert::from_bytes(armored.as_bytes())?;
        if cert.fingerprint() != session.commitment.vault_key {
            return Err(self.lock_vault(format!(
                "the vault encryption key in ledger entry {seq} differs from the one the officers' sealed records vouch for"
            )));
        }
        Ok(cert)
    }

    /// Deposits `values` into `secret` for an authenticated officer. No
    /// quorum is needed. A `codes` secret grows with each deposit; a
    /// `credential` holds one value. The secret's policy is the default
    /// one at its first deposit (see [`Vault::deposit_with_policy`]).
    pub fn deposit(
        &mut self,
        session: &OfficerSession,
        secret: &str,
        kind: SecretKind,
        min_approvals: Option<u8>,
        values: &[SecretValue],
    ) -> Result<DepositReport> {
        self.deposit_with_policy(session, secret, kind, min_approvals, None, values)
    }

    /// What a deposit of `kind` into `secret` by `officer` would be
    /// refused for that the vault's state decides, checked before anyone
    /// types a passphrase: a name under `drill/`, a name that differs from
    /// an existing one only in case, another kind, a second credential.
    /// A refusal is logged, as any refusal that reaches the vault is; the
    /// deposit itself checks again, against the signed ledger.
    pub fn check_deposit(&self, officer: &str, secret: &str, kind: SecretKind) -> Result<()> {
        names::secret(secret)?;
        not_a_drill_name(secret)?;
        let stored = self.stored_secrets()?;
        let names: Vec<String> = stored.iter().map(|r| r.name.clone()).collect();
        let why = match stored.iter().find(|r| r.name == secret) {
            Some(r) if r.kind != kind => Some(format!(
                "{secret} holds {}, not {}",
                r.kind.as_str(),
                kind.as_str()
            )),
            Some(_) if kind == SecretKind::Credential => Some(format!(
                "credential {secret} already holds a value; deposit under a new name"
            )),
            _ => case_twin(secret, &names).map(|other| case_twin_text(secret, other)),
        };
        match why {
            Some(why) => Err(self.refuse("deposit", Some(secret), &[officer], Error::Refused(why))),
            None => Ok(()),
        }
    }

    /// [`Vault::deposit`] with a lifecycle policy (docs/LEDGER.md §2.7).
    /// The first deposit of a secret fixes its policy (`None`: the
    /// default); a later one must give the same policy or none.
    pub fn deposit_with_policy(
        &mut self,
        session: &OfficerSession,
        secret: &str,
        kind: SecretKind,
        min_approvals: Option<u8>,
        policy: Option<&Policy>,
        values: &[SecretValue],
    ) -> Result<DepositReport> {
        not_a_drill_name(secret)?;
        self.deposit_any(session, secret, kind, min_approvals, policy, values)
    }

    /// A deposit into any secret, the drill canary included.
    pub(super) fn deposit_any(
        &mut self,
        session: &OfficerSession,
        secret: &str,
        kind: SecretKind,
        min_approvals: Option<u8>,
        policy: Option<&Policy>,
        values: &[SecretValue],
    ) -> Result<DepositReport> {
        names::secret(secret)?;
        if let Some(p) = policy {
            p.check(kind)?;
        }
        self.validate_items(kind, values)?;
        if let Some(e) = self.write_lock() {
            return Err(e);
        }
        let n_officers = session.commitment.officers.len();
        if let Some(k) = min_approvals {
            if (k as usize) < self.config.threshold as usize || k as usize > n_officers {
                return Err(Error::invalid(
                    "--min-approvals",
                    format!(
                        "{k} must be between the threshold ({}) and the number of officers ({n_officers})",
                        self.config.threshold
                    ),
                ));
            }
        }
        // The secret's history as its depositors signed it; the stored
        // records must agree with it (I15).
        let facts = self.checked_facts(secret)?;
        let existing = facts.as_ref().map(|f| SecretRecord {
            name: secret.to_string(),
            kind: f.kind,
            min_approvals: f.min_approvals,
            count: f.items.len() as u32,
        });
        let policy = match (&facts, policy) {
            (Some(f), Some(p)) if *p != f.policy => {
                return Err(self.refuse(
                    "deposit",
                    Some(secret),
                    &[session.name()],
                    Error::Refused(format!(
                        "{secret} already exists; its policy ({}) cannot change on deposit",
                        words_or_default(&f.policy)
                    )),
                ));
            }
            (Some(f), _) => f.policy.clone(),
            (None, p) => p.cloned().unwrap_or_default(),
        };
        let mut record = match existing {
            Some(r) => {
                let refuse = |why: String| {
                    Err(self.refuse(
                        "deposit",
                        Some(secret),
                        &[session.name()],
                        Error::Refused(why),
                    ))
                };
                if r.kind != kind {
                    return refuse(format!(
                        "{secret} holds {}, not {}",
                        r.kind.as_str(),
                        kind.as_str()
                    ));
                }
                if kind == SecretKind::Credential {
                    return refuse(format!(
                        "credential {secret} already holds a value; deposit under a new name"
                    ));
                }
                if min_approvals.is_some() && min_approvals != r.min_approvals {
                    return refuse(format!(
                        "{secret} already exists; its minimum approvals cannot change on deposit"
                    ));
                }
                r
            }
            None => {
                // `Github/Admin` beside `github/admin` is a second secret
                // nobody meant to make.
                let names: Vec<String> =
                    self.stored_secrets()?.into_iter().map(|r| r.name).collect();
                if let Some(other) = case_twin(secret, &names) {
                    return Err(self.refuse(
                        "deposit",
                        Some(secret),
                        &[session.name()],
                        Error::Refused(case_twin_text(secret, other)),
                    ));
                }
                SecretRecord {
                    name: secret.to_string(),
                    kind,
                    min_approvals,
                    count: 0,
                }
            }
        };
        let cert = self.deposit_cert(session)?;
        let first = record.count;
        let mut items = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            let index = first + i as u32;
            let plain = item::write(secret, index, kind, v);
            items.push(ItemRecord {
                secret: secret.to_string(),
                index,
                epoch: self.config.epoch,
                ciphertext: cert.encrypt(plain.expose_secret())?,
                state: ItemState::Available,
            });
        }
        record.count += values.len() as u32;
        let now = self.now();
        // The depositor signs every ciphertext's digest (I15): a release
        // checks the stored ciphertext against it before decrypting.
        let digests: Vec<String> = items.iter().map(|i| facts::digest(&i.ciphertext)).collect();
        let statement = json!({
            "type": "breakglass-deposit/v3",
            "vault": self.config.vault_id,
            "epoch": self.config.epoch,
            "secret": secret,
            "kind": kind.as_str(),
            "first_index": first,
            "count": values.len(),
            "items": digests,
            "min_approvals": record.min_approvals,
            "vault_key_fingerprint": cert.fingerprint(),
            "officer": session.name,
            "time": rfc3339(now),
            "policy": policy.to_json(),
        });
        let signature = session
            .key
            .sign_detached(&canonical::to_vec(&statement)?, now)?;
        let draft = Draft::new("deposit", session.name.clone())
            .field("secret", secret)
            .field("item_kind", kind.as_str())
            .field("count", values.len())
            .field("total", record.count)
            .field(
                "min_approvals",
                record.min_approvals.map(Value::from).unwrap_or(Value::Null),
            )
            .field("policy", policy.to_json())
            .field("statement", statement)
            .field("signature", signature)
            // The ciphertexts themselves (encrypted to the vault key, so no
            // secret): a restored backup replays deposits made after it.
            .field(
                "ciphertexts",
                Value::from(
                    items
                        .iter()
                        .map(|i| {
                            base64::Engine::encode(
                                &base64::engine::general_purpose::STANDARD,
                                &i.ciphertext,
                            )
                        })
                        .collect::<Vec<_>>(),
                ),
            );
        let appended = self.transact(|tx| {
            for it in &items {
                let key = item_key(secret, it.index);
                // Never overwrite an item, whatever the records say.
                if tx.get(Table::Items, &key)?.is_some() {
                    return Err(Error::Storage(format!(
                        "an item is already stored at {secret} #{}; nothing was deposited",
                        it.index + 1
                    )));
                }
                tx.put(Table::Items, &key, &it.encode()?)?;
            }
            tx.put(Table::Secrets, secret.as_bytes(), &record.encode()?)?;
            self.append(tx, &draft, now, None)
        })?;
        self.store.flush()?;
        Ok(DepositReport {
            added: values.len() as u32,
            total: record.count,
            seq: appended.seq,
        })
    }

    pub(super) fn validate_items(&self, kind: SecretKind, values: &[SecretValue]) -> Result<()> {
        if values.is_empty() {
            return Err(Error::invalid(
                "deposit",
                "nothing to deposit: no codes or credential were given",
            ));
        }
        let (limit, what) = match kind {
            SecretKind::Codes => (names::MAX_CODE_BYTES, "code"),
            SecretKind::Credential => (names::MAX_CREDENTIAL_BYTES, "credential"),
        };
        if kind == SecretKind::Credential && values.len() != 1 {
            return Err(Error::invalid("deposit", "a credential is one value"));
        }
        for (i, v) in values.iter().enumerate() {
            // No control or format character in a code, whoever calls
            // (the console, the CLI, a script through the library).
            if kind == SecretKind::Codes {
                names::check_no_control("code", v.expose_secret()).map_err(|e| match e {
                    Error::Invalid { why, .. } => {
                        Error::invalid("deposit", format!("code {}: {why}", i + 1))
                    }
                    other => other,
                })?;
            }
            let len = v.expose_secret().len();
            if len == 0 {
                return Err(Error::invalid(
                    "deposit",
                    format!("{what} {} is empty", i + 1),
                ));
            }
            if len > limit {
                return Err(Error::invalid(
                    "deposit",
                    format!("{what} {} is {len} bytes; at most {limit}", i + 1),
                ));
            }
        }
        Ok(())
    }
}

/// Names under `drill/` are the end-to-end drill's own.
fn not_a_drill_name(secret: &str) -> Result<()> {
    if crate::lifecycle::is_drill_secret(secret) {
        return Err(Error::invalid(
            "deposit",
            format!("{secret}: names under drill/ are kept for end-to-end drills"),
        ));
    }
    Ok(())
}

/// The existing name that `name` matches but for case, if any.
fn case_twin<'a>(name: &str, existing: &'a [String]) -> Option<&'a str> {
    existing
        .iter()
        .find(|e| e.as_str() != name && e.to_lowercase() == name.to_lowercase())
        .map(String::as_str)
}

fn case_twin_text(name: &str, other: &str) -> String {
    format!(
        "{name} differs from the existing secret {other} only in case; deposit into {other}, or choose a name that differs in more than case"
    )
}
