//! Nothing unsigned steers (I15): each test performs one attack of issue
//! 16 on a real vault directory, as someone who can write it but knows no
//! passphrase, and sees it fail. The records attacked here were unsigned
//! markers in `meta` that decided whether a restored vault may release
//! (`meta/gap`, and `--replay` lifting the guard on its own word) and where
//! alerts go (`meta/alert_hook`). Both are now derived from signed ledger
//! entries, so writing the markers changes nothing.

mod common;

use std::path::{Path, PathBuf};

use breakglass::store::{Store, Table};
use common::*;
use serde_json::Value;

/// Writes `value` at `meta/key` in the vault's database, as a disk writer
/// would (no breakglass process may hold it).
fn poke_meta(vault: &Path, key: &[u8], value: &[u8]) {
    let store = Store::open(vault).expect("open the vault's database");
    store
        .transact(|tx| tx.put(Table::Meta, key, value))
        .unwrap();
    store.flush().unwrap();
}

/// A hook script that appends each event to `file`.
fn appender(dir: &Path, name: &str, file: &Path) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\ncat >> '{}'\n", file.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn set_hook(v: &TestVault, officer: &str, program: &Path) {
    let out = v
        .batch()
        .args(["alerts", "set", "--officer", officer, "--"])
        .arg(program)
        .write_stdin(format!("{}\n", passphrase_for(officer)))
        .output()
        .unwrap();
    expect_success(&out, "alerts set");
}

fn events(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("an event is one JSON line"))
        .collect()
}

fn export(v: &TestVault, name: &str) -> PathBuf {
    let dir = v.scratch.dir.path().join(name);
    let out = v
        .cmd()
        .args(["ledger", "export"])
        .arg(&dir)
        .output()
        .unwrap();
    expect_success(&out, "ledger export");
    dir
}

/// `restore BACKUP` into a new directory `to`, with `extra` arguments.
fn restore(v: &TestVault, backup: &Path, to: &str, extra: &[&Path]) -> (String, TestVault) {
    let dest = v.scratch.dir.path().join(to);
    let mut c = bin();
    c.arg("--vault").arg(&dest).arg("restore").arg(backup);
    for (i, a) in extra.iter().enumerate() {
        // Arguments come in pairs: a flag, then its path.
        if i % 2 == 0 {
            c.arg(a.as_os_str());
        } else {
            c.arg(a);
        }
    }
    let out = c.output().unwrap();
    expect_success(&out, "restore");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let r = TestVault {
        scratch: Scratch {
            dir: tempfile::tempdir().unwrap(),
            path: dest.clone(),
        },
        path: dest,
        threshold: v.threshold,
        officers: v.officers.clone(),
    };
    (text, r)
}

fn backup(v: &TestVault, name: &str) -> PathBuf {
    let dest = v.scratch.dir.path().join(name);
    let out = v.cmd().arg("backup").arg(&dest).output().unwrap();
    expect_success(&out, "backup");
    dest
}

/// Writes the last event the hook received to its own file: a checkpoint
/// collected off the machine.
fn last_event(file: &Path, to: &Path) -> PathBuf {
    let last = events(file).pop().expect("the hook received events");
    std::fs::write(to, serde_json::to_string(&last).unwrap()).unwrap();
    to.to_owned()
}

const CODES: [&str; 3] = ["CODE-ONE-111", "CODE-TWO-222", "CODE-THREE-333"];

#[test]
fn a_stale_replay_bundle_does_not_lift_the_restore_guard() {
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path().to_owned();
    let received = dir.join("received.jsonl");
    set_hook(&v, "alice", &appender(&dir, "hook", &received));
    v.deposit_codes_ok("gh", "alice", &CODES);
    let backup = backup(&v, "backup");
    let stale = export(&v, "stale");
    assert_eq!(v.release_ok("gh", &["alice", "bob"]).trim(), CODES[0]);
    let evidence = last_event(&received, &dir.join("last-event.json"));

    // The stale bundle alone: replayed, but nothing proves that nothing
    // happened after it, so the guard stays.
    let (text, r) = restore(&v, &backup, "from-stale", &[Path::new("--replay"), &stale]);
    let out = r.release("gh", &["bob", "carol"]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(CODES[0]),
        "the code shown before the restore was given out again"
    );
    assert_mentions(&expect_error(&out, 1), &["acknowledge-gap"]);
    assert_mentions(&text, &["acknowledge-gap", "signed as", "/restore-"]);
    let shown = r.cmd().args(["ledger", "show"]).output().unwrap();
    assert_mentions(
        &String::from_utf8_lossy(&shown.stdout),
        &["GAP until acknowledged", "now signs as"],
    );
    // `status` says so, as long as the gap waits.
    let status = r.cmd().arg("status").output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("GAP") && l.contains("acknowledge-gap")),
        "{status}"
    );

    // The stale bundle with the checkpoint the hook collected after the
    // release: the evidence says the bundle is stale.
    let (text, r) = restore(
        &v,
        &backup,
        "stale-with-evidence",
        &[
            Path::new("--replay"),
            &stale,
            Path::new("--checkpoint"),
            &evidence,
        ],
    );
    assert_mentions(&text, &["acknowledge-gap", "beyond"]);
    assert_mentions(
        &expect_error(&r.release("gh", &["bob", "carol"]), 1),
        &["acknowledge-gap"],
    );

    // A bundle that reaches the collected checkpoint lifts the guard, and
    // the restored vault gives out the next code, never the one shown.
    let fresh = export(&v, "fresh");
    let (text, r) = restore(
        &v,
        &backup,
        "from-fresh",
        &[
            Path::new("--replay"),
            &fresh,
            Path::new("--checkpoint"),
            &evidence,
        ],
    );
    assert_mentions(&text, &["replayed", "reaches"]);
    assert_eq!(r.release_ok("gh", &["bob", "carol"]).trim(), CODES[1]);
    let status = r.cmd().arg("status").output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(!status.contains("GAP"), "{status}");
    let restored: Vec<Value> = r
        .ledger()
        .into_iter()
        .filter(|e| e["kind"] == "restored")
        .collect();
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0]["gap"], false);
    assert!(restored[0]["evidence"].is_object(), "{}", restored[0]);
    r.cmd().args(["ledger", "verify"]).assert().success();
}

#[test]
fn deleting_the_gap_marker_does_not_lift_the_restore_guard() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &CODES);
    let backup = backup(&v, "backup");
    assert_eq!(v.release_ok("gh", &["alice", "bob"]).trim(), CODES[0]);
    let (_, r) = restore(&v, &backup, "restored", &[]);
    // What `acknowledge-gap` used to leave: an empty marker.
    poke_meta(&r.path, b"gap", &[]);
    let out = r.release("gh", &["bob", "carol"]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(CODES[0]),
        "the code shown before the backup's restore was given out again"
    );
    assert_mentions(&expect_error(&out, 1), &["acknowledge-gap"]);
}

/// The seq of every `alerts` entry, in order.
fn alerts_entries(v: &TestVault) -> Vec<u64> {
    v.ledger()
        .iter()
        .filter(|e| e["kind"] == "alerts")
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

/// The marker format of 0.2: the `alerts` entry's seq, then 1 when it set
/// a hook and 0 when it cleared it.
fn marker(seq: u64, set: bool) -> Vec<u8> {
    let mut m = seq.to_be_bytes().to_vec();
    m.push(u8::from(set));
    m
}

#[test]
fn flipping_the_alert_hook_marker_does_not_silence_alerts() {
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path().to_owned();
    let received = dir.join("received.jsonl");
    set_hook(&v, "alice", &appender(&dir, "hook", &received));
    let set = alerts_entries(&v)[0];
    poke_meta(&v.path, b"alert_hook", &marker(set, false));
    v.deposit_codes_ok("gh", "alice", &CODES);
    v.release_ok("gh", &["alice", "bob"]);
    let last = v.ledger().last().unwrap()["seq"].as_u64().unwrap();
    let got: Vec<u64> = events(&received)
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert!(
        got.contains(&last),
        "the entries after the flipped marker never reached the hook: {got:?}"
    );
    let out = v
        .cmd()
        .args(["alerts", "status", "--json"])
        .output()
        .unwrap();
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["hook"]["seq"], set, "{st}");
}

#[test]
fn pointing_the_marker_at_an_older_hook_does_not_redirect_alerts() {
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path().to_owned();
    let old_file = dir.join("old.jsonl");
    let new_file = dir.join("new.jsonl");
    set_hook(&v, "alice", &appender(&dir, "old-hook", &old_file));
    set_hook(&v, "bob", &appender(&dir, "new-hook", &new_file));
    let [old, new] = alerts_entries(&v)[..] else {
        panic!("two alerts entries");
    };
    let before_old = events(&old_file).len();
    poke_meta(&v.path, b"alert_hook", &marker(old, true));
    v.deposit_codes_ok("gh", "alice", &CODES);
    let last = v.ledger().last().unwrap()["seq"].as_u64().unwrap();
    assert_eq!(
        events(&old_file).len(),
        before_old,
        "the replaced hook received new events"
    );
    assert!(
        events(&new_file).iter().any(|e| e["seq"] == last),
        "the hook in force did not receive the deposit"
    );
    let out = v
        .cmd()
        .args(["alerts", "status", "--json"])
        .output()
        .unwrap();
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["hook"]["seq"], new, "{st}");
}
