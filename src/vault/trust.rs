//! The disk is not trusted (I15). Whoever can write the vault directory
//! has the ledger key too, and no passphrase. So after an officer
//! authenticates, what the disk says about the vault — the configuration,
//! the officer records, the ledger entry that opened the epoch, the ledger
//! key — is checked against the commitment sealed in that officer's
//! record. A disagreement locks the vault: it is recorded on disk and in
//! the ledger, and nothing more is written.

use std::collections::BTreeMap;

use super::keys::Commitment;
use super::*;

impl Vault {
    /// The ledger entry that opened the current epoch (genesis, or a
    /// rekey), found by its stored position, with that position.
    pub(super) fn epoch_entry(&self) -> Result<(u64, serde_json::Map<String, Value>)> {
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
        if !matches!(kind, Some("genesis") | Some("rekey"))
            || m.get("epoch").and_then(Value::as_u64) != Some(u64::from(self.config.epoch))
        {
            return Err(Error::Ledger(format!(
                "entry {seq} does not open epoch {}",
                self.config.epoch
            )));
        }
        Ok((seq, m))
    }

    /// What the stored configuration and officer records say, in the shape
    /// of a commitment. The configuration does not store the vault's
    /// Argon2 settings: they are `c`'s here, and checked against the
    /// ledger entry that opened the epoch.
    fn disk_commitment(&self, c: &Commitment) -> Result<Commitment> {
        let officers = self
            .active_officers()?
            .into_iter()
            .map(|o| Ok((o.name, PublicCert::from_bytes(&o.cert)?.fingerprint())))
            .collect::<Result<BTreeMap<_, _>>>()?;
        Ok(Commitment {
            vault: self.config.vault_id.clone(),
            epoch: self.config.epoch,
            threshold: self.config.threshold,
            vault_key: self.config.vault_key_fingerprint.clone(),
            ledger_key: self.config.ledger_fingerprint.clone(),
            officers,
            kdf: c.kdf,
        })
    }

    /// Checks everything the disk says about the vault against `c`, the
    /// commitment an officer's sealed record holds. On a disagreement the
    /// vault is locked and the error says what differs.
    pub(super) fn check_commitment(&self, c: &Commitment) -> Result<()> {
        match self.commitment_difference(c) {
            Ok(None) => Ok(()),
            Ok(Some(why)) => Err(self.lock_vault(why)),
            Err(e) => Err(self.lock_vault(format!(
                "the vault's stored description cannot be checked ({e})"
            ))),
        }
    }

    fn commitment_difference(&self, c: &Commitment) -> Result<Option<String>> {
        if let Some(why) = c.difference(&self.disk_commitment(c)?, "the stored configuration") {
            return Ok(Some(why));
        }
        // The keys themselves, not only the fingerprints the record names.
        let stored_cert = PublicCert::from_bytes(&self.config.vault_key_cert)?;
        if stored_cert.fingerprint() != c.vault_key {
            return Ok(Some(
                "the stored vault encryption certificate is not the one the officers' sealed records vouch for".into(),
            ));
        }
        if self.ledger_key.fingerprint() != c.ledger_key {
            return Ok(Some(
                "the stored ledger key is not the one the officers' sealed records vouch for"
                    .into(),
            ));
        }
        let (seq, m) = self.epoch_entry()?;
        let entry = epoch_entry_commitment(&m)
            .ok_or_else(|| Error::Ledger(format!("entry {seq} is malformed")))?;
        Ok(c.difference(&entry, &format!("ledger entry {seq}")))
    }

    /// Locks the vault because stored data disagrees with what officers
    /// signed: records the cause on disk and, when the ledger still takes
    /// entries, as a `locked` entry; returns the error to report.
    pub(super) fn lock_vault(&self, cause: String) -> Error {
        let now = self.now();
        let rec = LockRecord {
            cause: cause.clone(),
            time: rfc3339(now),
        };
        let draft = Draft::new("locked", "").field("cause", cause.clone());
        let ledger_ok = self.write_lock().is_none();
        let written = self.transact(|tx| {
            if ledger_ok {
                self.append(tx, &draft, now, None)?;
            }
            tx.put(Table::Meta, META_LOCK, &rec.encode()?)
        });
        let _ = written.and_then(|()| self.store.flush());
        // Locked in memory even if the disk refused the record.
        *self.lock.borrow_mut() = Some(cause.clone());
        Error::Locked(format!(
            "{cause}; nothing more is written. Restore the vault directory from a copy you trust and check it with `breakglass ledger verify --pin FINGERPRINT`"
        ))
    }
}

/// The commitment a `genesis` or `rekey` entry states: its officers (each
/// certificate checked against its fingerprint), keys, threshold and the
/// vault's Argon2 settings (within bounds).
pub(super) fn epoch_entry_commitment(m: &serde_json::Map<String, Value>) -> Option<Commitment> {
    let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut officers = BTreeMap::new();
    for o in m.get("officers")?.as_array()? {
        let name = o.get("name")?.as_str()?;
        let fpr = o.get("fingerprint")?.as_str()?;
        let cert = PublicCert::from_bytes(o.get("cert")?.as_str()?.as_bytes()).ok()?;
        if cert.fingerprint() != fpr {
            return None;
        }
        officers.insert(name.to_owned(), fpr.to_owned());
    }
    let vault_key = s("vault_key_fingerprint")?;
    let cert = PublicCert::from_bytes(s("vault_key_cert")?.as_bytes()).ok()?;
    if cert.fingerprint() != vault_key {
        return None;
    }
    Some(Commitment {
        vault: s("vault")?,
        epoch: u32::try_from(m.get("epoch")?.as_u64()?).ok()?,
        threshold: u8::try_from(m.get("threshold")?.as_u64()?).ok()?,
        vault_key,
        ledger_key: s("ledger_fingerprint")?,
        officers,
        kdf: crypto::KdfParams::from_json(m.get("kdf")?).filter(|k| k.check_bounds().is_ok())?,
    })
}
