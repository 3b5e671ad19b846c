//! The independent Python verifier, `docs/verify-ledger.py` (issue 7), run
//! on every tamper case of `tests/audit_tamper.rs` and on the cases the
//! auditor's spec (docs/LEDGER.md) names. Each case is also run through
//! `breakglass ledger verify --bundle`: both must fail, with exit 3, one
//! line on stderr, and the same failure (the same entry and kind, and,
//! where the detail does not quote a parser, the same words); and both
//! must pass the untouched bundle. Every Python run is repeated under
//! `python3 -O`, which must change nothing.
//!
//! Skips, saying so, when `python3` is absent; the cases that only a
//! signature check can catch skip when the `cryptography` package is
//! absent (`python3 -m pip install cryptography`).

mod common;

use common::verifiers::*;

use common::copy_dir;

use std::path::Path;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use breakglass::ledger;
use breakglass::ledger::canonical;
use breakglass::ledger::merkle;
use breakglass::pgp::SecretKey;
use breakglass::records::{LedgerKeyRecord, Record};
use breakglass::store::Table;
use breakglass::vault::Displayed;
use breakglass::{Vault, audit};
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------
// Tools

// ---------------------------------------------------------------------------
// Fixtures (as in tests/audit_tamper.rs)

/// An edit of one entry.
type Change = dyn Fn(&mut Map<String, Value>);

fn approvals(m: &Map<String, Value>) -> Vec<Value> {
    m["approvals"].as_array().unwrap().clone()
}

// ---------------------------------------------------------------------------
// The untouched bundle, --pin, and no `cryptography`

#[test]
fn the_untouched_bundle_verifies_and_pins() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let out = assert_both_pass(&f.bundle, &[]);
    assert!(
        out.contains("2 releases") && out.contains("3 officers") && out.contains("not pinned"),
        "{out}"
    );
    assert!(out.contains(&f.fingerprint), "{out}");
    let out = assert_both_pass(&f.bundle, &["--pin", &f.fingerprint]);
    assert!(out.contains("pinned with --pin"), "{out}");
    // Upper case and surrounding blanks are the same fingerprint.
    let upper = format!(" {} ", f.fingerprint.to_uppercase());
    assert_both_pass(&f.bundle, &["--pin", &upper]);
    if crypto_ok() {
        assert!(out.contains("12 OpenPGP signatures verified"), "{out}");
    }
}

#[test]
fn a_wrong_pin_is_a_fingerprint_mismatch() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut wrong = f.fingerprint.clone().into_bytes();
    wrong[63] = if wrong[63] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();
    assert_both_fail(
        &f.bundle,
        &["--pin", &wrong],
        "entry 0: vault fingerprint mismatch",
    );
}

#[test]
fn a_malformed_pin_is_a_usage_error() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    for bad in ["abc", &"g".repeat(64), &"a".repeat(66)] {
        let (code, _, err) = python(&f.bundle, &["--pin", bad]);
        assert_eq!(code, 2, "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("64 hex digits"), "{err}");
        assert_eq!(rust(&f.bundle, &["--pin", bad]).0, 2);
    }
    let (code, _, err) = python(&f.root.join("no-such-bundle"), &[]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn without_cryptography_everything_but_signatures_is_checked_and_said() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    // `python3 -S` leaves out site-packages, where `cryptography` lives.
    let (code, out, err) = python_with(&["-S"], &f.bundle, &[]);
    if code == 0 && !err.contains("NOT verified") {
        eprintln!("SKIPPED: `cryptography` is importable without site-packages");
        return;
    }
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("signatures are parsed but NOT verified"),
        "{err}"
    );
    assert!(out.contains("NOT verified"), "{out}");
    // A forged approval signature passes unnoticed then, but a missing
    // one, a replay, or a broken rule does not.
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "release", 0);
    let mut m = entry(&l, i);
    let mut a = approvals(&m);
    a.pop();
    m.insert("approvals".into(), Value::Array(a));
    set_entry(&mut l, i, m);
    f.resign(&l);
    let (code, _, err) = python_with(&["-S"], &f.bundle, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(&format!("entry {i}: release without a quorum")),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// Every tamper case of tests/audit_tamper.rs that works on a bundle

#[test]
fn a_flipped_byte_in_an_entry() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "deposit", 0);
    let pos = l[i].windows(4).position(|w| w == b"\"gh\"").unwrap() + 1;
    l[i][pos] = b'G';
    write_lines(&f.bundle, &l);
    assert_both_fail(&f.bundle, &[], "entries do not match the signed root");
}

#[test]
fn an_entry_deleted_from_the_middle() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    l.remove(2);
    write_lines(&f.bundle, &l);
    assert_both_fail(&f.bundle, &[], "entry 2: entry missing");
}

#[test]
fn two_entries_swapped() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    l.swap(2, 3);
    write_lines(&f.bundle, &l);
    assert_both_fail(&f.bundle, &[], "entry 2: entries reordered");
}

#[test]
fn an_entry_inserted() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let copy = l[1].clone();
    l.insert(3, copy);
    write_lines(&f.bundle, &l);
    assert_both_fail(&f.bundle, &[], "entry 3: entry inserted");
}

#[test]
fn the_tail_truncated_without_re_signing() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    l.truncate(l.len() - 2);
    write_lines(&f.bundle, &l);
    assert_both_fail(&f.bundle, &[], "ledger truncated");
}

#[test]
fn the_tail_truncated_and_re_signed_is_caught_with_state() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let py_state = f.root.join("py-state.json");
    let rs_state = f.root.join("rs-state.json");
    let (py_s, rs_s) = (py_state.to_str().unwrap(), rs_state.to_str().unwrap());
    assert_eq!(python(&f.bundle, &["--state", py_s]).0, 0);
    assert_eq!(rust(&f.bundle, &["--state", rs_s]).0, 0);
    let saved = std::fs::read(&py_state).unwrap();
    let mut l = lines(&f.bundle);
    l.truncate(l.len() - 2);
    f.resign(&l);
    // On its own the shorter ledger is self-consistent ...
    assert_both_pass(&f.bundle, &[]);
    // ... but not against what the auditor saw before.
    let py = failure(
        "verify-ledger: ",
        &python(&f.bundle, &["--state", py_s]),
        "rolled back or truncated",
    );
    let rs = rust_failure(
        &rust(&f.bundle, &["--state", rs_s]),
        "rolled back or truncated",
    );
    assert_eq!(py, rs);
    assert_eq!(
        std::fs::read(&py_state).unwrap(),
        saved,
        "a failed verification changed the state file"
    );
}

#[test]
fn a_rewritten_history_is_a_fork_against_state() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let state = f.root.join("state.json");
    let s = state.to_str().unwrap();
    assert_eq!(python(&f.bundle, &["--state", s]).0, 0);
    let mut l = lines(&f.bundle);
    let last = l.len() - 1;
    let mut m = entry(&l, last - 1);
    m.insert("seq".into(), Value::from(last as u64));
    set_entry(&mut l, last, m.clone());
    m.insert("seq".into(), Value::from(last as u64 + 1));
    l.push(canonical::to_vec(&Value::Object(m)).unwrap());
    f.resign(&l);
    // Each verifier reads the state the other wrote: the format is shared.
    let saved = std::fs::read(&state).unwrap();
    assert_both_fail(&f.bundle, &["--state", s], "fork");
    assert_eq!(std::fs::read(&state).unwrap(), saved);
}

#[test]
fn a_ledger_regenerated_under_a_new_key_is_caught_with_the_pin() {
    if !python_ok() {
        return;
    }
    let f = fixture();
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
    // Self-consistent, and the output names the new key and the new
    // fingerprint, unpinned ...
    let out = assert_both_pass(&f.bundle, &[]);
    assert!(
        out.contains(&new_key.fingerprint()) && out.contains("not pinned"),
        "{out}"
    );
    // ... which the fingerprint given at `init` does not match.
    assert_both_fail(
        &f.bundle,
        &["--pin", &f.fingerprint],
        "entry 0: vault fingerprint mismatch",
    );
}

#[test]
fn a_bundle_restored_from_an_older_copy_is_caught_with_state() {
    if !python_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    let mut v = make_vault(&vault);
    release(&mut v, ["alice", "bob"]);
    let old = dir.path().join("old");
    audit::export(v.store(), &v.ledger_cert(), &old).unwrap();
    release(&mut v, ["bob", "carol"]);
    let new = dir.path().join("new");
    audit::export(v.store(), &v.ledger_cert(), &new).unwrap();
    let state = dir.path().join("state.json");
    let s = state.to_str().unwrap();
    assert_eq!(python(&new, &["--state", s]).0, 0);
    // The older copy is valid on its own: only the state shows it.
    assert_both_pass(&old, &[]);
    assert_both_fail(&old, &["--state", s], "rolled back or truncated");
}

#[test]
fn a_bundle_of_another_vault_is_an_origin_mismatch() {
    if !python_ok() {
        return;
    }
    let a = fixture();
    let b = fixture();
    let state = a.root.join("state.json");
    let s = state.to_str().unwrap();
    assert_eq!(python(&a.bundle, &["--state", s]).0, 0);
    assert_both_fail(&b.bundle, &["--state", s], "origin mismatch");
}

#[test]
fn a_checkpoint_of_another_vault_is_an_origin_mismatch() {
    if !python_ok() {
        return;
    }
    let a = fixture();
    let b = fixture();
    let l = lines(&b.bundle);
    write_and_resign(&b.bundle, &l, &b.ledger_key, &a.vault_id);
    assert_both_fail(&b.bundle, &[], "origin mismatch");
}

#[test]
fn a_non_canonical_entry() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let m = entry(&l, 1);
    l[1] = serde_json::to_vec(&Value::Object(m))
        .unwrap()
        .into_iter()
        .flat_map(|b| if b == b',' { vec![b',', b' '] } else { vec![b] })
        .collect();
    f.resign(&l);
    assert_both_fail_alike(&f.bundle, &[], "entry 1: not canonical JSON");
}

#[test]
fn a_forged_checkpoint_signature() {
    if !python_ok() || !crypto_ok() {
        return;
    }
    let f = fixture();
    let other = SecretKey::generate_signing("not the ledger").unwrap();
    let l = lines(&f.bundle);
    write_and_resign(&f.bundle, &l, &other, &f.vault_id);
    assert_both_fail(&f.bundle, &[], "bad checkpoint signature");
}

#[test]
fn an_approval_signed_by_a_key_that_is_not_an_officers() {
    if !python_ok() || !crypto_ok() {
        return;
    }
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
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: bad approval signature"),
    );
}

#[test]
fn an_approval_without_its_signature() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "release", 0);
    let mut m = entry(&l, i);
    let mut a = approvals(&m);
    a[0].as_object_mut().unwrap().remove("signature");
    m.insert("approvals".into(), Value::Array(a));
    set_entry(&mut l, i, m);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: bad approval signature"),
    );
}

#[test]
fn an_approval_copied_from_another_release_is_a_replay() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let first = index_of(&l, "release", 0);
    let second = index_of(&l, "release", 1);
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
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {second}: replayed approval"),
    );
}

#[test]
fn an_approval_used_after_its_expiry() {
    if !python_ok() {
        return;
    }
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
    f.resign(&l);
    assert_both_fail(&f.bundle, &[], &format!("entry {i}: expired approval"));
}

#[test]
fn a_release_without_a_quorum() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "release", 0);
    let mut m = entry(&l, i);
    let mut a = approvals(&m);
    a.pop();
    m.insert("approvals".into(), Value::Array(a));
    set_entry(&mut l, i, m);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: release without a quorum"),
    );
}

#[test]
fn an_item_released_twice() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let first = entry(&l, index_of(&l, "release", 0));
    let i = index_of(&l, "release", 1);
    let mut m = entry(&l, i);
    m.insert("index".into(), Value::from(0));
    m.insert("digest".into(), first["digest"].clone());
    set_entry(&mut l, i, m);
    f.resign(&l);
    assert_both_fail(&f.bundle, &[], &format!("entry {i}: item released twice"));
}

#[test]
fn time_going_backwards() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let mut m = entry(&l, 2);
    m.insert("time".into(), "2001-01-01T00:00:00Z".into());
    set_entry(&mut l, 2, m);
    f.resign(&l);
    assert_both_fail(&f.bundle, &[], "entry 2: time goes backwards");
}

#[test]
fn entries_after_the_checkpoint_are_unsigned() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let n = l.len();
    let mut m = entry(&l, n - 1);
    m.insert("seq".into(), Value::from(n as u64));
    l.push(canonical::to_vec(&Value::Object(m)).unwrap());
    write_lines(&f.bundle, &l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {n}: unsigned entries: entries {n}..{n} are not covered"),
    );
}

#[test]
fn an_export_of_a_vault_with_an_unsigned_tail() {
    if !python_ok() {
        return;
    }
    // A vault whose stored tail is not covered by its latest checkpoint
    // (the vault locks itself then) exports every entry; the verifiers
    // check them all and report the tail.
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
    assert_both_fail(&out, &[], &format!("entry {size}: unsigned entries"));
    // Every entry is still checked: a broken rule in the tail is found
    // before the tail is reported.
    let mut l = lines(&out);
    let mut m = entry(&l, size as usize);
    m.insert("seq".into(), Value::from(size + 5));
    set_entry(&mut l, size as usize, m);
    write_lines(&out, &l);
    assert_both_fail(&out, &[], &format!("entry {size}: entry missing"));
}

/// The second release rebuilt from the first one's nonce and approvals:
/// only the nonce's reuse gives it away.
#[test]
fn a_release_forged_from_another_releases_nonce_and_approvals_is_a_replay() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let state = f.root.join("state.json");
    let mut l = lines(&f.bundle);
    let first_i = index_of(&l, "release", 0);
    let second = index_of(&l, "release", 1);
    let first = entry(&l, first_i);
    let mut m = entry(&l, second);
    for k in ["nonce", "approvals", "actor"] {
        m.insert(k.into(), first[k].clone());
    }
    set_entry(&mut l, second, m);
    let shown = second + 1;
    let mut d = entry(&l, shown);
    d.insert("actor".into(), first["actor"].clone());
    set_entry(&mut l, shown, d);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &["--state", state.to_str().unwrap()],
        &format!(
            "entry {second}: replayed approval: the nonce was already used by the release in entry {first_i}"
        ),
    );
    assert!(!state.exists(), "a failed verification wrote the state");
}

#[test]
fn an_unknown_field_is_an_error() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let mut m = entry(&l, 1);
    m.insert("note".into(), "harmless?".into());
    set_entry(&mut l, 1, m);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        "entry 1: malformed entry: a deposit entry has the unknown field \"note\"",
    );
}

#[test]
fn checkpoint_problems_name_the_checkpoint_not_an_entry() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let cp = f.bundle.join("checkpoint");
    let body = std::fs::read_to_string(&cp).unwrap();
    std::fs::write(&cp, body.replacen('\n', "\n0", 1)).unwrap();
    let (py, _) = both_fail(&f.bundle, &[], "the bundle's checkpoint");
    assert!(!py.contains("entry"), "{py}");
}

#[test]
fn a_missing_bundle_file_is_reported() {
    if !python_ok() {
        return;
    }
    for file in ["checkpoint.asc", "checkpoint", "entries.jsonl"] {
        let f = fixture();
        std::fs::remove_file(f.bundle.join(file)).unwrap();
        assert_both_fail(&f.bundle, &[], "bad bundle");
    }
}

#[test]
fn the_state_file_is_the_same_as_breakglass_writes() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let py_state = f.root.join("py-state.json");
    let rs_state = f.root.join("rs-state.json");
    let (code, out, err) = python(&f.bundle, &["--state", py_state.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created"), "{out}");
    assert_eq!(
        rust(&f.bundle, &["--state", rs_state.to_str().unwrap()]).0,
        0
    );
    assert_eq!(
        std::fs::read_to_string(&py_state).unwrap(),
        std::fs::read_to_string(&rs_state).unwrap()
    );
    let s: audit::State = serde_json::from_slice(&std::fs::read(&py_state).unwrap()).unwrap();
    assert_eq!(s.origin, format!("breakglass/{}", f.vault_id));
    // A second run extends it (nothing new), and a garbled one is refused.
    let (code, _, err) = python(&f.bundle, &["--state", py_state.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(&py_state, "{\"origin\": 1}").unwrap();
    let s = py_state.to_str().unwrap();
    assert_both_fail(
        &f.bundle,
        &["--state", s],
        &format!("unreadable state file: {s}: invalid type: integer `1`, expected a string"),
    );
}

// ---------------------------------------------------------------------------
// The cases the spec names (docs/LEDGER.md §1, §2, §6)

#[test]
fn time_stamps_in_any_other_spelling_are_refused() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let base = lines(&f.bundle);
    for bad in [
        "2026-11-28T02:32:31+01:00",
        "2026-11-28T02:32:31+00:00",
        "2026-11-28T02:32:31.5Z",
        "2026-11-28t02:32:31z",
        "2026-11-28t02:32:31Z",
        "2026-11-28T02:32:31z",
        "2026-11-28 02:32:31Z",
        "2026-11-28T02:32:31",
        "2026-02-30T00:00:00Z",
        "2026-11-28T24:00:00Z",
        "2026-11-28T02:32:60Z",
        "1969-12-31T23:59:59Z",
        "２026-11-28T02:32:31Z",
    ] {
        let mut l = base.clone();
        let n = l.len();
        let mut m = entry(&l, n - 1);
        m.insert("time".into(), bad.into());
        set_entry(&mut l, n - 1, m);
        f.resign(&l);
        assert_both_fail(
            &f.bundle,
            &[],
            &format!("entry {}: malformed entry: time", n - 1),
        );
    }
}

#[test]
fn a_last_entry_without_its_final_newline() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let path = f.bundle.join("entries.jsonl");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.pop();
    std::fs::write(&path, bytes).unwrap();
    assert_both_fail(&f.bundle, &[], "the last entry has no final newline");
}

#[test]
fn empty_lines_and_empty_files() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let path = f.bundle.join("entries.jsonl");
    let good = std::fs::read(&path).unwrap();
    std::fs::write(&path, b"").unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        "bad bundle: entries.jsonl line 1: the file is empty",
    );
    let mut twice = good.clone();
    twice.push(b'\n');
    std::fs::write(&path, &twice).unwrap();
    assert_both_fail(&f.bundle, &[], "an empty line");
    let mut crlf = good.clone();
    crlf.pop();
    crlf.extend_from_slice(b"\r\n");
    std::fs::write(&path, &crlf).unwrap();
    assert_both_fail_alike(&f.bundle, &[], "not canonical JSON");
}

#[test]
fn deep_nesting_is_refused_in_one_line() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let n = l.len();
    let deep = 100_000;
    let mut line = b"{\"x\":".to_vec();
    line.extend(std::iter::repeat_n(b'[', deep));
    line.extend(std::iter::repeat_n(b']', deep));
    line.push(b'}');
    l.push(line);
    f.resign(&l);
    assert_both_fail_alike(&f.bundle, &[], &format!("entry {n}: not canonical JSON"));
    // Within the limit (127 levels, as serde_json's) nesting is only
    // JSON; here it is a field of a kind that has none.
    let mut l = lines(&f.bundle);
    let nested = format!(
        r#"{{"action":"x","actor":"","cause":{}{},"hook":null,"kind":"refused","seq":{n},"time":"{}","v":5}}"#,
        "[".repeat(126),
        "]".repeat(126),
        entry(&l, n - 1)["time"].as_str().unwrap()
    );
    l[n] = nested.into_bytes();
    f.resign(&l);
    assert_both_pass(&f.bundle, &[]);
    let mut l = lines(&f.bundle);
    l[n] = String::from_utf8(l[n].clone())
        .unwrap()
        .replacen('[', "[[", 1)
        .replacen(']', "]]", 1)
        .into_bytes();
    f.resign(&l);
    assert_both_fail_alike(&f.bundle, &[], &format!("entry {n}: not canonical JSON"));
}

#[test]
fn canonical_strings_numbers_and_keys() {
    if !python_ok() {
        return;
    }
    // (cause as it appears in the entry's bytes, canonical?)
    let cases: &[(&str, bool)] = &[
        (r#""plain""#, true),
        ("\"caf\u{e9} \u{1F600} \u{7f}\"", true),
        (r#""caf\u00e9""#, false),
        (r#""\u007f""#, false),
        (r#""\b\f\n\r\t\"\\""#, true),
        (r#""\u0008""#, false),
        (r#""\u0001\u001f""#, true),
        (r#""\u001F""#, false),
        (r#""a\/b""#, false),
        (r#""\ud800""#, false),
        (r#""\ud83d\ude00""#, false),
        ("0", true),
        ("-1", true),
        ("-0", false),
        ("1.0", false),
        ("1e3", false),
        ("18446744073709551615", true),
        ("18446744073709551616", false),
        ("-9223372036854775808", true),
        ("-9223372036854775809", false),
        ("01", false),
        ("true", true),
        ("null", true),
        ("[1,2]", true),
        ("[1, 2]", false),
        (r#"{"a":1,"b":2}"#, true),
        (r#"{"b":1,"a":2}"#, false),
        (r#"{"a":1,"a":1}"#, false),
        (r#"{"é":1,"z":2}"#, false),
        (r#"{"z":1,"é":2}"#, true),
        ("NaN", false),
    ];
    let f = fixture();
    let base = lines(&f.bundle);
    let n = base.len();
    let time = f.last_time();
    for (cause, canonical) in cases {
        let mut l = base.clone();
        l.push(
            format!(
                r#"{{"action":"release","actor":"","cause":{cause},"hook":null,"kind":"refused","seq":{n},"time":"{time}","v":5}}"#
            )
            .into_bytes(),
        );
        f.resign(&l);
        if *canonical {
            assert_both_pass(&f.bundle, &[]);
        } else {
            assert_both_fail_alike(&f.bundle, &[], &format!("entry {n}: not canonical JSON"));
        }
    }
    // Raw control characters and invalid UTF-8 are not JSON at all.
    for bytes in [&b"\"a\x01b\""[..], &b"\"\xff\""[..]] {
        let mut l = base.clone();
        let mut line = br#"{"action":"release","actor":"","cause":"#.to_vec();
        line.extend_from_slice(bytes);
        line.extend_from_slice(
            format!(r#","hook":null,"kind":"refused","seq":{n},"time":"{time}","v":5}}"#)
                .as_bytes(),
        );
        l.push(line);
        f.resign(&l);
        assert_both_fail_alike(&f.bundle, &[], &format!("entry {n}: not canonical JSON"));
    }
}

#[test]
fn a_swapped_officer_certificate_file() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let other = SecretKey::generate_signing("bob").unwrap();
    std::fs::write(
        f.bundle.join("officers/bob.asc"),
        other.public().armored().unwrap(),
    )
    .unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        "officer certificate file does not match the ledger: officers/bob.asc is not the certificate the ledger enrolled for bob",
    );
}

#[test]
fn officer_files_missing_extra_or_misnamed() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let officers = f.bundle.join("officers");
    let carol = std::fs::read(officers.join("carol.asc")).unwrap();
    std::fs::remove_file(officers.join("carol.asc")).unwrap();
    assert_both_fail(&f.bundle, &[], "officers/carol.asc is missing");
    std::fs::write(officers.join("carol.asc"), &carol).unwrap();
    std::fs::write(officers.join("dave.asc"), &carol).unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        "officers/dave.asc is not an officer the ledger enrolled",
    );
    std::fs::remove_file(officers.join("dave.asc")).unwrap();
    std::fs::write(officers.join("README"), b"hi").unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        "officers/README is not NAME.asc for a valid officer name",
    );
    std::fs::remove_file(officers.join("README")).unwrap();
    assert_both_pass(&f.bundle, &[]);
    std::fs::remove_dir_all(&officers).unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "officer certificate file does not match the ledger: {}: No such file or directory (os error 2)",
            officers.display()
        ),
    );
}

#[test]
fn the_same_officer_approving_twice_is_a_duplicate_approval() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "release", 0);
    let mut m = entry(&l, i);
    let mut a = approvals(&m);
    a.push(a[1].clone());
    m.insert("approvals".into(), Value::Array(a.clone()));
    set_entry(&mut l, i, m.clone());
    f.resign(&l);
    // An error, not an approval that does not count: the release has its
    // quorum without it.
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: duplicate approval: bob approves twice"),
    );
    a.truncate(2);
    a[1] = a[0].clone();
    m.insert("approvals".into(), Value::Array(a));
    set_entry(&mut l, i, m);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: duplicate approval: alice approves twice"),
    );
}

#[test]
fn the_actor_must_be_the_approvers() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let i = index_of(&l, "release", 0);
    let mut m = entry(&l, i);
    m.insert("actor".into(), "bob+alice".into());
    set_entry(&mut l, i, m);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: malformed entry: the actor is not the approvers"),
    );
}

#[test]
fn unknown_and_missing_fields_are_errors() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let base = lines(&f.bundle);
    let i = index_of(&base, "displayed", 0);
    let mut l = base.clone();
    let mut m = entry(&l, i);
    m.insert("note".into(), "x".into());
    set_entry(&mut l, i, m);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: malformed entry: a displayed entry has the unknown field \"note\""),
    );
    let mut l = base.clone();
    let mut m = entry(&l, i);
    m.remove("outcome");
    set_entry(&mut l, i, m);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: malformed entry: a displayed entry needs the field \"outcome\""),
    );
    let mut l = base.clone();
    let r = index_of(&l, "release", 0);
    let mut m = entry(&l, r);
    let mut a = approvals(&m);
    a[0]["statement"]["note"] = "x".into();
    m.insert("approvals".into(), Value::Array(a));
    set_entry(&mut l, r, m);
    f.resign(&l);
    if crypto_ok() {
        // The statement no longer matches its signature.
        assert_both_fail(
            &f.bundle,
            &[],
            &format!("entry {r}: bad approval signature"),
        );
    }
    let mut l = base;
    let mut m = entry(&l, 0);
    m.insert("kind".into(), "genesis2".into());
    set_entry(&mut l, 0, m);
    f.resign(&l);
    assert_both_fail(&f.bundle, &[], "entry 0: malformed entry");
}

#[test]
fn deposits_agree_with_their_signed_statements() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let base = lines(&f.bundle);
    let i = index_of(&base, "deposit", 0);
    for (field, value) in [
        ("total", Value::from(4)),
        ("count", Value::from(2)),
        ("item_kind", Value::from("credential")),
        ("min_approvals", Value::from(3)),
    ] {
        let mut l = base.clone();
        let mut m = entry(&l, i);
        m.insert(field.into(), value);
        set_entry(&mut l, i, m);
        f.resign(&l);
        assert_both_fail(
            &f.bundle,
            &[],
            &format!(
                "entry {i}: bad deposit signature: the signed deposit statement does not match"
            ),
        );
    }
    let mut l = base.clone();
    let mut m = entry(&l, i);
    m.insert("actor".into(), "mallory".into());
    set_entry(&mut l, i, m);
    f.resign(&l);
    assert_both_fail(&f.bundle, &[], &format!("entry {i}: unknown officer"));
    if crypto_ok() {
        let mut l = base.clone();
        let mut m = entry(&l, i);
        m["statement"]["items"][0] = "00".repeat(32).into();
        set_entry(&mut l, i, m);
        f.resign(&l);
        assert_both_fail(&f.bundle, &[], &format!("entry {i}: bad deposit signature"));
    }
    let mut l = base;
    let r = index_of(&l, "release", 0);
    let mut m = entry(&l, r);
    m.insert("digest".into(), "00".repeat(32).into());
    set_entry(&mut l, r, m);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {r}: release of an item never deposited"),
    );
}

#[test]
fn clock_entries_may_go_back_only_as_recorded() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let base = lines(&f.bundle);
    let n = base.len();
    let previous = f.last_time();
    let earlier = "2020-01-01T00:00:00Z";
    let clock = |direction: &str, clock: &str, previous: &str, time: &str| {
        format!(
            r#"{{"actor":"","clock":"{clock}","direction":"{direction}","hook":null,"kind":"clock","previous":"{previous}","seq":{n},"time":"{time}","v":5}}"#
        )
        .into_bytes()
    };
    f.append_raw(&clock("behind", earlier, &previous, earlier));
    assert_both_pass(&f.bundle, &[]);
    // A later entry keeps time from there.
    let mut l = lines(&f.bundle);
    l.push(
        format!(
            r#"{{"action":"release","actor":"","cause":"c","hook":null,"kind":"refused","seq":{},"time":"{earlier}","v":5}}"#,
            n + 1
        )
        .into_bytes(),
    );
    f.resign(&l);
    assert_both_pass(&f.bundle, &[]);
    for (entry_bytes, want) in [
        (
            clock("behind", earlier, "2021-01-01T00:00:00Z", earlier),
            "time goes backwards",
        ),
        (
            clock("ahead", earlier, &previous, earlier),
            "time goes backwards",
        ),
        (
            clock("sideways", &previous, &previous, &previous),
            "malformed entry: a clock entry's direction",
        ),
        (
            clock("ahead", earlier, &previous, &previous),
            "malformed entry: a clock entry's direction",
        ),
    ] {
        let mut l = base.clone();
        l.push(entry_bytes);
        f.resign(&l);
        assert_both_fail(&f.bundle, &[], &format!("entry {n}: {want}"));
    }
}

#[test]
fn a_re_release_of_an_unconfirmed_release_is_allowed_once() {
    if !python_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    let mut v = make_vault(&vault);
    let mut req = v.begin_release("gh", REASON).unwrap();
    for o in ["alice", "bob"] {
        v.approve(&mut req, o, &pass(o)).unwrap();
    }
    let mut r = v.complete_release(req).unwrap();
    v.record_display(&mut r, Displayed::TimedOut).unwrap();
    // Not confirmed: the next release takes the same item again.
    release(&mut v, ["bob", "carol"]);
    let bundle = dir.path().join("bundle");
    audit::export(v.store(), &v.ledger_cert(), &bundle).unwrap();
    let out = assert_both_pass(&bundle, &[]);
    assert!(out.contains("2 releases"), "{out}");
    let l = lines(&bundle);
    let second = index_of(&l, "release", 1);
    assert_eq!(entry(&l, second)["re_release_of"], Value::from(r.seq));
    // Pointing it elsewhere, or dropping it, is a double release.
    let rec = LedgerKeyRecord::decode(&v.store().get(Table::Meta, b"ledger_key").unwrap().unwrap())
        .unwrap();
    let key = SecretKey::from_bytes(&rec.tsk).unwrap();
    for change in [Some(Value::from(0)), None] {
        let mut l = lines(&bundle);
        let mut m = entry(&l, second);
        match change {
            Some(x) => m.insert("re_release_of".into(), x),
            None => m.remove("re_release_of"),
        };
        set_entry(&mut l, second, m);
        let tmp = dir.path().join("tampered");
        let _ = std::fs::remove_dir_all(&tmp);
        copy_dir(&bundle, &tmp);
        write_and_resign(&tmp, &l, &key, v.id());
        assert_both_fail(&tmp, &[], &format!("entry {second}: item released twice"));
    }
}

#[test]
fn malformed_checkpoints_name_the_checkpoint() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let body = std::fs::read_to_string(f.bundle.join("checkpoint")).unwrap();
    let n = lines(&f.bundle).len();
    let root = body.lines().nth(2).unwrap().to_string();
    let origin = format!("breakglass/{}", f.vault_id);
    for (bad, want) in [
        (format!("{origin}\n{n}\n{root}"), "no final newline"),
        (format!("{origin}\n0{n}\n{root}\n"), "size is not canonical"),
        (format!("{origin}\n+{n}\n{root}\n"), "size is not canonical"),
        (format!("{origin}\nx\n{root}\n"), "size is not a number"),
        (
            format!("{origin}\n{n}\n{root}\nextra\n"),
            "expected three lines",
        ),
        (
            format!("{origin}\n{n}\nAAAA\n"),
            "root is not 32 bytes of base64",
        ),
        (
            format!("{origin}\r\n{n}\r\n{root}\r\n"),
            "size is not a number",
        ),
        (
            format!("breakglass/{}\n{n}\n{root}\n", "0".repeat(32)),
            "origin mismatch",
        ),
        (
            format!("{origin}\n0\n{}\n", root),
            "entry 0: unsigned entries",
        ),
    ] {
        std::fs::write(f.bundle.join("checkpoint"), &bad).unwrap();
        std::fs::write(
            f.bundle.join("checkpoint.asc"),
            f.ledger_key
                .sign_detached(bad.as_bytes(), 1_800_000_000)
                .unwrap(),
        )
        .unwrap();
        assert_both_fail(&f.bundle, &[], want);
    }
}

// ---------------------------------------------------------------------------
// Random edits: both verifiers must reach the same verdict

/// Every JSON path in `v`, as keys and indices.
fn paths(v: &Value, here: Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let mut p = here.clone();
                p.push(Value::from(k.clone()));
                paths(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let mut p = here.clone();
                p.push(Value::from(i));
                paths(x, p, out);
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match k {
        Value::String(s) => &mut v[s.as_str()],
        _ => &mut v[k.as_u64().unwrap() as usize],
    })
}

fn random_value(rng: &mut impl rand::Rng, near: &Value) -> Value {
    match rng.gen_range(0..12) {
        0 => Value::Null,
        1 => Value::Bool(rng.r#gen()),
        2 => Value::from(rng.gen_range(0..8)),
        3 => Value::from(u64::MAX),
        4 => Value::from(-1),
        5 => Value::from("alice"),
        6 => Value::from("bob+carol"),
        7 => Value::from("2026-11-28T02:32:31Z"),
        8 => serde_json::json!([]),
        9 => serde_json::json!({}),
        10 => match near {
            Value::String(s) if !s.is_empty() => Value::from(&s[..s.len() - 1]),
            Value::Number(n) => Value::from(n.as_u64().unwrap_or(0).saturating_add(1)),
            _ => Value::from("x"),
        },
        _ => Value::from("00".repeat(32)),
    }
}

/// One random edit of a random entry, re-signed as an attacker with the
/// ledger key would. Returns a description.
fn random_edit(f: &Fixture, base: &[Vec<u8>], rng: &mut impl rand::Rng) -> String {
    let mut l = base.to_vec();
    let i = rng.gen_range(0..l.len());
    let mut v = Value::Object(entry(&l, i));
    let kind = v["kind"].as_str().unwrap_or_default().to_string();
    let mut all = Vec::new();
    paths(&v, Vec::new(), &mut all);
    let path = all[rng.gen_range(0..all.len())].clone();
    let what;
    match rng.gen_range(0..3) {
        0 if !path.is_empty() => {
            let (last, parent) = path.split_last().unwrap();
            match at(&mut v, parent) {
                Value::Object(m) => {
                    m.remove(last.as_str().unwrap());
                }
                Value::Array(a) => {
                    a.remove(last.as_u64().unwrap() as usize);
                }
                _ => unreachable!(),
            }
            what = format!("entry {i} ({kind}): remove {path:?}");
        }
        1 if matches!(at(&mut v, &path), Value::Object(_)) => {
            let key = ["note", "v", "actor", "signature", "re_release_of"][rng.gen_range(0..5)];
            let x = random_value(rng, &Value::Null);
            what = format!("entry {i} ({kind}): add {key} = {x} at {path:?}");
            at(&mut v, &path)[key] = x;
        }
        _ => {
            let target = at(&mut v, &path);
            let x = random_value(rng, target);
            what = format!("entry {i} ({kind}): set {path:?} = {x}");
            *target = x;
        }
    }
    l[i] = canonical::to_vec(&v).unwrap();
    f.resign(&l);
    what
}

/// The failure's entry and kind ("entry 4: replayed approval"), or "ok".
fn verdict(res: &Run, prefix: &str) -> String {
    if res.0 == 0 {
        return "ok".into();
    }
    let line = res.2.trim_end().replace(": ledger: ", ": ");
    let line = line.strip_prefix(prefix).unwrap_or(&line);
    let kinds = [
        "not canonical JSON",
        "malformed entry",
        "entry missing",
        "entry inserted",
        "entries reordered",
        "time goes backwards",
        "entries do not match the signed root",
        "bad checkpoint signature",
        "ledger truncated",
        "unsigned entries",
        "origin mismatch",
        "bad deposit signature",
        "bad approval signature",
        "unknown officer",
        "approval for something else",
        "replayed approval",
        "expired approval",
        "release without a quorum",
        "item released twice",
        "bad bundle",
        "vault fingerprint mismatch",
        "release of an item never deposited",
        "duplicate approval",
        "officer certificate file does not match the ledger",
        "ledger certificate file does not match the ledger",
    ];
    match kinds
        .iter()
        .filter_map(|k| line.find(k).map(|p| p + k.len()))
        .min()
    {
        Some(end) => line[..end].to_string(),
        None => line.to_string(),
    }
}

/// Random edits of every kind of entry; the two verifiers must agree on
/// each: the same verdict, and the same line unless it quotes a parser.
/// `PYVERIFY_EDITS` sets how many (default 40 per fixture),
/// `PYVERIFY_SEED` the seed.
#[test]
fn random_edits_get_the_same_verdict() {
    if !python_ok() || !crypto_ok() {
        return;
    }
    random_edits(&fixture(), 7);
}

/// The same on a ledger with ceremonies.
#[test]
fn random_edits_of_ceremonies_get_the_same_verdict() {
    if !python_ok() || !crypto_ok() {
        return;
    }
    random_edits(&ceremony_fixture(), 11);
}

fn random_edits(f: &Fixture, default_seed: u64) {
    use rand::SeedableRng;
    let n: usize = std::env::var("PYVERIFY_EDITS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let seed: u64 = std::env::var("PYVERIFY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_seed);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let base = lines(&f.bundle);
    for _ in 0..n {
        let what = random_edit(f, &base, &mut rng);
        let (py, rs) = (python_with(&[], &f.bundle, &[]), rust(&f.bundle, &[]));
        let (py_verdict, rs_verdict) = (
            verdict(&py, "verify-ledger: "),
            verdict(&rs, "breakglass: ledger verification failed: "),
        );
        println!("{what} -> {py_verdict}");
        assert_eq!(py_verdict, rs_verdict, "{what}");
        // The same words too, except where a detail quotes a parser: the
        // JSON parser's (not canonical JSON) or the OpenPGP library's.
        let rs_line = rs.2.trim_end().replace(": ledger: ", ": ").replace(
            "(this breakglass reads version",
            "(this verifier reads version",
        );
        if !rs_line.contains("OpenPGP: ") && !rs_verdict.ends_with("not canonical JSON") {
            assert_eq!(
                py.2.trim_end()
                    .strip_prefix("verify-ledger: ")
                    .unwrap_or_default(),
                rs_line
                    .strip_prefix("breakglass: ledger verification failed: ")
                    .unwrap_or_default(),
                "{what}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Ceremonies (officer add, officer remove, rekey), backup and restore

#[test]
fn a_ledger_with_ceremonies_verifies() {
    if !python_ok() {
        return;
    }
    let f = ceremony_fixture();
    let out = assert_both_pass(&f.bundle, &["--pin", &f.fingerprint]);
    // The release after the backup is not in the restored ledger.
    assert!(
        out.contains("3 releases") && out.contains("3 officers"),
        "{out}"
    );
    let l = lines(&f.bundle);
    for kind in ["rekey", "backup", "restored", "gap_acknowledged"] {
        index_of(&l, kind, 0);
    }
    // Every officer ever enrolled has a certificate file, carol too.
    for o in ["alice", "bob", "carol", "dave"] {
        assert!(f.bundle.join(format!("officers/{o}.asc")).is_file());
    }
}

#[test]
fn tampered_ceremonies() {
    if !python_ok() {
        return;
    }
    let f = ceremony_fixture();
    let base = lines(&f.bundle);
    let add = index_of(&base, "rekey", 0);
    let remove = index_of(&base, "rekey", 1);
    let rekey = index_of(&base, "rekey", 2);
    let edit = |i: usize, change: &dyn Fn(&mut Map<String, Value>)| {
        let mut l = base.clone();
        let mut m = entry(&l, i);
        change(&mut m);
        set_entry(&mut l, i, m);
        f.resign(&l);
    };
    // The threshold the approvers did not sign.
    edit(rekey, &|m| {
        m.insert("threshold".into(), 2.into());
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {rekey}: approval for something else"),
    );
    // One approval short.
    edit(remove, &|m| {
        let mut a = approvals(m);
        a.pop();
        m.insert("approvals".into(), Value::Array(a));
        m.insert("actor".into(), "bob".into());
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {remove}: release without a quorum"),
    );
    // The removed officer still approving afterwards.
    edit(add, &|m| {
        m.insert("added".into(), serde_json::json!([]));
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {add}: malformed entry: added and removed do not match"),
    );
    edit(add, &|m| {
        m.insert("pending".into(), serde_json::json!({}));
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {add}: malformed entry: pending does not deliver"),
    );
    edit(rekey, &|m| {
        m["secrets"][0]["items"][0]["state"] = "available".into();
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {rekey}: malformed entry: the ceremony carries gh #1 in another state"),
    );
    edit(rekey, &|m| {
        m.insert("secrets".into(), serde_json::json!([]));
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {rekey}: malformed entry: the ceremony does not carry every secret"),
    );
    edit(rekey, &|m| {
        m.insert("epoch".into(), 5.into());
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {rekey}: malformed entry: a ceremony opens the next epoch"),
    );
    // A ceremony's nonce reused by the next one.
    let nonce = entry(&base, add)["nonce"].clone();
    edit(remove, &|m| {
        m.insert("nonce".into(), nonce.clone());
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {remove}: replayed approval"),
    );
    // What a ceremony carries: objects with exactly their fields, a
    // minimum that is a number or null, a release that is an entry number.
    let bad_secrets: [(&Change, &str); 7] = [
        (
            &|m| m["secrets"][0]["note"] = 1.into(),
            "a carried secret has the unknown field \"note\"",
        ),
        (
            &|m| {
                m["secrets"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("min_approvals");
            },
            "gh's min_approvals is not a number",
        ),
        (
            &|m| m["secrets"][0]["min_approvals"] = "2".into(),
            "gh's min_approvals is not a number",
        ),
        (
            &|m| m["secrets"][0]["items"][0]["release"] = "x".into(),
            "a carried item's release is not an entry number",
        ),
        (
            &|m| m["secrets"][0]["items"][1]["note"] = 1.into(),
            "a carried item has the unknown field \"note\"",
        ),
        (
            &|m| m["secrets"][0]["items"][0] = 5.into(),
            "a carried item is not an object",
        ),
        (
            &|m| m["secrets"][0] = 5.into(),
            "a carried secret is not an object",
        ),
    ];
    for (change, want) in bad_secrets {
        edit(rekey, change);
        assert_both_fail(
            &f.bundle,
            &[],
            &format!("entry {rekey}: malformed entry: {want}"),
        );
    }
    // Officers removed from officers/ that a ceremony enrolled.
    let mut l = base.clone();
    l.truncate(l.len());
    f.resign(&l);
    std::fs::remove_file(f.bundle.join("officers/dave.asc")).unwrap();
    assert_both_fail(&f.bundle, &[], "officers/dave.asc is missing");
}

#[test]
fn tampered_gap_acknowledgements() {
    if !python_ok() {
        return;
    }
    let f = ceremony_fixture();
    let base = lines(&f.bundle);
    let i = index_of(&base, "gap_acknowledged", 0);
    let restored = index_of(&base, "restored", 0);
    assert_eq!(entry(&base, i)["restored"], Value::from(restored));
    let edit = |change: &dyn Fn(&mut Map<String, Value>)| {
        let mut l = base.clone();
        let mut m = entry(&l, i);
        change(&mut m);
        set_entry(&mut l, i, m);
        f.resign(&l);
    };
    edit(&|m| {
        let mut a = approvals(m);
        a.pop();
        m.insert("approvals".into(), Value::Array(a));
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: release without a quorum: 2 officers acknowledged the gap, 3 needed"),
    );
    edit(&|m| {
        m.insert("restored".into(), Value::from(restored - 1));
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "entry {i}: malformed entry: entry {} is not a restore without replay waiting for acknowledgement",
            restored - 1
        ),
    );
    edit(&|m| {
        let mut a = approvals(m);
        a[2] = a[0].clone();
        m.insert("approvals".into(), Value::Array(a));
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: duplicate approval: alice approves twice"),
    );
    if crypto_ok() {
        edit(&|m| {
            let mut a = approvals(m);
            a[1]["signature"] = a[0]["signature"].clone();
            m.insert("approvals".into(), Value::Array(a));
        });
        assert_both_fail(
            &f.bundle,
            &[],
            &format!("entry {i}: bad approval signature"),
        );
    }
    // The nonce is used once, by a release, a ceremony or an
    // acknowledgement.
    let r = index_of(&base, "release", 0);
    let used = entry(&base, r)["nonce"].clone();
    edit(&|m| {
        m.insert("nonce".into(), used.clone());
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: replayed approval: the nonce was already used by entry {r}"),
    );
    // Signed statements for another nonce: each verifies, none is this
    // acknowledgement.
    let first = approvals(&entry(&base, i))[0]["officer"]
        .as_str()
        .unwrap()
        .to_string();
    edit(&|m| {
        m.insert("nonce".into(), "ff".repeat(16).into());
    });
    if crypto_ok() {
        assert_both_fail(
            &f.bundle,
            &[],
            &format!(
                "entry {i}: approval for something else: {first}'s acknowledgement is for something else"
            ),
        );
    }
    let bad_acks: [(&Change, String); 6] = [
        (
            &|m| m["approvals"][1]["note"] = "x".into(),
            "malformed entry: an approval has the unknown field \"note\"".into(),
        ),
        (
            &|m| m["approvals"][0] = 5.into(),
            "malformed entry: approval is not an object".into(),
        ),
        (
            &|m| {
                m["approvals"][0].as_object_mut().unwrap().remove("officer");
            },
            "malformed entry: no string field \"officer\"".into(),
        ),
        (
            &|m| {
                m["approvals"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("signature");
            },
            format!("bad approval signature: {first}'s acknowledgement has no signature"),
        ),
        (
            &|m| m["approvals"] = serde_json::json!({}),
            "malformed entry: no approvals".into(),
        ),
        (
            &|m| m["actor"] = "bob+alice+dave".into(),
            "malformed entry: the actor is not the approvers joined by \"+\"".into(),
        ),
    ];
    for (change, want) in bad_acks {
        edit(change);
        assert_both_fail(&f.bundle, &[], &format!("entry {i}: {want}"));
    }
    // The restore: a gap that is true or false, counts that are numbers;
    // only a gap waits for an acknowledgement, and for one only.
    let waiting = format!(
        "malformed entry: entry {restored} is not a restore without replay waiting for acknowledgement"
    );
    for (gap, want) in [
        (
            Value::from("yes"),
            format!("entry {restored}: malformed entry: gap is not true or false"),
        ),
        (
            Value::Null,
            format!("entry {restored}: malformed entry: gap is not true or false"),
        ),
        (
            Value::from(false),
            format!("entry {restored}: restore record disagrees with the ledger: it claims no gap"),
        ),
    ] {
        let mut l = base.clone();
        let mut m = entry(&l, restored);
        m.insert("gap".into(), gap);
        set_entry(&mut l, restored, m);
        f.resign(&l);
        assert_both_fail(&f.bundle, &[], &want);
    }
    let mut l = base.clone();
    let mut m = entry(&l, restored);
    m.insert("backup_entries".into(), "x".into());
    set_entry(&mut l, restored, m);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {restored}: malformed entry: no integer field \"backup_entries\""),
    );
    let mut l = base.clone();
    let n = l.len();
    let mut again = entry(&l, i);
    again.insert("seq".into(), Value::from(n));
    again.insert("time".into(), entry(&base, n - 1)["time"].clone());
    l.push(canonical::to_vec(&Value::Object(again)).unwrap());
    f.resign(&l);
    assert_both_fail(&f.bundle, &[], &format!("entry {n}: {waiting}"));
}

/// The releases and a restore without replay, its gap acknowledged, of
/// `ceremony_fixture`: what the ledger key alone cannot make it say.
#[test]
fn tampered_restores() {
    if !python_ok() {
        return;
    }
    let f = ceremony_fixture();
    let base = lines(&f.bundle);
    let r = index_of(&base, "restored", 0);
    let ack = index_of(&base, "gap_acknowledged", 0);
    let after = index_of(&base, "release", 2);
    assert!(r < ack && ack < after, "{r} {ack} {after}");
    let edit = |i: usize, change: &dyn Fn(&mut Map<String, Value>)| {
        let mut l = base.clone();
        let mut m = entry(&l, i);
        change(&mut m);
        set_entry(&mut l, i, m);
        f.resign(&l);
    };
    // The acknowledgement rewritten into an innocuous entry: the release
    // after it now follows an unacknowledged gap.
    edit(ack, &|m| {
        for k in ["restored", "nonce", "approvals"] {
            m.remove(k);
        }
        m.insert("kind".into(), "backup".into());
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "entry {after}: release or ceremony inside an unacknowledged restore gap: a release follows the restore in entry {r}"
        ),
    );
    // The acknowledgement re-dated (and every entry after it): its
    // officers signed its time.
    if crypto_ok() {
        let mut l = base.clone();
        for j in ack..l.len() {
            let mut m = entry(&l, j);
            let t = breakglass::clock::parse_rfc3339(m["time"].as_str().unwrap()).unwrap();
            m.insert("time".into(), breakglass::clock::rfc3339(t + 60).into());
            set_entry(&mut l, j, m);
        }
        f.resign(&l);
        assert_both_fail(
            &f.bundle,
            &[],
            &format!(
                "entry {ack}: approval for something else: alice's acknowledgement is for something else"
            ),
        );
    }
    // The gap denied, with nothing to prove the restored ledger complete.
    edit(r, &|m| {
        m.insert("gap".into(), false.into());
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "entry {r}: restore record disagrees with the ledger: it claims no gap, but no evidence proves"
        ),
    );
    // Numbers that do not add up to the entries before it.
    for (k, by) in [("backup_entries", 1), ("replayed", 2)] {
        edit(r, &|m| {
            let n = m[k].as_u64().unwrap();
            m.insert(k.into(), (n + by).into());
        });
        assert_both_fail(
            &f.bundle,
            &[],
            &format!("entry {r}: restore record disagrees with the ledger: it restores"),
        );
    }
    // A checkpoint beyond that the restore would reach.
    edit(r, &|m| {
        m.insert("beyond".into(), r.into());
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {r}: restore record disagrees with the ledger: beyond names a checkpoint"),
    );
}

/// A restore whose evidence, a checkpoint collected before a release,
/// lifted the guard: the `restored` entry carries the checkpoint and a
/// consistency proof, which both verifiers check against the entries
/// before it.
#[test]
fn a_restore_proves_its_evidence() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let collected = f.root.join("collected");
    copy_dir(&f.bundle, &collected);
    let mut v = Vault::open(&f.vault).unwrap();
    release(&mut v, ["alice", "carol"]);
    let backup = f.root.join("backup");
    v.backup(&backup).unwrap();
    drop(v);
    let dest = f.root.join("restored");
    let (v, report) = Vault::restore(
        &backup,
        &dest,
        None,
        &[collected.join("checkpoint")],
        std::sync::Arc::new(breakglass::clock::SystemClock::default()),
    )
    .unwrap();
    assert!(!report.gap, "the collected checkpoint is reached");
    let bundle = f.root.join("restored-bundle");
    audit::export(v.store(), &v.ledger_cert(), &bundle).unwrap();
    drop(v);
    assert_both_pass(&bundle, &["--pin", &f.fingerprint]);
    let base = lines(&bundle);
    let r = index_of(&base, "restored", 0);
    let m = entry(&base, r);
    assert_eq!(m["gap"], false);
    let proof = m["evidence"]["proof"].as_array().unwrap();
    assert!(
        !proof.is_empty(),
        "the checkpoint is a proper prefix: {m:?}"
    );
    let edit = |change: &dyn Fn(&mut Map<String, Value>)| {
        let mut l = base.clone();
        let mut m = entry(&l, r);
        change(&mut m);
        set_entry(&mut l, r, m);
        write_and_resign(&bundle, &l, &f.ledger_key, &f.vault_id);
    };
    let unproved =
        format!("entry {r}: restore record disagrees with the ledger: its evidence does not prove");
    // Evidence forged for a checkpoint the ledger never signed: another
    // root, another size, a proof hash changed or dropped.
    let changes: [&Change; 5] = [
        &|m| m["evidence"]["root"] = Value::from(STANDARD.encode([7u8; 32])),
        &|m| {
            let n = m["evidence"]["size"].as_u64().unwrap();
            m["evidence"]["size"] = (n - 1).into();
        },
        &|m| m["evidence"]["proof"][0] = Value::from(STANDARD.encode([7u8; 32])),
        &|m| {
            m["evidence"]["proof"].as_array_mut().unwrap().pop();
        },
        &|m| m["evidence"]["size"] = 0.into(),
    ];
    for change in changes {
        edit(change);
        assert_both_fail(&bundle, &[], &unproved);
    }
    // The gap claimed although the evidence proves none.
    edit(&|m| {
        m.insert("gap".into(), true.into());
    });
    assert_both_fail(
        &bundle,
        &[],
        &format!("entry {r}: restore record disagrees with the ledger: it claims a gap, yet"),
    );
    edit(&|m| m["evidence"]["root"] = "not base64".into());
    assert_both_fail(
        &bundle,
        &[],
        &format!("entry {r}: malformed entry: the evidence's root is not a base64 SHA-256 hash"),
    );
    edit(&|m| m["evidence"]["extra"] = 1.into());
    assert_both_fail(
        &bundle,
        &[],
        &format!("entry {r}: malformed entry: the evidence has the unknown field \"extra\""),
    );
}

// ---------------------------------------------------------------------------
// What breakglass 0.2 let through and both verifiers now refuse

#[test]
fn releases_and_deposits_with_fields_of_the_wrong_type() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let base = lines(&f.bundle);
    let d = index_of(&base, "deposit", 0);
    let r = index_of(&base, "release", 0);
    let shown = index_of(&base, "displayed", 0);
    let digest = entry(&base, r)["digest"].as_str().unwrap().to_string();
    let cases: [(usize, &str, Value, String); 5] = [
        (
            r,
            "re_release_of",
            "x".into(),
            format!("entry {r}: malformed entry: re_release_of is not an entry number"),
        ),
        (
            r,
            "re_release_of",
            Value::Null,
            format!("entry {r}: malformed entry: re_release_of is not an entry number"),
        ),
        (
            d,
            "min_approvals",
            "2".into(),
            format!("entry {d}: malformed entry: min_approvals is neither a number nor null"),
        ),
        // The largest index is named as breakglass names it, saturating.
        (
            r,
            "index",
            u64::MAX.into(),
            format!(
                "entry {r}: release of an item never deposited: gh #18446744073709551615 with digest {digest} is not an item any deposit signed"
            ),
        ),
        (
            shown,
            "index",
            u64::MAX.into(),
            format!(
                "entry {shown}: malformed entry: entry {r} is not the release of gh #18446744073709551615 by its actor"
            ),
        ),
    ];
    for (i, field, value, want) in cases {
        let mut l = base.clone();
        let mut m = entry(&l, i);
        m.insert(field.into(), value);
        set_entry(&mut l, i, m);
        f.resign(&l);
        assert_both_fail(&f.bundle, &[], &want);
    }
}

/// A canonical-text (type 0x01) detached signature over `data` by `key`,
/// armored: good OpenPGP, but not the binary-document signature that
/// docs/LEDGER.md §3.5 requires.
fn text_signature(key: &SecretKey, data: &[u8]) -> String {
    use openpgp::parse::Parse;
    use openpgp::serialize::Serialize;
    use sequoia_openpgp as openpgp;
    let cert = openpgp::Cert::from_bytes(key.to_bytes().unwrap().expose_secret()).unwrap();
    let public = cert.primary_key().key().clone();
    let mut signer = public
        .clone()
        .parts_into_secret()
        .unwrap()
        .into_keypair()
        .unwrap();
    let sig =
        openpgp::packet::signature::SignatureBuilder::new(openpgp::types::SignatureType::Text)
            .set_signature_creation_time(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000),
            )
            .unwrap()
            .sign_message(&mut signer, data)
            .unwrap();
    // It verifies, as a text signature.
    sig.verify_message(&public, data).unwrap();
    let mut out = Vec::new();
    let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::Signature).unwrap();
    openpgp::Packet::from(sig).serialize(&mut w).unwrap();
    w.finalize().unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_canonical_text_signature_is_not_a_binary_one() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let body = std::fs::read(f.bundle.join("checkpoint")).unwrap();
    std::fs::write(
        f.bundle.join("checkpoint.asc"),
        text_signature(&f.ledger_key, &body),
    )
    .unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "bad checkpoint signature: the bundle's checkpoint (size {}) does not verify with ledger key {}",
            lines(&f.bundle).len(),
            f.ledger_key.fingerprint()
        ),
    );
}

/// `text` padded with newlines to `len` bytes.
fn padded(text: &[u8], len: usize) -> Vec<u8> {
    let mut v = text.to_vec();
    v.resize(len, b'\n');
    v
}

#[test]
fn bundle_files_over_64_kib_are_refused_not_cut() {
    if !python_ok() {
        return;
    }
    const MAX: usize = 64 * 1024;
    let f = fixture();
    let b = f.bundle.display();
    for (file, want) in [
        (
            "checkpoint.asc",
            format!("bad bundle: {b}/checkpoint.asc is larger than 65536 bytes"),
        ),
        (
            "officers/bob.asc",
            "officer certificate file does not match the ledger: officers/bob.asc is larger than 65536 bytes".to_string(),
        ),
        (
            "ledger-cert.asc",
            format!(
                "ledger certificate file does not match the ledger: {b}/ledger-cert.asc is larger than 65536 bytes"
            ),
        ),
    ] {
        let path = f.bundle.join(file);
        let good = std::fs::read(&path).unwrap();
        std::fs::write(&path, padded(&good, MAX)).unwrap();
        assert_both_pass(&f.bundle, &[]);
        std::fs::write(&path, padded(&good, MAX + 1)).unwrap();
        assert_both_fail(&f.bundle, &[], &want);
        std::fs::write(&path, &good).unwrap();
    }
    let path = f.bundle.join("checkpoint");
    let body = std::fs::read(&path).unwrap();
    std::fs::write(&path, padded(&body, MAX + 1)).unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("bad bundle: {b}/checkpoint is larger than 65536 bytes"),
    );
    let mut bytes = body;
    bytes.push(0xff);
    std::fs::write(&path, &bytes).unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("bad bundle: {b}/checkpoint: stream did not contain valid UTF-8"),
    );
}

#[test]
fn a_ledger_certificate_file_must_be_the_ledger_key() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let path = f.bundle.join("ledger-cert.asc");
    let good = std::fs::read(&path).unwrap();
    let bob = std::fs::read(f.bundle.join("officers/bob.asc")).unwrap();
    let other = SecretKey::generate_signing("breakglass ledger")
        .unwrap()
        .public()
        .armored()
        .unwrap();
    let want = "ledger certificate file does not match the ledger: ledger-cert.asc is not the ledger key the genesis entry names";
    // Another key, an officer's, the ledger key with another certificate
    // after it, something else, nothing.
    for bad in [
        other.into_bytes(),
        bob.clone(),
        [&good[..], &bob[..]].concat(),
        b"not a certificate\n".to_vec(),
        Vec::new(),
    ] {
        std::fs::write(&path, &bad).unwrap();
        assert_both_fail(&f.bundle, &[], want);
    }
    let mut bytes = good.clone();
    bytes.push(0xff);
    std::fs::write(&path, &bytes).unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "ledger certificate file does not match the ledger: {}: stream did not contain valid UTF-8",
            path.display()
        ),
    );
    // Checked after officers/: the two certificates swapped name the
    // officer's file.
    std::fs::write(&path, &bob).unwrap();
    std::fs::write(f.bundle.join("officers/bob.asc"), &good).unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        "officer certificate file does not match the ledger: officers/bob.asc is not the certificate the ledger enrolled for bob",
    );
    std::fs::write(f.bundle.join("officers/bob.asc"), &bob).unwrap();
    // Absent, or not a file: not looked at.
    std::fs::remove_file(&path).unwrap();
    assert_both_pass(&f.bundle, &[]);
    std::fs::create_dir(&path).unwrap();
    assert_both_pass(&f.bundle, &[]);
}

#[test]
fn state_files_hold_exactly_origin_size_and_root() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let state = f.root.join("state.json");
    let s = state.to_str().unwrap();
    assert_eq!(rust(&f.bundle, &["--state", s]).0, 0);
    let good: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let (origin, size, root) = (&good["origin"], &good["size"], &good["root"]);
    let unreadable = format!("unreadable state file: {s}: ");
    for (text, want) in [
        (
            serde_json::json!({"origin": origin, "size": size, "root": root, "note": "x"}),
            "unknown field `note`, expected one of `origin`, `size`, `root`",
        ),
        (
            serde_json::json!({"origin": origin, "size": 0, "root": root}),
            "size 0: a ledger holds at least its genesis",
        ),
        (
            serde_json::json!({"origin": origin, "size": 0, "root": "x"}),
            "size 0: a ledger holds at least its genesis",
        ),
        (
            serde_json::json!({"origin": origin, "size": size}),
            "missing field `root`",
        ),
        (
            serde_json::json!({"origin": origin, "size": "5", "root": root}),
            "invalid type: string \"5\", expected u64",
        ),
        (
            serde_json::json!({"origin": origin, "size": -1, "root": root}),
            "invalid value: integer `-1`, expected u64",
        ),
        (
            serde_json::json!({"origin": null, "size": size, "root": 7}),
            "invalid type: null, expected a string",
        ),
        (serde_json::json!([origin, size, root]), "not a JSON object"),
    ] {
        std::fs::write(&state, text.to_string()).unwrap();
        assert_both_fail(&f.bundle, &["--state", s], &format!("{unreadable}{want}"));
    }
    std::fs::write(
        &state,
        serde_json::json!({"origin": origin, "size": size, "root": "AAAA"}).to_string(),
    )
    .unwrap();
    assert_both_fail(
        &f.bundle,
        &["--state", s],
        "unreadable state file: root is not 32 bytes of base64",
    );
    std::fs::write(&state, format!("{good} x")).unwrap();
    assert_both_fail_alike(&f.bundle, &["--state", s], "unreadable state file");
    // A member given twice counts once, with its last value.
    let twice = format!(r#"{{"origin":{origin},"size":0,"root":{root},"size":{size}}}"#);
    for verifier in [python, rust] {
        std::fs::write(&state, &twice).unwrap();
        let (code, _, err) = verifier(&f.bundle, &["--state", s]);
        assert_eq!(code, 0, "{err}");
    }
}

/// An alert hook set and cleared (issue 8): both verifiers accept the
/// signed `alerts` entries, and both refuse one whose program was changed
/// and re-signed by the ledger key, since the officer's statement names
/// another program.
#[test]
fn alert_hook_changes_are_checked_alike() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let true_bin = ["/bin/true", "/usr/bin/true"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("a true program");
    let a = format!("{}\n", OFFICERS[0].1);
    cli(
        &f.vault,
        &["alerts", "set", "--officer", "alice", "--", true_bin],
        &a,
    );
    cli(&f.vault, &["alerts", "clear", "--officer", "alice"], &a);
    let bundle = f.root.join("alerts-bundle");
    {
        let v = Vault::open(&f.vault).unwrap();
        audit::export(v.store(), &v.ledger_cert(), &bundle).unwrap();
    }
    assert_both_pass(&bundle, &[]);
    if !crypto_ok() {
        return;
    }
    let base = lines(&bundle);
    let i = index_of(&base, "alerts", 0);
    // Alerts switched off in the ledger itself: the entry after the `set`
    // names no hook in force. Re-signed with the vault's ledger key.
    let mut l = base.clone();
    let mut m = entry(&l, i + 1);
    assert_eq!(m["hook"], Value::from(i));
    m.insert("hook".into(), Value::Null);
    set_entry(&mut l, i + 1, m);
    write_and_resign(&bundle, &l, &f.ledger_key, &f.vault_id);
    assert_both_fail(
        &bundle,
        &[],
        &format!(
            "entry {}: wrong alert hook in force: it names none as the alerts entry in force, but the latest alerts entry before it is entry {i}",
            i + 1
        ),
    );
    let mut l = base;
    let mut m = entry(&l, i);
    m.insert("program".into(), "/tmp/evil".into());
    set_entry(&mut l, i, m);
    write_and_resign(&bundle, &l, &f.ledger_key, &f.vault_id);
    assert_both_fail(
        &bundle,
        &[],
        &format!(
            "entry {i}: approval for something else: the signed alerts statement does not match the entry"
        ),
    );
}

#[test]
fn the_vaults_argon2_settings_are_bounded_at_genesis_and_carried_by_ceremonies() {
    if !python_ok() {
        return;
    }
    let f = ceremony_fixture();
    let base = lines(&f.bundle);
    let add = index_of(&base, "rekey", 0);
    let edit = |i: usize, change: &dyn Fn(&mut Map<String, Value>)| {
        let mut l = base.clone();
        let mut m = entry(&l, i);
        change(&mut m);
        set_entry(&mut l, i, m);
        f.resign(&l);
    };
    let kdf = |mem: u64, it: u64, lanes: u64| -> Value {
        serde_json::json!({"memory_kib": mem, "iterations": it, "parallelism": lanes})
    };
    let bounded = "malformed entry: kdf is not Argon2 settings within bounds";
    // Each row: the genesis settings a rewrite states, and what both
    // verifiers say.
    let rows: Vec<(&str, Value, String)> = vec![
        (
            "4 TiB of memory",
            kdf(u64::from(u32::MAX), 1, 4),
            format!("entry 0: {bounded}"),
        ),
        (
            "memory not in whole MiB",
            kdf(8 * 1024 + 1, 1, 4),
            format!("entry 0: {bounded}"),
        ),
        (
            "no passes",
            kdf(8 * 1024, 0, 4),
            format!("entry 0: {bounded}"),
        ),
        (
            "65 passes",
            kdf(8 * 1024, 65, 4),
            format!("entry 0: {bounded}"),
        ),
        (
            "17 lanes",
            kdf(8 * 1024, 1, 17),
            format!("entry 0: {bounded}"),
        ),
        (
            "a string",
            Value::from("8 MiB"),
            format!("entry 0: {bounded}"),
        ),
        (
            "a fourth field",
            serde_json::json!({"memory_kib": 8192, "iterations": 1, "parallelism": 4, "salt": 1}),
            format!("entry 0: {bounded}"),
        ),
        (
            "other settings than the ceremonies carry",
            kdf(16 * 1024, 1, 4),
            format!("entry {add}: malformed entry: a ceremony changes the vault's Argon2 settings"),
        ),
    ];
    for (what, value, want) in rows {
        edit(0, &|m| {
            m.insert("kdf".into(), value.clone());
        });
        eprintln!("genesis kdf: {what}");
        assert_both_fail(&f.bundle, &[], &want);
    }
    edit(0, &|m| {
        m.remove("kdf");
    });
    assert_both_fail(
        &f.bundle,
        &[],
        "entry 0: malformed entry: a genesis entry needs the field \"kdf\"",
    );
    // A ceremony that lowers the settings its approvers signed.
    edit(add, &|m| {
        m.insert("kdf".into(), kdf(8 * 1024, 1, 1));
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {add}: malformed entry: a ceremony changes the vault's Argon2 settings"),
    );
}

/// The Python verifier's consistency-proof check agrees with the RFC 6962
/// known answers, and refuses each proof with a hash changed or dropped.
#[test]
fn the_python_consistency_check_meets_the_known_answers() {
    if !python_ok() {
        return;
    }
    let program = r#"
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("v", sys.argv[1])
v = importlib.util.module_from_spec(spec)
spec.loader.exec_module(v)
d = json.load(open(sys.argv[2]))
roots = {r["size"]: bytes.fromhex(r["root_hex"]) for r in d["roots"]}
for c in d["consistency"]:
    m, n = c["old_size"], c["new_size"]
    p = [bytes.fromhex(h) for h in c["proof_hex"]]
    assert v.verify_consistency(m, n, roots[m], roots[n], p), (m, n)
    for i in range(len(p)):
        bad = list(p)
        bad[i] = bytes(32)
        assert not v.verify_consistency(m, n, roots[m], roots[n], bad), (m, n, i)
        assert not v.verify_consistency(m, n, roots[m], roots[n], p[:i] + p[i + 1:]), (m, n, i)
    if m < n:
        assert not v.verify_consistency(m, n, roots[n], roots[n], p), (m, n)
print(len(d["consistency"]))
"#;
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc6962.json");
    let mut c = Command::new("python3");
    c.arg("-c").arg(program).arg(script()).arg(data);
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim().parse::<u32>().unwrap() >= 5, "{out}");
}

// ---------------------------------------------------------------------------
// What the ledger key alone cannot forge: a release's item and approver
// set (its receipts), and how its display ended (an approver's signature).

/// A vault where alice, bob and carol all approve one release (threshold
/// 2), its display confirmed; exported, with the ledger key taken from the
/// vault directory.
fn three_approver_fixture() -> Fixture {
    let f = fixture();
    let mut v = Vault::open(&f.vault).unwrap();
    let mut req = v.begin_release("gh", REASON).unwrap();
    for o in ["alice", "bob", "carol"] {
        v.approve(&mut req, o, &pass(o)).unwrap();
    }
    let mut r = v.complete_release(req).unwrap();
    v.record_display(&mut r, Displayed::Confirmed).unwrap();
    let _ = std::fs::remove_dir_all(&f.bundle);
    audit::export(v.store(), &v.ledger_cert(), &f.bundle).unwrap();
    f
}

#[test]
fn a_release_moved_to_another_item_fails_both() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let base = lines(&f.bundle);
    let i = index_of(&base, "release", 1);
    assert_eq!(entry(&base, i)["index"], 1);
    // The deposit's third code, with its signed digest: a code nobody
    // released, so the double-release rule does not see it.
    let mut l = base.clone();
    let mut m = entry(&l, i);
    let deposit = entry(&l, index_of(&l, "deposit", 0));
    let third = deposit["statement"]["items"][2].clone();
    m.insert("index".into(), 2.into());
    m.insert("digest".into(), third);
    set_entry(&mut l, i, m);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "entry {i}: release of another item than the next: it takes gh #3, but the next item the ledger allows is #2"
        ),
    );
}

#[test]
fn an_approver_dropped_from_a_release_fails_both() {
    if !python_ok() {
        return;
    }
    let f = three_approver_fixture();
    let base = lines(&f.bundle);
    let i = index_of(&base, "release", 2);
    let m = entry(&base, i);
    assert_eq!(m["actor"], "alice+bob+carol");
    // carol's approval dropped, the actor made to match: two approvals
    // still reach the threshold, and every one of them verifies.
    let drop_carol = |m: &mut Map<String, Value>| {
        let mut a = approvals(m);
        a.pop();
        m.insert("approvals".into(), Value::Array(a));
        m.insert("actor".into(), "alice+bob".into());
    };
    let mut l = base.clone();
    let mut e = m.clone();
    drop_carol(&mut e);
    set_entry(&mut l, i, e);
    // The display names the release's actor: rewritten to match too.
    let d = index_of(&l, "displayed", 2);
    let mut shown = entry(&l, d);
    shown.insert("actor".into(), "alice+bob".into());
    set_entry(&mut l, d, shown);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: bad receipt signature: 3 receipts for 2 approvers"),
    );
    // Her receipt dropped as well: the others signed a set of three.
    let mut e = entry(&l, i);
    let mut r = e["receipts"].as_array().unwrap().clone();
    r.pop();
    e.insert("receipts".into(), Value::Array(r));
    set_entry(&mut l, i, e);
    f.resign(&l);
    if crypto_ok() {
        assert_both_fail(
            &f.bundle,
            &[],
            &format!(
                "entry {i}: bad receipt signature: alice's receipt does not verify: the entry is not the one its approvers signed"
            ),
        );
    }
    // Receipts out of order, or one short of its signature.
    let mut l = base.clone();
    let mut e = m.clone();
    let mut r = e["receipts"].as_array().unwrap().clone();
    r.swap(0, 1);
    e.insert("receipts".into(), Value::Array(r));
    set_entry(&mut l, i, e);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "entry {i}: bad receipt signature: a receipt is bob's where alice's belongs (approval order)"
        ),
    );
    let mut l = base.clone();
    let mut e = m.clone();
    e["receipts"][1]
        .as_object_mut()
        .unwrap()
        .remove("signature");
    set_entry(&mut l, i, e);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: bad receipt signature: bob's receipt has no signature"),
    );
    let mut l = base.clone();
    let mut e = m.clone();
    e["receipts"][1]["note"] = 1.into();
    set_entry(&mut l, i, e);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {i}: malformed entry: a receipt has the unknown field \"note\""),
    );
}

#[test]
fn a_display_outcome_rewritten_fails_both() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let base = lines(&f.bundle);
    let d = index_of(&base, "displayed", 0);
    let m = entry(&base, d);
    assert_eq!(m["outcome"], "confirmed");
    assert_eq!(m["signer"], "alice");
    let edit = |change: &dyn Fn(&mut Map<String, Value>)| {
        let mut l = base.clone();
        let mut e = m.clone();
        change(&mut e);
        set_entry(&mut l, d, e);
        f.resign(&l);
    };
    // The code was seen; the ledger would now say it may be released again.
    edit(&|e| {
        e.insert("outcome".into(), "timeout".into());
    });
    if crypto_ok() {
        assert_both_fail(
            &f.bundle,
            &[],
            &format!(
                "entry {d}: bad receipt signature: alice's display statement does not verify: the outcome is not the one signed"
            ),
        );
    }
    // Signed by someone who did not approve, or by nobody.
    edit(&|e| {
        e.insert("signer".into(), "carol".into());
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "entry {d}: bad receipt signature: the display is signed by carol, who did not approve entry {}",
            m["release"]
        ),
    );
    edit(&|e| {
        e.insert("signature".into(), Value::Null);
    });
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {d}: bad receipt signature: the display has no signature"),
    );
    // A second display of the same release.
    let mut l = base.clone();
    let n = l.len();
    let mut again = m.clone();
    again.insert("seq".into(), Value::from(n));
    again.insert("time".into(), entry(&base, n - 1)["time"].clone());
    l.push(canonical::to_vec(&Value::Object(again)).unwrap());
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "entry {n}: malformed entry: the display of entry {} was already recorded by entry {d}",
            m["release"]
        ),
    );
}

/// What a ceremony hands the new epoch is signed by its approvers at
/// completion: a carried item's digest or a pending share's digest
/// rewritten with the ledger key fails both verifiers at the ceremony.
#[test]
fn a_ceremony_carrying_a_forged_digest_fails_both() {
    if !python_ok() {
        return;
    }
    let f = ceremony_fixture();
    let base = lines(&f.bundle);
    let add = index_of(&base, "rekey", 0);
    let rekey = index_of(&base, "rekey", 2);
    let forged = "ab".repeat(32);
    // An available item's carried digest, and the release after the
    // ceremony pointed at the attacker's ciphertext.
    let mut l = base.clone();
    let mut m = entry(&l, rekey);
    let items = m["secrets"][0]["items"].as_array().unwrap().clone();
    let available = items
        .iter()
        .position(|i| i["state"] == "available")
        .expect("an available item is carried");
    m["secrets"][0]["items"][available]["digest"] = forged.clone().into();
    set_entry(&mut l, rekey, m);
    let r = index_of(&l, "release", 1);
    let mut rel = entry(&l, r);
    rel.insert("index".into(), available.into());
    rel.insert("digest".into(), forged.into());
    set_entry(&mut l, r, rel);
    f.resign(&l);
    if crypto_ok() {
        assert_both_fail(
            &f.bundle,
            &[],
            &format!(
                "entry {rekey}: bad receipt signature: alice's receipt does not verify: the entry is not the one its approvers signed"
            ),
        );
    }
    // A pending share's digest: the absent officer would take another
    // share than the one the approvers dealt.
    let mut l = base.clone();
    let mut m = entry(&l, add);
    let absent = m["pending"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .expect("an absent officer")
        .clone();
    m["pending"][absent.as_str()] = "cd".repeat(32).into();
    set_entry(&mut l, add, m);
    f.resign(&l);
    if crypto_ok() {
        assert_both_fail(
            &f.bundle,
            &[],
            &format!("entry {add}: bad receipt signature: alice's receipt does not verify"),
        );
    }
    // The receipts themselves: one short, or none.
    let mut l = base.clone();
    let mut m = entry(&l, rekey);
    m["receipts"].as_array_mut().unwrap().pop();
    set_entry(&mut l, rekey, m);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {rekey}: bad receipt signature: 1 receipts for 2 approvers"),
    );
}

/// Where an officer signs, the time is bound: a release, a display or a
/// deposit re-dated by a minute with the ledger key (every later entry moved with it,
/// so times still never go back) fails both verifiers at that entry.
#[test]
fn entries_re_dated_fail_both() {
    if !python_ok() || !crypto_ok() {
        return;
    }
    let f = fixture();
    let base = lines(&f.bundle);
    let later = |t: &Value| {
        let t = breakglass::clock::parse_rfc3339(t.as_str().unwrap()).unwrap();
        Value::from(breakglass::clock::rfc3339(t + 60))
    };
    for (kind, want) in [
        (
            "release",
            "bad receipt signature: alice's receipt does not verify",
        ),
        (
            "displayed",
            "bad receipt signature: alice's display statement does not verify",
        ),
        (
            "deposit",
            "bad deposit signature: the signed deposit statement does not match the entry",
        ),
    ] {
        let i = index_of(&base, kind, 0);
        let mut l = base.clone();
        for j in i..l.len() {
            let mut m = entry(&l, j);
            let t = later(&m["time"]);
            m.insert("time".into(), t);
            set_entry(&mut l, j, m);
        }
        f.resign(&l);
        assert_both_fail(&f.bundle, &[], &format!("entry {i}: {want}"));
    }
}

/// A restore with a gap signs its checkpoints under a new origin, so the
/// vault never signs two inconsistent checkpoints under one: a checkpoint
/// of the lost history is of another origin, an auditor's state from
/// before the backup still verifies, and a re-signed bundle that keeps
/// the old origin after the restore fails both verifiers.
#[test]
fn a_restore_with_a_gap_starts_a_new_origin() {
    if !python_ok() {
        return;
    }
    let f = ceremony_fixture();
    let base = lines(&f.bundle);
    let r = index_of(&base, "restored", 0);
    let want = format!("breakglass/{}/restore-{r}", f.vault_id);
    assert_eq!(entry(&base, r)["origin"], Value::from(want.clone()));
    let body = std::fs::read_to_string(f.bundle.join("checkpoint")).unwrap();
    assert_eq!(body.lines().next(), Some(want.as_str()), "{body}");
    // The signed note names the new origin as its key too.
    let v = Vault::open(&f.vault).unwrap();
    let note = ledger::latest_note(v.store()).unwrap().unwrap();
    assert!(
        note.lines().any(|l| l.starts_with(&format!("— {want} "))),
        "{note}"
    );
    drop(v);

    // An auditor's state saved from the backup, before the restore.
    let backup_bundle = f.root.join("backup-bundle");
    let b = Vault::open(&f.root.join("backup")).unwrap();
    audit::export(b.store(), &b.ledger_cert(), &backup_bundle).unwrap();
    drop(b);
    let state = f.root.join("state.json");
    assert_both_pass(&backup_bundle, &["--state", state.to_str().unwrap()]);
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(
        saved.contains(&format!("\"breakglass/{}\"", f.vault_id)),
        "{saved}"
    );
    assert_both_pass(&f.bundle, &["--state", state.to_str().unwrap()]);

    // The attacker keeps the old origin after the restore (so a witness
    // of the old history would cosign the fork): both refuse it.
    let mut l = base.clone();
    l.truncate(l.len());
    write_lines(&f.bundle, &l);
    let leaves: Vec<merkle::Hash> = l.iter().map(|e| merkle::leaf_hash(e)).collect();
    let old = ledger::checkpoint_body(
        &f.vault_id,
        l.len() as u64,
        &merkle::root_of_leaves(&leaves),
    );
    std::fs::write(f.bundle.join("checkpoint"), &old).unwrap();
    std::fs::write(
        f.bundle.join("checkpoint.asc"),
        f.ledger_key
            .sign_detached(old.as_bytes(), 1_800_000_000)
            .unwrap(),
    )
    .unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "origin mismatch: the bundle's checkpoint is for \"breakglass/{}\", this ledger's is",
            f.vault_id
        ),
    );
    // The entry naming another origin than its gap gives.
    let mut l = base.clone();
    let mut m = entry(&l, r);
    m.insert("origin".into(), Value::Null);
    set_entry(&mut l, r, m);
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "entry {r}: restore record disagrees with the ledger: its origin is not \"{want}\""
        ),
    );
}

/// An approval that lost its statement is malformed, for a release and a
/// ceremony alike, before any signature is checked.
#[test]
fn an_approval_without_its_statement_is_malformed_in_both() {
    if !python_ok() {
        return;
    }
    let f = ceremony_fixture();
    let base = lines(&f.bundle);
    for (kind, nth) in [("release", 0), ("rekey", 2)] {
        let i = index_of(&base, kind, nth);
        let mut l = base.clone();
        let mut m = entry(&l, i);
        m["approvals"][0]
            .as_object_mut()
            .unwrap()
            .remove("statement");
        set_entry(&mut l, i, m);
        f.resign(&l);
        assert_both_fail(
            &f.bundle,
            &[],
            &format!("entry {i}: malformed entry: approval without statement"),
        );
    }
}
