//! `breakglass doctor`: a read-only check of the console an officer runs
//! before an incident. Each line is OK, WARN or FAIL with what to do; the
//! exit code is 0 unless something fails. Nothing is written to the vault.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::commands::{out_line, out_words};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
enum Level {
    Ok,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    status: Level,
    detail: String,
}

fn check(check: &'static str, status: Level, detail: impl Into<String>) -> Check {
    Check {
        check,
        status,
        detail: detail.into(),
    }
}

/// Free space below which the vault's disk fails the check, and below
/// which it warns.
const DISK_FAIL: u64 = 64 << 20;
const DISK_WARN: u64 = 1 << 30;

pub(super) fn doctor(dir: &Path, json: bool) -> Result<i32> {
    let mut checks = vec![core_dumps(), memory_lock()];
    checks.extend(vault_checks(dir));
    checks.push(terminal());
    checks.push(tool("gpg", &["--version"], "gpg", "gnupg"));
    checks.push(tool(
        "python3",
        &["-c", "import cryptography"],
        "python3 with cryptography",
        "python3 and python3-cryptography",
    ));
    let failed = checks.iter().filter(|c| c.status == Level::Fail).count();
    let warned = checks.iter().filter(|c| c.status == Level::Warn).count();
    if json {
        let v = serde_json::json!({
            "ok": failed == 0,
            "failed": failed,
            "warnings": warned,
            "checks": checks,
        });
        out_line(format_args!("{}", serde_json::to_string_pretty(&v)?))?;
    } else {
        for c in &checks {
            let tag = match c.status {
                Level::Ok => "OK  ",
                Level::Warn => "WARN",
                Level::Fail => "FAIL",
            };
            out_words(&format!("{tag}  {:<12} {}", c.check, c.detail), 19)?;
        }
        out_line(format_args!(
            "{} checks: {failed} failed, {warned} warnings",
            checks.len()
        ))?;
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

fn core_dumps() -> Check {
    // The process turned them off at its start (I5); this says whether it
    // could.
    if breakglass::harden::core_dumps_disabled() {
        check(
            "core dumps",
            Level::Ok,
            "disabled for breakglass (RLIMIT_CORE 0, not dumpable)",
        )
    } else {
        check(
            "core dumps",
            Level::Fail,
            "could not be disabled: a crash could write secrets to disk; allow setrlimit (RLIMIT_CORE) for this user",
        )
    }
}

fn memory_lock() -> Check {
    match breakglass::harden::memory::probe_lock() {
        Ok(()) => check(
            "memory lock",
            Level::Ok,
            "secrets can be locked in memory (never swapped)",
        ),
        Err(why) => check(
            "memory lock",
            Level::Warn,
            format!(
                "secrets cannot be locked in memory ({why}): raise the locked-memory limit (ulimit -l, or LimitMEMLOCK= in systemd), or use encrypted or no swap"
            ),
        ),
    }
}

/// The vault directory, the clock against its ledger, its disk and its
/// alert hook.
fn vault_checks(dir: &Path) -> Vec<Check> {
    let mut out = vec![directory(dir)];
    out.push(disk(dir));
    match breakglass::Vault::open_reader(dir) {
        Err(e) => out.push(check(
            "vault",
            Level::Fail,
            format!("cannot open {}: {e}", dir.display()),
        )),
        Ok(vault) => {
            out.push(match vault.clock_warning() {
                Some(w) => check("clock", Level::Fail, w),
                None => check(
                    "clock",
                    Level::Ok,
                    format!(
                        "{} is not before the ledger's last entry",
                        breakglass::clock::rfc3339(vault.clock_now())
                    ),
                ),
            });
            out.push(alerts(&vault));
        }
    }
    out
}

fn directory(dir: &Path) -> Check {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) => {
            return check("directory", Level::Fail, format!("{}: {e}", dir.display()));
        }
    };
    if meta.file_type().is_symlink() {
        return check(
            "directory",
            Level::Fail,
            format!(
                "{} is a symlink: whoever can change it chooses the vault; give the real path",
                dir.display()
            ),
        );
    }
    let mut links = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_symlink()) {
                links.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    if !links.is_empty() {
        links.sort();
        return check(
            "directory",
            Level::Fail,
            format!(
                "symlinks in the vault directory: {}; nothing in it should be one: find who planted them, restore from a backup you trust",
                links.join(", ")
            ),
        );
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let mode = meta.permissions().mode() & 0o777;
    if meta.uid() != me {
        return check(
            "directory",
            Level::Warn,
            format!(
                "owned by uid {}, not by you (uid {me}): its owner can change the vault",
                meta.uid()
            ),
        );
    }
    if mode & 0o077 != 0 {
        return check(
            "directory",
            Level::Warn,
            format!(
                "mode {mode:03o}: others can read the ledger key and the sealed records; chmod 700 {}",
                dir.display()
            ),
        );
    }
    check(
        "directory",
        Level::Ok,
        format!("mode {mode:03o}, yours, no symlinks"),
    )
}

fn disk(dir: &Path) -> Check {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return check("disk", Level::Warn, "the path cannot be asked about");
    };
    // SAFETY: an all-zero statvfs is a valid value for statvfs to fill;
    // `path` is a NUL-terminated string that outlives the call.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return check(
            "disk",
            Level::Warn,
            format!("free space unknown: {}", std::io::Error::last_os_error()),
        );
    }
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    let words = format!("{} MiB free", free >> 20);
    if free < DISK_FAIL {
        check(
            "disk",
            Level::Fail,
            format!(
                "{words}: a release may not be able to write its ledger entry; free some space"
            ),
        )
    } else if free < DISK_WARN {
        check("disk", Level::Warn, format!("{words}: less than 1 GiB"))
    } else {
        check("disk", Level::Ok, words)
    }
}

fn alerts(vault: &breakglass::Vault) -> Check {
    let st = match vault.alert_status() {
        Ok(s) => s,
        Err(e) => return check("alert hook", Level::Fail, format!("unreadable: {e}")),
    };
    if let Some(p) = &st.hook_problem {
        return check("alert hook", Level::Fail, format!("not run: {p}"));
    }
    let Some(hook) = &st.hook else {
        return check(
            "alert hook",
            Level::Warn,
            "none set: releases alert nobody off this machine; see docs/ALERTS.md (breakglass alerts set)",
        );
    };
    if st.state.last_error.is_some() && !st.state.error_resolved() {
        return check(
            "alert hook",
            Level::Fail,
            format!(
                "its last delivery failed ({}): fix {}, then breakglass alerts retry",
                st.state.last_error.as_deref().unwrap_or_default(),
                hook.command_line()
            ),
        );
    }
    if st.pending > 0 {
        return check(
            "alert hook",
            Level::Warn,
            format!(
                "{} events wait for delivery: breakglass alerts retry",
                st.pending
            ),
        );
    }
    match (&st.state.last_delivered, &st.state.last_delivered_at) {
        (Some(seq), Some(at)) => check(
            "alert hook",
            Level::Ok,
            format!("last delivered entry {seq} at {at}"),
        ),
        _ => check(
            "alert hook",
            Level::Warn,
            "set, but nothing was delivered yet: run an end-to-end drill (breakglass drill --release)",
        ),
    }
}

fn terminal() -> Check {
    if !std::io::stdout().is_terminal() {
        return check(
            "terminal",
            Level::Warn,
            "stdout is not a terminal: the console and `release` need one",
        );
    }
    let colours = if std::env::var_os("NO_COLOR").is_some() {
        "no colours (NO_COLOR)"
    } else if std::env::var("TERM").is_ok_and(|t| t == "dumb") {
        "TERM=dumb"
    } else {
        "colours"
    };
    match crossterm::terminal::size() {
        Ok((w, h)) if w >= 80 && h >= 24 => {
            check("terminal", Level::Ok, format!("{w}×{h}, {colours}"))
        }
        Ok((w, h)) => check(
            "terminal",
            Level::Warn,
            format!("{w}×{h}: the console needs 80×24; enlarge the window"),
        ),
        Err(e) => check("terminal", Level::Warn, format!("size unknown: {e}")),
    }
}

/// Whether an auditor's tool runs here.
fn tool(name: &'static str, args: &[&str], what: &str, package: &str) -> Check {
    let ran = std::process::Command::new(name)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ran {
        check(name, Level::Ok, format!("{what} is here for auditors"))
    } else {
        check(
            name,
            Level::Warn,
            format!("no {what}: auditors' checks need it; install {package}"),
        )
    }
}
