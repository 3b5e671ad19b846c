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
            Ok(_) => {
                self.note_failure(officer);
                err
            }
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
                return Err(self.refuse(action, secret, &[officer], self.not_an_officer(officer)));
            }
        };
        // Online guessing: while the officer's delay runs, refused before
        // any Argon2 work.
        self.check_backoff(officer, action, secret)?;
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

/// Consecutive wrong passphrases that cost no wait (typos happen).
pub const FREE_FAILURES: u32 = 3;
/// The wait after the first failure beyond [`FREE_FAILURES`], seconds; it
/// doubles with each further one.
pub const FIRST_DELAY: u64 = 2;
/// The longest wait, seconds: an outage is never held up for longer.
pub const MAX_DELAY: u64 = 300;
/// From this many consecutive failures on, the wait is [`MAX_DELAY`]: the
/// count need not be read further back.
const CAPPED_FAILURES: u32 = 12;

/// How long an officer waits after `failures` consecutive wrong
/// passphrases: nothing for the first [`FREE_FAILURES`], then 2 s, 4 s,
/// 8 s… up to [`MAX_DELAY`].
pub fn delay_after(failures: u32) -> u64 {
    match failures.checked_sub(FREE_FAILURES + 1) {
        None => 0,
        Some(d) if d >= 16 => MAX_DELAY,
        Some(d) => (FIRST_DELAY << d).min(MAX_DELAY),
    }
}

/// One officer's consecutive failures, as the ledger shows them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tally {
    /// `auth_failed` entries since their last success (counted up to
    /// [`CAPPED_FAILURES`]).
    pub failures: u32,
    /// The latest one's time, Unix seconds.
    pub last: i64,
}

/// Each of `officers`' consecutive failures, read backwards from the
/// ledger's last entry (`size` entries, entry `seq` from `get`) until each
/// officer's last success (or enough failures for the longest wait). A
/// success is any entry naming the officer as an actor (they
/// authenticated: a deposit, an approval, a drill, a ceremony…) or as
/// `added` by a ceremony, except `refused` and `auth_failed`. A failure
/// to read is an error; an entry that does not parse is passed over.
pub(super) fn tallies(
    officers: &[String],
    size: u64,
    mut get: impl FnMut(u64) -> Result<Option<Vec<u8>>>,
) -> Result<std::collections::HashMap<String, Tally>> {
    let mut out: std::collections::HashMap<String, Tally> = Default::default();
    let mut open: std::collections::HashSet<&str> = officers.iter().map(String::as_str).collect();
    let mut seq = size;
    while seq > 0 && !open.is_empty() {
        seq -= 1;
        // An entry that does not parse counts neither way: the tail check
        // and `ledger verify` report it, and the vault locks on it.
        let Some(m) = get(seq)?.and_then(|b| ledger::parse_entry(&b).ok()) else {
            continue;
        };
        let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default();
        let kind = text("kind");
        if kind == "refused" {
            continue;
        }
        let mut named: Vec<&str> = text("actor").split('+').collect();
        if kind == "rekey" {
            named.extend(
                m.get("added")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            );
        }
        for name in named {
            let Some(&officer) = open.get(name) else {
                continue;
            };
            if kind != "auth_failed" {
                open.remove(officer);
                continue;
            }
            let t = out.entry(officer.to_owned()).or_default();
            if t.failures == 0 {
                t.last = crate::clock::parse_rfc3339(text("time")).unwrap_or_default();
            }
            t.failures += 1;
            if t.failures >= CAPPED_FAILURES {
                open.remove(officer);
            }
        }
    }
    out.retain(|_, t| t.failures > 0);
    Ok(out)
}

/// The wait left at vault time `now` after `t`: measured from the last
/// failure's ledger time, and never more than the delay itself, so a clock
/// set back does not stretch it (I16).
fn remaining(t: &Tally, now: i64) -> u64 {
    let delay = delay_after(t.failures);
    let end = t.last.saturating_add(delay as i64);
    (end.saturating_sub(now)).clamp(0, delay as i64) as u64
}

/// The names of the officers the entry that opened the current epoch
/// lists (read with `get`, so it works inside a transaction).
pub(super) fn epoch_officers(
    epoch_seq: u64,
    mut get: impl FnMut(u64) -> Result<Option<Vec<u8>>>,
) -> Result<Vec<String>> {
    let bytes = get(epoch_seq)?.ok_or_else(|| {
        Error::Ledger(format!(
            "entry {epoch_seq}, which opened this epoch, is missing"
        ))
    })?;
    let m = ledger::parse_entry(&bytes)?;
    Ok(m.get("officers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect())
}

impl Vault {
    /// The wait each current officer must sit out before their next
    /// authentication, in seconds, by name; officers who need not wait are
    /// left out. Derived from the ledger (no record resets it), measured
    /// against vault time, and within this process also against the
    /// monotonic clock since the failure was logged (so setting the clock
    /// forward does not skip it). See docs/SECURITY.md, "Online guessing".
    pub fn auth_delays(&self) -> Result<std::collections::BTreeMap<String, u64>> {
        let officers: Vec<String> = self
            .active_officers()?
            .into_iter()
            .map(|o| o.name)
            .collect();
        let size = ledger::size(&self.store)?;
        let t = tallies(&officers, size, |seq| ledger::entry(&self.store, seq))?;
        let now = self.now();
        Ok(t.into_iter()
            .map(|(name, t)| {
                let wait = remaining(&t, now).max(self.monotonic_wait(&name, &t));
                (name, wait)
            })
            .filter(|(_, w)| *w > 0)
            .collect())
    }

    /// What is left of the delay this process saw begin for `officer`, by
    /// the monotonic clock; only while the ledger still shows the same
    /// failures.
    fn monotonic_wait(&self, officer: &str, t: &Tally) -> u64 {
        match self.backoff_seen.borrow().get(officer) {
            Some(&(started, failures)) if failures == t.failures => {
                let elapsed = self.clock.monotonic().saturating_sub(started).as_secs();
                delay_after(failures).saturating_sub(elapsed)
            }
            _ => 0,
        }
    }

    /// Refuses (and logs) an authentication of `officer` while their delay
    /// runs, before any Argon2 work.
    fn check_backoff(&self, officer: &str, action: &str, secret: Option<&str>) -> Result<()> {
        let size = ledger::size(&self.store)?;
        let t = tallies(&[officer.to_owned()], size, |seq| {
            ledger::entry(&self.store, seq)
        })?;
        let Some(t) = t.get(officer) else {
            return Ok(());
        };
        let wait = remaining(t, self.now()).max(self.monotonic_wait(officer, t));
        if wait == 0 {
            return Ok(());
        }
        Err(self.refuse(
            action,
            secret,
            &[officer],
            Error::Refused(format!(
                "officer {officer} must wait {wait} s before the next attempt: {} wrong passphrases in a row; this attempt was refused and logged, as every attempt is",
                t.failures
            )),
        ))
    }

    /// Notes, after an `auth_failed` entry was logged for `officer`, when
    /// this process saw their delay begin (monotonic clock).
    fn note_failure(&self, officer: &str) {
        let size = ledger::size(&self.store).unwrap_or_default();
        if let Ok(t) = tallies(&[officer.to_owned()], size, |seq| {
            ledger::entry(&self.store, seq)
        }) {
            let failures = t.get(officer).map_or(0, |t| t.failures);
            self.backoff_seen
                .borrow_mut()
                .insert(officer.to_owned(), (self.clock.monotonic(), failures));
        }
    }

    /// The delays in force once the entry being appended in `tx` is in:
    /// what every alert event carries (read through `tx`, which already
    /// holds the entry).
    pub(super) fn auth_delays_in(
        &self,
        tx: &crate::store::Tx<'_>,
        now: i64,
    ) -> Result<std::collections::BTreeMap<String, u64>> {
        let get = |seq: u64| tx.get(Table::Ledger, &seq.to_be_bytes());
        let epoch_seq = tx
            .get(Table::Meta, META_EPOCH_ENTRY)?
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| Error::Corrupt("missing the epoch's ledger position".into()))?;
        let officers = epoch_officers(epoch_seq, get)?;
        let size = ledger::size_in(tx)?;
        let t = tallies(&officers, size, get)?;
        Ok(t.into_iter()
            .map(|(name, t)| (name, remaining(&t, now)))
            .filter(|(_, w)| *w > 0)
            .collect())
    }
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn the_delay_is_free_then_doubles_then_caps() {
        let got: Vec<u64> = (0..=14).map(delay_after).collect();
        assert_eq!(
            got,
            [0, 0, 0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
        );
        assert_eq!(delay_after(u32::MAX), MAX_DELAY);
        assert_eq!(delay_after(CAPPED_FAILURES), MAX_DELAY);
    }

    #[test]
    fn the_wait_never_exceeds_the_delay_whatever_the_clock() {
        let t = Tally {
            failures: 8,
            last: 1_000,
        };
        assert_eq!(remaining(&t, 1_000), 32);
        assert_eq!(remaining(&t, 1_010), 22);
        assert_eq!(remaining(&t, 2_000), 0);
        assert_eq!(remaining(&t, 0), 32);
        assert_eq!(remaining(&t, i64::MIN), 32);
    }
}
