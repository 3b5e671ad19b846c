//! The vault directory is hostile (I21, issue 16 points 4, 5 and 7). Each
//! test performs the attack of someone who can write the vault directory
//! (or the directory a command writes into) on a real vault through the
//! real binary: symlinks planted where breakglass writes, the writer lock's
//! file deleted or the directory replaced while a writer waits at a prompt,
//! stdout pointed at a device that swallows what it is given.
#![cfg(target_os = "linux")]

mod common;

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// What the operator keeps outside the vault, which the attacker points
/// symlinks at.
const OPERATOR_FILE: &str = "operator data: must stay as it is\n";

/// A vault with codes in `gh`, and the operator's file beside it.
fn vault() -> (TestVault, PathBuf) {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["GH-1", "GH-2", "GH-3", "GH-4"]);
    let outside = v.scratch.dir.path().join("operator-file");
    std::fs::write(&outside, OPERATOR_FILE).unwrap();
    (v, outside)
}

/// The last pid the kernel handed out (threads take pids too).
fn last_pid() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Plants `.holder.<pid>` and `.opener.<pid>` symlinks to `target` in
/// `dir` for the next few thousand pids, and makes `holder`, `opener` and
/// `writer` themselves symlinks to it: the names the notes and the lock
/// were written through.
fn plant_note_symlinks(dir: &Path, target: &Path) {
    let from = last_pid() + 1;
    for pid in from..from + 3000 {
        for name in ["holder", "opener"] {
            let _ = symlink(target, dir.join(format!(".{name}.{pid}")));
        }
    }
    for name in ["holder", "opener", "writer"] {
        let p = dir.join(name);
        let _ = std::fs::remove_file(&p);
        symlink(target, &p).unwrap();
    }
}

/// Asserts the operator's file is exactly as it was made.
fn assert_untouched(outside: &Path, what: &str) {
    let now = std::fs::read_to_string(outside).unwrap_or_else(|e| format!("<{e}>"));
    assert_eq!(
        now, OPERATOR_FILE,
        "{what} wrote through a planted symlink into the operator's file"
    );
}

/// One command of a test, run by a loop.
type Run<'a> = dyn Fn() -> std::process::Output + 'a;

#[test]
fn planted_symlinks_for_the_lock_notes_never_redirect_a_write() {
    let (v, outside) = vault();
    let backup = v.scratch.dir.path().join("backup");
    let commands: Vec<(&str, Box<Run>)> = vec![
        (
            "deposit",
            Box::new(|| v.deposit_codes("gh", "alice", &["GH-5"])),
        ),
        ("release", Box::new(|| v.release(GH, AB))),
        (
            "drill",
            Box::new(|| {
                v.batch()
                    .args(["drill", "--officer", "carol"])
                    .write_stdin(lines(&[&passphrase_for("carol")]))
                    .output()
                    .unwrap()
            }),
        ),
        (
            "list (a reader)",
            Box::new(|| v.cmd().arg("list").output().unwrap()),
        ),
        (
            "backup",
            Box::new(|| v.cmd().arg("backup").arg(&backup).output().unwrap()),
        ),
    ];
    for (what, run) in commands {
        plant_note_symlinks(&v.path, &outside);
        let out = run();
        expect_success(&out, what);
        assert_untouched(&outside, what);
    }
    // The notes are files of their own again, not the planted links.
    for name in ["holder", "opener"] {
        let meta = std::fs::symlink_metadata(v.path.join(name)).unwrap();
        assert!(meta.is_file(), "{name} is left a symlink ({meta:?})");
    }
    assert_eq!(v.remaining("gh"), 4, "one deposited, one released");
}

const GH: &str = "gh";
const AB: &[&str] = &["alice", "bob"];

/// A `--state FILE`, an export directory or a backup destination with a
/// symlink planted at a name the command writes: one row per write path.
struct PlantedRow {
    what: &'static str,
    /// The names planted, relative to the scratch directory.
    plant: &'static [&'static str],
    args: fn(&Path) -> Vec<String>,
    /// Whether the command still succeeds (the planted name is not one it
    /// needs), or is refused with this fragment.
    refused_with: Option<&'static str>,
}

fn scratch_arg(scratch: &Path, rel: &str) -> String {
    scratch.join(rel).to_string_lossy().into_owned()
}

#[test]
fn no_write_path_follows_a_planted_symlink() {
    let rows = [
        PlantedRow {
            what: "ledger verify --state: its temporary file planted",
            plant: &[".state.json.tmp"],
            args: |s| {
                vec![
                    "ledger".into(),
                    "verify".into(),
                    "--state".into(),
                    scratch_arg(s, "state.json"),
                ]
            },
            refused_with: None,
        },
        PlantedRow {
            what: "ledger verify --state: the state file itself a symlink",
            plant: &["state.json"],
            args: |s| {
                vec![
                    "ledger".into(),
                    "verify".into(),
                    "--state".into(),
                    scratch_arg(s, "state.json"),
                ]
            },
            refused_with: Some("symbolic link"),
        },
        PlantedRow {
            what: "ledger export: entries.jsonl planted in the directory",
            plant: &["bundle/entries.jsonl"],
            args: |s| vec!["ledger".into(), "export".into(), scratch_arg(s, "bundle")],
            refused_with: Some("not empty"),
        },
        PlantedRow {
            what: "ledger export: the officers directory planted",
            plant: &["bundle/officers"],
            args: |s| vec!["ledger".into(), "export".into(), scratch_arg(s, "bundle")],
            refused_with: Some("not empty"),
        },
        PlantedRow {
            what: "backup: a sled file planted in the destination",
            plant: &["copy/db"],
            args: |s| vec!["backup".into(), scratch_arg(s, "copy")],
            refused_with: Some("already exists"),
        },
    ];
    for row in rows {
        let (v, outside) = vault();
        let scratch = v.scratch.dir.path();
        for p in row.plant {
            let at = scratch.join(p);
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            symlink(&outside, &at).unwrap();
        }
        let out = v.cmd().args((row.args)(scratch)).output().unwrap();
        match row.refused_with {
            None => expect_success(&out, row.what),
            Some(says) => {
                let err = one_line_error(&out);
                assert!(!out.status.success(), "{}: {}", row.what, describe(&out));
                assert_mentions(&err, &[says]);
            }
        }
        assert_untouched(&outside, row.what);
    }
}

/// A command started in the background, killed if the test ends early.
struct Background(Option<Child>);

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `release gh --batch` by alice and bob, as a process to spawn.
fn release_by_alice_and_bob(v: &TestVault) -> std::process::Command {
    let mut c = std::process::Command::new(BIN);
    c.env_remove("BREAKGLASS_VAULT")
        .env_remove("BREAKGLASS_WAIT")
        .arg("--vault")
        .arg(&v.path)
        .args([
            "--batch",
            "release",
            GH,
            "--reason",
            REASON,
            "--officer",
            "alice",
            "--officer",
            "bob",
        ]);
    c
}

/// Starts `release gh` by alice and bob in batch mode with stdin held
/// open, and waits until it has taken the writer lock (the `holder` note
/// names it) and asks for the first passphrase.
fn release_waiting_for_passphrases(v: &TestVault) -> Background {
    let child = release_by_alice_and_bob(v)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let me = format!("pid {}", child.id());
    let child = Background(Some(child));
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    loop {
        let holder = std::fs::read_to_string(v.path.join("holder")).unwrap_or_default();
        // The reader gets in once the writer let go of sled at the prompt.
        if holder.starts_with(&me)
            && v.cmd()
                .args(["--wait", "0", "list"])
                .output()
                .unwrap()
                .status
                .success()
        {
            return child;
        }
        assert!(
            Instant::now() < deadline,
            "the release never took the writer lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Gives the waiting release its passphrases and returns its output.
fn finish(mut first: Background) -> std::process::Output {
    let mut child = first.0.take().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for o in AB {
        // A writer that stopped before its prompt (its directory was
        // replaced) has closed stdin: its output says why.
        if writeln!(stdin, "{}", passphrase_for(o)).is_err() {
            break;
        }
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn deleting_the_lock_files_does_not_admit_a_second_writer() {
    let (v, _) = vault();
    let first = release_waiting_for_passphrases(&v);
    for name in ["writer", "holder", "opener"] {
        let _ = std::fs::remove_file(v.path.join(name));
    }
    let second = v.deposit_codes("gh", "alice", &["GH-5"]);
    let err = expect_error(&second, 1);
    assert_mentions(&err, &["vault is in use"]);
    let out = finish(first);
    expect_success(&out, "the first writer's release");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "GH-1\n");
    assert_eq!(v.remaining("gh"), 3, "one released, nothing deposited");
}

#[test]
fn a_vault_directory_replaced_under_a_writer_stops_that_writer() {
    let (v, _) = vault();
    let first = release_waiting_for_passphrases(&v);
    // The same files, moved into a new directory at the vault's path: the
    // directory the first writer locked is no longer the vault.
    let old = v.scratch.dir.path().join("moved-away");
    std::fs::rename(&v.path, &old).unwrap();
    std::fs::create_dir(&v.path).unwrap();
    for e in std::fs::read_dir(&old).unwrap() {
        let e = e.unwrap();
        std::fs::rename(e.path(), v.path.join(e.file_name())).unwrap();
    }
    // A second writer locks the new directory and deposits.
    v.deposit_codes_ok("gh", "alice", &["GH-5"]);
    // The first writer notices before it writes anything.
    let out = finish(first);
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["no longer the directory", "nothing"]);
    assert!(out.stdout.is_empty(), "{}", describe(&out));
    assert_eq!(v.remaining("gh"), 5, "nothing released, one deposited");
}

/// `release gh --batch` with stdout opened on `device`.
fn release_into(v: &TestVault, device: &str) -> std::process::Output {
    let out = std::fs::OpenOptions::new()
        .write(true)
        .open(device)
        .unwrap();
    let mut child = release_by_alice_and_bob(v)
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let pws: Vec<String> = AB.iter().map(|o| passphrase_for(o)).collect();
    let _ = stdin.write_all(lines(&pws.iter().map(String::as_str).collect::<Vec<_>>()).as_bytes());
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn a_code_is_never_released_into_a_device_that_is_not_a_terminal() {
    let (v, _) = vault();
    for device in ["/dev/zero", "/dev/full"] {
        let before = v.ledger_lines();
        let out = release_into(&v, device);
        let err = expect_error(&out, 2);
        assert_mentions(
            &err,
            &[
                "character device",
                device,
                "not a terminal",
                "nothing was released",
            ],
        );
        assert_eq!(v.remaining("gh"), 4, "{device} consumed a code");
        let after = v.ledger_lines();
        assert!(after.starts_with(&before), "{device}: history changed");
        let added: Vec<serde_json::Value> = after[before.len()..]
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(added.len(), 1, "{device}: {added:?}");
        assert_eq!(added[0]["kind"], "refused", "{device}: {added:?}");
        assert_eq!(added[0]["secret"], "gh");
    }
}

#[test]
fn a_sled_file_replaced_by_a_symlink_is_refused_before_sled_opens_it() {
    let (v, _) = vault();
    // The attacker moves sled's configuration out and links it back: sled
    // would open (and write) whatever the link points at.
    let moved = v.scratch.dir.path().join("conf-elsewhere");
    std::fs::rename(v.path.join("conf"), &moved).unwrap();
    symlink(&moved, v.path.join("conf")).unwrap();
    let before = std::fs::read(&moved).unwrap();
    for (what, out) in [
        ("list", v.cmd().arg("list").output().unwrap()),
        ("deposit", v.deposit_codes("gh", "alice", &["GH-5"])),
    ] {
        let err = expect_error(&out, 1);
        assert_mentions(
            &err,
            &["conf is a symbolic link", "planted", "Nothing was opened"],
        );
        assert_eq!(
            std::fs::read(&moved).unwrap(),
            before,
            "{what} wrote through the link"
        );
    }
}
