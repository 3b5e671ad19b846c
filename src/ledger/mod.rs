//! The append-only ledger (DESIGN §4; format for auditors in
//! `docs/LEDGER.md`).
//!
//! Each entry is one line of canonical JSON with the common fields `v`,
//! `seq`, `time`, `kind`, `actor` and `hook` (the `alerts` entry in force
//! when it was appended, so that where alerts go is read from the ledger,
//! never from an unsigned marker). Entries are leaves of an RFC 6962
//! Merkle tree; after every append the ledger key signs a C2SP
//! tlog-checkpoint of the new tree, and every checkpoint is kept. There is
//! no update or delete path (invariant I11): [`append`] is the only writer.
//!
//! The tree is [`merkle`], the canonical JSON of entries and statements
//! [`canonical`], and the signed-note form of a checkpoint [`note`].

pub mod canonical;
pub mod merkle;
pub mod note;
pub mod statements;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::clock::rfc3339;
use crate::error::{Error, FaultPoint, Result};
use crate::pgp::SecretKey;
use crate::records::{CheckpointRecord, Record};
use crate::store::{Store, Table, Tx};
use merkle::{Hash, NodeStore};

/// Entry format version.
pub const ENTRY_VERSION: u64 = 5;

const META_SIZE: &[u8] = b"ledger_size";
const META_TIME: &[u8] = b"ledger_time";

/// An entry before it has a sequence number and a time.
#[derive(Debug, Clone)]
pub struct Draft {
    kind: &'static str,
    actor: String,
    fields: Map<String, Value>,
}

impl Draft {
    /// A new entry of `kind` by `actor`.
    pub fn new(kind: &'static str, actor: impl Into<String>) -> Self {
        Draft {
            kind,
            actor: actor.into(),
            fields: Map::new(),
        }
    }

    /// Adds a kind-specific field.
    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_string(), value.into());
        self
    }

    /// The kind-specific fields added so far.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// The canonical bytes of this entry at `seq` and `time`, after the
    /// `alerts` entry `hook` (if any).
    fn encode(&self, seq: u64, time: i64, hook: Option<u64>) -> Result<Vec<u8>> {
        let mut m = self.fields.clone();
        m.insert("hook".into(), hook.map_or(Value::Null, Value::from));
        m.insert("v".into(), ENTRY_VERSION.into());
        m.insert("seq".into(), seq.into());
        m.insert("time".into(), rfc3339(time).into());
        m.insert("kind".into(), self.kind.into());
        m.insert("actor".into(), self.actor.clone().into());
        canonical::to_vec(&Value::Object(m))
    }
}

/// An entry as written.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Its sequence number.
    pub seq: u64,
    /// The tree size after it.
    pub size: u64,
    /// The root after it.
    pub root: Hash,
    /// The entry's canonical bytes.
    pub bytes: Vec<u8>,
    /// The entry's ledger time, Unix seconds.
    pub time: i64,
    /// The `alerts` entry in force after it: the entry itself when it is
    /// one, else the one its `hook` names.
    pub hook: Option<u64>,
    /// The signed checkpoint over the tree that ends with it.
    pub checkpoint: CheckpointRecord,
    /// The same checkpoint as a C2SP signed note (`note.rs`).
    pub note: String,
}

const META_NOTE: &[u8] = b"checkpoint_note";

/// The checkpoint body (C2SP tlog-checkpoint) of a ledger that was never
/// restored with a gap: origin, size, base64 root, each followed by a
/// newline.
pub fn checkpoint_body(vault_id: &str, size: u64, root: &Hash) -> String {
    checkpoint_body_for(&origin(vault_id), size, root)
}

/// The checkpoint body under `origin`.
pub fn checkpoint_body_for(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{}\n", STANDARD.encode(root))
}

/// The checkpoint origin line of a vault's ledger until its first restore
/// with a gap.
pub fn origin(vault_id: &str) -> String {
    format!("breakglass/{vault_id}")
}

/// The origin a restore with a gap, entry `seq`, starts: its checkpoint
/// and every later one carry it (docs/LEDGER.md §5.1). The restored
/// history may differ from one a witness cosigned, and a log never signs
/// two inconsistent checkpoints under one origin.
pub fn restored_origin(vault_id: &str, seq: u64) -> String {
    format!("breakglass/{vault_id}/restore-{seq}")
}

/// The origin of the checkpoint after entry `m`, given `previous`, the
/// origin of the checkpoint before it (`None` for the genesis entry).
pub fn origin_after(vault_id: &str, previous: Option<&str>, m: &Map<String, Value>) -> String {
    let restores = m.get("kind").and_then(Value::as_str) == Some("restored")
        && m.get("gap").and_then(Value::as_bool) == Some(true);
    match (restores, m.get("seq").and_then(Value::as_u64), previous) {
        (true, Some(seq), _) => restored_origin(vault_id, seq),
        (_, _, Some(p)) => p.to_string(),
        _ => origin(vault_id),
    }
}

/// The origin of the checkpoint after `entries`, the ledger from genesis;
/// entries that do not parse change nothing.
pub fn origin_of<'a>(vault_id: &str, entries: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut o = origin(vault_id);
    for e in entries {
        if let Ok(m) = parse_entry(e) {
            o = origin_after(vault_id, Some(&o), &m);
        }
    }
    o
}

/// A parsed checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Origin line.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
}

/// Parses a checkpoint body; extension lines after the root are refused.
pub fn parse_checkpoint(body: &str) -> Result<Checkpoint> {
    let bad = |why: &str| Error::Ledger(format!("malformed checkpoint: {why}"));
    let lines: Vec<&str> = body
        .strip_suffix('\n')
        .ok_or_else(|| bad("no final newline"))?
        .split('\n')
        .collect();
    let [origin, size, root] = lines[..] else {
        return Err(bad("expected three lines"));
    };
    let size: u64 = size.parse().map_err(|_| bad("size is not a number"))?;
    if size.to_string() != lines[1] {
        return Err(bad("size is not canonical"));
    }
    let root: Hash = STANDARD
        .decode(root)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| bad("root is not 32 bytes of base64"))?;
    Ok(Checkpoint {
        origin: origin.to_string(),
        size,
        root,
    })
}

fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

fn node_key(level: u8, index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = level;
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

fn read_u64(v: Option<Vec<u8>>) -> Result<u64> {
    match v {
        None => Ok(0),
        Some(b) => Ok(u64::from_be_bytes(
            b.as_slice()
                .try_into()
                .map_err(|_| Error::Corrupt("ledger counter".into()))?,
        )),
    }
}

struct TxNodes<'a, 'b>(&'a Tx<'b>);

impl NodeStore for TxNodes<'_, '_> {
    fn get_node(&self, level: u8, index: u64) -> Result<Option<Hash>> {
        to_hash(self.0.get(Table::Merkle, &node_key(level, index))?)
    }

    fn put_node(&self, level: u8, index: u64, hash: &Hash) -> Result<()> {
        self.0.put(Table::Merkle, &node_key(level, index), hash)
    }
}

struct StoreNodes<'a>(&'a Store);

impl NodeStore for StoreNodes<'_> {
    fn get_node(&self, level: u8, index: u64) -> Result<Option<Hash>> {
        to_hash(self.0.get(Table::Merkle, &node_key(level, index))?)
    }

    fn put_node(&self, _: u8, _: u64, _: &Hash) -> Result<()> {
        Err(Error::Ledger(
            "Merkle nodes are written only inside a transaction".into(),
        ))
    }
}

fn to_hash(v: Option<Vec<u8>>) -> Result<Option<Hash>> {
    v.map(|b| {
        b.as_slice()
            .try_into()
            .map_err(|_| Error::Corrupt("Merkle node is not 32 bytes".into()))
    })
    .transpose()
}

/// Appends `draft` inside `tx`: the entry, its Merkle nodes, and a new
/// checkpoint signed by `ledger_key`. Times never decrease: an entry is
/// stamped with the later of `now` and the previous entry's time. The one
/// exception is a `clock` entry, which records the clock being set back
/// and carries the clock's own time (docs/LEDGER.md §2.3).
pub fn append(
    tx: &Tx<'_>,
    draft: &Draft,
    now: i64,
    vault_id: &str,
    ledger_key: &SecretKey,
    fault: Option<FaultPoint>,
) -> Result<Appended> {
    let seq = read_u64(tx.get(Table::Meta, META_SIZE)?)?;
    let last_time = read_u64(tx.get(Table::Meta, META_TIME)?)? as i64;
    let time = if draft.kind == "clock" {
        now
    } else {
        now.max(last_time)
    };
    let hook = match seq {
        0 => None,
        _ => {
            let prev = entry_in(tx, seq - 1)?
                .ok_or_else(|| Error::Ledger(format!("entry {} is missing", seq - 1)))?;
            hook_after(&prev)?
        }
    };
    let bytes = draft.encode(seq, time, hook)?;
    let after = if draft.kind == "alerts" {
        Some(seq)
    } else {
        hook
    };
    write_entry(tx, seq, &bytes, time, after, vault_id, ledger_key, fault)
}

/// The `alerts` entry in force after the entry `bytes`: the entry itself
/// when it is one, else the one it names in `hook` (docs/LEDGER.md §2.1).
pub fn hook_after(bytes: &[u8]) -> Result<Option<u64>> {
    hook_after_entry(&parse_entry(bytes)?)
}

/// [`hook_after`] for an entry already parsed.
fn hook_after_entry(m: &Map<String, Value>) -> Result<Option<u64>> {
    let seq = m.get("seq").and_then(Value::as_u64);
    if m.get("kind").and_then(Value::as_str) == Some("alerts") {
        return seq
            .map(Some)
            .ok_or_else(|| Error::Ledger("an alerts entry has no seq".into()));
    }
    match m.get("hook") {
        Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            Error::Ledger(format!(
                "entry {} names no alerts entry in its hook field",
                seq.unwrap_or_default()
            ))
        }),
        None => Err(Error::Ledger(format!(
            "entry {} has no hook field",
            seq.unwrap_or_default()
        ))),
    }
}

/// Entry `seq`'s bytes inside a transaction (its own writes included).
pub fn entry_in(tx: &Tx<'_>, seq: u64) -> Result<Option<Vec<u8>>> {
    tx.get(Table::Ledger, &seq_key(seq))
}

/// The `alerts` entry in force inside a transaction: named by the last
/// entry.
pub fn hook_in_force_in(tx: &Tx<'_>) -> Result<Option<u64>> {
    match size_in(tx)? {
        0 => Ok(None),
        size => hook_after(
            &entry_in(tx, size - 1)?
                .ok_or_else(|| Error::Ledger(format!("entry {} is missing", size - 1)))?,
        ),
    }
}

/// The `alerts` entry in force now: named by the last entry (O(1)).
pub fn hook_in_force(store: &Store) -> Result<Option<u64>> {
    match store.last(Table::Ledger)? {
        None => Ok(None),
        Some((_, bytes)) => hook_after(&bytes),
    }
}

/// Appends an entry this vault's ledger already held elsewhere, byte for
/// byte: a restored backup replaying the entries of a newer export of the
/// same ledger (`Vault::restore`). The entry must be canonical and carry
/// the next `seq`; the new tree is then the export's tree, so the export's
/// checkpoints verify against it. Still append-only (I11).
pub fn append_existing(
    tx: &Tx<'_>,
    bytes: &[u8],
    vault_id: &str,
    ledger_key: &SecretKey,
) -> Result<Appended> {
    let seq = read_u64(tx.get(Table::Meta, META_SIZE)?)?;
    let m = parse_entry(bytes)?;
    if m.get("seq").and_then(Value::as_u64) != Some(seq) {
        return Err(Error::Ledger(format!(
            "the entry to replay is not entry {seq}"
        )));
    }
    let time = m
        .get("time")
        .and_then(Value::as_str)
        .and_then(crate::clock::parse_rfc3339)
        .ok_or_else(|| Error::Ledger(format!("entry {seq} has no ledger time")))?;
    let hook = hook_after_entry(&m)?;
    write_entry(tx, seq, bytes, time, hook, vault_id, ledger_key, None)
}

/// Writes entry `seq` (its bytes), its Merkle nodes and the checkpoint
/// over the new tree, and the counters; `hook` is the `alerts` entry in
/// force after it.
#[allow(clippy::too_many_arguments)]
fn write_entry(
    tx: &Tx<'_>,
    seq: u64,
    bytes: &[u8],
    time: i64,
    hook: Option<u64>,
    vault_id: &str,
    ledger_key: &SecretKey,
    fault: Option<FaultPoint>,
) -> Result<Appended> {
    tx.put(Table::Ledger, &seq_key(seq), bytes)?;
    let nodes = TxNodes(tx);
    merkle::append(&nodes, seq, &merkle::leaf_hash(bytes))?;
    let size = seq + 1;
    let root = merkle::root(&nodes, size)?;
    // The origin follows from the checkpoint before and this entry; a
    // previous checkpoint of another vault stops the append.
    let previous = match seq {
        0 => None,
        _ => {
            let cp = tx
                .get(Table::Checkpoints, &seq_key(seq))?
                .map(|b| CheckpointRecord::decode(&b))
                .transpose()?
                .ok_or_else(|| Error::Ledger(format!("the checkpoint of size {seq} is missing")))?;
            let o = parse_checkpoint(&cp.body)?.origin;
            if o != origin(vault_id) && !o.starts_with(&format!("{}/restore-", origin(vault_id))) {
                return Err(Error::Ledger(format!(
                    "the checkpoint of size {seq} is for {o:?}, not this vault"
                )));
            }
            Some(o)
        }
    };
    let origin = origin_after(vault_id, previous.as_deref(), &parse_entry(bytes)?);
    let body = checkpoint_body_for(&origin, size, &root);
    if fault == Some(FaultPoint::CheckpointSigning) {
        return Err(Error::Injected(FaultPoint::CheckpointSigning));
    }
    let signature = ledger_key.sign_detached(body.as_bytes(), time)?;
    // The same checkpoint as a signed note, for witnesses. Only the latest
    // is kept: Ed25519 is deterministic, so any note can be made again.
    let note = signed_note(&body, ledger_key)?;
    let cp = CheckpointRecord { body, signature };
    tx.put(Table::Checkpoints, &seq_key(size), &cp.encode()?)?;
    tx.put(Table::Meta, META_NOTE, note.as_bytes())?;
    tx.put(Table::Meta, META_SIZE, &size.to_be_bytes())?;
    tx.put(Table::Meta, META_TIME, &(time as u64).to_be_bytes())?;
    Ok(Appended {
        seq,
        size,
        root,
        bytes: bytes.to_vec(),
        time,
        hook,
        checkpoint: cp,
        note,
    })
}

/// `body`, a checkpoint, as a C2SP signed note signed by the ledger key
/// under the key name of the checkpoint's origin line.
pub fn signed_note(body: &str, ledger_key: &SecretKey) -> Result<String> {
    let name = body.split('\n').next().unwrap_or_default();
    let public = ledger_key.public().verifier()?.ed25519_public()?;
    let signature = ledger_key.sign_ed25519(body.as_bytes())?;
    Ok(crate::ledger::note::format(body, name, &public, &signature))
}

/// The signed note of the latest checkpoint, if one was written (vaults
/// made before signed notes have none until their next append).
pub fn latest_note(store: &Store) -> Result<Option<String>> {
    store
        .get(Table::Meta, META_NOTE)?
        .map(|b| String::from_utf8(b).map_err(|_| Error::Corrupt("signed note".into())))
        .transpose()
}

/// The number of entries, inside a transaction (the next entry's `seq`).
pub fn size_in(tx: &Tx<'_>) -> Result<u64> {
    read_u64(tx.get(Table::Meta, META_SIZE)?)
}

/// The time of the last entry inside a transaction, Unix seconds (0 for an
/// empty ledger).
pub fn last_time_in(tx: &Tx<'_>) -> Result<i64> {
    Ok(read_u64(tx.get(Table::Meta, META_TIME)?)? as i64)
}

/// The time of the last entry, Unix seconds (0 for an empty ledger).
pub fn last_time(store: &Store) -> Result<i64> {
    Ok(read_u64(store.get(Table::Meta, META_TIME)?)? as i64)
}

/// The number of entries.
pub fn size(store: &Store) -> Result<u64> {
    read_u64(store.get(Table::Meta, META_SIZE)?)
}

/// The root of the first `size` entries, from stored subtrees.
pub fn root(store: &Store, size: u64) -> Result<Hash> {
    merkle::root(&StoreNodes(store), size)
}

/// The RFC 6962 consistency proof from the first `old` entries to the
/// first `new`, inside a transaction, from stored subtrees: O(log n).
pub fn consistency_proof_in(tx: &Tx<'_>, old: u64, new: u64) -> Result<Vec<Hash>> {
    merkle::stored_consistency_proof(&TxNodes(tx), old, new)
}

/// The leaf hash of entry `seq` inside a transaction.
pub fn leaf_in(tx: &Tx<'_>, seq: u64) -> Result<Option<Hash>> {
    TxNodes(tx).get_node(0, seq)
}

/// The stored leaf hash of entry `seq`.
pub fn leaf(store: &Store, seq: u64) -> Result<Option<Hash>> {
    StoreNodes(store).get_node(0, seq)
}

/// Entry `seq`'s bytes.
pub fn entry(store: &Store, seq: u64) -> Result<Option<Vec<u8>>> {
    store.get(Table::Ledger, &seq_key(seq))
}

/// Every entry from `from` on, in order, lazily.
pub fn entries_from(store: &Store, from: u64) -> impl Iterator<Item = Result<(u64, Vec<u8>)>> + '_ {
    store.range_from(Table::Ledger, &seq_key(from)).map(|kv| {
        let (k, v) = kv?;
        let seq = u64::from_be_bytes(
            k.as_slice()
                .try_into()
                .map_err(|_| Error::Corrupt("ledger key".into()))?,
        );
        Ok((seq, v))
    })
}

/// The checkpoint for tree size `size`.
pub fn checkpoint(store: &Store, size: u64) -> Result<Option<CheckpointRecord>> {
    store
        .get(Table::Checkpoints, &seq_key(size))?
        .map(|b| CheckpointRecord::decode(&b))
        .transpose()
}

/// Every stored checkpoint, by size.
pub fn checkpoints(store: &Store) -> impl Iterator<Item = Result<CheckpointRecord>> + '_ {
    store
        .range_from(Table::Checkpoints, &[])
        .map(|kv| CheckpointRecord::decode(&kv?.1))
}

/// The latest checkpoint.
pub fn latest_checkpoint(store: &Store) -> Result<Option<CheckpointRecord>> {
    store
        .last(Table::Checkpoints)?
        .map(|(_, v)| CheckpointRecord::decode(&v))
        .transpose()
}

/// Entry fields an entry reader needs, parsed from canonical bytes.
pub fn parse_entry(bytes: &[u8]) -> Result<Map<String, Value>> {
    match canonical::parse_canonical(bytes)? {
        Value::Object(m) => Ok(m),
        _ => Err(Error::Ledger("entry is not a JSON object".into())),
    }
}

/// Whether the canonical entry `bytes` opens an epoch (a `genesis` or a
/// `rekey` entry), found without parsing it: canonical JSON writes the
/// `kind` field one way only. For scans over the whole ledger.
pub fn opens_epoch(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, b"\"kind\":\"genesis\"").is_some()
        || memchr::memmem::find(bytes, b"\"kind\":\"rekey\"").is_some()
}

/// An item's number for people: its 0-based `index` plus one (0 when
/// there is none). Wide enough for any index a hostile entry holds.
pub fn item_no(m: &Map<String, Value>) -> u128 {
    m.get("index")
        .and_then(Value::as_u64)
        .map_or(0, |i| u128::from(i) + 1)
}

/// One human-readable line for an entry: seq, time, kind, actor and the
/// kind's main fields. Never a secret: entries hold none.
pub fn summary_line(seq: u64, m: &Map<String, Value>) -> String {
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
    let kind = s("kind");
    let actor = if s("actor").is_empty() {
        "-"
    } else {
        s("actor")
    };
    let detail = summary_detail(m);
    format!("{seq:>6}  {}  {kind:<11}  {actor:<16}  {detail}", s("time"))
}

/// The kind's main fields of an entry, in words (the end of
/// [`summary_line`]). Never a secret: entries hold none.
pub fn summary_detail(m: &Map<String, Value>) -> String {
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
    let n = |k: &str| m.get(k).map(|v| v.to_string()).unwrap_or_default();
    let kind = s("kind");
    match kind {
        "genesis" => format!("vault {} threshold {}", s("vault"), n("threshold")),
        "deposit" => format!(
            "{} +{} {} ({} in all)",
            s("secret"),
            n("count"),
            s("item_kind"),
            n("total")
        ),
        "release" => {
            let again = m
                .get("re_release_of")
                .map(|v| format!(" (re-release of entry {v})"))
                .unwrap_or_default();
            format!(
                "{} #{}{again} reason {:?}",
                s("secret"),
                item_no(m),
                s("reason")
            )
        }
        "displayed" => format!(
            "{} #{} {} (release entry {}; signed by {})",
            s("secret"),
            item_no(m),
            s("outcome"),
            n("release"),
            s("signer")
        ),
        "rotated" => format!(
            "{} rotated: new value #{} answers release entry {}",
            s("secret"),
            item_no(m),
            n("release")
        ),
        "retired" => format!(
            "{}: {} codes retired (never released again)",
            s("secret"),
            n("voided")
        ),
        "reviewed" => format!(
            "release entry {} ({} #{}) reviewed as {}{}: {:?}",
            n("release"),
            s("secret"),
            item_no(m),
            s("class"),
            m.get("incident")
                .and_then(Value::as_str)
                .map(|i| format!(" ({i})"))
                .unwrap_or_default(),
            s("note")
        ),
        "overdue" => {
            let items: Vec<String> = m
                .get("due")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|d| {
                    let t = |k: &str| d.get(k).and_then(Value::as_str);
                    let what = t("what").unwrap_or("?");
                    match (
                        t("secret"),
                        d.get("release").and_then(Value::as_u64),
                        t("officer"),
                    ) {
                        (_, _, Some(o)) => format!("{what} {o}"),
                        (Some(sec), Some(r), _) => format!("{what} {sec} (entry {r})"),
                        (Some(sec), None, _) => format!("{what} {sec}"),
                        _ => what.to_string(),
                    }
                })
                .collect();
            format!("due: {}", items.join(", "))
        }
        "drill" if m.contains_key("release") => format!(
            "end-to-end drill {}: release entry {}, alert hook {}",
            s("result"),
            n("release"),
            s("delivery")
        ),
        "backup" => "backup taken".to_string(),
        "restored" if m.get("gap") == Some(&Value::Bool(true)) => format!(
            "restored: {} from the backup, {} replayed; GAP until acknowledged; now signs as {}",
            n("backup_entries"),
            n("replayed"),
            s("origin")
        ),
        "restored" => format!(
            "restored: {} from the backup, {} replayed; complete (reaches a checkpoint of size {})",
            n("backup_entries"),
            n("replayed"),
            m.get("evidence")
                .and_then(|e| e.get("size"))
                .map(Value::to_string)
                .unwrap_or_default()
        ),
        "gap_acknowledged" => format!("gap of restore entry {} acknowledged", n("restored")),
        "refused" if s("secret").is_empty() => format!("{}: {}", s("action"), s("cause")),
        "refused" => format!("{} {}: {}", s("action"), s("secret"), s("cause")),
        "rekey" => {
            let names: Vec<&str> = m
                .get("officers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|o| o.get("name").and_then(Value::as_str))
                .collect();
            format!(
                "{}: epoch {}, {} of {} ({})",
                s("ceremony").replace('_', " "),
                n("epoch"),
                n("threshold"),
                names.len(),
                names.join(", ")
            )
        }
        "auth_failed" => format!("{} {}: wrong passphrase", s("action"), s("secret")),
        "drill" => format!("passphrase drill: {}", s("result")),
        "passphrase" => "passphrase changed".to_string(),
        "clock" => format!(
            "system clock {} ({} the previous entry, {})",
            s("clock"),
            if s("direction") == "behind" {
                "before"
            } else {
                "far after"
            },
            s("previous")
        ),
        "locked" => format!("vault locked: {}", s("cause")),
        "expired" | "cancelled" => {
            let what = if s("secret").is_empty() {
                s("ceremony").replace('_', " ")
            } else {
                s("secret").to_string()
            };
            let count = m.get("approvals").and_then(Value::as_u64).unwrap_or(0);
            let noun = if count == 1 { "approval" } else { "approvals" };
            format!("{what} ({count} {noun} discarded)")
        }
        "alerts" if s("action") == "set" => {
            let args: Vec<String> = m
                .get("args")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|a| format!("{:?}", a.as_str().unwrap_or("")))
                .collect();
            format!("alert hook set: {:?} {}", s("program"), args.join(" "))
                .trim_end()
                .to_string()
        }
        "alerts" => "alert hook cleared".to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `canonical_entry` fuzz target: the largest index an
    /// entry can hold overflowed (a panic in debug builds, item #0 in
    /// release ones) in `ledger show` and the console.
    #[test]
    fn epoch_entries_are_found_unparsed() {
        let entry = |kind: &'static str, reason: &str| {
            Draft::new(kind, "alice")
                .field("reason", reason)
                .encode(3, 0, None)
                .unwrap()
        };
        assert!(opens_epoch(&entry("genesis", "")));
        assert!(opens_epoch(&entry("rekey", "")));
        assert!(!opens_epoch(&entry("deposit", "")));
        // A value that spells the field is escaped, so it cannot match.
        assert!(!opens_epoch(&entry("deposit", "\"kind\":\"rekey\"")));
    }

    #[test]
    fn the_largest_index_is_numbered_without_overflow() {
        let m = parse_entry(br#"{"index":18446744073709551615,"kind":"release"}"#).unwrap();
        assert_eq!(item_no(&m), 18_446_744_073_709_551_616);
        assert!(summary_detail(&m).contains("#18446744073709551616"));
    }

    #[test]
    fn checkpoint_body_round_trips() {
        let root = [7u8; 32];
        let body = checkpoint_body("abc", 12, &root);
        assert_eq!(
            body,
            format!("breakglass/abc\n12\n{}\n", STANDARD.encode(root))
        );
        let cp = parse_checkpoint(&body).unwrap();
        assert_eq!(
            cp,
            Checkpoint {
                origin: "breakglass/abc".into(),
                size: 12,
                root
            }
        );
    }

    #[test]
    fn malformed_checkpoints_are_refused() {
        for bad in [
            "breakglass/a\n1\nAAAA\n",
            "breakglass/a\n01\n",
            "breakglass/a\nx\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            "breakglass/a\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "breakglass/a\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            "breakglass/a\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nextra\n",
        ] {
            assert!(parse_checkpoint(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn draft_encodes_common_fields_canonically() {
        let d = Draft::new("deposit", "alice")
            .field("secret", "gh")
            .field("count", 3);
        let b = d.encode(4, 1_795_833_151, Some(2)).unwrap();
        assert_eq!(
            String::from_utf8(b).unwrap(),
            r#"{"actor":"alice","count":3,"hook":2,"kind":"deposit","secret":"gh","seq":4,"time":"2026-11-28T02:32:31Z","v":5}"#
        );
        assert_eq!(hook_after(&d.encode(4, 0, None).unwrap()).unwrap(), None);
        assert_eq!(
            hook_after(&d.encode(4, 0, Some(2)).unwrap()).unwrap(),
            Some(2)
        );
        let alerts = Draft::new("alerts", "alice").encode(5, 0, Some(2)).unwrap();
        assert_eq!(hook_after(&alerts).unwrap(), Some(5));
    }
}
