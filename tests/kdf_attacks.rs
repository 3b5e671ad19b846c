//! Officers' Argon2 settings on a hostile disk (DESIGN I15, I21). Each test
//! edits the vault directory as someone who can write it, then drives the
//! real binary: stored parameters out of bounds are refused with one line
//! and logged, never allocated; changed parameters fail authentication
//! (they are bound into the sealed record's additional data); a vault of
//! an older format is refused with one line.

mod common;

use std::path::Path;

use breakglass::records::{OfficerRecord, Record, write_format};
use breakglass::store::{Store, Table};
use common::*;
use serde_json::Value;

/// Someone with write access to the vault directory.
struct Disk {
    store: Store,
}

impl Disk {
    fn at(path: &Path) -> Disk {
        Disk {
            store: Store::open(path).expect("open the vault's database"),
        }
    }

    fn officer(&self, name: &str) -> OfficerRecord {
        let b = self.store.get(Table::Officers, name.as_bytes()).unwrap();
        OfficerRecord::decode(&b.expect("officer record")).unwrap()
    }

    fn put_officer(&self, r: &OfficerRecord) {
        let bytes = r.encode().unwrap();
        self.store
            .transact(|tx| tx.put(Table::Officers, r.name.as_bytes(), &bytes))
            .unwrap();
        self.store.flush().unwrap();
    }

    fn put_meta(&self, key: &[u8], value: &[u8]) {
        self.store
            .transact(|tx| tx.put(Table::Meta, key, value))
            .unwrap();
        self.store.flush().unwrap();
    }
}

/// `drill --officer NAME` with the officer's right passphrase.
fn drill(v: &TestVault, officer: &str) -> std::process::Output {
    v.batch()
        .args(["drill", "--officer", officer])
        .write_stdin(lines(&[&passphrase_for(officer)]))
        .output()
        .unwrap()
}

/// The entries appended since `before` entries.
fn new_entries(v: &TestVault, before: usize) -> Vec<Value> {
    v.ledger()[before..].to_vec()
}

type Tamper = fn(&mut OfficerRecord);

/// Stored values a disk writer may put in bob's record, each a sentence:
/// the process must neither abort, hang nor allocate them, and the
/// attempt is logged like a wrong passphrase.
const OUT_OF_BOUNDS: &[(&str, Tamper)] = &[
    ("memory raised to 4 TiB", |r| r.kdf.memory_kib = u32::MAX),
    ("memory below the minimum", |r| r.kdf.memory_kib = 1024),
    ("iterations raised to 2^32-1", |r| {
        r.kdf.iterations = u32::MAX
    }),
    ("no iterations", |r| r.kdf.iterations = 0),
    ("no lanes", |r| r.kdf.parallelism = 0),
    ("a million lanes", |r| r.kdf.parallelism = 1 << 20),
    ("an empty salt", |r| r.salt.clear()),
    ("a 1 MiB salt", |r| r.salt = vec![7; 1 << 20]),
];

#[test]
fn stored_kdf_parameters_out_of_bounds_are_refused_logged_and_abandon_the_request() {
    for (what, tamper) in OUT_OF_BOUNDS {
        let v = TestVault::two_of_three();
        v.deposit_codes_ok("gh", "alice", &["CODE-ONE"]);
        {
            let d = Disk::at(&v.path);
            let mut r = d.officer("bob");
            tamper(&mut r);
            d.put_officer(&r);
        }
        let before = v.ledger().len();
        // alice approves first; bob's stored parameters are then refused.
        let out = v.release("gh", &["alice", "bob"]);
        let err = expect_error(&out, 1);
        assert_mentions(&err, &["bob", "Argon2", "logged"]);
        assert!(out.stdout.is_empty(), "{what}: something was printed");
        assert_eq!(v.remaining("gh"), 1, "{what}: an item was used");
        let added = new_entries(&v, before);
        let kinds: Vec<&str> = added.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["auth_failed", "cancelled"], "{what}: {added:?}");
        assert_eq!(added[0]["actor"], "bob", "{what}");
        assert_eq!(added[0]["action"], "release", "{what}");
        assert_eq!(added[1]["actor"], "alice", "{what}");
        assert_eq!(added[1]["approvals"], 1, "{what}");
        v.cmd().args(["ledger", "verify"]).assert().success();
    }
}

/// `init` with stronger settings than the suite's usual ones.
fn strong_vault() -> TestVault {
    let scratch = Scratch::new();
    let officers = ["alice", "bob", "carol"];
    let mut c = scratch.batch();
    c.args(["init", "--threshold", "2"]);
    for o in officers {
        c.args(["--officer", o]);
    }
    c.args(["--kdf-memory-mib", "16", "--kdf-iterations", "2"]);
    let stdin: Vec<String> = officers.iter().map(|o| passphrase_for(o)).collect();
    let stdin: Vec<&str> = stdin.iter().map(String::as_str).collect();
    expect_success(&c.write_stdin(lines(&stdin)).output().unwrap(), "init");
    let path = scratch.path.clone();
    TestVault {
        scratch,
        path,
        threshold: 2,
        officers: officers.iter().map(|o| o.to_string()).collect(),
    }
}

type Lower = fn(&mut OfficerRecord);

/// Values within bounds, but not the ones bob's record was sealed with.
const CHANGED: &[(&str, Lower)] = &[
    ("memory lowered to 8 MiB", |r| r.kdf.memory_kib = 8 * 1024),
    ("iterations lowered to 1", |r| r.kdf.iterations = 1),
    ("lanes lowered to 1", |r| r.kdf.parallelism = 1),
    ("everything lowered", |r| {
        r.kdf.memory_kib = 8 * 1024;
        r.kdf.iterations = 1;
        r.kdf.parallelism = 1;
    }),
];

#[test]
fn lowered_kdf_parameters_fail_authentication_and_are_logged() {
    for (what, lower) in CHANGED {
        let v = strong_vault();
        let before = v.ledger().len();
        {
            let d = Disk::at(&v.path);
            let mut r = d.officer("bob");
            lower(&mut r);
            d.put_officer(&r);
        }
        // The right passphrase does not open the record any more.
        for _ in 0..2 {
            let err = expect_error(&drill(&v, "bob"), 1);
            assert_mentions(&err, &["bob"]);
        }
        let added = new_entries(&v, before);
        let kinds: Vec<&str> = added.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["auth_failed", "auth_failed"], "{what}");
        assert!(added.iter().all(|e| e["actor"] == "bob"), "{what}");
    }
}

#[test]
fn a_format_2_vault_is_refused_with_one_line() {
    let v = TestVault::two_of_three();
    Disk::at(&v.path).put_meta(b"format", &write_format(2));
    for args in [
        &["status"][..],
        &["list", "--json"],
        &["ledger", "verify"],
        &["drill", "--officer", "alice"],
    ] {
        let out = v
            .batch()
            .args(args)
            .write_stdin(lines(&[&passphrase_for("alice")]))
            .output()
            .unwrap();
        let err = expect_error(&out, 1);
        assert_mentions(
            &err,
            &["format 2", "format 3", "no migration", "old binary"],
        );
    }
}
