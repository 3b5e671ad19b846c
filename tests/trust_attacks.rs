//! The disk is not trusted (I15). Each test performs one attack of the
//! trust issue on a real vault directory, as someone who can write it (and
//! so holds the ledger key) but knows no passphrase, then drives the real
//! binary and sees the attack fail: the vault locks, or `ledger verify`
//! exits 3, with a message that names what happened.

mod common;

use std::path::Path;

use breakglass::SecretValue;
use breakglass::item;
use breakglass::ledger;
use breakglass::ledger::canonical;
use breakglass::ledger::merkle::{self, Hash};
use breakglass::pgp::{PublicCert, SecretKey};
use breakglass::records::{
    CheckpointRecord, ItemRecord, ItemState, LedgerKeyRecord, Record, SecretKind, SecretRecord,
    VaultConfig,
};
use breakglass::store::{Store, Table};
use common::*;
use serde_json::{Map, Value};

/// Someone with write access to the vault directory and nothing else.
struct Attacker {
    store: Store,
}

impl Attacker {
    /// Opens the vault directory's database directly (no breakglass
    /// process may hold it).
    fn at(path: &Path) -> Attacker {
        Attacker {
            store: Store::open(path).expect("open the vault's database"),
        }
    }

    fn get<R: Record>(&self, t: Table, key: &[u8]) -> R {
        R::decode(&self.store.get(t, key).unwrap().expect("record present")).unwrap()
    }

    fn put<R: Record>(&self, t: Table, key: &[u8], r: &R) {
        let bytes = r.encode().unwrap();
        self.store.transact(|tx| tx.put(t, key, &bytes)).unwrap();
        self.store.flush().unwrap();
    }

    fn config(&self) -> VaultConfig {
        self.get(Table::Meta, b"config")
    }

    fn ledger_key(&self) -> SecretKey {
        let rec: LedgerKeyRecord = self.get(Table::Meta, b"ledger_key");
        SecretKey::from_bytes(&rec.tsk).unwrap()
    }

    fn entries(&self) -> Vec<Map<String, Value>> {
        ledger::entries_from(&self.store, 0)
            .map(|e| ledger::parse_entry(&e.unwrap().1).unwrap())
            .collect()
    }

    /// Edits the ledger entries with `f`, then writes them back with a
    /// rebuilt Merkle tree and every checkpoint re-signed by the on-disk
    /// ledger key: a rewrite nothing on the machine can tell apart.
    fn rewrite_ledger(&self, f: impl FnOnce(&mut Vec<Map<String, Value>>)) {
        let mut entries = self.entries();
        f(&mut entries);
        let key = self.ledger_key();
        let id = self.config().vault_id;
        let bytes: Vec<Vec<u8>> = entries
            .iter()
            .map(|m| canonical::to_vec(&Value::Object(m.clone())).unwrap())
            .collect();
        let leaves: Vec<Hash> = bytes.iter().map(|b| merkle::leaf_hash(b)).collect();
        let checkpoints: Vec<CheckpointRecord> = (1..=leaves.len())
            .map(|size| {
                let body = ledger::checkpoint_body(
                    &id,
                    size as u64,
                    &merkle::root_of_leaves(&leaves[..size]),
                );
                CheckpointRecord {
                    signature: key.sign_detached(body.as_bytes(), 1_800_000_000).unwrap(),
                    body,
                }
            })
            .collect();
        // The stored subtrees the vault appends from (level ‖ index →
        // hash), rebuilt from the new leaves.
        let mut nodes = Vec::new();
        let mut level = leaves.clone();
        let mut l = 0u8;
        while !level.is_empty() {
            for (i, h) in level.iter().enumerate() {
                let mut k = vec![l];
                k.extend_from_slice(&(i as u64).to_be_bytes());
                nodes.push((k, *h));
            }
            level = level
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| merkle::node_hash(&c[0], &c[1]))
                .collect();
            l += 1;
        }
        self.store
            .transact(|tx| {
                for (seq, b) in bytes.iter().enumerate() {
                    tx.put(Table::Ledger, &(seq as u64).to_be_bytes(), b)?;
                }
                for (i, cp) in checkpoints.iter().enumerate() {
                    tx.put(
                        Table::Checkpoints,
                        &(i as u64 + 1).to_be_bytes(),
                        &cp.encode()?,
                    )?;
                }
                for (k, h) in &nodes {
                    tx.put(Table::Merkle, k, h)?;
                }
                Ok(())
            })
            .unwrap();
        self.store.flush().unwrap();
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        let _ = self.store.flush();
    }
}

fn release_stdout_and_err(v: &TestVault, officers: &[&str]) -> (Option<i32>, String, String) {
    let out = v.release("gh", officers);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn verify_pinned(v: &TestVault, pin: &str) -> std::process::Output {
    v.cmd()
        .args(["ledger", "verify", "--pin", pin])
        .output()
        .unwrap()
}

fn fingerprint(v: &TestVault) -> String {
    v.status()["fingerprint"].as_str().unwrap().to_owned()
}

/// A vault whose `gh` holds `codes`, deposited by alice.
fn vault_with(codes: &[&str]) -> TestVault {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", codes);
    v
}

#[test]
fn deposit_capture_through_config_and_genesis_is_refused_and_locks() {
    // Before the first deposit, so the rewritten ledger holds no statement
    // that names the real key.
    let v = TestVault::two_of_three();
    let pin = fingerprint(&v);
    let mallory = SecretKey::generate_encryption("mallory").unwrap();
    {
        let a = Attacker::at(&v.path);
        let mut cfg = a.config();
        cfg.vault_key_cert = mallory.public().to_bytes().unwrap();
        cfg.vault_key_fingerprint = mallory.fingerprint();
        a.put(Table::Meta, b"config", &cfg);
        a.rewrite_ledger(|e| {
            e[0].insert(
                "vault_key_cert".into(),
                mallory.public().armored().unwrap().into(),
            );
            e[0].insert("vault_key_fingerprint".into(), mallory.fingerprint().into());
        });
    }
    // The rewrite is self-consistent: an unpinned verify cannot tell.
    v.cmd().args(["ledger", "verify"]).assert().success();
    let before = v.list_raw();

    let out = v.deposit_codes("gh", "bob", &["SECRET-NEW-CODE"]);
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["locked", "vault encryption key"]);
    assert_eq!(v.list_raw(), before, "nothing was deposited");
    let kinds = v.ledger_kinds();
    assert!(!kinds.contains(&"deposit".to_string()), "{kinds:?}");
    let st = v.status();
    assert!(
        st["locked"]
            .as_str()
            .is_some_and(|l| l.contains("vault encryption key")),
        "{st}"
    );
    let text = v.cmd().arg("status").output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("LOCKED"));
    // The lock is in the ledger, and stays: a release is refused too.
    assert_eq!(v.ledger_kinds().last().unwrap(), "locked");
    let out = v.deposit_codes("gh", "alice", &["SECRET-NEW-CODE"]);
    assert_mentions(&expect_error(&out, 1), &["locked"]);
    // The auditor's pin catches the rewritten genesis.
    let out = verify_pinned(&v, &pin);
    let err = expect_error(&out, 3);
    assert_mentions(&err, &["entry 0", "vault fingerprint mismatch"]);
}

#[test]
fn a_swapped_key_in_the_config_alone_locks_on_the_next_deposit() {
    let v = vault_with(&["C0DE-0001"]);
    let mallory = SecretKey::generate_encryption("mallory").unwrap();
    {
        let a = Attacker::at(&v.path);
        let mut cfg = a.config();
        cfg.vault_key_cert = mallory.public().to_bytes().unwrap();
        cfg.vault_key_fingerprint = mallory.fingerprint();
        a.put(Table::Meta, b"config", &cfg);
    }
    let out = v.deposit_codes("gh", "carol", &["SECRET-NEW-CODE"]);
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["locked", "stored configuration"]);
    assert_eq!(v.remaining("gh"), 1);
}

#[test]
fn a_swapped_officer_certificate_locks_when_that_officer_authenticates() {
    let v = vault_with(&["C0DE-0001"]);
    {
        let a = Attacker::at(&v.path);
        // Mallory's certificate under carol's name, in the officer record.
        let mallory = SecretKey::generate_signing("mallory").unwrap();
        let mut carol: breakglass::records::OfficerRecord = a.get(Table::Officers, b"carol");
        carol.cert = mallory.public().to_bytes().unwrap();
        a.put(Table::Officers, b"carol", &carol);
    }
    let out = v
        .batch()
        .args(["drill", "--officer", "alice"])
        .write_stdin(lines(&[&passphrase_for("alice")]))
        .output()
        .unwrap();
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["locked", "officer set"]);
}

#[test]
fn item_substitution_is_refused_before_decryption_and_names_the_item() {
    let v = vault_with(&["REAL-CODE-1", "REAL-CODE-2"]);
    {
        let a = Attacker::at(&v.path);
        let cert = PublicCert::from_bytes(&a.config().vault_key_cert).unwrap();
        let evil = item::write(
            "gh",
            0,
            SecretKind::Codes,
            &SecretValue::new("EVIL-PHISH".into()),
        );
        let mut rec: ItemRecord = a.get(Table::Items, b"gh\0\0\0\0\0");
        rec.ciphertext = cert.encrypt(evil.expose_secret()).unwrap();
        a.put(Table::Items, b"gh\0\0\0\0\0", &rec);
    }
    let (code, stdout, err) = release_stdout_and_err(&v, &["alice", "bob"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(!stdout.contains("EVIL"), "the forged item was shown");
    assert!(stdout.is_empty());
    assert!(
        err.contains("locked") && err.contains("gh #1") && err.contains("depositor signed"),
        "{err}"
    );
    assert!(!v.ledger_kinds().contains(&"release".to_string()));
}

#[test]
fn a_consumed_item_reset_to_available_is_caught_and_named() {
    let v = vault_with(&["ONCE-ONLY-1", "ONCE-ONLY-2"]);
    assert_eq!(v.release_ok("gh", &["alice", "bob"]).trim(), "ONCE-ONLY-1");
    {
        let a = Attacker::at(&v.path);
        let mut rec: ItemRecord = a.get(Table::Items, b"gh\0\0\0\0\0");
        rec.state = ItemState::Available;
        a.put(Table::Items, b"gh\0\0\0\0\0", &rec);
    }
    let (code, stdout, err) = release_stdout_and_err(&v, &["alice", "bob"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(stdout.is_empty(), "a code was shown: {stdout}");
    assert_mentions(
        &err,
        &[
            "locked",
            "gh #1",
            "never released",
            "blocks every release of gh",
        ],
    );
    assert_eq!(
        v.status()["locked"].as_str().map(|l| l.contains("gh #1")),
        Some(true)
    );
}

#[test]
fn a_removed_minimum_of_approvals_still_needs_three() {
    let v = TestVault::two_of_three();
    let out = v
        .batch()
        .args([
            "deposit",
            "gh",
            "--officer",
            "alice",
            "--min-approvals",
            "3",
        ])
        .write_stdin(format!("{}\nTHREE-NEEDED\n", passphrase_for("alice")))
        .output()
        .unwrap();
    expect_success(&out, "deposit");
    {
        let a = Attacker::at(&v.path);
        let mut rec: SecretRecord = a.get(Table::Secrets, b"gh");
        rec.min_approvals = None;
        a.put(Table::Secrets, b"gh", &rec);
        // The entry's copy too (not the signed statement, which the
        // attacker cannot re-sign), re-signed with the ledger key.
        a.rewrite_ledger(|e| {
            let d = e.iter_mut().find(|m| m["kind"] == "deposit").unwrap();
            d.insert("min_approvals".into(), Value::Null);
        });
    }
    let (code, stdout, err) = release_stdout_and_err(&v, &["alice", "bob"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(stdout.is_empty(), "released with two approvals: {stdout}");
    assert_mentions(&err, &["locked", "minimum approvals"]);
}

#[test]
fn an_export_never_writes_outside_its_directory() {
    let v = vault_with(&["C0DE-0001"]);
    {
        let a = Attacker::at(&v.path);
        a.rewrite_ledger(|e| {
            let officers = e[0]["officers"].as_array().unwrap().clone();
            let mut o = officers.clone();
            o[2]["name"] = "../../escaped".into();
            e[0].insert("officers".into(), Value::Array(o));
        });
    }
    let out_dir = v.scratch.dir.path().join("a/b/bundle");
    let out = v
        .cmd()
        .args(["ledger", "export"])
        .arg(&out_dir)
        .output()
        .unwrap();
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["not a valid name"]);
    let written: Vec<_> = files_under(v.scratch.dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("escaped"))
        .collect();
    assert!(written.is_empty(), "{written:?}");
    // And the verifier names the bad officer in genesis.
    let out = v.cmd().args(["ledger", "verify"]).output().unwrap();
    let err = expect_error(&out, 3);
    assert_mentions(&err, &["entry 0", "not a valid officer name"]);
}

#[test]
fn an_officer_file_swapped_in_the_bundle_fails_verification() {
    let v = vault_with(&["C0DE-0001"]);
    v.release_ok("gh", &["alice", "bob"]);
    let bundle = v.scratch.dir.path().join("bundle");
    v.cmd()
        .args(["ledger", "export"])
        .arg(&bundle)
        .assert()
        .success();
    let verify = |extra: &[&str]| {
        v.cmd()
            .args(["ledger", "verify", "--bundle"])
            .arg(&bundle)
            .args(extra)
            .output()
            .unwrap()
    };
    expect_success(&verify(&[]), "verify of the untouched bundle");
    let mallory = SecretKey::generate_signing("bob (breakglass officer)").unwrap();
    std::fs::write(
        bundle.join("officers/bob.asc"),
        mallory.public().armored().unwrap(),
    )
    .unwrap();
    let err = expect_error(&verify(&[]), 3);
    assert_mentions(
        &err,
        &[
            "officers/bob.asc",
            "not the certificate the ledger enrolled",
        ],
    );
    // An extra file, and a missing one.
    std::fs::write(
        bundle.join("officers/mallory.asc"),
        mallory.public().armored().unwrap(),
    )
    .unwrap();
    let err = expect_error(&verify(&[]), 3);
    assert_mentions(&err, &["officer certificate file"]);
}

#[test]
fn a_ledger_certificate_swapped_in_the_bundle_fails_verification() {
    let v = vault_with(&["C0DE-0001"]);
    let bundle = v.scratch.dir.path().join("bundle");
    v.cmd()
        .args(["ledger", "export"])
        .arg(&bundle)
        .assert()
        .success();
    let mallory = SecretKey::generate_signing("breakglass ledger").unwrap();
    std::fs::write(
        bundle.join("ledger-cert.asc"),
        mallory.public().armored().unwrap(),
    )
    .unwrap();
    let out = v
        .cmd()
        .args(["ledger", "verify", "--bundle"])
        .arg(&bundle)
        .output()
        .unwrap();
    let err = expect_error(&out, 3);
    assert_mentions(&err, &["ledger-cert.asc is not the ledger key"]);
}

#[test]
fn a_genesis_with_a_swapped_officer_passes_cert_but_not_pin() {
    let v = vault_with(&["C0DE-0001"]);
    let pin = fingerprint(&v);
    let bundle = v.scratch.dir.path().join("bundle");
    v.cmd()
        .args(["ledger", "export"])
        .arg(&bundle)
        .assert()
        .success();
    let cert = bundle.join("ledger-cert.asc");
    {
        let a = Attacker::at(&v.path);
        let mallory = SecretKey::generate_signing("carol").unwrap();
        a.rewrite_ledger(|e| {
            let mut o = e[0]["officers"].as_array().unwrap().clone();
            o[2]["cert"] = mallory.public().armored().unwrap().into();
            o[2]["fingerprint"] = mallory.fingerprint().into();
            e[0].insert("officers".into(), Value::Array(o));
        });
    }
    v.cmd()
        .args(["ledger", "verify", "--cert"])
        .arg(&cert)
        .assert()
        .success();
    let err = expect_error(&verify_pinned(&v, &pin), 3);
    assert_mentions(&err, &["vault fingerprint mismatch", &pin]);
}

#[test]
fn the_pin_is_printed_by_init_and_status_and_checked_by_verify() {
    let s = Scratch::new();
    let out = init_output(&s, 2, &["alice", "bob"]);
    expect_success(&out, "init");
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = TestVault {
        path: s.path.clone(),
        scratch: s,
        threshold: 2,
        officers: vec!["alice".into(), "bob".into()],
    };
    let fp = fingerprint(&v);
    assert_eq!(fp.len(), 64);
    assert!(printed.contains(&fp), "{printed}");
    let text = v.cmd().arg("status").output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains(&fp));
    // The root in one encoding everywhere: base64, as in the checkpoint.
    let root = v.status()["ledger_root"].as_str().unwrap().to_owned();
    assert_eq!(root.len(), 44, "{root}");
    let verified = v
        .cmd()
        .args(["ledger", "verify", "--pin", &fp])
        .output()
        .unwrap();
    expect_success(&verified, "verify --pin");
    let out = String::from_utf8_lossy(&verified.stdout);
    assert!(
        out.contains(&root) && out.contains("pinned with --pin"),
        "{out}"
    );
    let mut wrong = fp.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let err = expect_error(&verify_pinned(&v, std::str::from_utf8(&wrong).unwrap()), 3);
    assert_mentions(&err, &["vault fingerprint mismatch"]);
    let err = expect_error(&verify_pinned(&v, "not-hex"), 2);
    assert_mentions(&err, &["64 hex digits"]);
}

#[test]
fn a_vault_of_the_old_format_is_refused_with_what_to_do() {
    let v = TestVault::two_of_three();
    {
        let a = Attacker::at(&v.path);
        let old = breakglass::records::write_format(1);
        a.store
            .transact(|tx| tx.put(Table::Meta, b"format", &old))
            .unwrap();
        a.store.flush().unwrap();
    }
    let out = v.cmd().arg("list").output().unwrap();
    let err = expect_error(&out, 1);
    assert_mentions(
        &err,
        &[
            "breakglass 0.1 (format 1)",
            "reads format 5",
            "breakglass init",
        ],
    );
}
