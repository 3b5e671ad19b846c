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
            &["format 2", "format 5", "no migration", "old binary"],
        );
    }
}

/// What carol's own passphrase lets a disk writer do: open her record and
/// seal it again under weaker Argon2 settings of their choosing (with the
/// additional data the format states), so that her record authenticates
/// with settings below the vault's.
fn weaken_own_record(v: &TestVault, officer: &str, memory_mib: u32, iterations: u32) {
    use breakglass::crypto::{self, KdfParams};
    use breakglass::records::VaultConfig;
    let d = Disk::at(&v.path);
    let mut r = d.officer(officer);
    let cfg = VaultConfig::decode(&d.store.get(Table::Meta, b"config").unwrap().unwrap()).unwrap();
    let aad = |salt: &[u8], k: KdfParams| {
        crypto::aad(&[
            b"officer",
            cfg.vault_id.as_bytes(),
            officer.as_bytes(),
            &r.epoch.to_be_bytes(),
            salt,
            &k.memory_kib.to_be_bytes(),
            &k.iterations.to_be_bytes(),
            &k.parallelism.to_be_bytes(),
        ])
    };
    let pass = breakglass::Passphrase::new(passphrase_for(officer));
    let kek = crypto::derive_kek(&pass, &r.salt, r.kdf).unwrap();
    let plain = crypto::open(kek.expose_secret(), &r.sealed, &aad(&r.salt, r.kdf)).unwrap();
    let weak = KdfParams::new(memory_mib, iterations).unwrap();
    let salt: [u8; 16] = crypto::random_array();
    let weak_kek = crypto::derive_kek(&pass, &salt, weak).unwrap();
    r.sealed = crypto::seal(
        weak_kek.expose_secret(),
        plain.expose_secret(),
        &aad(&salt, weak),
    )
    .unwrap();
    r.salt = salt.to_vec();
    r.kdf = weak;
    d.put_officer(&r);
}

#[test]
fn officers_a_ceremony_adds_get_the_vaults_signed_settings_not_the_first_approvers() {
    // Each row: the ceremony, its new officer, then who approves.
    let rows: &[(&[&str], &str)] = &[
        (&["officer", "add", "dave"], "dave"),
        (&["rekey", "--add", "dave"], "dave"),
    ];
    for (args, new) in rows {
        let v = strong_vault();
        weaken_own_record(&v, "carol", 8, 1);
        // carol still authenticates, with her weakened record.
        expect_success(&drill(&v, "carol"), "carol's drill");
        let st = v.status();
        let vault_kdf = serde_json::json!({"memory_kib": 16384, "iterations": 2, "parallelism": 4});
        assert_eq!(st["kdf"], vault_kdf, "{st}");
        assert_eq!(st["officer_kdf"]["carol"]["memory_kib"], 8192, "{st}");
        let text = v.cmd().arg("status").output().unwrap();
        let text = String::from_utf8(text.stdout).unwrap();
        assert!(text.contains("16 MiB, 2 passes, 4 lanes"), "{text}");
        assert!(text.contains("carol: 8 MiB, 1 pass, 4 lanes"), "{text}");

        // carol approves first: the new officer must not inherit her
        // settings.
        let mut c = v.batch();
        c.args(*args)
            .args(["--officer", "carol", "--officer", "alice"]);
        let stdin = lines(&[
            &passphrase_for("carol"),
            &passphrase_for("alice"),
            &passphrase_for(new),
        ]);
        expect_success(&c.write_stdin(stdin).output().unwrap(), args[0]);
        let got = Disk::at(&v.path).officer(new).kdf;
        assert_eq!(
            (got.memory_kib, got.iterations, got.parallelism),
            (16 * 1024, 2, 4),
            "{args:?}: {new} got carol's stored settings"
        );
        assert_eq!(v.status()["officer_kdf"][*new], vault_kdf);
        let rekey = v.ledger().pop().unwrap();
        assert_eq!(rekey["kdf"], vault_kdf, "{rekey}");
        for a in rekey["approvals"].as_array().unwrap() {
            assert_eq!(a["statement"]["kdf"], vault_kdf, "{a}");
        }
        expect_success(&drill(&v, new), "the new officer's drill");
        v.cmd().args(["ledger", "verify"]).assert().success();
    }
}

#[test]
fn genesis_states_the_vaults_settings() {
    let v = strong_vault();
    let g = &v.ledger()[0];
    assert_eq!(
        g["kdf"],
        serde_json::json!({"memory_kib": 16384, "iterations": 2, "parallelism": 4})
    );
}
