//! The tamper suite (issue: auditor). One test per attack, each expecting
//! its own failure from `breakglass ledger verify`, run as the real binary
//! against an export bundle or a vault. Forgeries that need the ledger key
//! use it as an attacker with the vault's disk would.

mod common;

use common::copy_dir;
use common::verifiers::{lines, write_and_resign, write_lines};

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use base64::Engine;
use breakglass::crypto::KdfParams;
use breakglass::ledger;
use breakglass::ledger::canonical;
use breakglass::pgp::SecretKey;
use breakglass::records::{LedgerKeyRecord, Record, SecretKind};
use breakglass::store::Table;
use breakglass::vault::{Displayed, InitOptions, NewOfficer};
use breakglass::{Passphrase, SecretValue, Vault, audit};
use serde_json::{Map, Value};

const OFFICERS: [(&str, &str); 3] = [
    ("alice", "alice-pass-1"),
    ("bob", "bob-pass-22"),
    ("carol", "carol-pass-333"),
];
const REASON: &str = "IdP outage INC-7";

fn pass(name: &str) -> Passphrase {
    Passphrase::new(
        OFFICERS
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
            .to_string(),
    )
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    vault: PathBuf,
    bundle: PathBuf,
    ledger_key: SecretKey,
    vault_id: String,
}

fn make_vault(path: &Path) -> Vault {
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
    let mut v = Vault::init(path, opts).unwrap();
    let s = v
        .authenticate("alice", &pass("alice"), "deposit", None)
        .unwrap();
    let codes: Vec<SecretValue> = ["c1", "c2", "c3"]
        .iter()
        .map(|c| SecretValue::new(c.to_string()))
        .collect();
    v.deposit(&s, "gh", SecretKind::Codes, None, &codes)
        .unwrap();
    v
}

fn release(v: &mut Vault, officers: [&str; 2]) {
    let mut req = v.begin_release("gh", REASON).unwrap();
    for o in officers {
        v.approve(&mut req, o, &pass(o)).unwrap();
    }
    let mut r = v.complete_release(req).unwrap();
    v.record_display(&mut r, Displayed::Confirmed).unwrap();
}

/// A vault with a deposit and two releases (alice+bob, then bob+carol, with
/// the same reason), exported to a bundle.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let vault = root.join("vault");
    let mut v = make_vault(&vault);
    release(&mut v, ["alice", "bob"]);
    release(&mut v, ["bob", "carol"]);
    let bundle = root.join("bundle");
    audit::export(v.store(), &v.ledger_cert(), &bundle).unwrap();
    let rec = LedgerKeyRecord::decode(&v.store().get(Table::Meta, b"ledger_key").unwrap().unwrap())
        .unwrap();
    let ledger_key = SecretKey::from_bytes(&rec.tsk).unwrap();
    let vault_id = v.id().to_string();
    Fixture {
        _dir: dir,
        root,
        vault,
        bundle,
        ledger_key,
        vault_id,
    }
}

fn entry(lines: &[Vec<u8>], i: usize) -> Map<String, Value> {
    ledger::parse_entry(&lines[i]).unwrap()
}

fn set_entry(lines: &mut [Vec<u8>], i: usize, m: Map<String, Value>) {
    lines[i] = canonical::to_vec(&Value::Object(m)).unwrap();
}

fn index_of(lines: &[Vec<u8>], kind: &str, nth: usize) -> usize {
    (0..lines.len())
        .filter(|&i| entry(lines, i)["kind"] == kind)
        .nth(nth)
        .unwrap()
}

fn verify(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("breakglass")
        .unwrap()
        .args(["ledger", "verify"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn verify_bundle(f: &Fixture, extra: &[&str]) -> (i32, String, String) {
    let b = f.bundle.to_str().unwrap();
    let mut args = vec!["--bundle", b];
    args.extend_from_slice(extra);
    verify(&args)
}

fn assert_fails(res: (i32, String, String), want: &str) {
    let (code, _, err) = res;
    assert_eq!(code, 3, "expected exit 3 with {want:?}, got {code}: {err}");
    assert!(err.contains(want), "expected {want:?} in: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

#[test]
fn the_untouched_bundle_and_vault_verify() {
    let f = fixture();
    let (code, out, err) = verify_bundle(&f, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("2 releases") && out.contains("3 officers"),
        "{out}"
    );
    assert!(out.contains("not pinned"), "{out}");
    let cert = f.bundle.join("ledger-cert.asc");
    let (code, out, _) = verify_bundle(&f, &["--cert", cert.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("pinned with --cert"), "{out}");
    let (code, _, err) = verify(&["--vault", f.vault.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_flipped_byte_in_an_entry() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "deposit", 0);
    let pos = l[i].windows(4).position(|w| w == b"\"gh\"").unwrap() + 1;
    l[i][pos] = b'G';
    write_lines(&f.bundle, &l);
    assert_fails(
        verify_bundle(&f, &[]),
        "entries do not match the signed root",
    );
}

#[test]
fn a_flipped_byte_in_the_vault_names_the_entry() {
    let f = fixture();
    let v = Vault::open(&f.vault).unwrap();
    let (_, mut bytes) = v.ledger_entries().nth(1).unwrap().unwrap();
    let pos = bytes.windows(4).position(|w| w == b"\"gh\"").unwrap() + 1;
    bytes[pos] = b'G';
    v.store()
        .transact(|tx| tx.put(Table::Ledger, &1u64.to_be_bytes(), &bytes))
        .unwrap();
    drop(v);
    assert_fails(
        verify(&["--vault", f.vault.to_str().unwrap()]),
        "entry 1: checkpoint does not match",
    );
}

#[test]
fn an_entry_deleted_from_the_middle() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    l.remove(2);
    write_lines(&f.bundle, &l);
    assert_fails(verify_bundle(&f, &[]), "entry 2: entry missing");
}

#[test]
fn two_entries_swapped() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    l.swap(2, 3);
    write_lines(&f.bundle, &l);
    assert_fails(verify_bundle(&f, &[]), "entry 2: entries reordered");
}

#[test]
fn an_entry_inserted() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let copy = l[1].clone();
    l.insert(3, copy);
    write_lines(&f.bundle, &l);
    assert_fails(verify_bundle(&f, &[]), "entry 3: entry inserted");
}

#[test]
fn the_tail_truncated_without_re_signing() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    l.truncate(l.len() - 2);
    write_lines(&f.bundle, &l);
    assert_fails(verify_bundle(&f, &[]), "ledger truncated");
}

#[test]
fn the_tail_truncated_and_re_signed_is_caught_with_state() {
    let f = fixture();
    let state = f.root.join("state.json");
    let s = state.to_str().unwrap();
    assert_eq!(verify_bundle(&f, &["--state", s]).0, 0);
    let saved = std::fs::read(&state).unwrap();
    let mut l = lines(&f.bundle);
    l.truncate(l.len() - 2);
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    // On its own the shorter ledger is self-consistent ...
    assert_eq!(verify_bundle(&f, &[]).0, 0);
    // ... but not against what the auditor saw before.
    assert_fails(
        verify_bundle(&f, &["--state", s]),
        "rolled back or truncated",
    );
    assert_eq!(
        std::fs::read(&state).unwrap(),
        saved,
        "a failed verification changed the state file"
    );
}

#[test]
fn a_rewritten_history_is_a_fork_against_state() {
    let f = fixture();
    let state = f.root.join("state.json");
    let s = state.to_str().unwrap();
    assert_eq!(verify_bundle(&f, &["--state", s]).0, 0);
    // Drop the last entry and append a different one of the same length:
    // the size grows back, the old root is gone.
    let mut l = lines(&f.bundle);
    let last = l.len() - 1;
    let mut m = entry(&l, last - 1);
    m.insert("seq".into(), Value::from(last as u64));
    set_entry(&mut l, last, m.clone());
    m.insert("seq".into(), Value::from(last as u64 + 1));
    l.push(canonical::to_vec(&Value::Object(m)).unwrap());
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(verify_bundle(&f, &["--state", s]), "fork");
}

#[test]
fn a_ledger_regenerated_under_a_new_key_is_caught_with_cert() {
    let f = fixture();
    let pinned = f.root.join("pinned-ledger-cert.asc");
    std::fs::copy(f.bundle.join("ledger-cert.asc"), &pinned).unwrap();
    let new_key = SecretKey::generate_signing("forged ledger").unwrap();
    let mut l = lines(&f.bundle);
    let mut g = entry(&l, 0);
    g.insert(
        "ledger_cert".into(),
        new_key.public().armored().unwrap().into(),
    );
    g.insert("ledger_fingerprint".into(), new_key.fingerprint().into());
    set_entry(&mut l, 0, g);
    write_and_resign(&f.bundle, &l, &new_key, &f.vault_id);
    std::fs::write(
        f.bundle.join("ledger-cert.asc"),
        new_key.public().armored().unwrap(),
    )
    .unwrap();
    // Self-consistent, and the output says the key came from genesis.
    let (code, out, _) = verify_bundle(&f, &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&new_key.fingerprint()) && out.contains("not pinned"),
        "{out}"
    );
    assert_fails(
        verify_bundle(&f, &["--cert", pinned.to_str().unwrap()]),
        "entry 0: ledger key mismatch",
    );
}

#[test]
fn a_vault_restored_from_an_older_copy_is_caught_with_state() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    let old = dir.path().join("old-copy");
    let mut v = make_vault(&vault);
    release(&mut v, ["alice", "bob"]);
    drop(v);
    copy_dir(&vault, &old);
    let mut v = Vault::open(&vault).unwrap();
    release(&mut v, ["bob", "carol"]);
    drop(v);
    let state = dir.path().join("state.json");
    let args = [
        "--vault",
        vault.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ];
    assert_eq!(verify(&args).0, 0);
    std::fs::remove_dir_all(&vault).unwrap();
    copy_dir(&old, &vault);
    // The restored copy is valid on its own: only the state shows it.
    assert_eq!(verify(&args[..2]).0, 0);
    assert_fails(verify(&args), "rolled back or truncated");
}

#[test]
fn a_bundle_of_another_vault_is_an_origin_mismatch() {
    let a = fixture();
    let b = fixture();
    let state = a.root.join("state.json");
    let s = state.to_str().unwrap();
    assert_eq!(verify_bundle(&a, &["--state", s]).0, 0);
    assert_fails(verify_bundle(&b, &["--state", s]), "origin mismatch");
}

#[test]
fn a_checkpoint_of_another_vault_is_an_origin_mismatch() {
    let a = fixture();
    let b = fixture();
    // B's entries with a checkpoint body naming A, signed by B's key.
    let l = lines(&b.bundle);
    write_and_resign(&b.bundle, &l, &b.ledger_key, &a.vault_id);
    assert_fails(verify_bundle(&b, &[]), "origin mismatch");
}

#[test]
fn a_non_canonical_entry() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let m = entry(&l, 1);
    l[1] = serde_json::to_vec(&Value::Object(m))
        .unwrap()
        .into_iter()
        .flat_map(|b| if b == b',' { vec![b',', b' '] } else { vec![b] })
        .collect();
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(verify_bundle(&f, &[]), "entry 1: not canonical JSON");
}

#[test]
fn a_forged_checkpoint_signature() {
    let f = fixture();
    let other = SecretKey::generate_signing("not the ledger").unwrap();
    let l = lines(&f.bundle);
    write_and_resign(&f.bundle, &l, &other, &f.vault_id);
    assert_fails(verify_bundle(&f, &[]), "bad checkpoint signature");
}

fn approvals(m: &Map<String, Value>) -> Vec<Value> {
    m["approvals"].as_array().unwrap().clone()
}

#[test]
fn an_approval_signed_by_a_key_that_is_not_an_officers() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "release", 0);
    let mut m = entry(&l, i);
    let mut a = approvals(&m);
    let mallory = SecretKey::generate_signing("mallory").unwrap();
    let st = canonical::to_vec(&a[1]["statement"]).unwrap();
    a[1]["signature"] = mallory.sign_detached(&st, 1_800_000_000).unwrap().into();
    m.insert("approvals".into(), Value::Array(a));
    set_entry(&mut l, i, m);
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(
        verify_bundle(&f, &[]),
        &format!("entry {i}: bad approval signature"),
    );
}

#[test]
fn an_approval_without_its_signature() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "release", 0);
    let mut m = entry(&l, i);
    let mut a = approvals(&m);
    a[0].as_object_mut().unwrap().remove("signature");
    m.insert("approvals".into(), Value::Array(a));
    set_entry(&mut l, i, m);
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(
        verify_bundle(&f, &[]),
        &format!("entry {i}: bad approval signature"),
    );
}

#[test]
fn an_approval_copied_from_another_release_is_a_replay() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let first = index_of(&l, "release", 0);
    let second = index_of(&l, "release", 1);
    // Bob approved both; his first approval is pasted into the second
    // release in place of his own.
    let bob_first = approvals(&entry(&l, first))
        .into_iter()
        .find(|a| a["officer"] == "bob")
        .unwrap();
    let mut m = entry(&l, second);
    let a: Vec<Value> = approvals(&m)
        .into_iter()
        .map(|a| {
            if a["officer"] == "bob" {
                bob_first.clone()
            } else {
                a
            }
        })
        .collect();
    m.insert("approvals".into(), Value::Array(a));
    set_entry(&mut l, second, m);
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(
        verify_bundle(&f, &[]),
        &format!("entry {second}: replayed approval"),
    );
}

#[test]
fn an_approval_used_after_its_expiry() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "release", 1);
    let late = breakglass::clock::rfc3339(
        breakglass::clock::parse_rfc3339(entry(&l, i)["time"].as_str().unwrap()).unwrap() + 16 * 60,
    );
    for j in i..l.len() {
        let mut m = entry(&l, j);
        m.insert("time".into(), late.clone().into());
        set_entry(&mut l, j, m);
    }
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(
        verify_bundle(&f, &[]),
        &format!("entry {i}: expired approval"),
    );
}

#[test]
fn a_release_without_a_quorum() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "release", 0);
    let mut m = entry(&l, i);
    let mut a = approvals(&m);
    a.pop();
    m.insert("approvals".into(), Value::Array(a));
    set_entry(&mut l, i, m);
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(
        verify_bundle(&f, &[]),
        &format!("entry {i}: release without a quorum"),
    );
}

#[test]
fn an_item_released_twice() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let first = entry(&l, index_of(&l, "release", 0));
    let i = index_of(&l, "release", 1);
    let mut m = entry(&l, i);
    m.insert("index".into(), Value::from(0));
    m.insert("digest".into(), first["digest"].clone());
    set_entry(&mut l, i, m);
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(
        verify_bundle(&f, &[]),
        &format!("entry {i}: item released twice"),
    );
}

#[test]
fn time_going_backwards() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let mut m = entry(&l, 2);
    m.insert("time".into(), "2001-01-01T00:00:00Z".into());
    set_entry(&mut l, 2, m);
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(verify_bundle(&f, &[]), "entry 2: time goes backwards");
}

#[test]
fn entries_after_the_checkpoint_are_unsigned() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let mut m = entry(&l, l.len() - 1);
    m.insert("seq".into(), Value::from(l.len() as u64));
    l.push(canonical::to_vec(&Value::Object(m)).unwrap());
    write_lines(&f.bundle, &l);
    assert_fails(verify_bundle(&f, &[]), "unsigned entries");
}

#[test]
fn the_vault_refuses_releases_when_its_tail_disagrees_with_the_checkpoint() {
    let f = fixture();
    let v = Vault::open(&f.vault).unwrap();
    assert_eq!(v.ledger_problem(), None);
    let size = v.status().unwrap().ledger_size;
    let (_, mut last) = v.ledger_entries().last().unwrap().unwrap();
    let n = last.len();
    last[n - 3] ^= 1;
    v.store()
        .transact(|tx| tx.put(Table::Ledger, &(size - 1).to_be_bytes(), &last))
        .unwrap();
    drop(v);
    let mut v = Vault::open(&f.vault).unwrap();
    assert!(v.ledger_problem().is_some());
    let err = v.begin_release("gh", "r").unwrap_err().to_string();
    assert!(err.contains("the vault is locked"), "{err}");
    assert!(v.status().unwrap().ledger_problem.is_some());
    // Nothing else is written either: a deposit or a logged refusal would
    // sign a new checkpoint over the disputed tail and hide it.
    let before: Vec<_> = v.ledger_entries().map(|e| e.unwrap()).collect();
    let err = v
        .authenticate(
            "alice",
            &Passphrase::new("wrong-passphrase".into()),
            "deposit",
            None,
        )
        .unwrap_err();
    assert!(err.to_string().contains("the vault is locked"), "{err}");
    let after: Vec<_> = v.ledger_entries().map(|e| e.unwrap()).collect();
    assert_eq!(before, after);
    drop(v);
    // `status` says so in its text output too.
    let out = Command::cargo_bin("breakglass")
        .unwrap()
        .args(["--vault", f.vault.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("LOCKED"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn an_export_carries_unsigned_entries_so_that_verification_reports_them() {
    let f = fixture();
    let v = Vault::open(&f.vault).unwrap();
    let size = v.status().unwrap().ledger_size;
    let (_, last) = v.ledger_entries().last().unwrap().unwrap();
    let mut m = ledger::parse_entry(&last).unwrap();
    m.insert("seq".into(), Value::from(size));
    let extra = canonical::to_vec(&Value::Object(m)).unwrap();
    v.store()
        .transact(|tx| tx.put(Table::Ledger, &size.to_be_bytes(), &extra))
        .unwrap();
    let out = f.root.join("bundle2");
    audit::export(v.store(), &v.ledger_cert(), &out).unwrap();
    assert_eq!(lines(&out).len() as u64, size + 1);
    let (code, _, err) = verify(&["--bundle", out.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(err.contains("unsigned entries"), "{err}");
}

#[test]
fn a_missing_bundle_file_is_reported() {
    let f = fixture();
    std::fs::remove_file(f.bundle.join("checkpoint.asc")).unwrap();
    assert_fails(verify_bundle(&f, &[]), "bad bundle");
}

#[test]
fn state_file_records_the_latest_checkpoint() {
    let f = fixture();
    let state = f.root.join("state.json");
    assert_eq!(
        verify_bundle(&f, &["--state", state.to_str().unwrap()]).0,
        0
    );
    let s: audit::State = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let cp =
        ledger::parse_checkpoint(&std::fs::read_to_string(f.bundle.join("checkpoint")).unwrap())
            .unwrap();
    assert_eq!(s.size, cp.size);
    assert_eq!(s.origin, format!("breakglass/{}", f.vault_id));
    assert_eq!(
        s.root,
        base64::engine::general_purpose::STANDARD.encode(cp.root)
    );
}

/// The second release rebuilt from the first one's nonce and approvals:
/// every statement is genuinely signed and names this secret and reason,
/// so only the nonce's reuse gives it away.
#[test]
fn a_release_forged_from_another_releases_nonce_and_approvals_is_a_replay() {
    let f = fixture();
    let state = f.root.join("state.json");
    let cert = f.bundle.join("ledger-cert.asc");
    let mut l = lines(&f.bundle);
    let first_i = index_of(&l, "release", 0);
    let second = index_of(&l, "release", 1);
    let first = entry(&l, first_i);
    let mut m = entry(&l, second);
    for k in ["nonce", "approvals", "actor"] {
        m.insert(k.into(), first[k].clone());
    }
    set_entry(&mut l, second, m);
    // The display entry of the forged release follows its actor.
    let shown = second + 1;
    let mut d = entry(&l, shown);
    d.insert("actor".into(), first["actor"].clone());
    set_entry(&mut l, shown, d);
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(
        verify_bundle(
            &f,
            &[
                "--cert",
                cert.to_str().unwrap(),
                "--state",
                state.to_str().unwrap(),
            ],
        ),
        &format!(
            "entry {second}: replayed approval: the nonce was already used by the release in entry {first_i}"
        ),
    );
    assert!(!state.exists(), "a failed verification wrote the state");
}

#[test]
fn the_same_officer_approving_twice_is_an_error() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "release", 0);
    let mut m = entry(&l, i);
    let mut a = approvals(&m);
    a.push(a[1].clone());
    m.insert("approvals".into(), Value::Array(a));
    set_entry(&mut l, i, m);
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(
        verify_bundle(&f, &[]),
        &format!("entry {i}: duplicate approval: bob approves twice"),
    );
}

#[test]
fn a_release_whose_actor_is_not_its_approvers() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "release", 0);
    let mut m = entry(&l, i);
    m.insert("actor".into(), "alice+carol".into());
    set_entry(&mut l, i, m);
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(
        verify_bundle(&f, &[]),
        &format!("entry {i}: malformed entry: the actor is not the approvers"),
    );
}

#[test]
fn a_release_of_an_item_no_deposit_signed() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "release", 0);
    let mut m = entry(&l, i);
    m.insert("digest".into(), "00".repeat(32).into());
    set_entry(&mut l, i, m);
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(
        verify_bundle(&f, &[]),
        &format!("entry {i}: release of an item never deposited"),
    );
}

#[test]
fn an_unknown_field_is_an_error() {
    let f = fixture();
    let mut l = lines(&f.bundle);
    let mut m = entry(&l, 1);
    m.insert("note".into(), "harmless?".into());
    set_entry(&mut l, 1, m);
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(
        verify_bundle(&f, &[]),
        "entry 1: malformed entry: a deposit entry has the unknown field \"note\"",
    );
}

#[test]
fn only_the_one_spelling_of_a_time_is_accepted() {
    for (from, to) in [("Z", "+00:00"), ("Z", ".0Z"), ("Z", "z")] {
        let f = fixture();
        let mut l = lines(&f.bundle);
        let mut m = entry(&l, 1);
        let t = m["time"].as_str().unwrap().to_string();
        m.insert("time".into(), t.replacen(from, to, 1).into());
        set_entry(&mut l, 1, m);
        write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
        assert_fails(verify_bundle(&f, &[]), "entry 1: malformed entry: time");
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let mut m = entry(&l, 1);
    let t = m["time"].as_str().unwrap().replacen('T', " ", 1);
    m.insert("time".into(), t.into());
    set_entry(&mut l, 1, m);
    write_and_resign(&f.bundle, &l, &f.ledger_key, &f.vault_id);
    assert_fails(verify_bundle(&f, &[]), "is not a ledger time");
}

#[test]
fn the_last_entry_needs_its_final_newline_and_the_file_an_entry() {
    let f = fixture();
    let path = f.bundle.join("entries.jsonl");
    let text = std::fs::read(&path).unwrap();
    std::fs::write(&path, &text[..text.len() - 1]).unwrap();
    assert_fails(
        verify_bundle(&f, &[]),
        "the last entry has no final newline",
    );
    std::fs::write(&path, b"").unwrap();
    assert_fails(verify_bundle(&f, &[]), "the file is empty");
    let mut doubled = text.clone();
    doubled.extend_from_slice(b"\n");
    std::fs::write(&path, &doubled).unwrap();
    assert_fails(verify_bundle(&f, &[]), "an empty line");
}

#[test]
fn checkpoint_problems_name_the_checkpoint_not_an_entry() {
    let f = fixture();
    let cp = f.bundle.join("checkpoint");
    let body = std::fs::read_to_string(&cp).unwrap();
    std::fs::write(&cp, body.replacen('\n', "\n0", 1)).unwrap();
    let (code, _, err) = verify_bundle(&f, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("the bundle's checkpoint"), "{err}");
    assert!(!err.contains("entry 0"), "{err}");
    // In a vault: one stored checkpoint's signature broken.
    let v = Vault::open(&f.vault).unwrap();
    let mut rec = ledger::checkpoint(v.store(), 3).unwrap().unwrap();
    rec.signature = rec.signature.replacen(
        "-----BEGIN PGP SIGNATURE-----\n\n",
        "-----BEGIN PGP SIGNATURE-----\n\nAAAA",
        1,
    );
    v.store()
        .transact(|tx| tx.put(Table::Checkpoints, &3u64.to_be_bytes(), &rec.encode()?))
        .unwrap();
    drop(v);
    let (code, _, err) = verify(&["--vault", f.vault.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("a stored checkpoint (size 3) does not verify"),
        "{err}"
    );
    assert!(!err.contains("entry"), "{err}");
}
