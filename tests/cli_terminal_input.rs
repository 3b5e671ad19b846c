//! Passphrases typed at a terminal (issue 10, input limits): the real
//! binary on a pseudo-terminal made by `script(1)`, which copies the
//! test's stdin to it. The line is read from `/dev/tty` with echo off into
//! a buffer bounded by the limit (`src/harden/tty.rs`); a longer line is
//! refused without being held whole. Skipped, with a note, where `script`
//! is missing.
#![cfg(target_os = "linux")]

mod common;

use std::process::Output;

use common::*;

/// `breakglass --vault V ARGS` on a terminal, with `typed` as its input.
fn on_terminal(v: &TestVault, args: &str, typed: String) -> Option<Output> {
    let cmd = format!("{BIN} --vault '{}' {args}", v.path.display());
    let out = assert_cmd::Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env_remove("BREAKGLASS_VAULT")
        .timeout(COMMAND_TIMEOUT)
        .write_stdin(typed)
        .output();
    match out {
        Ok(o) => Some(o),
        Err(e) => {
            eprintln!("skipped: cannot run script(1): {e}");
            None
        }
    }
}

#[test]
fn a_passphrase_typed_at_the_terminal_unlocks_the_share() {
    let v = TestVault::two_of_three();
    let Some(out) = on_terminal(
        &v,
        "drill --officer alice",
        lines(&[&passphrase_for("alice")]),
    ) else {
        return;
    };
    expect_success(&out, "drill on a terminal");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Passphrase for alice: "),
        "{}",
        describe(&out)
    );
    assert!(text.contains("drill logged"), "{}", describe(&out));
}

#[test]
fn a_passphrase_line_over_the_limit_is_refused_and_nothing_is_logged() {
    let v = TestVault::two_of_three();
    let before = v.ledger_lines();
    // Over the 1 KiB limit, under the terminal's own 4 KiB line.
    let Some(out) = on_terminal(
        &v,
        "drill --officer alice",
        format!("{}\n", "x".repeat(2000)),
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("breakglass: the passphrase for alice is longer than 1024 bytes, the limit"),
        "{}",
        describe(&out)
    );
    assert_eq!(v.ledger_lines(), before, "a refused line was logged");
}

/// `script` running `shell` on a pseudo-terminal: waits until its output
/// shows `prompt`, then types `keys`, and returns everything it printed
/// once it ends. `None` where `script` cannot run.
fn type_at_prompt(shell: &str, prompt: &str, keys: &[u8]) -> Option<String> {
    converse(shell, &[(prompt, keys)])
}

/// [`type_at_prompt`] for a conversation: for each step, waits until the
/// output shows its prompt (counted from the end of the previous one),
/// then types its keys.
fn converse(shell: &str, steps: &[(&str, &[u8])]) -> Option<String> {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    let mut child = match std::process::Command::new("script")
        .args(["-q", "-e", "-c", shell, "/dev/null"])
        .env_remove("BREAKGLASS_VAULT")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipped: cannot run script(1): {e}");
            return None;
        }
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut out = child.stdout.take().expect("piped");
    let reader = {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let text = |seen: &Mutex<Vec<u8>>| String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let mut stdin = child.stdin.take().expect("piped");
    let mut from = 0;
    for (prompt, keys) in steps {
        loop {
            let t = text(&seen);
            if let Some(i) = t.get(from..).and_then(|rest| rest.find(prompt)) {
                from += i + prompt.len();
                break;
            }
            assert!(Instant::now() < deadline, "no prompt {prompt:?}: {t}");
            std::thread::sleep(Duration::from_millis(20));
        }
        stdin.write_all(keys).expect("type");
        stdin.flush().expect("type");
    }
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "still running: {}", text(&seen));
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    reader.join().expect("reader");
    Some(text(&seen))
}

/// The terminal's local flags as `stty -a` printed them last in `out`.
fn echo_flag(out: &str) -> &'static str {
    let tokens: Vec<&str> = out.split_whitespace().collect();
    match tokens
        .iter()
        .rev()
        .find(|t| **t == "echo" || **t == "-echo")
    {
        Some(&"echo") => "echo",
        Some(_) => "-echo",
        None => panic!("no stty output: {out}"),
    }
}

/// Ctrl-C at a hidden prompt ends the command as Ctrl-C does, and leaves
/// the terminal echoing what is typed next, as it was before the prompt
/// (it used to be left with echo off). Nothing is logged.
#[test]
fn ctrl_c_at_the_prompt_ends_the_command_and_leaves_echo_on() {
    let v = TestVault::two_of_three();
    let before = v.ledger_lines();
    // The shell waits for the command, then runs its trap: `stty -a`
    // shows the terminal as the command left it.
    let shell = format!(
        "trap 'stty -a; exit 130' INT; {BIN} --vault '{}' drill --officer alice; echo returned; stty -a",
        v.path.display()
    );
    let Some(out) = type_at_prompt(&shell, "Passphrase for alice: ", b"\x03") else {
        return;
    };
    assert!(
        !out.contains("returned"),
        "Ctrl-C did not end the command: {out}"
    );
    assert_eq!(
        echo_flag(&out),
        "echo",
        "the terminal was left with echo off: {out}"
    );
    assert_eq!(
        v.ledger_lines(),
        before,
        "an interrupted prompt logged something"
    );
}

/// Ctrl-C at a prompt ends the command by SIGINT, so the shell sees exit
/// status 130 (128 + 2), as README's table of exit codes says.
#[test]
fn ctrl_c_at_the_prompt_is_exit_status_130() {
    let v = TestVault::two_of_three();
    // A trap that returns keeps the shell going after the command ends;
    // the command itself gets the default disposition.
    let shell = format!(
        "trap 'echo trapped' INT; {BIN} --vault '{}' drill --officer alice; echo status=$?",
        v.path.display()
    );
    let Some(out) = type_at_prompt(&shell, "Passphrase for alice: ", b"\x03") else {
        return;
    };
    assert!(out.contains("status=130"), "{out}");
}

/// The same for a `kill` (SIGTERM) from elsewhere while the prompt waits
/// (sent once the terminal shows echo off, so the prompt is up).
#[test]
fn a_kill_at_the_prompt_leaves_echo_on() {
    let v = TestVault::two_of_three();
    let before = v.ledger_lines();
    let shell = format!(
        "{BIN} --vault '{}' drill --officer alice & pid=$!; \
         until stty -a | grep -q -- ' -echo '; do sleep 0.1; done; \
         kill -TERM $pid; wait $pid; echo status=$?; stty -a",
        v.path.display()
    );
    let Some(out) = type_at_prompt(&shell, "status=", b"") else {
        return;
    };
    assert!(out.contains("status=143"), "not ended by SIGTERM: {out}");
    assert_eq!(
        echo_flag(&out),
        "echo",
        "the terminal was left with echo off: {out}"
    );
    assert_eq!(v.ledger_lines(), before);
}

/// A signal the caller ignores stays ignored at the prompt: under `trap ''
/// HUP` (what `nohup` does) a hang-up signal does not end the prompt, and
/// the passphrase typed after it is read.
#[test]
fn an_ignored_hangup_does_not_end_the_prompt() {
    let v = TestVault::two_of_three();
    let shell = format!(
        "trap '' HUP; {BIN} --vault '{}' drill --officer alice & pid=$!; \
         until stty -a | grep -q -- ' -echo '; do sleep 0.1; done; \
         kill -HUP $pid; echo hup-sent; wait $pid; echo status=$?",
        v.path.display()
    );
    let typed = format!("{}\n", passphrase_for("alice"));
    let Some(out) = type_at_prompt(&shell, "hup-sent", typed.as_bytes()) else {
        return;
    };
    assert!(out.contains("drill logged"), "{out}");
    assert!(out.contains("status=0"), "{out}");
}

/// A paste of codes with a blank line inside is read whole, the blank line
/// skipped, and the count confirmed before anything is deposited (it used
/// to end at the blank line, 1 code deposited, the rest of the paste left
/// for the shell and its history).
#[test]
fn a_pasted_list_with_a_blank_line_is_deposited_whole_after_its_count_is_confirmed() {
    let v = TestVault::two_of_three();
    let shell = format!(
        "{BIN} --vault '{}' deposit gh --officer alice; echo status=$?",
        v.path.display()
    );
    let pass = format!("{}\n", passphrase_for("alice"));
    let Some(out) = converse(
        &shell,
        &[
            ("Passphrase for alice: ", pass.as_bytes()),
            ("Code 1: ", b"PASTE-1\n\nPASTE-2\nPASTE-3\n"),
            ("Code 4: ", b"\n"),
            ("Deposit 3 codes? [y/N] ", b"y\n"),
        ],
    ) else {
        return;
    };
    assert!(out.contains("Deposited 3 codes into gh"), "{out}");
    assert!(out.contains("status=0"), "{out}");
    // Each prompt on its own line: the paste's newlines are not echoed
    // all at once ahead of the prompts they answer. (The blank line inside
    // the paste is skipped, so code 2 is asked for again.)
    assert!(
        out.contains("Code 1: \r\nCode 2: \r\nCode 2: \r\nCode 3: \r\nCode 4: \r\n"),
        "{out:?}"
    );
    assert_eq!(v.remaining("gh"), 3);
    for code in ["PASTE-1", "PASTE-2", "PASTE-3"] {
        assert!(!out.contains(code), "a code was echoed: {out}");
    }
}

/// Anything not answered stays unsaid: "n" deposits nothing.
#[test]
fn a_deposit_not_confirmed_deposits_nothing() {
    let v = TestVault::two_of_three();
    let before = v.ledger_lines();
    let shell = format!(
        "{BIN} --vault '{}' deposit gh --officer alice; echo status=$?",
        v.path.display()
    );
    let pass = format!("{}\n", passphrase_for("alice"));
    let Some(out) = converse(
        &shell,
        &[
            ("Passphrase for alice: ", pass.as_bytes()),
            ("Code 1: ", b"ONE-1\n"),
            ("Code 2: ", b"\n"),
            ("Deposit 1 code? [y/N] ", b"n\n"),
        ],
    ) else {
        return;
    };
    assert!(
        out.contains("deposit not confirmed: nothing was deposited"),
        "{out}"
    );
    assert!(out.contains("status=1"), "{out}");
    assert_eq!(v.ledger_lines().len(), before.len());
}

/// What was typed ahead and not read is dropped at exit, on an error path
/// too, so it never reaches the shell (or its history).
#[test]
fn unread_terminal_input_is_dropped_at_exit_even_after_an_error() {
    let v = TestVault::two_of_three();
    // The shell reads one line after breakglass ends: what is left of the
    // typing would be it.
    let shell = format!(
        "{BIN} --vault '{}' deposit gh --officer alice; echo status=$?; timeout --foreground 1 head -n 1; echo end-of-leftovers",
        v.path.display()
    );
    let pass = format!("{}\n", passphrase_for("alice"));
    // A code with a tab in it ends the deposit at once (exit 2), with the
    // next pasted line still queued.
    let Some(out) = converse(
        &shell,
        &[
            ("Passphrase for alice: ", pass.as_bytes()),
            ("Code 1: ", b"BAD\tCODE\nrm -rf LEFTOVER-COMMAND\n"),
        ],
    ) else {
        return;
    };
    assert!(out.contains("status=2"), "{out}");
    assert!(out.contains("end-of-leftovers"), "{out}");
    assert!(
        !out.contains("LEFTOVER-COMMAND"),
        "the typed-ahead line reached the shell: {out}"
    );
}

/// A console opened while another process writes to the vault (round two,
/// 7) opens read-only instead of refusing: it says who writes, refuses a
/// release there, and quits with nothing written.
#[test]
fn a_second_console_beside_a_writer_opens_read_only() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["RO-CODE-1"]);
    let before = v.ledger_lines();
    // The writer: this test process holds the writer lock, and lets go of
    // the database as an idle console does.
    let writer = breakglass::Vault::open(&v.path).unwrap();
    writer.let_go();
    // The terminal script(1) makes has no size until given one, and the
    // console asks where its cursor is (answered as a terminal would).
    let shell = format!(
        "stty rows 24 cols 80; {BIN} --vault '{}'; echo status=$?",
        v.path.display()
    );
    let Some(out) = converse(
        &shell,
        &[
            ("\x1b[6n", b"\x1b[1;1R"),
            ("READ-ONLY", b"r"),
            ("Read-only console", b"q"),
            ("\x1b[6n", b"\x1b[1;1R"),
            ("status=", b""),
        ],
    ) else {
        return;
    };
    assert!(out.contains("status=0"), "{out}");
    assert!(!out.contains("vault is in use"), "{out}");
    drop(writer);
    assert_eq!(v.ledger_lines(), before, "the read-only console wrote");
}

/// `ledger show` on an 80-column terminal (round two, the tour walked
/// again): an entry too wide gives its details on indented lines below,
/// cut at words, never mid-word by the terminal; piped, one line each.
#[test]
fn ledger_show_on_a_narrow_terminal_wraps_details_at_words() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("github/admin", "alice", &["NARROW-1"]);
    v.release_ok("github/admin", &["alice", "bob"]);
    let shell = format!(
        "stty rows 24 cols 80; {BIN} --vault '{}' ledger show; echo status=$?",
        v.path.display()
    );
    let Some(out) = converse(&shell, &[("status=", b"")]) else {
        return;
    };
    assert!(out.contains("status=0"), "{out}");
    let lines: Vec<&str> = out.lines().map(|l| l.trim_end_matches('\r')).collect();
    for l in &lines {
        assert!(
            l.chars().count() <= 80,
            "wider than the terminal: {l:?}\n{out}"
        );
    }
    let release = lines
        .iter()
        .position(|l| l.contains("  release  "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(lines[release].trim_end().ends_with("alice+bob"), "{out}");
    assert!(
        lines[release + 1].starts_with("        github/admin #1 reason \"IdP outage, INC-4242\""),
        "{out}"
    );
    // Piped, every entry is one line, as scripts read it.
    let piped = v.cmd().args(["ledger", "show"]).output().unwrap();
    let text = String::from_utf8(piped.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("release") && l.contains("IdP outage")),
        "{text}"
    );
}

/// A report on a terminal is wrapped at words to its width, the lines after
/// the first indented, and says the same as in a pipe, where each stays
/// one line for scripts.
#[test]
fn reports_on_a_terminal_wrap_at_words_to_its_width() {
    let v = TestVault::two_of_three();
    let dest = v
        .scratch
        .dir
        .path()
        .join("a-backup-directory-with-a-long-name");
    let shell = format!(
        "stty rows 24 cols 60; {BIN} --vault '{}' backup '{}'; echo status=$?",
        v.path.display(),
        dest.display()
    );
    let Some(out) = converse(&shell, &[("status=", b"")]) else {
        return;
    };
    assert!(out.contains("status=0"), "{out}");
    let report: Vec<&str> = out
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .take_while(|l| !l.starts_with("status="))
        .collect();
    assert!(report.len() > 1, "{out}");
    for l in &report {
        assert!(
            l.chars().count() <= 60,
            "wider than the terminal: {l:?}\n{out}"
        );
    }
    assert!(report[1..].iter().all(|l| l.starts_with("  ")), "{out}");
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    // A path longer than a line is cut where it must be; the words are
    // all there, in order.
    assert!(words(&report.join(" ")).starts_with("Backed up "), "{out}");
    assert!(
        words(&report.join(" ")).ends_with("the last is the backup entry)."),
        "{out}"
    );
}

/// Wrapping keeps a report's own line breaks and indentation (init's
/// fingerprint lines), and never touches JSON: `deposit --json` on a
/// narrow terminal is still JSON.
#[test]
fn wrapping_keeps_line_breaks_and_leaves_json_whole() {
    let s = Scratch::new();
    let pass: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|o| passphrase_for(o))
        .collect();
    let shell = format!(
        "stty rows 24 cols 80; printf '{}\\n{}\\n{}\\n' | {BIN} --vault '{}' --batch init \
         --threshold 2 --officer alice --officer bob --officer carol \
         --kdf-memory-mib 8 --kdf-iterations 1; echo status=$?",
        pass[0],
        pass[1],
        pass[2],
        s.path.display()
    );
    let Some(out) = converse(&shell, &[("status=", b"")]) else {
        return;
    };
    assert!(out.contains("status=0"), "{out}");
    let lines: Vec<&str> = out.lines().map(|l| l.trim_end_matches('\r')).collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("you trust. With it,"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        lines[at + 1].starts_with("  breakglass ledger verify --pin"),
        "{out}"
    );
    for l in &lines {
        assert!(l.chars().count() <= 80, "{l:?}\n{out}");
    }

    let shell = format!(
        "stty rows 24 cols 40; printf '{}\\nC-1\\n' | {BIN} --vault '{}' --batch deposit \
         some/rather-long-secret-name-here --officer alice --json; echo status=$?",
        pass[0],
        s.path.display()
    );
    let Some(out) = converse(&shell, &[("status=", b"")]) else {
        return;
    };
    let text = out.replace('\r', "");
    let json = &text[text.find('{').unwrap()..=text.rfind('}').unwrap()];
    let v: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    assert_eq!(v["secret"], "some/rather-long-secret-name-here");
}
