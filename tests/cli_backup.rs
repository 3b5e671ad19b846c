//! Backup and restore with the real binary: a released code stays consumed
//! in a restored copy brought forward by replaying a newer export; a
//! restore without replay refuses releases until a quorum acknowledges the
//! gap; a bundle of another vault is refused; the backup holds no clear
//! secret.

mod common;

use common::*;

fn export(v: &TestVault, name: &str) -> std::path::PathBuf {
    let dir = v.scratch.dir.path().join(name);
    v.cmd()
        .args(["ledger", "export"])
        .arg(&dir)
        .assert()
        .success();
    dir
}

fn restore(
    v: &TestVault,
    backup: &std::path::Path,
    to: &str,
    replay: Option<&std::path::Path>,
) -> (std::process::Output, TestVault) {
    restore_with(v, backup, to, replay, None)
}

fn restore_with(
    v: &TestVault,
    backup: &std::path::Path,
    to: &str,
    replay: Option<&std::path::Path>,
    checkpoint: Option<&std::path::Path>,
) -> (std::process::Output, TestVault) {
    let dest = v.scratch.dir.path().join(to);
    let mut c = bin();
    c.arg("--vault").arg(&dest).arg("restore").arg(backup);
    if let Some(r) = replay {
        c.arg("--replay").arg(r);
    }
    if let Some(cp) = checkpoint {
        c.arg("--checkpoint").arg(cp);
    }
    let out = c.output().unwrap();
    let scratch = Scratch {
        dir: tempfile::tempdir().unwrap(),
        path: dest.clone(),
    };
    (
        out,
        TestVault {
            scratch,
            path: dest,
            threshold: v.threshold,
            officers: v.officers.clone(),
        },
    )
}

#[test]
fn a_code_released_after_the_backup_stays_consumed_after_restore_with_replay() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok(
        "gh",
        "alice",
        &["CODE-ONE-111", "CODE-TWO-222", "CODE-THREE-333"],
    );
    let state = v.scratch.dir.path().join("audit-state.json");
    let verify_state = |t: &TestVault| {
        t.cmd()
            .args(["ledger", "verify", "--state"])
            .arg(&state)
            .output()
            .unwrap()
    };
    expect_success(&verify_state(&v), "first audit");
    let backup = v.scratch.dir.path().join("backup");
    let out = v.cmd().arg("backup").arg(&backup).output().unwrap();
    expect_success(&out, "backup");
    // I4 holds for the copy: no code, no passphrase in clear.
    for f in files_under(&backup) {
        let bytes = std::fs::read(&f).unwrap();
        for needle in ["CODE-ONE-111", "CODE-TWO-222", &passphrase_for("alice")] {
            assert!(
                !contains_bytes(&bytes, needle.as_bytes()),
                "{needle} in {}",
                f.display()
            );
        }
    }
    assert_eq!(v.release_ok("gh", &["alice", "bob"]).trim(), "CODE-ONE-111");
    v.deposit_codes_ok("gh", "carol", &["CODE-FOUR-444"]);
    expect_success(&verify_state(&v), "audit after the release");
    let bundle = export(&v, "newer-export");

    // The console's disk dies; the backup is restored and brought forward.
    // The export's own signed checkpoint, kept by the auditors, is the
    // evidence that the bundle is the latest.
    let (out, r) = restore_with(
        &v,
        &backup,
        "restored",
        Some(&bundle),
        Some(&bundle.join("checkpoint")),
    );
    expect_success(&out, "restore");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("replayed"), "{text}");
    assert_eq!(
        r.remaining("gh"),
        3,
        "CODE-ONE was released; CODE-FOUR came back"
    );
    assert_eq!(r.release_ok("gh", &["bob", "carol"]).trim(), "CODE-TWO-222");
    assert_eq!(
        r.release_ok("gh", &["bob", "carol"]).trim(),
        "CODE-THREE-333"
    );
    assert_eq!(
        r.release_ok("gh", &["bob", "carol"]).trim(),
        "CODE-FOUR-444"
    );
    let err = expect_error(&r.release("gh", &["bob", "carol"]), 1);
    assert_mentions(&err, &["nothing left"]);
    // The restored ledger extends what the auditor saw before.
    expect_success(&verify_state(&r), "audit of the restored vault");
    assert!(r.ledger_kinds().contains(&"restored".to_string()));
}

#[test]
fn a_restore_without_replay_waits_for_a_quorum_to_acknowledge_the_gap() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["CODE-ONE-111", "CODE-TWO-222"]);
    let backup = v.scratch.dir.path().join("backup");
    v.cmd().arg("backup").arg(&backup).assert().success();
    let (out, r) = restore(&v, &backup, "restored", None);
    expect_success(&out, "restore");
    assert!(String::from_utf8_lossy(&out.stderr).contains("WARNING"));
    let err = expect_error(&r.release("gh", &["alice", "bob"]), 1);
    assert_mentions(&err, &["acknowledge-gap"]);
    assert_eq!(r.ledger_kinds().last().unwrap(), "refused");
    // One officer is not a quorum.
    let out = r
        .batch()
        .args(["acknowledge-gap", "--officer", "alice"])
        .write_stdin(lines(&[&passphrase_for("alice")]))
        .output()
        .unwrap();
    assert_mentions(&expect_error(&out, 1), &["too few officers"]);
    let out = r
        .batch()
        .args([
            "acknowledge-gap",
            "--officer",
            "alice",
            "--officer",
            "carol",
        ])
        .write_stdin(lines(&[&passphrase_for("alice"), &passphrase_for("carol")]))
        .output()
        .unwrap();
    expect_success(&out, "acknowledge-gap");
    assert_eq!(r.release_ok("gh", &["alice", "bob"]).trim(), "CODE-ONE-111");
    r.cmd().args(["ledger", "verify"]).assert().success();
}

#[test]
fn a_bundle_of_another_vault_or_an_older_one_is_refused_and_leaves_nothing() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["CODE-ONE-111"]);
    let backup = v.scratch.dir.path().join("backup");
    v.cmd().arg("backup").arg(&backup).assert().success();
    let other = TestVault::two_of_three();
    other.deposit_codes_ok("gh", "alice", &["OTHER-1"]);
    let foreign = export(&other, "foreign");
    let (out, _) = restore(&v, &backup, "restored", Some(&foreign));
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["cannot replay", "vault fingerprint mismatch"]);
    assert!(!v.scratch.dir.path().join("restored").exists());
    // A bundle forked from the vault (same genesis, other history).
    let fork_src = v.scratch.dir.path().join("fork-src");
    v.cmd().arg("backup").arg(&fork_src).assert().success();
    let fork = TestVault {
        scratch: Scratch {
            dir: tempfile::tempdir().unwrap(),
            path: fork_src.clone(),
        },
        path: fork_src,
        threshold: 2,
        officers: v.officers.clone(),
    };
    fork.release_ok("gh", &["alice", "bob"]);
    v.release_ok("gh", &["bob", "carol"]);
    let forked = export(&fork, "forked");
    let backup2 = v.scratch.dir.path().join("backup2");
    v.cmd().arg("backup").arg(&backup2).assert().success();
    let (out, _) = restore(&v, &backup2, "restored2", Some(&forked));
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["not a later copy of this ledger"]);
}

/// A copy restored for a drill keeps the production hook; restore says so,
/// and how to clear it, before the copy sends anything.
#[test]
fn a_restore_says_the_copy_keeps_the_alert_hook_and_sends_nothing_itself() {
    use std::os::unix::fs::PermissionsExt;
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path();
    let received = dir.join("production-receiver.jsonl");
    let hook = dir.join("hook.sh");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\ncat >> '{}'\n", received.display()),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = v
        .batch()
        .args(["alerts", "set", "--officer", "alice", "--"])
        .arg(&hook)
        .write_stdin(lines(&[&passphrase_for("alice")]))
        .output()
        .unwrap();
    expect_success(&out, "alerts set");
    let backup = dir.join("backup");
    v.cmd().arg("backup").arg(&backup).assert().success();
    let before = std::fs::read_to_string(&received).unwrap_or_default();

    let (out, _) = restore(&v, &backup, "drill-copy", None);
    expect_success(&out, "restore");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("The restored vault keeps the alert hook")
            && text.contains(hook.to_str().unwrap())
            && text.contains("alerts clear --officer O"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(&received).unwrap_or_default(),
        before,
        "the restore itself fed the production receiver"
    );
}
