//! `init` is atomic: the vault is built in a hidden sibling directory and
//! renamed into place once its genesis is durable, so a killed `init`
//! never leaves a half-made vault that a new `init` refuses.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::*;

#[test]
fn a_killed_init_leaves_nothing_that_blocks_the_next_one() {
    let s = Scratch::new();
    // Default Argon2 settings: slow enough to be killed part-way.
    for delay_ms in [5u64, 60, 150, 300, 600] {
        let mut child = std::process::Command::new(BIN)
            .env_remove("BREAKGLASS_VAULT")
            .arg("--vault")
            .arg(&s.path)
            .args([
                "--batch",
                "init",
                "--threshold",
                "2",
                "--officer",
                "alice",
                "--officer",
                "bob",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = lines(&[&passphrase_for("alice"), &passphrase_for("bob")]);
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let status = child.wait().unwrap();
        // Either nothing is at the path, or a whole vault is (the kill came
        // after the rename): never a half-made one.
        if s.path.exists() {
            let st = s.cmd().arg("status").output().unwrap();
            expect_success(&st, &format!("status after a kill at {delay_ms} ms"));
            expect_success(
                &s.cmd().args(["ledger", "verify"]).output().unwrap(),
                "verify",
            );
            std::fs::remove_dir_all(&s.path).unwrap();
        } else {
            assert!(!status.success(), "init exited 0 and left no vault");
        }
    }
    let out = init_output(&s, 2, &["alice", "bob"]);
    expect_success(&out, "init after killed ones");
    expect_success(
        &s.cmd().args(["ledger", "verify"]).output().unwrap(),
        "verify",
    );
}
