//! The two ledger verifiers side by side: the Python one
//! (`docs/verify-ledger.py`) and `breakglass ledger verify --bundle`, and
//! the bundle edits a test makes before running them (an attacker holding
//! the ledger key re-signs what they changed), and the vaults they run on:
//! real vaults, made through the library and the binary, exported.

use std::path::{Path, PathBuf};
use std::process::Command;

use breakglass::crypto::KdfParams;
use breakglass::ledger;
use breakglass::ledger::canonical;
use breakglass::ledger::merkle;
use breakglass::pgp::SecretKey;
use breakglass::records::{LedgerKeyRecord, Record, SecretKind};
use breakglass::store::Table;
use breakglass::vault::{Displayed, InitOptions, NewOfficer};
use breakglass::{Passphrase, SecretValue, Vault, audit};
use serde_json::{Map, Value};

pub fn python_ok() -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: python3 is not installed");
    }
    ok
}

pub fn crypto_ok() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import cryptography.hazmat.primitives.asymmetric.ed25519",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED: the Python package `cryptography` is not installed, so the Python verifier checks no signature (python3 -m pip install cryptography)"
        );
    }
    ok
}

pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/verify-ledger.py")
}

pub type Run = (i32, String, String);

pub fn run(mut c: Command) -> Run {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The Python verifier with interpreter flags `flags` (e.g. `-O`).
pub fn python_with(flags: &[&str], bundle: &Path, extra: &[&str]) -> Run {
    let mut c = Command::new("python3");
    c.args(flags).arg(script()).arg(bundle).args(extra);
    run(c)
}

/// The Python verifier, run plainly and under `python3 -O`: both runs
/// must say the same, and leave the same state file (if one is given)
/// from the same start.
pub fn python(bundle: &Path, extra: &[&str]) -> Run {
    let state = extra
        .iter()
        .position(|a| *a == "--state")
        .map(|i| PathBuf::from(extra[i + 1]));
    let before = state.as_ref().and_then(|s| std::fs::read(s).ok());
    let plain = python_with(&[], bundle, extra);
    let after = state.as_ref().and_then(|s| std::fs::read(s).ok());
    if let Some(s) = &state {
        match &before {
            Some(b) => std::fs::write(s, b).unwrap(),
            None => {
                let _ = std::fs::remove_file(s);
            }
        }
    }
    let optimized = python_with(&["-O"], bundle, extra);
    assert_eq!(plain, optimized, "python3 -O changed the outcome");
    assert_eq!(
        after,
        state.as_ref().and_then(|s| std::fs::read(s).ok()),
        "python3 -O changed the state file"
    );
    plain
}

pub fn rust(bundle: &Path, extra: &[&str]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_breakglass"));
    c.env_remove("BREAKGLASS_VAULT")
        .args(["ledger", "verify", "--bundle"])
        .arg(bundle)
        .args(extra);
    run(c)
}

/// The failure line, without the program's prefix.
pub fn failure(prefix: &str, res: &Run, want: &str) -> String {
    let (code, _, err) = res;
    assert_eq!(*code, 3, "expected exit 3 with {want:?}, got {code}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("Traceback"), "{err}");
    let line = err.trim_end();
    assert!(line.contains(want), "expected {want:?} in: {err}");
    line.strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}"))
        .to_string()
}

/// Both verifiers fail with `want`, and say exactly the same.
pub fn assert_both_fail(bundle: &Path, extra: &[&str], want: &str) {
    let (py, rs) = both_fail(bundle, extra, want);
    assert_eq!(py, rs, "the Python and Rust verifiers disagree");
}

/// Both verifiers fail with `want` and name the same entry and failure;
/// their details may differ (they quote different JSON parsers).
pub fn assert_both_fail_alike(bundle: &Path, extra: &[&str], want: &str) {
    let (py, rs) = both_fail(bundle, extra, want);
    let head = |s: &str| s[..s.find(want).unwrap() + want.len()].to_string();
    assert_eq!(head(&py), head(&rs), "{py}\n{rs}");
}

pub fn both_fail(bundle: &Path, extra: &[&str], want: &str) -> (String, String) {
    let py = failure("verify-ledger: ", &python(bundle, extra), want);
    let rs = rust_failure(&rust(bundle, extra), want);
    (py, rs)
}

/// breakglass's failure line, without its prefix, and without the
/// "ledger: " its internal errors add to some details.
pub fn rust_failure(res: &Run, want: &str) -> String {
    let (code, out, err) = res;
    let err = err.replace(": ledger: ", ": ");
    failure(
        "breakglass: ledger verification failed: ",
        &(*code, out.clone(), err),
        want,
    )
}

pub fn assert_both_pass(bundle: &Path, extra: &[&str]) -> String {
    let (code, out, err) = python(bundle, extra);
    assert_eq!(code, 0, "python: {err}");
    assert!(err.is_empty(), "python: {err}");
    // One summary line, then the lifecycle report (LEDGER.md §2.7), which
    // both verifiers print alike.
    let report: Vec<&str> = out.lines().skip(1).collect();
    assert!(out.starts_with("ledger OK"), "a summary line first: {out}");
    assert!(
        report
            .iter()
            .all(|l| l.starts_with("lifecycle: ") || l.starts_with("unreviewed: ")),
        "only the lifecycle report follows it: {out}"
    );
    let (code, rust_out, err) = rust(bundle, extra);
    assert_eq!(code, 0, "rust: {err}");
    let rust_report: Vec<&str> = rust_out
        .lines()
        .filter(|l| l.starts_with("lifecycle: ") || l.starts_with("unreviewed: "))
        .collect();
    assert_eq!(rust_report, report, "the same lifecycle report");
    out
}

pub fn lines(bundle: &Path) -> Vec<Vec<u8>> {
    let text = std::fs::read(bundle.join("entries.jsonl")).unwrap();
    text.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

pub fn write_lines(bundle: &Path, lines: &[Vec<u8>]) {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    std::fs::write(bundle.join("entries.jsonl"), out).unwrap();
}

pub fn entry(lines: &[Vec<u8>], i: usize) -> Map<String, Value> {
    ledger::parse_entry(&lines[i]).unwrap()
}

pub fn set_entry(lines: &mut [Vec<u8>], i: usize, m: Map<String, Value>) {
    lines[i] = canonical::to_vec(&Value::Object(m)).unwrap();
}

pub fn index_of(lines: &[Vec<u8>], kind: &str, nth: usize) -> usize {
    (0..lines.len())
        .filter(|&i| entry(lines, i)["kind"] == kind)
        .nth(nth)
        .unwrap()
}

/// What an attacker holding the ledger key does after editing entries:
/// writes them and a freshly signed checkpoint over them.
pub fn write_and_resign(bundle: &Path, lines: &[Vec<u8>], key: &SecretKey, vault_id: &str) {
    write_lines(bundle, lines);
    let leaves: Vec<merkle::Hash> = lines.iter().map(|l| merkle::leaf_hash(l)).collect();
    // The origin the entries give: a restore with a gap starts one.
    let origin = ledger::origin_of(vault_id, lines.iter().map(Vec::as_slice));
    let body = ledger::checkpoint_body_for(
        &origin,
        lines.len() as u64,
        &merkle::root_of_leaves(&leaves),
    );
    std::fs::write(bundle.join("checkpoint"), &body).unwrap();
    std::fs::write(
        bundle.join("checkpoint.asc"),
        key.sign_detached(body.as_bytes(), 1_800_000_000).unwrap(),
    )
    .unwrap();
}

// ---------------------------------------------------------------------------
// The vaults the verifier tests export

pub const OFFICERS: [(&str, &str); 3] = [
    ("alice", "alice-pass-1"),
    ("bob", "bob-pass-22"),
    ("carol", "carol-pass-333"),
];

pub const REASON: &str = "IdP outage INC-7";

pub fn pass(name: &str) -> Passphrase {
    Passphrase::new(
        OFFICERS
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
            .to_string(),
    )
}

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub vault: PathBuf,
    pub bundle: PathBuf,
    pub ledger_key: SecretKey,
    pub vault_id: String,
    pub fingerprint: String,
}

pub fn make_vault(path: &Path) -> Vault {
    let opts = InitOptions {
        threshold: 2,
        officers: OFFICERS
            .iter()
            .map(|(n, p)| NewOfficer {
                name: n.to_string(),
                passphrase: Passphrase::new(p.to_string()),
            })
            .collect(),
        kdf: KdfParams::new(8, 1).unwrap(),
    };
    let mut v = Vault::init(path, opts).unwrap();
    let s = v
        .authenticate("alice", &pass("alice"), "deposit", None)
        .unwrap();
    let codes: Vec<SecretValue> = ["c1", "c2", "c3"]
        .iter()
        .map(|c| SecretValue::new(c.to_string()))
        .collect();
    v.deposit(&s, "gh", SecretKind::Codes, None, &codes)
        .unwrap();
    v
}

pub fn release(v: &mut Vault, officers: [&str; 2]) {
    let mut req = v.begin_release("gh", REASON).unwrap();
    for o in officers {
        v.approve(&mut req, o, &pass(o)).unwrap();
    }
    let mut r = v.complete_release(req).unwrap();
    v.record_display(&mut r, Displayed::Confirmed).unwrap();
}

/// `v`, the vault at `vault` in `dir`, exported to `dir`/bundle, with the
/// ledger key taken from its directory.
fn exported(dir: tempfile::TempDir, vault: PathBuf, v: &Vault) -> Fixture {
    let root = dir.path().to_owned();
    let bundle = root.join("bundle");
    audit::export(v.store(), &v.ledger_cert(), &bundle).unwrap();
    let rec = LedgerKeyRecord::decode(&v.store().get(Table::Meta, b"ledger_key").unwrap().unwrap())
        .unwrap();
    Fixture {
        _dir: dir,
        root,
        vault,
        bundle,
        ledger_key: SecretKey::from_bytes(&rec.tsk).unwrap(),
        vault_id: v.id().to_string(),
        fingerprint: v.status().unwrap().fingerprint,
    }
}

/// A vault with a deposit and two releases (alice+bob, then bob+carol),
/// exported to a bundle.
pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let vault = root.join("vault");
    let mut v = make_vault(&vault);
    release(&mut v, ["alice", "bob"]);
    release(&mut v, ["bob", "carol"]);
    exported(dir, vault, &v)
}

/// Runs the real binary in batch mode on `vault`, feeding `stdin`.
pub fn cli(vault: &Path, args: &[&str], stdin: &str) {
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_breakglass"))
        .env_remove("BREAKGLASS_VAULT")
        .arg("--batch")
        .arg("--vault")
        .arg(vault)
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A vault through every ceremony, from the command line: a deposit and a
/// release, dave added, carol removed, a rekey to 3 of 3, a release by
/// the new officers, a deposit by dave, a backup; then that backup
/// restored without replay, the gap acknowledged, and a release. The
/// restored vault's ledger, exported to a bundle.
pub fn ceremony_fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let vault = root.join("vault");
    let (a, b, c, d) = (
        "alice-pass-1\n",
        "bob-pass-22\n",
        "carol-pass-333\n",
        "dave-pass-4444\n",
    );
    let fast = ["--kdf-memory-mib", "8", "--kdf-iterations", "1"];
    let mut init = vec!["init", "--threshold", "2"];
    for o in ["alice", "bob", "carol"] {
        init.extend(["--officer", o]);
    }
    init.extend(fast);
    cli(&vault, &init, &format!("{a}{b}{c}"));
    cli(
        &vault,
        &["deposit", "gh", "--officer", "alice"],
        &format!("{a}c1\nc2\nc3\n"),
    );
    cli(
        &vault,
        &[
            "release",
            "gh",
            "--reason",
            REASON,
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
        &format!("{a}{b}"),
    );
    cli(
        &vault,
        &[
            "officer",
            "add",
            "dave",
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
        &format!("{a}{b}{d}"),
    );
    cli(
        &vault,
        &[
            "officer",
            "remove",
            "carol",
            "--officer",
            "bob",
            "--officer",
            "dave",
        ],
        &format!("{b}{d}"),
    );
    cli(
        &vault,
        &[
            "rekey",
            "--threshold",
            "3",
            "--officer",
            "alice",
            "--officer",
            "bob",
        ],
        &format!("{a}{b}"),
    );
    cli(
        &vault,
        &[
            "release",
            "gh",
            "--reason",
            REASON,
            "--officer",
            "alice",
            "--officer",
            "bob",
            "--officer",
            "dave",
        ],
        &format!("{a}{b}{d}"),
    );
    cli(
        &vault,
        &["deposit", "gh", "--officer", "dave"],
        &format!("{d}c9\n"),
    );
    // A backup, a release after it, and a restore of the backup without
    // that release: the gap is acknowledged by a quorum, then a release.
    let backup = root.join("backup");
    cli(&vault, &["backup", backup.to_str().unwrap()], "");
    let three = [
        "--officer",
        "alice",
        "--officer",
        "bob",
        "--officer",
        "dave",
    ];
    let release = ["release", "gh", "--reason", REASON];
    cli(
        &vault,
        &[&release[..], &three[..]].concat(),
        &format!("{a}{b}{d}"),
    );
    let vault = root.join("restored");
    cli(&vault, &["restore", backup.to_str().unwrap()], "");
    cli(
        &vault,
        &[&["acknowledge-gap"][..], &three[..]].concat(),
        &format!("{a}{b}{d}"),
    );
    cli(
        &vault,
        &[&release[..], &three[..]].concat(),
        &format!("{a}{b}{d}"),
    );
    let v = Vault::open(&vault).unwrap();
    exported(dir, vault, &v)
}

impl Fixture {
    pub fn resign(&self, lines: &[Vec<u8>]) {
        write_and_resign(&self.bundle, lines, &self.ledger_key, &self.vault_id);
    }

    /// Appends raw entry bytes (with the next seq already in them) and
    /// re-signs.
    pub fn append_raw(&self, bytes: &[u8]) {
        let mut l = lines(&self.bundle);
        l.push(bytes.to_vec());
        self.resign(&l);
    }

    pub fn last_time(&self) -> String {
        let l = lines(&self.bundle);
        entry(&l, l.len() - 1)["time"].as_str().unwrap().to_string()
    }
}
