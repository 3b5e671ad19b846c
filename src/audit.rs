//! Offline ledger verification (invariant I12), export bundles, and the
//! auditor's state file. Works on an open vault or on an exported bundle
//! with no vault present; trusts nothing but the ledger certificate (pinned
//! with `--cert`, or taken from genesis and reported as such).
//!
//! Verification makes two streaming passes, so memory is bounded by the
//! leaf hashes: the first checks the bytes (canonical JSON, sequence,
//! time, Merkle root against every stored checkpoint and the signatures on
//! them, and the saved state); the second checks meaning (officer
//! signatures, quorum, expiry, replay, double release).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::canonical;
use crate::clock::parse_rfc3339;
use crate::error::{Error, Result};
use crate::ledger::{self, Checkpoint};
use crate::merkle::{self, Frontier, Hash};
use crate::pgp::{PublicCert, Verifier};
use crate::records::CheckpointRecord;
use crate::store::Store;

/// What kind of failure verification found. Each tamper has its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// An entry is not canonical JSON (or not JSON).
    NotCanonical,
    /// An entry lacks a field or has one of the wrong type.
    Malformed,
    /// An entry is missing: a later one stands in its place.
    EntryMissing,
    /// An entry appears that does not belong at its position.
    EntryInserted,
    /// Two entries stand in each other's place.
    EntriesReordered,
    /// An entry's time is earlier than the one before it.
    TimeWentBack,
    /// The entries do not hash to the signed root.
    RootMismatch,
    /// A stored checkpoint is not the root of the prefix it claims.
    CheckpointNotPrefix,
    /// A stored checkpoint is missing.
    MissingCheckpoint,
    /// A checkpoint's signature does not verify with the ledger certificate.
    BadCheckpointSignature,
    /// There is no signed checkpoint.
    NoCheckpoint,
    /// The signed checkpoint covers more entries than are present.
    Truncated,
    /// Entries follow the last signed checkpoint.
    UnsignedTail,
    /// The checkpoint or the saved state names another vault.
    OriginMismatch,
    /// The genesis entry names another ledger key than the pinned one.
    LedgerKeyMismatch,
    /// A deposit's signature or statement does not check out.
    BadDepositSignature,
    /// An approval's signature does not verify with its officer's
    /// certificate (or the signer is not an officer).
    BadApprovalSignature,
    /// An entry names an officer who is not enrolled.
    UnknownOfficer,
    /// An approval's statement is for another secret, reason, vault or
    /// officer.
    ApprovalMismatch,
    /// An approval's nonce is another release's: a replayed approval.
    ApprovalReplayed,
    /// An approval was used after it expired.
    ApprovalExpired,
    /// A release has fewer distinct approving officers than it needs.
    NoQuorum,
    /// An item was released twice without a logged re-release of an
    /// unconfirmed release.
    DoubleRelease,
    /// The ledger is shorter than the saved state: truncated or rolled back.
    Rollback,
    /// The ledger does not extend the saved state: history was rewritten.
    Fork,
    /// The state file is unreadable.
    BadState,
    /// An export bundle is incomplete or unreadable.
    BadBundle,
}

impl FailureKind {
    fn describe(self) -> &'static str {
        use FailureKind::*;
        match self {
            NotCanonical => "not canonical JSON",
            Malformed => "malformed entry",
            EntryMissing => "entry missing",
            EntryInserted => "entry inserted",
            EntriesReordered => "entries reordered",
            TimeWentBack => "time goes backwards",
            RootMismatch => "entries do not match the signed root",
            CheckpointNotPrefix => "checkpoint does not match the entries before it",
            MissingCheckpoint => "missing checkpoint",
            BadCheckpointSignature => "bad checkpoint signature",
            NoCheckpoint => "no signed checkpoint",
            Truncated => "ledger truncated",
            UnsignedTail => "unsigned entries",
            OriginMismatch => "origin mismatch",
            LedgerKeyMismatch => "ledger key mismatch",
            BadDepositSignature => "bad deposit signature",
            BadApprovalSignature => "bad approval signature",
            UnknownOfficer => "unknown officer",
            ApprovalMismatch => "approval for something else",
            ApprovalReplayed => "replayed approval",
            ApprovalExpired => "expired approval",
            NoQuorum => "release without a quorum",
            DoubleRelease => "item released twice",
            Rollback => "rolled back or truncated",
            Fork => "fork",
            BadState => "unreadable state file",
            BadBundle => "bad bundle",
        }
    }
}

/// Why a ledger failed verification, naming the first failing entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The entry (sequence number / position), when one is to blame.
    pub entry: Option<u64>,
    /// What failed.
    pub kind: FailureKind,
    /// Details for the auditor.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.entry {
            Some(e) => write!(f, "entry {e}: {}: {}", self.kind.describe(), self.detail),
            None => write!(f, "{}: {}", self.kind.describe(), self.detail),
        }
    }
}

impl std::error::Error for Failure {}

fn fail<T>(entry: Option<u64>, kind: FailureKind, detail: impl Into<String>) -> Result<T, Failure> {
    Err(Failure {
        entry,
        kind,
        detail: detail.into(),
    })
}

/// What a passing verification saw.
#[derive(Debug, Clone)]
pub struct Report {
    /// Entries.
    pub entries: u64,
    /// Release entries.
    pub releases: u64,
    /// Officers enrolled at the end.
    pub officers: usize,
    /// The latest checkpoint.
    pub checkpoint: Checkpoint,
    /// Checkpoints checked against the tree and their signatures.
    pub checkpoints_checked: u64,
    /// OpenPGP signatures verified in all.
    pub signatures_checked: u64,
    /// The ledger key's fingerprint.
    pub ledger_fingerprint: String,
    /// Whether the ledger certificate was pinned (`--cert`) rather than
    /// taken from genesis.
    pub cert_pinned: bool,
    /// What happened with the state file, if one was given.
    pub state: Option<StateOutcome>,
}

/// What verification did with the state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateOutcome {
    /// No state file existed; one was written (trust on first use).
    Created,
    /// The ledger extends the saved state, which was updated.
    Extended {
        /// The saved size before.
        from: u64,
    },
}

/// The auditor's last seen tree, kept outside the machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct State {
    /// Checkpoint origin, `breakglass/<vault id>`.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root, standard base64 (as in the checkpoint).
    pub root: String,
}

impl State {
    /// Reads a state file; `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<State>, Failure> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map(Some).or_else(|e| {
                fail(
                    None,
                    FailureKind::BadState,
                    format!("{}: {e}", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => fail(
                None,
                FailureKind::BadState,
                format!("{}: {e}", path.display()),
            ),
        }
    }

    /// Writes the state file atomically: a temporary file in the same
    /// directory, synced, then renamed over the old one.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .ok_or_else(|| Error::invalid("--state", "not a file name"))?;
        let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
        {
            let mut f = std::fs::File::create(&tmp)?;
            serde_json::to_writer_pretty(&mut f, self).map_err(|e| Error::Io(e.into()))?;
            f.write_all(b"\n")?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    fn root_hash(&self) -> Result<Hash, Failure> {
        STANDARD
            .decode(&self.root)
            .ok()
            .and_then(|v| v.try_into().ok())
            .map_or_else(
                || {
                    fail(
                        None,
                        FailureKind::BadState,
                        "root is not 32 bytes of base64",
                    )
                },
                Ok,
            )
    }
}

/// Where the ledger comes from.
pub trait Source {
    /// Every entry's bytes, in order.
    fn entries(&self) -> Result<Box<dyn Iterator<Item = Result<Vec<u8>>> + '_>>;
    /// Every stored checkpoint, by increasing size.
    fn checkpoints(&self) -> Result<Box<dyn Iterator<Item = Result<CheckpointRecord>> + '_>>;
    /// The latest checkpoint.
    fn latest(&self) -> Result<Option<CheckpointRecord>>;
    /// Whether a checkpoint is kept for every size (a vault), or only the
    /// latest (a bundle).
    fn keeps_every_checkpoint(&self) -> bool;
}

/// An open vault's ledger.
pub struct VaultSource<'a>(pub &'a Store);

impl Source for VaultSource<'_> {
    fn entries(&self) -> Result<Box<dyn Iterator<Item = Result<Vec<u8>>> + '_>> {
        Ok(Box::new(
            ledger::entries_from(self.0, 0).map(|r| r.map(|(_, b)| b)),
        ))
    }

    fn checkpoints(&self) -> Result<Box<dyn Iterator<Item = Result<CheckpointRecord>> + '_>> {
        Ok(Box::new(ledger::checkpoints(self.0)))
    }

    fn latest(&self) -> Result<Option<CheckpointRecord>> {
        ledger::latest_checkpoint(self.0)
    }

    fn keeps_every_checkpoint(&self) -> bool {
        true
    }
}

/// File names in an export bundle.
pub mod bundle {
    /// Line i is exactly the bytes of entry i, then `\n`.
    pub const ENTRIES: &str = "entries.jsonl";
    /// The latest checkpoint body.
    pub const CHECKPOINT: &str = "checkpoint";
    /// Its armored detached signature.
    pub const CHECKPOINT_SIG: &str = "checkpoint.asc";
    /// The ledger key's certificate, armored.
    pub const LEDGER_CERT: &str = "ledger-cert.asc";
    /// Officers' certificates, `officers/<name>.asc`.
    pub const OFFICERS: &str = "officers";
}

/// An export bundle on disk.
pub struct BundleSource {
    dir: PathBuf,
}

impl BundleSource {
    /// A bundle directory; checks that its files are there.
    pub fn new(dir: &Path) -> Result<Self, Failure> {
        for f in [bundle::ENTRIES, bundle::CHECKPOINT, bundle::CHECKPOINT_SIG] {
            if !dir.join(f).is_file() {
                return fail(
                    None,
                    FailureKind::BadBundle,
                    format!("{} has no {f}", dir.display()),
                );
            }
        }
        Ok(BundleSource {
            dir: dir.to_owned(),
        })
    }

    /// The ledger certificate shipped in the bundle, if any.
    pub fn ledger_cert(&self) -> Option<PathBuf> {
        let p = self.dir.join(bundle::LEDGER_CERT);
        p.is_file().then_some(p)
    }
}

impl Source for BundleSource {
    fn entries(&self) -> Result<Box<dyn Iterator<Item = Result<Vec<u8>>> + '_>> {
        let f = std::fs::File::open(self.dir.join(bundle::ENTRIES))?;
        let reader = std::io::BufReader::new(f);
        Ok(Box::new(reader.split(b'\n').map(|r| r.map_err(Error::Io))))
    }

    fn checkpoints(&self) -> Result<Box<dyn Iterator<Item = Result<CheckpointRecord>> + '_>> {
        Ok(Box::new(self.latest()?.into_iter().map(Ok)))
    }

    fn latest(&self) -> Result<Option<CheckpointRecord>> {
        let body = std::fs::read_to_string(self.dir.join(bundle::CHECKPOINT))?;
        let signature = std::fs::read_to_string(self.dir.join(bundle::CHECKPOINT_SIG))?;
        Ok(Some(CheckpointRecord { body, signature }))
    }

    fn keeps_every_checkpoint(&self) -> bool {
        false
    }
}

/// What the auditor brings.
#[derive(Default)]
pub struct Options {
    /// The pinned ledger certificate (`--cert`).
    pub cert: Option<PublicCert>,
    /// The state file (`--state`).
    pub state_path: Option<PathBuf>,
}

fn io_fail(e: Error) -> Failure {
    Failure {
        entry: None,
        kind: FailureKind::BadBundle,
        detail: e.to_string(),
    }
}

fn str_field<'a>(m: &'a Map<String, Value>, seq: u64, k: &str) -> Result<&'a str, Failure> {
    m.get(k).and_then(Value::as_str).map_or_else(
        || {
            fail(
                Some(seq),
                FailureKind::Malformed,
                format!("no string field {k:?}"),
            )
        },
        Ok,
    )
}

fn u64_field(m: &Map<String, Value>, seq: u64, k: &str) -> Result<u64, Failure> {
    m.get(k).and_then(Value::as_u64).map_or_else(
        || {
            fail(
                Some(seq),
                FailureKind::Malformed,
                format!("no integer field {k:?}"),
            )
        },
        Ok,
    )
}

/// A missing signature is a signature failure, not a malformed entry.
fn signature_field<'a>(
    m: &'a Map<String, Value>,
    seq: u64,
    kind: FailureKind,
    what: &str,
) -> Result<&'a str, Failure> {
    m.get("signature").and_then(Value::as_str).map_or_else(
        || fail(Some(seq), kind, format!("{what} has no signature")),
        Ok,
    )
}

fn time_field(m: &Map<String, Value>, seq: u64, k: &str) -> Result<i64, Failure> {
    let s = str_field(m, seq, k)?;
    parse_rfc3339(s).map_or_else(
        || {
            fail(
                Some(seq),
                FailureKind::Malformed,
                format!("{k} {s:?} is not RFC 3339"),
            )
        },
        Ok,
    )
}

/// Verifies a ledger. `Ok` is a passing report; `Err(Failure)` names the
/// first failure. The state file, if given, is updated only on success.
pub fn verify(source: &dyn Source, opts: &Options) -> Result<Report, Failure> {
    let saved = match &opts.state_path {
        Some(p) => State::load(p)?,
        None => None,
    };
    let integrity = check_integrity(source, opts, saved.as_ref())?;
    let meaning = check_meaning(source, &integrity)?;
    let state = match &opts.state_path {
        Some(p) => {
            let new = State {
                origin: integrity.checkpoint.origin.clone(),
                size: integrity.checkpoint.size,
                root: STANDARD.encode(integrity.checkpoint.root),
            };
            new.save(p).map_err(|e| Failure {
                entry: None,
                kind: FailureKind::BadState,
                detail: format!("cannot write {}: {e}", p.display()),
            })?;
            Some(match saved {
                None => StateOutcome::Created,
                Some(s) => StateOutcome::Extended { from: s.size },
            })
        }
        None => None,
    };
    Ok(Report {
        entries: integrity.checkpoint.size,
        releases: meaning.releases,
        officers: meaning.officers,
        checkpoint: integrity.checkpoint,
        checkpoints_checked: integrity.checkpoints_checked,
        signatures_checked: integrity.checkpoints_checked + meaning.signatures,
        ledger_fingerprint: integrity.ledger_fingerprint,
        cert_pinned: opts.cert.is_some(),
        state,
    })
}

struct Integrity {
    checkpoint: Checkpoint,
    checkpoints_checked: u64,
    ledger_fingerprint: String,
}

/// Reads the ledger key from genesis and compares it with the pin.
fn ledger_verifier(
    genesis: &Map<String, Value>,
    pinned: Option<&PublicCert>,
) -> Result<(Verifier, String), Failure> {
    let armored = str_field(genesis, 0, "ledger_cert")?;
    let from_genesis = PublicCert::from_bytes(armored.as_bytes()).or_else(|e| {
        fail(
            Some(0),
            FailureKind::Malformed,
            format!("genesis ledger certificate: {e}"),
        )
    })?;
    let named = str_field(genesis, 0, "ledger_fingerprint")?;
    if named != from_genesis.fingerprint() {
        return fail(
            Some(0),
            FailureKind::Malformed,
            "genesis ledger_fingerprint does not match ledger_cert",
        );
    }
    let cert = match pinned {
        Some(p) if p.fingerprint() != from_genesis.fingerprint() => {
            return fail(
                Some(0),
                FailureKind::LedgerKeyMismatch,
                format!(
                    "genesis names ledger key {}, but the pinned certificate is {}: this ledger was made (or regenerated) under another key",
                    from_genesis.fingerprint(),
                    p.fingerprint()
                ),
            );
        }
        Some(p) => p.clone(),
        None => from_genesis,
    };
    let v = cert
        .verifier()
        .or_else(|e| fail(Some(0), FailureKind::Malformed, e.to_string()))?;
    let fpr = v.fingerprint().to_string();
    Ok((v, fpr))
}

fn check_checkpoint(
    cp: &CheckpointRecord,
    verifier: &Verifier,
    origin: &str,
    entry: Option<u64>,
) -> Result<Checkpoint, Failure> {
    let parsed = ledger::parse_checkpoint(&cp.body)
        .or_else(|e| fail(entry, FailureKind::BadCheckpointSignature, e.to_string()))?;
    if verifier
        .verify(cp.body.as_bytes(), cp.signature.as_bytes())
        .is_err()
    {
        return fail(
            entry,
            FailureKind::BadCheckpointSignature,
            format!(
                "the checkpoint of size {} does not verify with ledger key {}",
                parsed.size,
                verifier.fingerprint()
            ),
        );
    }
    if parsed.origin != origin {
        return fail(
            entry,
            FailureKind::OriginMismatch,
            format!(
                "the checkpoint is for {:?}, the ledger's genesis is {:?}",
                parsed.origin, origin
            ),
        );
    }
    Ok(parsed)
}

fn check_integrity(
    source: &dyn Source,
    opts: &Options,
    saved: Option<&State>,
) -> Result<Integrity, Failure> {
    let mut entries = source.entries().map_err(io_fail)?.peekable();
    let mut checkpoints = source.checkpoints().map_err(io_fail)?.peekable();
    let mut frontier = Frontier::default();
    let mut leaves: Vec<Hash> = Vec::new();
    let mut prev_time = i64::MIN;
    let mut verifier: Option<(Verifier, String)> = None;
    let mut origin = String::new();
    let mut checked = 0u64;
    let mut pos = 0u64;

    while let Some(bytes) = entries.next() {
        let bytes = bytes.map_err(io_fail)?;
        let m = match ledger::parse_entry(&bytes) {
            Ok(m) => m,
            Err(e) => return fail(Some(pos), FailureKind::NotCanonical, e.to_string()),
        };
        if m.get("v").and_then(Value::as_u64) != Some(ledger::ENTRY_VERSION) {
            return fail(Some(pos), FailureKind::Malformed, "unknown entry version");
        }
        let seq = u64_field(&m, pos, "seq")?;
        if seq != pos {
            if seq < pos {
                return fail(
                    Some(pos),
                    FailureKind::EntryInserted,
                    format!("position {pos} holds an entry with seq {seq}"),
                );
            }
            // Reordered if the entry that belongs here comes next.
            let next_seq = entries
                .peek()
                .and_then(|n| n.as_ref().ok())
                .and_then(|b| ledger::parse_entry(b).ok())
                .and_then(|n| n.get("seq").and_then(Value::as_u64));
            return if next_seq == Some(pos) {
                fail(
                    Some(pos),
                    FailureKind::EntriesReordered,
                    format!("entries {pos} and {seq} stand in each other's place"),
                )
            } else {
                fail(
                    Some(pos),
                    FailureKind::EntryMissing,
                    format!("position {pos} holds entry {seq}: entry {pos} was removed"),
                )
            };
        }
        let time = time_field(&m, pos, "time")?;
        if time < prev_time {
            return fail(
                Some(pos),
                FailureKind::TimeWentBack,
                "its time is earlier than the entry before it",
            );
        }
        prev_time = time;
        str_field(&m, pos, "actor")?;
        let kind = str_field(&m, pos, "kind")?;
        if (pos == 0) != (kind == "genesis") {
            return fail(
                Some(pos),
                FailureKind::Malformed,
                "the first entry, and only it, is the genesis entry",
            );
        }
        if pos == 0 {
            verifier = Some(ledger_verifier(&m, opts.cert.as_ref())?);
            origin = ledger::origin(str_field(&m, 0, "vault")?);
        }
        let leaf = merkle::leaf_hash(&bytes);
        frontier.push(leaf);
        leaves.push(leaf);
        let size = pos + 1;
        let (v, _) = verifier.as_ref().expect("set at genesis");
        // Every stored checkpoint must be the root of the prefix it names.
        let mut seen_here = false;
        while let Some(cp) = checkpoints.next_if(|c| {
            c.as_ref()
                .ok()
                .and_then(|c| ledger::parse_checkpoint(&c.body).ok())
                .is_none_or(|p| p.size <= size)
        }) {
            let cp = cp.map_err(io_fail)?;
            let parsed = check_checkpoint(&cp, v, &origin, Some(pos))?;
            checked += 1;
            if parsed.size == size {
                seen_here = true;
                if parsed.root != frontier.root() {
                    // With every checkpoint kept, the one before matched,
                    // so this entry is the changed one. A bundle has only
                    // the latest, which cannot say which entry changed.
                    return if source.keeps_every_checkpoint() {
                        fail(
                            Some(pos),
                            FailureKind::CheckpointNotPrefix,
                            format!(
                                "the signed checkpoint of size {size} has another root: this entry was changed"
                            ),
                        )
                    } else {
                        fail(
                            None,
                            FailureKind::RootMismatch,
                            format!(
                                "the {size} entries do not hash to the signed root {}: an entry was changed",
                                STANDARD.encode(parsed.root)
                            ),
                        )
                    };
                }
            }
        }
        if source.keeps_every_checkpoint() && !seen_here {
            return fail(
                Some(pos),
                FailureKind::MissingCheckpoint,
                format!("no checkpoint of size {size} is stored"),
            );
        }
        pos += 1;
    }
    let n = pos;
    if n == 0 {
        return fail(
            None,
            FailureKind::Malformed,
            "the ledger is empty: no genesis entry",
        );
    }
    let (v, fpr) = verifier.expect("n > 0");
    let latest = source.latest().map_err(io_fail)?;
    let Some(latest) = latest else {
        return fail(
            None,
            FailureKind::NoCheckpoint,
            "there is no signed checkpoint",
        );
    };
    let cp = check_checkpoint(&latest, &v, &origin, None)?;
    if cp.size > n {
        return fail(
            None,
            FailureKind::Truncated,
            format!(
                "the signed checkpoint covers {} entries but only {n} are present",
                cp.size
            ),
        );
    }
    if cp.size < n {
        return fail(
            Some(cp.size),
            FailureKind::UnsignedTail,
            format!(
                "entries {}..{} are not covered by the signed checkpoint of size {}",
                cp.size,
                n - 1,
                cp.size
            ),
        );
    }
    if cp.root != frontier.root() {
        return fail(
            None,
            FailureKind::RootMismatch,
            format!(
                "the {n} entries do not hash to the signed root {}: an entry was changed",
                STANDARD.encode(cp.root)
            ),
        );
    }
    if let Some(s) = saved {
        check_against_state(s, &cp, &leaves)?;
    }
    Ok(Integrity {
        checkpoint: cp,
        checkpoints_checked: checked,
        ledger_fingerprint: fpr,
    })
}

/// The ledger must extend the saved `{size, root}`: an RFC 6962 §2.1.2
/// consistency proof from the saved tree to this one must verify.
fn check_against_state(saved: &State, cp: &Checkpoint, leaves: &[Hash]) -> Result<(), Failure> {
    if saved.origin != cp.origin {
        return fail(
            None,
            FailureKind::OriginMismatch,
            format!(
                "the saved state is for {:?}, this ledger is {:?}",
                saved.origin, cp.origin
            ),
        );
    }
    let saved_root = saved.root_hash()?;
    if cp.size < saved.size {
        return fail(
            None,
            FailureKind::Rollback,
            format!(
                "the ledger has {} entries, but {} were seen before: it was truncated or restored from an older copy",
                cp.size, saved.size
            ),
        );
    }
    let proof = merkle::consistency_proof(leaves, saved.size as usize);
    if !merkle::verify_consistency(saved.size, cp.size, &saved_root, &cp.root, &proof) {
        return fail(
            None,
            FailureKind::Fork,
            format!(
                "the first {} entries differ from the ones seen before: history was rewritten",
                saved.size
            ),
        );
    }
    Ok(())
}

struct Meaning {
    releases: u64,
    officers: usize,
    signatures: u64,
}

struct SecretInfo {
    min_approvals: u64,
    total: u64,
}

#[derive(Clone, Copy)]
struct ItemInfo {
    release_seq: u64,
    confirmed: bool,
}

struct Semantics {
    vault: String,
    epoch: u64,
    threshold: u64,
    officers: HashMap<String, Verifier>,
    secrets: HashMap<String, SecretInfo>,
    items: HashMap<(String, u64), ItemInfo>,
    releases: HashMap<u64, (String, u64)>,
    release_count: u64,
    signatures: u64,
}

fn check_meaning(source: &dyn Source, _integrity: &Integrity) -> Result<Meaning, Failure> {
    let mut sem: Option<Semantics> = None;
    for (pos, bytes) in source.entries().map_err(io_fail)?.enumerate() {
        let seq = pos as u64;
        let bytes = bytes.map_err(io_fail)?;
        let m = ledger::parse_entry(&bytes)
            .or_else(|e| fail(Some(seq), FailureKind::NotCanonical, e.to_string()))?;
        let kind = str_field(&m, seq, "kind")?;
        if kind == "genesis" {
            sem = Some(genesis(&m)?);
            continue;
        }
        let s = sem
            .as_mut()
            .expect("integrity pass checked genesis is first");
        match kind {
            "deposit" => s.deposit(seq, &m)?,
            "release" => s.release(seq, &m)?,
            "displayed" => s.displayed(seq, &m)?,
            "refused" | "auth_failed" | "expired" | "cancelled" | "drill" | "passphrase" => {}
            other => {
                return fail(
                    Some(seq),
                    FailureKind::Malformed,
                    format!("unknown entry kind {other:?}"),
                );
            }
        }
    }
    let s = sem.expect("integrity pass checked genesis");
    Ok(Meaning {
        releases: s.release_count,
        officers: s.officers.len(),
        signatures: s.signatures,
    })
}

fn genesis(m: &Map<String, Value>) -> Result<Semantics, Failure> {
    let mut officers = HashMap::new();
    let list = m.get("officers").and_then(Value::as_array).map_or_else(
        || fail(Some(0), FailureKind::Malformed, "genesis lists no officers"),
        Ok,
    )?;
    for o in list {
        let o = o.as_object().map_or_else(
            || fail(Some(0), FailureKind::Malformed, "officer is not an object"),
            Ok,
        )?;
        let name = str_field(o, 0, "name")?;
        let cert = PublicCert::from_bytes(str_field(o, 0, "cert")?.as_bytes()).or_else(|e| {
            fail(
                Some(0),
                FailureKind::Malformed,
                format!("officer {name}: {e}"),
            )
        })?;
        if cert.fingerprint() != str_field(o, 0, "fingerprint")? {
            return fail(
                Some(0),
                FailureKind::Malformed,
                format!("officer {name}'s fingerprint does not match the certificate"),
            );
        }
        let v = cert
            .verifier()
            .or_else(|e| fail(Some(0), FailureKind::Malformed, e.to_string()))?;
        officers.insert(name.to_string(), v);
    }
    let threshold = u64_field(m, 0, "threshold")?;
    if threshold < 2 || threshold as usize > officers.len() {
        return fail(Some(0), FailureKind::Malformed, "threshold out of range");
    }
    Ok(Semantics {
        vault: str_field(m, 0, "vault")?.to_string(),
        epoch: u64_field(m, 0, "epoch")?,
        threshold,
        officers,
        secrets: HashMap::new(),
        items: HashMap::new(),
        releases: HashMap::new(),
        release_count: 0,
        signatures: 0,
    })
}

fn statement_bytes(st: &Value) -> Vec<u8> {
    canonical::to_vec(st).unwrap_or_default()
}

impl Semantics {
    fn officer(&self, seq: u64, name: &str, kind: FailureKind) -> Result<&Verifier, Failure> {
        self.officers.get(name).map_or_else(
            || {
                fail(
                    Some(seq),
                    kind,
                    format!("{name:?} is not an enrolled officer"),
                )
            },
            Ok,
        )
    }

    fn deposit(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let actor = str_field(m, seq, "actor")?;
        let secret = str_field(m, seq, "secret")?;
        let count = u64_field(m, seq, "count")?;
        let total = u64_field(m, seq, "total")?;
        let st = m.get("statement").and_then(Value::as_object).map_or_else(
            || fail(Some(seq), FailureKind::Malformed, "no deposit statement"),
            Ok,
        )?;
        let sig = signature_field(m, seq, FailureKind::BadDepositSignature, "the deposit")?;
        let v = self.officer(seq, actor, FailureKind::UnknownOfficer)?;
        if v.verify(&statement_bytes(&Value::Object(st.clone())), sig.as_bytes())
            .is_err()
        {
            return fail(
                Some(seq),
                FailureKind::BadDepositSignature,
                format!("the deposit statement does not verify with {actor}'s certificate"),
            );
        }
        self.signatures += 1;
        let prev_total = self.secrets.get(secret).map_or(0, |s| s.total);
        let matches = st.get("type").and_then(Value::as_str) == Some("breakglass-deposit/v1")
            && st.get("vault").and_then(Value::as_str) == Some(&self.vault)
            && st.get("secret").and_then(Value::as_str) == Some(secret)
            && st.get("officer").and_then(Value::as_str) == Some(actor)
            && st.get("count").and_then(Value::as_u64) == Some(count)
            && st.get("first_index").and_then(Value::as_u64) == Some(prev_total)
            && st.get("kind") == m.get("item_kind")
            && prev_total + count == total;
        if !matches {
            return fail(
                Some(seq),
                FailureKind::BadDepositSignature,
                "the signed deposit statement does not match the entry",
            );
        }
        let min = m.get("min_approvals").and_then(Value::as_u64).unwrap_or(0);
        let info = self
            .secrets
            .entry(secret.to_string())
            .or_insert(SecretInfo {
                min_approvals: min,
                total: 0,
            });
        info.total = total;
        Ok(())
    }

    fn release(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let secret = str_field(m, seq, "secret")?.to_string();
        let index = u64_field(m, seq, "index")?;
        let reason = str_field(m, seq, "reason")?;
        let nonce = str_field(m, seq, "nonce")?;
        let time = time_field(m, seq, "time")?;
        let info = self.secrets.get(&secret).map_or_else(
            || {
                fail(
                    Some(seq),
                    FailureKind::Malformed,
                    format!("secret {secret:?} was never deposited"),
                )
            },
            Ok,
        )?;
        if index >= info.total {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("{secret} has no item {index}"),
            );
        }
        let needed = self.threshold.max(info.min_approvals);
        let approvals = m.get("approvals").and_then(Value::as_array).map_or_else(
            || fail(Some(seq), FailureKind::Malformed, "no approvals"),
            Ok,
        )?;
        let mut distinct = HashSet::new();
        for a in approvals {
            let a = a.as_object().map_or_else(
                || {
                    fail(
                        Some(seq),
                        FailureKind::Malformed,
                        "approval is not an object",
                    )
                },
                Ok,
            )?;
            let officer = str_field(a, seq, "officer")?;
            let sig = signature_field(
                a,
                seq,
                FailureKind::BadApprovalSignature,
                &format!("{officer}'s approval"),
            )?;
            let st = a.get("statement").map_or_else(
                || {
                    fail(
                        Some(seq),
                        FailureKind::Malformed,
                        "approval without statement",
                    )
                },
                Ok,
            )?;
            let v = self.officer(seq, officer, FailureKind::BadApprovalSignature)?;
            if v.verify(&statement_bytes(st), sig.as_bytes()).is_err() {
                return fail(
                    Some(seq),
                    FailureKind::BadApprovalSignature,
                    format!(
                        "the approval by {officer} does not verify with {officer}'s certificate"
                    ),
                );
            }
            self.signatures += 1;
            let field = |k: &str| st.get(k).and_then(Value::as_str);
            let same = field("type") == Some("breakglass-approval/v1")
                && field("vault") == Some(&self.vault)
                && st.get("epoch").and_then(Value::as_u64) == Some(self.epoch)
                && field("officer") == Some(officer)
                && field("secret") == Some(&secret)
                && field("reason") == Some(reason);
            if !same {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalMismatch,
                    format!("{officer}'s signed statement is for another release"),
                );
            }
            if field("nonce") != Some(nonce) {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalReplayed,
                    format!("{officer}'s approval carries another request's nonce"),
                );
            }
            let expires = field("expires").and_then(parse_rfc3339);
            if expires.is_none_or(|e| time > e) {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalExpired,
                    format!("{officer}'s approval had expired when it was used"),
                );
            }
            distinct.insert(officer.to_string());
        }
        if (distinct.len() as u64) < needed {
            return fail(
                Some(seq),
                FailureKind::NoQuorum,
                format!(
                    "{} distinct officers approved, {needed} needed",
                    distinct.len()
                ),
            );
        }
        let key = (secret.clone(), index);
        let again = m.get("re_release_of").and_then(Value::as_u64);
        match (self.items.get(&key), again) {
            (None, None) => {}
            (Some(prev), Some(r)) if prev.release_seq == r && !prev.confirmed => {}
            (Some(prev), _) => {
                return fail(
                    Some(seq),
                    FailureKind::DoubleRelease,
                    format!(
                        "{secret}#{index} was already released by entry {}{}",
                        prev.release_seq,
                        if prev.confirmed {
                            " and confirmed seen"
                        } else {
                            ""
                        }
                    ),
                );
            }
            (None, Some(r)) => {
                return fail(
                    Some(seq),
                    FailureKind::DoubleRelease,
                    format!("re-release of entry {r}, which did not release this item"),
                );
            }
        }
        self.items.insert(
            key.clone(),
            ItemInfo {
                release_seq: seq,
                confirmed: false,
            },
        );
        self.releases.insert(seq, key);
        self.release_count += 1;
        Ok(())
    }

    fn displayed(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let r = u64_field(m, seq, "release")?;
        let key = (
            str_field(m, seq, "secret")?.to_string(),
            u64_field(m, seq, "index")?,
        );
        if self.releases.get(&r) != Some(&key) {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("entry {r} is not the release of {}#{}", key.0, key.1),
            );
        }
        if matches!(str_field(m, seq, "outcome")?, "confirmed" | "stdout") {
            if let Some(item) = self.items.get_mut(&key).filter(|i| i.release_seq == r) {
                item.confirmed = true;
            }
        }
        Ok(())
    }
}

/// Writes an export bundle into `dir` (created; must not exist or be
/// empty): `entries.jsonl`, `checkpoint`, `checkpoint.asc`,
/// `ledger-cert.asc` and `officers/<name>.asc`. Every stored entry is
/// written, even ones the latest checkpoint does not cover, so that the
/// auditor's verification reports them rather than the export hiding them.
pub fn export(store: &Store, ledger_cert: &PublicCert, dir: &Path) -> Result<u64> {
    if dir.is_file() {
        return Err(Error::NotADirectory(dir.to_owned()));
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(Error::invalid(
            "export directory",
            format!("{} is not empty", dir.display()),
        ));
    }
    let latest =
        ledger::latest_checkpoint(store)?.ok_or_else(|| Error::Ledger("no checkpoint".into()))?;
    std::fs::create_dir_all(dir.join(bundle::OFFICERS))?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join(bundle::ENTRIES))?);
    let mut n = 0u64;
    for e in ledger::entries_from(store, 0) {
        let (seq, bytes) = e?;
        w.write_all(&bytes)?;
        w.write_all(b"\n")?;
        if seq == 0 {
            write_officer_certs(&bytes, &dir.join(bundle::OFFICERS))?;
        }
        n += 1;
    }
    w.into_inner()
        .map_err(|e| Error::Io(e.into_error()))?
        .sync_all()?;
    std::fs::write(dir.join(bundle::CHECKPOINT), &latest.body)?;
    std::fs::write(dir.join(bundle::CHECKPOINT_SIG), &latest.signature)?;
    std::fs::write(dir.join(bundle::LEDGER_CERT), ledger_cert.armored()?)?;
    Ok(n)
}

fn write_officer_certs(genesis: &[u8], dir: &Path) -> Result<()> {
    let m = ledger::parse_entry(genesis)?;
    for o in m
        .get("officers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(name), Some(cert)) = (
            o.get("name").and_then(Value::as_str),
            o.get("cert").and_then(Value::as_str),
        ) {
            std::fs::write(dir.join(format!("{name}.asc")), cert)?;
        }
    }
    Ok(())
}
