//! Alerts statements are bound to their place (issue 17, point 4;
//! docs/LEDGER.md §3.5): an officer's signed `alerts set` statement copied
//! into a new entry after another officer's `alerts clear`, and re-signed
//! with the ledger key taken from the vault directory, is refused by both
//! verifiers, naming the entry; a statement whose time is not its entry's
//! is refused too; and the vault does not run a hook whose statement does
//! not bind to its entry.
//!
//! The verifier cases skip, saying so, without `python3` or its
//! `cryptography` package.

mod common;

use common::verifiers::*;

use std::path::{Path, PathBuf};

use breakglass::crypto::KdfParams;
use breakglass::ledger;
use breakglass::ledger::canonical;
use breakglass::pgp::SecretKey;
use breakglass::records::{LedgerKeyRecord, Record};
use breakglass::store::Table;
use breakglass::vault::{InitOptions, NewOfficer};
use breakglass::{Passphrase, Vault, audit};
use serde_json::Value;

const OFFICERS: [(&str, &str); 3] = [
    ("alice", "alice-pass-1"),
    ("bob", "bob-pass-22"),
    ("carol", "carol-pass-333"),
];

const REPLAYED: &str = "replayed approval: the signed alerts statement was made for another place in the ledger: its size, previous or time is not this entry's";

/// Runs the real binary in batch mode on `vault` with `officer`'s
/// passphrase on stdin.
fn cli(vault: &Path, args: &[&str], officer: &str) {
    let pass = OFFICERS.iter().find(|(n, _)| *n == officer).unwrap().1;
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_breakglass"))
        .env_remove("BREAKGLASS_VAULT")
        .arg("--batch")
        .arg("--vault")
        .arg(vault)
        .args(args)
        .write_stdin(format!("{pass}\n"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    vault: PathBuf,
    ledger_key: SecretKey,
    vault_id: String,
    /// The hook alice set: it appends its stdin to `marker`.
    marker: PathBuf,
}

/// A vault where alice set a hook and bob, a second later, cleared it.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let vault = root.join("vault");
    let opts = InitOptions {
        threshold: 2,
        officers: OFFICERS
            .iter()
            .map(|(n, p)| NewOfficer {
                name: n.to_string(),
                passphrase: Passphrase::new(p.to_string()),
            })
            .collect(),
        kdf: KdfParams::new(8, 1).unwrap(),
    };
    let v = Vault::init(&vault, opts).unwrap();
    let rec = LedgerKeyRecord::decode(&v.store().get(Table::Meta, b"ledger_key").unwrap().unwrap())
        .unwrap();
    let ledger_key = SecretKey::from_bytes(&rec.tsk).unwrap();
    let vault_id = v.id().to_string();
    drop(v);
    let marker = root.join("hook-ran");
    let hook = root.join("hook");
    std::fs::write(&hook, format!("#!/bin/sh\ncat >> '{}'\n", marker.display())).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let hook = hook.to_str().unwrap().to_string();
    cli(
        &vault,
        &["alerts", "set", "--officer", "alice", "--", &hook],
        "alice",
    );
    // A second apart, so the clear's time is not the set's.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    cli(&vault, &["alerts", "clear", "--officer", "bob"], "bob");
    Fixture {
        _dir: dir,
        root,
        vault,
        ledger_key,
        vault_id,
        marker,
    }
}

fn export(f: &Fixture, name: &str) -> PathBuf {
    let bundle = f.root.join(name);
    let v = Vault::open(&f.vault).unwrap();
    audit::export(v.store(), &v.ledger_cert(), &bundle).unwrap();
    bundle
}

/// Alice's `alerts set` entry, copied as a new entry after the clear:
/// her statement and signature untouched, the entry's own fields those
/// of its new place.
fn replayed_set(l: &[Vec<u8>]) -> Vec<u8> {
    let set = index_of(l, "alerts", 0);
    let clear = index_of(l, "alerts", 1);
    assert_eq!(entry(l, clear)["action"], "clear");
    let last = entry(l, l.len() - 1);
    let mut m = entry(l, set);
    m.insert("seq".into(), Value::from(l.len()));
    m.insert("hook".into(), Value::from(clear));
    m.insert("time".into(), last["time"].clone());
    canonical::to_vec(&Value::Object(m)).unwrap()
}

#[test]
fn an_old_set_statement_copied_after_a_clear_is_refused_by_both_verifiers() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let bundle = export(&f, "bundle");
    assert_both_pass(&bundle, &[]);
    let mut l = lines(&bundle);
    let forged = replayed_set(&l);
    let n = l.len();
    l.push(forged);
    write_and_resign(&bundle, &l, &f.ledger_key, &f.vault_id);
    assert_both_fail(&bundle, &[], &format!("entry {n}: {REPLAYED}"));
}

#[test]
fn a_statement_whose_time_is_not_its_entrys_is_refused_by_both_verifiers() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let bundle = export(&f, "bundle");
    let mut l = lines(&bundle);
    let set = index_of(&l, "alerts", 0);
    let clear = index_of(&l, "alerts", 1);
    let mut m = entry(&l, set);
    let later = entry(&l, clear)["time"].clone();
    assert_ne!(m["time"], later, "the fixture's entries are a second apart");
    // Re-dated to the clear's time (times still never go back).
    m.insert("time".into(), later);
    l[set] = canonical::to_vec(&Value::Object(m)).unwrap();
    write_and_resign(&bundle, &l, &f.ledger_key, &f.vault_id);
    assert_both_fail(&bundle, &[], &format!("entry {set}: {REPLAYED}"));
}

#[test]
fn the_vault_does_not_run_a_hook_whose_statement_is_bound_elsewhere() {
    let f = fixture();
    let ran = || std::fs::read_to_string(&f.marker).unwrap_or_default();
    let before = ran();
    assert!(!before.is_empty(), "the hook ran for its own entry");
    // The replayed entry is appended to the vault directory itself, with
    // its Merkle nodes and a checkpoint signed by the ledger key.
    let bundle = export(&f, "bundle");
    let forged = replayed_set(&lines(&bundle));
    {
        let v = Vault::open(&f.vault).unwrap();
        v.store()
            .transact(|tx| ledger::append_existing(tx, &forged, &f.vault_id, &f.ledger_key))
            .unwrap();
        v.store().flush().unwrap();
    }
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_breakglass"))
        .env_remove("BREAKGLASS_VAULT")
        .arg("--vault")
        .arg(&f.vault)
        .args(["alerts", "status", "--json"])
        .output()
        .unwrap();
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(st["hook"].is_null(), "{st}");
    let problem = st["hook_problem"].as_str().unwrap_or_default();
    assert!(
        problem.contains("signed for another place in the ledger"),
        "{st}"
    );
    // Entries after it are queued for the hook it names, but never run.
    cli(&f.vault, &["drill", "--officer", "carol"], "carol");
    let _ = assert_cmd::Command::new(env!("CARGO_BIN_EXE_breakglass"))
        .env_remove("BREAKGLASS_VAULT")
        .arg("--vault")
        .arg(&f.vault)
        .args(["alerts", "retry"])
        .output()
        .unwrap();
    assert_eq!(ran(), before, "the replayed hook ran");
}
