//! Alerts (I17) through the real binary: every entry reaches the hook in
//! order, once per success; bad programs are refused at `alerts set`; a
//! failing, hanging or flooding hook neither delays a reveal nor loses an
//! event; a rollback after an alert fails `ledger verify --checkpoint`;
//! and the recipes of docs/OPERATIONS.md work against local listeners.

mod common;

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Writes an executable `#!/bin/sh` script.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    p
}

/// A hook that appends each event (one line) to `file`.
fn appender(dir: &Path, name: &str, file: &Path) -> PathBuf {
    script(dir, name, &format!("cat >> '{}'", file.display()))
}

fn set_hook(v: &TestVault, officer: &str, command: &[&str]) -> std::process::Output {
    v.batch()
        .args(["alerts", "set", "--officer", officer, "--"])
        .args(command)
        .write_stdin(format!("{}\n", passphrase_for(officer)))
        .output()
        .unwrap()
}

fn set_hook_ok(v: &TestVault, command: &[&str]) {
    expect_success(&set_hook(v, "alice", command), "alerts set");
}

fn events(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("an event is one JSON line"))
        .collect()
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

fn alert_status(v: &TestVault) -> Value {
    let out = v
        .cmd()
        .args(["alerts", "status", "--json"])
        .output()
        .unwrap();
    expect_success(&out, "alerts status --json");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn verify(v: &TestVault, extra: &[&str]) -> std::process::Output {
    v.cmd()
        .args(["ledger", "verify"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_release_reaches_the_hook_entry_by_entry_in_order() {
    let v = TestVault::two_of_three();
    let out_file = v.scratch.dir.path().join("events.jsonl");
    let hook = appender(v.scratch.dir.path(), "hook", &out_file);
    set_hook_ok(&v, &[hook.to_str().unwrap()]);
    v.deposit_codes_ok("gh", "bob", &["C0DE-1", "C0DE-2"]);
    v.release_ok("gh", &["alice", "bob"]);
    // A refusal and a wrong passphrase are entries too.
    v.release("gh", &["alice"]);
    let ledger = v.ledger_lines();
    let got = events(&out_file);
    let first = 1; // the alerts entry itself, after genesis
    assert_eq!(seqs(&got), (first..ledger.len() as u64).collect::<Vec<_>>());
    let st = v.status();
    for e in &got {
        let seq = e["seq"].as_u64().unwrap() as usize;
        assert_eq!(e["v"], 4, "the event format ALERTS.md documents");
        assert_eq!(e["auth_delays"], serde_json::json!({}), "entry {seq}");
        assert_eq!(e["entry"].as_str().unwrap(), ledger[seq], "entry {seq}");
        assert_eq!(e["vault"], st["vault_id"]);
        assert_eq!(e["fingerprint"], st["fingerprint"]);
        let cp = e["checkpoint"].as_str().unwrap();
        assert!(cp.contains(&format!("\n{}\n", seq + 1)), "{cp}");
        assert!(
            e["note"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{cp}\n\u{2014} "))
        );
        assert!(
            e["summary"]
                .as_str()
                .unwrap()
                .contains(&format!("entry {seq} "))
        );
        for secret in ["C0DE-1", "C0DE-2", &passphrase_for("alice")] {
            assert!(!e.to_string().contains(secret), "an event holds a secret");
        }
    }
    let kinds: Vec<&str> = got
        .iter()
        .map(|e| {
            let entry: Value = serde_json::from_str(e["entry"].as_str().unwrap()).unwrap();
            match entry["kind"].as_str().unwrap() {
                "alerts" => "alerts",
                "deposit" => "deposit",
                "release" => "release",
                "displayed" => "displayed",
                "refused" => "refused",
                other => panic!("unexpected {other}"),
            }
        })
        .collect();
    assert_eq!(
        kinds,
        ["alerts", "deposit", "release", "displayed", "refused"]
    );
    // Every delivered event is a checkpoint the ledger extends.
    let mut args = Vec::new();
    for (i, e) in got.iter().enumerate() {
        let p = v.scratch.dir.path().join(format!("event-{i}.json"));
        std::fs::write(&p, e.to_string()).unwrap();
        args.push("--checkpoint".to_string());
        args.push(p.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = verify(&v, &args);
    expect_success(&out, "verify --checkpoint");
    assert!(String::from_utf8_lossy(&out.stdout).contains("collected checkpoints: 5"));
    assert_eq!(alert_status(&v)["pending"], 0);
}

#[test]
fn bad_programs_are_refused_at_set_with_one_line() {
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path();
    let plain = dir.join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    let missing = dir.join("missing");
    let cases: [(&str, String, &[&str]); 4] = [
        (
            "a missing program",
            missing.display().to_string(),
            &["does not exist"],
        ),
        (
            "a file that is not executable",
            plain.display().to_string(),
            &["not executable"],
        ),
        (
            "a directory",
            dir.display().to_string(),
            &["not a regular file"],
        ),
        (
            "a name not in PATH",
            "no-such-hook-program-x".into(),
            &["not found in PATH"],
        ),
    ];
    let before = v.ledger_lines();
    for (what, program, needles) in cases {
        let out = set_hook(&v, "alice", &[&program]);
        let line = expect_error(&out, 2);
        assert_mentions(&line, needles);
        assert_eq!(v.ledger_lines(), before, "{what} reached the ledger");
    }
    // A wrong passphrase is logged like any other, and sets nothing.
    let hook = appender(dir, "hook", &dir.join("x"));
    let out = v
        .batch()
        .args(["alerts", "set", "--officer", "alice", "--"])
        .arg(&hook)
        .write_stdin("wrong-passphrase\n")
        .output()
        .unwrap();
    expect_error(&out, 1);
    assert!(alert_status(&v)["hook"].is_null());
}

/// A hook that fails in each way; the script is then fixed in place.
#[test]
fn failing_hooks_never_delay_a_reveal_and_lose_nothing() {
    let cases = [
        ("exits non-zero", "echo 'receiver down' >&2; exit 7"),
        ("hangs", "exec sleep 30"),
        ("floods stdout", "exec yes flood"),
        ("floods stderr", "exec yes flood >&2"),
    ];
    for (what, body) in cases {
        let v = TestVault::two_of_three();
        let dir = v.scratch.dir.path();
        let out_file = dir.join("events.jsonl");
        let hook = script(dir, "hook", body);
        set_hook_ok(&v, &[hook.to_str().unwrap()]);
        v.deposit_codes_ok("gh", "bob", &["C0DE-1", "C0DE-2"]);
        let start = Instant::now();
        let item = v.release_ok("gh", &["alice", "bob"]);
        let took = start.elapsed();
        assert_eq!(item.trim(), "C0DE-1");
        assert!(
            took < Duration::from_secs(4),
            "{what}: release took {took:?} with a broken hook"
        );
        let st = alert_status(&v);
        assert!(st["pending"].as_u64().unwrap() > 0, "{what}: {st}");
        assert!(st["last_error"].is_string(), "{what}: {st}");
        let status = v.cmd().arg("status").output().unwrap();
        assert!(
            String::from_utf8_lossy(&status.stdout).contains("ALERTS"),
            "{what}: status shows no warning"
        );
        expect_success(&verify(&v, &[]), "verify");
        if what == "exits non-zero" {
            assert!(st["last_error"].as_str().unwrap().contains("receiver down"));
        }
        // Fixed in place: retry delivers everything, once, in order.
        appender(dir, "hook", &out_file);
        let out = v.cmd().args(["alerts", "retry"]).output().unwrap();
        expect_success(&out, "alerts retry");
        let n = v.ledger_lines().len() as u64;
        assert_eq!(
            seqs(&events(&out_file)),
            (1..n).collect::<Vec<_>>(),
            "{what}"
        );
        assert_eq!(alert_status(&v)["pending"], 0);
        // Nothing is delivered twice.
        expect_success(
            &v.cmd().args(["alerts", "retry"]).output().unwrap(),
            "retry",
        );
        assert_eq!(seqs(&events(&out_file)), (1..n).collect::<Vec<_>>());
    }
}

#[test]
fn alert_failures_read_as_words_say_what_to_do_and_show_when_resolved() {
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path();
    let out_file = dir.join("events.jsonl");
    let hook = script(dir, "hook", "echo 'receiver down' >&2; exit 2");
    set_hook_ok(&v, &[hook.to_str().unwrap()]);
    v.deposit_codes_ok("gh", "bob", &["C0DE-1"]);
    let text = |v: &TestVault| {
        let out = v.cmd().args(["alerts", "status"]).output().unwrap();
        expect_success(&out, "alerts status");
        String::from_utf8(out.stdout).unwrap()
    };
    let s = text(&v);
    // Not the standard library's "exited with exit status: 2".
    assert!(
        s.contains("hook exited with status 2: receiver down"),
        "{s}"
    );
    assert!(!s.contains("exit status:"), "{s}");
    assert!(
        s.contains("fix the hook or its receiver, then `breakglass alerts retry`"),
        "{s}"
    );
    // A hook killed by a signal says so.
    script(dir, "hook", "kill -9 $$");
    let out = v.cmd().args(["alerts", "retry"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("hook was killed by signal 9"),
        "{}",
        describe(&out)
    );
    // Fixed: the error stays on record, marked resolved, and no warning.
    appender(dir, "hook", &out_file);
    expect_success(
        &v.cmd().args(["alerts", "retry"]).output().unwrap(),
        "retry",
    );
    let s = text(&v);
    let row = s.lines().find(|l| l.starts_with("last error")).expect(&s);
    assert!(row.ends_with("; resolved: delivered since)"), "{s}");
    assert!(!s.contains("WARNING"), "{s}");
}

/// The hook runs in a process group of its own, so the signals a terminal
/// sends its foreground group (Ctrl-C at the console) never reach it.
#[cfg(target_os = "linux")]
#[test]
fn the_hook_runs_in_its_own_process_group() {
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path();
    let seen = dir.join("groups");
    let hook = script(
        dir,
        "hook",
        &format!(
            "cat > /dev/null; echo \"$$ $(cut -d' ' -f5 /proc/$$/stat) $(cut -d' ' -f5 /proc/$PPID/stat)\" >> '{}'",
            seen.display()
        ),
    );
    set_hook_ok(&v, &[hook.to_str().unwrap()]);
    let text = std::fs::read_to_string(&seen).unwrap();
    let line: Vec<&str> = text.lines().last().unwrap().split_whitespace().collect();
    let [pid, group, parents] = line[..] else {
        panic!("{text}")
    };
    assert_eq!(pid, group, "the hook leads its own group: {text}");
    assert_ne!(group, parents, "the hook shares breakglass's group: {text}");
}

#[test]
fn changing_and_clearing_the_hook_is_alerted_through_the_old_hook_too() {
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path();
    let (a, b) = (dir.join("a.jsonl"), dir.join("b.jsonl"));
    let hook_a = appender(dir, "hook-a", &a);
    let hook_b = appender(dir, "hook-b", &b);
    set_hook_ok(&v, &[hook_a.to_str().unwrap()]);
    set_hook_ok(&v, &[hook_b.to_str().unwrap()]);
    assert_eq!(seqs(&events(&a)), [1, 2]);
    assert_eq!(seqs(&events(&b)), [2]);
    let out = v
        .batch()
        .args(["alerts", "clear", "--officer", "carol"])
        .write_stdin(format!("{}\n", passphrase_for("carol")))
        .output()
        .unwrap();
    expect_success(&out, "alerts clear");
    assert_eq!(seqs(&events(&b)), [2, 3]);
    v.deposit_codes_ok("gh", "bob", &["C0DE-1"]);
    assert_eq!(
        seqs(&events(&b)),
        [2, 3],
        "a cleared hook still gets events"
    );
    assert_eq!(alert_status(&v)["pending"], 0);
    expect_success(&verify(&v, &[]), "verify");
}

#[test]
fn the_hook_gets_no_shell_and_a_minimal_environment() {
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path();
    let env_file = dir.join("env.txt");
    let args_file = dir.join("args.txt");
    let hook = script(
        dir,
        "hook",
        "/usr/bin/env > \"$1\"; printf '%s\\n' \"$2\" > \"$3\"; cat > /dev/null",
    );
    let trap = dir.join("pwned");
    let nasty = format!("$(touch {}); `touch {}`", trap.display(), trap.display());
    let out = v
        .batch()
        .env("BREAKGLASS_CANARY", "do-not-leak")
        .args(["alerts", "set", "--officer", "alice", "--"])
        .arg(&hook)
        .arg(&env_file)
        .arg(&nasty)
        .arg(&args_file)
        .write_stdin(format!("{}\n", passphrase_for("alice")))
        .output()
        .unwrap();
    expect_success(&out, "alerts set");
    let env = std::fs::read_to_string(&env_file).unwrap();
    assert!(env.lines().any(|l| l == "PATH=/usr/bin:/bin"), "{env}");
    assert!(env.lines().any(|l| l == "LANG=C"), "{env}");
    for l in env.lines() {
        let k = l.split('=').next().unwrap();
        // The shell running the script may add its own (PWD, SHLVL, _).
        assert!(
            matches!(k, "PATH" | "LANG" | "PWD" | "SHLVL" | "_" | "OLDPWD"),
            "unexpected variable {l}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&args_file).unwrap().trim_end(),
        nasty
    );
    assert!(!trap.exists(), "an argument went through a shell");
}

#[test]
fn a_rollback_after_an_alert_fails_verify_checkpoint() {
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path();
    let out_file = dir.join("events.jsonl");
    let hook = appender(dir, "hook", &out_file);
    set_hook_ok(&v, &[hook.to_str().unwrap()]);
    v.deposit_codes_ok("gh", "bob", &["C0DE-1", "C0DE-2"]);
    let old = dir.join("old-copy");
    copy_dir(&v.path, &old);
    v.release_ok("gh", &["alice", "bob"]);
    let last = events(&out_file).pop().unwrap();
    let alert = dir.join("last-alert.json");
    std::fs::write(&alert, last.to_string()).unwrap();
    // The body with its .asc, and the signed note, are checkpoints too.
    let body = dir.join("checkpoint");
    std::fs::write(&body, last["checkpoint"].as_str().unwrap()).unwrap();
    std::fs::write(
        dir.join("checkpoint.asc"),
        last["checkpoint_sig"].as_str().unwrap(),
    )
    .unwrap();
    let note = dir.join("checkpoint.note");
    std::fs::write(&note, last["note"].as_str().unwrap()).unwrap();
    let forms = [&alert, &body, &note];
    for f in forms {
        expect_success(
            &verify(&v, &["--checkpoint", f.to_str().unwrap()]),
            "verify --checkpoint on the live vault",
        );
    }
    // A forged note does not pass.
    let forged = dir.join("forged.note");
    let size = last["seq"].as_u64().unwrap() + 1;
    let text = last["note"].as_str().unwrap().replacen(
        &format!("\n{size}\n"),
        &format!("\n{}\n", size - 1),
        1,
    );
    std::fs::write(&forged, text).unwrap();
    let line = expect_error(&verify(&v, &["--checkpoint", forged.to_str().unwrap()]), 3);
    assert_mentions(&line, &["forged.note"]);

    // Restore the older copy: every collected checkpoint names the rollback.
    std::fs::remove_dir_all(&v.path).unwrap();
    copy_dir(&old, &v.path);
    expect_success(&verify(&v, &[]), "the old copy verifies on its own");
    for f in forms {
        let line = expect_error(&verify(&v, &["--checkpoint", f.to_str().unwrap()]), 3);
        assert_mentions(
            &line,
            &[f.file_name().unwrap().to_str().unwrap(), "rolled back"],
        );
    }
    // The same on an export bundle, without a vault.
    let bundle = dir.join("bundle");
    expect_success(
        &v.cmd()
            .args(["ledger", "export"])
            .arg(&bundle)
            .output()
            .unwrap(),
        "export",
    );
    assert!(bundle.join("checkpoint.note").is_file());
    let out = bin()
        .args(["ledger", "verify", "--bundle"])
        .arg(&bundle)
        .arg("--checkpoint")
        .arg(&alert)
        .output()
        .unwrap();
    assert_mentions(&expect_error(&out, 3), &["last-alert.json", "rolled back"]);
    // The bundle's own note is a checkpoint the bundle satisfies.
    let out = bin()
        .args(["ledger", "verify", "--bundle"])
        .arg(&bundle)
        .arg("--checkpoint")
        .arg(bundle.join("checkpoint.note"))
        .output()
        .unwrap();
    expect_success(&out, "bundle with its own note");
}

/// The signed note checked by an independent Ed25519 implementation:
/// Python's `cryptography`, from the raw public key in the ledger cert.
#[test]
fn signed_notes_verify_with_python_cryptography() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: python3 with the cryptography package is not installed");
        return;
    }
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "bob", &["C0DE-1"]);
    let bundle = v.scratch.dir.path().join("bundle");
    expect_success(
        &v.cmd()
            .args(["ledger", "export"])
            .arg(&bundle)
            .output()
            .unwrap(),
        "export",
    );
    let cert = breakglass::pgp::PublicCert::from_bytes(
        &std::fs::read(bundle.join("ledger-cert.asc")).unwrap(),
    )
    .unwrap();
    let public = cert.verifier().unwrap().ed25519_public().unwrap();
    let program = r#"
import base64, hashlib, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
pub = bytes.fromhex(sys.argv[1])
note = open(sys.argv[2], encoding="utf-8").read()
text, sigs = note.rsplit("\n\n", 1)
text += "\n"
line = sigs.strip("\n")
assert line.startswith("\u2014 "), line
name, b64 = line[2:].split(" ")
assert text.startswith(name + "\n"), "key name is the origin"
blob = base64.b64decode(b64)
assert blob[:4] == hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4], "key hash"
Ed25519PublicKey.from_public_bytes(pub).verify(blob[4:], text.encode())
print("ok")
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(program)
        .arg(hex::encode(public))
        .arg(bundle.join("checkpoint.note"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
}

/// docs/OPERATIONS.md, "Alerts": syslog through `logger` to a local
/// socket, a webhook with `curl` to a local listener, mail through a
/// sendmail-compatible program, and a file on another mount.
#[test]
fn recipe_logger_to_a_local_syslog_socket() {
    if !Path::new("/usr/bin/logger").is_file() {
        eprintln!("skipped: /usr/bin/logger is not installed");
        return;
    }
    let v = TestVault::two_of_three();
    let sock = v.scratch.dir.path().join("log.sock");
    let listener = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let sock_arg = sock.display().to_string();
    set_hook_ok(
        &v,
        &[
            "/usr/bin/logger",
            "--socket",
            &sock_arg,
            "-t",
            "breakglass",
            "-p",
            "auth.alert",
            "--size",
            "65536",
        ],
    );
    let mut buf = vec![0u8; 70000];
    let n = listener.recv(&mut buf).unwrap();
    let msg = String::from_utf8_lossy(&buf[..n]);
    assert!(msg.contains("breakglass"), "{msg}");
    assert!(msg.contains("\"seq\":1"), "{msg}");
}

#[test]
fn recipe_webhook_with_curl_to_a_local_listener() {
    if !Path::new("/usr/bin/curl").is_file() {
        eprintln!("skipped: /usr/bin/curl is not installed");
        return;
    }
    let v = TestVault::two_of_three();
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/breakglass", server.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        // Two events: the alerts entry and a deposit. Bounded loop.
        for _ in 0..2 {
            let (stream, _) = server.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut r = std::io::BufReader::new(stream);
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                let l = line.trim_end().to_ascii_lowercase();
                if let Some(n) = l.strip_prefix("content-length:") {
                    len = n.trim().parse().unwrap();
                }
                if l.is_empty() {
                    break;
                }
            }
            let mut body = vec![0u8; len];
            r.read_exact(&mut body).unwrap();
            r.get_mut()
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .unwrap();
            bodies.push(String::from_utf8(body).unwrap());
        }
        bodies
    });
    set_hook_ok(
        &v,
        &[
            "/usr/bin/curl",
            "-sS",
            "--fail",
            "--max-time",
            "8",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
            &url,
        ],
    );
    v.deposit_codes_ok("gh", "bob", &["C0DE-1"]);
    let bodies = handle.join().unwrap();
    let seqs: Vec<u64> = bodies
        .iter()
        .map(|b| {
            serde_json::from_str::<Value>(b).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, [1, 2]);
    assert_eq!(alert_status(&v)["pending"], 0);
}

#[test]
fn recipe_mail_through_sendmail_and_a_file_on_another_mount() {
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path();
    let recipe =
        |name: &str, text: &str| script(dir, name, text.strip_prefix("#!/bin/sh\n").unwrap());
    // A stand-in for /usr/sbin/sendmail: keeps the message it is given.
    let outbox = dir.join("outbox");
    let sendmail = script(dir, "sendmail", &format!("cat >> '{}'", outbox.display()));
    let mail = recipe(
        "alert-mail.sh",
        include_str!("../docs/recipes/alert-mail.sh"),
    );
    set_hook_ok(
        &v,
        &[
            mail.to_str().unwrap(),
            "security@example.org",
            sendmail.to_str().unwrap(),
        ],
    );
    let mailbox = std::fs::read_to_string(&outbox).unwrap();
    assert!(
        mailbox.starts_with("To: security@example.org\n"),
        "{mailbox}"
    );
    assert!(
        mailbox.contains("Subject: breakglass alert: ledger entry 1\n"),
        "{mailbox}"
    );
    assert!(mailbox.contains("\"seq\":1"), "{mailbox}");

    if !Path::new("/usr/bin/python3").is_file() {
        eprintln!("SKIPPED the file recipe: it runs /usr/bin/python3, which is absent");
        return;
    }
    let mount = dir.join("other-mount");
    std::fs::create_dir(&mount).unwrap();
    let target = mount.join("breakglass-alerts.jsonl");
    let file = recipe(
        "alert-file.sh",
        include_str!("../docs/recipes/alert-file.sh"),
    );
    // The file recipe runs the reference receiver installed beside it.
    std::fs::write(
        dir.join("alert-receiver.py"),
        include_str!("../docs/recipes/alert-receiver.py"),
    )
    .unwrap();
    set_hook_ok(&v, &[file.to_str().unwrap(), target.to_str().unwrap()]);
    v.deposit_codes_ok("gh", "bob", &["C0DE-1"]);
    assert_eq!(seqs(&events(&target)), [2, 3]);
    assert_eq!(alert_status(&v)["pending"], 0);
}

/// A full disk while queuing: the alert table write fails inside the
/// release transaction, so the release fails before anything is shown,
/// and nothing is consumed or queued.
#[test]
fn a_failed_queue_write_fails_the_release_before_anything_is_shown() {
    use breakglass::error::FaultPoint;
    use breakglass::{Passphrase, Vault};
    let v = TestVault::two_of_three();
    let dir = v.scratch.dir.path();
    let hook = appender(dir, "hook", &dir.join("events.jsonl"));
    set_hook_ok(&v, &[hook.to_str().unwrap()]);
    v.deposit_codes_ok("gh", "bob", &["C0DE-1"]);
    let before = v.ledger_lines();
    let mut vault = Vault::open(&v.path).unwrap();
    let mut req = vault.begin_release("gh", REASON).unwrap();
    for o in ["alice", "bob"] {
        vault
            .approve(&mut req, o, &Passphrase::new(passphrase_for(o)))
            .unwrap();
    }
    vault.inject_fault(Some(FaultPoint::AlertQueue));
    let err = vault.complete_release(req).unwrap_err();
    assert!(err.to_string().contains("AlertQueue"), "{err}");
    vault.inject_fault(None);
    drop(vault);
    assert_eq!(v.remaining("gh"), 1, "the item was consumed");
    let after = v.ledger_lines();
    assert!(after.starts_with(&before));
    expect_success(&verify(&v, &[]), "verify");
    assert_eq!(v.release_ok("gh", &["alice", "bob"]).trim(), "C0DE-1");
}
