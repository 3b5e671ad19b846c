//! `breakglass doctor` (issue: ship it): the console's self-check, run as
//! the real binary on real vault directories, including one with a planted
//! symlink and a clock set back (faketime), and one that does not exist.

mod common;

use common::*;
use serde_json::Value;

fn doctor(v: &TestVault, json: bool) -> std::process::Output {
    let mut c = v.cmd();
    c.arg("doctor");
    if json {
        c.arg("--json");
    }
    c.output().unwrap()
}

fn line<'a>(text: &'a str, check: &str) -> &'a str {
    text.lines()
        .find(|l| l.get(6..).is_some_and(|r| r.starts_with(check)))
        .unwrap_or_else(|| panic!("no {check} line:\n{text}"))
}

#[test]
fn a_sound_vault_passes_with_its_warnings_said() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["DOC-1"]);
    let before = v.snapshot();
    let out = doctor(&v, false);
    expect_success(&out, "doctor");
    let text = String::from_utf8(out.stdout).unwrap();
    for check in [
        "core dumps",
        "memory lock",
        "directory",
        "disk",
        "clock",
        "alert hook",
        "terminal",
        "gpg",
        "python3",
    ] {
        line(&text, check);
    }
    assert!(
        line(&text, "directory").starts_with("OK    directory    mode 700"),
        "{text}"
    );
    assert!(line(&text, "clock").starts_with("OK"), "{text}");
    // No hook: a warning that says what to do, not a failure.
    let hook = line(&text, "alert hook");
    assert!(
        hook.starts_with("WARN") && hook.contains("breakglass alerts set"),
        "{text}"
    );
    // Run from a test, stdout is a pipe.
    assert!(line(&text, "terminal").starts_with("WARN"), "{text}");
    assert!(text.lines().last().unwrap().contains(" 0 failed"), "{text}");
    assert_eq!(v.snapshot(), before, "doctor wrote to the vault");
}

#[test]
fn a_planted_symlink_and_a_clock_set_back_fail() {
    let v = TestVault::two_of_three();
    std::os::unix::fs::symlink("/etc/passwd", v.path.join("planted")).unwrap();
    let out = doctor(&v, false);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let dir = line(&text, "directory");
    assert!(dir.starts_with("FAIL") && dir.contains("planted"), "{text}");
    std::fs::remove_file(v.path.join("planted")).unwrap();

    if std::process::Command::new("faketime")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED (clock): faketime is not installed");
        return;
    }
    // The clock a year behind the ledger's last entry.
    let out = std::process::Command::new("faketime")
        .args(["-f", "-365d", BIN, "--vault"])
        .arg(&v.path)
        .arg("doctor")
        .env_remove("BREAKGLASS_VAULT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let clock = line(&text, "clock");
    assert!(
        clock.starts_with("FAIL") && clock.contains("earlier than the ledger's last entry"),
        "{text}"
    );
    assert!(line(&text, "directory").starts_with("OK"), "{text}");
}

#[test]
fn doctor_json_lists_every_check_with_its_status() {
    let v = TestVault::two_of_three();
    std::os::unix::fs::symlink("/nowhere", v.path.join("db.link")).unwrap();
    let out = doctor(&v, true);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["ok"], false);
    assert_eq!(r["failed"], 1);
    let checks = r["checks"].as_array().unwrap();
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "core dumps",
            "memory lock",
            "directory",
            "disk",
            "clock",
            "alert hook",
            "terminal",
            "gpg",
            "python3"
        ]
    );
    let dir = &checks[2];
    assert_eq!(dir["status"], "FAIL");
    assert!(dir["detail"].as_str().unwrap().contains("db.link"), "{dir}");
    for c in checks {
        assert!(
            ["OK", "WARN", "FAIL"].contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
    }
}

#[test]
fn a_missing_vault_fails_but_the_machine_is_still_checked() {
    let s = Scratch::new();
    let out = s.cmd().arg("doctor").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(line(&text, "vault").starts_with("FAIL"), "{text}");
    assert!(line(&text, "core dumps").starts_with("OK"), "{text}");
    assert!(!s.path.exists(), "doctor created the vault directory");
}

#[test]
fn a_vault_others_can_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let v = TestVault::two_of_three();
    std::fs::set_permissions(&v.path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = doctor(&v, false);
    expect_success(&out, "doctor");
    let text = String::from_utf8(out.stdout).unwrap();
    let dir = line(&text, "directory");
    assert!(
        dir.starts_with("WARN") && dir.contains("chmod 700"),
        "{text}"
    );
}
