//! Releases through the real binary: quorum rules (I1), refusals and their
//! ledger entries (I7), no secret at rest in clear (I4) and "vault is in use"
//! for a second process (I13).

mod common;

use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A vault with `gh` holding three codes.
fn vault_with_codes() -> TestVault {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["C-1", "C-2", "C-3"]);
    v
}

/// Asserts that a refused release printed nothing, consumed nothing, and
/// appended exactly one ledger entry of `kind`, which it returns.
fn assert_refused_and_logged(
    v: &TestVault,
    out: &std::process::Output,
    before: &[Value],
    kind: &str,
) -> Value {
    assert!(
        out.stdout.is_empty(),
        "a refused release printed something:\n{}",
        describe(out)
    );
    assert_eq!(v.remaining("gh"), 3, "a refused release consumed an item");
    assert_eq!(v.secret("gh").unwrap()["unconfirmed"], 0);
    let after = v.ledger();
    assert_eq!(
        after.len(),
        before.len() + 1,
        "expected one new ledger entry, got {:#?}",
        &after[before.len()..]
    );
    assert_eq!(
        &after[..before.len()],
        before,
        "earlier ledger entries changed"
    );
    let last = after.last().unwrap().clone();
    assert_eq!(last["kind"], kind, "{last}");
    assert!(
        !after.iter().any(|e| e["kind"] == "release"),
        "a release entry was written"
    );
    last
}

// ---- I1: quorum ----

#[test]
fn min_approvals_above_threshold_needs_that_many_officers() {
    let v = TestVault::two_of_three();
    let stdin = format!("{}\nS-1\nS-2\n", passphrase_for("alice"));
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
        .write_stdin(stdin)
        .output()
        .unwrap();
    expect_success(&out, "deposit --min-approvals 3");
    assert_eq!(v.secret("gh").unwrap()["min_approvals"], 3);
    let before = v.ledger();

    // Refused before any passphrase is asked: stdin holds none.
    let out = v.release_with_stdin("gh", &["alice", "bob"], "");
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["too few", "2", "3"]);
    assert!(out.stdout.is_empty());
    assert_eq!(v.remaining("gh"), 2);
    let after = v.ledger();
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after.last().unwrap()["kind"], "refused");

    // With the right passphrases, two are still too few.
    let err = expect_error(&v.release("gh", &["alice", "bob"]), 1);
    assert_mentions(&err, &["too few"]);
    assert_eq!(v.remaining("gh"), 2);

    assert_eq!(v.release_ok("gh", &["alice", "bob", "carol"]), "S-1\n");
    assert_eq!(v.remaining("gh"), 1);
    let release = v
        .ledger()
        .into_iter()
        .find(|e| e["kind"] == "release")
        .unwrap();
    assert_eq!(release["approvals"].as_array().unwrap().len(), 3);
}

#[test]
fn min_approvals_outside_threshold_and_officer_count_is_refused() {
    let v = TestVault::two_of_three();
    for k in ["1", "4", "0"] {
        let stdin = format!("{}\nS-1\n", passphrase_for("alice"));
        let out = v
            .batch()
            .args(["deposit", "gh", "--officer", "alice", "--min-approvals", k])
            .write_stdin(stdin)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "--min-approvals {k} accepted:\n{}",
            describe(&out)
        );
        assert_mentions(&one_line_error(&out), &["min-approvals"]);
        assert!(
            v.list().is_empty(),
            "--min-approvals {k} deposited something"
        );
    }
}

#[test]
fn wrong_passphrase_is_refused_logged_and_consumes_nothing() {
    let v = vault_with_codes();
    let before = v.ledger();
    let stdin = lines(&["not-alices-passphrase", &passphrase_for("bob")]);
    let out = v.release_with_stdin("gh", &["alice", "bob"], stdin);
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["wrong passphrase for officer alice"]);
    assert!(
        !err.contains("not-alices-passphrase"),
        "the error echoes the passphrase: {err}"
    );
    let e = assert_refused_and_logged(&v, &out, &before, "auth_failed");
    assert_eq!(e["actor"], "alice");
    assert_eq!(e["secret"], "gh");
    assert_eq!(e["action"], "release");
}

#[test]
fn second_officers_wrong_passphrase_is_refused_after_first_approved() {
    let v = vault_with_codes();
    let before = v.ledger();
    // Bob gives alice's (valid, but not his) passphrase.
    let stdin = lines(&[&passphrase_for("alice"), &passphrase_for("alice")]);
    let out = v.release_with_stdin("gh", &["alice", "bob"], stdin);
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["wrong passphrase for officer bob"]);
    assert!(out.stdout.is_empty(), "{}", describe(&out));
    assert_eq!(v.remaining("gh"), 3, "a refused release consumed an item");
    // Bob's failure is logged, then the abandoned request with alice's
    // approval (discarded).
    let after = v.ledger();
    assert_eq!(&after[..before.len()], &before[..]);
    let added = &after[before.len()..];
    assert_eq!(added.len(), 2, "{added:#?}");
    assert_eq!(
        (&added[0]["kind"], &added[0]["actor"]),
        (&Value::from("auth_failed"), &Value::from("bob"))
    );
    assert_eq!(
        (&added[1]["kind"], &added[1]["approvals"]),
        (&Value::from("cancelled"), &Value::from(1))
    );
    // The vault still releases with the right passphrases.
    assert_eq!(v.release_ok("gh", &["alice", "bob"]), "C-1\n");
}

#[test]
fn unknown_officer_is_refused_before_any_passphrase() {
    let v = vault_with_codes();
    let before = v.ledger();
    let out = v.release_with_stdin("gh", &["alice", "mallory"], "");
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["unknown officer mallory"]);
    let e = assert_refused_and_logged(&v, &out, &before, "refused");
    assert_eq!(e["secret"], "gh");
}

#[test]
fn duplicate_officer_is_refused() {
    let v = vault_with_codes();
    let before = v.ledger();
    let pass = passphrase_for("alice");
    let out = v.release_with_stdin("gh", &["alice", "alice"], lines(&[&pass, &pass]));
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["alice", "twice"]);
    let e = assert_refused_and_logged(&v, &out, &before, "refused");
    assert_eq!(e["secret"], "gh");
}

#[test]
fn duplicate_officer_is_refused_even_with_enough_distinct_ones() {
    let v = vault_with_codes();
    let before = v.ledger();
    let stdin = lines(&[
        &passphrase_for("alice"),
        &passphrase_for("alice"),
        &passphrase_for("bob"),
    ]);
    let out = v.release_with_stdin("gh", &["alice", "alice", "bob"], stdin);
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["alice", "twice"]);
    assert_refused_and_logged(&v, &out, &before, "refused");
}

#[test]
fn too_few_officers_is_refused() {
    let v = vault_with_codes();
    let before = v.ledger();
    let out = v.release_with_stdin("gh", &["alice"], lines(&[&passphrase_for("alice")]));
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["too few officers", "1", "2"]);
    let e = assert_refused_and_logged(&v, &out, &before, "refused");
    assert_eq!(e["secret"], "gh");
}

#[test]
fn unknown_secret_is_refused_and_logged() {
    let v = vault_with_codes();
    let before = v.ledger();
    let out = v.release("nope", &["alice", "bob"]);
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["unknown secret nope"]);
    let e = assert_refused_and_logged(&v, &out, &before, "refused");
    assert_eq!(e["secret"], "nope");
}

#[test]
fn release_stops_when_stdin_ends_before_all_passphrases() {
    let v = vault_with_codes();
    let before = v.ledger();
    let out = v.release_with_stdin("gh", &["alice", "bob"], lines(&[&passphrase_for("alice")]));
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["stdin ended", "bob"]);
    assert!(out.stdout.is_empty());
    assert_eq!(v.remaining("gh"), 3);
    assert!(!v.ledger().iter().any(|e| e["kind"] == "release"));
    assert_eq!(&v.ledger()[..before.len()], &before[..]);
}

#[test]
fn release_abandoned_after_a_partial_approval_is_logged() {
    let v = vault_with_codes();
    let before = v.ledger();
    let out = v.release_with_stdin("gh", &["alice", "bob"], lines(&[&passphrase_for("alice")]));
    expect_error(&out, 1);
    let after = v.ledger();
    assert!(
        after.len() > before.len() && after[before.len()..].iter().any(|e| e["secret"] == "gh"),
        "the abandoned release of gh is not in the ledger"
    );
}

#[test]
fn any_two_officers_release_and_each_code_once() {
    let v = TestVault::init(2, &["alice", "bob", "carol", "dave"]);
    v.deposit_codes_ok("gh", "dave", &["C-1", "C-2", "C-3", "C-4"]);
    let mut got = Vec::new();
    for pair in [
        ["dave", "carol"],
        ["bob", "alice"],
        ["carol", "alice"],
        ["bob", "dave"],
    ] {
        got.push(v.release_ok("gh", &pair));
    }
    assert_eq!(got, ["C-1\n", "C-2\n", "C-3\n", "C-4\n"]);
    let err = expect_error(&v.release("gh", &["alice", "bob", "carol"]), 1);
    assert_mentions(&err, &["nothing left"]);
}

// ---- I2 / I10: an item that never reached stdout stays re-releasable ----

#[test]
fn an_item_that_cannot_be_written_to_stdout_is_re_released_next() {
    let v = vault_with_codes();
    // A pipe whose reader is gone: the write fails (EPIPE) after the
    // release is logged. (/dev/full, which fails the same way, is refused
    // before anything is released, as every device that is not a terminal.)
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = std::process::Command::new(BIN)
        .env_remove("BREAKGLASS_VAULT")
        .arg("--vault")
        .arg(&v.path)
        .args([
            "--batch",
            "release",
            "gh",
            "--reason",
            REASON,
            "--officer",
            "alice",
            "--officer",
            "bob",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(lines(&[&passphrase_for("alice"), &passphrase_for("bob")]).as_bytes())
            .unwrap();
    }
    let status = wait_with_limit(&mut child, Duration::from_secs(60)).expect("release hung");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("breakglass: ") && err.trim_end().lines().count() == 1,
        "{err}"
    );
    assert!(err.contains("re-releasable"), "{err}");

    // Released (logged) but not delivered: unconfirmed, and the same item
    // comes out of the next release, logged as a re-release.
    let s = v.secret("gh").unwrap();
    assert_eq!(
        (s["remaining"].as_u64(), s["unconfirmed"].as_u64()),
        (Some(2), Some(1)),
        "{s}"
    );
    let first = v
        .ledger()
        .into_iter()
        .find(|e| e["kind"] == "release")
        .expect("the release was logged");
    assert_eq!(first["index"], 0);
    assert!(
        !v.ledger()
            .iter()
            .any(|e| e["kind"] == "displayed" && e["outcome"] == "stdout")
    );

    assert_eq!(v.release_ok("gh", &["bob", "carol"]), "C-1\n");
    let releases: Vec<Value> = v
        .ledger()
        .into_iter()
        .filter(|e| e["kind"] == "release")
        .collect();
    assert_eq!(releases.len(), 2);
    assert_eq!(releases[1]["index"], 0);
    assert_eq!(releases[1]["re_release_of"], first["seq"]);
    let s = v.secret("gh").unwrap();
    assert_eq!(
        (s["remaining"].as_u64(), s["unconfirmed"].as_u64()),
        (Some(2), Some(0)),
        "{s}"
    );
    // Once delivered, it is not released again.
    assert_eq!(v.release_ok("gh", &["alice", "carol"]), "C-2\n");
}

// ---- I4: no secret at rest in clear ----

#[test]
fn no_code_credential_or_passphrase_is_stored_in_clear() {
    let v = TestVault::two_of_three();
    let codes = [
        "ZK4Q-mB7v-RELEASED-1",
        "ZK4Q-mB7v-RELEASED-2",
        "ZK4Q-mB7v-KEPT-3",
        "ZK4Q-mB7v-KEPT-4",
    ];
    let credential = "cred-Tn3wQ8-line-one\ncred-Tn3wQ8-line-two";
    v.deposit_codes_ok("github/admin", "alice", &codes);
    expect_success(
        &v.deposit_credential("db/root", "carol", credential.as_bytes()),
        "deposit",
    );
    assert_eq!(
        v.release_ok("github/admin", &["alice", "bob"]),
        format!("{}\n", codes[0])
    );
    assert_eq!(
        v.release_ok("github/admin", &["bob", "carol"]),
        format!("{}\n", codes[1])
    );
    // A failed attempt with a wrong passphrase must not store it either.
    let wrong = "wrong-pw-Hq2mX7zz";
    expect_error(
        &v.release_with_stdin("db/root", &["alice", "bob"], lines(&[wrong, wrong])),
        1,
    );

    let mut needles: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
    needles.push(credential.to_string());
    needles.extend(credential.lines().map(str::to_owned));
    needles.extend(v.officers.iter().map(|o| passphrase_for(o)));
    needles.push(wrong.to_string());

    let files = files_under(&v.path);
    assert!(!files.is_empty(), "no files in the vault directory");
    let total: usize = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len() as usize)
        .sum();
    assert!(total > 0, "the vault directory is empty");
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for n in &needles {
            assert!(
                !contains_bytes(&bytes, n.as_bytes()),
                "{} holds {n:?} in clear",
                f.display()
            );
        }
    }
    // Nor does anything the vault prints without a quorum.
    let ledger = v.ledger_lines().join("\n");
    let human = v.cmd().args(["ledger", "show"]).output().unwrap();
    expect_success(&human, "ledger show");
    let status = v.cmd().args(["status"]).output().unwrap();
    for out in [
        ledger.as_bytes(),
        &human.stdout,
        v.list_raw().as_bytes(),
        &status.stdout,
    ] {
        for n in &needles {
            assert!(!contains_bytes(out, n.as_bytes()), "output holds {n:?}");
        }
    }
}

// ---- I13: a second process gets "vault is in use" ----

/// Waits up to `limit` for `child` to exit, killing it after that.
fn wait_with_limit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(st);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `deposit` in batch mode, which opens the vault and then blocks
/// reading the passphrase from stdin (left open), and returns once it holds
/// the vault's writer lock: a probing writer says "in use". If a probe raced
/// the child for the lock and the child lost, it is started again.
fn hold_vault_open(v: &TestVault) -> Child {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut child = std::process::Command::new(BIN)
            .env_remove("BREAKGLASS_VAULT")
            .arg("--vault")
            .arg(&v.path)
            .args(["--batch", "deposit", "held", "--officer", "alice"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the holder");
        loop {
            assert!(
                Instant::now() < deadline,
                "the holder never took the vault's lock"
            );
            if child.try_wait().unwrap().is_some() {
                break; // lost the race to a probe; start again
            }
            // A writer that would stop at its missing passphrase anyway.
            let probe = v
                .batch()
                .args(["drill", "--officer", "bob"])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&probe.stderr).contains("in use") {
                if child.try_wait().unwrap().is_none() {
                    return child;
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn while_a_writer_waits_for_a_passphrase_readers_work_and_writers_are_refused_at_once() {
    let v = vault_with_codes();
    let ledger_before = v.ledger_lines();
    let mut holder = hold_vault_open(&v);

    // The holder waits at its passphrase prompt with the database let go:
    // auditors read meanwhile.
    for args in [
        &["list", "--json"][..],
        &["status"],
        &["ledger", "show"],
        &["ledger", "verify"],
    ] {
        let out = v.cmd().args(args).output().unwrap();
        expect_success(&out, &args.join(" "));
    }

    let pass = lines(&[&passphrase_for("alice"), &passphrase_for("bob")]);
    let attempts: Vec<(&str, assert_cmd::Command)> = vec![
        ("release", {
            let mut c = v.batch();
            c.args([
                "release",
                "gh",
                "--reason",
                REASON,
                "--officer",
                "alice",
                "--officer",
                "bob",
            ])
            .write_stdin(pass.clone());
            c
        }),
        ("deposit", {
            let mut c = v.batch();
            c.args(["deposit", "gh", "--officer", "alice"])
                .write_stdin(format!("{}\nC-9\n", passphrase_for("alice")));
            c
        }),
    ];
    for (what, mut c) in attempts {
        let start = Instant::now();
        let out = c.timeout(Duration::from_secs(10)).output().unwrap();
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(5),
            "{what} took {took:?} on a vault in use"
        );
        let err = expect_error(&out, 1);
        // The message names the holder, so a responder knows whom to ask.
        let holder_pid = format!("pid {}", holder.id());
        assert_mentions(&err, &["vault is in use", &holder_pid]);
        assert!(
            out.stdout.is_empty(),
            "{what} printed something:\n{}",
            describe(&out)
        );
    }

    // Closing the holder's stdin ends it: no passphrase, nothing deposited.
    drop(holder.stdin.take());
    let status =
        wait_with_limit(&mut holder, Duration::from_secs(20)).expect("the holder did not exit");
    let mut err = String::new();
    holder
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(1), "holder: {err}");
    assert!(err.contains("stdin ended"), "holder: {err}");

    // The lock is released; nothing changed while it was held.
    assert_eq!(v.ledger_lines(), ledger_before);
    assert_eq!(v.remaining("gh"), 3);
    assert!(v.secret("held").is_none());
    assert_eq!(v.release_ok("gh", &["alice", "bob"]), "C-1\n");
}
