//! Ceremonies: officer add and remove, threshold change, rekey (each a
//! quorum action). A ceremony works like a release: every approving officer
//! signs a statement naming the ceremony and the new officer set, threshold
//! and vault encryption key; the approvals expire; the shares are combined
//! and the key check passes. Then, in one transaction, a new epoch starts:
//! a new vault key split among the new officers, a new vault encryption
//! key, every item not yet seen re-encrypted to it, and one `rekey` entry
//! that carries the approvals and every secret's signed history into the
//! new epoch.
//!
//! Officers who neither approve nor join keep their passphrase: their new
//! share is encrypted to the encryption subkey of their officer
//! certificate (made at enrolment) and left beside their sealed record.
//! Their next authentication checks the chain of ceremony entries against
//! the commitment their old record holds, then re-seals the share under
//! their passphrase (docs/ARCHITECTURE.md, "Ceremonies").

use std::collections::{BTreeMap, HashMap};

use super::facts::{digest, state_json};
use super::keys::{Commitment, seal_with_kek};
use super::trust::epoch_entry_commitment;
use super::*;
use crate::ledger::statements::{
    CeremonyReceiptFacts, ceremony_inherits, ceremony_receipt_statement,
};

/// Which ceremony.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    /// `officer add NAME`: one new officer.
    OfficerAdd,
    /// `officer remove NAME`: one officer leaves.
    OfficerRemove,
    /// `rekey`: new keys, optionally a new threshold and officers.
    Rekey,
}

impl CeremonyKind {
    /// The name in statements and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::OfficerAdd => "officer_add",
            CeremonyKind::OfficerRemove => "officer_remove",
            CeremonyKind::Rekey => "rekey",
        }
    }

    /// The command's words (`officer add`), as refusals name the action.
    pub fn action(self) -> &'static str {
        ceremony_action(self)
    }
}

/// What a ceremony changes.
#[derive(Debug, Clone)]
pub struct CeremonyPlan {
    /// Which ceremony.
    pub kind: CeremonyKind,
    /// Officers who join.
    pub add: Vec<String>,
    /// Officers who leave.
    pub remove: Vec<String>,
    /// The new threshold; the current one when `None`.
    pub threshold: Option<usize>,
}

struct CeremonyApproval {
    officer: String,
    statement: Value,
    signature: String,
    session: OfficerSession,
    /// Kept until the ceremony ends: it re-seals the officer's new share,
    /// with the salt and parameters it was derived with.
    kek: DerivedKey,
}

/// A ceremony being approved. Dropping it zeroizes the collected shares
/// and keys.
pub struct CeremonyRequest {
    kind: CeremonyKind,
    nonce: String,
    expires: i64,
    started: std::time::Duration,
    needed: usize,
    epoch: u32,
    threshold: u8,
    /// The new officer set: name to certificate fingerprint.
    officers: BTreeMap<String, String>,
    added: Vec<(String, SecretKey)>,
    removed: Vec<String>,
    vault_key: SecretKey,
    /// The vault's Argon2 settings, as the entry that opened the current
    /// epoch states them: every approver signs them, their sealed
    /// commitment must hold the same, and the officers who join get them.
    kdf: KdfParams,
    /// What the new epoch carries, as the ledger says at the start.
    carried: Carried,
    approvals: Vec<CeremonyApproval>,
}

/// What a ceremony carries into the new epoch, counted from the ledger
/// when it begins: shown to the approvers before they sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Carried {
    /// Secrets carried.
    pub secrets: usize,
    /// Items not yet seen: re-encrypted to the new vault key.
    pub unseen: usize,
    /// Items released and confirmed seen: carried as records only.
    pub seen: usize,
}

impl std::fmt::Debug for CeremonyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CeremonyRequest")
            .field("kind", &self.kind)
            .field("epoch", &self.epoch)
            .field("threshold", &self.threshold)
            .field("officers", &self.officers.keys().collect::<Vec<_>>())
            .field("approved_by", &self.approved_by())
            .finish_non_exhaustive()
    }
}

impl CeremonyRequest {
    /// Which ceremony.
    pub fn kind(&self) -> CeremonyKind {
        self.kind
    }

    /// Approvals needed: the current threshold.
    pub fn needed(&self) -> usize {
        self.needed
    }

    /// The new threshold.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// The new officer set, by name.
    pub fn officers(&self) -> Vec<&str> {
        self.officers.keys().map(String::as_str).collect()
    }

    /// Officers who join, in the order named.
    pub fn added(&self) -> Vec<&str> {
        self.added.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Officers who leave.
    pub fn removed(&self) -> Vec<&str> {
        self.removed.iter().map(String::as_str).collect()
    }

    /// When the approvals expire, Unix seconds.
    pub fn expires(&self) -> i64 {
        self.expires
    }

    /// What the new epoch carries: secrets, and items seen or not.
    pub fn carried(&self) -> Carried {
        self.carried
    }

    /// Officers who have approved, in order.
    pub fn approved_by(&self) -> Vec<&str> {
        self.approvals.iter().map(|a| a.officer.as_str()).collect()
    }
}

/// What a ceremony did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeremonyReport {
    /// The new epoch.
    pub epoch: u32,
    /// Its ledger entry.
    pub seq: u64,
    /// The new threshold.
    pub threshold: u8,
    /// The new officers.
    pub officers: Vec<String>,
    /// Items re-encrypted to the new vault encryption key.
    pub reencrypted: usize,
    /// Officers whose new share waits for their next authentication.
    pub delivered: Vec<String>,
}

/// `officer remove NAME`, `rekey --threshold M`, … as words, for refusals.
fn ceremony_action(kind: CeremonyKind) -> &'static str {
    match kind {
        CeremonyKind::OfficerAdd => "officer add",
        CeremonyKind::OfficerRemove => "officer remove",
        CeremonyKind::Rekey => "rekey",
    }
}

impl Vault {
    /// Starts a ceremony: checks the plan against the current officers and
    /// makes the new keys (refusals are logged, and change nothing else).
    pub fn begin_ceremony(&mut self, plan: &CeremonyPlan) -> Result<CeremonyRequest> {
        for n in plan.add.iter().chain(&plan.remove) {
            names::officer(n)?;
        }
        if let Some(e) = self.write_lock() {
            return Err(e);
        }
        if let Some(restored) = self.gap()? {
            return Err(super::restore::gap_error(restored));
        }
        let action = ceremony_action(plan.kind);
        let refuse = |why: String| -> Error {
            let named: Vec<&str> = plan
                .add
                .iter()
                .chain(&plan.remove)
                .map(String::as_str)
                .collect();
            self.refuse(action, None, &named, Error::Refused(why))
        };
        let current: BTreeMap<String, String> = self
            .active_officers()?
            .into_iter()
            .map(|o| Ok((o.name, PublicCert::from_bytes(&o.cert)?.fingerprint())))
            .collect::<Result<_>>()?;
        let mut seen = std::collections::HashSet::new();
        for n in plan.add.iter().chain(&plan.remove) {
            if !seen.insert(n.as_str()) {
                return Err(refuse(format!("{n} is named twice")));
            }
        }
        for n in &plan.remove {
            if !current.contains_key(n) {
                return Err(refuse(format!("{n} is not an officer of this vault")));
            }
        }
        for n in &plan.add {
            if self.officer_record(n)?.is_some() {
                return Err(refuse(format!(
                    "{n} is already a name in this vault (officers' names are never reused)"
                )));
            }
        }
        let n = current.len() + plan.add.len() - plan.remove.len();
        if n == 0 {
            return Err(refuse(
                "a vault needs officers: this removes the last one".into(),
            ));
        }
        let m = plan.threshold.unwrap_or(self.config.threshold as usize);
        if plan.threshold.is_none() && m > n {
            return Err(refuse(format!(
                "removing would leave {n} officers, fewer than the threshold of {m}; lower the threshold with `rekey --threshold`"
            )));
        }
        if let Err(e) = names::threshold(m, n) {
            return Err(refuse(e.to_string()));
        }
        let epoch = self.config.epoch + 1;
        let added = plan
            .add
            .iter()
            .map(|name| {
                let key = SecretKey::generate_officer(&format!(
                    "{name} (breakglass officer, vault {})",
                    self.config.vault_id
                ))?;
                Ok((name.clone(), key))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut officers = current;
        for n in &plan.remove {
            officers.remove(n);
        }
        for (name, key) in &added {
            officers.insert(name.clone(), key.fingerprint());
        }
        let vault_key = SecretKey::generate_encryption(&format!(
            "breakglass vault {} epoch {epoch}",
            self.config.vault_id
        ))?;
        // What the ledger says now; each approver's sealed commitment is
        // checked against it before their approval counts.
        let (seq, entry) = self.epoch_entry()?;
        let kdf = epoch_entry_commitment(&entry)
            .ok_or_else(|| Error::Ledger(format!("entry {seq} is malformed")))?
            .kdf;
        let mut carried = Carried::default();
        for f in self.ledger_facts(None)?.values() {
            carried.secrets += 1;
            for i in &f.items {
                match i.state {
                    ItemState::Released {
                        confirmed: true, ..
                    } => carried.seen += 1,
                    _ => carried.unseen += 1,
                }
            }
        }
        Ok(CeremonyRequest {
            kind: plan.kind,
            nonce: hex::encode(crypto::random_array::<16>()),
            expires: crate::clock::clamp(self.now() + self.approval_ttl),
            started: self.clock.monotonic(),
            needed: self.config.threshold as usize,
            epoch,
            threshold: m as u8,
            officers,
            added,
            removed: plan.remove.clone(),
            vault_key,
            kdf,
            carried,
            approvals: Vec::new(),
        })
    }

    /// The statement `officer` signs to approve `req` (I8): the ceremony,
    /// the new epoch, its threshold, officers and vault encryption key.
    pub fn ceremony_statement(&self, req: &CeremonyRequest, officer: &str) -> Value {
        json!({
            "type": "breakglass-ceremony/v1",
            "vault": self.config.vault_id,
            "epoch": self.config.epoch,
            "ceremony": req.kind.as_str(),
            "new_epoch": req.epoch,
            "threshold": req.threshold,
            "officers": req.officers,
            "vault_key_fingerprint": req.vault_key.fingerprint(),
            "kdf": req.kdf.to_json(),
            "nonce": req.nonce,
            "expires": rfc3339(req.expires),
            "officer": officer,
        })
    }

    /// Checks the approving officers before any passphrase is asked:
    /// distinct, current, and enough of them. Refusals are logged.
    pub fn check_ceremony_officers(&self, req: &CeremonyRequest, officers: &[&str]) -> Result<()> {
        for o in officers {
            names::officer(o)?;
        }
        let action = ceremony_action(req.kind);
        let refuse = |e| Err(self.refuse(action, None, officers, e));
        let mut seen = std::collections::HashSet::new();
        for o in officers {
            if !seen.insert(*o) {
                return refuse(Error::DuplicateOfficer(o.to_string()));
            }
            if !matches!(self.officer_record(o)?, Some(r) if r.active) {
                return refuse(self.not_an_officer(o));
            }
        }
        if officers.len() < req.needed {
            return refuse(Error::TooFewOfficers {
                got: officers.len(),
                need: req.needed,
            });
        }
        Ok(())
    }

    fn ceremony_expired(&self, req: &CeremonyRequest, now: i64) -> bool {
        self.approvals_expired(req.started, req.expires, now)
    }

    /// Discards an expired ceremony's approvals and logs the expiry (I9).
    fn expire_ceremony(&self, req: &mut CeremonyRequest) -> Error {
        let count = req.approvals.len();
        req.approvals.clear();
        self.log_expiry(
            ("ceremony", req.kind.as_str()),
            &req.nonce,
            count,
            req.expires,
        )
    }

    /// Discards `req`'s approvals and logs the expiry if it has expired
    /// (I9); a console calls this as time passes.
    pub fn check_ceremony_expiry(&self, req: &mut CeremonyRequest) -> Result<()> {
        if self.ceremony_expired(req, self.now()) {
            return Err(self.expire_ceremony(req));
        }
        Ok(())
    }

    /// Refuses (and logs) an approval that cannot count: the ceremony has
    /// expired, or this officer already approved it. A console calls this
    /// before it spends a second on Argon2.
    pub fn check_ceremony_approver(
        &mut self,
        req: &mut CeremonyRequest,
        officer: &str,
    ) -> Result<()> {
        self.check_ceremony_expiry(req)?;
        if req.approvals.iter().any(|a| a.officer == officer) {
            return Err(self.refuse(
                ceremony_action(req.kind),
                None,
                &[officer],
                Error::DuplicateOfficer(officer.into()),
            ));
        }
        Ok(())
    }

    /// One current officer approves `req` with their passphrase and signs
    /// its statement. A wrong passphrase is logged and may be retried.
    pub fn approve_ceremony(
        &mut self,
        req: &mut CeremonyRequest,
        officer: &str,
        pass: &Passphrase,
    ) -> Result<()> {
        self.check_ceremony_approver(req, officer)?;
        let kek = self.derive_key(officer, pass, ceremony_action(req.kind), None)?;
        self.approve_ceremony_derived(req, officer, kek)
    }

    /// [`Vault::approve_ceremony`] with a key derived by [`Unlock::derive`]
    /// (so a console can run Argon2 off its UI thread). The key is kept
    /// until the ceremony ends: it re-seals the officer's new share.
    pub fn approve_ceremony_derived(
        &mut self,
        req: &mut CeremonyRequest,
        officer: &str,
        kek: DerivedKey,
    ) -> Result<()> {
        self.check_ceremony_approver(req, officer)?;
        let action = ceremony_action(req.kind);
        let session = self.authenticate_derived(officer, &kek, action, None)?;
        // The settings the approver signs, and the new officers get, are
        // the ones this officer's sealed record vouches for.
        if session.commitment.kdf != req.kdf {
            return Err(self.lock_vault(format!(
                "the vault's Argon2 settings in the ledger differ from the ones officer {officer}'s sealed record vouches for"
            )));
        }
        let statement = self.ceremony_statement(req, officer);
        let signature = session
            .key
            .sign_detached(&canonical::to_vec(&statement)?, self.now())?;
        req.approvals.push(CeremonyApproval {
            officer: officer.to_string(),
            statement,
            signature,
            session,
            kek,
        });
        Ok(())
    }

    /// Abandons a ceremony: its approvals are zeroized, the cancel logged.
    pub fn cancel_ceremony(&mut self, mut req: CeremonyRequest) -> Result<()> {
        let count = req.approvals.len();
        let actor = req.approved_by().join("+");
        req.approvals.clear();
        self.log_cancel(("ceremony", req.kind.as_str()), &req.nonce, count, &actor)?;
        Ok(())
    }

    /// Completes a ceremony once a quorum of current officers approved:
    /// `new_passphrases` holds a passphrase for every officer who joins.
    /// Everything lands in one transaction, or nothing does.
    pub fn complete_ceremony(
        &mut self,
        mut req: CeremonyRequest,
        new_passphrases: &[(String, Passphrase)],
    ) -> Result<CeremonyReport> {
        let now = self.now();
        if self.ceremony_expired(&req, now) {
            return Err(self.expire_ceremony(&mut req));
        }
        let action = ceremony_action(req.kind);
        let approvers: Vec<String> = req.approved_by().iter().map(|s| s.to_string()).collect();
        let approvers_ref: Vec<&str> = approvers.iter().map(String::as_str).collect();
        let fail = |e: Error| {
            if matches!(e, Error::Locked(_)) {
                return e;
            }
            self.refuse(action, None, &approvers_ref, e)
        };
        if req.approvals.len() < req.needed {
            return Err(fail(Error::TooFewOfficers {
                got: req.approvals.len(),
                need: req.needed,
            }));
        }
        for (name, _) in &req.added {
            let pass = new_passphrases
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, p)| p)
                .ok_or_else(|| Error::invalid("passphrase", format!("no passphrase for {name}")))?;
            check_passphrase(name, pass)?;
        }
        let shares: Vec<NamedShare<'_>> = req
            .approvals
            .iter()
            .map(|a| NamedShare {
                officer: &a.officer,
                share: &a.session.share,
            })
            .collect();
        let vk = self.rebuild_vault_key(&shares).map_err(&fail)?;
        let old_key = {
            let tsk = crypto::open(
                vk.expose_secret(),
                &self.config.vault_key_sealed,
                &vault_key_aad(&self.config.vault_id, self.config.epoch),
            )?;
            SecretKey::from_bytes(tsk.expose_secret())?
        };
        drop(vk);
        if old_key.fingerprint() != self.config.vault_key_fingerprint {
            return Err(fail(Error::DecryptionFailed));
        }

        // Every secret's history, checked against the stored records.
        let facts = match self.ledger_facts(None) {
            Ok(f) => f,
            Err(e) => return Err(self.lock_vault(format!("the ledger: {e}"))),
        };
        for (name, f) in &facts {
            if let Some(why) = self.records_disagree(name, f)? {
                return Err(self.lock_vault(why));
            }
        }

        // The new epoch's keys.
        let epoch = req.epoch;
        let new_vk = VaultKey::random();
        let id = self.config.vault_id.clone();
        let new_config = VaultConfig {
            vault_id: id.clone(),
            threshold: req.threshold,
            epoch,
            vault_key_fingerprint: req.vault_key.fingerprint(),
            ledger_fingerprint: self.config.ledger_fingerprint.clone(),
            key_check: crypto::seal(
                new_vk.expose_secret(),
                KEY_CHECK,
                &key_check_aad(&id, epoch),
            )?,
            vault_key_cert: req.vault_key.public().to_bytes()?,
            vault_key_sealed: crypto::seal(
                new_vk.expose_secret(),
                req.vault_key.to_bytes()?.expose_secret(),
                &vault_key_aad(&id, epoch),
            )?,
        };
        let commitment = Commitment {
            vault: id.clone(),
            epoch,
            threshold: req.threshold,
            vault_key: req.vault_key.fingerprint(),
            ledger_key: self.config.ledger_fingerprint.clone(),
            officers: req.officers.clone(),
            kdf: req.kdf,
        };
        let new_shares = shamir::split(&new_vk, req.threshold, req.officers.len() as u8);
        drop(new_vk);

        // Items: every one not yet seen is re-encrypted to the new key.
        let new_cert = req.vault_key.public();
        let mut items = Vec::new();
        let mut snapshot = Vec::new();
        let mut reencrypted = 0;
        for (name, f) in &facts {
            let records = self.items(name)?;
            let mut snap_items = Vec::new();
            for (i, fact) in f.items.iter().enumerate() {
                let mut rec = records
                    .iter()
                    .find(|r| r.index as usize == i)
                    .cloned()
                    .ok_or_else(|| Error::Corrupt(format!("item {name} #{} vanished", i + 1)))?;
                let seen = matches!(
                    fact.state,
                    ItemState::Released {
                        confirmed: true,
                        ..
                    }
                );
                // A void item is never released again: like a seen one it
                // keeps its ciphertext, and so its digest (rule 19).
                if !seen && !fact.void {
                    if self.fault == Some(FaultPoint::Decrypt) {
                        return Err(fail(Error::Injected(FaultPoint::Decrypt)));
                    }
                    let plain = old_key.decrypt(&rec.ciphertext).map_err(&fail)?;
                    item::read(&plain, name, rec.index, f.kind).map_err(&fail)?;
                    rec.ciphertext = new_cert.encrypt(plain.expose_secret())?;
                    rec.epoch = epoch;
                    reencrypted += 1;
                }
                let mut s = state_json(fact);
                s["digest"] = Value::from(digest(&rec.ciphertext));
                snap_items.push(s);
                items.push(rec);
            }
            snapshot.push(json!({
                "name": name,
                "kind": f.kind.as_str(),
                "min_approvals": f.min_approvals,
                "policy": f.policy.to_json(),
                "items": snap_items,
            }));
        }
        drop(old_key);

        // Officer records for the new epoch. Approvers keep their own
        // salt and parameters; officers who join get the vault's settings,
        // which every approver signed and vouches for.
        let mut records = Vec::new();
        let mut pending = serde_json::Map::new();
        let mut delivered = Vec::new();
        let mut officer_entries = Vec::new();
        for ((name, _), share) in req.officers.iter().zip(&new_shares) {
            if let Some(a) = req.approvals.iter().find(|a| &a.officer == name) {
                records.push(seal_with_kek(
                    name,
                    &a.kek.key,
                    &a.kek.salt,
                    a.kek.kdf,
                    share,
                    &a.session.key,
                    &commitment,
                )?);
                officer_entries.push(open::officer_json(name, &a.session.key.public())?);
            } else if let Some((_, key)) = req.added.iter().find(|(n, _)| n == name) {
                let pass = new_passphrases
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, p)| p)
                    .ok_or_else(|| {
                        Error::invalid("passphrase", format!("no passphrase for {name}"))
                    })?;
                records.push(keys::seal_officer(
                    name,
                    pass,
                    commitment.kdf,
                    share,
                    key,
                    &commitment,
                )?);
                officer_entries.push(open::officer_json(name, &key.public())?);
            } else {
                let mut rec = self
                    .officer_record(name)?
                    .ok_or_else(|| Error::UnknownOfficer(name.clone()))?;
                let cert = PublicCert::from_bytes(&rec.cert)?;
                let mut blob = epoch.to_be_bytes().to_vec();
                blob.extend_from_slice(share.expose_secret());
                rec.pending = cert.encrypt(&blob)?;
                zeroize::Zeroize::zeroize(&mut blob);
                pending.insert(name.clone(), Value::from(digest(&rec.pending)));
                delivered.push(name.clone());
                officer_entries.push(open::officer_json(name, &cert)?);
                records.push(rec);
            }
        }
        for name in &req.removed {
            let mut rec = self
                .officer_record(name)?
                .ok_or_else(|| Error::UnknownOfficer(name.clone()))?;
            rec.active = false;
            rec.pending = Vec::new();
            records.push(rec);
        }
        drop(new_shares);

        let approvals: Vec<Value> = req
            .approvals
            .iter()
            .map(|a| {
                json!({
                    "officer": a.officer,
                    "statement": a.statement,
                    "signature": a.signature,
                })
            })
            .collect();
        let draft = Draft::new("rekey", approvers.join("+"))
            .field("vault", id.clone())
            .field("epoch", epoch)
            .field("threshold", req.threshold)
            .field("officers", Value::Array(officer_entries))
            .field("ledger_cert", self.ledger_key.public().armored()?)
            .field("ledger_fingerprint", self.config.ledger_fingerprint.clone())
            .field("vault_key_cert", new_cert.armored()?)
            .field("vault_key_fingerprint", new_cert.fingerprint())
            .field("kdf", req.kdf.to_json())
            .field("ceremony", req.kind.as_str())
            .field("nonce", req.nonce.clone())
            .field("approvals", Value::Array(approvals))
            .field(
                "added",
                Value::from(req.added.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()),
            )
            .field("removed", Value::from(req.removed.clone()))
            .field("pending", Value::Object(pending))
            .field("secrets", Value::Array(snapshot));
        // The receipt: every approver's key, still open, signs what the new
        // epoch inherits, so the ledger key alone cannot change a carried
        // digest, a certificate or a pending share.
        let inherits = ceremony_inherits(draft.fields())
            .ok_or_else(|| Error::Ledger("the ceremony entry cannot be encoded".into()))?;
        let receipt = canonical::to_vec(&ceremony_receipt_statement(&CeremonyReceiptFacts {
            vault: &id,
            epoch: self.config.epoch.into(),
            new_epoch: epoch.into(),
            ceremony: req.kind.as_str(),
            nonce: &req.nonce,
            approvers: &approvers_ref,
            inherits: &inherits,
            time: &rfc3339(now),
        }))?;
        let mut receipts = Vec::new();
        for a in &req.approvals {
            receipts.push(json!({
                "officer": a.officer,
                "signature": a.session.key.sign_detached(&receipt, now)?,
            }));
        }
        let draft = draft.field("receipts", Value::Array(receipts));
        let fault = self.fault;
        let config_bytes = new_config.encode()?;
        let appended = self
            .transact(|tx| {
                let seq = ledger::size_in(tx)?;
                tx.put(Table::Meta, META_CONFIG, &config_bytes)?;
                tx.put(Table::Meta, META_EPOCH_ENTRY, &seq.to_be_bytes())?;
                tx.put(Table::Meta, &epoch_key(epoch), &seq.to_be_bytes())?;
                for r in &records {
                    tx.put(Table::Officers, r.name.as_bytes(), &r.encode()?)?;
                }
                for it in &items {
                    tx.put(Table::Items, &item_key(&it.secret, it.index), &it.encode()?)?;
                }
                if fault == Some(FaultPoint::Transaction) {
                    return Err(Error::Injected(FaultPoint::Transaction));
                }
                self.append(tx, &draft, now, fault)
            })
            .map_err(&fail)?;
        if fault == Some(FaultPoint::Flush) {
            return Err(Error::Injected(FaultPoint::Flush));
        }
        self.store.flush()?;
        self.config = new_config;
        req.approvals.clear();
        Ok(CeremonyReport {
            epoch,
            seq: appended.seq,
            threshold: req.threshold,
            officers: req.officers.keys().cloned().collect(),
            reencrypted,
            delivered,
        })
    }

    /// An officer whose sealed record is of an earlier epoch: checks every
    /// ceremony since, each approved by a quorum of the officers the one
    /// before it named (starting from what `old` vouches for), then opens
    /// the share delivered to them and re-seals it under their passphrase.
    /// Returns the share and the commitment of the current epoch.
    pub(super) fn receive_share(
        &self,
        officer: &str,
        rec: &OfficerRecord,
        kek: &DerivedKey,
        key: &SecretKey,
        old: Commitment,
    ) -> Result<(SecretBytes, Commitment)> {
        let lock = |why: String| self.lock_vault(format!("officer {officer}: {why}"));
        if old.epoch >= self.config.epoch {
            return Err(lock(format!(
                "their sealed record is of epoch {}, the vault's is {}",
                old.epoch, self.config.epoch
            )));
        }
        // The certificates of the officers `old` names, from the entry
        // that opened its epoch.
        let mut c = old;
        let entry_at = |epoch: u32| -> Result<serde_json::Map<String, Value>> {
            let seq = self
                .store
                .get(Table::Meta, &epoch_key(epoch))?
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| Error::Ledger(format!("no entry opened epoch {epoch}")))?;
            let bytes = ledger::entry(&self.store, seq)?
                .ok_or_else(|| Error::Ledger(format!("entry {seq} is missing")))?;
            ledger::parse_entry(&bytes)
        };
        let mut certs = officer_certs(&entry_at(c.epoch)?, &c).map_err(&lock)?;
        let mut last = None;
        while c.epoch < self.config.epoch {
            let next = entry_at(c.epoch + 1)?;
            let new = check_ceremony(&next, &c, &certs).map_err(&lock)?;
            certs = officer_certs(&next, &new).map_err(&lock)?;
            c = new;
            last = Some(next);
        }
        let last = last.expect("at least one epoch was walked");
        if c.officers.get(officer) != Some(&key.fingerprint()) {
            return Err(Error::UnknownOfficer(officer.into()));
        }
        let listed = last
            .get("pending")
            .and_then(|p| p.get(officer))
            .and_then(Value::as_str);
        if rec.pending.is_empty() || listed != Some(digest(&rec.pending).as_str()) {
            return Err(lock(format!(
                "the share delivered for epoch {} is not the one its ceremony recorded",
                c.epoch
            )));
        }
        let blob = key.decrypt(&rec.pending)?;
        let b = blob.expose_secret();
        if b.len() != 4 + shamir::SHARE_LEN || b[..4] != c.epoch.to_be_bytes() {
            return Err(lock("the delivered share is malformed".into()));
        }
        let share = SecretBytes::new(b[4..].to_vec());
        let resealed = seal_with_kek(officer, &kek.key, &kek.salt, kek.kdf, &share, key, &c)?;
        if self.write_lock().is_none() {
            self.store
                .transact(|tx| tx.put(Table::Officers, officer.as_bytes(), &resealed.encode()?))?;
            self.store.flush()?;
        }
        Ok((share, c))
    }
}

/// The Meta key of the entry that opened `epoch`.
pub(super) fn epoch_key(epoch: u32) -> Vec<u8> {
    let mut k = b"epoch/".to_vec();
    k.extend_from_slice(&epoch.to_be_bytes());
    k
}

/// The officers' certificates an epoch entry lists, checked against the
/// fingerprints `c` vouches for.
fn officer_certs(
    entry: &serde_json::Map<String, Value>,
    c: &Commitment,
) -> std::result::Result<HashMap<String, PublicCert>, String> {
    let mut out = HashMap::new();
    for o in entry
        .get("officers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = o.get("name").and_then(Value::as_str).unwrap_or_default();
        let cert = o
            .get("cert")
            .and_then(Value::as_str)
            .and_then(|a| PublicCert::from_bytes(a.as_bytes()).ok())
            .ok_or_else(|| format!("officer {name}'s certificate is unreadable"))?;
        if c.officers.get(name) != Some(&cert.fingerprint()) {
            return Err(format!(
                "officer {name}'s certificate in the ledger is not the one vouched for"
            ));
        }
        out.insert(name.to_owned(), cert);
    }
    if out.len() != c.officers.len() {
        return Err("the ledger lists other officers than vouched for".into());
    }
    Ok(out)
}

/// Checks that a `rekey` entry was approved by a quorum of the officers
/// `prev` names, each signing this very change; returns the commitment of
/// the epoch it opens.
fn check_ceremony(
    entry: &serde_json::Map<String, Value>,
    prev: &Commitment,
    certs: &HashMap<String, PublicCert>,
) -> std::result::Result<Commitment, String> {
    let new = epoch_entry_commitment(entry)
        .filter(|n| {
            n.epoch == prev.epoch + 1
                && n.vault == prev.vault
                && n.ledger_key == prev.ledger_key
                && n.kdf == prev.kdf
        })
        .ok_or("the ceremony entry is malformed")?;
    if entry.get("kind").and_then(Value::as_str) != Some("rekey") {
        return Err("the entry that opened the epoch is not a ceremony".into());
    }
    let nonce = entry.get("nonce").and_then(Value::as_str);
    let mut approvers = Vec::new();
    for a in entry
        .get("approvals")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let officer = a.get("officer").and_then(Value::as_str).unwrap_or_default();
        let cert = certs
            .get(officer)
            .ok_or_else(|| format!("{officer} approved the ceremony but was not an officer"))?;
        let st = a.get("statement").ok_or("an approval has no statement")?;
        let sig = a
            .get("signature")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let bytes = canonical::to_vec(st).map_err(|e| e.to_string())?;
        cert.verifier()
            .and_then(|v| v.verify(&bytes, sig.as_bytes()))
            .map_err(|_| format!("{officer}'s approval of the ceremony does not verify"))?;
        let officers: Option<BTreeMap<String, String>> =
            st.get("officers").and_then(Value::as_object).map(|o| {
                o.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            });
        let same = st.get("type").and_then(Value::as_str) == Some("breakglass-ceremony/v1")
            && st.get("vault").and_then(Value::as_str) == Some(prev.vault.as_str())
            && st.get("epoch").and_then(Value::as_u64) == Some(u64::from(prev.epoch))
            && st.get("new_epoch").and_then(Value::as_u64) == Some(u64::from(new.epoch))
            && st.get("threshold").and_then(Value::as_u64) == Some(u64::from(new.threshold))
            && st.get("vault_key_fingerprint").and_then(Value::as_str)
                == Some(new.vault_key.as_str())
            && st.get("kdf").and_then(KdfParams::from_json) == Some(new.kdf)
            && st.get("nonce").and_then(Value::as_str) == nonce
            && st.get("officer").and_then(Value::as_str) == Some(officer)
            && officers.as_ref() == Some(&new.officers);
        if !same {
            return Err(format!("{officer}'s approval is for another ceremony"));
        }
        if !approvers.contains(&officer) {
            approvers.push(officer);
        }
    }
    if approvers.len() < prev.threshold as usize {
        return Err(format!(
            "the ceremony of epoch {} has {} approvals, {} needed",
            new.epoch,
            approvers.len(),
            prev.threshold
        ));
    }
    Ok(new)
}
