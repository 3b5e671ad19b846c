//! The vault: every operation the CLI and the TUI offer, as a library API.
//!
//! Key hierarchy (DESIGN §2): the vault key VK exists only between a quorum
//! and the end of one release; officers hold Shamir shares of it sealed
//! under their passphrase-derived keys; VK seals the vault encryption key's
//! secret half, to whose public half every item is encrypted (so a deposit
//! needs no quorum).

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::canonical;
use crate::clock::{Clock, SystemClock, rfc3339};
use crate::crypto::{self, KdfParams};
use crate::error::{Error, FaultPoint, Result};
use crate::item;
use crate::ledger::{self, Draft};
use crate::names;
use crate::pgp::{PublicCert, SecretKey};
use crate::records::{
    FORMAT_VERSION, ItemRecord, ItemState, LedgerKeyRecord, OfficerRecord, Record, SecretKind,
    SecretRecord, VaultConfig, read_format, write_format,
};
use crate::secret::{Passphrase, SecretBytes, SecretValue, VaultKey};
use crate::shamir::{self, NamedShare};
use crate::store::{Store, Table};

const META_FORMAT: &[u8] = b"format";
const META_CONFIG: &[u8] = b"config";
const META_LEDGER_KEY: &[u8] = b"ledger_key";
/// Sequence number of the ledger entry that opened the current epoch.
const META_EPOCH_ENTRY: &[u8] = b"epoch_entry";
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

/// What deriving an officer's key needs: salt and Argon2 parameters. Holds
/// no secret, so it can be sent to a worker thread.
#[derive(Debug, Clone)]
pub struct Unlock {
    salt: Vec<u8>,
    kdf: KdfParams,
}

impl Unlock {
    /// Runs Argon2id on `pass`. Slow on purpose; safe on any thread.
    pub fn derive(&self, pass: &Passphrase) -> Result<DerivedKey> {
        Ok(DerivedKey(crypto::derive_kek(pass, &self.salt, self.kdf)?))
    }
}

/// An officer's derived key-encryption key. Zeroized on drop.
#[derive(Debug)]
pub struct DerivedKey(SecretBytes);

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
    /// Ledger root, lower-case hex.
    pub ledger_root: String,
    /// Ledger key fingerprint.
    pub ledger_fingerprint: String,
    /// Vault encryption key fingerprint.
    pub vault_key_fingerprint: String,
    /// Number of secrets.
    pub secrets: usize,
    /// Why the ledger's tail disagrees with its checkpoint, if it does.
    pub ledger_problem: Option<String>,
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

/// One officer's signed approval inside a release request.
struct Approval {
    officer: String,
    statement: Value,
    signature: String,
    share: SecretBytes,
}

/// A release being approved: the statement officers sign, and the approvals
/// (with their shares) collected so far. Dropping it zeroizes the shares.
pub struct ReleaseRequest {
    secret: String,
    reason: String,
    nonce: String,
    expires: i64,
    needed: usize,
    approvals: Vec<Approval>,
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

    /// Officers who have approved, in order.
    pub fn approved_by(&self) -> Vec<&str> {
        self.approvals.iter().map(|a| a.officer.as_str()).collect()
    }
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

fn epoch_bytes(epoch: u32) -> [u8; 4] {
    epoch.to_be_bytes()
}

fn key_check_aad(vault_id: &str, epoch: u32) -> Vec<u8> {
    crypto::aad(&[b"key-check", vault_id.as_bytes(), &epoch_bytes(epoch)])
}

fn vault_key_aad(vault_id: &str, epoch: u32) -> Vec<u8> {
    crypto::aad(&[b"vault-key", vault_id.as_bytes(), &epoch_bytes(epoch)])
}

fn officer_aad(vault_id: &str, officer: &str, epoch: u32) -> Vec<u8> {
    crypto::aad(&[
        b"officer",
        vault_id.as_bytes(),
        officer.as_bytes(),
        &epoch_bytes(epoch),
    ])
}

/// `share length (u16) ‖ share ‖ signing key`, sealed per officer.
fn officer_plaintext(share: &SecretBytes, key: &SecretKey) -> Result<SecretBytes> {
    let tsk = key.to_bytes()?;
    let mut v = Vec::with_capacity(2 + share.len() + tsk.len());
    v.extend_from_slice(&(share.len() as u16).to_be_bytes());
    v.extend_from_slice(share.expose_secret());
    v.extend_from_slice(tsk.expose_secret());
    Ok(SecretBytes::new(v))
}

fn parse_officer_plaintext(p: &SecretBytes) -> Result<(SecretBytes, SecretKey)> {
    let b = p.expose_secret();
    let corrupt = || Error::Corrupt("officer key blob".into());
    if b.len() < 2 {
        return Err(corrupt());
    }
    let n = u16::from_be_bytes([b[0], b[1]]) as usize;
    if b.len() < 2 + n {
        return Err(corrupt());
    }
    let share = SecretBytes::new(b[2..2 + n].to_vec());
    let key = SecretKey::from_bytes(&b[2 + n..])?;
    Ok((share, key))
}

fn check_passphrase(name: &str, p: &Passphrase) -> Result<()> {
    if p.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Error::invalid(
            "passphrase",
            format!("the passphrase for {name} is shorter than {MIN_PASSPHRASE_CHARS} characters"),
        ));
    }
    Ok(())
}

fn seal_officer(
    vault_id: &str,
    name: &str,
    epoch: u32,
    pass: &Passphrase,
    kdf: KdfParams,
    share: &SecretBytes,
    key: &SecretKey,
) -> Result<OfficerRecord> {
    let salt: [u8; 16] = crypto::random_array();
    let kek = crypto::derive_kek(pass, &salt, kdf)?;
    let sealed = crypto::seal(
        kek.expose_secret(),
        officer_plaintext(share, key)?.expose_secret(),
        &officer_aad(vault_id, name, epoch),
    )?;
    Ok(OfficerRecord {
        name: name.to_string(),
        cert: key.public().to_bytes()?,
        salt: salt.to_vec(),
        kdf,
        epoch,
        sealed,
        active: true,
    })
}

/// The error for every write to a vault whose ledger failed the tail check.
fn locked(problem: &str) -> Error {
    Error::Ledger(format!(
        "the vault is locked: {problem}; nothing more is written until an auditor has run `breakglass ledger verify`"
    ))
}

/// The cheap check on open: the latest checkpoint covers exactly the stored
/// entries, its root is the stored tree's, the last entry hashes to the
/// stored leaf, and the ledger key signed it. No full rescan.
fn check_tail(
    store: &Store,
    config: &VaultConfig,
    ledger_cert: &PublicCert,
) -> std::result::Result<(), String> {
    let inner = || -> Result<std::result::Result<(), String>> {
        let size = ledger::size(store)?;
        let Some(cp) = ledger::latest_checkpoint(store)? else {
            return Ok(Err("the ledger has no signed checkpoint".into()));
        };
        let parsed = ledger::parse_checkpoint(&cp.body)?;
        if parsed.origin != ledger::origin(&config.vault_id) {
            return Ok(Err("the latest checkpoint is for another vault".into()));
        }
        if parsed.size != size {
            return Ok(Err(format!(
                "the ledger has {size} entries but its latest checkpoint covers {}",
                parsed.size
            )));
        }
        let last_key = store.last(Table::Ledger)?.map(|(k, _)| k);
        if last_key.as_deref() != Some(&(size.wrapping_sub(1)).to_be_bytes()[..]) {
            return Ok(Err(
                "the stored entries do not end where the checkpoint does".into(),
            ));
        }
        let last = ledger::entry(store, size - 1)?.unwrap_or_default();
        if ledger::leaf(store, size - 1)? != Some(crate::merkle::leaf_hash(&last)) {
            return Ok(Err(format!(
                "entry {} does not match its Merkle leaf",
                size - 1
            )));
        }
        if ledger::root(store, size)? != parsed.root {
            return Ok(Err(
                "the stored tree does not match the latest checkpoint".into()
            ));
        }
        if ledger_cert
            .verifier()?
            .verify(cp.body.as_bytes(), cp.signature.as_bytes())
            .is_err()
        {
            return Ok(Err(
                "the latest checkpoint's signature does not verify".into()
            ));
        }
        Ok(Ok(()))
    };
    inner().unwrap_or_else(|e| Err(e.to_string()))
}

fn officer_json(name: &str, cert: &PublicCert) -> Result<Value> {
    Ok(json!({
        "name": name,
        "fingerprint": cert.fingerprint(),
        "cert": cert.armored()?,
    }))
}

impl Vault {
    /// Creates a vault at `path` (which must not exist, or be an empty
    /// directory) and writes its genesis entry.
    pub fn init(path: &Path, opts: InitOptions) -> Result<Vault> {
        Self::init_with_clock(path, opts, Arc::new(SystemClock))
    }

    /// [`Vault::init`] with an injected clock.
    pub fn init_with_clock(path: &Path, opts: InitOptions, clock: Arc<dyn Clock>) -> Result<Vault> {
        let n = opts.officers.len();
        names::threshold(opts.threshold, n)?;
        let mut seen = std::collections::HashSet::new();
        for o in &opts.officers {
            names::officer(&o.name)?;
            if !seen.insert(o.name.as_str()) {
                return Err(Error::invalid(
                    "officers",
                    format!("{} is named twice", o.name),
                ));
            }
            check_passphrase(&o.name, &o.passphrase)?;
        }
        let existed = path.exists();
        let store = Store::create(path)?;
        let result = Self::write_genesis(store, &opts, clock);
        if result.is_err() && !existed {
            // Nothing of a failed init is left behind.
            let _ = std::fs::remove_dir_all(path);
        }
        result
    }

    fn write_genesis(store: Store, opts: &InitOptions, clock: Arc<dyn Clock>) -> Result<Vault> {
        let vault_id = hex::encode(crypto::random_array::<16>());
        let epoch = 0u32;
        let threshold = opts.threshold as u8;
        let vk = VaultKey::random();
        let shares = shamir::split(&vk, threshold, opts.officers.len() as u8);

        let vault_key =
            SecretKey::generate_encryption(&format!("breakglass vault {vault_id} epoch {epoch}"))?;
        let ledger_key = SecretKey::generate_signing(&format!("breakglass ledger {vault_id}"))?;
        let config = VaultConfig {
            vault_id: vault_id.clone(),
            threshold,
            epoch,
            vault_key_fingerprint: vault_key.fingerprint(),
            ledger_fingerprint: ledger_key.fingerprint(),
            key_check: crypto::seal(
                vk.expose_secret(),
                KEY_CHECK,
                &key_check_aad(&vault_id, epoch),
            )?,
            vault_key_cert: vault_key.public().to_bytes()?,
            vault_key_sealed: crypto::seal(
                vk.expose_secret(),
                vault_key.to_bytes()?.expose_secret(),
                &vault_key_aad(&vault_id, epoch),
            )?,
        };
        drop(vk);

        let mut officer_records = Vec::new();
        let mut officer_entries = Vec::new();
        for (o, share) in opts.officers.iter().zip(&shares) {
            let key = SecretKey::generate_signing(&format!(
                "{} (breakglass officer, vault {vault_id})",
                o.name
            ))?;
            officer_records.push(seal_officer(
                &vault_id,
                &o.name,
                epoch,
                &o.passphrase,
                opts.kdf,
                share,
                &key,
            )?);
            officer_entries.push(officer_json(&o.name, &key.public())?);
        }
        drop(shares);

        let actor = opts
            .officers
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>()
            .join("+");
        let genesis = Draft::new("genesis", actor)
            .field("vault", vault_id.clone())
            .field("epoch", epoch)
            .field("threshold", threshold)
            .field("officers", Value::Array(officer_entries))
            .field("ledger_cert", ledger_key.public().armored()?)
            .field("ledger_fingerprint", ledger_key.fingerprint())
            .field("vault_key_cert", vault_key.public().armored()?)
            .field("vault_key_fingerprint", vault_key.fingerprint());
        let ledger_record = LedgerKeyRecord {
            tsk: ledger_key.to_bytes()?.expose_secret().to_vec(),
        };
        let now = clock.now();
        store.transact(|tx| {
            tx.put(Table::Meta, META_FORMAT, &write_format(FORMAT_VERSION))?;
            tx.put(Table::Meta, META_CONFIG, &config.encode()?)?;
            tx.put(Table::Meta, META_LEDGER_KEY, &ledger_record.encode()?)?;
            tx.put(Table::Meta, META_EPOCH_ENTRY, &0u64.to_be_bytes())?;
            for r in &officer_records {
                tx.put(Table::Officers, r.name.as_bytes(), &r.encode()?)?;
            }
            ledger::append(tx, &genesis, now, &vault_id, &ledger_key, None)?;
            Ok(())
        })?;
        store.flush()?;
        Ok(Vault {
            store,
            config,
            ledger_key,
            clock,
            approval_ttl: DEFAULT_APPROVAL_TTL,
            fault: None,
            ledger_problem: None,
        })
    }

    /// Opens the vault at `path`.
    pub fn open(path: &Path) -> Result<Vault> {
        Self::open_with_clock(path, Arc::new(SystemClock))
    }

    /// [`Vault::open`] with an injected clock.
    pub fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<Vault> {
        let store = Store::open(path)?;
        let format = store
            .get(Table::Meta, META_FORMAT)?
            .ok_or_else(|| Error::NotAVault(path.to_owned()))?;
        let version = read_format(&format).ok_or_else(|| Error::NotAVault(path.to_owned()))?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let config = VaultConfig::decode(
            &store
                .get(Table::Meta, META_CONFIG)?
                .ok_or_else(|| Error::Corrupt("missing configuration".into()))?,
        )?;
        let ledger_key = {
            let rec = LedgerKeyRecord::decode(
                &store
                    .get(Table::Meta, META_LEDGER_KEY)?
                    .ok_or_else(|| Error::Corrupt("missing ledger key".into()))?,
            )?;
            SecretKey::from_bytes(&rec.tsk)?
        };
        let ledger_problem = check_tail(&store, &config, &ledger_key.public()).err();
        Ok(Vault {
            store,
            config,
            ledger_key,
            clock,
            approval_ttl: DEFAULT_APPROVAL_TTL,
            fault: None,
            ledger_problem,
        })
    }

    /// Why the ledger's tail disagrees with its latest checkpoint, if it
    /// does (checked on open). While it does, the vault is locked: every
    /// write is refused.
    pub fn ledger_problem(&self) -> Option<&str> {
        self.ledger_problem.as_deref()
    }

    /// Makes one step of the next releases fail, to test that a failure
    /// anywhere shows nothing and leaves the vault consistent.
    #[doc(hidden)]
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

    /// The current time by the vault's clock.
    ///
    /// Never earlier than the last ledger entry: entries are stamped with
    /// the later of the clock and the previous entry's time, so expiries
    /// are computed and checked on the same scale. A clock set back thus
    /// makes time stand still until it catches up.
    pub fn now(&self) -> i64 {
        let last = ledger::last_time(&self.store).unwrap_or(0);
        self.clock.now().max(last)
    }

    /// The ledger key's public certificate.
    pub fn ledger_cert(&self) -> PublicCert {
        self.ledger_key.public()
    }

    /// Appends `draft` inside `tx`, signed with this vault's ledger key.
    fn append(
        &self,
        tx: &crate::store::Tx<'_>,
        draft: &Draft,
        now: i64,
        fault: Option<FaultPoint>,
    ) -> Result<ledger::Appended> {
        // A ledger whose tail disagrees with its checkpoint takes nothing
        // more: a new signed checkpoint would paper over the disagreement.
        if let Some(p) = &self.ledger_problem {
            return Err(locked(p));
        }
        ledger::append(
            tx,
            draft,
            now,
            &self.config.vault_id,
            &self.ledger_key,
            fault,
        )
    }

    /// Appends one entry in its own transaction and flushes.
    fn log(&self, draft: Draft) -> Result<u64> {
        let now = self.now();
        let a = self
            .store
            .transact(|tx| self.append(tx, &draft, now, None))?;
        self.store.flush()?;
        Ok(a.seq)
    }

    /// Logs a refused attempt, then returns `err`. If logging itself fails,
    /// that failure is returned instead (fail closed: nothing unlogged).
    fn refuse(&self, action: &str, secret: Option<&str>, officers: &[&str], err: Error) -> Error {
        let mut d = Draft::new("refused", officers.join("+"))
            .field("action", action)
            .field("cause", err.to_string());
        if let Some(s) = secret {
            d = d.field("secret", s);
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
        let kek = self.unlock_params(officer, action, secret)?.derive(pass)?;
        self.authenticate_derived(officer, &kek, action, secret)
    }

    /// The first half of [`Vault::authenticate`]: what the slow Argon2
    /// derivation needs, so a console can run it off its UI thread. An
    /// unknown or removed officer is refused and logged here.
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
        if rec.epoch != self.config.epoch {
            return Err(Error::Corrupt(format!(
                "officer {officer} holds a share of another epoch"
            )));
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
        let session = self.authenticate(officer, pass, "drill", None)?;
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
            &self.config.vault_id,
            officer,
            rec.epoch,
            new,
            rec.kdf,
            &session.share,
            &session.key,
        )?;
        // The certificate is the enrolled one, byte for byte.
        resealed.cert = rec.cert;
        let draft = Draft::new("passphrase", officer);
        let now = self.now();
        let a = self.store.transact(|tx| {
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
        let plain = match crypto::open(
            kek.0.expose_secret(),
            &rec.sealed,
            &officer_aad(&self.config.vault_id, officer, rec.epoch),
        ) {
            Ok(p) => p,
            Err(_) => {
                let mut d = Draft::new("auth_failed", officer).field("action", action);
                if let Some(s) = secret {
                    d = d.field("secret", s);
                }
                self.log(d)?;
                return Err(Error::BadPassphrase(officer.into()));
            }
        };
        let (share, key) = parse_officer_plaintext(&plain)?;
        let cert = PublicCert::from_bytes(&rec.cert)?;
        if cert.fingerprint() != key.fingerprint() {
            return Err(Error::Corrupt(format!(
                "officer {officer}'s key does not match their certificate"
            )));
        }
        Ok(OfficerSession {
            name: officer.to_string(),
            share,
            key,
        })
    }

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

    /// Every secret with its counts, by name.
    pub fn secrets(&self) -> Result<Vec<SecretSummary>> {
        let mut out = Vec::new();
        for (_, v) in self.store.scan_prefix(Table::Secrets, b"")? {
            let r = SecretRecord::decode(&v)?;
            out.push(self.summarize(r)?);
        }
        Ok(out)
    }

    fn summarize(&self, r: SecretRecord) -> Result<SecretSummary> {
        let items = self.items(&r.name)?;
        let remaining = items
            .iter()
            .filter(|i| i.state == ItemState::Available)
            .count() as u32;
        let unconfirmed = items
            .iter()
            .filter(|i| {
                matches!(
                    i.state,
                    ItemState::Released {
                        confirmed: false,
                        ..
                    }
                )
            })
            .count() as u32;
        Ok(SecretSummary {
            name: r.name,
            kind: r.kind.as_str(),
            min_approvals: r.min_approvals,
            total: r.count,
            remaining,
            unconfirmed,
        })
    }

    /// The vault's status.
    pub fn status(&self) -> Result<Status> {
        let size = ledger::size(&self.store)?;
        Ok(Status {
            vault_id: self.config.vault_id.clone(),
            threshold: self.config.threshold,
            officers: self
                .active_officers()?
                .into_iter()
                .map(|o| o.name)
                .collect(),
            epoch: self.config.epoch,
            ledger_size: size,
            // A damaged tree must not hide the rest of the status.
            ledger_root: ledger::root(&self.store, size)
                .map(hex::encode)
                .unwrap_or_else(|e| format!("unavailable ({e})")),
            ledger_fingerprint: self.config.ledger_fingerprint.clone(),
            vault_key_fingerprint: self.config.vault_key_fingerprint.clone(),
            secrets: self.store.scan_prefix(Table::Secrets, b"")?.len(),
            ledger_problem: self.ledger_problem.clone(),
        })
    }

    /// Every ledger entry's canonical bytes, in order.
    pub fn ledger_entries(&self) -> impl Iterator<Item = Result<(u64, Vec<u8>)>> + '_ {
        ledger::entries_from(&self.store, 0)
    }

    /// The store, for ledger export and verification.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Starts a release of `secret`: checks that it exists and has an item
    /// left (refusals are logged) and fixes the statement officers sign.
    pub fn begin_release(&mut self, secret: &str, reason: &str) -> Result<ReleaseRequest> {
        names::secret(secret)?;
        names::reason(reason)?;
        if let Some(p) = &self.ledger_problem {
            return Err(locked(p));
        }
        let record = match self.secret_record(secret)? {
            Some(r) => r,
            None => {
                return Err(self.refuse(
                    "release",
                    Some(secret),
                    &[],
                    Error::UnknownSecret(secret.into()),
                ));
            }
        };
        let s = self.summarize(record.clone())?;
        if s.remaining + s.unconfirmed == 0 {
            return Err(self.refuse(
                "release",
                Some(secret),
                &[],
                Error::NothingLeft(secret.into()),
            ));
        }
        let needed =
            (self.config.threshold as usize).max(record.min_approvals.unwrap_or(0) as usize);
        Ok(ReleaseRequest {
            secret: secret.to_string(),
            reason: reason.to_string(),
            nonce: hex::encode(crypto::random_array::<16>()),
            expires: self.now() + self.approval_ttl,
            needed,
            approvals: Vec::new(),
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
        let refuse = |e| Err(self.refuse("release", Some(&req.secret), officers, e));
        let mut seen = std::collections::HashSet::new();
        for o in officers {
            if !seen.insert(*o) {
                return refuse(Error::DuplicateOfficer(o.to_string()));
            }
        }
        for o in officers {
            if !matches!(self.officer_record(o)?, Some(r) if r.active) {
                return refuse(Error::UnknownOfficer(o.to_string()));
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

    /// Discards an expired request's approvals (zeroizing the shares) and
    /// logs the expiry (I9).
    fn expire(&self, req: &mut ReleaseRequest) -> Error {
        let count = req.approvals.len();
        req.approvals.clear();
        let d = Draft::new("expired", "")
            .field("secret", req.secret.clone())
            .field("nonce", req.nonce.clone())
            .field("approvals", count);
        let err = Error::Expired(rfc3339(req.expires));
        match self.log(d) {
            Ok(_) => err,
            Err(e) => e,
        }
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
        let kek = self
            .unlock_params(officer, "release", Some(&req.secret))?
            .derive(pass)?;
        self.approve_derived(req, officer, &kek)
    }

    /// Discards `req`'s approvals and logs the expiry if it has expired
    /// (I9); a console calls this as time passes.
    pub fn check_expiry(&self, req: &mut ReleaseRequest) -> Result<()> {
        if self.now() > req.expires {
            return Err(self.expire(req));
        }
        Ok(())
    }

    /// Refuses (and logs) an approval that cannot count: the request has
    /// expired, or this officer already approved it.
    pub fn check_approver(&mut self, req: &mut ReleaseRequest, officer: &str) -> Result<()> {
        if self.now() > req.expires {
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
        let signature = session.key.sign_detached(&canonical::to_vec(&statement)?)?;
        req.approvals.push(Approval {
            officer: session.name.clone(),
            statement,
            signature,
            share: SecretBytes::new(session.share.expose_secret().to_vec()),
        });
        Ok(())
    }

    /// Abandons a release: the shares are zeroized and the cancel is logged.
    pub fn cancel_release(&mut self, mut req: ReleaseRequest) -> Result<()> {
        let count = req.approvals.len();
        let actor = req.approved_by().join("+");
        req.approvals.clear();
        self.log(
            Draft::new("cancelled", actor)
                .field("secret", req.secret.clone())
                .field("nonce", req.nonce.clone())
                .field("approvals", count),
        )?;
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
        if now > req.expires {
            return Err(self.expire(&mut req));
        }
        let officers: Vec<String> = req.approvals.iter().map(|a| a.officer.clone()).collect();
        let names_ref: Vec<&str> = officers.iter().map(String::as_str).collect();
        let secret = req.secret.clone();
        let fail = |e: Error| self.refuse("release", Some(&secret), &names_ref, e);

        if req.approvals.len() < req.needed {
            return Err(fail(Error::TooFewOfficers {
                got: req.approvals.len(),
                need: req.needed,
            }));
        }
        let record = self
            .secret_record(&secret)?
            .ok_or_else(|| Error::UnknownSecret(secret.clone()))?;
        let shares: Vec<NamedShare<'_>> = req
            .approvals
            .iter()
            .map(|a| NamedShare {
                officer: &a.officer,
                share: &a.share,
            })
            .collect();
        let vk = shamir::combine(self.config.threshold, &shares).map_err(&fail)?;
        let check = crypto::open(
            vk.expose_secret(),
            &self.config.key_check,
            &key_check_aad(&self.config.vault_id, self.config.epoch),
        );
        if !matches!(&check, Ok(c) if c.expose_secret() == KEY_CHECK) {
            return Err(fail(Error::KeyCheckFailed));
        }

        // I10: an item released but never confirmed as seen goes first; it
        // is still unused. Otherwise the next item in deposit order.
        let items = self.items(&secret)?;
        let target = items
            .iter()
            .find(|i| {
                matches!(
                    i.state,
                    ItemState::Released {
                        confirmed: false,
                        ..
                    }
                )
            })
            .or_else(|| items.iter().find(|i| i.state == ItemState::Available))
            .cloned();
        let Some(target) = target else {
            return Err(fail(Error::NothingLeft(secret.clone())));
        };
        let re_release_of = match target.state {
            ItemState::Released { seq, .. } => Some(seq),
            ItemState::Available => None,
        };

        let value = self.decrypt_item(&vk, &record, &target).map_err(&fail)?;
        drop(vk);

        let mut approvals = Vec::new();
        for a in &req.approvals {
            approvals.push(json!({
                "officer": a.officer,
                "statement": a.statement,
                "signature": a.signature,
            }));
        }
        let mut draft = Draft::new("release", officers.join("+"))
            .field("secret", secret.clone())
            .field("index", target.index)
            .field("reason", req.reason.clone())
            .field("nonce", req.nonce.clone())
            .field("epoch", self.config.epoch)
            .field("approvals", Value::Array(approvals));
        if let Some(prev) = re_release_of {
            draft = draft.field("re_release_of", prev);
        }
        // Shares are no longer needed: zeroize before the write.
        req.approvals.clear();

        // `now` was fixed at the start; see above.

        let fault = self.fault;
        let key = item_key(&secret, target.index);
        let committed = self.store.transact(|tx| {
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
            kind: record.kind,
            seq: appended.seq,
            re_release_of,
            officers,
            value,
        })
    }

    fn decrypt_item(
        &self,
        vk: &VaultKey,
        record: &SecretRecord,
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
        item::read(&plain, &record.name, target.index, record.kind)
    }

    /// Records how a released item's display ended: confirmed by an officer
    /// or written to stdout (the item will not be released again), or timed
    /// out or dismissed unconfirmed (it stays re-releasable, I10).
    pub fn record_display(&mut self, released: &Released, how: Displayed) -> Result<u64> {
        let key = item_key(&released.secret, released.index);
        let draft = Draft::new("displayed", released.officers.join("+"))
            .field("secret", released.secret.clone())
            .field("index", released.index)
            .field("release", released.seq)
            .field("outcome", how.as_str());
        let now = self.now();
        let confirm = matches!(how, Displayed::Confirmed | Displayed::Stdout);
        let a = self.store.transact(|tx| {
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

#[cfg(test)]
mod tests {
    //! Share and record tampering needs private access (the AAD layout and
    //! the officer blob), so these tests live here; the rest of the release
    //! invariants are in `tests/library_release.rs`.
    use super::*;
    use crate::clock::ManualClock;

    const PASSES: [(&str, &str); 3] = [
        ("alice", "alice-pass-1"),
        ("bob", "bob-pass-22"),
        ("carol", "carol-pass-333"),
    ];

    fn pass(name: &str) -> Passphrase {
        Passphrase::new(
            PASSES
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap()
                .1
                .to_string(),
        )
    }

    fn vault(dir: &Path) -> Vault {
        let opts = InitOptions {
            threshold: 2,
            officers: PASSES
                .iter()
                .map(|(n, p)| NewOfficer {
                    name: n.to_string(),
                    passphrase: Passphrase::new(p.to_string()),
                })
                .collect(),
            kdf: KdfParams::new(8, 1).unwrap(),
        };
        let mut v = Vault::init_with_clock(
            &dir.join("v"),
            opts,
            Arc::new(ManualClock::new(1_800_000_000)),
        )
        .unwrap();
        let s = v
            .authenticate("alice", &pass("alice"), "deposit", None)
            .unwrap();
        v.deposit(
            &s,
            "gh",
            SecretKind::Codes,
            None,
            &[SecretValue::new("c1".into())],
        )
        .unwrap();
        v
    }

    /// Re-seals `officer`'s record with `share` in place of their own, under
    /// their real passphrase and the right AAD: what an attacker who knows
    /// the passphrase and can write the disk could do.
    fn reseal_share(v: &Vault, officer: &str, share: Vec<u8>) {
        let rec = v.officer_record(officer).unwrap().unwrap();
        let session = v
            .authenticate(officer, &pass(officer), "test", None)
            .unwrap();
        let mut forged = seal_officer(
            &v.config.vault_id,
            officer,
            rec.epoch,
            &pass(officer),
            rec.kdf,
            &SecretBytes::new(share),
            &session.key,
        )
        .unwrap();
        forged.cert = rec.cert.clone();
        v.store
            .transact(|tx| tx.put(Table::Officers, officer.as_bytes(), &forged.encode()?))
            .unwrap();
    }

    fn try_release(v: &mut Vault) -> Result<Released> {
        let mut req = v.begin_release("gh", "r")?;
        v.approve(&mut req, "alice", &pass("alice"))?;
        v.approve(&mut req, "bob", &pass("bob"))?;
        v.complete_release(req)
    }

    fn last_kind(v: &Vault) -> String {
        let (_, b) = v.ledger_entries().last().unwrap().unwrap();
        ledger::parse_entry(&b).unwrap()["kind"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn remaining(v: &Vault) -> u32 {
        v.secrets().unwrap()[0].remaining
    }

    #[test]
    fn a_share_of_another_vault_fails_the_key_check_and_is_logged() {
        let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut a = vault(da.path());
        let b = vault(db.path());
        let foreign = b.authenticate("bob", &pass("bob"), "test", None).unwrap();
        reseal_share(&a, "bob", foreign.share.expose_secret().to_vec());
        assert!(matches!(try_release(&mut a), Err(Error::KeyCheckFailed)));
        assert_eq!(last_kind(&a), "refused");
        assert_eq!(remaining(&a), 1);
    }

    #[test]
    fn shares_with_x_zero_or_a_wrong_length_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let mut v = vault(d.path());
        let own = v
            .authenticate("bob", &pass("bob"), "test", None)
            .unwrap()
            .share
            .expose_secret()
            .to_vec();
        let mut zero = own.clone();
        zero[0] = 0;
        reseal_share(&v, "bob", zero);
        assert!(matches!(try_release(&mut v), Err(Error::InvalidShare(o)) if o == "bob"));
        reseal_share(&v, "bob", own[..20].to_vec());
        assert!(matches!(try_release(&mut v), Err(Error::InvalidShare(_))));
        let mut same_x = own.clone();
        same_x[0] = v
            .authenticate("alice", &pass("alice"), "test", None)
            .unwrap()
            .share
            .expose_secret()[0];
        reseal_share(&v, "bob", same_x);
        assert!(matches!(try_release(&mut v), Err(Error::InvalidShare(_))));
        assert_eq!(last_kind(&v), "refused");
        assert_eq!(remaining(&v), 1);
        reseal_share(&v, "bob", own);
        assert_eq!(try_release(&mut v).unwrap().value.expose_secret(), "c1");
    }

    #[test]
    fn officer_blob_aad_binds_vault_officer_and_epoch() {
        let d = tempfile::tempdir().unwrap();
        let v = vault(d.path());
        let rec = v.officer_record("bob").unwrap().unwrap();
        let kek = crypto::derive_kek(&pass("bob"), &rec.salt, rec.kdf).unwrap();
        let id = v.config.vault_id.as_str();
        assert!(crypto::open(kek.expose_secret(), &rec.sealed, &officer_aad(id, "bob", 0)).is_ok());
        for aad in [
            officer_aad("0000", "bob", 0),
            officer_aad(id, "alice", 0),
            officer_aad(id, "bob", 1),
        ] {
            assert!(matches!(
                crypto::open(kek.expose_secret(), &rec.sealed, &aad),
                Err(Error::DecryptionFailed)
            ));
        }
    }

    #[test]
    fn an_officer_record_moved_to_another_name_does_not_open() {
        let d = tempfile::tempdir().unwrap();
        let v = vault(d.path());
        // Carol's record stored under bob's name, with carol's passphrase.
        let mut carol = v.officer_record("carol").unwrap().unwrap();
        carol.name = "bob".into();
        v.store
            .transact(|tx| tx.put(Table::Officers, b"bob", &carol.encode()?))
            .unwrap();
        assert!(matches!(
            v.authenticate("bob", &pass("carol"), "test", None),
            Err(Error::BadPassphrase(_))
        ));
    }

    #[test]
    fn key_check_and_vault_key_aad_bind_vault_and_epoch() {
        let d = tempfile::tempdir().unwrap();
        let v = vault(d.path());
        let sa = v.authenticate("alice", &pass("alice"), "t", None).unwrap();
        let sb = v.authenticate("bob", &pass("bob"), "t", None).unwrap();
        let shares = [
            NamedShare {
                officer: "alice",
                share: &sa.share,
            },
            NamedShare {
                officer: "bob",
                share: &sb.share,
            },
        ];
        let vk = shamir::combine(2, &shares).unwrap();
        let id = v.config.vault_id.as_str();
        assert!(
            crypto::open(
                vk.expose_secret(),
                &v.config.key_check,
                &key_check_aad(id, 0)
            )
            .is_ok()
        );
        assert!(
            crypto::open(
                vk.expose_secret(),
                &v.config.key_check,
                &key_check_aad(id, 1)
            )
            .is_err()
        );
        assert!(
            crypto::open(
                vk.expose_secret(),
                &v.config.key_check,
                &key_check_aad("other", 0)
            )
            .is_err()
        );
        assert!(
            crypto::open(
                vk.expose_secret(),
                &v.config.vault_key_sealed,
                &vault_key_aad(id, 0)
            )
            .is_ok()
        );
        assert!(
            crypto::open(
                vk.expose_secret(),
                &v.config.vault_key_sealed,
                &vault_key_aad(id, 1)
            )
            .is_err()
        );
        assert!(
            crypto::open(
                vk.expose_secret(),
                &v.config.vault_key_sealed,
                &key_check_aad(id, 0)
            )
            .is_err()
        );
    }

    #[test]
    fn an_item_ciphertext_swapped_between_records_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let mut v = vault(d.path());
        let s = v
            .authenticate("alice", &pass("alice"), "deposit", None)
            .unwrap();
        v.deposit(
            &s,
            "gh",
            SecretKind::Codes,
            None,
            &[SecretValue::new("c2".into())],
        )
        .unwrap();
        // Put item 1's ciphertext into item 0's record.
        let [i0, i1]: [ItemRecord; 2] = v.items("gh").unwrap().try_into().unwrap();
        let swapped = ItemRecord {
            ciphertext: i1.ciphertext,
            ..i0
        };
        v.store
            .transact(|tx| tx.put(Table::Items, &item_key("gh", 0), &swapped.encode()?))
            .unwrap();
        assert!(matches!(
            try_release(&mut v),
            Err(Error::ItemMismatch { .. })
        ));
        assert_eq!(last_kind(&v), "refused");
        assert_eq!(remaining(&v), 2);
    }

    #[test]
    fn debug_of_sessions_requests_and_releases_shows_no_secret() {
        let d = tempfile::tempdir().unwrap();
        let mut v = vault(d.path());
        let s = v.authenticate("alice", &pass("alice"), "t", None).unwrap();
        // A code no hex id or nonce can contain by chance.
        let code = SecretValue::new("ZQ-UNIQUE-CODE-77".into());
        v.deposit(&s, "dbg", SecretKind::Codes, None, &[code])
            .unwrap();
        let mut req = v.begin_release("dbg", "r").unwrap();
        v.approve(&mut req, "alice", &pass("alice")).unwrap();
        v.approve(&mut req, "bob", &pass("bob")).unwrap();
        let share_hex = hex::encode(s.share.expose_secret());
        let dbg_req = format!("{req:?} {s:?} {v:?}");
        let r = v.complete_release(req).unwrap();
        let dbg = format!("{dbg_req} {r:?} {:?}", v.ledger_key);
        assert_eq!(r.value.expose_secret(), "ZQ-UNIQUE-CODE-77");
        assert!(!dbg.contains("UNIQUE-CODE"), "{dbg}");
        assert!(!dbg.contains(&share_hex), "{dbg}");
        assert!(!dbg.contains("alice-pass"), "{dbg}");
        assert!(dbg.contains("REDACTED"));
    }
}
