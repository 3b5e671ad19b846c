//! Both verifiers on what follows a release (entry version 5,
//! docs/LEDGER.md §2.7, rules 17–25d). Each case builds a real vault with
//! the binary, takes the lifecycle actions (rotate, retire, review, drill
//! --release, check), exports it, and tampers with the bundle as an
//! attacker holding the vault's disk would: entries rewritten or replayed,
//! or grafted from a copy of the vault directory taken earlier (it holds
//! the same ledger key and officers, so what officers signed in the copy
//! still verifies), then the checkpoint re-signed with the ledger key.
//! Both verifiers must fail with the same line; the honest bundles pass
//! both, with the same lifecycle report.
//!
//! Skips, saying so, when `python3` or its `cryptography` package is
//! absent.

mod common;

use std::path::{Path, PathBuf};

use breakglass::Vault;
use breakglass::pgp::SecretKey;
use breakglass::records::{LedgerKeyRecord, Record};
use breakglass::store::Table;
use common::verifiers::*;
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------
// Vaults, through the binary

/// Each officer's passphrase line, as batch stdin takes them.
fn pw(officers: &[&str]) -> String {
    officers
        .iter()
        .map(|o| format!("{}\n", pass(o).expose_secret()))
        .collect()
}

/// The binary in batch mode on `vault`: exit status, stdout, stderr.
fn run_cli(vault: &Path, args: &[&str], stdin: &str) -> Run {
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_breakglass"))
        .env_remove("BREAKGLASS_VAULT")
        .arg("--batch")
        .arg("--vault")
        .arg(vault)
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A release of `secret` by `officers`, shown on stdout.
fn release_by(vault: &Path, secret: &str, officers: &[&str]) {
    let mut args = vec!["release", secret, "--reason", REASON];
    for o in officers {
        args.extend(["--officer", o]);
    }
    cli(vault, &args, &pw(officers));
}

/// `reviewer`'s review of the release in entry `seq`.
fn review_by(vault: &Path, seq: usize, reviewer: &str) {
    let seq = seq.to_string();
    cli(
        vault,
        &[
            "review",
            &seq,
            "--class",
            "emergency",
            "--note",
            "the IdP was down",
            "--incident",
            "INC-7",
            "--officer",
            reviewer,
        ],
        &pw(&[reviewer]),
    );
}

fn rotate_by(vault: &Path, secret: &str, officer: &str) {
    cli(
        vault,
        &["rotate", secret, "--officer", officer],
        &format!("{}new-{secret}-value\n", pw(&[officer])),
    );
}

fn retire_by(vault: &Path, secret: &str, officers: &[&str]) {
    let mut args = vec!["retire", secret];
    for o in officers {
        args.extend(["--officer", o]);
    }
    cli(vault, &args, &pw(officers));
}

/// An end-to-end drill by alice and bob. No alert hook is set, so the
/// drill is logged as failed (`no_hook`) and the command exits 1: the
/// entries are what matter here.
fn drill(vault: &Path) {
    let (code, _, err) = run_cli(
        vault,
        &[
            "drill",
            "--release",
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
        &pw(&["alice", "alice", "bob"]),
    );
    assert!(code == 0 || code == 1, "drill --release: {err}");
}

/// A vault of alice, bob and carol (2 of 3) holding three secrets, the
/// kinds of policy the cases need:
/// - `aws`, a credential to rotate within a day (entry 1);
/// - `gh`, four codes, a new set asked for below 5 (entry 2);
/// - `ops`, three codes, one more approval within an hour of a release
///   (entry 3).
fn base(root: &Path, name: &str) -> PathBuf {
    let vault = root.join(name);
    cli(
        &vault,
        &[
            "init",
            "--threshold",
            "2",
            "--officer",
            "alice",
            "--officer",
            "bob",
            "--officer",
            "carol",
            "--kdf-memory-mib",
            "8",
            "--kdf-iterations",
            "1",
        ],
        &pw(&["alice", "bob", "carol"]),
    );
    cli(
        &vault,
        &[
            "deposit",
            "aws",
            "--kind",
            "credential",
            "--rotate-within",
            "24h",
            "--officer",
            "alice",
        ],
        &format!("{}hunter2\n", pw(&["alice"])),
    );
    cli(
        &vault,
        &[
            "deposit",
            "gh",
            "--kind",
            "codes",
            "--reorder-below",
            "5",
            "--officer",
            "bob",
        ],
        &format!("{}c1\nc2\nc3\nc4\n", pw(&["bob"])),
    );
    cli(
        &vault,
        &[
            "deposit",
            "ops",
            "--kind",
            "codes",
            "--min-interval",
            "1h",
            "--officer",
            "carol",
        ],
        &format!("{}o1\no2\no3\n", pw(&["carol"])),
    );
    vault
}

/// A copy of the vault directory, as whoever holds the disk can take.
fn fork(vault: &Path, name: &str) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }
    let to = vault.with_file_name(name);
    copy(vault, &to);
    to
}

// ---------------------------------------------------------------------------
// Bundles, and what an attacker holding the ledger key does to them

/// An exported bundle, with the ledger key from its vault's directory.
struct Bundle {
    dir: PathBuf,
    key: SecretKey,
    vault_id: String,
}

fn export(vault: &Path) -> Bundle {
    let dir = vault.with_file_name(format!(
        "{}-bundle",
        vault.file_name().unwrap().to_string_lossy()
    ));
    // Each export replaces the one before.
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    cli(vault, &["ledger", "export", dir.to_str().unwrap()], "");
    let v = Vault::open(vault).unwrap();
    let rec = LedgerKeyRecord::decode(&v.store().get(Table::Meta, b"ledger_key").unwrap().unwrap())
        .unwrap();
    Bundle {
        dir,
        key: SecretKey::from_bytes(&rec.tsk).unwrap(),
        vault_id: v.id().to_string(),
    }
}

impl Bundle {
    fn lines(&self) -> Vec<Vec<u8>> {
        lines(&self.dir)
    }

    fn resign(&self, lines: &[Vec<u8>]) {
        write_and_resign(&self.dir, lines, &self.key, &self.vault_id);
    }

    /// The `nth` entry of `kind` (from 0).
    fn nth(&self, kind: &str, nth: usize) -> usize {
        index_of(&self.lines(), kind, nth)
    }

    /// Entry `i` rewritten by `change`, and the checkpoint re-signed.
    fn edit(&self, i: usize, change: impl FnOnce(&mut Map<String, Value>)) {
        let mut l = self.lines();
        let mut m = entry(&l, i);
        change(&mut m);
        set_entry(&mut l, i, m);
        self.resign(&l);
    }

    /// Entry `i` of `from` appended as the next entry (its `seq` made to
    /// fit), and the checkpoint re-signed: an entry replayed, or grafted
    /// from a copy of the vault.
    fn append_from(&self, from: &Bundle, i: usize) {
        let mut l = self.lines();
        let mut m = entry(&from.lines(), i);
        m.insert("seq".into(), json!(l.len()));
        l.push(Vec::new());
        let last = l.len() - 1;
        set_entry(&mut l, last, m);
        self.resign(&l);
    }

    /// Entry `i` appended again, as a replay.
    fn replay(&self, i: usize) {
        self.append_from(self, i);
    }
}

/// Both verifiers fail, with the same line naming `entry` and `want`.
fn assert_refused(b: &Bundle, entry: usize, want: &str) {
    let (py, _) = both_fail(&b.dir, &[], want);
    assert!(
        py.starts_with(&format!("entry {entry}: ")),
        "expected entry {entry}: {py}"
    );
    assert_both_fail(&b.dir, &[], want);
}

/// Both verifiers pass and print the same lifecycle report, which is
/// returned.
fn assert_both_pass_alike(b: &Bundle) -> Vec<String> {
    let report = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.starts_with("lifecycle: ") || l.starts_with("unreviewed: "))
            .map(str::to_string)
            .collect()
    };
    let (code, py_out, err) = python(&b.dir, &[]);
    assert_eq!(code, 0, "python: {err}");
    assert!(err.is_empty(), "python: {err}");
    assert!(py_out.starts_with("ledger OK"), "{py_out}");
    let (code, rs_out, err) = rust(&b.dir, &[]);
    assert_eq!(code, 0, "rust: {err}");
    assert_eq!(report(&py_out), report(&rs_out), "{py_out}\n{rs_out}");
    report(&py_out)
}

fn ready() -> bool {
    python_ok() && crypto_ok()
}

// ---------------------------------------------------------------------------
// The cases: each builds its vaults in `root`, tampers, and returns the
// bundle, the entry to blame and the failure both verifiers must report.

type Case = (&'static str, fn(&Path) -> (Bundle, usize), &'static str);

fn refused_by_both(cases: &[Case]) {
    if !ready() {
        return;
    }
    for (name, build, want) in cases {
        eprintln!("case: {name}");
        let dir = tempfile::tempdir().unwrap();
        let (bundle, entry) = build(dir.path());
        assert_refused(&bundle, entry, want);
    }
}

/// V: a release of gh by alice+bob, shown, then reviewed by carol.
fn reviewed_vault(root: &Path) -> Bundle {
    let v = base(root, "vault");
    release_by(&v, "gh", &["alice", "bob"]);
    let b = export(&v);
    review_by(&v, b.nth("release", 0), "carol");
    export(&v)
}

#[test]
fn reviews_that_do_not_fit_the_history_are_refused_by_both() {
    refused_by_both(&[
        (
            "a review signed by one of the release's approvers: in a copy of the vault \
             bob reviews alice+carol's release of gh #1; grafted where alice+bob released it",
            |root| {
                let v = base(root, "vault");
                let copy = fork(&v, "copy");
                release_by(&v, "gh", &["alice", "bob"]);
                release_by(&copy, "gh", &["alice", "carol"]);
                let seq = export(&copy).nth("release", 0);
                review_by(&copy, seq, "bob");
                let (b, from) = (export(&v), export(&copy));
                let review = from.nth("reviewed", 0);
                b.append_from(&from, review);
                (b, review)
            },
            "bad lifecycle entry: bob approved entry 4, and so cannot review it",
        ),
        (
            "a second review of the same release: carol's review replayed",
            |root| {
                let b = reviewed_vault(root);
                let review = b.nth("reviewed", 0);
                b.replay(review);
                (b, review + 1)
            },
            "bad lifecycle entry: entry 4 was already reviewed by entry 6",
        ),
        (
            "a review whose statement names another release: carol's review moved to ops's",
            |root| {
                let v = base(root, "vault");
                release_by(&v, "gh", &["alice", "bob"]);
                release_by(&v, "ops", &["alice", "bob"]);
                review_by(&v, 4, "carol");
                let b = export(&v);
                let review = b.nth("reviewed", 0);
                let other = b.nth("release", 1);
                b.edit(review, |m| {
                    m.insert("release".into(), json!(other));
                    m.insert("secret".into(), json!("ops"));
                });
                (b, review)
            },
            "approval for something else: the signed review statement does not match the entry",
        ),
    ]);
}

#[test]
fn rotations_that_do_not_fit_the_history_are_refused_by_both() {
    refused_by_both(&[
        (
            "a rotation naming a release of another secret, not aws's latest: in a copy of \
             the vault aws is rotated after its release in entry 6; grafted where entry 6 \
             released gh",
            |root| {
                let v = base(root, "vault");
                let copy = fork(&v, "copy");
                release_by(&v, "aws", &["alice", "bob"]);
                release_by(&v, "gh", &["alice", "bob"]);
                release_by(&copy, "gh", &["alice", "bob"]);
                release_by(&copy, "aws", &["alice", "bob"]);
                rotate_by(&copy, "aws", "alice");
                let (b, from) = (export(&v), export(&copy));
                let rotation = from.nth("rotated", 0);
                b.append_from(&from, rotation);
                (b, rotation)
            },
            "bad lifecycle entry: it answers entry 6, but the latest release of aws #1 is entry 4",
        ),
        (
            "a second rotation answering the same release: alice's rotation replayed",
            |root| {
                let v = base(root, "vault");
                release_by(&v, "aws", &["alice", "bob"]);
                rotate_by(&v, "aws", "alice");
                let b = export(&v);
                let rotation = b.nth("rotated", 0);
                b.replay(rotation);
                (b, rotation + 1)
            },
            "bad lifecycle entry: the new item is #2, but aws holds 2 items: its next is #3",
        ),
        (
            "a rotation whose signed item digest is not its ciphertext's",
            |root| {
                let v = base(root, "vault");
                release_by(&v, "aws", &["alice", "bob"]);
                rotate_by(&v, "aws", "alice");
                let b = export(&v);
                let rotation = b.nth("rotated", 0);
                b.edit(rotation, |m| {
                    m.insert("ciphertexts".into(), json!(["b3RoZXIgY2lwaGVydGV4dA=="]));
                });
                (b, rotation)
            },
            "bad deposit signature: the signed rotation statement does not match the entry",
        ),
        (
            "a release of a rotated-away credential: in a copy of the vault aws #1 is \
             released; grafted after the rotation",
            |root| {
                let v = base(root, "vault");
                let copy = fork(&v, "copy");
                release_by(&v, "aws", &["alice", "bob"]);
                rotate_by(&v, "aws", "alice");
                release_by(&copy, "aws", &["alice", "carol"]);
                let (b, from) = (export(&v), export(&copy));
                let again = from.nth("release", 0);
                b.append_from(&from, again);
                (b, 7)
            },
            "item released twice: aws #1 was already released by entry 4 and confirmed seen",
        ),
    ]);
}

#[test]
fn retirements_that_do_not_fit_the_history_are_refused_by_both() {
    refused_by_both(&[
        (
            "a retirement with too few approvals: bob's approval dropped",
            |root| {
                let v = base(root, "vault");
                retire_by(&v, "gh", &["alice", "bob"]);
                let b = export(&v);
                let retired = b.nth("retired", 0);
                b.edit(retired, |m| {
                    m["approvals"].as_array_mut().unwrap().truncate(1);
                    m.insert("actor".into(), json!("alice"));
                });
                (b, retired)
            },
            "release without a quorum: 1 officers approved the retirement, 2 needed",
        ),
        (
            "a retirement claiming to void another count",
            |root| {
                let v = base(root, "vault");
                retire_by(&v, "gh", &["alice", "bob"]);
                let b = export(&v);
                let retired = b.nth("retired", 0);
                b.edit(retired, |m| {
                    m.insert("voided".into(), json!(3));
                });
                (b, retired)
            },
            "bad lifecycle entry: it voids 3 items, but gh has 4 neither void nor seen",
        ),
        (
            "a retirement replaying a release's nonce",
            |root| {
                let v = base(root, "vault");
                release_by(&v, "gh", &["alice", "bob"]);
                retire_by(&v, "gh", &["alice", "bob"]);
                let b = export(&v);
                let nonce = entry(&b.lines(), 4)["nonce"].clone();
                let retired = b.nth("retired", 0);
                b.edit(retired, |m| {
                    m.insert("nonce".into(), nonce);
                });
                (b, retired)
            },
            "replayed approval: the nonce was already used by entry 4",
        ),
        (
            "a release of a retired code: in a copy of the vault gh #2 is released; grafted \
             after the retirement",
            |root| {
                let v = base(root, "vault");
                release_by(&v, "gh", &["alice", "bob"]);
                let copy = fork(&v, "copy");
                retire_by(&v, "gh", &["alice", "bob"]);
                release_by(&copy, "gh", &["alice", "bob"]);
                let (b, from) = (export(&v), export(&copy));
                let again = from.nth("release", 1);
                b.append_from(&from, again);
                let last = b.lines().len() - 1;
                (b, last)
            },
            "release of another item than the next: it takes gh #2, but the next item the ledger allows is none",
        ),
    ]);
}

#[test]
fn policies_that_do_not_fit_are_refused_by_both() {
    refused_by_both(&[
        (
            "a deposit whose policy is not the secret's first: in a copy of the vault a new \
             secret's first deposit sets another policy and a second deposit repeats it; \
             that second deposit grafted",
            |root| {
                let v = base(root, "vault");
                let copy = fork(&v, "copy");
                let deposit = |vault: &Path, extra: &[&str]| {
                    let mut args = vec!["deposit", "ci", "--kind", "codes", "--officer", "alice"];
                    args.extend(extra);
                    cli(vault, &args, &format!("{}k1\n", pw(&["alice"])));
                };
                deposit(&v, &[]);
                deposit(&copy, &["--review-within", "1d"]);
                deposit(&copy, &[]);
                let (b, from) = (export(&v), export(&copy));
                let second = from.nth("deposit", 4);
                b.append_from(&from, second);
                (b, second)
            },
            "bad deposit signature: the signed deposit statement does not match the entry or the secret's history",
        ),
        (
            "a policy out of bounds: review within a minute",
            |root| {
                let v = base(root, "vault");
                let b = export(&v);
                b.edit(2, |m| {
                    m["policy"]["review_within"] = json!(60);
                });
                (b, 2)
            },
            "malformed entry: policy is not a policy within bounds",
        ),
        (
            "a release inside ops's minimum interval with the usual quorum: carol's approval \
             and receipt dropped from the second release",
            |root| {
                let v = base(root, "vault");
                release_by(&v, "ops", &["alice", "bob"]);
                release_by(&v, "ops", &["alice", "bob", "carol"]);
                let b = export(&v);
                let second = b.nth("release", 1);
                b.edit(second, |m| {
                    m["approvals"].as_array_mut().unwrap().truncate(2);
                    m["receipts"].as_array_mut().unwrap().truncate(2);
                    m.insert("actor".into(), json!("alice+bob"));
                });
                (b, second)
            },
            "release without a quorum: 2 distinct officers approved, 3 needed (a release within the secret's minimum interval needs one more)",
        ),
    ]);
}

#[test]
fn drills_and_reminders_that_do_not_fit_are_refused_by_both() {
    refused_by_both(&[
        (
            "a drill entry naming a release of another secret",
            |root| {
                let v = base(root, "vault");
                release_by(&v, "gh", &["alice", "bob"]);
                drill(&v);
                let b = export(&v);
                let d = b.nth("drill", 0);
                b.edit(d, |m| {
                    m.insert("release".into(), json!(4));
                });
                (b, d)
            },
            "malformed entry: entry 4 is not a release of drill/canary by alice+bob",
        ),
        (
            "an overdue entry with an unknown field",
            |root| {
                let v = base(root, "vault");
                cli(&v, &["check"], "");
                let b = export(&v);
                let o = b.nth("overdue", 0);
                b.edit(o, |m| {
                    m.insert("note".into(), json!("x"));
                });
                (b, o)
            },
            "malformed entry: a overdue entry has the unknown field \"note\"",
        ),
        (
            "an overdue entry whose due item has an unknown field",
            |root| {
                let v = base(root, "vault");
                cli(&v, &["check"], "");
                let b = export(&v);
                let o = b.nth("overdue", 0);
                b.edit(o, |m| {
                    m["due"][0]["note"] = json!("x");
                });
                (b, o)
            },
            "malformed entry: a due item has the unknown field \"note\"",
        ),
    ]);
}

#[test]
fn entries_of_version_4_are_refused_by_both() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let v = base(dir.path(), "vault");
    let b = export(&v);
    b.edit(1, |m| {
        m.insert("v".into(), json!(4));
    });
    assert_both_fail_alike(&b.dir, &[], "entry 1: malformed entry");
}

// ---------------------------------------------------------------------------
// The honest side

#[test]
fn a_whole_lifecycle_passes_both_with_one_report() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let v = base(dir.path(), "vault");
    release_by(&v, "aws", &["alice", "bob"]); // 4, 5
    review_by(&v, 4, "carol"); // 6
    rotate_by(&v, "aws", "alice"); // 7
    release_by(&v, "gh", &["alice", "bob"]); // 8, 9
    retire_by(&v, "gh", &["bob", "carol"]); // 10
    cli(
        &v,
        &["deposit", "gh", "--officer", "bob"],
        &format!("{}n1\nn2\nn3\nn4\nn5\n", pw(&["bob"])),
    );
    drill(&v);
    cli(&v, &["check"], "");
    let b = export(&v);
    let report = assert_both_pass_alike(&b);
    assert_eq!(
        report,
        [
            "lifecycle: aws: 1 releases, 1 reviewed, 1 rotated, 0 overdue",
            "lifecycle: gh: 1 releases, 0 reviewed, 0 rotated, 0 overdue",
            "lifecycle: ops: 0 releases, 0 reviewed, 0 rotated, 0 overdue",
            "lifecycle: drill/canary: 1 releases, 0 reviewed, 0 rotated, 0 overdue",
            "unreviewed: entry 8 (gh #1)",
        ]
    );
}

#[test]
fn a_release_inside_the_minimum_interval_needs_one_more_officer() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let v = base(dir.path(), "vault");
    release_by(&v, "ops", &["alice", "bob"]);
    // The threshold alone is refused, and nothing is released.
    let (code, _, err) = run_cli(
        &v,
        &[
            "release",
            "ops",
            "--reason",
            REASON,
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
        &pw(&["alice", "bob"]),
    );
    assert_ne!(code, 0, "a second release within the hour with 2 officers");
    assert!(err.contains("one approval more"), "{err}");
    let b = export(&v);
    assert_eq!(
        (0..b.lines().len())
            .filter(|&i| entry(&b.lines(), i)["kind"] == "release")
            .count(),
        1
    );
    // With one more officer it passes, and so does the ledger.
    release_by(&v, "ops", &["alice", "bob", "carol"]);
    let report = assert_both_pass_alike(&export(&v));
    assert!(
        report.contains(&"lifecycle: ops: 2 releases, 0 reviewed, 0 rotated, 0 overdue".into()),
        "{report:?}"
    );
}
