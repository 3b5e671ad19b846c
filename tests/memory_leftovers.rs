//! Secrets left in memory (issue 10): the real binary runs `init`,
//! `deposit`, `release` and `passphrase` in batch mode, then, at the end
//! of `main`, scans its own memory for every secret it was given or
//! released, and the test asserts that none is left.
//!
//! The scan is the attack itself: every writable or anonymous mapping of
//! the process (heap, stacks, anonymous pages) read through
//! `/proc/self/mem` just before exit (`src/harden/leftovers.rs`, built only
//! with the `testing` feature, which this suite turns on). The secrets go
//! to the process masked, so the scan adds no copy of its own; a positive
//! control (the vault's path, which the process holds in its arguments)
//! proves the scan sees memory. Linux only: it needs `/proc/self/maps`.
#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeMap;
use std::process::Output;

use assert_cmd::Command;
use common::*;

/// Must match `breakglass::harden::leftovers::MASK`.
const MASK: u8 = 0x5A;
const ENV: &str = "BREAKGLASS_TEST_MEMSCAN";

/// How many codes the deposit holds, as in the heap scan.
const CODES: usize = 300;

/// A secret to look for, and a name for it in the report.
struct Needle {
    label: String,
    bytes: Vec<u8>,
}

fn needle(label: impl Into<String>, bytes: impl AsRef<[u8]>) -> Needle {
    Needle {
        label: label.into(),
        bytes: bytes.as_ref().to_vec(),
    }
}

/// What the process's scan found: needle label → (count, regions).
struct Scan {
    scanned: u64,
    found: BTreeMap<String, (usize, String)>,
}

impl Scan {
    /// What was found, one line per kind of secret: "code: 1 of 300
    /// found, 1 copy, in [heap]". Codes and credential pieces are grouped
    /// by their label without its number.
    fn leftovers(&self) -> Vec<String> {
        let mut groups: BTreeMap<&str, (usize, usize, usize, Vec<&str>)> = BTreeMap::new();
        for (label, (n, regions)) in &self.found {
            if label.starts_with("control") {
                continue;
            }
            let group = label
                .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
                .trim_end();
            let g = groups.entry(group).or_default();
            g.0 += 1;
            if *n > 0 {
                g.1 += 1;
                g.2 += n;
                for r in regions.split(',') {
                    if !g.3.contains(&r) {
                        g.3.push(r);
                    }
                }
            }
        }
        groups
            .into_iter()
            .filter(|(_, g)| g.1 > 0)
            .map(|(group, (all, found, copies, regions))| {
                format!(
                    "{group}: {found} of {all} found, {copies} copies, in {}",
                    regions.join(" ")
                )
            })
            .collect()
    }
}

/// Runs `cmd` with `stdin`, asking it to scan its memory for `needles`
/// (and the positive control) before it exits.
fn run_scanned(
    scratch: &Scratch,
    mut cmd: Command,
    stdin: impl Into<Vec<u8>>,
    needles: &[Needle],
) -> (Output, Scan) {
    let dir = scratch.dir.path();
    let file = dir.join("needles");
    let mut text = String::new();
    let control = needle("control: the vault path", scratch.path.to_str().unwrap());
    for n in needles.iter().chain(std::iter::once(&control)) {
        let masked: Vec<u8> = n.bytes.iter().map(|b| b ^ MASK).collect();
        text.push_str(&format!("{}\t{}\n", n.label, hex(&masked)));
    }
    std::fs::write(&file, text).unwrap();
    let counts = dir.join("needles.counts");
    let _ = std::fs::remove_file(&counts);
    let out = cmd
        .env(ENV, &file)
        .write_stdin(stdin.into())
        .output()
        .expect("run the binary");
    let report = std::fs::read_to_string(&counts).unwrap_or_else(|e| {
        panic!(
            "no scan report (is the binary built with the testing feature?): {e}\n{}",
            describe(&out)
        )
    });
    let mut scan = Scan {
        scanned: 0,
        found: BTreeMap::new(),
    };
    for line in report.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f[0] {
            "error" => panic!("the scan failed: {line}"),
            "scanned" => scan.scanned = f[1].parse().unwrap(),
            label => {
                scan.found
                    .insert(label.to_string(), (f[1].parse().unwrap(), f[2].to_string()));
            }
        }
    }
    assert!(
        scan.scanned > 1 << 20,
        "the scan read only {} bytes",
        scan.scanned
    );
    eprintln!(
        "scanned {} bytes; the control was found in {}",
        scan.scanned, scan.found["control: the vault path"].1
    );
    assert!(
        scan.found["control: the vault path"].0 > 0,
        "the scan did not find the vault path the process was given: it does not see memory"
    );
    (out, scan)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn passphrase_needles(officers: &[&str]) -> Vec<Needle> {
    officers
        .iter()
        .map(|o| needle(format!("passphrase of {o}"), passphrase_for(o)))
        .collect()
}

/// Distinct codes, each unlikely to occur in memory by chance.
fn codes() -> Vec<String> {
    (0..CODES)
        .map(|i| format!("MEMCODE-{i:04}-Zq8Wx"))
        .collect()
}

fn code_needles(codes: &[String]) -> Vec<Needle> {
    codes
        .iter()
        .enumerate()
        .map(|(i, c)| needle(format!("code {}", i + 1), c))
        .collect()
}

/// A credential of several KiB, longer than any buffer a line reader or
/// an OpenPGP layer uses, so it crosses their boundaries.
fn credential() -> String {
    let mut s = String::from("-----BEGIN MEMTEST CREDENTIAL-----\n");
    for i in 0..120 {
        s.push_str(&format!("line {i:03} Kp3vRq7ZmT9xWb2Ns5Jd8Lf4Hg6Yc1Qe\n"));
    }
    s.push_str("-----END MEMTEST CREDENTIAL-----");
    s
}

/// Every 32-byte window of the credential is a needle: a leftover piece of
/// it counts, not only a whole copy.
fn credential_needles(c: &str) -> Vec<Needle> {
    c.as_bytes()
        .chunks(32)
        .enumerate()
        .filter(|(_, w)| w.len() == 32)
        .map(|(i, w)| needle(format!("credential bytes {}..{}", i * 32, i * 32 + 32), w))
        .collect()
}

#[test]
fn no_passphrase_code_or_released_item_is_left_in_memory() {
    let officers = ["alice", "bob", "carol"];
    let scratch = Scratch::new();
    let mut leftovers: Vec<String> = Vec::new();
    let mut note = |what: &str, out: &Output, scan: &Scan| {
        expect_success(out, what);
        for l in scan.leftovers() {
            leftovers.push(format!("{what}: {l}"));
        }
    };
    let pass = |o: &str| passphrase_for(o);
    // A command every officer takes part in, and their passphrases.
    let by_all = |args: &[&str]| {
        let mut c = scratch.batch();
        c.args(args);
        for o in officers {
            c.args(["--officer", o]);
        }
        c
    };
    let all_passphrases = lines(&[&pass("alice"), &pass("bob"), &pass("carol")]);

    // init: the three officers' passphrases.
    let mut c = by_all(&["init", "--threshold", "3"]);
    c.args(FAST_KDF);
    let (out, scan) = run_scanned(
        &scratch,
        c,
        all_passphrases.clone(),
        &passphrase_needles(&officers),
    );
    note("init", &out, &scan);

    // deposit: a passphrase, then 300 codes on stdin.
    let codes = codes();
    let mut stdin = format!("{}\n", pass("alice"));
    for c in &codes {
        stdin.push_str(c);
        stdin.push('\n');
    }
    let mut needles = passphrase_needles(&["alice"]);
    needles.extend(code_needles(&codes));
    let mut c = scratch.batch();
    c.args(["deposit", "gh", "--officer", "alice"]);
    let (out, scan) = run_scanned(&scratch, c, stdin, &needles);
    note("deposit of 300 codes", &out, &scan);

    // deposit of a credential of several KiB.
    let credential = credential();
    let mut needles = passphrase_needles(&["bob"]);
    needles.extend(credential_needles(&credential));
    let mut c = scratch.batch();
    c.args(["deposit", "db", "--officer", "bob", "--kind", "credential"]);
    let stdin = format!("{}\n{credential}\n", pass("bob"));
    let (out, scan) = run_scanned(&scratch, c, stdin, &needles);
    note("deposit of a credential", &out, &scan);

    // release of a code by the three officers: every code, and the
    // passphrases, are looked for.
    let mut needles = passphrase_needles(&officers);
    needles.extend(code_needles(&codes));
    let c = by_all(&["release", "gh", "--reason", REASON]);
    let (out, scan) = run_scanned(&scratch, c, all_passphrases.clone(), &needles);
    note("release of a code", &out, &scan);
    let released = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        codes.iter().any(|c| released.trim() == c),
        "release printed no deposited code:\n{}",
        describe(&out)
    );

    // the same as JSON (`--json`): the item goes through serde's buffer.
    let mut needles = passphrase_needles(&officers);
    needles.extend(code_needles(&codes));
    let mut c = by_all(&["release", "gh", "--reason", REASON]);
    c.arg("--json");
    let (out, scan) = run_scanned(&scratch, c, all_passphrases.clone(), &needles);
    note("release of a code as JSON", &out, &scan);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        codes.iter().any(|c| v["value"] == c.as_str()),
        "release --json gave no deposited code:\n{}",
        describe(&out)
    );

    // release of the credential.
    let mut needles = passphrase_needles(&officers);
    needles.extend(credential_needles(&credential));
    let c = by_all(&["release", "db", "--reason", REASON]);
    let (out, scan) = run_scanned(&scratch, c, all_passphrases.clone(), &needles);
    note("release of a credential", &out, &scan);
    assert_eq!(
        String::from_utf8(out.stdout.clone()).unwrap().trim_end(),
        credential
    );

    // passphrase change: the old and the new passphrase.
    let new = "new-pw-for-carol-Hy6tQ3";
    let mut needles = passphrase_needles(&["carol"]);
    needles.push(needle("new passphrase of carol", new));
    let mut c = scratch.batch();
    c.args(["passphrase", "--officer", "carol"]);
    let stdin = lines(&[&pass("carol"), new]);
    let (out, scan) = run_scanned(&scratch, c, stdin, &needles);
    note("passphrase change", &out, &scan);

    assert!(
        leftovers.is_empty(),
        "{} secrets left in memory at exit:\n{}",
        leftovers.len(),
        leftovers.join("\n")
    );
}

/// The binary under a locked-memory limit of `bytes` that it cannot
/// exceed: `prlimit` sets RLIMIT_MEMLOCK, and as root `setpriv` first drops
/// CAP_IPC_LOCK (which ignores the limit) from the capability bounding
/// set. `None`, with a note, where those tools are missing or refuse.
fn under_memlock_limit(bytes: u64) -> Option<Command> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let euid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))?
        .split_whitespace()
        .nth(2)?
        .to_string();
    let mut argv: Vec<String> = Vec::new();
    if euid == "0" {
        argv.extend(["setpriv", "--bounding-set", "-ipc_lock"].map(String::from));
    }
    argv.push("prlimit".into());
    argv.push(format!("--memlock={bytes}:{bytes}"));
    argv.push(BIN.into());
    let make = || {
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]).env_remove("BREAKGLASS_VAULT");
        c.timeout(COMMAND_TIMEOUT);
        c
    };
    match make().arg("--version").output() {
        Ok(o) if o.status.success() => Some(make()),
        other => {
            eprintln!("skipped: cannot limit locked memory with {argv:?}: {other:?}");
            None
        }
    }
}

fn warnings(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("locked in memory"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn where_memory_cannot_be_locked_at_all_one_warning_is_given_and_the_release_works() {
    let v = TestVault::init(2, &["alice", "bob"]);
    v.deposit_codes_ok("gh", "alice", &["LOCK-TEST-0001"]);
    let Some(mut c) = under_memlock_limit(0) else {
        return;
    };
    c.arg("--vault").arg(&v.path).arg("--batch");
    c.args([
        "release",
        "gh",
        "--reason",
        REASON,
        "--officer",
        "alice",
        "--officer",
        "bob",
    ]);
    let out = c
        .write_stdin(lines(&[&passphrase_for("alice"), &passphrase_for("bob")]))
        .output()
        .unwrap();
    expect_success(&out, "release without mlock");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "LOCK-TEST-0001\n");
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "expected one warning:\n{}", describe(&out));
    assert!(
        w[0].starts_with("breakglass: warning: secrets cannot be locked in memory (mlock: "),
        "{}",
        w[0]
    );
    assert!(
        !w[0].contains("LOCK-TEST") && !w[0].contains("pw-"),
        "{}",
        w[0]
    );
}

#[test]
fn a_lock_refused_midway_is_warned_once_at_the_end() {
    let v = TestVault::init(2, &["alice", "bob"]);
    // 16 KiB may be locked: the start-up probe passes, a 48 KiB credential
    // does not fit.
    let Some(mut c) = under_memlock_limit(16 * 1024) else {
        return;
    };
    c.arg("--vault").arg(&v.path).arg("--batch");
    c.args([
        "deposit",
        "db",
        "--officer",
        "alice",
        "--kind",
        "credential",
    ]);
    let credential = "k".repeat(48 * 1024);
    let out = c
        .write_stdin(format!("{}\n{credential}", passphrase_for("alice")))
        .output()
        .unwrap();
    expect_success(&out, "deposit over the lock limit");
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "expected one warning:\n{}", describe(&out));
    assert!(
        w[0].starts_with("breakglass: warning: some secrets could not be locked in memory"),
        "{}",
        w[0]
    );
    assert_eq!(v.remaining("db"), 1);
}

#[test]
fn where_memory_can_be_locked_nothing_is_said() {
    let v = TestVault::init(2, &["alice", "bob"]);
    let out = v.deposit_codes("gh", "alice", &["LOCK-TEST-0002"]);
    expect_success(&out, "deposit");
    let out2 = v.release("gh", &["alice", "bob"]);
    expect_success(&out2, "release");
    for o in [&out, &out2] {
        assert!(
            warnings(o).is_empty(),
            "unexpected warning:\n{}",
            describe(o)
        );
    }
}

/// `--help` and `--version` handle no secret: no warning about locking
/// them, even where nothing can be locked.
#[test]
fn help_and_version_say_nothing_about_locking_memory() {
    for arg in ["--help", "--version"] {
        let Some(mut c) = under_memlock_limit(0) else {
            return;
        };
        let out = c.arg(arg).output().unwrap();
        expect_success(&out, arg);
        assert_eq!(
            warnings(&out),
            Vec::<String>::new(),
            "{arg}:\n{}",
            describe(&out)
        );
    }
}
