//! Alerts (I17): every ledger entry becomes one event, queued in the same
//! transaction as the entry and delivered after the flush to a program the
//! officers chose (`breakglass alerts set`). The event format is specified
//! in docs/ALERTS.md; this module builds events, keeps the queue, and runs
//! the program.
//!
//! The queue is the `alerts` table: one [`QueuedEvent`] per key
//! `seq ‖ copy`, where copy 0 goes to the current hook and copy 1 to the
//! hook an `alerts` entry replaced (so the change itself reaches the old
//! hook too). Delivered events are removed. Copies 0 are delivered in
//! order and delivery stops at the first failure, so a receiver sees every
//! event at least once and in sequence order; copies 1 never hold up the
//! queue.
//!
//! The program runs directly (never through a shell), with the user's
//! rights, an empty environment but for `PATH=/usr/bin:/bin` and `LANG=C`,
//! the root directory as its working directory, and the event as one JSON
//! line on stdin. Exit 0 means delivered. It is killed when it outlives its
//! time, and at most [`OUTPUT_LIMIT`] bytes of its stdout and stderr are
//! kept.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::{Clock, rfc3339};
use crate::error::{Error, Result};
use crate::ledger::canonical;
use crate::ledger::{self, Appended};
use crate::records::Record;
use crate::store::{Store, Table, Tx};

/// The event format version (`v` in every event).
/// 2: `auth_delays`. 3: `old_size` and `proof`, the consistency proof from
/// the checkpoint of the last entry alerted before this one.
pub const EVENT_VERSION: u64 = 4;
/// The environment a hook program gets: nothing else.
pub const HOOK_PATH: &str = "/usr/bin:/bin";
/// The longest a hook program may run for one event.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a hook's stdout and of its stderr is read and kept; the
/// rest is read and dropped.
pub const OUTPUT_LIMIT: usize = 16 * 1024;
/// The longest stderr text kept for `alerts status`, in characters.
const MESSAGE_CHARS: usize = 300;
/// At most this many arguments, each at most [`MAX_ARG_BYTES`].
pub const MAX_ARGS: usize = 64;
/// The longest argument or program path, in bytes.
pub const MAX_ARG_BYTES: usize = 4096;

/// `meta/alert_state`: the last delivery and the last failure.
const META_STATE: &[u8] = b"alert_state";

/// The hook in force, as the ledger's `alerts` entries set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hook {
    /// The program, an absolute path.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The officer who set it.
    pub set_by: String,
    /// The `alerts` entry that set it.
    pub seq: u64,
}

impl Hook {
    /// The program and its arguments, quoted, for people.
    pub fn command_line(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| shell_word(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-=:,@%+".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Whether `alerts` entry `seq` sets a hook (rather than clearing one),
/// read inside a transaction: what decides whether an entry's event is
/// queued. The officer's signature is checked before the program runs
/// ([`hook_at`]).
pub fn sets_hook_in(tx: &Tx<'_>, seq: u64) -> Result<bool> {
    let bytes = ledger::entry_in(tx, seq)?.ok_or_else(|| {
        Error::Ledger(format!(
            "entry {seq}, the alerts entry in force, is missing"
        ))
    })?;
    let m = ledger::parse_entry(&bytes)?;
    match (
        m.get("kind").and_then(Value::as_str),
        m.get("action").and_then(Value::as_str),
    ) {
        (Some("alerts"), Some("set")) => Ok(true),
        (Some("alerts"), Some("clear")) => Ok(false),
        _ => Err(Error::Ledger(format!(
            "entry {seq}, named as the alerts entry in force, is not an alerts entry"
        ))),
    }
}

/// The hook in force: `Ok(None)` when none is set, `Err(why)` when the
/// entry that set it does not check out (then nothing is run). Which
/// entry is in force is read from the ledger's last entry, whose `hook`
/// field names it (docs/LEDGER.md §2.1), never from an unsigned marker.
pub fn current_hook(store: &Store, vault_id: &str) -> Result<Result<Option<Hook>, String>> {
    Ok(match ledger::hook_in_force(store) {
        Err(e) => Err(e.to_string()),
        Ok(None) => Ok(None),
        Ok(Some(seq)) => hook_at(store, vault_id, seq),
    })
}

/// The hook that `alerts` entry `seq` set, checked as the semantic pass of
/// `ledger verify` checks it: the disk is not trusted (I15), so a program
/// runs only if an officer signed it. The officer's certificate comes
/// from the entry that opened the current epoch, or else from genesis (a
/// name is never enrolled with two certificates).
pub fn hook_at(store: &Store, vault_id: &str, seq: u64) -> Result<Option<Hook>, String> {
    let bytes = ledger::entry(store, seq)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("ledger entry {seq}, which set the alert hook, is missing"))?;
    let m = ledger::parse_entry(&bytes).map_err(|e| e.to_string())?;
    let s = |k: &str| m.get(k).and_then(Value::as_str);
    let bad = || format!("ledger entry {seq} does not set an alert hook an officer signed");
    let action = s("action");
    if s("kind") != Some("alerts") || !matches!(action, Some("set" | "clear")) {
        return Err(bad());
    }
    let officer = s("actor").ok_or_else(bad)?;
    let program = m.get("program").ok_or_else(bad)?;
    let args: Vec<String> = m
        .get("args")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        .ok_or_else(bad)?;
    let statement = m.get("statement").ok_or_else(bad)?;
    let st = |k: &str| statement.get(k);
    let matches = st("type").and_then(Value::as_str) == Some(STATEMENT_TYPE)
        && st("vault").and_then(Value::as_str) == Some(vault_id)
        && st("action").and_then(Value::as_str) == action
        && st("program") == Some(program)
        && st("args") == m.get("args")
        && st("officer").and_then(Value::as_str) == Some(officer);
    if !matches {
        return Err(bad());
    }
    // Bound to its place (docs/LEDGER.md §3.5): an officer's old statement
    // copied into a new entry does not run.
    let bound = st("size").and_then(Value::as_u64) == Some(seq)
        && st("previous").is_some()
        && st("previous") == m.get("hook")
        && st("time").is_some_and(Value::is_string)
        && st("time") == m.get("time")
        && st("epoch")
            .and_then(Value::as_u64)
            .is_some_and(|e| epoch_fits(store, seq, e));
    if !bound {
        return Err(format!(
            "ledger entry {seq} carries an alerts statement signed for another place in the ledger"
        ));
    }
    let cert = officer_cert(store, officer).ok_or_else(bad)?;
    let signed = canonical::to_vec(statement).map_err(|e| e.to_string())?;
    let sig = s("signature").ok_or_else(bad)?;
    cert.verifier()
        .and_then(|v| v.verify(&signed, sig.as_bytes()))
        .map_err(|_| bad())?;
    if action == Some("clear") {
        return Ok(None);
    }
    Ok(Some(Hook {
        program: program.as_str().ok_or_else(bad)?.to_string(),
        args,
        set_by: officer.to_string(),
        seq,
    }))
}

/// The statement type an officer signs to set or clear the hook.
/// v2: `size` and `previous`, and `time` is the entry's.
pub const STATEMENT_TYPE: &str = "breakglass-alerts/v2";

/// Whether `epoch` can be the epoch of entry `seq`: the current epoch when
/// the entry comes after the `genesis` or `rekey` entry that opened it, an
/// earlier one when it comes before (an `alerts` entry stays in force
/// across a ceremony). O(1) reads; `ledger verify` checks the exact epoch.
fn epoch_fits(store: &Store, seq: u64, epoch: u64) -> bool {
    let epoch_seq = store
        .get(Table::Meta, crate::vault::META_EPOCH_ENTRY)
        .ok()
        .flatten()
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0);
    let current = ledger::entry(store, epoch_seq)
        .ok()
        .flatten()
        .and_then(|b| ledger::parse_entry(&b).ok())
        .and_then(|m| m.get("epoch").and_then(Value::as_u64));
    match current {
        Some(c) if seq > epoch_seq => epoch == c,
        Some(c) => epoch < c,
        None => false,
    }
}

/// An officer's certificate as the ledger enrolled it.
fn officer_cert(store: &Store, name: &str) -> Option<crate::pgp::PublicCert> {
    let epoch_seq = store
        .get(Table::Meta, crate::vault::META_EPOCH_ENTRY)
        .ok()
        .flatten()
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes);
    for seq in epoch_seq.into_iter().chain([0]) {
        let m = ledger::entry(store, seq)
            .ok()
            .flatten()
            .and_then(|b| ledger::parse_entry(&b).ok())?;
        let found = m
            .get("officers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|o| o.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|o| o.get("cert").and_then(Value::as_str));
        if let Some(armored) = found {
            return crate::pgp::PublicCert::from_bytes(armored.as_bytes()).ok();
        }
    }
    None
}

/// One queued event and the hook it is for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueuedEvent {
    /// The event, one line of canonical JSON (docs/ALERTS.md).
    pub event: String,
    /// `None`: the current hook. `Some(seq)`: the hook that entry `seq`
    /// set, which the event's entry replaced or cleared.
    pub hook: Option<u64>,
}

impl Record for QueuedEvent {
    const TYPE: u8 = b'A';
    const VERSION: u8 = 1;
    const NAME: &'static str = "alert event";
}

/// What the queue remembers about deliveries.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliveryState {
    /// The last event delivered: its seq.
    pub last_delivered: Option<u64>,
    /// When (wall clock of the delivering machine).
    pub last_delivered_at: Option<String>,
    /// The last failure, one line: the program's exit and stderr.
    pub last_error: Option<String>,
    /// When it failed.
    pub last_error_at: Option<String>,
    /// The event whose delivery failed last: once the queue has delivered
    /// it, the failure is resolved.
    #[serde(default)]
    pub last_error_seq: Option<u64>,
    /// The last stderr text of a program that succeeded, one line.
    pub last_stderr: Option<String>,
}

impl DeliveryState {
    /// Whether the event whose delivery failed last has been delivered
    /// since: the failure is then history, not the state of the hook.
    /// (Events go out in ledger order, so its seq is enough; times could
    /// tie or run backwards with the clock.)
    pub fn error_resolved(&self) -> bool {
        match (self.last_error_seq, self.last_delivered) {
            (Some(failed), Some(delivered)) => delivered >= failed,
            _ => false,
        }
    }
}

impl Record for DeliveryState {
    const TYPE: u8 = b'Q';
    const VERSION: u8 = 1;
    const NAME: &'static str = "alert delivery state";
}

/// The delivery state (empty when nothing was ever tried).
pub fn delivery_state(store: &Store) -> Result<DeliveryState> {
    store
        .get(Table::Meta, META_STATE)?
        .map(|b| DeliveryState::decode(&b))
        .transpose()
        .map(Option::unwrap_or_default)
}

fn queue_key(seq: u64, copy: u8) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[..8].copy_from_slice(&seq.to_be_bytes());
    k[8] = copy;
    k
}

/// The consistency proof an event carries: from the tree of `old_size`
/// entries (the checkpoint of the last entry alerted before this one) to
/// the tree that ends with the event's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepProof {
    /// The old tree's size.
    pub old_size: u64,
    /// PROOF(old_size, D[seq + 1]) of RFC 6962 §2.1.2.
    pub hashes: Vec<ledger::merkle::Hash>,
}

/// The size an event's proof starts from (docs/ALERTS.md, "The proof"):
/// the checkpoint of the last entry alerted before entry `a`. That is the
/// entry before it (size `seq`), except for an `alerts set` entry that
/// follows an `alerts clear`: the entries between were alerted to no one,
/// so it is the clear's checkpoint (its seq + 1), which went to the hook
/// it cleared. Read inside the entry's transaction; O(1) entries read.
pub fn old_size_in(tx: &Tx<'_>, a: &Appended) -> Result<u64> {
    let m = ledger::parse_entry(&a.bytes)?;
    let is_set = m.get("kind").and_then(Value::as_str) == Some("alerts")
        && m.get("action").and_then(Value::as_str) == Some("set");
    if is_set && let Some(prev) = m.get("hook").and_then(Value::as_u64) {
        if !sets_hook_in(tx, prev)? {
            return Ok(prev + 1);
        }
    }
    Ok(a.seq)
}

/// The event's proof for entry `a`, inside its transaction: O(log n)
/// stored subtree hashes, no leaf scan.
pub fn step_proof_in(tx: &Tx<'_>, a: &Appended) -> Result<StepProof> {
    let old_size = old_size_in(tx, a)?;
    Ok(StepProof {
        old_size,
        hashes: ledger::consistency_proof_in(tx, old_size, a.size)?,
    })
}

/// The event for an appended entry (docs/ALERTS.md), as one line of
/// canonical JSON without its line ending.
/// `auth_delays`: each officer's wait before their next authentication, in
/// seconds, once the entry is in (officers who need not wait left out).
/// `proof`: the consistency proof from the last alerted checkpoint.
pub fn event(
    vault_id: &str,
    fingerprint: &str,
    a: &Appended,
    auth_delays: &std::collections::BTreeMap<String, u64>,
    proof: &StepProof,
    unusual: &crate::lifecycle::Unusual,
) -> Result<String> {
    let entry = String::from_utf8(a.bytes.clone())
        .map_err(|_| Error::Corrupt("entry is not UTF-8".into()))?;
    let m = ledger::parse_entry(&a.bytes)?;
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
    let by = if s("actor").is_empty() {
        String::new()
    } else {
        format!(" by {}", s("actor"))
    };
    let detail = ledger::summary_detail(&m);
    let summary = format!(
        "breakglass vault {vault_id}: entry {} at {}: {}{by}{}{detail}",
        a.seq,
        s("time"),
        s("kind"),
        if detail.is_empty() { "" } else { ": " }
    );
    let v = json!({
        "v": EVENT_VERSION,
        "vault": vault_id,
        "fingerprint": fingerprint,
        "seq": a.seq,
        "entry": entry,
        "summary": summary,
        "checkpoint": a.checkpoint.body,
        "checkpoint_sig": a.checkpoint.signature,
        "note": a.note,
        "auth_delays": auth_delays,
        "unusual": unusual,
        "old_size": proof.old_size,
        "proof": proof
            .hashes
            .iter()
            .map(|h| STANDARD.encode(h))
            .collect::<Vec<_>>(),
    });
    String::from_utf8(canonical::to_vec(&v)?).map_err(|_| Error::Corrupt("event".into()))
}

/// Queues `event` for entry `seq` inside the entry's transaction: copy 0
/// for the current hook, or, with `old_hook`, copy 1 for the hook the
/// entry replaced.
pub fn queue(tx: &Tx<'_>, seq: u64, event: String, old_hook: Option<u64>) -> Result<()> {
    let copy = u8::from(old_hook.is_some());
    let rec = QueuedEvent {
        event,
        hook: old_hook,
    };
    tx.put(Table::Alerts, &queue_key(seq, copy), &rec.encode()?)
}

/// Checks a hook program at `alerts set`: a program name without a slash
/// is looked up in `search_path` (the user's `PATH`), a relative path is
/// made absolute; it must be an executable regular file. Returns the
/// absolute path the ledger records.
pub fn resolve_program(program: &str, search_path: Option<&str>) -> Result<String> {
    let bad = |why: String| Error::invalid("alert program", why);
    if program.is_empty() || program.len() > MAX_ARG_BYTES || has_control(program) {
        return Err(bad(
            "give a program path of at most 4096 bytes, without control characters".into(),
        ));
    }
    let path = if program.contains('/') {
        std::path::absolute(program).map_err(|e| bad(format!("{program}: {e}")))?
    } else {
        search_path
            .unwrap_or(HOOK_PATH)
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(program))
            .find(|p| p.is_file())
            .ok_or_else(|| bad(format!("{program} was not found in PATH")))?
    };
    let shown = path.display().to_string();
    let meta = std::fs::metadata(&path).map_err(|_| bad(format!("{shown} does not exist")))?;
    if !meta.is_file() {
        return Err(bad(format!("{shown} is not a regular file")));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(bad(format!("{shown} is not executable")));
        }
    }
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| bad(format!("{shown} is not valid UTF-8")))
}

/// Checks a hook's arguments: at most [`MAX_ARGS`], each at most
/// [`MAX_ARG_BYTES`] and without control characters.
pub fn check_args(args: &[String]) -> Result<()> {
    if args.len() > MAX_ARGS {
        return Err(Error::invalid(
            "alert program arguments",
            format!("at most {MAX_ARGS}"),
        ));
    }
    if let Some(a) = args
        .iter()
        .find(|a| a.len() > MAX_ARG_BYTES || has_control(a))
    {
        return Err(Error::invalid(
            "alert program argument",
            format!(
                "{:?} is longer than 4096 bytes or holds a control character",
                a.chars().take(40).collect::<String>()
            ),
        ));
    }
    Ok(())
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// How a failed program ended, in words: `exited with status 2`, or
/// `was killed by signal 9` (not the standard library's "exit status: 2").
fn exit_words(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        (None, None) => format!("ended: {s}"),
    }
}

/// Why a hook run failed, one line.
fn one_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MESSAGE_CHARS)
        .collect();
    (!line.is_empty()).then_some(line)
}

/// Reads `r` to its end on a thread, keeping at most [`OUTPUT_LIMIT`]
/// bytes; the result arrives on the returned channel.
fn drain(r: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut r) = r {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                        kept.extend_from_slice(&buf[..n.min(room)]);
                    }
                }
            }
            let _ = tx.send(kept);
        });
    }
    rx
}

/// How one run of the hook ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// Exit 0.
    pub ok: bool,
    /// Why not, or what it wrote on stderr, one line.
    pub message: Option<String>,
}

/// Runs `hook` with `input` on its stdin, for at most `timeout`.
pub fn run_hook(hook: &Hook, input: &[u8], timeout: Duration) -> RunOutcome {
    let fail = |m: String| RunOutcome {
        ok: false,
        message: Some(m),
    };
    let mut cmd = Command::new(&hook.program);
    // A process group of its own: Ctrl-C, Ctrl-\ and a hang-up at the
    // console's terminal go to the terminal's foreground group, and must
    // never cut a delivery short (the event would stay queued with a
    // stale error, or a receiver be left half-written).
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.args(&hook.args)
        .env_clear()
        .env("PATH", HOOK_PATH)
        .env("LANG", "C")
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot run {}: {e}", hook.program)),
    };
    // The event goes in on its own thread, so a program that never reads
    // stdin cannot block us on a full pipe.
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(50);
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(5));
            }
            Err(e) => return fail(format!("cannot wait for {}: {e}", hook.program)),
        }
    };
    // A process the program started may still hold the pipes: wait for
    // their text only briefly.
    let grace = Duration::from_millis(100);
    let _ = out.recv_timeout(grace);
    let stderr = err.recv_timeout(grace).ok().and_then(|b| one_line(&b));
    match status {
        Some(s) if s.success() => RunOutcome {
            ok: true,
            message: stderr,
        },
        Some(s) => fail(format!(
            "{} {}{}",
            hook.program,
            exit_words(s),
            stderr.map(|e| format!(": {e}")).unwrap_or_default()
        )),
        None => fail(format!(
            "{} did not finish within {} ms and was killed{}",
            hook.program,
            timeout.as_millis(),
            stderr.map(|e| format!(": {e}")).unwrap_or_default()
        )),
    }
}

/// What one delivery run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Events delivered.
    pub delivered: u64,
    /// Events still queued.
    pub pending: u64,
    /// The failure that stopped delivery, if one did (also kept in the
    /// delivery state for `alerts status`).
    pub error: Option<String>,
    /// Whether the time budget ran out with events left.
    pub out_of_time: bool,
    /// Events queued while no hook is set (after `alerts clear`): they wait
    /// for the next hook.
    pub no_hook: bool,
}

/// Delivers queued events; holds no secret and no vault lock of its own,
/// so a console can run it on a worker thread (`Vault::courier`).
pub struct Courier {
    store: Store,
    vault_id: String,
    clock: Arc<dyn Clock>,
    timeout: Duration,
}

impl std::fmt::Debug for Courier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Courier({})", self.vault_id)
    }
}

impl Courier {
    pub(crate) fn new(store: Store, vault_id: String, clock: Arc<dyn Clock>) -> Self {
        Courier {
            store,
            vault_id,
            clock,
            timeout: HOOK_TIMEOUT,
        }
    }

    /// Delivers pending events in order for at most `budget` (each run of
    /// the program also at most [`HOOK_TIMEOUT`]); what is left stays
    /// queued. The store is flushed first, so no event is delivered for an
    /// entry that is not durable.
    pub fn deliver(&self, budget: Duration) -> Result<DeliveryReport> {
        let mut report = DeliveryReport::default();
        // Only events queued before the flush are durable after it: an
        // entry committed meanwhile (by another thread) waits for the next
        // run, so no event is ever delivered for an entry that could still
        // be lost.
        let Some((limit, _)) = self.store.last(Table::Alerts)? else {
            return Ok(report);
        };
        self.store.flush()?;
        let deadline = Instant::now() + budget;
        let current = current_hook(&self.store, &self.vault_id)?.ok().flatten();
        let mut old: HashMap<u64, Option<Hook>> = HashMap::new();
        let mut cursor: Vec<u8> = Vec::new();
        let mut dirty = false;
        loop {
            let Some(kv) = self.store.range_from(Table::Alerts, &cursor).next() else {
                break;
            };
            let (key, value) = kv?;
            if key > limit {
                break;
            }
            cursor = key.clone();
            cursor.push(0);
            let rec = QueuedEvent::decode(&value)?;
            let hook = match rec.hook {
                None => match &current {
                    Some(h) => h,
                    None => {
                        // Nothing to deliver to until a hook is set; the
                        // order forbids skipping ahead.
                        report.no_hook = true;
                        break;
                    }
                },
                Some(s) => match old
                    .entry(s)
                    .or_insert_with(|| hook_at(&self.store, &self.vault_id, s).ok().flatten())
                {
                    Some(h) => &*h,
                    // A replaced hook that no longer checks out is not
                    // run; its copy stays queued and shows in the status.
                    None => continue,
                },
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                report.out_of_time = true;
                break;
            }
            let mut line = rec.event.into_bytes();
            line.push(b'\n');
            let outcome = run_hook(hook, &line, self.timeout.min(left));
            let now = rfc3339(self.clock.now());
            let seq = key
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or_default();
            let mut state = delivery_state(&self.store)?;
            dirty = true;
            if outcome.ok {
                if rec.hook.is_none() {
                    state.last_delivered = Some(seq);
                    state.last_delivered_at = Some(now);
                }
                if outcome.message.is_some() {
                    state.last_stderr = outcome.message;
                }
                let bytes = state.encode()?;
                self.store.transact(|tx| {
                    tx.remove(Table::Alerts, &key)?;
                    tx.put(Table::Meta, META_STATE, &bytes)
                })?;
                report.delivered += 1;
            } else {
                let msg = outcome.message.unwrap_or_default();
                state.last_error = Some(format!("event {seq}: {msg}"));
                state.last_error_at = Some(now);
                state.last_error_seq = Some(seq);
                let bytes = state.encode()?;
                self.store
                    .transact(|tx| tx.put(Table::Meta, META_STATE, &bytes))?;
                let stop = rec.hook.is_none();
                if stop {
                    report.error = Some(format!("event {seq}: {msg}"));
                    break;
                }
            }
        }
        if dirty {
            self.store.flush()?;
        }
        report.pending = self.store.count(Table::Alerts)?;
        Ok(report)
    }
}

/// The oldest queued event, parsed.
pub fn oldest_pending(store: &Store) -> Result<Option<Value>> {
    match store.first(Table::Alerts)? {
        None => Ok(None),
        Some((_, v)) => {
            let rec = QueuedEvent::decode(&v)?;
            Ok(serde_json::from_str(&rec.event).ok())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_event_is_byte_exact() {
        let rec = QueuedEvent {
            event: "{\"v\":1}".into(),
            hook: Some(3),
        };
        let b = rec.encode().unwrap();
        assert_eq!(
            b,
            b"BGA\x01{\"event\":\"{\\\"v\\\":1}\",\"hook\":3}".to_vec()
        );
        assert_eq!(QueuedEvent::decode(&b).unwrap().hook, Some(3));
    }

    #[test]
    fn words_are_quoted_for_people() {
        let h = Hook {
            program: "/usr/bin/logger".into(),
            args: vec!["-t".into(), "break glass".into(), "it's".into()],
            set_by: "alice".into(),
            seq: 4,
        };
        assert_eq!(
            h.command_line(),
            "/usr/bin/logger -t 'break glass' 'it'\\''s'"
        );
    }

    #[test]
    fn stderr_becomes_one_bounded_line() {
        assert_eq!(one_line(b"a\nb\tc\x07\n"), Some("a b c".into()));
        assert_eq!(one_line(b"  \n"), None);
        assert_eq!(one_line(&[b'x'; 5000]).unwrap().len(), MESSAGE_CHARS);
    }
}
