//! Backup and restore. A backup is a consistent copy of the vault
//! directory, logged as a `backup` entry. A restore copies a backup into a
//! new directory and brings it forward by replaying, byte for byte, every
//! signed entry a newer export of the same ledger holds after it: deposits
//! (their ciphertexts are in the ledger), releases and displays. So an item
//! released after the backup is never released again from the restored
//! copy. Without a replay source the restored vault refuses releases until
//! a quorum acknowledges the gap.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::*;
use crate::audit::{self, BundleSource, Source};

/// Marks a vault restored without replay (`meta/gap`): the seq of its
/// `restored` entry. Releases wait for a quorum's acknowledgement.
const META_GAP: &[u8] = b"gap";

/// What a backup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Entries in the copy (its last one is the `backup` entry).
    pub entries: u64,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// Entries the backup held.
    pub backup_entries: u64,
    /// Entries replayed from the newer export.
    pub replayed: u64,
    /// Whether nothing was replayed, so releases wait for a quorum's
    /// acknowledgement of the gap.
    pub gap: bool,
    /// Officers who changed their passphrase after the backup: their
    /// record in the backup holds the old one.
    pub passphrase_changes: Vec<String>,
    /// The `restored` entry.
    pub seq: u64,
}

impl Vault {
    /// Writes a consistent copy of the vault into `dest` (which must not
    /// exist, or be empty), after logging a `backup` entry that the copy
    /// holds too. The copy holds what the vault holds: no clear secret
    /// (I4), and the ledger key, so protect it like the vault.
    pub fn backup(&mut self, dest: &Path) -> Result<BackupReport> {
        store::check_new_vault_path(dest)?;
        if let Some(e) = self.write_lock() {
            return Err(e);
        }
        let seq = self.log(Draft::new("backup", ""))?;
        let existed = dest.exists();
        let copy = Store::create(dest).and_then(|copy| self.store.copy_into(&copy));
        if let Err(e) = copy {
            if !existed {
                let _ = std::fs::remove_dir_all(dest);
            }
            return Err(e);
        }
        Ok(BackupReport { entries: seq + 1 })
    }

    /// The `restored` entry of a restore without replay, while its gap is
    /// not yet acknowledged.
    pub fn gap(&self) -> Option<u64> {
        self.store
            .get(Table::Meta, META_GAP)
            .ok()
            .flatten()
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
    }

    /// Restores the backup at `backup` into `dest` (which must not exist,
    /// or be empty) and replays what the export bundle `replay` holds after
    /// it. Refused, leaving nothing at `dest`, when the bundle does not
    /// verify as this vault's ledger or is not a later copy of it, or
    /// holds a ceremony after the backup.
    pub fn restore(
        backup: &Path,
        dest: &Path,
        replay: Option<&Path>,
        clock: Arc<dyn Clock>,
    ) -> Result<(Vault, RestoreReport)> {
        store::check_new_vault_path(dest)?;
        let existed = dest.exists();
        let result = Self::restore_into(backup, dest, replay, clock);
        if result.is_err() && !existed {
            let _ = std::fs::remove_dir_all(dest);
        }
        result
    }

    fn restore_into(
        backup: &Path,
        dest: &Path,
        replay: Option<&Path>,
        clock: Arc<dyn Clock>,
    ) -> Result<(Vault, RestoreReport)> {
        {
            let source = Vault::open_with_clock(backup, clock.clone())?;
            if let Some(e) = source.write_lock() {
                return Err(Error::Refused(format!(
                    "the backup cannot be restored: {e}"
                )));
            }
            let copy = Store::create(dest)?;
            source.store.copy_into(&copy)?;
        }
        let v = Vault::open_with_clock(dest, clock)?;
        let backup_entries = ledger::size(&v.store)?;
        let tail = match replay {
            Some(bundle) => v.replay_tail(bundle, backup_entries)?,
            None => Vec::new(),
        };
        let passphrase_changes: Vec<String> = tail
            .iter()
            .filter_map(|b| {
                let m = ledger::parse_entry(b).ok()?;
                (m.get("kind")?.as_str()? == "passphrase")
                    .then(|| m.get("actor")?.as_str().map(str::to_owned))?
            })
            .collect();
        let gap = replay.is_none();
        let draft = Draft::new("restored", "")
            .field("backup_entries", backup_entries)
            .field("replayed", tail.len())
            .field("gap", gap);
        let now = v.now();
        let id = v.config.vault_id.clone();
        let appended = v.transact(|tx| {
            for bytes in &tail {
                ledger::append_existing(tx, bytes, &id, &v.ledger_key)?;
                apply(tx, bytes)?;
            }
            let a = v.append(tx, &draft, now, None)?;
            if gap {
                tx.put(Table::Meta, META_GAP, &a.seq.to_be_bytes())?;
            }
            Ok(a)
        })?;
        v.store.flush()?;
        let report = RestoreReport {
            backup_entries,
            replayed: tail.len() as u64,
            gap,
            passphrase_changes,
            seq: appended.seq,
        };
        Ok((v, report))
    }

    /// The entries of the export bundle at `path` after the first
    /// `have`, once the bundle has verified as this vault's ledger (pinned
    /// to its genesis) and its first `have` entries are this vault's.
    fn replay_tail(&self, path: &Path, have: u64) -> Result<Vec<Vec<u8>>> {
        let refuse =
            |why: String| Error::Refused(format!("cannot replay {}: {why}", path.display()));
        let src = BundleSource::new(path).map_err(|f| refuse(f.to_string()))?;
        let pin = crate::merkle::leaf_hash(
            &ledger::entry(&self.store, 0)?
                .ok_or_else(|| Error::Ledger("the genesis entry is missing".into()))?,
        );
        let opts = audit::Options {
            pin: Some(pin),
            ..Default::default()
        };
        audit::verify(&src, &opts).map_err(|f| refuse(f.to_string()))?;
        let mut tail = Vec::new();
        let mut ours = ledger::entries_from(&self.store, 0);
        for (i, e) in src.entries()?.enumerate() {
            let bytes = e?;
            if (i as u64) < have {
                let mine = ours.next().transpose()?.map(|(_, b)| b);
                if mine.as_deref() != Some(&bytes[..]) {
                    return Err(refuse(format!(
                        "its entry {i} differs from the backup's: it is not a later copy of this ledger"
                    )));
                }
                continue;
            }
            let m = ledger::parse_entry(&bytes)?;
            if matches!(m.get("kind").and_then(Value::as_str), Some("rekey")) {
                return Err(refuse(format!(
                    "entry {i} is a ceremony, whose new keys are not in the ledger; restore a backup taken after it"
                )));
            }
            tail.push(bytes);
        }
        if (tail.len() as u64) == 0 && ours.next().is_some() {
            return Err(refuse("it is older than the backup".into()));
        }
        Ok(tail)
    }

    /// A quorum acknowledges the gap a restore without replay left: every
    /// officer authenticates and signs, their shares must rebuild the vault
    /// key, and the acknowledgement is a ledger entry. Releases work again
    /// after it.
    pub fn acknowledge_gap(&mut self, officers: &[(&str, &Passphrase)]) -> Result<u64> {
        let Some(restored) = self.gap() else {
            return Err(Error::Refused(
                "there is no gap to acknowledge: this vault was not restored without a replay"
                    .into(),
            ));
        };
        let names: Vec<&str> = officers.iter().map(|(n, _)| *n).collect();
        let mut distinct = std::collections::HashSet::new();
        if let Some(dup) = names.iter().find(|n| !distinct.insert(**n)) {
            return Err(self.refuse(
                "gap",
                None,
                &names,
                Error::DuplicateOfficer(dup.to_string()),
            ));
        }
        if officers.len() < self.config.threshold as usize {
            return Err(self.refuse(
                "gap",
                None,
                &names,
                Error::TooFewOfficers {
                    got: officers.len(),
                    need: self.config.threshold as usize,
                },
            ));
        }
        let nonce = hex::encode(crypto::random_array::<16>());
        let now = self.now();
        let mut sessions = Vec::new();
        let mut approvals = Vec::new();
        for (name, pass) in officers {
            let s = self.authenticate(name, pass, "gap", None)?;
            let statement = json!({
                "type": "breakglass-gap/v1",
                "vault": self.config.vault_id,
                "epoch": self.config.epoch,
                "restored": restored,
                "nonce": nonce,
                "officer": name,
            });
            let signature = s.key.sign_detached(&canonical::to_vec(&statement)?, now)?;
            approvals
                .push(json!({"officer": name, "statement": statement, "signature": signature}));
            sessions.push(s);
        }
        let shares: Vec<NamedShare<'_>> = sessions
            .iter()
            .map(|s| NamedShare {
                officer: &s.name,
                share: &s.share,
            })
            .collect();
        // A real quorum: their shares rebuild the vault key.
        drop(
            self.rebuild_vault_key(&shares)
                .map_err(|e| self.refuse("gap", None, &names, e))?,
        );
        let draft = Draft::new("gap_acknowledged", names.join("+"))
            .field("restored", restored)
            .field("nonce", nonce)
            .field("approvals", Value::Array(approvals));
        let a = self.transact(|tx| {
            let a = self.append(tx, &draft, now, None)?;
            tx.put(Table::Meta, META_GAP, &[])?;
            Ok(a)
        })?;
        self.store.flush()?;
        Ok(a.seq)
    }
}

/// Applies a replayed entry to the stored records: a deposit's items (its
/// ciphertexts are in the entry), a release, a confirmed display.
fn apply(tx: &crate::store::Tx<'_>, bytes: &[u8]) -> Result<()> {
    let m = ledger::parse_entry(bytes)?;
    let seq = m.get("seq").and_then(Value::as_u64).unwrap_or_default();
    let bad = || Error::Ledger(format!("entry {seq} cannot be replayed"));
    let s = |k: &str| m.get(k).and_then(Value::as_str);
    let n = |k: &str| m.get(k).and_then(Value::as_u64);
    match s("kind") {
        Some("deposit") => {
            let secret = s("secret").ok_or_else(bad)?;
            let st = m.get("statement").ok_or_else(bad)?;
            let first = st
                .get("first_index")
                .and_then(Value::as_u64)
                .ok_or_else(bad)? as u32;
            let epoch = st.get("epoch").and_then(Value::as_u64).ok_or_else(bad)? as u32;
            let kind = match s("item_kind") {
                Some("codes") => SecretKind::Codes,
                Some("credential") => SecretKind::Credential,
                _ => return Err(bad()),
            };
            let cts = m
                .get("ciphertexts")
                .and_then(Value::as_array)
                .ok_or_else(bad)?;
            for (i, c) in cts.iter().enumerate() {
                let ciphertext = c
                    .as_str()
                    .and_then(|c| STANDARD.decode(c).ok())
                    .ok_or_else(bad)?;
                let rec = ItemRecord {
                    secret: secret.to_string(),
                    index: first + i as u32,
                    epoch,
                    ciphertext,
                    state: ItemState::Available,
                };
                tx.put(Table::Items, &item_key(secret, rec.index), &rec.encode()?)?;
            }
            let record = SecretRecord {
                name: secret.to_string(),
                kind,
                min_approvals: n("min_approvals").and_then(|k| u8::try_from(k).ok()),
                count: n("total").ok_or_else(bad)? as u32,
            };
            tx.put(Table::Secrets, secret.as_bytes(), &record.encode()?)?;
        }
        Some(kind @ ("release" | "displayed")) => {
            let secret = s("secret").ok_or_else(bad)?;
            let index = n("index").ok_or_else(bad)? as u32;
            let key = item_key(secret, index);
            let mut rec = tx
                .get(Table::Items, &key)?
                .map(|b| ItemRecord::decode(&b))
                .transpose()?
                .ok_or_else(bad)?;
            if kind == "release" {
                rec.state = ItemState::Released {
                    seq,
                    confirmed: false,
                };
            } else if matches!(s("outcome"), Some("confirmed") | Some("stdout")) {
                let release = n("release").ok_or_else(bad)?;
                if rec.state
                    == (ItemState::Released {
                        seq: release,
                        confirmed: false,
                    })
                {
                    rec.state = ItemState::Released {
                        seq: release,
                        confirmed: true,
                    };
                }
            }
            tx.put(Table::Items, &key, &rec.encode()?)?;
        }
        _ => {}
    }
    Ok(())
}
