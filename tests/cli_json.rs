//! Machine-readable output (issue: round two, 16): `ledger verify --json`
//! on a passing vault and on tampered bundles, `deposit --json` and
//! `release --batch --json`, run as the real binary. A secret reaches JSON
//! only as the released item's own `value`.

mod common;

use common::verifiers::{self, entry, index_of, lines as bundle_lines, set_entry};
use common::{REASON, TestVault, bin, expect_error, expect_success, passphrase_for};
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON value ({e}):\n{}",
            common::describe(out)
        )
    })
}

/// The index of the first ledger entry of `kind`.
fn seq_of(v: &TestVault, kind: &str) -> u64 {
    v.ledger_kinds().iter().position(|k| k == kind).unwrap() as u64
}

#[test]
fn ledger_verify_json_summarises_a_real_vault() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["ABCD-1111", "EFGH-2222"]);
    v.release_ok("gh", &["alice", "bob"]);
    let fingerprint = v.status()["fingerprint"].as_str().unwrap().to_string();
    let out = v
        .cmd()
        .args(["ledger", "verify", "--json", "--pin", &fingerprint])
        .output()
        .unwrap();
    expect_success(&out, "ledger verify --json");
    assert!(out.stderr.is_empty(), "{}", common::describe(&out));
    let r = json(&out);
    let entries = v.ledger_lines().len() as u64;
    assert_eq!(r["ok"], true);
    assert_eq!(r["entries"], entries);
    assert_eq!(r["checkpoint"]["size"], entries);
    assert_eq!(r["releases"], 1);
    assert_eq!(r["officers"], 3);
    assert_eq!(r["fingerprint"], fingerprint.as_str());
    assert_eq!(r["fingerprint_pinned"], true);
    assert_eq!(r["ledger_key"], v.status()["ledger_fingerprint"]);
    assert_eq!(r["source"]["vault"], v.path.to_str().unwrap());
    let release = seq_of(&v, "release");
    assert_eq!(
        r["lifecycle"],
        serde_json::json!([{"secret": "gh", "releases": 1, "reviewed": 0, "rotated": 0, "overdue": 0}])
    );
    assert_eq!(
        r["unreviewed"],
        serde_json::json!([{"entry": release, "secret": "gh", "item": 1}])
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("ABCD-1111") && !text.contains("EFGH-2222"));
}

#[test]
fn ledger_verify_json_names_the_entry_and_kind_of_a_replayed_approval() {
    // The attacker holds the ledger key: bob's approval of the first
    // release is pasted into the second, and the bundle re-signed.
    let f = verifiers::fixture();
    let mut l = bundle_lines(&f.bundle);
    let first = index_of(&l, "release", 0);
    let second = index_of(&l, "release", 1);
    let bob = |m: &serde_json::Map<String, Value>| {
        m["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .position(|a| a["officer"] == "bob")
            .unwrap()
    };
    let from = entry(&l, first);
    let mut m = entry(&l, second);
    let at = bob(&m);
    m["approvals"].as_array_mut().unwrap()[at] = from["approvals"][bob(&from)].clone();
    set_entry(&mut l, second, m);
    f.resign(&l);

    let out = bin()
        .args(["ledger", "verify", "--json", "--bundle"])
        .arg(&f.bundle)
        .output()
        .unwrap();
    let line = expect_error(&out, 3);
    assert!(
        line.contains(&format!("entry {second}: replayed approval")),
        "{line}"
    );
    let r = json(&out);
    assert_eq!(r["ok"], false);
    assert_eq!(r["failure"]["entry"], second as u64);
    assert_eq!(r["failure"]["kind"], "approval_replayed");
    assert_eq!(r["failure"]["description"], "replayed approval");
    assert_eq!(r["source"]["bundle"], f.bundle.to_str().unwrap());
    assert!(
        r.get("entries").is_none(),
        "a failure gives no summary: {r}"
    );
}

#[test]
fn ledger_verify_json_reports_a_truncated_bundle_without_an_entry() {
    // The last entry is cut off the bundle; the signed checkpoint still
    // covers it.
    let f = verifiers::fixture();
    let mut l = bundle_lines(&f.bundle);
    l.pop();
    verifiers::write_lines(&f.bundle, &l);
    let out = bin()
        .args(["ledger", "verify", "--json", "--bundle"])
        .arg(&f.bundle)
        .output()
        .unwrap();
    expect_error(&out, 3);
    let r = json(&out);
    assert_eq!(r["ok"], false);
    assert_eq!(r["failure"]["kind"], "truncated", "{r}");
    assert!(r["failure"]["detail"].as_str().unwrap().len() > 10, "{r}");
}

#[test]
fn ledger_verify_json_without_a_bundle_dir_is_a_usage_error_not_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["ledger", "verify", "--json", "--bundle"])
        .arg(dir.path().join("nope"))
        .output()
        .unwrap();
    expect_error(&out, 2);
    assert!(out.stdout.is_empty(), "{}", common::describe(&out));
}

#[test]
fn deposit_json_reports_the_counts_and_never_a_value() {
    let v = TestVault::two_of_three();
    let stdin = format!("{}\nABCD-1111\nEFGH-2222\n", passphrase_for("alice"));
    let out = v
        .batch()
        .args(["deposit", "gh", "--officer", "alice", "--json"])
        .write_stdin(stdin)
        .output()
        .unwrap();
    expect_success(&out, "deposit --json");
    let r = json(&out);
    assert_eq!(
        r,
        serde_json::json!({"secret": "gh", "kind": "codes", "added": 2, "total": 2, "entry": seq_of(&v, "deposit")})
    );

    let stdin = format!("{}\nroot-Pw-9xq", passphrase_for("bob"));
    let out = v
        .batch()
        .args([
            "deposit",
            "db/root",
            "--officer",
            "bob",
            "--kind",
            "credential",
            "--json",
        ])
        .write_stdin(stdin)
        .output()
        .unwrap();
    expect_success(&out, "deposit --json");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("root-Pw-9xq"), "{text}");
    let r = json(&out);
    assert_eq!(r["kind"], "credential");
    assert_eq!(r["added"], 1);
    assert_eq!(r["entry"], v.ledger_lines().len() as u64 - 1);
}

#[test]
fn release_batch_json_gives_the_item_only_in_value() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["ABCD-1111", "EFGH-2222"]);
    let stdin = format!("{}\n{}\n", passphrase_for("alice"), passphrase_for("bob"));
    let out = v
        .batch()
        .args(["release", "gh", "--reason", REASON])
        .args(["--officer", "alice", "--officer", "bob", "--json"])
        .write_stdin(stdin)
        .output()
        .unwrap();
    expect_success(&out, "release --batch --json");
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON line: {text}");
    assert_eq!(text.matches("ABCD-1111").count(), 1, "{text}");
    assert!(!text.contains("EFGH-2222"), "{text}");
    let r = json(&out);
    let release = seq_of(&v, "release");
    assert_eq!(
        r,
        serde_json::json!({
            "secret": "gh",
            "kind": "codes",
            "item": 1,
            "value": "ABCD-1111",
            "release_entry": release,
            "re_release_of": null,
            "approved_by": ["alice", "bob"],
        })
    );
    // The item was taken by stdout, so its display is logged as such.
    let ledger = v.ledger();
    let shown = ledger.last().unwrap();
    assert_eq!(shown["kind"], "displayed", "{shown}");
    assert_eq!(shown["release"], release, "{shown}");
    assert_eq!(v.remaining("gh"), 1);
}

#[test]
fn release_json_without_batch_is_refused_before_any_passphrase() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["ABCD-1111"]);
    let before = v.snapshot();
    let out = v
        .cmd()
        .args(["release", "gh", "--reason", REASON])
        .args(["--officer", "alice", "--officer", "bob", "--json"])
        .write_stdin(format!("{}\n", passphrase_for("alice")))
        .output()
        .unwrap();
    let line = expect_error(&out, 2);
    assert!(line.contains("use it with --batch"), "{line}");
    assert!(out.stdout.is_empty());
    assert_eq!(v.snapshot(), before, "nothing may be logged or released");
}

#[test]
fn status_shows_every_officers_argon2_settings() {
    let v = TestVault::two_of_three();
    let out = v.cmd().arg("status").output().unwrap();
    expect_success(&out, "status");
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("argon2"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        line,
        "argon2       alice, bob, carol: 8 MiB, 1 pass, 4 lanes (below RFC 9106's 64 MiB, 3 passes: a demo or test vault?)"
    );
}

/// The words of `ledger export` and `ledger verify` fit an 80-column
/// terminal (the tour walked again at 80×24): each command and the
/// fingerprint on lines of their own, so nothing wraps mid-word. Lines
/// naming a path are left out: their length is the path's.
#[test]
fn export_and_verify_reports_fit_80_columns() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["ABCD-1111"]);
    v.release_ok("gh", &["alice", "bob"]);
    let fingerprint = v.status()["fingerprint"].as_str().unwrap().to_string();
    let cwd = v.scratch.dir.path();
    let export = v
        .cmd()
        .current_dir(cwd)
        .args(["ledger", "export", "b"])
        .output()
        .unwrap();
    expect_success(&export, "export");
    let verify = v
        .cmd()
        .current_dir(cwd)
        .args(["ledger", "verify", "--bundle", "b", "--pin", &fingerprint])
        .output()
        .unwrap();
    expect_success(&verify, "verify");
    let dir = cwd.display().to_string();
    for out in [&export, &verify] {
        let text = String::from_utf8(out.stdout.clone()).unwrap();
        for l in text.lines().filter(|l| !l.contains(&dir)) {
            assert!(l.chars().count() <= 80, "{l:?}\n{text}");
        }
    }
    let text = String::from_utf8(verify.stdout).unwrap();
    assert!(text.contains(&format!("\n    {fingerprint}\n")), "{text}");
}
