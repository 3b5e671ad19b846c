//! The first pass: bytes, sequence, time, the Merkle tree, every
//! checkpoint and its signature, and the saved state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Mutex, OnceLock};

use super::*;

pub(super) struct Integrity {
    pub(super) checkpoint: Checkpoint,
    pub(super) checkpoints_checked: u64,
    pub(super) ledger_fingerprint: String,
    pub(super) genesis_leaf: Hash,
    /// The ledger key's fingerprint as genesis names it.
    pub(super) genesis_ledger_key: String,
}

/// Reads the ledger key from genesis and compares it with the pin.
fn ledger_verifier(
    genesis: &Map<String, Value>,
    pinned: Option<&PublicCert>,
) -> Result<(Verifier, String), Failure> {
    let armored = str_field(genesis, 0, "ledger_cert")?;
    let (from_genesis, signs) = PublicCert::from_ledger(armored.as_bytes()).or_else(|e| {
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
    if !signs {
        return fail(
            Some(0),
            FailureKind::Malformed,
            crate::pgp::CERT_NOT_SIGNING,
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

/// Checks one checkpoint's body, signature and origin. Failures name the
/// checkpoint (`which`), not an entry: a checkpoint is not an entry.
fn check_checkpoint(
    cp: &CheckpointRecord,
    verifier: &Verifier,
    origin: &str,
    which: &str,
) -> Result<Checkpoint, Failure> {
    let entry = None;
    let parsed = ledger::parse_checkpoint(&cp.body).or_else(|e| {
        fail(
            entry,
            FailureKind::BadCheckpointSignature,
            format!("{which}: {e}"),
        )
    })?;
    if verifier
        .verify(cp.body.as_bytes(), cp.signature.as_bytes())
        .is_err()
    {
        return fail(
            entry,
            FailureKind::BadCheckpointSignature,
            format!(
                "{which} (size {}) does not verify with ledger key {}",
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
                "{which} is for {}, this ledger's is {}",
                quoted(&parsed.origin),
                quoted(origin)
            ),
        );
    }
    Ok(parsed)
}

/// Stored checkpoints whose signatures are checked in one batch.
const BATCH: usize = 64;

/// Batches waiting for a worker, per worker. With [`BATCH`] this bounds
/// the checkpoints in flight, whatever the ledger's size.
const QUEUED_PER_WORKER: usize = 8;

/// One stored checkpoint's signature to check, numbered in entry order.
struct SigJob {
    index: u64,
    size: u64,
    record: CheckpointRecord,
}

/// The failing signature check of lowest number seen so far: checks run
/// out of order, but the failure reported is the first in entry order.
struct FirstBad {
    lowest: AtomicU64,
    failure: Mutex<Option<(u64, Failure)>>,
}

impl FirstBad {
    fn new() -> Self {
        FirstBad {
            lowest: AtomicU64::new(u64::MAX),
            failure: Mutex::new(None),
        }
    }

    /// Whether a failure numbered below `index` is known (so checking
    /// `index` cannot change the outcome).
    fn before(&self, index: u64) -> bool {
        self.lowest.load(Ordering::Relaxed) < index
    }

    fn any(&self) -> bool {
        self.lowest.load(Ordering::Relaxed) != u64::MAX
    }

    fn record(&self, index: u64, f: Failure) {
        let mut slot = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_none_or(|(i, _)| index < *i) {
            *slot = Some((index, f));
            self.lowest.fetch_min(index, Ordering::Relaxed);
        }
    }

    fn take(self) -> Option<Failure> {
        let slot = self.failure.into_inner().unwrap_or_else(|e| e.into_inner());
        slot.map(|(_, f)| f)
    }
}

/// What the signature checks share: the ledger key (set at genesis, before
/// the first job), how a stored checkpoint is named, and the first failure.
struct SigCheck<'a> {
    verifier: &'a OnceLock<(Verifier, String)>,
    which: &'a str,
    bad: &'a FirstBad,
}

impl SigCheck<'_> {
    fn run(&self, batch: Vec<SigJob>) {
        let (v, _) = self.verifier.get().expect("set at genesis, before any job");
        for job in batch {
            if self.bad.before(job.index) {
                continue;
            }
            let cp = &job.record;
            if v.verify(cp.body.as_bytes(), cp.signature.as_bytes())
                .is_err()
            {
                self.bad.record(
                    job.index,
                    Failure {
                        entry: None,
                        kind: FailureKind::BadCheckpointSignature,
                        detail: format!(
                            "{} (size {}) does not verify with ledger key {}",
                            self.which,
                            job.size,
                            v.fingerprint()
                        ),
                    },
                );
            }
        }
    }
}

/// Hands batches of signature checks to the workers, in entry order.
struct Dispatch<'a> {
    check: &'a SigCheck<'a>,
    tx: Option<SyncSender<Vec<SigJob>>>,
    batch: Vec<SigJob>,
    next: u64,
}

impl Dispatch<'_> {
    fn push(&mut self, size: u64, record: CheckpointRecord) {
        self.batch.push(SigJob {
            index: self.next,
            size,
            record,
        });
        self.next += 1;
        if self.batch.len() == BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        if batch.is_empty() {
            return;
        }
        // Waits while the queue is full: the walk is the shorter share of
        // the work, and a walking thread busy with a batch of signatures
        // would leave the workers idle.
        let unsent = match &self.tx {
            Some(tx) => tx.send(batch).err().map(|e| e.0),
            None => Some(batch),
        };
        if let Some(b) = unsent {
            self.check.run(b);
        }
    }

    /// Sends what is left and lets the workers finish.
    fn finish(&mut self) {
        self.send();
        self.tx = None;
    }
}

/// What the walk over the entries found, besides the signature checks
/// still running.
struct Walk {
    n: u64,
    /// The semantic checks' verdict (`semantics::MeaningPass`): reported
    /// only if every integrity check passes.
    meaning: Result<Meaning, Failure>,
    frontier: Frontier,
    /// The root at each size a consistency check needs (the saved state's
    /// and the collected checkpoints'): O(number of those), not O(n).
    prefix_roots: BTreeMap<u64, Hash>,
    checked: u64,
    /// The origin of the latest checkpoint, as the entries determine it.
    origin: String,
    /// Each origin and the first tree size it signs: the genesis origin
    /// from size 1, then one per restore with a gap (§5.1).
    eras: Origins,
    genesis_leaf: Hash,
    genesis_ledger_key: String,
}

/// The origins of a ledger's checkpoints: `(first size, origin)`, sizes
/// increasing.
#[derive(Default)]
pub(super) struct Origins(Vec<(u64, String)>);

impl Origins {
    /// The origin a checkpoint of `size` entries carries.
    pub(super) fn at(&self, size: u64) -> &str {
        self.0
            .iter()
            .rev()
            .find(|(from, _)| *from <= size)
            .or(self.0.first())
            .map_or("", |(_, o)| o.as_str())
    }
}

/// Checks the bytes, sequence, time and Merkle tree of every entry and
/// every stored checkpoint, in one streaming pass: memory is O(log n) for
/// the tree plus the checkpoints in flight.
///
/// The checkpoint signatures, almost all the cost, are checked on every
/// core while the entries are read and hashed in order on this thread. A
/// failure is still the first in entry order: a signature failure at a
/// checkpoint takes precedence over anything found after that checkpoint,
/// and nothing found before it is reported later than it.
pub(super) fn check_integrity(
    source: &(dyn Source + Sync),
    opts: &Options,
    saved: Option<&State>,
) -> Result<(Integrity, Result<Meaning, Failure>), Failure> {
    // Collected checkpoints are read now, for the sizes whose roots the
    // walk must keep; what is wrong with them is reported in its turn,
    // after the ledger's own checks.
    let gathered: Vec<Result<super::collected::Loaded, Failure>> = opts
        .checkpoints
        .iter()
        .map(|p| super::collected::load(p))
        .collect();
    let mut wanted: BTreeSet<u64> = gathered
        .iter()
        .filter_map(|c| c.as_ref().ok().and_then(super::collected::Loaded::size))
        .collect();
    wanted.extend(saved.map(|s| s.size));

    let which = if source.keeps_every_checkpoint() {
        "a stored checkpoint"
    } else {
        "the bundle's checkpoint"
    };
    let verifier = OnceLock::new();
    let bad = FirstBad::new();
    let check = SigCheck {
        verifier: &verifier,
        which,
        bad: &bad,
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (tx, rx) = sync_channel::<Vec<SigJob>>(workers * QUEUED_PER_WORKER);
    let rx = Mutex::new(rx);
    let walked = std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    match next {
                        Ok(batch) => check.run(batch),
                        Err(_) => return,
                    }
                }
            });
        }
        let mut dispatch = Dispatch {
            check: &check,
            tx: Some(tx),
            batch: Vec::with_capacity(BATCH),
            next: 0,
        };
        let walked = walk(source, opts, &wanted, &verifier, &mut dispatch);
        dispatch.finish();
        walked
    });
    // Every job handed out has been checked: a signature failure comes
    // before anything the walk found after handing it out.
    if let Some(f) = bad.take() {
        return Err(f);
    }
    let w = walked?;
    let n = w.n;
    if n == 0 {
        return fail(
            None,
            FailureKind::Malformed,
            "the ledger is empty: no genesis entry",
        );
    }
    let (v, fpr) = verifier.into_inner().expect("n > 0");
    let latest = source.latest().map_err(io_fail)?;
    let Some(latest) = latest else {
        return fail(
            None,
            FailureKind::NoCheckpoint,
            "there is no signed checkpoint",
        );
    };
    let cp = check_checkpoint(&latest, &v, &w.origin, "the latest checkpoint")?;
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
    if cp.root != w.frontier.root() {
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
        check_against_state(s, &cp, &w.prefix_roots, &w.eras)?;
    }
    for (path, loaded) in opts.checkpoints.iter().zip(gathered) {
        collected::check_collected(path, loaded?, &v, &w.eras, &cp, &w.prefix_roots)?;
    }
    let integrity = Integrity {
        checkpoint: cp,
        checkpoints_checked: w.checked,
        ledger_fingerprint: fpr,
        genesis_leaf: w.genesis_leaf,
        genesis_ledger_key: w.genesis_ledger_key,
    };
    Ok((integrity, w.meaning))
}

/// The ordered part of [`check_integrity`]: every entry and every stored
/// checkpoint but their signatures, which go to `dispatch`. Stops early,
/// with what it has, once a signature is known to be bad.
fn walk(
    source: &(dyn Source + Sync),
    opts: &Options,
    wanted: &BTreeSet<u64>,
    verifier: &OnceLock<(Verifier, String)>,
    dispatch: &mut Dispatch<'_>,
) -> Result<Walk, Failure> {
    let mut entries = source.entries().map_err(io_fail)?.peekable();
    let mut checkpoints = source.checkpoints().map_err(io_fail)?.peekable();
    let mut frontier = Frontier::default();
    let mut prefix_roots = BTreeMap::new();
    let mut prev_time = i64::MIN;
    let mut origin = String::new();
    let mut eras = Origins::default();
    let mut vault_id = String::new();
    let mut checked = 0u64;
    let mut pos = 0u64;
    let mut genesis_leaf = Hash::default();
    let mut genesis_ledger_key = String::new();
    let mut meaning = MeaningPass::default();
    let mut meaning_failed = None;
    let keeps_every = source.keeps_every_checkpoint();
    let which = dispatch.check.which;

    while let Some(bytes) = entries.next() {
        if dispatch.check.bad.any() {
            break;
        }
        let bytes = bytes.map_err(io_fail)?;
        let m = match ledger::parse_entry(&bytes) {
            Ok(m) => m,
            Err(e) => return fail(Some(pos), FailureKind::NotCanonical, e.to_string()),
        };
        if m.get("v").and_then(Value::as_u64) != Some(ENTRY_VERSION) {
            return fail(
                Some(pos),
                FailureKind::Malformed,
                format!(
                    "entry version {} is not supported (this breakglass reads version {})",
                    m.get("v").map(Value::to_string).unwrap_or_default(),
                    ENTRY_VERSION
                ),
            );
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
        // Times never go back, except in a `clock` entry that records the
        // system clock being set back: its `previous` is the time before
        // it (docs/LEDGER.md §2.3).
        let recorded_jump = m.get("kind").and_then(Value::as_str) == Some("clock")
            && m.get("direction").and_then(Value::as_str) == Some("behind")
            && m.get("previous")
                .and_then(Value::as_str)
                .and_then(parse_rfc3339)
                == Some(prev_time);
        if time < prev_time && !recorded_jump {
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
        let leaf = merkle::leaf_hash(&bytes);
        if pos == 0 {
            if let Some(pin) = opts.pin {
                if pin != leaf {
                    return fail(
                        Some(0),
                        FailureKind::PinMismatch,
                        format!(
                            "the genesis entry's fingerprint is {}, not the pinned {}: this is another vault, or its genesis was rewritten",
                            hex::encode(leaf),
                            hex::encode(pin)
                        ),
                    );
                }
            }
            genesis_leaf = leaf;
            genesis_ledger_key = str_field(&m, 0, "ledger_fingerprint")?.to_string();
            let key = ledger_verifier(&m, opts.cert.as_ref())?;
            vault_id = str_field(&m, 0, "vault")?.to_string();
            origin = ledger::origin(&vault_id);
            eras.0.push((1, origin.clone()));
            // Only genesis sets it, and only once: pos 0 comes once.
            let _ = verifier.set(key);
        }
        // A `restored` entry proves its evidence against the entries
        // before it.
        let prior_root = (kind == "restored").then(|| frontier.root());
        frontier.push(leaf);
        let size = pos + 1;
        // A restore with a gap starts a new origin with its own checkpoint.
        if pos > 0 {
            let next = ledger::origin_after(&vault_id, Some(&origin), &m);
            if next != origin {
                origin = next;
                eras.0.push((size, origin.clone()));
            }
        }
        if wanted.contains(&size) {
            prefix_roots.insert(size, frontier.root());
        }
        // Every stored checkpoint must be the root of the prefix it names.
        let mut seen_here = false;
        loop {
            // The next checkpoint belongs here unless it parses and names
            // a later size; one that cannot be read fails here.
            let parsed = match checkpoints.peek() {
                None => break,
                Some(Err(_)) => None,
                Some(Ok(c)) => match ledger::parse_checkpoint(&c.body) {
                    Ok(p) if p.size > size => break,
                    p => Some(p),
                },
            };
            let cp = checkpoints.next().expect("peeked").map_err(io_fail)?;
            let parsed = parsed.expect("read").or_else(|e| {
                fail(
                    None,
                    FailureKind::BadCheckpointSignature,
                    format!("{which}: {e}"),
                )
            })?;
            // Its signature is checked by a worker; what follows here is
            // reported only if that check passes (see `check_integrity`).
            dispatch.push(parsed.size, cp);
            if parsed.origin != origin {
                return fail(
                    None,
                    FailureKind::OriginMismatch,
                    format!(
                        "{which} is for {}, this ledger's is {}",
                        quoted(&parsed.origin),
                        quoted(origin)
                    ),
                );
            }
            checked += 1;
            if parsed.size == size {
                seen_here = true;
                if parsed.root != frontier.root() {
                    // With every checkpoint kept, the one before matched,
                    // so this entry is the changed one. A bundle has only
                    // the latest, which cannot say which entry changed.
                    return if keeps_every {
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
        if keeps_every && !seen_here {
            return fail(
                Some(pos),
                FailureKind::MissingCheckpoint,
                format!("no checkpoint of size {size} is stored"),
            );
        }
        // The semantic checks see the entry parsed here; their first
        // failure waits until the integrity checks have passed.
        if meaning_failed.is_none() {
            meaning_failed = meaning.entry(pos, &m, prior_root).err();
        }
        pos += 1;
    }
    Ok(Walk {
        n: pos,
        meaning: match meaning_failed {
            Some(f) => Err(f),
            None => meaning.finish(),
        },
        frontier,
        prefix_roots,
        checked,
        origin,
        eras,
        genesis_leaf,
        genesis_ledger_key,
    })
}

/// Whether a ledger whose first `m` leaves hash to `prefix_root` (`None`
/// when not kept) extends a tree of `m` leaves with root `old_root`. The
/// verifier has every leaf, so an RFC 6962 §2.1.2 consistency proof built
/// from them verifies exactly when the prefix's root is the old root (the
/// new root was checked already); every tree extends the empty tree.
pub(super) fn extends(m: u64, old_root: &Hash, prefix_root: Option<&Hash>) -> bool {
    m == 0 || prefix_root == Some(old_root)
}

/// The ledger must extend the saved `{size, root}`: an RFC 6962 §2.1.2
/// consistency proof from the saved tree to this one must verify.
fn check_against_state(
    saved: &State,
    cp: &Checkpoint,
    prefix_roots: &BTreeMap<u64, Hash>,
    eras: &Origins,
) -> Result<(), Failure> {
    // The state names the origin of the checkpoint it saved: this
    // ledger's at that size (a restore with a gap since changes it).
    let expected = if saved.size <= cp.size {
        eras.at(saved.size)
    } else {
        cp.origin.as_str()
    };
    if saved.origin != expected {
        return fail(
            None,
            FailureKind::OriginMismatch,
            format!(
                "the saved state is for {}, this ledger is {}",
                quoted(&saved.origin),
                quoted(expected)
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
    if !extends(saved.size, &saved_root, prefix_roots.get(&saved.size)) {
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

#[cfg(test)]
mod tests {
    //! The signature checks run out of order on worker threads; these
    //! show the failure reported is still the first in entry order, across
    //! batches, whichever thread finds it.
    use super::*;
    use crate::Passphrase;
    use crate::crypto::KdfParams;
    use crate::ledger::Draft;
    use crate::ledger::merkle;
    use crate::pgp::SecretKey;
    use crate::records::{LedgerKeyRecord, Record};
    use crate::store::Table;
    use crate::vault::{InitOptions, NewOfficer, Vault};

    /// A vault whose ledger has `n` entries: genesis and the officers'
    /// entries, then refusals appended directly, each with its checkpoint.
    fn vault(dir: &Path, n: u64) -> Vault {
        let opts = InitOptions {
            threshold: 2,
            officers: ["alice", "bob"]
                .iter()
                .map(|o| NewOfficer {
                    name: o.to_string(),
                    passphrase: Passphrase::new(format!("{o}-test-passphrase")),
                })
                .collect(),
            kdf: KdfParams::new(8, 1).unwrap(),
        };
        let v = Vault::init(&dir.join("v"), opts).unwrap();
        let rec =
            LedgerKeyRecord::decode(&v.store().get(Table::Meta, b"ledger_key").unwrap().unwrap())
                .unwrap();
        let key = SecretKey::from_bytes(&rec.tsk).unwrap();
        let draft = Draft::new("refused", "alice")
            .field("action", "release")
            .field("cause", "1 of 2 officers; at least 2 are needed")
            .field("secret", "svc-admin");
        let now = v.now();
        let id = v.id().to_string();
        v.store()
            .transact(|tx| {
                while ledger::size_in(tx)? < n {
                    ledger::append(tx, &draft, now, &id, &key, None)?;
                }
                Ok(())
            })
            .unwrap();
        v
    }

    fn checkpoint(v: &Vault, size: u64) -> CheckpointRecord {
        let b = v
            .store()
            .get(Table::Checkpoints, &size.to_be_bytes())
            .unwrap()
            .unwrap();
        CheckpointRecord::decode(&b).unwrap()
    }

    /// Gives the checkpoint of `size` the signature of another one: a
    /// valid signature, over another body.
    fn break_signature(v: &Vault, size: u64) {
        let mut cp = checkpoint(v, size);
        cp.signature = checkpoint(v, size - 1).signature;
        let bytes = cp.encode().unwrap();
        v.store()
            .transact(|tx| tx.put(Table::Checkpoints, &size.to_be_bytes(), &bytes))
            .unwrap();
    }

    /// Changes entry `seq`'s bytes (still canonical JSON).
    fn change_entry(v: &Vault, seq: u64) {
        let e = ledger::entry(v.store(), seq).unwrap().unwrap();
        let changed = String::from_utf8(e)
            .unwrap()
            .replace("svc-admin", "svc-admix");
        v.store()
            .transact(|tx| tx.put(Table::Ledger, &seq.to_be_bytes(), changed.as_bytes()))
            .unwrap();
    }

    fn first_failure(v: &Vault) -> Failure {
        verify(&VaultSource(v.store()), &Options::default()).unwrap_err()
    }

    #[test]
    fn a_clean_ledger_of_several_batches_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path(), 4 * BATCH as u64 + 7);
        let r = verify(&VaultSource(v.store()), &Options::default()).unwrap();
        assert_eq!(r.entries, 4 * BATCH as u64 + 7);
        assert_eq!(r.checkpoints_checked, r.entries);
    }

    #[test]
    fn of_two_bad_signatures_in_different_batches_the_first_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let n = 4 * BATCH as u64;
        let v = vault(dir.path(), n);
        let (early, late) = (BATCH as u64 + 3, 3 * BATCH as u64 + 1);
        break_signature(&v, late);
        break_signature(&v, early);
        let f = first_failure(&v);
        assert_eq!(f.kind, FailureKind::BadCheckpointSignature);
        assert!(f.detail.contains(&format!("(size {early})")), "{f}");
    }

    #[test]
    fn batches_checked_out_of_order_still_report_the_lowest_failure() {
        let dir = tempfile::tempdir().unwrap();
        let n = 2 * BATCH as u64;
        let v = vault(dir.path(), n);
        let (early, late) = (5, BATCH as u64 + 5);
        break_signature(&v, late);
        break_signature(&v, early);
        let verifier = OnceLock::new();
        let _ = verifier.set(
            v.ledger_cert()
                .verifier()
                .map(|k| (k, String::new()))
                .unwrap(),
        );
        let job = |size: u64| SigJob {
            index: size - 1,
            size,
            record: checkpoint(&v, size),
        };
        let first = || (1..=BATCH as u64).map(job).collect::<Vec<_>>();
        let second = || (BATCH as u64 + 1..=n).map(job).collect::<Vec<_>>();
        // In order, and the later batch first, as a faster worker would.
        for later_first in [false, true] {
            let bad = FirstBad::new();
            let check = SigCheck {
                verifier: &verifier,
                which: "a stored checkpoint",
                bad: &bad,
            };
            let (a, b) = if later_first {
                (second(), first())
            } else {
                (first(), second())
            };
            check.run(a);
            assert!(bad.any());
            check.run(b);
            let f = bad.take().unwrap();
            assert!(f.detail.contains(&format!("(size {early})")), "{f}");
        }
    }

    #[test]
    fn a_bad_signature_comes_before_a_later_changed_entry() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path(), 3 * BATCH as u64);
        let sig = BATCH as u64 + 5;
        change_entry(&v, 2 * BATCH as u64);
        break_signature(&v, sig);
        let f = first_failure(&v);
        assert_eq!(f.kind, FailureKind::BadCheckpointSignature);
        assert!(f.detail.contains(&format!("(size {sig})")), "{f}");
    }

    #[test]
    fn a_changed_entry_comes_before_a_later_bad_signature() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path(), 3 * BATCH as u64);
        let changed = BATCH as u64 + 5;
        change_entry(&v, changed);
        break_signature(&v, 2 * BATCH as u64);
        let f = first_failure(&v);
        assert_eq!(f.kind, FailureKind::CheckpointNotPrefix);
        assert_eq!(f.entry, Some(changed), "{f}");
    }

    #[test]
    fn the_prefix_check_agrees_with_the_consistency_proof() {
        // `extends` replaces building an RFC 6962 consistency proof from
        // every leaf: for every old size, both say the same about the
        // true prefix root and about a wrong one.
        let leaves: Vec<Hash> = (0..70u8).map(|i| merkle::leaf_hash(&[i])).collect();
        let root = merkle::root_of_leaves(&leaves);
        for m in 0..=leaves.len() {
            let prefix = merkle::root_of_leaves(&leaves[..m]);
            let proof = merkle::consistency_proof(&leaves, m);
            let n = leaves.len() as u64;
            for old in [prefix, merkle::leaf_hash(b"other")] {
                let by_proof = merkle::verify_consistency(m as u64, n, &old, &root, &proof);
                assert_eq!(extends(m as u64, &old, Some(&prefix)), by_proof, "m = {m}");
            }
        }
    }
}
