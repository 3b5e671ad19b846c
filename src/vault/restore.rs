//! Backup and restore. A backup is a consistent copy of the vault
//! directory, logged as a `backup` entry. A restore copies a backup into a
//! new directory and brings it forward by replaying, byte for byte, every
//! signed entry a newer export of the same ledger holds after it: deposits
//! (their ciphertexts are in the ledger), releases and displays. So an item
//! released after the backup is never released again from the restored
//! copy.
//!
//! A replay never lifts the guard on its own word: a bundle may be stale.
//! Only evidence kept off the machine shows that nothing happened after
//! it: checkpoints collected by the alerts, a witness or an auditor
//! (`--checkpoint FILE`), each signed by the ledger key, that the restored
//! ledger reaches. Without such evidence, or when a checkpoint lies beyond
//! the restored ledger, the restore leaves a gap: releases and ceremonies
//! wait until a quorum acknowledges it. The `restored` entry records the
//! evidence (with a consistency proof) and the verifier checks it; whether
//! a gap is open is read from the ledger, never from a marker.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::*;
use crate::audit::{self, BundleSource, FailureKind, Source, VaultSource};

/// What a backup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Entries in the copy (its last one is the `backup` entry).
    pub entries: u64,
}

/// A collected checkpoint a restore was given, and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The file it came from.
    pub file: PathBuf,
    /// The tree size it signs.
    pub size: u64,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// Entries the backup held.
    pub backup_entries: u64,
    /// Entries replayed from the newer export.
    pub replayed: u64,
    /// Whether the restore left a gap: nothing collected off the machine
    /// showed the restored ledger complete, so releases and ceremonies
    /// wait for a quorum's acknowledgement.
    pub gap: bool,
    /// The largest collected checkpoint the restored ledger reaches.
    pub evidence: Option<Evidence>,
    /// The largest collected checkpoint beyond the restored ledger: it
    /// proves entries missing (a stale bundle, or none).
    pub beyond: Option<Evidence>,
    /// Officers who changed their passphrase after the backup: their
    /// record in the backup holds the old one.
    pub passphrase_changes: Vec<String>,
    /// The `restored` entry.
    pub seq: u64,
    /// The origin its checkpoint and later ones carry when it left a gap
    /// (docs/LEDGER.md §5.1): a new log to witnesses and alert receivers.
    pub origin: Option<String>,
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

    /// The first `restored` entry whose gap is not yet acknowledged, read
    /// from the ledger.
    pub fn gap(&self) -> Result<Option<u64>> {
        Ok(self.open_gaps()?.first().copied())
    }

    /// Restores the backup at `backup` into `dest` (which must not exist,
    /// or be empty) and replays what the export bundle `replay` holds after
    /// it. `checkpoints` are checkpoints collected off the machine; the
    /// guard is lifted only when the restored ledger reaches them all.
    /// Refused, leaving nothing at `dest`, when the bundle does not verify
    /// as this vault's ledger or is not a later copy of it, holds a
    /// ceremony after the backup, or a checkpoint is not this ledger's.
    pub fn restore(
        backup: &Path,
        dest: &Path,
        replay: Option<&Path>,
        checkpoints: &[PathBuf],
        clock: Arc<dyn Clock>,
    ) -> Result<(Vault, RestoreReport)> {
        store::check_new_vault_path(dest)?;
        let existed = dest.exists();
        let result = Self::restore_into(backup, dest, replay, checkpoints, clock);
        if result.is_err() && !existed {
            let _ = std::fs::remove_dir_all(dest);
        }
        result
    }

    fn restore_into(
        backup: &Path,
        dest: &Path,
        replay: Option<&Path>,
        checkpoints: &[PathBuf],
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
        // The ledger the restore brings: the bundle's, or the backup's.
        let bundle = replay
            .map(|p| BundleSource::new(p).map_err(|f| replay_refused(p, f.to_string())))
            .transpose()?;
        let backup_source = VaultSource(&v.store);
        let source: &(dyn Source + Sync) = match &bundle {
            Some(b) => b,
            None => &backup_source,
        };
        let bundle_size = match &bundle {
            Some(b) => b.entries()?.count() as u64,
            None => backup_entries,
        };
        // The evidence: what the restored ledger should reach, and what
        // lies beyond it.
        let mut reached = Vec::new();
        let mut beyond = Vec::new();
        for p in checkpoints {
            let cp = audit::collected_checkpoint(p)
                .map_err(|f| Error::Refused(format!("cannot restore: {f}")))?;
            let e = Evidence {
                file: p.clone(),
                size: cp.size,
            };
            if cp.size <= bundle_size.max(backup_entries) {
                reached.push((e, cp));
            } else {
                beyond.push(e);
            }
        }
        let reached_files: Vec<PathBuf> = reached.iter().map(|(e, _)| e.file.clone()).collect();
        let tail = match (replay, &bundle) {
            (Some(path), Some(b)) => v.replay_tail(path, b, backup_entries, &reached_files)?,
            _ => {
                v.check_evidence(source, &reached_files)?
                    .map_err(|f| Error::Refused(format!("cannot restore: {f}")))?;
                Vec::new()
            }
        };
        let restored_size = backup_entries + tail.len() as u64;
        // A checkpoint beyond must be a genuine one of this ledger (its
        // signature and origin), which the ledger does not reach.
        for e in &beyond {
            match v.check_evidence(source, std::slice::from_ref(&e.file))? {
                Err(f) if f.kind == FailureKind::Rollback => {}
                Err(f) => return Err(Error::Refused(format!("cannot restore: {f}"))),
                Ok(()) => {
                    return Err(Error::Refused(format!(
                        "cannot restore: checkpoint {} is beyond the restored ledger, yet its ledger reaches it",
                        e.file.display()
                    )));
                }
            }
        }
        let best = reached.iter().max_by_key(|(e, _)| e.size);
        let passphrase_changes: Vec<String> = tail
            .iter()
            .filter_map(|b| {
                let m = ledger::parse_entry(b).ok()?;
                (m.get("kind")?.as_str()? == "passphrase")
                    .then(|| m.get("actor")?.as_str().map(str::to_owned))?
            })
            .collect();
        let beyond_best = beyond.iter().max_by_key(|e| e.size).cloned();
        let gap = best.is_none() || beyond_best.is_some();
        let draft = Draft::new("restored", "")
            .field("backup_entries", backup_entries)
            .field("replayed", tail.len())
            .field("gap", gap)
            // A gap starts a new origin: the history restored may differ
            // from one a witness cosigned (docs/LEDGER.md §5.1).
            .field(
                "origin",
                if gap {
                    Value::from(ledger::restored_origin(&v.config.vault_id, restored_size))
                } else {
                    Value::Null
                },
            )
            .field(
                "beyond",
                beyond_best
                    .as_ref()
                    .map_or(Value::Null, |e| Value::from(e.size)),
            );
        let now = v.now();
        let id = v.config.vault_id.clone();
        let appended = v.transact(|tx| {
            for bytes in &tail {
                ledger::append_existing(tx, bytes, &id, &v.ledger_key)?;
                apply(tx, bytes)?;
            }
            // The evidence's consistency proof, from the stored subtrees of
            // the restored tree (O(log n), no leaf read).
            let evidence = match best {
                None => Value::Null,
                Some((_, cp)) => json!({
                    "size": cp.size,
                    "root": STANDARD.encode(cp.root),
                    "proof": ledger::consistency_proof_in(tx, cp.size, restored_size)?
                        .iter()
                        .map(|h| STANDARD.encode(h))
                        .collect::<Vec<_>>(),
                }),
            };
            v.append(tx, &draft.clone().field("evidence", evidence), now, None)
        })?;
        v.store.flush()?;
        let report = RestoreReport {
            backup_entries,
            replayed: tail.len() as u64,
            gap,
            evidence: best.map(|(e, _)| e.clone()),
            beyond: beyond_best,
            passphrase_changes,
            seq: appended.seq,
            origin: gap.then(|| ledger::restored_origin(&id, appended.seq)),
        };
        Ok((v, report))
    }

    /// Verifies `source` as this vault's ledger (pinned to its genesis)
    /// against the collected checkpoints `files`.
    fn check_evidence(
        &self,
        source: &(dyn audit::Source + Sync),
        files: &[PathBuf],
    ) -> Result<std::result::Result<(), audit::Failure>> {
        if files.is_empty() {
            return Ok(Ok(()));
        }
        let opts = audit::Options {
            pin: Some(self.genesis_leaf()?),
            checkpoints: files.to_vec(),
            ..Default::default()
        };
        Ok(audit::verify(source, &opts).map(|_| ()))
    }

    fn genesis_leaf(&self) -> Result<crate::ledger::merkle::Hash> {
        Ok(crate::ledger::merkle::leaf_hash(
            &ledger::entry(&self.store, 0)?
                .ok_or_else(|| Error::Ledger("the genesis entry is missing".into()))?,
        ))
    }

    /// The entries of the export bundle `src` (read from `path`) after the first
    /// `have`, once the bundle has verified as this vault's ledger (pinned
    /// to its genesis), reaching each collected checkpoint of `evidence`,
    /// and its first `have` entries are this vault's.
    fn replay_tail(
        &self,
        path: &Path,
        src: &BundleSource,
        have: u64,
        evidence: &[PathBuf],
    ) -> Result<Vec<Vec<u8>>> {
        let refuse = |why: String| replay_refused(path, why);
        let opts = audit::Options {
            pin: Some(self.genesis_leaf()?),
            checkpoints: evidence.to_vec(),
            ..Default::default()
        };
        audit::verify(src, &opts).map_err(|f| refuse(f.to_string()))?;
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
        let Some(restored) = self.gap()? else {
            return Err(Error::Refused(
                "there is no gap to acknowledge: this vault was not restored without a replay"
                    .into(),
            ));
        };
        let names: Vec<&str> = officers.iter().map(|(n, _)| *n).collect();
        let nonce = hex::encode(crypto::random_array::<16>());
        let threshold = self.config.threshold as usize;
        let (now, approvals) =
            self.quorum_sign("gap", None, officers, threshold, |name, now| {
                json!({
                    "type": "breakglass-gap/v1",
                    "vault": self.config.vault_id,
                    "epoch": self.config.epoch,
                    "restored": restored,
                    "nonce": nonce,
                    "officer": name,
                    "time": rfc3339(now),
                })
            })?;
        let draft = Draft::new("gap_acknowledged", names.join("+"))
            .field("restored", restored)
            .field("nonce", nonce.as_str())
            .field("approvals", approvals);
        let a = self.transact(|tx| self.append(tx, &draft, now, None))?;
        self.store.flush()?;
        Ok(a.seq)
    }
}

fn replay_refused(path: &Path, why: String) -> Error {
    Error::Refused(format!("cannot replay {}: {why}", path.display()))
}

/// Why a release or ceremony waits: the restore that entry `restored`
/// records left a gap.
pub(super) fn gap_error(restored: u64) -> Error {
    Error::Refused(gap_warning(restored))
}

/// What `status` and the console say while the restore that entry
/// `restored` records waits for its gap to be acknowledged.
pub fn gap_warning(restored: u64) -> String {
    format!(
        "this vault was restored from a backup and nothing collected off this machine showed that nothing happened after what was restored (entry {restored}): releases and ceremonies wait until a quorum acknowledges the gap with `breakglass acknowledge-gap --officer A --officer B`"
    )
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
        Some("rotated") => {
            let secret = s("secret").ok_or_else(bad)?;
            let index = n("index").ok_or_else(bad)? as u32;
            let st = m.get("statement").ok_or_else(bad)?;
            let epoch = st.get("epoch").and_then(Value::as_u64).ok_or_else(bad)? as u32;
            let ciphertext = m
                .get("ciphertexts")
                .and_then(Value::as_array)
                .and_then(|c| c.first())
                .and_then(Value::as_str)
                .and_then(|c| STANDARD.decode(c).ok())
                .ok_or_else(bad)?;
            let rec = ItemRecord {
                secret: secret.to_string(),
                index,
                epoch,
                ciphertext,
                state: ItemState::Available,
            };
            tx.put(Table::Items, &item_key(secret, index), &rec.encode()?)?;
            let mut record = tx
                .get(Table::Secrets, secret.as_bytes())?
                .map(|b| SecretRecord::decode(&b))
                .transpose()?
                .ok_or_else(bad)?;
            record.count = index + 1;
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
