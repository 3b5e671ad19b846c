//! Offline ledger verification (invariant I12), export bundles, and the
//! auditor's state file. Works on an open vault or on an exported bundle
//! with no vault present; trusts nothing but the ledger certificate (pinned
//! with `--cert`, or taken from genesis and reported as such).
//!
//! Verification reads the entries once, in order. Memory does not grow
//! with the number of entries: the tree is kept as its O(log n) complete
//! subtrees, and only the meaning checks remember anything per item,
//! release and officer. The walk checks the bytes (canonical JSON,
//! sequence, time, Merkle root against every stored checkpoint, whose
//! signatures worker threads check, and the saved state) and feeds each
//! parsed entry to the meaning checks (officer signatures, quorum, expiry,
//! replay, double release).
//!
//! Split by concern: `integrity` (bytes, tree, checkpoints, state),
//! `semantics` (what the entries mean), `bundle` (export bundles on disk)
//! and `state` (the auditor's saved tree).

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::clock::parse_rfc3339;
use crate::error::{Error, Result};
use crate::ledger::canonical;
use crate::ledger::merkle::{self, Frontier, Hash};
use crate::ledger::{self, Checkpoint};
use crate::pgp::{PublicCert, Verifier};
use crate::records::CheckpointRecord;
use crate::store::Store;
mod bundle_source;
mod collected;
mod integrity;
mod lifecycle;
mod semantics;
mod state;

pub use bundle_source::{BundleSource, bundle, export};
pub use collected::collected_checkpoint;
pub use lifecycle::{Lifecycle, SecretLifecycle, Unreviewed};
pub use state::{State, StateOutcome};

use integrity::check_integrity;
use semantics::{Meaning, MeaningPass};

/// The entry format version this verifier reads (LEDGER.md §2.2, rule
/// 7). It is the verifier's own: its rules are version 5's, so a vault
/// that writes another version must not pass for want of a rule change.
pub const ENTRY_VERSION: u64 = 5;

/// What kind of failure verification found. Each tamper has its own.
/// Serialized (`ledger verify --json`) in snake case: `root_mismatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
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
    /// The genesis entry is not the one the pinned vault fingerprint names.
    PinMismatch,
    /// A release takes an item no deposit signed (by its digest).
    UnknownItem,
    /// The same officer approves one release twice.
    DuplicateApproval,
    /// A bundle's `officers/NAME.asc` is not the certificate the ledger
    /// enrolled under that name.
    BadOfficerFile,
    /// A bundle's `ledger-cert.asc` is not the ledger key genesis names.
    BadLedgerCertFile,
    /// A collected checkpoint (`--checkpoint FILE`) is unreadable or not
    /// a checkpoint.
    BadCheckpointFile,
    /// An entry names another `alerts` entry as the one in force than the
    /// latest before it.
    HookMismatch,
    /// A `restored` entry's numbers or evidence disagree with the ledger.
    BadRestore,
    /// A release or ceremony follows a restore whose gap no quorum has
    /// acknowledged.
    UnacknowledgedGap,
    /// A release's receipt, or a display's signature, does not check out:
    /// the entry is not what its approvers signed.
    BadReceipt,
    /// A release takes another item than the one the ledger's history
    /// gives next.
    WrongItem,
    /// A `rotated`, `retired` or `reviewed` entry does not fit the
    /// ledger's history (rules 25a–25c).
    BadLifecycle,
}

impl FailureKind {
    /// The failure in words, as the one-line message gives it.
    pub fn describe(self) -> &'static str {
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
            PinMismatch => "vault fingerprint mismatch",
            UnknownItem => "release of an item never deposited",
            DuplicateApproval => "duplicate approval",
            BadOfficerFile => "officer certificate file does not match the ledger",
            BadLedgerCertFile => "ledger certificate file does not match the ledger",
            BadCheckpointFile => "unusable collected checkpoint",
            HookMismatch => "wrong alert hook in force",
            BadRestore => "restore record disagrees with the ledger",
            UnacknowledgedGap => "release or ceremony inside an unacknowledged restore gap",
            BadReceipt => "bad receipt signature",
            WrongItem => "release of another item than the next",
            BadLifecycle => "bad lifecycle entry",
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
    /// The vault fingerprint: the genesis entry's leaf hash, hex.
    pub fingerprint: String,
    /// Whether the vault fingerprint was pinned (`--pin`).
    pub fingerprint_pinned: bool,
    /// What happened with the state file, if one was given.
    pub state: Option<StateOutcome>,
    /// Collected checkpoints (`--checkpoint`) the ledger extends.
    pub collected: u64,
    /// Each secret's releases, reviews and rotations, and the releases
    /// not reviewed: reports, not failures.
    pub lifecycle: Lifecycle,
}

/// Officer certificate files beside a ledger: name and bytes.
pub type OfficerFiles = Vec<(String, Vec<u8>)>;

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
    /// The officer certificate files shipped beside the ledger (a
    /// bundle's `officers/`), by name; `None` for a vault.
    fn officer_files(&self) -> Result<Option<OfficerFiles>, Failure> {
        Ok(None)
    }
    /// The ledger certificate shipped beside the ledger (a bundle's
    /// `ledger-cert.asc`), if any; `None` for a vault.
    fn ledger_cert_file(&self) -> Result<Option<Vec<u8>>, Failure> {
        Ok(None)
    }
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

/// What the auditor brings.
#[derive(Default)]
pub struct Options {
    /// The pinned ledger certificate (`--cert`).
    pub cert: Option<PublicCert>,
    /// The state file (`--state`).
    pub state_path: Option<PathBuf>,
    /// The pinned vault fingerprint (`--pin`): the genesis entry's leaf
    /// hash.
    pub pin: Option<Hash>,
    /// Checkpoints collected elsewhere (`--checkpoint FILE`): alert
    /// events, checkpoint bodies with `FILE.asc`, or signed notes. The
    /// ledger must extend each.
    pub checkpoints: Vec<PathBuf>,
}

/// Parses a vault fingerprint: 64 hex digits.
pub fn parse_pin(hex_str: &str) -> Result<Hash> {
    let v = hex::decode(hex_str.trim())
        .ok()
        .and_then(|v| <Hash>::try_from(v).ok());
    v.ok_or_else(|| {
        Error::invalid(
            "--pin",
            "a vault fingerprint is 64 hex digits (as `breakglass init` and `status` print it)",
        )
    })
}

fn io_fail(e: Error) -> Failure {
    Failure {
        entry: None,
        kind: FailureKind::BadBundle,
        detail: e.to_string(),
    }
}

/// `s` written as a JSON string (§2.1's escapes), as failure details
/// quote the names and values they repeat. The Python verifier's `q()`
/// writes the same characters; Rust's `{:?}` would not (it writes `\u{1}`
/// for U+0001 and escapes U+007F, U+2028 and combining marks), and a
/// tampered field must read the same in both verifiers' failure lines.
fn quoted(s: impl AsRef<str>) -> String {
    serde_json::to_string(s.as_ref()).unwrap_or_default()
}

fn str_field<'a>(m: &'a Map<String, Value>, seq: u64, k: &str) -> Result<&'a str, Failure> {
    m.get(k).and_then(Value::as_str).map_or_else(
        || {
            fail(
                Some(seq),
                FailureKind::Malformed,
                format!("no string field {}", quoted(k)),
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
                format!("no integer field {}", quoted(k)),
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
                format!(
                    "{k} {} is not a ledger time (YYYY-MM-DDTHH:MM:SSZ)",
                    quoted(s)
                ),
            )
        },
        Ok,
    )
}

/// Verifies a ledger. `Ok` is a passing report; `Err(Failure)` names the
/// first failure. The state file, if given, is updated only on success.
///
/// Checkpoint signatures are checked on every core; the failure reported
/// is still the one a sequential run would report: the first integrity
/// failure in entry order, else the first meaning failure.
pub fn verify(source: &(dyn Source + Sync), opts: &Options) -> Result<Report, Failure> {
    let saved = match &opts.state_path {
        Some(p) => State::load(p)?,
        None => None,
    };
    // One pass: the integrity walk reads and parses each entry once and
    // feeds the semantic checks; theirs is reported only if the ledger's
    // integrity holds.
    let (integrity, meaning) = check_integrity(source, opts, saved.as_ref())?;
    let meaning = meaning?;
    if let Some(files) = source.officer_files()? {
        check_officer_files(&files, &meaning.certs)?;
    }
    // A bundle's ledger-cert.asc must be the ledger key genesis names: an
    // auditor who imports it into gpg checks the checkpoint with it.
    if let Some(bytes) = source.ledger_cert_file()? {
        let named = PublicCert::from_ledger(&bytes)
            .map(|(c, _)| c.fingerprint())
            .ok();
        if named.as_deref() != Some(integrity.genesis_ledger_key.as_str()) {
            return fail(
                None,
                FailureKind::BadLedgerCertFile,
                "ledger-cert.asc is not the ledger key the genesis entry names",
            );
        }
    }
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
        fingerprint: hex::encode(integrity.genesis_leaf),
        fingerprint_pinned: opts.pin.is_some(),
        state,
        collected: opts.checkpoints.len() as u64,
        lifecycle: meaning.lifecycle,
    })
}

/// A bundle's `officers/NAME.asc` files must be exactly the certificates
/// the ledger enrolled: an auditor who imports them must get the keys the
/// approvals were checked against, not ones someone put beside them.
fn check_officer_files(
    files: &[(String, Vec<u8>)],
    certs: &[(String, String)],
) -> Result<(), Failure> {
    let bad = |why: String| fail(None, FailureKind::BadOfficerFile, why);
    for (name, bytes) in files {
        let Some((_, enrolled)) = certs.iter().find(|(n, _)| n == name) else {
            return bad(format!(
                "officers/{name}.asc is not an officer the ledger enrolled"
            ));
        };
        // The very bytes the ledger enrolled, in strict armor (§1.2).
        let armor = |b: &[u8]| crate::pgp::dearmor_strict(b, "PUBLIC KEY BLOCK").ok();
        let same = armor(bytes).is_some_and(|file| Some(file) == armor(enrolled.as_bytes()));
        if !same {
            return bad(format!(
                "officers/{name}.asc is not the certificate the ledger enrolled for {name}"
            ));
        }
    }
    if let Some((name, _)) = certs
        .iter()
        .find(|(n, _)| !files.iter().any(|(f, _)| f == n))
    {
        return bad(format!("officers/{name}.asc is missing"));
    }
    Ok(())
}
