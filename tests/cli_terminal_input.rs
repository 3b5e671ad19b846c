//! Passphrases typed at a terminal (issue 10, input limits): the real
//! binary on a pseudo-terminal made by `script(1)`, which copies the
//! test's stdin to it. The line is read from `/dev/tty` with echo off into
//! a buffer bounded by the limit (`src/harden/tty.rs`); a longer line is
//! refused without being held whole. Skipped, with a note, where `script`
//! is missing.
#![cfg(target_os = "linux")]

mod common;

use std::process::Output;

use common::*;

/// `breakglass --vault V ARGS` on a terminal, with `typed` as its input.
fn on_terminal(v: &TestVault, args: &str, typed: String) -> Option<Output> {
    let cmd = format!("{BIN} --vault '{}' {args}", v.path.display());
    let out = assert_cmd::Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env_remove("BREAKGLASS_VAULT")
        .timeout(COMMAND_TIMEOUT)
        .write_stdin(typed)
        .output();
    match out {
        Ok(o) => Some(o),
        Err(e) => {
            eprintln!("skipped: cannot run script(1): {e}");
            None
        }
    }
}

#[test]
fn a_passphrase_typed_at_the_terminal_unlocks_the_share() {
    let v = TestVault::two_of_three();
    let Some(out) = on_terminal(
        &v,
        "drill --officer alice",
        lines(&[&passphrase_for("alice")]),
    ) else {
        return;
    };
    expect_success(&out, "drill on a terminal");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Passphrase for alice: "),
        "{}",
        describe(&out)
    );
    assert!(text.contains("drill logged"), "{}", describe(&out));
}

#[test]
fn a_passphrase_line_over_the_limit_is_refused_and_nothing_is_logged() {
    let v = TestVault::two_of_three();
    let before = v.ledger_lines();
    // Over the 1 KiB limit, under the terminal's own 4 KiB line.
    let Some(out) = on_terminal(
        &v,
        "drill --officer alice",
        format!("{}\n", "x".repeat(2000)),
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("breakglass: the passphrase for alice is longer than 1024 bytes, the limit"),
        "{}",
        describe(&out)
    );
    assert_eq!(v.ledger_lines(), before, "a refused line was logged");
}
