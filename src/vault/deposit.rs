//! Deposits: one officer, no quorum, encrypted to the epoch's key.

use super::*;

impl Vault {
    /// The vault encryption certificate named by the ledger entry that
    /// opened the current epoch. Deposits encrypt only to it, so a swapped
    /// certificate in the configuration cannot capture deposits.
    fn deposit_cert(&self) -> Result<PublicCert> {
        // The entry that opened this epoch (genesis, or a rekey) is found
        // by its stored position, not by rereading the ledger.
        let seq = self
            .store
            .get(Table::Meta, META_EPOCH_ENTRY)?
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| Error::Corrupt("missing the epoch's ledger position".into()))?;
        let bytes = ledger::entry(&self.store, seq)?.ok_or_else(|| {
            Error::Ledger(format!("entry {seq}, which opened this epoch, is missing"))
        })?;
        let m = ledger::parse_entry(&bytes)?;
        let kind = m.get("kind").and_then(Value::as_str);
        let found = (matches!(kind, Some("genesis") | Some("rekey"))
            && m.get("epoch").and_then(Value::as_u64) == Some(self.config.epoch as u64))
        .then(|| {
            m.get("vault_key_cert")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .flatten();
        let armored = found.ok_or_else(|| {
            Error::Ledger("no ledger entry names the vault encryption key".into())
        })?;
        let cert = PublicCert::from_bytes(armored.as_bytes())?;
        if cert.fingerprint() != self.config.vault_key_fingerprint
            || PublicCert::from_bytes(&self.config.vault_key_cert)?.fingerprint()
                != cert.fingerprint()
        {
            return Err(Error::Ledger(
                "the vault encryption key differs from the one the ledger names; refusing to deposit".into(),
            ));
        }
        Ok(cert)
    }

    /// Deposits `values` into `secret` for an authenticated officer. No
    /// quorum is needed. A `codes` secret grows with each deposit; a
    /// `credential` holds one value.
    pub fn deposit(
        &mut self,
        session: &OfficerSession,
        secret: &str,
        kind: SecretKind,
        min_approvals: Option<u8>,
        values: &[SecretValue],
    ) -> Result<DepositReport> {
        names::secret(secret)?;
        self.validate_items(kind, values)?;
        let n_officers = self.active_officers()?.len();
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
        let existing = self.secret_record(secret)?;
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
            None => SecretRecord {
                name: secret.to_string(),
                kind,
                min_approvals,
                count: 0,
            },
        };
        let cert = self.deposit_cert()?;
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
        let statement = json!({
            "type": "breakglass-deposit/v1",
            "vault": self.config.vault_id,
            "epoch": self.config.epoch,
            "secret": secret,
            "kind": kind.as_str(),
            "first_index": first,
            "count": values.len(),
            "vault_key_fingerprint": cert.fingerprint(),
            "officer": session.name,
            "time": rfc3339(self.now()),
        });
        let signature = session.key.sign_detached(&canonical::to_vec(&statement)?)?;
        let draft = Draft::new("deposit", session.name.clone())
            .field("secret", secret)
            .field("item_kind", kind.as_str())
            .field("count", values.len())
            .field("total", record.count)
            .field(
                "min_approvals",
                min_approvals.map(Value::from).unwrap_or(Value::Null),
            )
            .field("statement", statement)
            .field("signature", signature);
        let now = self.now();
        let appended = self.store.transact(|tx| {
            for it in &items {
                tx.put(Table::Items, &item_key(secret, it.index), &it.encode()?)?;
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

    fn validate_items(&self, kind: SecretKind, values: &[SecretValue]) -> Result<()> {
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
