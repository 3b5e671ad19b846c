//! After the release (issue 18, docs/LEDGER.md §2.7), through the binary
//! on real vaults: a released credential waits for its rotation, every
//! release waits for a review by an officer who did not approve it, a
//! quorum retires a regenerated code set, a release inside a secret's
//! minimum interval needs one more officer, and `drill --release` proves
//! the whole chain up to the alert hook. Each refusal is one line on
//! stderr, changes nothing, and is logged.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Writes an executable `#!/bin/sh` script.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// Sets a hook that appends each event to `events`.
fn hook_into(v: &TestVault, events: &Path) {
    let hook = script(
        v.scratch.dir.path(),
        "hook.sh",
        &format!("cat >> '{}'", events.display()),
    );
    let out = v
        .batch()
        .args(["alerts", "set", "--officer", "alice", "--"])
        .arg(&hook)
        .write_stdin(format!("{}\n", passphrase_for("alice")))
        .output()
        .unwrap();
    expect_success(&out, "alerts set");
}

/// Each event the hook took, with its entry's `kind` copied up.
fn events(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let mut e: Value = serde_json::from_str(l).expect("an event is one JSON line");
            let entry: Value = serde_json::from_str(e["entry"].as_str().unwrap()).unwrap();
            e["kind"] = entry["kind"].clone();
            e
        })
        .collect()
}

/// `deposit NAME --kind credential` with extra flags; stdin is the
/// passphrase, then the value.
fn deposit_credential_with(
    v: &TestVault,
    secret: &str,
    value: &str,
    flags: &[&str],
) -> std::process::Output {
    v.batch()
        .args([
            "deposit",
            secret,
            "--officer",
            "alice",
            "--kind",
            "credential",
        ])
        .args(flags)
        .write_stdin(format!("{}\n{value}", passphrase_for("alice")))
        .output()
        .unwrap()
}

/// `deposit NAME` (codes) with extra flags.
fn deposit_codes_with(
    v: &TestVault,
    secret: &str,
    codes: &[&str],
    flags: &[&str],
) -> std::process::Output {
    v.batch()
        .args(["deposit", secret, "--officer", "alice"])
        .args(flags)
        .write_stdin(format!("{}\n{}", passphrase_for("alice"), lines(codes)))
        .output()
        .unwrap()
}

fn rotate(v: &TestVault, secret: &str, officer: &str, value: &str) -> std::process::Output {
    v.batch()
        .args(["rotate", secret, "--officer", officer])
        .write_stdin(format!("{}\n{value}", passphrase_for(officer)))
        .output()
        .unwrap()
}

fn review(v: &TestVault, seq: u64, officer: &str, extra: &[&str]) -> std::process::Output {
    v.batch()
        .args(["review", &seq.to_string(), "--officer", officer])
        .args(extra)
        .write_stdin(format!("{}\n", passphrase_for(officer)))
        .output()
        .unwrap()
}

fn retire(v: &TestVault, secret: &str, officers: &[&str]) -> std::process::Output {
    let mut c = v.batch();
    c.args(["retire", secret]);
    for o in officers {
        c.args(["--officer", o]);
    }
    let pw: Vec<String> = officers.iter().map(|o| passphrase_for(o)).collect();
    let pw: Vec<&str> = pw.iter().map(String::as_str).collect();
    c.write_stdin(lines(&pw)).output().unwrap()
}

fn verify_ok(v: &TestVault) -> String {
    let out = v.cmd().args(["ledger", "verify"]).output().unwrap();
    expect_success(&out, "ledger verify");
    String::from_utf8(out.stdout).unwrap()
}

/// The seq of the last entry of `kind`.
fn last_of(v: &TestVault, kind: &str) -> u64 {
    v.ledger()
        .iter()
        .rev()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} entry"))["seq"]
        .as_u64()
        .unwrap()
}

/// `status --json`'s due list, as (what, secret, release) triples.
fn due(v: &TestVault) -> Vec<(String, Option<String>, Option<u64>)> {
    v.status()["due"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["what"].as_str().unwrap().to_owned(),
                d["secret"].as_str().map(str::to_owned),
                d["release"].as_u64(),
            )
        })
        .collect()
}

#[test]
fn a_released_credential_waits_for_its_rotation_and_the_old_value_is_never_released_again() {
    let v = TestVault::two_of_three();
    expect_success(
        &deposit_credential_with(&v, "db/root", "old-root-pw", &["--rotate-within", "24h"]),
        "deposit",
    );
    assert_eq!(
        v.release_ok("db/root", &["alice", "bob"]).trim_end(),
        "old-root-pw"
    );
    let release = last_of(&v, "release");
    let d = due(&v);
    assert!(
        d.contains(&("rotation".into(), Some("db/root".into()), Some(release))),
        "{d:?}"
    );
    let status = String::from_utf8(v.cmd().arg("status").output().unwrap().stdout).unwrap();
    // Each due item is a line of its own, its label in the column of the
    // other labels.
    let todo = status
        .lines()
        .find(|l| l.contains("rotate db/root"))
        .unwrap();
    assert!(todo.starts_with("TODO         rotate db/root"), "{status}");
    assert!(status.contains("\npath         "), "{status}");
    let list = String::from_utf8(v.cmd().arg("list").output().unwrap().stdout).unwrap();
    let row = list.lines().find(|l| l.starts_with("db/root")).unwrap();
    assert!(
        row.contains("rotate it") && row.contains("1 to review"),
        "{row}"
    );

    // One officer deposits the new value; the entry answers the release.
    expect_success(&rotate(&v, "db/root", "carol", "new-root-pw"), "rotate");
    let rotated = v
        .ledger()
        .into_iter()
        .rev()
        .find(|e| e["kind"] == "rotated")
        .unwrap();
    assert_eq!(rotated["release"], release);
    assert_eq!(rotated["actor"], "carol");
    assert!(!due(&v).iter().any(|d| d.0 == "rotation"));
    let list = String::from_utf8(v.cmd().arg("list").output().unwrap().stdout).unwrap();
    assert!(!list.contains("rotate it"), "{list}");

    // The next release gives the new value, never the old one.
    assert_eq!(
        v.release_ok("db/root", &["bob", "carol"]).trim_end(),
        "new-root-pw"
    );
    verify_ok(&v);
}

#[test]
fn a_rotation_nothing_asked_for_is_refused_and_logged() {
    let v = TestVault::two_of_three();
    expect_success(
        &deposit_credential_with(&v, "db/root", "pw-1", &[]),
        "deposit",
    );
    v.deposit_codes_ok("gh", "alice", &["c1", "c2"]);

    // Not released yet: nothing to rotate.
    let before = v.snapshot();
    let line = one_line_error(&rotate(&v, "db/root", "alice", "pw-2"));
    assert_mentions(&line, &["db/root", "not released"]);
    let before = v.assert_only_refusal_logged(before);

    // Codes are spent when released; they are retired, not rotated.
    let line = one_line_error(&rotate(&v, "gh", "alice", "x"));
    assert_mentions(&line, &["gh", "codes"]);
    v.assert_only_refusal_logged(before);

    // Rotated once, a second rotation answers nothing.
    v.release_ok("db/root", &["alice", "bob"]);
    expect_success(&rotate(&v, "db/root", "alice", "pw-2"), "rotate");
    let before = (v.ledger_lines(), v.list_raw());
    let line = one_line_error(&rotate(&v, "db/root", "alice", "pw-3"));
    assert_mentions(&line, &["db/root", "not released"]);
    v.assert_only_refusal_logged(before);

    // A wrong passphrase rotates nothing either.
    let before = v.snapshot();
    let out = v
        .batch()
        .args(["rotate", "db/root", "--officer", "bob"])
        .write_stdin("not-bobs-passphrase\nvalue")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let after = v.snapshot();
    assert_eq!(after.1, before.1);
    assert!(
        !after
            .0
            .iter()
            .skip(before.0.len())
            .any(|l| l.contains("\"kind\":\"rotated\""))
    );
    verify_ok(&v);
}

#[test]
fn a_review_comes_from_an_officer_who_did_not_approve_and_only_once() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["c1", "c2"]);
    v.release_ok("gh", &["alice", "bob"]);
    let release = last_of(&v, "release");
    assert!(due(&v).contains(&("review".into(), Some("gh".into()), Some(release))));
    let how = [
        "--class",
        "emergency",
        "--incident",
        "INC-7",
        "--note",
        "IdP down; alice signed in to fix SSO",
    ];

    // An approver cannot review their own release.
    let before = v.snapshot();
    let line = one_line_error(&review(&v, release, "bob", &how));
    assert_mentions(&line, &["bob", "approved"]);
    let before = v.assert_only_refusal_logged(before);

    // Not a release.
    let line = one_line_error(&review(&v, 0, "carol", &how));
    assert_mentions(&line, &["entry 0", "not a release"]);
    let _ = v.assert_only_refusal_logged(before);

    // An emergency names its incident (a usage error: nothing is asked).
    let before = v.snapshot();
    let out = review(
        &v,
        release,
        "carol",
        &["--class", "emergency", "--note", "x"],
    );
    let line = one_line_error(&out);
    assert_mentions(&line, &["--incident"]);
    assert_eq!(v.snapshot(), before);

    // A note with a control character is refused before anything runs.
    let out = review(
        &v,
        release,
        "carol",
        &["--class", "drill", "--note", "a\u{1b}[2Jb"],
    );
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(v.snapshot(), before);

    expect_success(&review(&v, release, "carol", &how), "review");
    let r = v
        .ledger()
        .into_iter()
        .rev()
        .find(|e| e["kind"] == "reviewed")
        .unwrap();
    assert_eq!(r["release"], release);
    assert_eq!(r["class"], "emergency");
    assert_eq!(r["incident"], "INC-7");
    assert!(!due(&v).iter().any(|d| d.0 == "review"));

    // Once only.
    let before = v.snapshot();
    let line = one_line_error(&review(&v, release, "carol", &how));
    assert_mentions(&line, &["already reviewed"]);
    v.assert_only_refusal_logged(before);

    // `ledger show` links the release to its display and review.
    let shown =
        String::from_utf8(v.cmd().args(["ledger", "show"]).output().unwrap().stdout).unwrap();
    assert!(shown.contains("reviewed"), "{shown}");
    let report = verify_ok(&v);
    assert!(
        report.contains("lifecycle: gh: 1 releases, 1 reviewed"),
        "{report}"
    );
}

#[test]
fn retiring_a_code_set_takes_a_quorum_and_voids_every_code_left() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["old-1", "old-2", "old-3"]);
    assert_eq!(v.release_ok("gh", &["alice", "bob"]).trim_end(), "old-1");

    // One officer cannot take the emergency path away.
    let before = v.snapshot();
    let line = one_line_error(&retire(&v, "gh", &["alice"]));
    assert_mentions(&line, &["2"]);
    let before = v.assert_only_refusal_logged(before);
    // Nor the same officer twice.
    let line = one_line_error(&retire(&v, "gh", &["alice", "alice"]));
    assert_mentions(&line, &["alice"]);
    let _ = v.assert_only_refusal_logged(before);

    expect_success(&retire(&v, "gh", &["alice", "carol"]), "retire");
    let r = v
        .ledger()
        .into_iter()
        .rev()
        .find(|e| e["kind"] == "retired")
        .unwrap();
    assert_eq!(r["voided"], 2);
    assert_eq!(v.remaining("gh"), 0);

    // The old codes are never released again.
    let out = v.release("gh", &["alice", "bob"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("old-"));

    // Nothing left: a second retirement is refused.
    let before = v.snapshot();
    let line = one_line_error(&retire(&v, "gh", &["alice", "carol"]));
    assert_mentions(&line, &["no code left"]);
    let _ = v.assert_only_refusal_logged(before);

    // The new set goes in under the same name and is released in order.
    v.deposit_codes_ok("gh", "alice", &["new-1", "new-2"]);
    assert_eq!(v.release_ok("gh", &["bob", "carol"]).trim_end(), "new-1");
    verify_ok(&v);
}

#[test]
fn a_release_inside_the_minimum_interval_needs_one_more_officer() {
    let v = TestVault::two_of_three();
    expect_success(
        &deposit_codes_with(&v, "gh", &["c1", "c2", "c3"], &["--min-interval", "1h"]),
        "deposit",
    );
    assert_eq!(v.release_ok("gh", &["alice", "bob"]).trim_end(), "c1");

    let before = v.snapshot();
    let out = v.release("gh", &["alice", "bob"]);
    let line = one_line_error(&out);
    assert_mentions(&line, &["3"]);
    assert!(out.stdout.is_empty());
    let after = v.snapshot();
    assert_eq!(after.1, before.1, "a refused release changed the items");

    assert_eq!(
        v.release_ok("gh", &["alice", "bob", "carol"]).trim_end(),
        "c2"
    );
    verify_ok(&v);
}

#[test]
fn policies_are_checked_at_deposit_and_fixed_by_the_first() {
    let v = TestVault::two_of_three();
    // A rotation deadline is for credentials, a reorder level for codes.
    let out = deposit_codes_with(&v, "gh", &["c1"], &["--rotate-within", "24h"]);
    assert_mentions(&one_line_error(&out), &["--rotate-within"]);
    let out = deposit_credential_with(&v, "db", "pw", &["--reorder-below", "2"]);
    assert_mentions(&one_line_error(&out), &["--reorder-below"]);
    // Out of bounds or not a duration.
    for (flag, value) in [
        ("--rotate-within", "10m"),
        ("--review-within", "91d"),
        ("--min-interval", "soon"),
        ("--hours", "25:00-08:00"),
    ] {
        let out = deposit_credential_with(&v, "db", "pw", &[flag, value]);
        assert_mentions(&one_line_error(&out), &[flag]);
    }
    assert!(v.list().is_empty(), "a refused deposit stored something");

    expect_success(
        &deposit_codes_with(&v, "gh", &["c1"], &["--reorder-below", "2"]),
        "deposit",
    );
    // A later deposit may not change the policy the officers signed.
    let before = v.snapshot();
    let out = deposit_codes_with(&v, "gh", &["c2"], &["--reorder-below", "5"]);
    assert_mentions(&one_line_error(&out), &["gh", "policy"]);
    v.assert_only_refusal_logged(before);
    // Below its reorder level, the set asks for a new one.
    assert!(due(&v).contains(&("reorder".into(), Some("gh".into()), None)));
}

#[test]
fn check_lists_what_is_due_and_reminds_of_what_is_pressing_once_a_day() {
    let v = TestVault::two_of_three();
    expect_success(
        &deposit_codes_with(&v, "gh", &["c1", "c2", "c3"], &["--reorder-below", "3"]),
        "deposit",
    );
    v.release_ok("gh", &["alice", "bob"]);
    let events_file = v.scratch.dir.path().join("events.jsonl");
    hook_into(&v, &events_file);

    let out = v.cmd().arg("check").output().unwrap();
    expect_success(&out, "check");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("gh runs low"), "{text}");
    assert!(text.contains("review entry"), "{text}");
    let reminders = |v: &TestVault| v.ledger_kinds().iter().filter(|k| *k == "overdue").count();
    assert_eq!(reminders(&v), 1);
    let entry = v
        .ledger()
        .into_iter()
        .rev()
        .find(|e| e["kind"] == "overdue")
        .unwrap();
    assert!(
        entry["due"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["what"] == "reorder" && d["secret"] == "gh"),
        "{entry}"
    );
    // The reminder reached the hook.
    let got = events(&events_file);
    assert!(got.iter().any(|e| e["kind"] == "overdue"), "{got:?}");

    // The same day, nothing new is logged.
    let out = v.cmd().args(["check", "--json"]).output().unwrap();
    expect_success(&out, "check --json");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["logged"].is_null(), "{json}");
    assert!(!json["due"].as_array().unwrap().is_empty());
    assert_eq!(reminders(&v), 1);
    verify_ok(&v);
}

#[test]
fn every_alert_event_says_what_looks_unusual() {
    let v = TestVault::two_of_three();
    let events_file = v.scratch.dir.path().join("events.jsonl");
    hook_into(&v, &events_file);
    v.deposit_codes_ok("gh", "alice", &["c1", "c2", "c3"]);
    // A wrong passphrase, then a release: the release's event counts it.
    let out = v.release_with_stdin("gh", &["alice", "bob"], "wrong-passphrase\n");
    assert_ne!(out.status.code(), Some(0));
    v.release_ok("gh", &["alice", "bob"]);
    v.release_ok("gh", &["alice", "carol"]);
    let got = events(&events_file);
    let release_events: Vec<&Value> = got.iter().filter(|e| e["kind"] == "release").collect();
    assert_eq!(release_events.len(), 2, "{got:?}");
    let first = &release_events[0]["unusual"];
    assert_eq!(
        first["failed_auths"], 1,
        "the release ended a failure: {first}"
    );
    let failed = got.iter().find(|e| e["kind"] == "auth_failed").unwrap();
    assert_eq!(failed["unusual"]["failed_auths"], 1, "{failed}");
    assert_eq!(failed["unusual"]["flag"], true);
    let second = &release_events[1]["unusual"];
    assert_eq!(second["releases_24h"], 2, "{second}");
    assert_eq!(second["flag"], true);
    // The deposit before any of it was not unusual.
    let deposit = got.iter().find(|e| e["kind"] == "deposit").unwrap();
    assert_eq!(deposit["unusual"]["flag"], false, "{deposit}");
}

#[test]
fn a_release_outside_the_stated_hours_is_flagged() {
    let v = TestVault::two_of_three();
    let events_file = v.scratch.dir.path().join("events.jsonl");
    hook_into(&v, &events_file);
    // A window of one minute that is never now: a release is outside it.
    let now = time_of_day_minutes();
    let from = (now + 120) % 1440;
    let hours = format!(
        "{:02}:{:02}-{:02}:{:02}",
        from / 60,
        from % 60,
        (from + 1) / 60 % 24,
        (from + 1) % 60
    );
    expect_success(
        &deposit_codes_with(&v, "gh", &["c1"], &["--hours", &hours]),
        "deposit",
    );
    v.release_ok("gh", &["alice", "bob"]);
    let got = events(&events_file);
    let release = got.iter().find(|e| e["kind"] == "release").unwrap();
    assert_eq!(release["unusual"]["outside_hours"], true, "{release}");
    assert_eq!(release["unusual"]["flag"], true);
}

/// Minutes since midnight UTC, now.
fn time_of_day_minutes() -> u64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    secs % 86_400 / 60
}

#[test]
fn an_end_to_end_drill_releases_a_canary_and_proves_the_hook_took_it() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["real-1"]);

    // Without a hook the drill cannot prove alerts fire: it fails, logged.
    let drill = |v: &TestVault| {
        v.batch()
            .args([
                "drill",
                "--release",
                "--officer",
                "alice",
                "--officer",
                "bob",
            ])
            .write_stdin(lines(&[
                &passphrase_for("alice"),
                &passphrase_for("alice"),
                &passphrase_for("bob"),
            ]))
            .output()
            .unwrap()
    };
    let out = drill(&v);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let entry = v
        .ledger()
        .into_iter()
        .rev()
        .find(|e| e["kind"] == "drill")
        .unwrap();
    assert_eq!(entry["result"], "failed");
    assert_eq!(entry["delivery"], "no_hook");

    let events_file = v.scratch.dir.path().join("events.jsonl");
    hook_into(&v, &events_file);
    let out = drill(&v);
    expect_success(&out, "drill --release");
    let canary = String::from_utf8(out.stdout).unwrap();
    assert!(canary.starts_with("breakglass-canary-"), "{canary}");
    let entry = v
        .ledger()
        .into_iter()
        .rev()
        .find(|e| e["kind"] == "drill")
        .unwrap();
    assert_eq!(entry["result"], "passed");
    assert_eq!(entry["delivery"], "delivered");
    assert_eq!(entry["actor"], "alice+bob");
    let release = entry["release"].as_u64().unwrap();
    let got = events(&events_file);
    assert!(
        got.iter().any(|e| e["seq"] == release),
        "the hook took the canary's release"
    );
    assert!(
        got.iter().any(|e| e["kind"] == "drill"),
        "and the drill's own entry"
    );

    // Nothing real was consumed, and a drill owes no review.
    assert_eq!(v.remaining("gh"), 1);
    assert!(!due(&v).iter().any(|d| d.0 == "review"));
    // Canary names are the drill's own: nobody deposits into them.
    let out = v.deposit_codes("drill/canary", "alice", &["x"]);
    assert_mentions(&one_line_error(&out), &["drill/"]);
    verify_ok(&v);
}

#[test]
fn a_ceremony_after_a_retirement_and_a_rotation_carries_the_void_items_as_they_are() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["old-1", "old-2", "old-3"]);
    expect_success(&deposit_credential_with(&v, "db", "pw-1", &[]), "deposit");
    v.release_ok("gh", &["alice", "bob"]);
    v.release_ok("db", &["alice", "bob"]);
    expect_success(&rotate(&v, "db", "carol", "pw-2"), "rotate");
    expect_success(&retire(&v, "gh", &["alice", "bob"]), "retire");
    let pw: Vec<String> = ["alice", "bob", "dave"]
        .iter()
        .map(|o| passphrase_for(o))
        .collect();
    let pw: Vec<&str> = pw.iter().map(String::as_str).collect();
    let out = v
        .batch()
        .args([
            "officer",
            "add",
            "dave",
            "--officer",
            "alice",
            "--officer",
            "bob",
        ])
        .write_stdin(lines(&pw))
        .output()
        .unwrap();
    expect_success(&out, "officer add dave");
    // Both verifiers' rule 19: a void item keeps its ciphertext's digest.
    verify_ok(&v);
    // Still void in the new epoch: nothing of the old set comes out.
    let out = v.release("gh", &["alice", "dave"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("old-"));
    assert_eq!(v.release_ok("db", &["bob", "dave"]).trim_end(), "pw-2");
    verify_ok(&v);
}
