//! The vault: every operation the CLI and the TUI offer, as a library API.
//!
//! Key hierarchy (DESIGN §2): the vault key VK exists only between a quorum
//! and the end of one release; officers hold Shamir shares of it sealed
//! under their passphrase-derived keys; VK seals the vault encryption key's
//! secret half, to whose public half every item is encrypted (so a deposit
//! needs no quorum).
//!
//! The module is split by concern: `open` (init, open, the tail check),
//! `keys` (sealing officer records, additional data), `auth` (officers
//! authenticating, drills, passphrase changes), `deposit`, `release` (the
//! quorum release and its display record) and `view` (counts and status,
//! never a value).

mod alerts;
mod auth;
mod ceremony;
mod deposit;
mod facts;
mod keys;
mod lifecycle;
mod open;
mod release;
mod restore;
mod trust;
mod view;

use keys::{
    check_passphrase, key_check_aad, officer_aad, parse_officer_plaintext, seal_officer,
    vault_key_aad,
};

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::clock::{Clock, SystemClock, rfc3339};
use crate::crypto::{self, KdfParams};
use crate::error::{Error, FaultPoint, Result};
use crate::item;
use crate::ledger::canonical;
use crate::ledger::{self, Draft};
use crate::names;
use crate::pgp::{PublicCert, SecretKey};
use crate::records::{
    FORMAT_VERSION, ItemRecord, ItemState, LedgerKeyRecord, LockRecord, OfficerRecord, Record,
    SecretKind, SecretRecord, VaultConfig, read_format, write_format,
};
use crate::secret::{Passphrase, SecretBytes, SecretValue, VaultKey};
use crate::shamir::{self, NamedShare};
use crate::store::{self, Access, Store, Table};

pub use alerts::AlertStatus;
pub use ceremony::{Carried, CeremonyKind, CeremonyPlan, CeremonyReport, CeremonyRequest};
pub use lifecycle::{CANARY_PREFIX, DrillReport, MAX_INCIDENT_CHARS, MAX_NOTE_CHARS, ReviewClass};
pub use release::ReleaseRequest;
pub use restore::{BackupReport, RestoreReport, gap_warning};

const META_FORMAT: &[u8] = b"format";
const META_CONFIG: &[u8] = b"config";
const META_LEDGER_KEY: &[u8] = b"ledger_key";
/// Sequence number of the ledger entry that opened the current epoch.
pub(crate) const META_EPOCH_ENTRY: &[u8] = b"epoch_entry";
/// Why the vault locked itself (a [`LockRecord`]).
const META_LOCK: &[u8] = b"lock";
const KEY_CHECK: &[u8] = b"breakglass key check v1";
/// Minimum passphrase length, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 8;
/// How long a partial quorum stays valid (I9), in seconds.
pub const DEFAULT_APPROVAL_TTL: i64 = 15 * 60;

/// One officer at `init`.
pub struct NewOfficer {
    /// The officer's name.
    pub name: String,
    /// The officer's passphrase.
    pub passphrase: Passphrase,
}

/// What `init` needs.
pub struct InitOptions {
    /// Officers needed to release (m).
    pub threshold: usize,
    /// The officers (n), in order.
    pub officers: Vec<NewOfficer>,
    /// Argon2id parameters for every officer.
    pub kdf: KdfParams,
}

/// An officer who has authenticated: holds their share and signing key
/// until dropped (both zeroized).
pub struct OfficerSession {
    name: String,
    share: SecretBytes,
    key: SecretKey,
    /// What the officer's sealed record vouches for; already checked
    /// against the disk when the session was made.
    commitment: keys::Commitment,
}

impl std::fmt::Debug for OfficerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OfficerSession({}, [REDACTED])", self.name)
    }
}

impl OfficerSession {
    /// The officer's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// What deriving an officer's key needs: salt and Argon2 parameters,
/// already checked against their bounds (I21). Holds no secret, so it can
/// be sent to a worker thread.
#[derive(Debug, Clone)]
pub struct Unlock {
    salt: Vec<u8>,
    kdf: KdfParams,
}

impl Unlock {
    /// Runs Argon2id on `pass`. Slow on purpose; safe on any thread.
    pub fn derive(&self, pass: &Passphrase) -> Result<DerivedKey> {
        Ok(DerivedKey {
            key: crypto::derive_kek(pass, &self.salt, self.kdf)?,
            salt: self.salt.clone(),
            kdf: self.kdf,
        })
    }
}

/// An officer's derived key-encryption key, with the salt and parameters
/// it was derived with (what a re-seal under it must store). Zeroized on
/// drop.
#[derive(Debug)]
pub struct DerivedKey {
    key: SecretBytes,
    salt: Vec<u8>,
    kdf: KdfParams,
}

/// A counted view of one secret; never a value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecretSummary {
    /// Name.
    pub name: String,
    /// `codes` or `credential`.
    pub kind: &'static str,
    /// Minimum approvals above the threshold, if set.
    pub min_approvals: Option<u8>,
    /// Items deposited.
    pub total: u32,
    /// Items never released.
    pub remaining: u32,
    /// Items released but never confirmed as displayed (re-releasable, I10).
    pub unconfirmed: u32,
    /// The policy in words; empty for the default.
    pub policy: String,
}

/// The vault at a glance; never a secret.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// Vault id.
    pub vault_id: String,
    /// Officers needed.
    pub threshold: u8,
    /// Active officers.
    pub officers: Vec<String>,
    /// Rekey counter.
    pub epoch: u32,
    /// Ledger entries.
    pub ledger_size: u64,
    /// Ledger root, standard base64 (as in the checkpoint).
    pub ledger_root: String,
    /// The vault fingerprint: the SHA-256 leaf hash of the genesis entry,
    /// lower-case hex. Auditors pin it (`ledger verify --pin`).
    pub fingerprint: String,
    /// Ledger key fingerprint.
    pub ledger_fingerprint: String,
    /// Vault encryption key fingerprint.
    pub vault_key_fingerprint: String,
    /// Number of secrets.
    pub secrets: usize,
    /// Why the ledger's tail disagrees with its checkpoint, if it does.
    pub ledger_problem: Option<String>,
    /// Why the vault locked itself, if it did: stored data disagreed with
    /// what the officers signed (I15).
    pub locked: Option<String>,
    /// A warning about the system clock, if it disagrees with the ledger
    /// (I16).
    pub clock_warning: Option<String>,
    /// The vault's Argon2 settings, as the entry that opened the epoch
    /// states them (what an officer a ceremony adds gets); `None` when that
    /// entry cannot be read.
    pub kdf: Option<KdfParams>,
    /// Each current officer's stored Argon2 settings, by name (what their
    /// record says; authenticating checks it, see docs/SECURITY.md).
    pub officer_kdf: std::collections::BTreeMap<String, KdfParams>,
    /// How long each officer must wait before their next authentication,
    /// seconds, after consecutive wrong passphrases; officers who need not
    /// wait are left out. Derived from the ledger.
    pub auth_delays: std::collections::BTreeMap<String, u64>,
    /// The `restored` entry whose gap waits for a quorum's
    /// acknowledgement, if one does: releases and ceremonies wait too.
    pub gap: Option<u64>,
    /// What needs doing: rotations, reviews, drills, reorders.
    pub due: Vec<crate::lifecycle::Due>,
    /// The vault's time when the status was read, Unix seconds.
    pub now: i64,
    /// Alert events not yet delivered (I17).
    pub alerts_pending: u64,
    /// A warning about alerts: undelivered events, or a hook that cannot
    /// run.
    pub alerts_warning: Option<String>,
}

/// One current officer as the officers screen shows them: read from the
/// ledger, never from a sealed record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfficerOverview {
    /// The officer's name.
    pub name: String,
    /// When their latest successful drill was logged, Unix seconds.
    pub last_drill: Option<i64>,
    /// The latest ceremony left them a new share, and no entry since shows
    /// them authenticated (their next authentication takes it).
    pub share_waiting: bool,
    /// Their end-to-end drill is overdue: none passed in the last 90 days
    /// (or since they joined).
    pub drill_overdue: bool,
}

/// What `deposit` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositReport {
    /// Items added.
    pub added: u32,
    /// Items the secret now holds in all.
    pub total: u32,
    /// Ledger entry.
    pub seq: u64,
}

/// How a released item's display ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Displayed {
    /// An officer confirmed they saw it.
    Confirmed,
    /// Written to stdout in batch mode.
    Stdout,
    /// Cleared by the timeout before anyone confirmed.
    TimedOut,
    /// Cleared by an officer without confirming it was seen.
    Dismissed,
}

impl Displayed {
    fn as_str(self) -> &'static str {
        match self {
            Displayed::Confirmed => "confirmed",
            Displayed::Stdout => "stdout",
            Displayed::TimedOut => "timeout",
            Displayed::Dismissed => "dismissed",
        }
    }
}

/// A released item. Hold it only as long as it is shown.
#[derive(Debug)]
pub struct Released {
    /// Secret name.
    pub secret: String,
    /// Item index in deposit order.
    pub index: u32,
    /// Codes or credential.
    pub kind: SecretKind,
    /// The release entry's sequence number.
    pub seq: u64,
    /// The earlier release entry this one re-releases (I10), if any.
    pub re_release_of: Option<u64>,
    /// The officers who approved.
    pub officers: Vec<String>,
    /// The item.
    pub value: SecretValue,
    /// The key that signs how the display ended: the first approver's,
    /// held until [`Vault::record_display`] takes it (then zeroized).
    /// `None` when nobody can sign: the display cannot be recorded, and
    /// the item stays released, unconfirmed (I10).
    pub signer: Option<DisplaySigner>,
}

/// An approver's signing key, kept from a release's completion until its
/// display is recorded. Its `Debug` names only the officer.
pub struct DisplaySigner {
    officer: String,
    key: SecretKey,
}

impl std::fmt::Debug for DisplaySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DisplaySigner({}, [REDACTED])", self.officer)
    }
}

/// An open vault. Holds sled's lock: one per process and vault.
pub struct Vault {
    store: Store,
    config: VaultConfig,
    ledger_key: SecretKey,
    clock: Arc<dyn Clock>,
    approval_ttl: i64,
    fault: Option<FaultPoint>,
    /// Set on open when the ledger's tail disagrees with its latest
    /// checkpoint; nothing is written until an auditor has looked.
    ledger_problem: Option<String>,
    /// Set when stored data disagrees with what officers signed (read from
    /// `meta/lock` on open, or found now); nothing is written while set.
    lock: std::cell::RefCell<Option<String>>,
    /// The ledger's size and last entry time when last read, for what the
    /// console asks while it has let go of the database (no other process
    /// writes meanwhile: it holds the writer lock).
    tail: std::cell::Cell<(u64, i64)>,
    /// For each officer whose authentication failed in this process: the
    /// monotonic reading when it was logged and their consecutive failures
    /// then, so a wall clock set forward does not skip their delay.
    backoff_seen: std::cell::RefCell<std::collections::HashMap<String, (std::time::Duration, u32)>>,
    /// The ledger's lifecycle as of the entries the running transaction
    /// appended so far, for alert events' `unusual`: read before the
    /// transaction, since sled cannot iterate inside one.
    life: std::cell::RefCell<Option<crate::lifecycle::Lifecycle>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault({})", self.config.vault_id)
    }
}

fn item_key(secret: &str, index: u32) -> Vec<u8> {
    let mut k = secret.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// The error for every write to a vault whose ledger failed the tail check.
fn locked(problem: &str) -> Error {
    Error::Locked(format!(
        "{problem}; nothing more is written until an auditor has run `breakglass ledger verify`"
    ))
}

/// How far behind the last entry the clock may read before it counts as
/// set back (ordinary skew): entries then keep the last entry's time.
pub const CLOCK_SKEW: i64 = 5 * 60;
/// How far ahead of the last entry the clock may read before it counts as
/// implausible and is recorded: five years.
pub const CLOCK_AHEAD: i64 = 5 * 366 * 24 * 60 * 60;

/// `"behind"` when `wall` is more than [`CLOCK_SKEW`] before `last`,
/// `"ahead"` when it is more than [`CLOCK_AHEAD`] after it.
fn clock_drift(wall: i64, last: i64) -> Option<&'static str> {
    if wall + CLOCK_SKEW < last {
        Some("behind")
    } else if last > 0 && wall > last.saturating_add(CLOCK_AHEAD) {
        Some("ahead")
    } else {
        None
    }
}

impl Vault {
    /// Why the ledger's tail disagrees with its latest checkpoint, if it
    /// does (checked on open). While it does, the vault is locked: every
    /// write is refused.
    pub fn ledger_problem(&self) -> Option<&str> {
        self.ledger_problem.as_deref()
    }

    /// Why the vault locked itself, if it did (I15): stored data disagreed
    /// with what the officers signed. While locked, nothing is written.
    pub fn locked(&self) -> Option<String> {
        self.lock.borrow().clone()
    }

    /// Makes one step of the next releases fail, to test that a failure
    /// anywhere shows nothing and leaves the vault consistent. Test-only:
    /// it exists with the `testing` feature, which the test suite turns on.
    #[cfg(any(test, feature = "testing"))]
    pub fn inject_fault(&mut self, fault: Option<FaultPoint>) {
        self.fault = fault;
    }

    /// Sets how long a partial quorum stays valid.
    pub fn set_approval_ttl(&mut self, secs: i64) {
        self.approval_ttl = secs;
    }

    /// The vault id.
    pub fn id(&self) -> &str {
        &self.config.vault_id
    }

    /// The vault directory.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// The clock's own time, for timing a display (not for the ledger).
    pub fn clock_now(&self) -> i64 {
        self.clock.now()
    }

    /// The current time for the ledger and for approval expiry (I16).
    ///
    /// Normally the clock's time, but never earlier than the last entry by
    /// a mere skew (up to [`CLOCK_SKEW`]): time then stands still until the
    /// clock catches up. A clock set back further is believed, and the
    /// next write records it first in a `clock` entry (see
    /// [`Vault::clock_warning`]).
    pub fn now(&self) -> i64 {
        let wall = self.clock.now();
        let last = self.tail().1;
        if wall + CLOCK_SKEW >= last {
            wall.max(last)
        } else {
            wall
        }
    }

    /// What is wrong with the system clock, if anything: it reads more
    /// than [`CLOCK_SKEW`] behind the last ledger entry, or more than
    /// [`CLOCK_AHEAD`] after it. The next write records it in the ledger.
    pub fn clock_warning(&self) -> Option<String> {
        let wall = self.clock.now();
        let last = self.tail().1;
        clock_drift(wall, last).map(|d| match d {
            "behind" => format!(
                "the system clock reads {}, earlier than the ledger's last entry ({}); the next entry records the jump, check the clock",
                rfc3339(wall),
                rfc3339(last)
            ),
            _ => format!(
                "the system clock reads {}, more than five years after the ledger's last entry ({}); the next entry records the jump, check the clock",
                rfc3339(wall),
                rfc3339(last)
            ),
        })
    }

    /// The ledger's size and its last entry's time: read from the database
    /// while it is open, else as last read (see [`Vault::suspend`]).
    fn tail(&self) -> (u64, i64) {
        if self.store.is_open() {
            if let (Ok(size), Ok(last)) =
                (ledger::size(&self.store), ledger::last_time(&self.store))
            {
                self.tail.set((size, last));
            }
        }
        self.tail.get()
    }

    /// The number of ledger entries (as last read while the database was
    /// open; see [`Vault::suspend`]).
    pub fn ledger_size(&self) -> u64 {
        self.tail().0
    }

    /// Lets go of the database until the next operation, so that readers
    /// (`list`, `status`, `ledger verify`…) in other processes can open it
    /// meanwhile; the writer lock stays, so no other process writes. The
    /// console calls it when idle.
    pub fn suspend(&self) {
        self.tail();
        self.store.suspend();
    }

    /// Closes the database until the next operation, which opens it again
    /// and keeps it: what a command does before it waits for a passphrase,
    /// so readers can work meanwhile. The writer lock stays.
    pub fn let_go(&self) {
        self.tail();
        self.store.let_go();
    }

    /// Someone is at the console again: keeps the database open from its
    /// next use until the next [`Vault::suspend`].
    pub fn resume(&self) {
        self.store.resume();
    }

    /// The ledger key's public certificate.
    pub fn ledger_cert(&self) -> PublicCert {
        self.ledger_key.public()
    }

    /// Why nothing may be written, if something forbids it.
    fn write_lock(&self) -> Option<Error> {
        if let Some(p) = &self.ledger_problem {
            return Some(locked(p));
        }
        self.lock.borrow().clone().map(Error::Locked)
    }

    /// Appends `draft` inside `tx`, signed with this vault's ledger key.
    fn append(
        &self,
        tx: &crate::store::Tx<'_>,
        draft: &Draft,
        now: i64,
        fault: Option<FaultPoint>,
    ) -> Result<ledger::Appended> {
        // A locked vault takes nothing more: a new signed checkpoint would
        // paper over the disagreement.
        if let Some(e) = self.write_lock() {
            return Err(e);
        }
        let a = ledger::append(
            tx,
            draft,
            now,
            &self.config.vault_id,
            &self.ledger_key,
            fault,
        )?;
        // I17: the entry's alert event is queued in the entry's own
        // transaction, so no path appends without it.
        self.queue_alert(tx, &a)?;
        Ok(a)
    }

    /// Runs `f` as one transaction. When the clock has jumped (see
    /// [`Vault::clock_warning`]) a `clock` entry recording the jump is
    /// appended first, in the same transaction (I16).
    fn transact<T>(&self, f: impl Fn(&crate::store::Tx<'_>) -> Result<T>) -> Result<T> {
        let wall = self.clock.now();
        // A ledger that cannot be read must not stop an entry from being
        // alerted: its event then reports nothing unusual.
        let life = crate::lifecycle::Lifecycle::read(&self.store).ok();
        let result = self.store.transact(|tx| {
            // A retried transaction starts again from the stored ledger.
            self.life.replace(life.clone());
            let last = ledger::last_time_in(tx)?;
            if let Some(direction) = clock_drift(wall, last) {
                let d = Draft::new("clock", "")
                    .field("direction", direction)
                    .field("clock", rfc3339(wall))
                    .field("previous", rfc3339(last));
                self.append(tx, &d, wall, None)?;
            }
            f(tx)
        });
        self.life.replace(None);
        result
    }

    /// Whether approvals collected since the monotonic reading `started`,
    /// which expire at `expires` by the wall clock, have expired at vault
    /// time `now`: by either clock, so no clock setting extends them (I9,
    /// I16).
    fn approvals_expired(&self, started: std::time::Duration, expires: i64, now: i64) -> bool {
        let elapsed = self.clock.monotonic().saturating_sub(started);
        now > expires || elapsed.as_secs() as i64 > self.approval_ttl
    }

    /// Logs the expiry of `count` collected approvals (I9) for what
    /// `about` names (`("secret", name)` or `("ceremony", kind)`); returns
    /// the error to report, or the logging failure (fail closed).
    fn log_expiry(&self, about: (&str, &str), nonce: &str, count: usize, expires: i64) -> Error {
        let d = Draft::new("expired", "")
            .field(about.0, about.1)
            .field("nonce", nonce)
            .field("approvals", count);
        let err = Error::Expired(rfc3339(expires));
        match self.log(d) {
            Ok(_) => err,
            Err(e) => e,
        }
    }

    /// Rebuilds the vault key from a quorum's shares (I1) and passes the key
    /// check: a key that fails it is refused before any use.
    fn rebuild_vault_key(&self, shares: &[NamedShare<'_>]) -> Result<VaultKey> {
        let vk = shamir::combine(self.config.threshold, shares)?;
        let check = crypto::open(
            vk.expose_secret(),
            &self.config.key_check,
            &key_check_aad(&self.config.vault_id, self.config.epoch),
        );
        if !matches!(&check, Ok(c) if c.expose_secret() == KEY_CHECK) {
            return Err(Error::KeyCheckFailed);
        }
        Ok(vk)
    }

    /// Logs that a request was abandoned with `count` approvals by `actor`
    /// (I7), for what `about` names (`("secret", name)` or `("ceremony",
    /// kind)`).
    fn log_cancel(
        &self,
        about: (&str, &str),
        nonce: &str,
        count: usize,
        actor: &str,
    ) -> Result<u64> {
        self.log(
            Draft::new("cancelled", actor)
                .field(about.0, about.1)
                .field("nonce", nonce)
                .field("approvals", count),
        )
    }

    /// Appends one entry in its own transaction and flushes.
    fn log(&self, draft: Draft) -> Result<u64> {
        let now = self.now();
        let a = self.transact(|tx| self.append(tx, &draft, now, None))?;
        self.store.flush()?;
        Ok(a.seq)
    }

    /// Logs a refused attempt, then returns `err`. If logging itself fails,
    /// that failure is returned instead (fail closed: nothing unlogged).
    fn refuse(&self, action: &str, secret: Option<&str>, officers: &[&str], err: Error) -> Error {
        self.refuse_with(action, secret, None, officers, err)
    }

    /// [`Vault::refuse`], also recording the reason that was typed.
    fn refuse_with(
        &self,
        action: &str,
        secret: Option<&str>,
        reason: Option<&str>,
        officers: &[&str],
        err: Error,
    ) -> Error {
        let mut d = Draft::new("refused", officers.join("+"))
            .field("action", action)
            .field("cause", err.to_string());
        if let Some(s) = secret {
            d = d.field("secret", s);
        }
        if let Some(r) = reason {
            d = d.field("reason", r);
        }
        match self.log(d) {
            Ok(_) => err,
            Err(log_err) => log_err,
        }
    }

    fn officer_record(&self, name: &str) -> Result<Option<OfficerRecord>> {
        self.store
            .get(Table::Officers, name.as_bytes())?
            .map(|b| OfficerRecord::decode(&b))
            .transpose()
    }

    /// The refusal for `name`, who is not a current officer: removed in a
    /// ceremony, or unknown, with the nearest current name if one is close.
    pub(crate) fn not_an_officer(&self, name: &str) -> Error {
        if let Ok(Some(r)) = self.officer_record(name) {
            if !r.active {
                return Error::RemovedOfficer(name.into());
            }
        }
        let current: Vec<String> = self
            .active_officers()
            .map(|o| o.into_iter().map(|r| r.name).collect())
            .unwrap_or_default();
        Error::UnknownOfficer(with_hint(name, &current))
    }

    /// The refusal for `name`, which no secret has: with the nearest
    /// existing name if one is close (a difference of case above all).
    pub(crate) fn unknown_secret(&self, name: &str) -> Error {
        let existing: Vec<String> = self
            .stored_secrets()
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.name)
            .filter(|n| !crate::lifecycle::is_drill_secret(n))
            .collect();
        Error::UnknownSecret(with_hint(name, &existing))
    }

    /// The stored secret records (unsigned: for hints and for refusing
    /// early; what a release or deposit decides comes from the ledger).
    /// A record that does not decode is left out.
    fn stored_secrets(&self) -> Result<Vec<SecretRecord>> {
        Ok(self
            .store
            .scan_prefix(Table::Secrets, b"")?
            .into_iter()
            .filter_map(|(_, v)| SecretRecord::decode(&v).ok())
            .collect())
    }

    fn active_officers(&self) -> Result<Vec<OfficerRecord>> {
        self.store
            .scan_prefix(Table::Officers, b"")?
            .into_iter()
            .map(|(_, v)| OfficerRecord::decode(&v))
            .filter(|r| r.as_ref().map_or(true, |r| r.active))
            .collect()
    }

    fn secret_record(&self, name: &str) -> Result<Option<SecretRecord>> {
        self.store
            .get(Table::Secrets, name.as_bytes())?
            .map(|b| SecretRecord::decode(&b))
            .transpose()
    }

    fn items(&self, secret: &str) -> Result<Vec<ItemRecord>> {
        let mut prefix = secret.as_bytes().to_vec();
        prefix.push(0);
        self.store
            .scan_prefix(Table::Items, &prefix)?
            .into_iter()
            .map(|(_, v)| ItemRecord::decode(&v))
            .collect()
    }
}

/// `name`, and "(did you mean X?)" when X is close.
fn with_hint(name: &str, candidates: &[String]) -> String {
    match names::nearest(name, candidates.iter().map(String::as_str)) {
        Some(n) => format!("{name} (did you mean {n}?)"),
        None => name.to_string(),
    }
}
