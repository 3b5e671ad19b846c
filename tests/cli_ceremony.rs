//! The ceremonies on the command line, as a new user would walk them:
//! 2-of-3, add dave, remove carol, rekey to 3-of-3; releases with the
//! right officers and refusals for the wrong ones; `ledger verify` at every
//! step, and an export bundle that carries every officer ever enrolled.

mod common;

use common::*;

fn ceremony(v: &TestVault, args: &[&str], stdin_officers: &[&str]) -> std::process::Output {
    let stdin: Vec<String> = stdin_officers.iter().map(|o| passphrase_for(o)).collect();
    let stdin: Vec<&str> = stdin.iter().map(String::as_str).collect();
    v.batch()
        .args(args)
        .write_stdin(lines(&stdin))
        .output()
        .unwrap()
}

fn verify_ok(v: &TestVault, pin: &str) {
    let out = v
        .cmd()
        .args(["ledger", "verify", "--pin", pin])
        .output()
        .unwrap();
    expect_success(&out, "ledger verify --pin");
}

#[test]
fn add_dave_remove_carol_rekey_to_three_of_three() {
    let v = TestVault::two_of_three();
    let pin = v.status()["fingerprint"].as_str().unwrap().to_owned();
    v.deposit_codes_ok("gh", "alice", &["CODE-1", "CODE-2", "CODE-3", "CODE-4"]);

    let out = ceremony(
        &v,
        &[
            "officer",
            "add",
            "dave",
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
        &["alice", "bob", "dave"],
    );
    expect_success(&out, "officer add dave");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Epoch 1: 2 of 4 (alice, bob, carol, dave)"),
        "{text}"
    );
    assert!(text.contains("carol receives their new share"), "{text}");
    verify_ok(&v, &pin);
    assert_eq!(v.release_ok("gh", &["carol", "dave"]).trim(), "CODE-1");

    let out = ceremony(
        &v,
        &[
            "officer",
            "remove",
            "carol",
            "--officer",
            "alice",
            "--officer",
            "dave",
        ],
        &["alice", "dave"],
    );
    expect_success(&out, "officer remove carol");
    let err = expect_error(&v.release("gh", &["carol", "bob"]), 1);
    assert_mentions(&err, &["officer carol was removed from this vault"]);
    verify_ok(&v, &pin);

    let out = ceremony(
        &v,
        &[
            "rekey",
            "--threshold",
            "3",
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
        &["alice", "bob"],
    );
    expect_success(&out, "rekey --threshold 3");
    let err = expect_error(&v.release("gh", &["alice", "bob"]), 1);
    assert_mentions(&err, &["too few officers: 2 of the 3 needed"]);
    assert_eq!(
        v.release_ok("gh", &["alice", "bob", "dave"]).trim(),
        "CODE-2"
    );
    verify_ok(&v, &pin);
    let st = v.status();
    assert_eq!(st["epoch"], 3);
    assert_eq!(st["threshold"], 3);
    assert_eq!(st["officers"], serde_json::json!(["alice", "bob", "dave"]));

    // The bundle carries every officer ever enrolled, and verifies.
    let bundle = v.scratch.dir.path().join("bundle");
    v.cmd()
        .args(["ledger", "export"])
        .arg(&bundle)
        .assert()
        .success();
    for o in ["alice", "bob", "carol", "dave"] {
        assert!(bundle.join(format!("officers/{o}.asc")).is_file(), "{o}");
    }
    let out = v
        .cmd()
        .args(["ledger", "verify", "--pin", &pin, "--bundle"])
        .arg(&bundle)
        .output()
        .unwrap();
    expect_success(&out, "verify the bundle");
}

#[test]
fn a_rekey_can_add_and_remove_in_one_ceremony() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["CODE-1", "CODE-2"]);
    // Approvers' passphrases in --officer order, then erin's, then frank's.
    let out = ceremony(
        &v,
        &[
            "rekey",
            "--add",
            "erin",
            "--add",
            "frank",
            "--remove",
            "carol",
            "--threshold",
            "3",
            "--officer",
            "bob",
            "--officer",
            "alice",
        ],
        &["bob", "alice", "erin", "frank"],
    );
    expect_success(&out, "rekey");
    assert_eq!(
        v.status()["officers"],
        serde_json::json!(["alice", "bob", "erin", "frank"])
    );
    assert_eq!(
        v.release_ok("gh", &["erin", "frank", "alice"]).trim(),
        "CODE-1"
    );
}

#[test]
fn every_refusal_is_one_line_logged_and_changes_nothing() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["CODE-1"]);
    let before = v.status();
    let cases: &[(&[&str], &[&str], i32, &str)] = &[
        (
            &[
                "officer",
                "remove",
                "zed",
                "--officer",
                "alice",
                "--officer",
                "bob",
            ],
            &["alice", "bob"],
            1,
            "zed is not an officer",
        ),
        (
            &[
                "officer",
                "add",
                "bob",
                "--officer",
                "alice",
                "--officer",
                "bob",
            ],
            &["alice", "bob"],
            1,
            "already a name",
        ),
        (
            &[
                "rekey",
                "--threshold",
                "4",
                "--officer",
                "alice",
                "--officer",
                "bob",
            ],
            &["alice", "bob"],
            1,
            "threshold",
        ),
        (
            &[
                "rekey",
                "--threshold",
                "1",
                "--officer",
                "alice",
                "--officer",
                "bob",
            ],
            &["alice", "bob"],
            1,
            "threshold",
        ),
        (
            &[
                "rekey",
                "--add",
                "erin",
                "--add",
                "erin",
                "--officer",
                "alice",
                "--officer",
                "bob",
            ],
            &["alice", "bob"],
            1,
            "named twice",
        ),
        (
            &["rekey", "--officer", "alice"],
            &["alice"],
            1,
            "too few officers: 1 of the 2 needed",
        ),
        (
            &["rekey", "--officer", "alice", "--officer", "alice"],
            &["alice", "alice"],
            1,
            "named twice",
        ),
        (
            &["rekey", "--officer", "alice", "--officer", "mallory"],
            &["alice", "mallory"],
            1,
            "unknown officer mallory",
        ),
        (
            &[
                "officer",
                "add",
                "Bad Name",
                "--officer",
                "alice",
                "--officer",
                "bob",
            ],
            &["alice", "bob"],
            2,
            "invalid",
        ),
    ];
    for (args, stdin, code, want) in cases {
        let kinds_before = v.ledger_kinds().len();
        let out = ceremony(&v, args, stdin);
        let err = expect_error(&out, *code);
        assert_mentions(&err, &[want]);
        let st = v.status();
        assert_eq!(st["epoch"], before["epoch"], "{args:?}");
        assert_eq!(st["officers"], before["officers"], "{args:?}");
        if *code == 1 {
            assert_eq!(v.ledger_kinds().last().unwrap(), "refused", "{args:?}");
            assert_eq!(v.ledger_kinds().len(), kinds_before + 1, "{args:?}");
        }
    }
    // Removing the last officers: 2-of-2 cannot lose one without a rekey.
    let two = TestVault::init(2, &["alice", "bob"]);
    let out = ceremony(
        &two,
        &[
            "officer",
            "remove",
            "bob",
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
        &["alice", "bob"],
    );
    assert_mentions(&expect_error(&out, 1), &["fewer than the threshold"]);
    // A wrong passphrase: nothing changes, and the approvals are logged as
    // abandoned.
    let out = v
        .batch()
        .args(["rekey", "--officer", "alice", "--officer", "bob"])
        .write_stdin(format!("{}\nwrong-passphrase\n", passphrase_for("alice")))
        .output()
        .unwrap();
    assert_mentions(
        &expect_error(&out, 1),
        &["wrong passphrase for officer bob"],
    );
    assert_eq!(v.status()["epoch"], before["epoch"]);
    assert_eq!(v.ledger_kinds().last().unwrap(), "cancelled");
}

/// The warning an m-of-m quorum gets, before anyone types a passphrase.
const UNANIMOUS: &str = "every officer is needed";

#[test]
fn an_m_of_m_quorum_is_warned_about_before_any_passphrase() {
    // At init: 2 of 2 warns, 2 of 3 does not. (In batch mode the warning
    // follows success, so a refused init stays one line on stderr.)
    let s = Scratch::new();
    let out = init_output(&s, 2, &["alice", "bob"]);
    expect_success(&out, "init 2 of 2");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_mentions(
        &err,
        &[
            "warning",
            UNANIMOUS,
            "2 of 2",
            "if any one passphrase is lost, every secret is locked for good",
        ],
    );
    let s = Scratch::new();
    let out = init_output(&s, 2, &["alice", "bob", "carol"]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(UNANIMOUS),
        "{}",
        describe(&out)
    );

    // A ceremony that proposes 3 of 3 warns; so does one leaving 2 of 2.
    let v = TestVault::two_of_three();
    let out = ceremony(
        &v,
        &[
            "rekey",
            "--threshold",
            "3",
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
        &["alice", "bob"],
    );
    expect_success(&out, "rekey --threshold 3");
    assert_mentions(
        &String::from_utf8_lossy(&out.stderr),
        &[UNANIMOUS, "3 of 3"],
    );
    let out = ceremony(
        &v,
        &[
            "rekey",
            "--officer",
            "alice",
            "--officer",
            "bob",
            "--officer",
            "carol",
        ],
        &["alice", "bob", "carol"],
    );
    expect_success(&out, "rekey at 3 of 3");
    assert_mentions(
        &String::from_utf8_lossy(&out.stderr),
        &[UNANIMOUS, "3 of 3"],
    );
}
