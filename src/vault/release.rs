//! The quorum release (I1, I2, I8, I9, I10) and its display record.

use super::*;
use crate::ledger::statements::{DisplayFacts, ReceiptFacts, display_statement, receipt_statement};

/// One officer's signed approval inside a release request.
struct Approval {
    officer: String,
    statement: Value,
    signature: String,
    share: SecretBytes,
    /// The officer's signing key, held until the release completes: the
    /// approvers sign its receipt, and the first of them how its display
    /// ended. Zeroized on drop.
    key: SecretKey,
}

/// A release being approved: the statement officers sign, and the approvals
/// (with their shares) collected so far. Dropping it zeroizes the shares.
pub struct ReleaseRequest {
    secret: String,
    reason: String,
    nonce: String,
    expires: i64,
    /// The monotonic clock's reading when the request began: approvals
    /// also expire by it, whatever the wall clock does (I16).
    started: std::time::Duration,
    needed: usize,
    /// Why more approvals than the threshold are needed, when a policy
    /// asks for one more.
    extra: Option<String>,
    approvals: Vec<Approval>,
    /// The secret's history as read when the request began, and where the
    /// ledger ended then: completing reads only what came after.
    facts: Option<(facts::SecretFacts, u64)>,
}

impl std::fmt::Debug for ReleaseRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReleaseRequest")
            .field("secret", &self.secret)
            .field("nonce", &self.nonce)
            .field("approved_by", &self.approved_by())
            .finish_non_exhaustive()
    }
}

impl ReleaseRequest {
    /// The secret to release.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The reason officers approve.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// When the approvals expire, Unix seconds.
    pub fn expires(&self) -> i64 {
        self.expires
    }

    /// The random request nonce, hex.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// Approvals needed in all.
    pub fn needed(&self) -> usize {
        self.needed
    }

    /// Why one approval more than usual is needed (the secret's minimum
    /// interval between releases), if it is.
    pub fn extra_approval(&self) -> Option<&str> {
        self.extra.as_deref()
    }

    /// Officers who have approved, in order.
    pub fn approved_by(&self) -> Vec<&str> {
        self.approvals.iter().map(|a| a.officer.as_str()).collect()
    }
}

impl Vault {
    /// The approvals a release of the secret's next item needs now, and
    /// why, when that is one more than usual (docs/LEDGER.md rule 18).
    fn approvals_needed(&self, facts: &facts::SecretFacts) -> Result<(usize, Option<String>)> {
        let again = facts
            .next_item()
            .is_some_and(|i| matches!(facts.items[i as usize].state, ItemState::Released { .. }));
        let officers = self.active_officers()?.len();
        let threshold = self.config.threshold as usize;
        let needed = facts.approvals_needed(threshold, officers, self.now(), again);
        let usual = facts.approvals_needed(threshold, officers, i64::MAX, again);
        let extra = (needed > usual).then(|| {
            format!(
                "it was released less than {} ago: one approval more than usual is needed",
                crate::policy::duration_words(facts.policy.min_interval.unwrap_or_default())
            )
        });
        Ok((needed, extra))
    }

    /// Starts a release of `secret`: checks that it exists and has an item
    /// left (refusals are logged) and fixes the statement officers sign.
    /// Whether an item is left, and how many approvals it needs, come from
    /// what the officers signed in the ledger; the stored records must
    /// agree with it, or the vault locks (I15).
    pub fn begin_release(&mut self, secret: &str, reason: &str) -> Result<ReleaseRequest> {
        names::secret(secret)?;
        names::reason(reason)?;
        if let Some(e) = self.write_lock() {
            return Err(e);
        }
        let mut gaps = facts::Gaps::new();
        let (facts, scanned) = self.checked_facts_since(secret, None, &mut gaps)?;
        if let Some(restored) = gaps.first() {
            return Err(self.refuse_with(
                "release",
                Some(secret),
                Some(reason),
                &[],
                restore::gap_error(*restored),
            ));
        }
        let Some(facts) = facts else {
            return Err(self.refuse_with(
                "release",
                Some(secret),
                Some(reason),
                &[],
                self.unknown_secret(secret),
            ));
        };
        if facts.next_item().is_none() {
            return Err(self.refuse_with(
                "release",
                Some(secret),
                Some(reason),
                &[],
                Error::NothingLeft(secret.into()),
            ));
        }
        let (needed, extra) = self.approvals_needed(&facts)?;
        Ok(ReleaseRequest {
            secret: secret.to_string(),
            reason: reason.to_string(),
            nonce: hex::encode(crypto::random_array::<16>()),
            expires: crate::clock::clamp(self.now() + self.approval_ttl),
            started: self.clock.monotonic(),
            needed,
            extra,
            approvals: Vec::new(),
            facts: Some((facts, scanned)),
        })
    }

    /// The statement `officer` signs to approve `req` (I8).
    pub fn statement(&self, req: &ReleaseRequest, officer: &str) -> Value {
        json!({
            "type": "breakglass-approval/v1",
            "vault": self.config.vault_id,
            "epoch": self.config.epoch,
            "secret": req.secret,
            "reason": req.reason,
            "nonce": req.nonce,
            "expires": rfc3339(req.expires),
            "officer": officer,
        })
    }

    /// Checks a list of officers before any passphrase is asked: distinct,
    /// enrolled, and enough of them. Refusals are logged.
    pub fn check_officers(&self, req: &ReleaseRequest, officers: &[&str]) -> Result<()> {
        for o in officers {
            names::officer(o)?;
        }
        let refuse =
            |e| Err(self.refuse_with("release", Some(&req.secret), Some(&req.reason), officers, e));
        let mut seen = std::collections::HashSet::new();
        for o in officers {
            if !seen.insert(*o) {
                return refuse(Error::DuplicateOfficer(o.to_string()));
            }
        }
        for o in officers {
            if !matches!(self.officer_record(o)?, Some(r) if r.active) {
                return refuse(self.not_an_officer(o));
            }
        }
        if officers.len() < req.needed {
            let few = Error::TooFewOfficers {
                got: officers.len(),
                need: req.needed,
            };
            // The minimum interval's extra approval says why (one line).
            return refuse(match &req.extra {
                Some(why) => Error::Refused(format!("{few}: {} {why}", req.secret)),
                None => few,
            });
        }
        Ok(())
    }

    /// Discards an expired request's approvals (zeroizing the shares) and
    /// logs the expiry (I9).
    fn expire(&self, req: &mut ReleaseRequest) -> Error {
        let count = req.approvals.len();
        req.approvals.clear();
        self.log_expiry(("secret", &req.secret), &req.nonce, count, req.expires)
    }

    /// One officer approves `req`: authenticates with their passphrase and
    /// signs the statement. A wrong passphrase is logged and may be retried.
    pub fn approve(
        &mut self,
        req: &mut ReleaseRequest,
        officer: &str,
        pass: &Passphrase,
    ) -> Result<()> {
        self.check_approver(req, officer)?;
        let kek = self.derive_key(officer, pass, "release", Some(&req.secret))?;
        self.approve_derived(req, officer, &kek)
    }

    /// Discards `req`'s approvals and logs the expiry if it has expired
    /// (I9); a console calls this as time passes.
    pub fn check_expiry(&self, req: &mut ReleaseRequest) -> Result<()> {
        if self.has_expired(req, self.now()) {
            return Err(self.expire(req));
        }
        Ok(())
    }

    /// Whether `req` has expired at vault time `now`: by the wall clock,
    /// or by the monotonic clock, which no clock setting moves (I16).
    fn has_expired(&self, req: &ReleaseRequest, now: i64) -> bool {
        self.approvals_expired(req.started, req.expires, now)
    }

    /// Refuses (and logs) an approval that cannot count: the request has
    /// expired, or this officer already approved it.
    pub fn check_approver(&mut self, req: &mut ReleaseRequest, officer: &str) -> Result<()> {
        if self.has_expired(req, self.now()) {
            return Err(self.expire(req));
        }
        if req.approvals.iter().any(|a| a.officer == officer) {
            return Err(self.refuse(
                "release",
                Some(&req.secret),
                &[officer],
                Error::DuplicateOfficer(officer.into()),
            ));
        }
        Ok(())
    }

    /// [`Vault::approve`] with a key derived by [`Unlock::derive`].
    pub fn approve_derived(
        &mut self,
        req: &mut ReleaseRequest,
        officer: &str,
        kek: &DerivedKey,
    ) -> Result<()> {
        self.check_approver(req, officer)?;
        let session = self.authenticate_derived(officer, kek, "release", Some(&req.secret))?;
        let statement = self.statement(req, officer);
        let signature = session
            .key
            .sign_detached(&canonical::to_vec(&statement)?, self.now())?;
        req.approvals.push(Approval {
            officer: session.name.clone(),
            statement,
            signature,
            share: SecretBytes::new(session.share.expose_secret().to_vec()),
            key: session.key,
        });
        Ok(())
    }

    /// Logs that `req` was refused before any officer approved it, for a
    /// `cause` found outside the vault (the command line's stdout cannot
    /// take the item), and drops it.
    pub fn refuse_release(&mut self, req: ReleaseRequest, cause: &str) -> Result<()> {
        self.log(
            Draft::new("refused", "")
                .field("action", "release")
                .field("cause", cause)
                .field("secret", req.secret.as_str())
                .field("reason", req.reason.as_str()),
        )
        .map(|_| ())
    }

    /// Abandons a release: the shares are zeroized and the cancel is logged.
    pub fn cancel_release(&mut self, mut req: ReleaseRequest) -> Result<()> {
        let count = req.approvals.len();
        let actor = req.approved_by().join("+");
        req.approvals.clear();
        self.log_cancel(("secret", &req.secret), &req.nonce, count, &actor)?;
        Ok(())
    }

    /// Completes a release once enough officers approved (I1, I2): combines
    /// the shares, passes the key check, decrypts the next item, then in one
    /// transaction marks it released and appends the release entry and its
    /// checkpoint, flushes, and only then returns the item.
    pub fn complete_release(&mut self, mut req: ReleaseRequest) -> Result<Released> {
        // One time for the expiry check and the entry's stamp, so a release
        // finishing in the last second cannot be stamped after its expiry.
        let now = self.now();
        if self.has_expired(&req, now) {
            return Err(self.expire(&mut req));
        }
        let officers: Vec<String> = req.approvals.iter().map(|a| a.officer.clone()).collect();
        let names_ref: Vec<&str> = officers.iter().map(String::as_str).collect();
        let secret = req.secret.clone();
        let reason = req.reason.clone();
        let fail = |e: Error| {
            if matches!(e, Error::Locked(_)) {
                return e;
            }
            self.refuse_with("release", Some(&secret), Some(&reason), &names_ref, e)
        };

        // The item and the approvals it needs, from what officers signed
        // (I15); the stored records must agree or the vault locks.
        let facts = self
            .checked_facts_since(&secret, req.facts.take(), &mut facts::Gaps::new())?
            .0
            .ok_or_else(|| fail(Error::UnknownSecret(secret.clone())))?;
        let (needed, _) = self.approvals_needed(&facts)?;
        if req.approvals.len() < needed.max(req.needed) {
            return Err(fail(Error::TooFewOfficers {
                got: req.approvals.len(),
                need: needed.max(req.needed),
            }));
        }
        let shares: Vec<NamedShare<'_>> = req
            .approvals
            .iter()
            .map(|a| NamedShare {
                officer: &a.officer,
                share: &a.share,
            })
            .collect();
        let vk = self.rebuild_vault_key(&shares).map_err(&fail)?;

        // I10: an item released but never confirmed as seen goes first; it
        // is still unused. Otherwise the next item in deposit order.
        let Some(index) = facts.next_item() else {
            return Err(fail(Error::NothingLeft(secret.clone())));
        };
        let fact = &facts.items[index as usize];
        let target = self
            .store
            .get(Table::Items, &item_key(&secret, index))?
            .map(|b| ItemRecord::decode(&b))
            .transpose()?
            .ok_or_else(|| Error::Corrupt(format!("item {secret} #{} vanished", index + 1)))?;
        // The ciphertext decrypted is the one its depositor signed.
        if facts::digest(&target.ciphertext) != fact.digest {
            return Err(self.lock_vault(format!(
                "item {secret} #{}'s ciphertext is not the one its depositor signed",
                index + 1
            )));
        }
        let re_release_of = match fact.state {
            ItemState::Released { seq, .. } => Some(seq),
            ItemState::Available => None,
        };

        let value = self
            .decrypt_item(&vk, &secret, facts.kind, &target)
            .map_err(&fail)?;
        drop(vk);

        let mut approvals = Vec::new();
        for a in &req.approvals {
            approvals.push(json!({
                "officer": a.officer,
                "statement": a.statement,
                "signature": a.signature,
            }));
        }
        // The receipt: every approver signs what the release takes, and
        // who approved it as a set, so the ledger key alone cannot move it
        // to another item or drop an approver.
        let receipt = receipt_statement(&ReceiptFacts {
            vault: &self.config.vault_id,
            epoch: self.config.epoch.into(),
            secret: &secret,
            index: target.index.into(),
            digest: &fact.digest,
            nonce: &req.nonce,
            approvers: &names_ref,
            re_release_of,
            time: &rfc3339(now),
        });
        let receipt_bytes = canonical::to_vec(&receipt)?;
        let mut receipts = Vec::new();
        for a in &req.approvals {
            receipts.push(json!({
                "officer": a.officer,
                "signature": a.key.sign_detached(&receipt_bytes, now)?,
            }));
        }
        let mut draft = Draft::new("release", officers.join("+"))
            .field("secret", secret.clone())
            .field("index", target.index)
            .field("digest", fact.digest.clone())
            .field("reason", req.reason.clone())
            .field("nonce", req.nonce.clone())
            .field("epoch", self.config.epoch)
            .field("approvals", Value::Array(approvals))
            .field("receipts", Value::Array(receipts));
        if let Some(prev) = re_release_of {
            draft = draft.field("re_release_of", prev);
        }
        // Shares are no longer needed: zeroize before the write. The first
        // approver's key stays, to sign how the display ends.
        let signer = req.approvals.drain(..).next().map(|a| DisplaySigner {
            officer: a.officer,
            key: a.key,
        });

        // `now` was fixed at the start; see above.

        let fault = self.fault;
        let key = item_key(&secret, target.index);
        let committed = self.transact(|tx| {
            let current = tx
                .get(Table::Items, &key)?
                .map(|b| ItemRecord::decode(&b))
                .transpose()?
                .ok_or_else(|| Error::Corrupt("item vanished".into()))?;
            if current.state != target.state {
                return Err(Error::Storage("the item changed during the release".into()));
            }
            let seq = ledger::size_in(tx)?;
            let mut updated = current;
            updated.state = ItemState::Released {
                seq,
                confirmed: false,
            };
            tx.put(Table::Items, &key, &updated.encode()?)?;
            if fault == Some(FaultPoint::Transaction) {
                return Err(Error::Injected(FaultPoint::Transaction));
            }
            self.append(tx, &draft, now, fault)
        });
        let appended = committed.map_err(&fail)?;
        // I2: nothing is shown before the release is durable.
        if fault == Some(FaultPoint::Flush) {
            return Err(Error::Injected(FaultPoint::Flush));
        }
        self.store.flush()?;
        Ok(Released {
            secret,
            index: target.index,
            kind: facts.kind,
            seq: appended.seq,
            re_release_of,
            officers,
            value,
            signer,
        })
    }

    pub(super) fn decrypt_item(
        &self,
        vk: &VaultKey,
        secret: &str,
        kind: SecretKind,
        target: &ItemRecord,
    ) -> Result<SecretValue> {
        if target.epoch != self.config.epoch {
            return Err(Error::Corrupt(format!(
                "item {} #{} is encrypted for epoch {}",
                target.secret,
                target.index + 1,
                target.epoch
            )));
        }
        let tsk = crypto::open(
            vk.expose_secret(),
            &self.config.vault_key_sealed,
            &vault_key_aad(&self.config.vault_id, self.config.epoch),
        )?;
        let key = SecretKey::from_bytes(tsk.expose_secret())?;
        if key.fingerprint() != self.config.vault_key_fingerprint {
            return Err(Error::DecryptionFailed);
        }
        if self.fault == Some(FaultPoint::Decrypt) {
            return Err(Error::Injected(FaultPoint::Decrypt));
        }
        let plain = key.decrypt(&target.ciphertext)?;
        item::read(&plain, secret, target.index, kind)
    }

    /// Records how a released item's display ended: confirmed by an officer
    /// or written to stdout (the item will not be released again), or timed
    /// out or dismissed unconfirmed (it stays re-releasable, I10).
    ///
    /// The first approver's key, held in `released` since the release,
    /// signs the outcome; it is taken and zeroized here, so a display is
    /// recorded once. Without it nothing is recorded and the item stays
    /// released, unconfirmed.
    pub fn record_display(&mut self, released: &mut Released, how: Displayed) -> Result<u64> {
        let Some(signer) = released.signer.take() else {
            return Err(Error::Refused(format!(
                "the display of ledger entry {} is already recorded, or no approver's key is left to sign it",
                released.seq
            )));
        };
        let key = item_key(&released.secret, released.index);
        let now = self.now();
        let statement = display_statement(&DisplayFacts {
            vault: &self.config.vault_id,
            epoch: self.config.epoch.into(),
            release: released.seq,
            secret: &released.secret,
            index: released.index.into(),
            outcome: how.as_str(),
            officer: &signer.officer,
            time: &rfc3339(now),
        });
        let signature = signer
            .key
            .sign_detached(&canonical::to_vec(&statement)?, now)?;
        drop(signer);
        let draft = Draft::new("displayed", released.officers.join("+"))
            .field("secret", released.secret.clone())
            .field("index", released.index)
            .field("release", released.seq)
            .field("outcome", how.as_str())
            .field("signer", statement["officer"].clone())
            .field("signature", signature);
        let confirm = matches!(how, Displayed::Confirmed | Displayed::Stdout);
        let a = self.transact(|tx| {
            if confirm {
                let mut rec = tx
                    .get(Table::Items, &key)?
                    .map(|b| ItemRecord::decode(&b))
                    .transpose()?
                    .ok_or_else(|| Error::Corrupt("item vanished".into()))?;
                rec.state = ItemState::Released {
                    seq: released.seq,
                    confirmed: true,
                };
                tx.put(Table::Items, &key, &rec.encode()?)?;
            }
            self.append(tx, &draft, now, None)
        })?;
        self.store.flush()?;
        Ok(a.seq)
    }
}
