//! Says what a binary is (`breakglass --version`): the commit it was built
//! from and the sequoia-openpgp version in Cargo.lock. Nothing of the build
//! machine (paths, times) goes in, so two builds of one commit match.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=BREAKGLASS_COMMIT");
    println!("cargo:rerun-if-changed=Cargo.lock");
    // A source tarball has no .git: its builder says the commit.
    let commit = std::env::var("BREAKGLASS_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BREAKGLASS_COMMIT={commit}");
    let sequoia = std::fs::read_to_string("Cargo.lock")
        .ok()
        .and_then(|lock| locked_version(&lock, "sequoia-openpgp"))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BREAKGLASS_SEQUOIA={sequoia}");
}

/// HEAD's commit, and the files whose change moves it (so a new commit
/// rebuilds).
fn git_commit() -> Option<String> {
    let git = |args: &[&str]| {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let dir = git(&["rev-parse", "--git-dir"])?;
    println!("cargo:rerun-if-changed={dir}/HEAD");
    if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
        println!("cargo:rerun-if-changed={dir}/{head}");
        println!("cargo:rerun-if-changed={dir}/packed-refs");
    }
    git(&["rev-parse", "--short=12", "HEAD"])
}

/// The version of `name` in a Cargo.lock.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let want = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == want {
            let v = lines.next()?.trim().strip_prefix("version = \"")?;
            return Some(v.trim_end_matches('"').to_string());
        }
    }
    None
}
