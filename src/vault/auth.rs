//! Officers authenticating: Argon2id, unsealing, drills and passphrase
//! changes.

use super::*;

impl Vault {
    /// Authenticates one officer: derives their key-encryption key with
    /// Argon2id and unseals their share and signing key. A wrong passphrase
    /// is logged (`auth_failed`) and refused; so is an unknown officer.
    pub fn authenticate(
        &self,
        officer: &str,
        pass: &Passphrase,
        action: &str,
        secret: Option<&str>,
    ) -> Result<OfficerSession> {
        let kek = self.derive_key(officer, pass, action, secret)?;
        self.authenticate_derived(officer, &kek, action, secret)
    }

    /// [`Vault::unlock_params`] then [`Unlock::derive`]: a derivation that
    /// fails is logged like a wrong passphrase.
    pub(super) fn derive_key(
        &self,
        officer: &str,
        pass: &Passphrase,
        action: &str,
        secret: Option<&str>,
    ) -> Result<DerivedKey> {
        let unlock = self.unlock_params(officer, action, secret)?;
        unlock
            .derive(pass)
            .map_err(|e| self.auth_failed(officer, action, secret, e))
    }

    /// Logs a failed authentication (`auth_failed`) and returns `err`, or
    /// the logging failure (fail closed: nothing unlogged).
    fn auth_failed(&self, officer: &str, action: &str, secret: Option<&str>, err: Error) -> Error {
        let mut d = Draft::new("auth_failed", officer).field("action", action);
        if let Some(s) = secret {
            d = d.field("secret", s);
        }
        match self.log(d) {
            Ok(_) => err,
            Err(log_err) => log_err,
        }
    }

    /// The first half of [`Vault::authenticate`]: what the slow Argon2
    /// derivation needs, so a console can run it off its UI thread. An
    /// unknown or removed officer is refused and logged here; stored
    /// parameters out of bounds (I21) are refused before anything is
    /// allocated, and logged like a wrong passphrase.
    pub fn unlock_params(
        &self,
        officer: &str,
        action: &str,
        secret: Option<&str>,
    ) -> Result<Unlock> {
        names::officer(officer)?;
        let rec = match self.officer_record(officer)? {
            Some(r) if r.active => r,
            _ => {
                return Err(self.refuse(
                    action,
                    secret,
                    &[officer],
                    Error::UnknownOfficer(officer.into()),
                ));
            }
        };
        if let Err(why) = rec.kdf.check_stored(&rec.salt) {
            return Err(self.auth_failed(
                officer,
                action,
                secret,
                Error::Refused(format!(
                    "officer {officer}'s stored Argon2 parameters are out of bounds ({why}): the vault directory was changed; nothing was derived, and the attempt is logged as a failed authentication"
                )),
            ));
        }
        Ok(Unlock {
            salt: rec.salt,
            kdf: rec.kdf,
        })
    }

    /// A drill: the officer proves their passphrase still unlocks their
    /// share, without releasing anything. The drill is logged either way
    /// (a failure as `auth_failed`).
    pub fn drill(&self, officer: &str, pass: &Passphrase) -> Result<u64> {
        let kek = self.derive_key(officer, pass, "drill", None)?;
        self.drill_derived(officer, &kek)
    }

    /// [`Vault::drill`] with a key derived by [`Unlock::derive`] (so a
    /// console can run Argon2 off its UI thread).
    pub fn drill_derived(&self, officer: &str, kek: &DerivedKey) -> Result<u64> {
        let session = self.authenticate_derived(officer, kek, "drill", None)?;
        if session.share.len() != shamir::SHARE_LEN || session.share.expose_secret()[0] == 0 {
            return Err(self.refuse(
                "drill",
                None,
                &[officer],
                Error::InvalidShare(officer.into()),
            ));
        }
        self.log(Draft::new("drill", officer).field("result", "ok"))
    }

    /// Changes an officer's passphrase: the share and signing key are
    /// re-sealed under a key derived from the new passphrase (new salt, the
    /// officer's Argon2 parameters). Logged as `passphrase`.
    pub fn change_passphrase(
        &mut self,
        officer: &str,
        old: &Passphrase,
        new: &Passphrase,
    ) -> Result<u64> {
        check_passphrase(officer, new)?;
        let session = self.authenticate(officer, old, "passphrase", None)?;
        let rec = self
            .officer_record(officer)?
            .ok_or_else(|| Error::UnknownOfficer(officer.into()))?;
        let mut resealed = seal_officer(
            officer,
            new,
            rec.kdf,
            &session.share,
            &session.key,
            &session.commitment,
        )?;
        // The certificate is the enrolled one, byte for byte.
        resealed.cert = rec.cert;
        let draft = Draft::new("passphrase", officer);
        let now = self.now();
        let a = self.transact(|tx| {
            tx.put(Table::Officers, officer.as_bytes(), &resealed.encode()?)?;
            self.append(tx, &draft, now, None)
        })?;
        self.store.flush()?;
        Ok(a.seq)
    }

    /// The second half of [`Vault::authenticate`]: unseals the officer's
    /// share and signing key with a derived key; a wrong one is logged.
    pub fn authenticate_derived(
        &self,
        officer: &str,
        kek: &DerivedKey,
        action: &str,
        secret: Option<&str>,
    ) -> Result<OfficerSession> {
        let rec = self
            .officer_record(officer)?
            .filter(|r| r.active)
            .ok_or_else(|| Error::UnknownOfficer(officer.into()))?;
        // The stored salt and parameters are in the additional data: a
        // record whose values were changed on disk fails here like a wrong
        // passphrase.
        let plain = match crypto::open(
            kek.key.expose_secret(),
            &rec.sealed,
            &officer_aad(
                &self.config.vault_id,
                officer,
                rec.epoch,
                &rec.salt,
                rec.kdf,
            ),
        ) {
            Ok(p) => p,
            Err(_) => {
                return Err(self.auth_failed(
                    officer,
                    action,
                    secret,
                    Error::BadPassphrase(officer.into()),
                ));
            }
        };
        let keys::Unsealed {
            share,
            key,
            commitment,
        } = parse_officer_plaintext(&plain)?;
        let cert = PublicCert::from_bytes(&rec.cert)?;
        if cert.fingerprint() != key.fingerprint()
            || commitment.officers.get(officer) != Some(&key.fingerprint())
            || commitment.epoch != rec.epoch
        {
            return Err(self.lock_vault(format!(
                "officer {officer}'s stored certificate is not the key their sealed record holds"
            )));
        }
        // A ceremony happened since this officer last authenticated: their
        // new share waits beside the record.
        let (share, commitment) = if commitment.epoch == self.config.epoch {
            (share, commitment)
        } else {
            drop(share);
            self.receive_share(officer, &rec, kek, &key, commitment)?
        };
        // I15: what the disk says about the vault must be what this
        // officer's sealed record vouches for.
        self.check_commitment(&commitment)?;
        Ok(OfficerSession {
            name: officer.to_string(),
            share,
            key,
            commitment,
        })
    }
}
