//! The two ledger verifiers side by side: the Python one
//! (`docs/verify-ledger.py`) and `breakglass ledger verify --bundle`, and
//! the bundle edits a test makes before running them (an attacker holding
//! the ledger key re-signs what they changed).

use std::path::{Path, PathBuf};
use std::process::Command;

use breakglass::ledger;
use breakglass::ledger::canonical;
use breakglass::ledger::merkle;
use breakglass::pgp::SecretKey;
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
    assert_eq!(out.lines().count(), 1, "one summary line: {out}");
    let (code, _, err) = rust(bundle, extra);
    assert_eq!(code, 0, "rust: {err}");
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
