//! `drill` and `passphrase`: an officer checks or changes their passphrase.
//! Both are logged; neither releases anything.

mod common;

use common::*;

fn drill(v: &TestVault, officer: &str, pass: &str) -> std::process::Output {
    v.batch()
        .args(["drill", "--officer", officer])
        .write_stdin(lines(&[pass]))
        .output()
        .unwrap()
}

fn change(v: &TestVault, officer: &str, old: &str, new: &str) -> std::process::Output {
    v.batch()
        .args(["passphrase", "--officer", officer])
        .write_stdin(lines(&[old, new]))
        .output()
        .unwrap()
}

fn verify_ok(v: &TestVault) {
    let out = v.cmd().args(["ledger", "verify"]).output().unwrap();
    expect_success(&out, "ledger verify");
}

#[test]
fn a_drill_with_the_right_passphrase_is_logged_and_releases_nothing() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["C-1"]);
    let out = drill(&v, "bob", &passphrase_for("bob"));
    expect_success(&out, "drill");
    assert!(String::from_utf8_lossy(&out.stdout).contains("unlocks their share"));
    let last = v.ledger().pop().unwrap();
    assert_eq!(
        (&last["kind"], &last["actor"], &last["result"]),
        (&"drill".into(), &"bob".into(), &"ok".into())
    );
    assert_eq!(v.remaining("gh"), 1);
    verify_ok(&v);
}

#[test]
fn a_failed_drill_is_logged_as_a_wrong_passphrase() {
    let v = TestVault::two_of_three();
    let err = expect_error(&drill(&v, "bob", "not-bobs-passphrase"), 1);
    assert_mentions(&err, &["wrong passphrase for officer bob"]);
    let last = v.ledger().pop().unwrap();
    assert_eq!(
        (&last["kind"], &last["action"]),
        (&"auth_failed".into(), &"drill".into())
    );
    verify_ok(&v);
}

#[test]
fn a_changed_passphrase_replaces_the_old_one_for_releases() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["C-1", "C-2"]);
    let new = "alice-new-passphrase-9";
    expect_success(
        &change(&v, "alice", &passphrase_for("alice"), new),
        "passphrase",
    );
    assert_eq!(v.ledger().pop().unwrap()["kind"], "passphrase");
    // The old one no longer unlocks; the new one releases.
    expect_error(&drill(&v, "alice", &passphrase_for("alice")), 1);
    let out = v.release_with_stdin(
        "gh",
        &["alice", "bob"],
        lines(&[new, &passphrase_for("bob")]),
    );
    expect_success(&out, "release with the new passphrase");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "C-1\n");
    verify_ok(&v);
}

#[test]
fn a_wrong_old_or_a_short_new_passphrase_changes_nothing() {
    let v = TestVault::two_of_three();
    let err = expect_error(
        &change(&v, "alice", "wrong-old-passphrase", "alice-new-passphrase"),
        1,
    );
    assert_mentions(&err, &["wrong passphrase for officer alice"]);
    let err = expect_error(&change(&v, "alice", &passphrase_for("alice"), "short"), 2);
    assert_mentions(&err, &["shorter than 8"]);
    // The old passphrase still works.
    expect_success(&drill(&v, "alice", &passphrase_for("alice")), "drill");
    assert!(!v.ledger_kinds().contains(&"passphrase".to_string()));
}
