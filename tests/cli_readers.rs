//! Auditors and a second responder read while officers work (issue 10 #4):
//! `list`, `status` and the ledger commands work while the console has the
//! vault, a second writer is refused with a message naming the holder, and
//! a reader never writes. Each test runs the real binary against a vault a
//! writer really holds: the console itself under a pseudo-terminal, or a
//! writer opened through the library in this process.

mod common;

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command as StdCommand, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use breakglass::secret::{Passphrase, SecretValue};
use breakglass::vault::Vault;
use common::*;

/// A 2-of-3 vault with three codes in `gh`.
fn vault() -> TestVault {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["GH-1", "GH-2", "GH-3"]);
    v
}

fn pass(officer: &str) -> Passphrase {
    Passphrase::new(passphrase_for(officer))
}

/// Every read-only command, each of which must succeed; returns the
/// ledger's lines (`ledger show --json`).
fn every_reader_succeeds(v: &TestVault) -> Vec<String> {
    let export = v.scratch.dir.path().join(format!(
        "export-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let runs: [&[&str]; 6] = [
        &["list"],
        &["status", "--json"],
        &["ledger", "show"],
        &["ledger", "verify"],
        &["alerts", "status"],
        &["ledger", "export", export.to_str().unwrap()],
    ];
    for args in runs {
        let out = v.cmd().args(args).output().unwrap();
        expect_success(&out, &args.join(" "));
    }
    v.ledger_lines()
}

/// The console on `v`, in a pseudo-terminal made by `script(1)`, and the
/// way to type into it. A thread plays the terminal: it answers the
/// console's cursor-position query, which no real terminal is there to do.
fn console(v: &TestVault) -> Option<(Child, Keys)> {
    if StdCommand::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: script(1) is not installed, so no pseudo-terminal for the console");
        return None;
    }
    let line = format!(
        "{} --vault '{}'",
        BIN,
        v.path.display().to_string().replace('\'', r"'\''")
    );
    let child = StdCommand::new("script")
        .args(["-qfec", &line, "/dev/null"])
        .env_remove("BREAKGLASS_VAULT")
        .env("TERM", "xterm")
        .env("COLUMNS", "100")
        .env("LINES", "30")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run script");
    let mut child = child;
    let keys: Keys = Arc::new(Mutex::new(child.stdin.take()));
    let mut screen = child.stdout.take().unwrap();
    let answer = keys.clone();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = screen.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            while let Some(at) = seen.windows(4).position(|w| w == b"\x1b[6n") {
                seen.drain(..at + 4);
                if let Some(k) = answer.lock().unwrap().as_mut() {
                    let _ = k.write_all(b"\x1b[1;1R");
                }
            }
            let keep = seen.len().saturating_sub(3);
            seen.drain(..keep);
        }
    });
    Some((child, keys))
}

type Keys = Arc<Mutex<Option<ChildStdin>>>;

/// Waits until the console has taken the writer lock: the `holder` file
/// names a live process (the earlier commands that wrote it have exited).
fn wait_for_console(v: &TestVault) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(h) = std::fs::read_to_string(v.path.join("holder")) {
            let pid = h.split(' ').nth(1).unwrap_or_default();
            if std::path::Path::new(&format!("/proc/{pid}")).exists() {
                return h;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the console never opened the vault"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn readers_work_while_the_console_is_open_and_a_second_writer_is_told_who_holds_it() {
    let v = vault();
    let before = v.ledger_lines();
    let Some((mut child, keys)) = console(&v) else {
        return;
    };
    let holder = wait_for_console(&v);
    assert!(
        holder.contains("/dev/pts/"),
        "the holder names its tty: {holder}"
    );
    // The console verifies the ledger at start, then lets go when idle.
    std::thread::sleep(Duration::from_secs(2));

    assert_eq!(
        every_reader_succeeds(&v),
        before,
        "a reader changed the ledger"
    );

    // A writer is refused at once, and told which process has the vault.
    let started = Instant::now();
    let out = v.deposit_codes("gh", "alice", &["GH-4"]);
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["in use", holder.trim()]);
    // It says what holds the vault, how to end it, and what still works.
    assert_mentions(
        &err,
        &[
            "a console: press q there",
            "`list`, `status`, `ledger` and a read-only console (`breakglass` with no command) still work beside it",
        ],
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a second writer waited for the console instead of being refused"
    );
    assert_eq!(v.ledger_lines(), before, "the refused writer wrote");

    // The console still works after the readers: it quits cleanly, and
    // then a writer gets the vault.
    keys.lock()
        .unwrap()
        .as_mut()
        .unwrap()
        .write_all(b"q")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the console did not quit on q");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    keys.lock().unwrap().take();
    v.deposit_codes_ok("gh", "alice", &["GH-4"]);
    assert_eq!(v.remaining("gh"), 4);
}

#[test]
fn a_writer_between_operations_lets_readers_in_and_sees_nothing_change() {
    let v = vault();
    let mut w = Vault::open(&v.path).unwrap();
    // What the console does when idle.
    w.suspend();
    let before = every_reader_succeeds(&v);

    // The writer's next operation opens the database again; its release
    // lands, and readers see it.
    let mut req = w.begin_release("gh", REASON).unwrap();
    w.suspend();
    every_reader_succeeds(&v);
    for o in ["alice", "bob"] {
        let kek = w
            .unlock_params(o, "release", Some("gh"))
            .unwrap()
            .derive(&pass(o))
            .unwrap();
        w.approve_derived(&mut req, o, &kek).unwrap();
        w.suspend();
        every_reader_succeeds(&v);
    }
    let released = w.complete_release(req).unwrap();
    assert_eq!(released.value.expose_secret(), "GH-1");
    w.suspend();
    let after = every_reader_succeeds(&v);
    assert_eq!(
        after.len(),
        before.len() + 1,
        "the release entry is visible"
    );
    assert!(after.last().unwrap().contains("\"kind\":\"release\""));
    assert_eq!(v.remaining("gh"), 2);
}

#[test]
fn a_reader_waits_for_an_operation_in_progress_then_names_the_process() {
    let v = vault();
    let w = Vault::open(&v.path).unwrap();
    // The writer keeps the database open (an operation in progress).
    w.status().unwrap();
    let started = Instant::now();
    let out = v.cmd().args(["--wait", "0.5", "list"]).output().unwrap();
    let err = expect_error(&out, 1);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "it did not wait"
    );
    assert_mentions(&err, &["in use", &format!("pid {}", std::process::id())]);

    // Once the writer lets go, the same reader gets in.
    w.suspend();
    let out = v.cmd().args(["--wait", "0.5", "list"]).output().unwrap();
    expect_success(&out, "list after the writer let go");
}

#[test]
fn a_vault_opened_for_reading_refuses_every_write() {
    let v = vault();
    let before = v.snapshot();
    let mut r = Vault::open_reader(&v.path).unwrap();
    let s = r.authenticate("alice", &pass("alice"), "deposit", None);
    // Authentication itself writes nothing it needs; the deposit is refused.
    if let Ok(s) = s {
        let e = r
            .deposit(
                &s,
                "gh",
                breakglass::records::SecretKind::Codes,
                None,
                &[SecretValue::new("X-1".to_string())],
            )
            .unwrap_err();
        assert!(e.to_string().contains("reading only"), "{e}");
    }
    drop(r);
    assert_eq!(v.snapshot(), before, "a reader wrote to the vault");
}

#[test]
fn wait_takes_seconds_and_refuses_nonsense() {
    let v = vault();
    for bad in ["-1", "x", "3601", "NaN"] {
        let out = v
            .cmd()
            .arg(format!("--wait={bad}"))
            .arg("list")
            .output()
            .unwrap();
        assert_mentions(&expect_error(&out, 2), &["--wait"]);
    }
}

/// A read-only bind mount of `dir`, unmounted on drop; `None` where this
/// process may not mount (not root, or a container without the right).
struct ReadOnlyMount(std::path::PathBuf);

impl ReadOnlyMount {
    fn of(dir: &std::path::Path, at: &std::path::Path) -> Option<ReadOnlyMount> {
        std::fs::create_dir_all(at).ok()?;
        let ok = |args: &[&str]| {
            StdCommand::new("mount")
                .args(args)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let (d, a) = (dir.to_str()?, at.to_str()?);
        if !ok(&["--bind", d, a]) {
            return None;
        }
        let m = ReadOnlyMount(at.to_owned());
        ok(&["-o", "remount,ro,bind", a]).then_some(m)
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = StdCommand::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_vault_on_a_read_only_file_system_says_so_and_changes_nothing() {
    let v = vault();
    let before = v.snapshot();
    let at = v.scratch.dir.path().join("ro");
    let Some(mount) = ReadOnlyMount::of(v.path.parent().unwrap(), &at) else {
        eprintln!("skipped: cannot make a read-only bind mount here");
        return;
    };
    let ro = at.join(v.path.file_name().unwrap());
    let deposit = bin()
        .arg("--vault")
        .arg(&ro)
        .args(["--batch", "deposit", "gh", "--officer", "alice"])
        .write_stdin(format!("{}\nGH-9\n", passphrase_for("alice")))
        .output()
        .unwrap();
    let release = bin()
        .arg("--vault")
        .arg(&ro)
        .args(["--batch", "release", "gh", "--reason", REASON])
        .args(["--officer", "alice", "--officer", "bob"])
        .write_stdin(lines(&[&passphrase_for("alice"), &passphrase_for("bob")]))
        .output()
        .unwrap();
    let list = bin().arg("--vault").arg(&ro).arg("list").output().unwrap();
    for out in [deposit, release, list] {
        let err = expect_error(&out, 1);
        assert_mentions(&err, &["read-only", "nothing was changed"]);
        assert!(out.stdout.is_empty(), "{}", describe(&out));
    }
    drop(mount);
    assert_eq!(v.snapshot(), before);
}
