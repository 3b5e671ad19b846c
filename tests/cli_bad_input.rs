//! The bad-input catalogue (I13): one row per case. Each row says where the
//! command runs, its arguments and stdin, the exit code, the fragments its
//! one stderr line must hold, and what must hold afterwards: for a vault,
//! that `ledger show --json` and `list --json` are as before (or grew only
//! by the entries an attempt that reached the vault logs, I7); for `init`
//! and a missing vault, that nothing was created.
//!
//! Every failing case must also print nothing on stdout, not echo any stdin
//! line of 6 characters or more (passphrases, codes), and not panic.
//! Usage errors caught before the vault is opened exit 2.
//!
//! The vault cases run on copies of one template vault, made once.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use breakglass::records::write_format;
use breakglass::store::{Store, Table};
use common::*;

/// Where a case runs.
#[derive(Clone, Copy, Debug)]
enum At {
    /// Nothing at the vault path.
    Nothing,
    /// A copy of the template: alice, bob and carol, 2 of 3; `gh` holds
    /// C-1 and C-2; `used` held one code, released.
    Vault,
    /// A regular file at the vault path.
    File,
    /// A directory that is not a vault (it holds a README).
    Foreign,
    /// A copy of the template whose format record says this version.
    Format(u32),
}

/// What must hold after the command.
#[derive(Clone, Copy, Debug)]
enum After {
    /// The ledger and the secret list are exactly as before.
    Unchanged,
    /// The ledger's history is kept and it grew by entries of exactly these
    /// kinds; the secret list changed only if one of them is a deposit or a
    /// release.
    Logged(&'static [&'static str]),
    /// Nothing exists at the vault path.
    Absent,
    /// The file or foreign directory is exactly as it was made.
    AsMade,
    /// Only the error itself is checked (the vault cannot be read).
    Refused,
}

/// What the command's stdout is.
#[derive(Clone, Copy, Debug)]
enum Stdout {
    Pipe,
    /// Closed (`>&-`).
    Closed,
    /// `/dev/null`.
    Null,
    /// A pipe whose reader has gone (EPIPE on the first write).
    Broken,
}

struct Case {
    name: String,
    at: At,
    args: Vec<String>,
    stdin: Vec<u8>,
    batch: bool,
    stdout: Stdout,
    exit: i32,
    says: Vec<&'static str>,
    never: Vec<&'static str>,
    after: After,
}

impl Case {
    /// Not in batch mode (no terminal either).
    fn interactive(mut self) -> Case {
        self.batch = false;
        self
    }
    fn stdout(mut self, s: Stdout) -> Case {
        self.stdout = s;
        self
    }
    /// Fragments the stderr line must not hold.
    fn never(mut self, n: &[&'static str]) -> Case {
        self.never = n.to_vec();
        self
    }
}

/// One row.
fn case(
    name: impl Into<String>,
    at: At,
    args: Vec<String>,
    stdin: impl Into<Vec<u8>>,
    exit: i32,
    says: &[&'static str],
    after: After,
) -> Case {
    Case {
        name: name.into(),
        at,
        args,
        stdin: stdin.into(),
        batch: true,
        stdout: Stdout::Pipe,
        exit,
        says: says.to_vec(),
        never: Vec::new(),
        after,
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// `init ARGS` with the fast KDF settings.
fn init(a: &[&str]) -> Vec<String> {
    let mut v = args(&["init"]);
    v.extend(args(a));
    v.extend(args(&FAST_KDF));
    v
}

/// `init --threshold 2 --officer alice --officer bob` with the fast KDF.
fn init2() -> Vec<String> {
    init(&["--threshold", "2", "--officer", "alice", "--officer", "bob"])
}

/// `init` of `m` of the named officers.
fn init_of(m: &str, officers: &[&str]) -> Vec<String> {
    let mut a = vec!["--threshold", m];
    for o in officers {
        a.extend(["--officer", o]);
    }
    init(&a)
}

fn deposit(secret: &str, officer: &str) -> Vec<String> {
    args(&["deposit", secret, "--officer", officer])
}

fn credential(secret: &str) -> Vec<String> {
    args(&[
        "deposit",
        secret,
        "--officer",
        "alice",
        "--kind",
        "credential",
    ])
}

fn release_why(secret: &str, reason: &str, officers: &[&str]) -> Vec<String> {
    let mut a = args(&["release", secret, "--reason", reason]);
    for o in officers {
        a.extend(args(&["--officer", o]));
    }
    a
}

fn release(secret: &str, officers: &[&str]) -> Vec<String> {
    release_why(secret, REASON, officers)
}

/// The right passphrases of `officers`, one a line.
fn pws(officers: &[&str]) -> String {
    let p: Vec<String> = officers.iter().map(|o| passphrase_for(o)).collect();
    let p: Vec<&str> = p.iter().map(String::as_str).collect();
    lines(&p)
}

/// Alice's passphrase, then `rest` as given.
fn alice_then(rest: impl AsRef<[u8]>) -> Vec<u8> {
    let mut v = pws(&["alice"]).into_bytes();
    v.extend_from_slice(rest.as_ref());
    v
}

/// `bytes`, then the right passphrases of `officers`.
fn bytes_then(bytes: &[u8], officers: &[&str]) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v.extend_from_slice(pws(officers).as_bytes());
    v
}

const AB: &[&str] = &["alice", "bob"];

/// Characters no name, reason or code may hold: controls (Cc), format
/// characters (Cf: bidi overrides, zero-width), line and paragraph
/// separators (Zl, Zp).
const INVISIBLE: [(&str, char); 10] = [
    ("a tab (Cc)", '\t'),
    ("ESC (Cc)", '\u{1b}'),
    ("NUL (Cc)", '\0'),
    ("DEL (Cc)", '\u{7f}'),
    ("NEL U+0085 (Cc)", '\u{85}'),
    ("RIGHT-TO-LEFT OVERRIDE U+202E (Cf)", '\u{202e}'),
    ("ZERO WIDTH SPACE U+200B (Cf)", '\u{200b}'),
    ("BOM U+FEFF (Cf)", '\u{feff}'),
    ("LINE SEPARATOR U+2028 (Zl)", '\u{2028}'),
    ("PARAGRAPH SEPARATOR U+2029 (Zp)", '\u{2029}'),
];

#[rustfmt::skip]
fn catalogue() -> Vec<Case> {
    use After::*;
    use At::*;
    let mut t = vec![
        // ---- init: refused before anything is created ----
        case("init: threshold 1", Nothing, init_of("1", AB), pws(AB), 2, &["threshold"], Absent),
        case("init: threshold above the officer count", Nothing, init_of("3", AB), pws(AB), 2, &["threshold", "3"], Absent),
        case("init: threshold not a number", Nothing, init(&["--threshold", "two", "--officer", "alice", "--officer", "bob"]), pws(AB), 2, &["(see --help)"], Absent),
        case("init: no threshold", Nothing, init(&["--officer", "alice", "--officer", "bob"]), pws(AB), 2, &["--threshold"], Absent),
        case("init: duplicate officer", Nothing, init_of("2", &["alice", "alice"]), pws(AB), 2, &["alice", "twice"], Absent),
        case("init: -x taken for an option", Nothing, init(&["--threshold", "2", "--officer", "-x", "--officer", "bob"]), "", 2, &["(see --help)"], Absent),
        case("init: KDF memory 7 MiB", Nothing, init_raw("7", "1"), pws(AB), 2, &["kdf"], Absent),
        case("init: KDF memory 4097 MiB", Nothing, init_raw("4097", "1"), pws(AB), 2, &["kdf"], Absent),
        case("init: KDF 0 iterations", Nothing, init_raw("8", "0"), pws(AB), 2, &["kdf"], Absent),
        case("init: KDF 65 iterations", Nothing, init_raw("8", "65"), pws(AB), 2, &["kdf"], Absent),
        case("init: a 7-character passphrase", Nothing, init2(), lines(&[&passphrase_for("alice"), "1234567"]), 2, &["passphrase", "bob", "8"], Absent),
        case("init: stdin ends before carol's passphrase", Nothing, init_of("2", &["alice", "bob", "carol"]), pws(AB), 1, &["stdin ended", "carol"], Absent),
        case("init: empty stdin", Nothing, init2(), "", 1, &["stdin ended", "alice"], Absent),
        case("init: non-UTF-8 passphrase", Nothing, init2(), bytes_then(b"\xff\xfepassphrase\n", &["bob"]), 1, &["UTF-8", "alice"], Absent),
        case("init: a 2 MB passphrase line", Nothing, init2(), bytes_then(&[b'x'; 2_000_000], &[]), 2, &["longer than 1024"], Absent),
        case("init: on an existing vault", Vault, init_of("2", &["mallory", "eve"]), lines(&["mallory-passphrase", "eve-passphrase"]), 1, &["already exists"], Unchanged),
        case("init: in a non-empty directory", Foreign, init2(), pws(AB), 1, &["already exists"], AsMade),
        case("init: at a file", File, init2(), pws(AB), 1, &["is a file"], AsMade),
        // ---- the vault path ----
        case("list: the path is a file", File, args(&["list"]), "", 1, &["is a file"], AsMade),
        case("status: the path is a file", File, args(&["status"]), "", 1, &["is a file"], AsMade),
        case("ledger show: the path is a file", File, args(&["ledger", "show"]), "", 1, &["is a file"], AsMade),
        case("deposit: the path is a file", File, deposit("gh", "alice"), alice_then("C-9\n"), 1, &["is a file"], AsMade),
        case("release: the path is a file", File, release("gh", AB), pws(AB), 1, &["is a file"], AsMade),
        case("list: no vault", Nothing, args(&["list"]), "", 1, &["no vault", "init"], Absent),
        case("status --json: no vault", Nothing, args(&["status", "--json"]), "", 1, &["no vault", "init"], Absent),
        case("ledger show --json: no vault", Nothing, args(&["ledger", "show", "--json"]), "", 1, &["no vault", "init"], Absent),
        case("deposit: no vault", Nothing, deposit("gh", "alice"), alice_then("C-9\n"), 1, &["no vault", "init"], Absent),
        case("release: no vault", Nothing, release("gh", AB), pws(AB), 1, &["no vault", "init"], Absent),
        case("list: a directory that is not a vault", Foreign, args(&["list"]), "", 1, &["not a breakglass vault"], AsMade),
        case("release: a directory that is not a vault", Foreign, release("gh", AB), pws(AB), 1, &["not a breakglass vault"], AsMade),
        case("list: format version 99", Format(99), args(&["list"]), "", 1, &["format 99", "reads format 5", "use the breakglass that made it"], Refused),
        case("ledger show: format version 99", Format(99), args(&["ledger", "show"]), "", 1, &["format 99", "reads format 5", "use the breakglass that made it"], Refused),
        case("release: format version 99", Format(99), release("gh", AB), pws(AB), 1, &["format 99", "reads format 5", "use the breakglass that made it"], Refused),
        case("list: an old-format (0.1) vault", Format(1), args(&["list"]), "", 1, &["breakglass 0.1 (format 1)", "no migration"], Refused),
        case("list: a format-2 (0.2) vault", Format(2), args(&["list"]), "", 1, &["format 2", "reads format 5", "no migration", "old binary"], Refused),
        case("release: a 0.2 (format 4) vault", Format(4), release("gh", AB), pws(AB), 1, &["breakglass 0.2 (format 4)", "reads format 5", "no migration", "old binary"], Refused),
        // ---- arguments: usage errors, nothing changes ----
        case("an unknown command", Vault, args(&["frobnicate"]), "", 2, &["(see --help)"], Unchanged),
        case("an unknown option", Vault, args(&["list", "--verbose"]), "", 2, &["(see --help)"], Unchanged),
        case("deposit: no officer", Vault, args(&["deposit", "gh"]), alice_then("C-9\n"), 2, &["--officer", "(see --help)"], Unchanged),
        case("deposit: an unknown kind", Vault, args(&["deposit", "gh", "--officer", "alice", "--kind", "password"]), alice_then("C-9\n"), 2, &["(see --help)"], Unchanged),
        case("deposit: min-approvals not a number", Vault, args(&["deposit", "gh", "--officer", "alice", "--min-approvals", "lots"]), alice_then("C-9\n"), 2, &["(see --help)"], Unchanged),
        case("release: no officers", Vault, args(&["release", "gh", "--reason", REASON]), pws(AB), 2, &["(see --help)"], Unchanged),
        case("release: no secret", Vault, args(&["release", "--reason", REASON, "--officer", "alice", "--officer", "bob"]), pws(AB), 2, &["(see --help)"], Unchanged),
        case("release: no reason", Vault, args(&["release", "gh", "--officer", "alice", "--officer", "bob"]), pws(AB), 2, &["--reason"], Unchanged),
        case("release: without --batch and no terminal", Vault, release("gh", AB), pws(AB), 2, &["--batch"], Unchanged).interactive().never(&["assphrase for"]),
        case("release: empty reason", Vault, release_why("gh", "", AB), pws(AB), 2, &["reason"], Unchanged),
        case("release: blank reason", Vault, release_why("gh", "   ", AB), pws(AB), 2, &["reason"], Unchanged),
        case("release: a 501-character reason", Vault, release_why("gh", &"x".repeat(501), AB), pws(AB), 2, &["reason"], Unchanged),
        case("release: a reason of two lines", Vault, release_why("gh", "line one\nline two", AB), pws(AB), 2, &["reason", "control characters"], Unchanged),
        case("deposit: a secret name with a newline", Vault, deposit("gh\nx", "alice"), alice_then("C-9\n"), 2, &["secret name"], Unchanged),
        // ---- release: refused at the vault, and logged ----
        case("release: wrong passphrase (three wrong lines)", Vault, release("gh", AB), lines(&["wrong-one-passphrase", "wrong-two-passphrase", "wrong-three-passphrase"]), 1, &["wrong passphrase for officer alice"], Logged(&["auth_failed"])),
        case("release: non-UTF-8 passphrase", Vault, release("gh", AB), bytes_then(b"\xff\xfe\xfd\n", &["bob"]), 1, &["UTF-8", "alice"], Unchanged),
        case("release: a 2 MB passphrase line", Vault, release("gh", AB), bytes_then(&[b'x'; 2_000_000], &["bob"]), 2, &["longer than 1024"], Unchanged),
        case("release: too few officers", Vault, release("gh", &["alice"]), pws(&["alice"]), 1, &["too few officers", "1 of the 2"], Logged(&["refused"])),
        case("release: the same officer twice", Vault, release("gh", &["alice", "alice"]), pws(&["alice", "alice"]), 1, &["alice", "twice"], Logged(&["refused"])),
        case("release: an unknown officer", Vault, release("gh", &["alice", "mallory"]), lines(&[&passphrase_for("alice"), "mallory-passphrase"]), 1, &["unknown officer mallory"], Logged(&["refused"])),
        case("release: an unknown secret", Vault, release("nope", AB), pws(AB), 1, &["unknown secret nope"], Logged(&["refused"])),
        case("release: nothing left", Vault, release("used", AB), pws(AB), 1, &["nothing left", "used", "deposit more with `breakglass deposit used`"], Logged(&["refused"])),
        case("release: a secret named but for case", Vault, release("GH", AB), pws(AB), 1, &["unknown secret GH (did you mean gh?)"], Logged(&["refused"])),
        case("release: a misspelt officer", Vault, release("gh", &["alice", "bbo"]), pws(&["alice", "bbo"]), 1, &["unknown officer bbo (did you mean bob?)"], Logged(&["refused"])),
        case("release: stdout closed (>&-)", Vault, release("gh", AB), pws(AB), 2, &["stdout", "nothing was released"], Logged(&["refused"])).stdout(Stdout::Closed),
        case("release: stdout is /dev/null", Vault, release("gh", AB), pws(AB), 2, &["/dev/null", "nothing was released"], Logged(&["refused"])).stdout(Stdout::Null),
        case("release: stdout a closed pipe (EPIPE)", Vault, release("gh", AB), pws(AB), 1, &["cannot write the item to stdout", "re-releasable"], Logged(&["release"])).stdout(Stdout::Broken),
        // ---- deposit: stdin ----
        case("deposit: no codes", Vault, deposit("new", "alice"), alice_then(""), 2, &["nothing to deposit"], Unchanged),
        case("deposit: only blank lines", Vault, deposit("new", "alice"), alice_then("\n   \n\n"), 2, &["nothing to deposit"], Unchanged),
        case("deposit: an empty credential", Vault, credential("new"), alice_then(""), 2, &["credential", "empty"], Unchanged),
        case("deposit: empty stdin", Vault, deposit("new", "alice"), "", 1, &["stdin ended", "alice"], Unchanged),
        case("deposit: wrong passphrase", Vault, deposit("new", "alice"), "not-alices-passphrase\nC-9\n", 1, &["wrong passphrase for officer alice"], Logged(&["auth_failed"])),
        case("deposit: an unknown officer", Vault, deposit("new", "mallory"), "some-passphrase\nC-9\n", 1, &["unknown officer mallory"], Logged(&["refused"])),
        // Refused before the passphrase is read (stdin is empty), and logged.
        case("deposit: a name differing from an existing one only in case", Vault, deposit("GH", "alice"), "", 1, &["GH differs from the existing secret gh only in case"], Logged(&["refused"])),
        case("deposit: a credential into a code set's name", Vault, credential("gh"), "", 1, &["gh holds codes, not credential"], Logged(&["refused"])),
        case("deposit: non-UTF-8 passphrase", Vault, deposit("new", "alice"), b"\xffalice\nC-9\n".to_vec(), 1, &["UTF-8", "alice"], Unchanged),
        case("deposit: a 2 MB passphrase line", Vault, deposit("new", "alice"), bytes_then(&[b'x'; 2_000_000], &[]), 2, &["longer than 1024"], Unchanged),
        case("deposit: a 4097-byte code", Vault, deposit("new", "alice"), alice_then(format!("C-ok\n{}\n", "A".repeat(4097))), 2, &["4097", "4096"], Unchanged),
        case("deposit: a 65537-byte credential", Vault, credential("new"), alice_then("A".repeat(65537)), 2, &["65537", "65536"], Unchanged),
        case("deposit: a 200 000-byte credential", Vault, credential("new"), alice_then("x".repeat(200_000)), 2, &["65536"], Unchanged),
        case("deposit: a non-UTF-8 code", Vault, deposit("new", "alice"), alice_then(b"C-ok\nC-\xff\xfe\n"), 1, &["UTF-8"], Unchanged),
        case("deposit: a non-UTF-8 credential", Vault, credential("new"), alice_then(b"line\n\xc3\x28\n"), 1, &["UTF-8"], Unchanged),
        case("deposit: stdout a closed pipe (EPIPE) after the deposit", Vault, deposit("new", "alice"), alice_then("C-9\n"), 0, &["Deposited 1 code", "stdout was closed"], Logged(&["deposit"])).stdout(Stdout::Broken),
        // ---- read commands into a closed pipe: a normal end ----
        case("list into a closed pipe", Vault, args(&["list"]), "", 0, &[], Unchanged).stdout(Stdout::Broken),
        case("status into a closed pipe", Vault, args(&["status"]), "", 0, &[], Unchanged).stdout(Stdout::Broken),
        case("ledger verify into a closed pipe", Vault, args(&["ledger", "verify"]), "", 0, &[], Unchanged).stdout(Stdout::Broken),
        case("ledger show --json into a closed pipe", Vault, args(&["ledger", "show", "--json"]), "", 0, &[], Unchanged).stdout(Stdout::Broken),
    ];

    // 256 officers: one more than a share index can name.
    let many: Vec<String> = (0..256).map(|i| format!("o{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    t.push(case("init: 256 officers", Nothing, init_of("2", &many), pws(&many), 2, &["256", "255"], Absent));

    // Names, on init and on a vault.
    let long_officer = "a".repeat(33);
    let officer_bidi = "ali\u{202e}ce".to_string();
    let officer_zwsp = "ali\u{200b}ce".to_string();
    for bad in ["Alice", "-x", &long_officer, "bob smith", "é", ".x", "a/b", &officer_bidi, &officer_zwsp] {
        let officer = format!("--officer={bad}");
        let mut a = args(&["--threshold", "2", &officer, "--officer", "bob"]);
        a.insert(0, "init".into());
        a.extend(args(&FAST_KDF));
        t.push(case(format!("init: officer name {bad:?}"), Nothing, a, pws(AB), 2, &["officer name"], Absent));
    }
    for bad in ["Alice", "-x", &long_officer, "bob smith", &officer_bidi] {
        let officer = format!("--officer={bad}");
        t.push(case(format!("deposit: officer name {bad:?}"), Vault, args(&["deposit", "gh", &officer]), alice_then("C-9\n"), 2, &["officer name"], Unchanged));
        t.push(case(format!("release: officer name {bad:?}"), Vault, args(&["release", "gh", "--reason", REASON, "--officer", "alice", &officer]), pws(AB), 2, &["officer name"], Unchanged));
    }
    let long_secret = "A".repeat(65);
    let secret_bidi = "g\u{202e}h".to_string();
    for bad in ["", "/gh", "a b", "_a", "ü", &long_secret, &secret_bidi] {
        t.push(case(format!("deposit: secret name {bad:?}"), Vault, deposit(bad, "alice"), alice_then("C-9\n"), 2, &["secret name"], Unchanged));
        t.push(case(format!("release: secret name {bad:?}"), Vault, release(bad, AB), pws(AB), 2, &["secret name"], Unchanged));
    }
    // Invisible and direction-changing characters in reasons and codes.
    for (what, c) in INVISIBLE {
        let reason = format!("IdP outage{c} INC-4242");
        // An argument cannot hold NUL at all.
        if c != '\0' { t.push(case(format!("release: a reason with {what}"), Vault, release_why("gh", &reason, AB), pws(AB), 2, &["reason"], Unchanged)); }
        let code = format!("C-ok\nAAAA{c}1111\n");
        t.push(case(format!("deposit: a code with {what}"), Vault, deposit("new", "alice"), alice_then(code), 2, &["code 2", "nothing was deposited"], Unchanged));
    }
    t
}

/// `init` of alice and bob with the given KDF settings.
fn init_raw(memory: &str, iterations: &str) -> Vec<String> {
    let mut a = args(&["init", "--threshold", "2", "--officer", "alice"]);
    a.extend(args(&["--officer", "bob", "--kdf-memory-mib", memory]));
    a.extend(args(&["--kdf-iterations", iterations]));
    a
}

/// The template vault and its snapshot, made once.
struct Template {
    vault: TestVault,
    snapshot: (Vec<String>, String),
}

fn template() -> Template {
    let vault = TestVault::two_of_three();
    vault.deposit_codes_ok("gh", "alice", &["C-1", "C-2"]);
    vault.deposit_codes_ok("used", "alice", &["U-1"]);
    assert_eq!(vault.release_ok("used", AB), "U-1\n");
    let snapshot = vault.snapshot();
    Template { vault, snapshot }
}

fn prepare(at: At, path: &Path, template: &Template) {
    match at {
        At::Nothing => {}
        At::Vault => copy_dir(&template.vault.path, path),
        At::File => std::fs::write(path, b"not a vault").unwrap(),
        At::Foreign => {
            std::fs::create_dir(path).unwrap();
            std::fs::write(path.join("README"), b"keep me").unwrap();
        }
        At::Format(n) => {
            copy_dir(&template.vault.path, path);
            let store = Store::open(path).unwrap();
            store
                .transact(|tx| tx.put(Table::Meta, b"format", &write_format(n)))
                .unwrap();
            store.flush().unwrap();
        }
    }
}

/// The write end of a pipe whose read end is already closed: the first
/// write gets EPIPE, as in `breakglass list | true`.
fn pipe_without_reader() -> Stdio {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes; each
    // is then owned exactly once.
    let (r, w) = unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0, "pipe(2)");
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    };
    drop(r);
    Stdio::from(w)
}

/// Runs the case's command at `path`.
fn run(case: &Case, path: &Path) -> Output {
    let mut c = match case.stdout {
        // `>&-` needs a shell: std cannot start a child with fd 1 closed.
        Stdout::Closed => {
            let mut c = Command::new("sh");
            c.args(["-c", r#"exec "$0" "$@" >&-"#, BIN]);
            c
        }
        _ => Command::new(BIN),
    };
    c.env_remove("BREAKGLASS_VAULT").arg("--vault").arg(path);
    if case.batch {
        c.arg("--batch");
    }
    c.args(&case.args)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped());
    match case.stdout {
        Stdout::Pipe => {
            c.stdout(Stdio::piped());
        }
        Stdout::Closed => {}
        Stdout::Null => {
            c.stdout(Stdio::null());
        }
        Stdout::Broken => {
            c.stdout(pipe_without_reader());
        }
    }
    let mut child = c.spawn().expect("start breakglass");
    drop(c); // our copy of the pipe's write end
    let mut stdin = child.stdin.take().unwrap();
    let input = case.stdin.clone();
    // The command may stop reading early (an over-long line): ignore EPIPE.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for breakglass");
    writer.join().unwrap();
    out
}

/// Runs one case on its own copy and checks every rule; panics on a break.
fn check(case: &Case, template: &Template) {
    let s = Scratch::new();
    prepare(case.at, &s.path, template);
    let out = run(case, &s.path);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(
        out.status.code(),
        Some(101),
        "panicked:\n{}",
        describe(&out)
    );
    if case.exit == 0 {
        expect_success(&out, &case.name);
        assert_mentions(&err, &case.says);
    } else {
        assert_mentions(&expect_error(&out, case.exit), &case.says);
        assert!(out.stdout.is_empty(), "printed:\n{}", describe(&out));
        for line in case.stdin.split(|b| *b == b'\n' || *b == b'\r') {
            if line.len() >= 6 {
                let line = String::from_utf8_lossy(&line[..line.len().min(64)]);
                assert!(!err.contains(&*line), "the error echoes stdin: {err}");
            }
        }
    }
    for n in &case.never {
        assert!(!err.contains(n), "stderr holds {n:?}: {err}");
    }
    match case.after {
        After::Unchanged => {
            let v = copy_of(&s, template);
            assert_eq!(v.snapshot(), template.snapshot, "the vault changed");
        }
        After::Logged(kinds) => {
            let v = copy_of(&s, template);
            let (ledger, list) = v.snapshot();
            let (ledger_before, list_before) = &template.snapshot;
            assert!(
                ledger.starts_with(ledger_before),
                "the ledger's history changed"
            );
            let added: Vec<String> = v.ledger()[ledger_before.len()..]
                .iter()
                .map(|e| e["kind"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(added, kinds, "entries added");
            if !kinds.iter().any(|k| *k == "deposit" || *k == "release") {
                assert_eq!(&list, list_before, "the secrets changed");
            }
        }
        After::Absent => assert!(!s.path.exists(), "{} was created", s.path.display()),
        After::AsMade => match case.at {
            At::File => assert_eq!(std::fs::read(&s.path).unwrap(), b"not a vault"),
            At::Foreign => {
                let names: Vec<_> = std::fs::read_dir(&s.path)
                    .unwrap()
                    .map(|e| e.unwrap().file_name())
                    .collect();
                assert_eq!(names, ["README"]);
                assert_eq!(std::fs::read(s.path.join("README")).unwrap(), b"keep me");
            }
            other => panic!("AsMade for {other:?}"),
        },
        After::Refused => {}
    }
}

/// A [`TestVault`] handle on a case's copy (for the snapshot helpers).
fn copy_of(s: &Scratch, template: &Template) -> TestVault {
    TestVault {
        scratch: Scratch {
            dir: tempfile::tempdir().unwrap(),
            path: s.path.clone(),
        },
        path: s.path.clone(),
        threshold: template.vault.threshold,
        officers: template.vault.officers.clone(),
    }
}

#[test]
fn the_bad_input_catalogue() {
    let cases = catalogue();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let names: std::collections::HashSet<_> = cases.iter().map(|c| &c.name).collect();
    assert_eq!(names.len(), cases.len(), "two cases share a name");
    let template = template();
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        check(case, &template)
                    }));
                    if let Err(e) = r {
                        let why = e
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        failed.lock().unwrap().push(format!("{}: {why}", case.name));
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap();
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n\n")
    );
}

/// The limits are inclusive, and what a terminal pastes is accepted: the
/// other side of the catalogue's boundaries.
#[test]
fn input_at_the_limits_is_accepted() {
    TestVault::init(2, &["a".repeat(32).as_str(), "bob"]);

    // Eight characters are enough, counted as characters.
    let s = Scratch::new();
    let out = s
        .batch()
        .args(init2())
        .write_stdin(lines(&["12345678", "ééééééé8"]))
        .output()
        .unwrap();
    expect_success(&out, "init with 8-character passphrases");

    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["C-1"]);
    let out = v
        .batch()
        .args(release_why("gh", &"é".repeat(500), AB))
        .write_stdin(pws(AB))
        .output()
        .unwrap();
    expect_success(&out, "release with a 500-character reason");

    let max = "B".repeat(4096);
    v.deposit_codes_ok("max", "alice", &[&max]);
    assert_eq!(v.release_ok("max", AB), format!("{max}\n"));

    let max = "C".repeat(65536);
    expect_success(
        &v.deposit_credential("cred", "alice", format!("{max}\n").as_bytes()),
        "64 KiB credential",
    );
    assert_eq!(v.release_ok("cred", AB), format!("{max}\n"));

    // Bracketed paste separates lines with CR: three codes, not one.
    let out = v
        .batch()
        .args(deposit("pasted", "alice"))
        .write_stdin(alice_then("AAAA-1111\rBBBB-2222\r\nCCCC-3333\r"))
        .output()
        .unwrap();
    expect_success(&out, "deposit of CR-separated codes");
    assert_eq!(v.remaining("pasted"), 3);
    assert_eq!(v.release_ok("pasted", AB), "AAAA-1111\n");
}
