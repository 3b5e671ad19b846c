//! Shared helpers for the command-line integration tests: run the real
//! `breakglass` binary against a vault in its own temporary directory.
//!
//! Every vault is created with the weakest KDF settings the binary accepts
//! (`--kdf-memory-mib 8 --kdf-iterations 1`) so the suite stays fast.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

pub mod verifiers;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_breakglass");

/// The fastest KDF settings `init` accepts.
pub const FAST_KDF: [&str; 4] = ["--kdf-memory-mib", "8", "--kdf-iterations", "1"];

/// A reason accepted by `release`.
pub const REASON: &str = "IdP outage, INC-4242";

/// No single command of the suite should come near this; a hang fails the
/// test instead of stalling the run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The binary, with nothing inherited that could point it at another vault.
pub fn bin() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("BREAKGLASS_VAULT");
    c.env_remove("BREAKGLASS_WAIT");
    c.timeout(COMMAND_TIMEOUT);
    c
}

/// The passphrase the helpers give `officer`: distinctive, so a byte search
/// of the vault directory cannot match it by accident.
pub fn passphrase_for(officer: &str) -> String {
    format!("pw-{officer}-Vq7xK2pLm9")
}

/// `lines` joined with `\n`, each line terminated.
pub fn lines(lines: &[&str]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// A temporary directory and a vault path inside it (not created yet).
pub struct Scratch {
    pub dir: TempDir,
    pub path: PathBuf,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("vault");
        Scratch { dir, path }
    }

    /// The binary with `--vault <path>`.
    pub fn cmd(&self) -> Command {
        let mut c = bin();
        c.arg("--vault").arg(&self.path);
        c
    }

    /// The binary with `--vault <path> --batch`.
    pub fn batch(&self) -> Command {
        let mut c = self.cmd();
        c.arg("--batch");
        c
    }
}

/// A vault created by `init` in batch mode.
pub struct TestVault {
    pub scratch: Scratch,
    pub path: PathBuf,
    pub threshold: usize,
    pub officers: Vec<String>,
}

impl TestVault {
    /// `init --threshold m --officer …` with [`passphrase_for`] each officer;
    /// panics unless it succeeds.
    pub fn init(threshold: usize, officers: &[&str]) -> TestVault {
        let scratch = Scratch::new();
        let out = init_output(&scratch, threshold, officers);
        expect_success(&out, "init");
        let path = scratch.path.clone();
        TestVault {
            scratch,
            path,
            threshold,
            officers: officers.iter().map(|o| o.to_string()).collect(),
        }
    }

    /// The usual 2-of-3 vault: alice, bob, carol.
    pub fn two_of_three() -> TestVault {
        TestVault::init(2, &["alice", "bob", "carol"])
    }

    pub fn cmd(&self) -> Command {
        self.scratch.cmd()
    }

    pub fn batch(&self) -> Command {
        self.scratch.batch()
    }

    /// `deposit NAME --officer O` (codes) with the right passphrase.
    pub fn deposit_codes(&self, secret: &str, officer: &str, codes: &[&str]) -> Output {
        let stdin = format!("{}\n{}", passphrase_for(officer), lines(codes));
        self.batch()
            .args(["deposit", secret, "--officer", officer])
            .write_stdin(stdin)
            .output()
            .expect("run deposit")
    }

    /// [`TestVault::deposit_codes`], which must succeed.
    pub fn deposit_codes_ok(&self, secret: &str, officer: &str, codes: &[&str]) {
        expect_success(&self.deposit_codes(secret, officer, codes), "deposit");
    }

    /// `deposit NAME --officer O --kind credential`; stdin is the passphrase
    /// line followed by `credential` exactly as given.
    pub fn deposit_credential(&self, secret: &str, officer: &str, credential: &[u8]) -> Output {
        let mut stdin = format!("{}\n", passphrase_for(officer)).into_bytes();
        stdin.extend_from_slice(credential);
        self.batch()
            .args([
                "deposit",
                secret,
                "--officer",
                officer,
                "--kind",
                "credential",
            ])
            .write_stdin(stdin)
            .output()
            .expect("run deposit")
    }

    /// `release NAME --reason REASON --officer …` in batch mode with the
    /// officers' right passphrases.
    pub fn release(&self, secret: &str, officers: &[&str]) -> Output {
        let stdin: Vec<String> = officers.iter().map(|o| passphrase_for(o)).collect();
        let stdin: Vec<&str> = stdin.iter().map(String::as_str).collect();
        self.release_with_stdin(secret, officers, lines(&stdin))
    }

    /// `release` in batch mode with arbitrary stdin.
    pub fn release_with_stdin(
        &self,
        secret: &str,
        officers: &[&str],
        stdin: impl Into<Vec<u8>>,
    ) -> Output {
        let mut c = self.batch();
        c.args(["release", secret, "--reason", REASON]);
        for o in officers {
            c.args(["--officer", o]);
        }
        c.write_stdin(stdin.into()).output().expect("run release")
    }

    /// [`TestVault::release`], which must succeed; returns stdout.
    pub fn release_ok(&self, secret: &str, officers: &[&str]) -> String {
        let out = self.release(secret, officers);
        expect_success(&out, "release");
        String::from_utf8(out.stdout).expect("released item is UTF-8")
    }

    /// `ledger show --json`, line by line (the exact bytes of each entry).
    pub fn ledger_lines(&self) -> Vec<String> {
        let out = self
            .cmd()
            .args(["ledger", "show", "--json"])
            .output()
            .expect("run ledger show");
        expect_success(&out, "ledger show --json");
        String::from_utf8(out.stdout)
            .expect("ledger is UTF-8")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Every ledger entry, parsed.
    pub fn ledger(&self) -> Vec<Value> {
        self.ledger_lines()
            .iter()
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("ledger line {i} is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// The `kind` of every ledger entry, in order.
    pub fn ledger_kinds(&self) -> Vec<String> {
        self.ledger()
            .iter()
            .map(|e| e["kind"].as_str().expect("entry has a kind").to_owned())
            .collect()
    }

    /// `list --json`, raw.
    pub fn list_raw(&self) -> String {
        let out = self
            .cmd()
            .args(["list", "--json"])
            .output()
            .expect("run list");
        expect_success(&out, "list --json");
        String::from_utf8(out.stdout).expect("list is UTF-8")
    }

    /// `list --json`, parsed: an array of secret summaries.
    pub fn list(&self) -> Vec<Value> {
        let v: Value = serde_json::from_str(&self.list_raw()).expect("list --json is JSON");
        v.as_array().expect("list --json is an array").clone()
    }

    /// The summary of one secret from `list --json`.
    pub fn secret(&self, name: &str) -> Option<Value> {
        self.list().into_iter().find(|s| s["name"] == name)
    }

    /// Items of `name` never released, from `list --json`.
    pub fn remaining(&self, name: &str) -> u64 {
        self.secret(name)
            .unwrap_or_else(|| panic!("no secret {name} in list"))["remaining"]
            .as_u64()
            .expect("remaining is a number")
    }

    /// `status --json`, parsed.
    pub fn status(&self) -> Value {
        let out = self
            .cmd()
            .args(["status", "--json"])
            .output()
            .expect("run status");
        expect_success(&out, "status --json");
        serde_json::from_slice(&out.stdout).expect("status --json is JSON")
    }

    /// The ledger and the secret list, to compare before and after.
    pub fn snapshot(&self) -> (Vec<String>, String) {
        (self.ledger_lines(), self.list_raw())
    }

    /// Asserts that since `before` the items are unchanged and the ledger
    /// only grew by one `refused` entry (an attempt that reached the vault
    /// is logged, I7); returns the new snapshot.
    pub fn assert_only_refusal_logged(
        &self,
        before: (Vec<String>, String),
    ) -> (Vec<String>, String) {
        let after = self.snapshot();
        assert_eq!(after.1, before.1, "a refused deposit changed the items");
        assert!(
            after.0.starts_with(&before.0),
            "the ledger's history changed"
        );
        let added = &after.0[before.0.len()..];
        assert_eq!(
            added.len(),
            1,
            "expected one new entry, got {}",
            added.len()
        );
        let e: Value = serde_json::from_str(&added[0]).unwrap();
        assert_eq!(e["kind"], "refused", "{e}");
        after
    }
}

/// `init` in batch mode at `scratch.path`; returns the output.
pub fn init_output(scratch: &Scratch, threshold: usize, officers: &[&str]) -> Output {
    let mut c = scratch.batch();
    c.args(["init", "--threshold", &threshold.to_string()]);
    for o in officers {
        c.args(["--officer", o]);
    }
    c.args(FAST_KDF);
    let stdin: Vec<String> = officers.iter().map(|o| passphrase_for(o)).collect();
    let stdin: Vec<&str> = stdin.iter().map(String::as_str).collect();
    c.write_stdin(lines(&stdin)).output().expect("run init")
}

/// Describes an output for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Panics unless `out` exited 0.
pub fn expect_success(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed:\n{}", describe(out));
}

/// Asserts the exit code and that stderr is exactly one line starting with
/// `breakglass: ` (invariant I13); returns that line.
pub fn expect_error(out: &Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "unexpected exit code:\n{}",
        describe(out)
    );
    one_line_error(out)
}

/// Asserts stderr is exactly one line starting with `breakglass: `;
/// returns it without its line ending.
pub fn one_line_error(out: &Output) -> String {
    let err = String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8");
    let body = err.strip_suffix('\n').unwrap_or(&err);
    assert!(
        !body.is_empty() && !body.contains('\n'),
        "stderr is not exactly one line:\n{}",
        describe(out)
    );
    assert!(
        body.starts_with("breakglass: "),
        "stderr does not start with 'breakglass: ':\n{}",
        describe(out)
    );
    body.to_owned()
}

/// Asserts an error line contains every one of `needles`.
pub fn assert_mentions(line: &str, needles: &[&str]) {
    for n in needles {
        assert!(
            line.contains(n),
            "error line {line:?} does not mention {n:?}"
        );
    }
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read_dir {}: {e}", d.display())) {
            let p = e.expect("dir entry").path();
            let ft = std::fs::symlink_metadata(&p).expect("metadata").file_type();
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                out.push(p);
            }
        }
    }
    out
}

/// Whether `needle` occurs in `haystack`.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Copies the directory `from` into `to` (created if missing), files and
/// subdirectories: a closed sled database is a set of plain files.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Every command that runs, found from the help itself (each "Commands:"
/// section, recursively), so a new subcommand is checked too.
pub fn leaf_commands() -> Vec<Vec<String>> {
    fn walk(path: Vec<String>, out: &mut Vec<Vec<String>>) {
        let o = bin().args(&path).arg("--help").output().unwrap();
        expect_success(&o, "--help");
        let help = String::from_utf8(o.stdout).unwrap();
        let subs: Vec<String> = match help.split_once("\nCommands:\n") {
            None => Vec::new(),
            Some((_, rest)) => rest
                .lines()
                .take_while(|l| !l.is_empty())
                .filter_map(|l| l.split_whitespace().next())
                .filter(|name| *name != "help")
                .map(str::to_owned)
                .collect(),
        };
        if subs.is_empty() {
            out.push(path);
            return;
        }
        for s in subs {
            let mut p = path.clone();
            p.push(s);
            walk(p, out);
        }
    }
    let mut out = Vec::new();
    walk(Vec::new(), &mut out);
    assert!(out.len() > 20, "found only {out:?}");
    out
}

pub fn help_of(sub: &[String], flag: &str) -> String {
    let out = bin().args(sub).arg(flag).output().unwrap();
    expect_success(&out, flag);
    String::from_utf8(out.stdout).unwrap()
}
