//! Bad input gets one clear line on stderr and a non-zero exit, and leaves
//! the vault as it was (I13). Usage errors caught before the vault is opened
//! exit 2 and change nothing at all.

mod common;

use breakglass::records::write_format;
use breakglass::store::{Store, Table};
use common::*;

/// A vault with `gh` holding two codes.
fn vault_with_codes() -> TestVault {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["C-1", "C-2"]);
    v
}

fn right_passphrases(officers: &[&str]) -> String {
    let p: Vec<String> = officers.iter().map(|o| passphrase_for(o)).collect();
    let p: Vec<&str> = p.iter().map(String::as_str).collect();
    lines(&p)
}

/// Runs `--vault P --batch init ARGS` with `stdin`; asserts a one-line
/// error with `code`, nothing on stdout, and that no vault directory was
/// created.
fn init_fails(args: &[&str], stdin: impl Into<Vec<u8>>, code: i32) -> String {
    let s = Scratch::new();
    let out = s
        .batch()
        .arg("init")
        .args(args)
        .write_stdin(stdin.into())
        .output()
        .unwrap();
    let err = expect_error(&out, code);
    assert!(out.stdout.is_empty(), "init printed:\n{}", describe(&out));
    assert!(
        !s.path.exists(),
        "a failed init left {} behind",
        s.path.display()
    );
    err
}

// ---- init ----

#[test]
fn init_rejects_invalid_officer_names() {
    let long = "a".repeat(33);
    for bad in ["Alice", "-x", long.as_str(), "bob smith", "é", ".x", "a/b"] {
        let officer = format!("--officer={bad}");
        let args = ["--threshold", "2", &officer, "--officer", "bob"];
        let err = init_fails(
            &[&args[..], &FAST_KDF[..]].concat(),
            right_passphrases(&["x", "bob"]),
            2,
        );
        assert_mentions(&err, &["officer name"]);
    }
    // `-x` as a separate word is taken for an option: still a usage error.
    let args = ["--threshold", "2", "--officer", "-x", "--officer", "bob"];
    init_fails(&args, "", 2);
}

#[test]
fn init_accepts_the_longest_officer_name() {
    let long = "a".repeat(32);
    TestVault::init(2, &[&long, "bob"]);
}

#[test]
fn init_rejects_threshold_one() {
    let err = init_fails(
        &[
            &["--threshold", "1", "--officer", "alice", "--officer", "bob"][..],
            &FAST_KDF[..],
        ]
        .concat(),
        right_passphrases(&["alice", "bob"]),
        2,
    );
    assert_mentions(&err, &["threshold"]);
}

#[test]
fn init_rejects_threshold_above_officer_count() {
    let err = init_fails(
        &[
            &["--threshold", "3", "--officer", "alice", "--officer", "bob"][..],
            &FAST_KDF[..],
        ]
        .concat(),
        right_passphrases(&["alice", "bob"]),
        2,
    );
    assert_mentions(&err, &["threshold", "3"]);
}

#[test]
fn init_rejects_more_than_255_officers() {
    let names: Vec<String> = (0..256).map(|i| format!("o{i}")).collect();
    let mut args: Vec<String> = vec!["--threshold".into(), "2".into()];
    for n in &names {
        args.push("--officer".into());
        args.push(n.clone());
    }
    args.extend(FAST_KDF.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let err = init_fails(&args, right_passphrases(&refs), 2);
    assert_mentions(&err, &["256", "255"]);
}

#[test]
fn init_rejects_a_duplicate_officer() {
    let err = init_fails(
        &[
            &[
                "--threshold",
                "2",
                "--officer",
                "alice",
                "--officer",
                "alice",
            ][..],
            &FAST_KDF[..],
        ]
        .concat(),
        right_passphrases(&["alice", "alice"]),
        2,
    );
    assert_mentions(&err, &["alice", "twice"]);
}

#[test]
fn init_rejects_kdf_settings_out_of_range() {
    for (mem, iters) in [("7", "1"), ("4097", "1"), ("8", "0"), ("8", "65")] {
        let err = init_fails(
            &[
                "--threshold",
                "2",
                "--officer",
                "alice",
                "--officer",
                "bob",
                "--kdf-memory-mib",
                mem,
                "--kdf-iterations",
                iters,
            ],
            right_passphrases(&["alice", "bob"]),
            2,
        );
        assert_mentions(&err, &["kdf"]);
    }
}

#[test]
fn init_rejects_a_passphrase_shorter_than_8_characters() {
    let args = [
        &["--threshold", "2", "--officer", "alice", "--officer", "bob"][..],
        &FAST_KDF[..],
    ]
    .concat();
    let err = init_fails(&args, lines(&[&passphrase_for("alice"), "1234567"]), 2);
    assert_mentions(&err, &["passphrase", "bob", "8"]);
    assert!(
        !err.contains("1234567"),
        "the error echoes the passphrase: {err}"
    );
    // Eight characters are enough; and they are counted as characters.
    let s = Scratch::new();
    let out = s
        .batch()
        .arg("init")
        .args(&args)
        .write_stdin(lines(&["12345678", "ééééééé8"]))
        .output()
        .unwrap();
    expect_success(&out, "init with 8-character passphrases");
}

#[test]
fn init_stops_when_stdin_ends_before_all_passphrases() {
    let args = [
        &[
            "--threshold",
            "2",
            "--officer",
            "alice",
            "--officer",
            "bob",
            "--officer",
            "carol",
        ][..],
        &FAST_KDF[..],
    ]
    .concat();
    let err = init_fails(&args, right_passphrases(&["alice", "bob"]), 1);
    assert_mentions(&err, &["stdin ended", "carol"]);
    init_fails(&args, "", 1);
}

#[test]
fn init_rejects_a_non_utf8_passphrase() {
    let args = [
        &["--threshold", "2", "--officer", "alice", "--officer", "bob"][..],
        &FAST_KDF[..],
    ]
    .concat();
    let mut stdin = b"\xff\xfepassphrase\n".to_vec();
    stdin.extend_from_slice(right_passphrases(&["bob"]).as_bytes());
    let err = init_fails(&args, stdin, 1);
    assert_mentions(&err, &["UTF-8", "alice"]);
}

#[test]
fn init_on_an_existing_vault_is_refused_and_the_vault_still_works() {
    let v = vault_with_codes();
    let before = v.snapshot();
    let status_before = v.status();
    let out = v
        .batch()
        .args([
            "init",
            "--threshold",
            "2",
            "--officer",
            "mallory",
            "--officer",
            "eve",
        ])
        .args(FAST_KDF)
        .write_stdin(lines(&["mallory-passphrase", "eve-passphrase"]))
        .output()
        .unwrap();
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["already exists"]);
    assert_eq!(v.snapshot(), before);
    assert_eq!(v.status(), status_before);
    assert_eq!(v.release_ok("gh", &["alice", "bob"]), "C-1\n");
}

#[test]
fn init_in_a_non_empty_directory_is_refused_and_touches_nothing() {
    let s = Scratch::new();
    std::fs::create_dir(&s.path).unwrap();
    std::fs::write(s.path.join("notes.txt"), b"keep me").unwrap();
    let out = s
        .batch()
        .args([
            "init",
            "--threshold",
            "2",
            "--officer",
            "alice",
            "--officer",
            "bob",
        ])
        .args(FAST_KDF)
        .write_stdin(right_passphrases(&["alice", "bob"]))
        .output()
        .unwrap();
    assert_mentions(&expect_error(&out, 1), &["already exists"]);
    let names: Vec<_> = std::fs::read_dir(&s.path)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["notes.txt"]);
    assert_eq!(std::fs::read(s.path.join("notes.txt")).unwrap(), b"keep me");
}

// ---- the vault path ----

#[test]
fn a_vault_path_that_is_a_regular_file_is_refused() {
    let s = Scratch::new();
    std::fs::write(&s.path, b"not a vault").unwrap();
    let pass = right_passphrases(&["alice", "bob"]);
    let runs: Vec<Vec<&str>> = vec![
        [
            &[
                "init",
                "--threshold",
                "2",
                "--officer",
                "alice",
                "--officer",
                "bob",
            ][..],
            &FAST_KDF[..],
        ]
        .concat(),
        vec!["list"],
        vec!["status"],
        vec!["ledger", "show"],
        vec!["deposit", "gh", "--officer", "alice"],
        vec![
            "release",
            "gh",
            "--reason",
            REASON,
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
    ];
    for args in runs {
        let out = s
            .batch()
            .args(&args)
            .write_stdin(pass.clone())
            .output()
            .unwrap();
        let err = expect_error(&out, 1);
        assert_mentions(&err, &["is a file"]);
        assert_eq!(
            std::fs::read(&s.path).unwrap(),
            b"not a vault",
            "{args:?} changed the file"
        );
    }
}

#[test]
fn no_vault_at_the_path_says_to_init_and_creates_nothing() {
    let s = Scratch::new();
    let runs: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["status", "--json"],
        vec!["ledger", "show", "--json"],
        vec!["deposit", "gh", "--officer", "alice"],
        vec![
            "release",
            "gh",
            "--reason",
            REASON,
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
    ];
    for args in runs {
        let out = s
            .batch()
            .args(&args)
            .write_stdin(right_passphrases(&["alice", "bob"]))
            .output()
            .unwrap();
        let err = expect_error(&out, 1);
        assert_mentions(&err, &["no vault", "init"]);
        assert!(!s.path.exists(), "{args:?} created {}", s.path.display());
    }
}

#[test]
fn a_directory_that_is_not_a_vault_is_refused() {
    let s = Scratch::new();
    std::fs::create_dir(&s.path).unwrap();
    std::fs::write(s.path.join("README"), b"hello").unwrap();
    let out = s.cmd().arg("list").output().unwrap();
    assert_mentions(&expect_error(&out, 1), &["not a breakglass vault"]);
    let names: Vec<_> = std::fs::read_dir(&s.path)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["README"]);
}

#[test]
fn an_unknown_format_version_is_refused() {
    let v = vault_with_codes();
    {
        let store = Store::open(&v.path).unwrap();
        store
            .transact(|tx| tx.put(Table::Meta, b"format", &write_format(99)))
            .unwrap();
        store.flush().unwrap();
    }
    for args in [
        vec!["list"],
        vec!["ledger", "show"],
        vec![
            "release",
            "gh",
            "--reason",
            REASON,
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
    ] {
        let out = v
            .batch()
            .args(&args)
            .write_stdin(right_passphrases(&["alice", "bob"]))
            .output()
            .unwrap();
        let err = expect_error(&out, 1);
        assert_mentions(&err, &["version 99", "not supported"]);
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed:\n{}",
            describe(&out)
        );
    }
}

// ---- names and reasons on an existing vault (usage errors: nothing changes) ----

#[test]
fn invalid_secret_names_are_usage_errors_that_change_nothing() {
    let v = vault_with_codes();
    let before = v.snapshot();
    let long = "A".repeat(65);
    for bad in ["", "/gh", "a b", "_a", "ü", long.as_str()] {
        let out = v
            .batch()
            .args(["deposit", bad, "--officer", "alice"])
            .write_stdin(format!("{}\nC-9\n", passphrase_for("alice")))
            .output()
            .unwrap();
        assert_mentions(&expect_error(&out, 2), &["secret name"]);
        let out = v
            .batch()
            .args([
                "release",
                bad,
                "--reason",
                REASON,
                "--officer",
                "alice",
                "--officer",
                "bob",
            ])
            .write_stdin(right_passphrases(&["alice", "bob"]))
            .output()
            .unwrap();
        assert_mentions(&expect_error(&out, 2), &["secret name"]);
        assert!(out.stdout.is_empty());
    }
    assert_eq!(v.snapshot(), before);
}

#[test]
fn invalid_officer_names_are_usage_errors_that_change_nothing() {
    let v = vault_with_codes();
    let before = v.snapshot();
    let long = "a".repeat(33);
    for bad in ["Alice", "-x", long.as_str(), "bob smith"] {
        let officer = format!("--officer={bad}");
        let out = v
            .batch()
            .args(["deposit", "gh", &officer])
            .write_stdin(format!("{}\nC-9\n", passphrase_for("alice")))
            .output()
            .unwrap();
        assert_mentions(&expect_error(&out, 2), &["officer name"]);
        let out = v
            .batch()
            .args([
                "release",
                "gh",
                "--reason",
                REASON,
                "--officer",
                "alice",
                &officer,
            ])
            .write_stdin(right_passphrases(&["alice", "bob"]))
            .output()
            .unwrap();
        assert_mentions(&expect_error(&out, 2), &["officer name"]);
    }
    assert_eq!(v.snapshot(), before);
}

#[test]
fn bad_reasons_are_usage_errors_that_change_nothing() {
    let v = vault_with_codes();
    let before = v.snapshot();
    let long = "x".repeat(501);
    for bad in ["", "   ", long.as_str()] {
        let out = v
            .batch()
            .args([
                "release",
                "gh",
                "--reason",
                bad,
                "--officer",
                "alice",
                "--officer",
                "bob",
            ])
            .write_stdin(right_passphrases(&["alice", "bob"]))
            .output()
            .unwrap();
        assert_mentions(&expect_error(&out, 2), &["reason"]);
        assert!(out.stdout.is_empty());
    }
    let out = v
        .batch()
        .args(["release", "gh", "--officer", "alice", "--officer", "bob"])
        .write_stdin(right_passphrases(&["alice", "bob"]))
        .output()
        .unwrap();
    expect_error(&out, 2);
    assert!(out.stdout.is_empty());
    assert_eq!(v.snapshot(), before);

    // 500 characters is the limit, not past it.
    let ok = "é".repeat(500);
    let out = v
        .batch()
        .args([
            "release",
            "gh",
            "--reason",
            &ok,
            "--officer",
            "alice",
            "--officer",
            "bob",
        ])
        .write_stdin(right_passphrases(&["alice", "bob"]))
        .output()
        .unwrap();
    expect_success(&out, "release with a 500-character reason");
}

#[test]
fn a_reason_with_control_characters_is_refused() {
    let v = vault_with_codes();
    let before = v.snapshot();
    for bad in ["line one\nline two", "tab\there", "esc\u{1b}[2J"] {
        let out = v
            .batch()
            .args([
                "release",
                "gh",
                "--reason",
                bad,
                "--officer",
                "alice",
                "--officer",
                "bob",
            ])
            .write_stdin(right_passphrases(&["alice", "bob"]))
            .output()
            .unwrap();
        expect_error(&out, 2);
        assert!(out.stdout.is_empty());
    }
    assert_eq!(v.snapshot(), before);
}

#[test]
fn a_value_with_a_newline_gets_a_clear_error() {
    let v = vault_with_codes();
    let out = v
        .batch()
        .args([
            "release",
            "gh",
            "--reason",
            "line one\nline two",
            "--officer",
            "alice",
            "--officer",
            "bob",
        ])
        .write_stdin(right_passphrases(&["alice", "bob"]))
        .output()
        .unwrap();
    assert_mentions(&expect_error(&out, 2), &["reason", "control characters"]);
    let out = v
        .batch()
        .args(["deposit", "gh\nx", "--officer", "alice"])
        .write_stdin(format!("{}\nC-9\n", passphrase_for("alice")))
        .output()
        .unwrap();
    assert_mentions(&expect_error(&out, 2), &["secret name"]);
}

#[test]
fn a_missing_required_argument_is_named() {
    let v = vault_with_codes();
    let runs: [(&[&str], &str); 3] = [
        (
            &["release", "gh", "--officer", "alice", "--officer", "bob"],
            "--reason",
        ),
        (&["deposit", "gh"], "--officer"),
        (
            &["init", "--officer", "alice", "--officer", "bob"],
            "--threshold",
        ),
    ];
    for (args, missing) in runs {
        let out = v.batch().args(args).write_stdin("").output().unwrap();
        assert_mentions(&expect_error(&out, 2), &[missing]);
    }
}

#[test]
fn release_without_batch_and_no_terminal_exits_2_asking_nothing() {
    let v = vault_with_codes();
    let before = v.snapshot();
    let out = v
        .cmd()
        .args([
            "release",
            "gh",
            "--reason",
            REASON,
            "--officer",
            "alice",
            "--officer",
            "bob",
        ])
        .write_stdin(right_passphrases(&["alice", "bob"]))
        .output()
        .unwrap();
    let err = expect_error(&out, 2);
    assert_mentions(&err, &["--batch"]);
    assert!(
        out.stdout.is_empty(),
        "release wrote to a non-terminal stdout:\n{}",
        describe(&out)
    );
    assert!(
        !err.to_lowercase().contains("passphrase for"),
        "it asked for a passphrase: {err}"
    );
    assert_eq!(v.snapshot(), before);
}

// ---- deposit input ----

/// Runs `deposit gh --officer alice [extra]` with `stdin`; asserts failure
/// with one line, nothing deposited and no deposit entry; returns the line.
fn deposit_fails(v: &TestVault, extra: &[&str], stdin: impl Into<Vec<u8>>) -> String {
    let (ledger_before, list_before) = v.snapshot();
    let out = v
        .batch()
        .args(["deposit", "new", "--officer", "alice"])
        .args(extra)
        .write_stdin(stdin.into())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "deposit succeeded:\n{}",
        describe(&out)
    );
    assert_ne!(out.status.code(), Some(3));
    let err = one_line_error(&out);
    assert_eq!(
        v.list_raw(),
        list_before,
        "a failed deposit changed the secrets"
    );
    let after = v.ledger_lines();
    assert_eq!(
        &after[..ledger_before.len()],
        &ledger_before[..],
        "the ledger was rewritten"
    );
    assert!(
        !after[ledger_before.len()..]
            .iter()
            .any(|l| l.contains("\"kind\":\"deposit\"")),
        "a failed deposit was logged as a deposit"
    );
    err
}

#[test]
fn deposit_with_no_codes_is_refused() {
    let v = vault_with_codes();
    let pass = passphrase_for("alice");
    let err = deposit_fails(&v, &[], format!("{pass}\n"));
    assert_mentions(&err, &["nothing to deposit"]);
    let err = deposit_fails(&v, &[], format!("{pass}\n\n   \n\n"));
    assert_mentions(&err, &["nothing to deposit"]);
    let err = deposit_fails(&v, &["--kind", "credential"], format!("{pass}\n"));
    assert_mentions(&err, &["credential", "empty"]);
}

#[test]
fn deposit_with_empty_stdin_is_refused() {
    let v = vault_with_codes();
    let err = deposit_fails(&v, &[], "");
    assert_mentions(&err, &["stdin ended", "alice"]);
}

#[test]
fn deposit_with_a_wrong_passphrase_is_refused_and_logged() {
    let v = vault_with_codes();
    let err = deposit_fails(&v, &[], "not-alices-passphrase\nC-9\n");
    assert_mentions(&err, &["wrong passphrase for officer alice"]);
    assert_eq!(v.ledger().last().unwrap()["kind"], "auth_failed");
}

#[test]
fn deposit_by_an_unknown_officer_is_refused_and_logged() {
    let v = vault_with_codes();
    let out = v
        .batch()
        .args(["deposit", "new", "--officer", "mallory"])
        .write_stdin("some-passphrase\nC-9\n")
        .output()
        .unwrap();
    assert_mentions(&expect_error(&out, 1), &["unknown officer mallory"]);
    assert!(v.secret("new").is_none());
    let last = v.ledger().last().unwrap().clone();
    assert_eq!(last["kind"], "refused");
    assert_eq!(last["action"], "deposit");
}

#[test]
fn a_code_over_4_kib_is_refused_and_4_kib_is_accepted() {
    let v = vault_with_codes();
    let pass = passphrase_for("alice");
    let big = "A".repeat(4097);
    let err = deposit_fails(&v, &[], format!("{pass}\nC-ok\n{big}\n"));
    assert_mentions(&err, &["4097", "4096"]);
    assert!(!err.contains(&big[..64]), "the error echoes the code");
    let max = "B".repeat(4096);
    let out = v
        .batch()
        .args(["deposit", "max", "--officer", "alice"])
        .write_stdin(format!("{pass}\n{max}\n"))
        .output()
        .unwrap();
    expect_success(&out, "deposit of a 4096-byte code");
    assert_eq!(v.release_ok("max", &["alice", "bob"]), format!("{max}\n"));
}

#[test]
fn a_credential_over_64_kib_is_refused_and_64_kib_is_accepted() {
    let v = vault_with_codes();
    let big = "A".repeat(65537);
    let err = deposit_fails(
        &v,
        &["--kind", "credential"],
        format!("{}\n{big}", passphrase_for("alice")),
    );
    assert_mentions(&err, &["65537", "65536"]);
    let err = deposit_fails(
        &v,
        &["--kind", "credential"],
        format!("{}\n{}", passphrase_for("alice"), "x".repeat(200_000)),
    );
    assert_mentions(&err, &["65536"]);
    let max = "C".repeat(65536);
    expect_success(
        &v.deposit_credential("max", "alice", format!("{max}\n").as_bytes()),
        "64 KiB credential",
    );
    assert_eq!(v.release_ok("max", &["alice", "bob"]), format!("{max}\n"));
}

#[test]
fn non_utf8_codes_are_refused() {
    let v = vault_with_codes();
    let mut stdin = format!("{}\nC-ok\n", passphrase_for("alice")).into_bytes();
    stdin.extend_from_slice(b"C-\xff\xfe\n");
    let err = deposit_fails(&v, &[], stdin);
    assert_mentions(&err, &["UTF-8"]);
    let mut stdin = format!("{}\nline\n", passphrase_for("alice")).into_bytes();
    stdin.extend_from_slice(b"\xc3\x28\n");
    let err = deposit_fails(&v, &["--kind", "credential"], stdin);
    assert_mentions(&err, &["UTF-8"]);
}

#[test]
fn a_non_utf8_passphrase_is_refused() {
    let v = vault_with_codes();
    let err = deposit_fails(&v, &[], b"\xffalice\nC-9\n".to_vec());
    assert_mentions(&err, &["UTF-8", "alice"]);

    let before = v.snapshot();
    let mut stdin = b"\xff\xfe\xfd\n".to_vec();
    stdin.extend_from_slice(right_passphrases(&["bob"]).as_bytes());
    let out = v.release_with_stdin("gh", &["alice", "bob"], stdin);
    assert_mentions(&expect_error(&out, 1), &["UTF-8", "alice"]);
    assert!(out.stdout.is_empty());
    assert_eq!(v.remaining("gh"), 2);
    assert_eq!(v.snapshot().1, before.1);
}

#[test]
fn unknown_options_and_missing_arguments_are_usage_errors() {
    let v = vault_with_codes();
    let before = v.snapshot();
    let runs: Vec<Vec<&str>> = vec![
        vec!["frobnicate"],
        vec!["list", "--verbose"],
        vec!["deposit", "gh"],
        vec!["deposit", "gh", "--officer", "alice", "--kind", "password"],
        vec![
            "deposit",
            "gh",
            "--officer",
            "alice",
            "--min-approvals",
            "lots",
        ],
        vec!["release", "gh", "--reason", REASON],
        vec![
            "release",
            "--reason",
            REASON,
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
        vec!["init", "--officer", "alice", "--officer", "bob"],
        vec![
            "init",
            "--threshold",
            "two",
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
    ];
    for args in runs {
        let out = v
            .batch()
            .args(&args)
            .write_stdin(right_passphrases(&["alice", "bob"]))
            .output()
            .unwrap();
        let err = expect_error(&out, 2);
        assert!(err.ends_with("(see --help)"), "{args:?}: {err}");
    }
    assert_eq!(v.snapshot(), before);
}
