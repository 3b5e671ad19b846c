//! The reference alert receiver (docs/recipes/alert-receiver.py) as the
//! real hook: a normal run is kept whole and every event's proof extends
//! the last one; a rollback to an older copy of the vault directory, and a
//! restore of an older backup, make it refuse the next event, say why, and
//! keep refusing; a tampered proof fed by hand is refused.
//!
//! Skips, saying so, when no `python3` the hook's `PATH=/usr/bin:/bin`
//! can run is installed.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use breakglass::ledger::merkle::{Hash, verify_consistency};
use common::*;
use serde_json::Value;

const RECEIVER: &str = include_str!("../docs/recipes/alert-receiver.py");

/// The system's python3, by absolute path: the hook runs without the
/// user's `PATH`.
fn python() -> Option<PathBuf> {
    let p = ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if p.is_none() {
        eprintln!("SKIPPED: no python3 in /usr/bin, /usr/local/bin or /bin");
    }
    p
}

/// The receiver script, written into `dir`.
fn receiver(dir: &Path) -> PathBuf {
    let p = dir.join("alert-receiver.py");
    std::fs::write(&p, RECEIVER).unwrap();
    p
}

/// Sets the hook to the receiver keeping `log`.
fn set_receiver(v: &TestVault, python: &Path, script: &Path, log: &Path) {
    let out = v
        .batch()
        .args(["alerts", "set", "--officer", "alice", "--"])
        .arg(python)
        .arg(script)
        .arg(log)
        .write_stdin(format!("{}\n", passphrase_for("alice")))
        .output()
        .unwrap();
    expect_success(&out, "alerts set");
}

/// Runs the receiver by hand on `line` (a newline is added).
fn feed(python: &Path, script: &Path, log: &Path, line: &str) -> std::process::Output {
    let mut child = Command::new(python)
        .arg(script)
        .arg(log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{line}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Asserts the receiver's exit code and its one line on stderr; returns it.
fn refused(out: &std::process::Output, code: i32) -> String {
    assert_eq!(out.status.code(), Some(code), "{}", describe(out));
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    let line = err.strip_suffix('\n').unwrap_or(&err);
    assert!(
        line.starts_with("breakglass alert receiver: ") && !line.contains('\n'),
        "{}",
        describe(out)
    );
    line.to_string()
}

fn kept_lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn kept(log: &Path) -> Vec<Value> {
    kept_lines(log)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn alert_status(v: &TestVault) -> Value {
    let out = v
        .cmd()
        .args(["alerts", "status", "--json"])
        .output()
        .unwrap();
    expect_success(&out, "alerts status --json");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn alarm_file(log: &Path) -> PathBuf {
    let mut p = log.as_os_str().to_owned();
    p.push(".alarm");
    PathBuf::from(p)
}

fn root_of(event: &Value) -> Hash {
    let cp = event["checkpoint"].as_str().unwrap();
    let b = STANDARD.decode(cp.lines().nth(2).unwrap()).unwrap();
    b.try_into().unwrap()
}

fn proof_of(event: &Value) -> Vec<Hash> {
    event["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

/// Checks, in Rust, that every kept event after the first proves it
/// extends the one before it.
fn assert_chain(events: &[Value]) {
    for w in events.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let old = a["seq"].as_u64().unwrap() + 1;
        assert_eq!(b["old_size"].as_u64(), Some(old), "{b}");
        let new = b["seq"].as_u64().unwrap() + 1;
        assert!(
            verify_consistency(old, new, &root_of(a), &root_of(b), &proof_of(b)),
            "event {} does not extend event {}",
            b["seq"],
            a["seq"]
        );
    }
}

/// The error kept for `alerts status`, which holds the receiver's line.
fn last_error(v: &TestVault) -> String {
    alert_status(v)["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_normal_run_is_kept_whole_and_every_step_is_proven() {
    let Some(py) = python() else { return };
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path();
    let script = receiver(dir);
    let log = dir.join("alerts.jsonl");
    set_receiver(&v, &py, &script, &log);
    v.deposit_codes_ok("gh", "bob", &["C0DE-1", "C0DE-2"]);
    v.release_ok("gh", &["alice", "bob"]);
    // A clear, some entries alerted to no one, and the same receiver set
    // again: the set's proof starts at the clear's checkpoint.
    let out = v
        .batch()
        .args(["alerts", "clear", "--officer", "carol"])
        .write_stdin(format!("{}\n", passphrase_for("carol")))
        .output()
        .unwrap();
    expect_success(&out, "alerts clear");
    let cleared_at = v.ledger().len() as u64 - 1;
    v.deposit_codes_ok("db", "carol", &["C0DE-3"]);
    set_receiver(&v, &py, &script, &log);
    v.release_ok("gh", &["bob", "carol"]);

    let events = kept(&log);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let n = v.ledger().len() as u64;
    let want: Vec<u64> = (1..=cleared_at).chain(cleared_at + 2..n).collect();
    assert_eq!(seqs, want, "every alerted entry, once, in order");
    assert_chain(&events);
    let set_again = &events[cleared_at as usize];
    assert_eq!(set_again["old_size"].as_u64(), Some(cleared_at + 1));
    assert!(!alarm_file(&log).exists());
    let st = alert_status(&v);
    assert_eq!(st["pending"], 0, "{st}");
    assert!(st["last_error"].is_null(), "{st}");

    // A redelivery of the same bytes is nothing new.
    let last = kept_lines(&log).pop().unwrap();
    let out = feed(&py, &script, &log, &last);
    expect_success(&out, "a byte-identical redelivery");
    assert_eq!(kept(&log).len(), events.len());
    // The witness request: old size, proof lines, blank line, the note.
    let out = Command::new(&py)
        .arg(&script)
        .arg("--witness-request")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("{last}\n").as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    expect_success(&out, "--witness-request");
    let e: Value = serde_json::from_str(&last).unwrap();
    let mut want = format!("old {}\n", e["old_size"]);
    for h in e["proof"].as_array().unwrap() {
        want.push_str(h.as_str().unwrap());
        want.push('\n');
    }
    want.push('\n');
    want.push_str(e["note"].as_str().unwrap());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
}

#[test]
fn a_rollback_to_an_older_copy_of_the_directory_raises_an_alarm_that_stays() {
    let Some(py) = python() else { return };
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path();
    let script = receiver(dir);
    let log = dir.join("alerts.jsonl");
    set_receiver(&v, &py, &script, &log);
    v.deposit_codes_ok("gh", "bob", &["C0DE-1", "C0DE-2"]);
    let old = dir.join("old-copy");
    let hidden_from = v.ledger().len();
    copy_dir(&v.path, &old);
    v.release_ok("gh", &["alice", "bob"]);
    let before = kept(&log);
    assert_chain(&before);

    // The release is hidden: the older copy is put back, and the vault
    // makes another entry under a seq the receiver already kept.
    std::fs::remove_dir_all(&v.path).unwrap();
    copy_dir(&old, &v.path);
    v.deposit_codes_ok("db", "carol", &["C0DE-3"]);
    let err = last_error(&v);
    assert_mentions(
        &err,
        &[
            "ALARM",
            &format!("entry {hidden_from}"),
            "arrived again with different content",
            "rolled back",
        ],
    );
    assert_eq!(kept(&log), before, "nothing of the fork is kept");
    let alarm = std::fs::read_to_string(alarm_file(&log)).unwrap();
    assert!(
        alarm.contains("arrived again with different content"),
        "{alarm}"
    );
    assert!(alert_status(&v)["pending"].as_u64().unwrap() >= 1);

    // The alarm stays: the next entries are refused too.
    let out = v.cmd().args(["alerts", "retry"]).output().unwrap();
    assert_mentions(&expect_error(&out, 1), &["ALARM: raised earlier", "entry"]);
    assert_mentions(
        &last_error(&v),
        &[
            "ALARM: raised earlier",
            "arrived again with different content",
        ],
    );
    assert_eq!(kept(&log), before);

    // What the receiver kept proves the rollback to an auditor.
    let kept_event = dir.join("kept.json");
    std::fs::write(&kept_event, kept_lines(&log).pop().unwrap()).unwrap();
    let out = v
        .cmd()
        .args(["ledger", "verify", "--checkpoint"])
        .arg(&kept_event)
        .output()
        .unwrap();
    assert_mentions(&expect_error(&out, 3), &["rolled back"]);
}

#[test]
fn a_restore_of_an_older_backup_is_caught_the_same_way() {
    let Some(py) = python() else { return };
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path();
    let script = receiver(dir);
    let log = dir.join("alerts.jsonl");
    set_receiver(&v, &py, &script, &log);
    v.deposit_codes_ok("gh", "bob", &["C0DE-1", "C0DE-2"]);
    let backup = dir.join("backup");
    expect_success(
        &v.cmd().arg("backup").arg(&backup).output().unwrap(),
        "backup",
    );
    v.release_ok("gh", &["alice", "bob"]);
    let before = kept(&log);
    assert_chain(&before);

    // The disk "dies"; the older backup is restored without replay, and
    // the restored vault writes on under seq numbers already kept.
    let dest = dir.join("restored");
    let out = bin()
        .arg("--vault")
        .arg(&dest)
        .arg("restore")
        .arg(&backup)
        .output()
        .unwrap();
    expect_success(&out, "restore");
    let r = TestVault {
        scratch: Scratch {
            dir: tempfile::tempdir().unwrap(),
            path: dest.clone(),
        },
        path: dest,
        threshold: v.threshold,
        officers: v.officers.clone(),
    };
    let _ = r.deposit_codes("db", "carol", &["C0DE-3"]);
    let err = last_error(&r);
    // The restore left a gap, so the restored ledger signs under a new
    // origin (docs/LEDGER.md §5.1): the receiver says so first.
    assert_mentions(&err, &["ALARM", "the ledger now signs as", "restore-"]);
    assert_eq!(
        kept(&log),
        before,
        "nothing of the restored history is kept"
    );
    assert!(alarm_file(&log).exists());
    assert!(alert_status(&r)["pending"].as_u64().unwrap() >= 1);
}

#[test]
fn a_tampered_proof_or_a_missing_event_fed_by_hand_is_refused() {
    let Some(py) = python() else { return };
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path();
    let script = receiver(dir);
    let log = dir.join("alerts.jsonl");
    set_receiver(&v, &py, &script, &log);
    v.deposit_codes_ok("gh", "bob", &["C0DE-1", "C0DE-2"]);
    v.release_ok("gh", &["alice", "bob"]);
    let lines = kept_lines(&log);
    assert!(lines.len() >= 4, "{lines:?}");
    let first = &lines[0];
    let second: Value = serde_json::from_str(&lines[1]).unwrap();

    // One hash of the proof changed: the checkpoint no longer provably
    // extends the kept one.
    let mut bad = second.clone();
    let h = bad["proof"][0].as_str().unwrap().to_string();
    let mut b = STANDARD.decode(&h).unwrap();
    b[0] ^= 1;
    bad["proof"][0] = Value::from(STANDARD.encode(&b));
    let hand = dir.join("by-hand.jsonl");
    expect_success(&feed(&py, &script, &hand, first), "the first event");
    let out = feed(&py, &script, &hand, &bad.to_string());
    let line = refused(&out, 1);
    assert_mentions(
        &line,
        &["ALARM", "does not extend the last kept checkpoint"],
    );
    assert_eq!(kept_lines(&hand), std::slice::from_ref(first));
    // The untampered event is refused too now: the alarm stays.
    let line = refused(&feed(&py, &script, &hand, &lines[1]), 1);
    assert_mentions(&line, &["ALARM: raised earlier", "does not extend"]);
    let alarm = std::fs::read_to_string(alarm_file(&hand)).unwrap();
    assert!(
        alarm.contains(&lines[1]),
        "refused events are kept as evidence"
    );

    // A missing event: nothing proves the next one extends the log.
    let gap = dir.join("gap.jsonl");
    expect_success(&feed(&py, &script, &gap, first), "the first event");
    let line = refused(&feed(&py, &script, &gap, &lines[2]), 1);
    assert_mentions(&line, &["ALARM", "nothing proves it extends", "withheld"]);

    // Not an event: refused, nothing kept, no alarm.
    let junk = dir.join("junk.jsonl");
    let line = refused(&feed(&py, &script, &junk, "{\"v\":2}"), 2);
    assert_mentions(&line, &["refused", "format version 4"]);
    assert!(!junk.exists() && !alarm_file(&junk).exists());
}
