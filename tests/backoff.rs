//! Online guessing: consecutive wrong passphrases for one officer make
//! them wait before the next attempt, a delay derived from the ledger (so
//! no record on disk resets it), capped so that an outage is never held up
//! for long. The failures are made through the library with an injected
//! clock (so no test sleeps); the refusal, `status` and the alert events
//! are seen through the real binary.

mod common;

use std::path::Path;
use std::sync::Arc;

use breakglass::clock::{Clock, ManualClock, SystemClock};
use breakglass::store::{Store, Table};
use breakglass::{Error, Passphrase, Vault};
use common::*;
use serde_json::Value;

/// The delay after the n-th consecutive failure, as docs/SECURITY.md
/// states it: none for the first three, then doubling from 2 s, capped at
/// five minutes.
const DELAYS: [i64; 13] = [0, 0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300];

fn right(officer: &str) -> Passphrase {
    Passphrase::new(passphrase_for(officer))
}

fn wrong() -> Passphrase {
    Passphrase::new("not-the-passphrase".into())
}

/// The vault at `path` with a manual clock standing at `clock`'s time.
fn open(path: &Path, clock: &ManualClock) -> Vault {
    Vault::open_with_clock(path, Arc::new(clock.clone())).unwrap()
}

/// `n` wrong passphrases for `officer`, each after the previous one's
/// delay has run; returns the clock time of the last failure.
fn fail_n(path: &Path, clock: &ManualClock, officer: &str, n: usize) -> i64 {
    let v = open(path, clock);
    let mut last = 0;
    for delay in DELAYS.iter().take(n) {
        assert!(matches!(
            v.drill(officer, &wrong()),
            Err(Error::BadPassphrase(_))
        ));
        last = clock.now();
        clock.advance(delay + 1);
    }
    clock.advance(-(DELAYS[n - 1] + 1));
    last
}

fn drill_cli(v: &TestVault, officer: &str) -> std::process::Output {
    v.batch()
        .args(["drill", "--officer", officer])
        .write_stdin(lines(&[&passphrase_for(officer)]))
        .output()
        .unwrap()
}

fn set_hook(v: &TestVault, file: &Path) {
    let hook = v.scratch.dir.path().join("hook.sh");
    std::fs::write(&hook, format!("#!/bin/sh\ncat >> '{}'\n", file.display())).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = v
        .batch()
        .args(["alerts", "set", "--officer", "alice", "--"])
        .arg(&hook)
        .write_stdin(lines(&[&passphrase_for("alice")]))
        .output()
        .unwrap();
    expect_success(&out, "alerts set");
}

#[test]
fn wrong_passphrases_make_the_officer_wait_and_records_do_not_reset_it() {
    let v = TestVault::two_of_three();
    let events_file = v.scratch.dir.path().join("events.jsonl");
    set_hook(&v, &events_file);
    let bob_before = Store::open(&v.path)
        .unwrap()
        .get(Table::Officers, b"bob")
        .unwrap()
        .unwrap();
    let clock = ManualClock::new(SystemClock::default().now());

    // Three wrong passphrases cost nothing more; the fourth makes bob wait.
    fail_n(&v.path, &clock, "bob", 3);
    {
        let vault = open(&v.path, &clock);
        vault.drill("bob", &right("bob")).unwrap();
    }
    let last = fail_n(&v.path, &clock, "bob", 8);
    {
        let vault = open(&v.path, &clock);
        let before = vault.ledger_size();
        let e = vault.drill("bob", &right("bob")).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::Refused(_)), "{msg}");
        assert!(msg.contains("32 s") && msg.contains("logged"), "{msg}");
        // Refused before Argon2: a `refused` entry, no `auth_failed`.
        assert_eq!(vault.ledger_size(), before + 1);
        let st = vault.status().unwrap();
        assert_eq!(st.auth_delays.get("bob"), Some(&32), "{:?}", st.auth_delays);
        assert_eq!(st.auth_delays.get("alice"), None);
        // Other officers are not slowed.
        vault.drill("alice", &right("alice")).unwrap();
    }

    // A disk writer puts back bob's record as it was before the failures
    // (nothing but the ledger holds the count).
    {
        let s = Store::open(&v.path).unwrap();
        s.transact(|tx| tx.put(Table::Officers, b"bob", &bob_before))
            .unwrap();
        s.flush().unwrap();
    }
    // The real binary, with the real clock (behind the injected one by
    // less than the ordinary skew): bob is still refused, in one line.
    let out = drill_cli(&v, "bob");
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["bob", "wait", "logged"]);
    let st = v.status();
    let d = st["auth_delays"]["bob"].as_u64().unwrap();
    assert!((1..=32).contains(&d), "{st}");
    let text = String::from_utf8(v.cmd().arg("status").output().unwrap().stdout).unwrap();
    assert!(text.contains("bob must wait"), "{text}");
    let kinds = v.ledger_kinds();
    assert_eq!(kinds.last().unwrap(), "refused");

    // Every alert event carries the delays in force after its entry.
    let out = v.cmd().args(["alerts", "retry"]).output().unwrap();
    expect_success(&out, "alerts retry");
    let events: Vec<Value> = std::fs::read_to_string(&events_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!events.is_empty());
    for e in &events {
        assert!(e["auth_delays"].is_object(), "{e}");
    }
    let failures: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["entry"]
                .as_str()
                .unwrap()
                .contains("\"kind\":\"auth_failed\"")
        })
        .collect();
    assert_eq!(failures.len(), 11);
    assert_eq!(failures[2]["auth_delays"], serde_json::json!({}));
    assert_eq!(failures.last().unwrap()["auth_delays"]["bob"], 32);

    // Once the delay has run, the right passphrase works and clears it.
    clock.set_wall(last + 33);
    clock.advance(33);
    {
        let vault = open(&v.path, &clock);
        vault.drill("bob", &right("bob")).unwrap();
        assert!(vault.status().unwrap().auth_delays.is_empty());
        // The count starts again: one wrong passphrase costs no wait.
        assert!(vault.drill("bob", &wrong()).is_err());
        vault.drill("bob", &right("bob")).unwrap();
    }
    v.cmd().args(["ledger", "verify"]).assert().success();
}

#[test]
fn no_clock_setting_stretches_or_skips_the_delay() {
    let v = TestVault::two_of_three();
    let clock = ManualClock::new(SystemClock::default().now());
    fail_n(&v.path, &clock, "bob", 11);
    clock.advance(DELAYS[10] + 1);
    // The twelfth failure, in this process.
    let vault = open(&v.path, &clock);
    assert!(matches!(
        vault.drill("bob", &wrong()),
        Err(Error::BadPassphrase(_))
    ));
    let last = clock.now();
    assert_eq!(vault.status().unwrap().auth_delays.get("bob"), Some(&300));
    // Set back a year: the wait is still at most the cap.
    clock.set_wall(last - 366 * 24 * 3600);
    assert_eq!(vault.status().unwrap().auth_delays.get("bob"), Some(&300));
    // Set forward an hour inside this process: the monotonic clock has
    // not moved, so the delay still runs.
    clock.set_wall(last + 3600);
    let e = vault.drill("bob", &right("bob")).unwrap_err();
    assert!(e.to_string().contains("wait"), "{e}");
    // Time passes for real: it works.
    clock.advance(301);
    vault.drill("bob", &right("bob")).unwrap();
}
