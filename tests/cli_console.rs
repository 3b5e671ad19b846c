//! The command line at 3 a.m. (issue 10): pasted and piped codes, look-alike
//! text, a closed stdout or pipe, and bounded input. Each runs the real
//! binary.

mod common;

use std::io::{Read, Write};
use std::process::{Command as StdCommand, Stdio};

use common::*;

/// A 2-of-3 vault with two codes in `gh`.
fn vault() -> TestVault {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["GH-CODE-1", "GH-CODE-2"]);
    v
}

fn deposit_stdin(v: &TestVault, secret: &str, stdin: impl Into<Vec<u8>>) -> std::process::Output {
    v.batch()
        .args(["deposit", secret, "--officer", "alice"])
        .write_stdin(stdin.into())
        .output()
        .unwrap()
}

#[test]
fn codes_on_stdin_split_at_cr_lf_and_crlf() {
    let v = vault();
    let pass = passphrase_for("alice");
    let out = deposit_stdin(&v, "cr", format!("{pass}\nCR-1\rCR-2\r\nCR-3\n\rCR-4\r"));
    expect_success(&out, "deposit");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Deposited 4 codes into cr"),
        "{}",
        describe(&out)
    );
    for want in ["CR-1", "CR-2", "CR-3", "CR-4"] {
        assert_eq!(v.release_ok("cr", &["alice", "bob"]), format!("{want}\n"));
    }
}

#[test]
fn a_code_holding_a_control_or_format_character_deposits_nothing() {
    let v = vault();
    let pass = passphrase_for("alice");
    // (what is inside the second code, the code point the error names)
    let rows: [(&str, &str); 6] = [
        ("TAB\tCODE", "U+0009"),
        ("BELL\u{7}CODE", "U+0007"),
        ("RLO\u{202E}CODE", "U+202E"),
        ("ZWSP\u{200B}CODE", "U+200B"),
        ("BOM\u{FEFF}CODE", "U+FEFF"),
        ("LSEP\u{2028}CODE", "U+2028"),
    ];
    for (bad, point) in rows {
        let before = v.snapshot();
        let out = deposit_stdin(&v, "gh", format!("{pass}\nGOOD-CODE\n{bad}\n"));
        let err = expect_error(&out, 2);
        assert_mentions(&err, &["code 2", point, "nothing was deposited"]);
        assert!(!err.contains("CODE"), "the error echoes the code: {err}");
        assert_eq!(v.snapshot(), before, "{bad:?} changed the vault");
    }
}

#[test]
fn names_and_reasons_with_bidi_or_format_characters_are_usage_errors() {
    let v = vault();
    let before = v.snapshot();
    for reason in ["INC-1 \u{202E}tpecca", "zero\u{200B}width", "tag\u{E0041}"] {
        let out = v
            .batch()
            .args(["release", "gh", "--reason", reason])
            .args(["--officer", "alice", "--officer", "bob"])
            .write_stdin(lines(&[&passphrase_for("alice"), &passphrase_for("bob")]))
            .output()
            .unwrap();
        assert_mentions(&expect_error(&out, 2), &["reason", "U+"]);
        assert!(out.stdout.is_empty());
    }
    let out = deposit_stdin(
        &v,
        "gh\u{200D}x",
        format!("{}\nC-1\n", passphrase_for("alice")),
    );
    assert_mentions(&expect_error(&out, 2), &["secret name", "U+200D"]);
    assert_eq!(v.snapshot(), before);
}

/// `release gh` in batch mode through `sh`, with stdout redirected by
/// `redirect` (`>&-` closes it; Command cannot close fd 1 itself).
fn release_with_stdout(v: &TestVault, redirect: &str, stdin: &str) -> std::process::Output {
    let mut c = StdCommand::new("sh");
    c.arg("-c")
        .arg(format!(r#"exec "$0" "$@" {redirect}"#))
        .arg(BIN)
        .arg("--vault")
        .arg(&v.path)
        .args(["--batch", "release", "gh", "--reason", REASON])
        .args(["--officer", "alice", "--officer", "bob"])
        .env_remove("BREAKGLASS_VAULT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

#[test]
fn release_batch_to_a_closed_stdout_or_dev_null_releases_nothing() {
    let v = vault();
    let mut before = v.snapshot();
    let passes = lines(&[&passphrase_for("alice"), &passphrase_for("bob")]);
    for (redirect, stdin) in [
        (">&-", passes.as_str()),
        (">/dev/null", passes.as_str()),
        ("1</dev/null", passes.as_str()),
        // Refused before any passphrase is read: none is needed to see it.
        (">&-", ""),
    ] {
        let out = release_with_stdout(&v, redirect, stdin);
        let err = expect_error(&out, 2);
        assert_mentions(&err, &["stdout", "nothing was released"]);
        // Nothing consumed; the refusal is logged (I7).
        before = v.assert_only_refusal_logged(before);
    }
    assert_eq!(v.remaining("gh"), 2);
    // The same release to a real stdout works.
    assert_eq!(v.release_ok("gh", &["alice", "bob"]), "GH-CODE-1\n");
}

/// Runs `args` with stdout a pipe whose reader is gone before anything is
/// written (as in `| true` or `| head -0`), and `stdin` on stdin.
fn with_closed_pipe(v: &TestVault, args: &[&str], stdin: &str) -> std::process::Output {
    let mut c = StdCommand::new(BIN);
    c.arg("--vault")
        .arg(&v.path)
        .args(args)
        .env_remove("BREAKGLASS_VAULT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    // Close the read end at once: the child is still opening the vault.
    drop(child.stdout.take());
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let mut err = Vec::new();
    child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    let status = child.wait().unwrap();
    std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: err,
    }
}

#[test]
fn a_closed_pipe_ends_read_only_commands_normally() {
    let v = vault();
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["status"],
        &["status", "--json"],
        &["ledger", "show"],
        &["ledger", "show", "--json"],
        &["ledger", "verify"],
    ] {
        let out = with_closed_pipe(&v, args, "");
        assert_eq!(out.status.code(), Some(0), "{args:?}:\n{}", describe(&out));
        assert!(out.stderr.is_empty(), "{args:?}:\n{}", describe(&out));
    }
}

#[test]
fn a_deposit_into_a_closed_pipe_is_still_reported_on_stderr() {
    let v = vault();
    let out = with_closed_pipe(
        &v,
        &["--batch", "deposit", "more", "--officer", "alice"],
        &format!("{}\nM-1\nM-2\n", passphrase_for("alice")),
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = one_line_error(&out);
    assert_mentions(&err, &["Deposited 2 codes into more", "stdout was closed"]);
    assert_eq!(v.remaining("more"), 2);
}

#[test]
fn batch_mode_writes_no_terminal_escape_codes() {
    let v = vault();
    let outputs = [
        v.cmd().arg("--batch").arg("list").output().unwrap(),
        v.cmd().arg("--batch").arg("status").output().unwrap(),
        v.cmd()
            .args(["--batch", "ledger", "show"])
            .output()
            .unwrap(),
        v.release("gh", &["alice", "bob"]),
        deposit_stdin(&v, "gh", format!("{}\nE-1\n", passphrase_for("alice"))),
    ];
    for out in outputs {
        expect_success(&out, "batch command");
        assert!(!out.stdout.contains(&0x1b), "{}", describe(&out));
        assert!(!out.stderr.contains(&0x1b), "{}", describe(&out));
    }
}

#[test]
fn a_passphrase_line_over_1_kib_is_refused_and_1_kib_is_read() {
    let v = vault();
    let before = v.snapshot();
    let long = "p".repeat(1025);
    let out = deposit_stdin(&v, "gh", format!("{long}\nC-1\n"));
    let err = expect_error(&out, 2);
    assert_mentions(&err, &["passphrase for alice", "1024 bytes"]);
    assert!(!err.contains("ppp"), "{err}");
    assert_eq!(v.snapshot(), before);
    // 1024 bytes (with a CRLF) is read, and is simply the wrong passphrase.
    let out = deposit_stdin(&v, "gh", format!("{}\r\nC-1\n", "p".repeat(1024)));
    assert_mentions(
        &expect_error(&out, 1),
        &["wrong passphrase for officer alice"],
    );
}

#[test]
fn an_endless_passphrase_line_is_refused_without_reading_it_all() {
    // No vault is needed: init reads the passphrases before creating one.
    let scratch = Scratch::new();
    let mut child = StdCommand::new(BIN)
        .arg("--vault")
        .arg(&scratch.path)
        .args(["--batch", "init", "--threshold", "2"])
        .args(["--officer", "alice", "--officer", "bob"])
        .args(FAST_KDF)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // 200 MB with no line end, stopped by the child closing its stdin.
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'a'; 1 << 20];
        let mut sent = 0usize;
        for _ in 0..200 {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
        sent
    });
    let out = child.wait_with_output().unwrap();
    let sent = writer.join().unwrap();
    assert_mentions(&expect_error(&out, 2), &["passphrase for alice", "1024"]);
    assert!(sent < 100 << 20, "the whole line was read ({sent} bytes)");
    assert!(!scratch.path.exists());
}

#[test]
fn export_prints_paths_that_work_from_the_current_directory() {
    let v = vault();
    let cwd = v.scratch.dir.path();
    let out = v
        .cmd()
        .current_dir(cwd)
        .args(["ledger", "export", "audit/bundle"])
        .output()
        .unwrap();
    expect_success(&out, "export");
    let text = String::from_utf8(out.stdout).unwrap();
    let abs = cwd.join("audit/bundle");
    assert!(
        text.contains(&format!("Exported 2 entries to {}", abs.display())),
        "{text}"
    );
    assert!(
        text.contains(
            "gpg --import audit/bundle/ledger-cert.asc && gpg --verify audit/bundle/checkpoint.asc audit/bundle/checkpoint"
        ),
        "{text}"
    );
    for f in ["ledger-cert.asc", "checkpoint.asc", "checkpoint"] {
        assert!(cwd.join("audit/bundle").join(f).is_file(), "{f}");
    }
}

#[test]
fn the_demo_suggests_the_secret_its_console_opens_on() {
    let scratch = Scratch::new();
    let out = bin().arg("demo").arg(&scratch.path).output().unwrap();
    expect_success(&out, "demo");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(" release github/admin "), "{text}");
    // The vault is named once, and no line of ours passes 80 columns (the
    // binary's own path, which we do not choose, counted as `breakglass`).
    assert!(
        text.contains(&format!(
            "  export BREAKGLASS_VAULT={}\n",
            scratch.path.display()
        )),
        "{text}"
    );
    let exe = env!("CARGO_BIN_EXE_breakglass");
    for line in text.lines() {
        let ours = line.replace(exe, "breakglass");
        assert!(ours.chars().count() <= 80, "over 80 columns: {line}");
    }
    assert!(
        text.contains("Secrets: aws/root-mfa, github/admin, okta/recovery, postgres/root"),
        "{text}"
    );
}
