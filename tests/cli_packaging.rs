//! What a package ships beside the binary (issue: ship it): shell
//! completions and man pages, both generated from the command line. Every
//! subcommand and every flag its help shows must be in each; the bash
//! script must complete in a real bash; each page must render with
//! `man -l` where man is installed.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;

/// The long flags a command's help lists (hidden ones are not listed, and
/// are left out of completions and pages alike).
fn flags(sub: &[String]) -> BTreeSet<String> {
    help_of(sub, "--help")
        .split_whitespace()
        .filter_map(|w| {
            let w = w.trim_end_matches(',');
            (w.starts_with("--") && w.len() > 2)
                .then(|| w.split(['=', '[', '<']).next().unwrap().to_string())
        })
        .filter(|f| {
            f.chars()
                .skip(2)
                .all(|c| c.is_ascii_lowercase() || c == '-')
        })
        .collect()
}

fn completion(shell: &str) -> String {
    let out = bin().args(["completions", shell]).output().unwrap();
    expect_success(&out, "completions");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_name_every_subcommand_and_flag() {
    let leaves = leaf_commands();
    for shell in ["bash", "zsh", "fish"] {
        let script = completion(shell);
        for sub in &leaves {
            for name in sub {
                assert!(script.contains(name.as_str()), "{shell}: no {name}");
            }
            for f in flags(sub) {
                // fish lists long options without their dashes (`-l reason`).
                let bare = f.trim_start_matches('-');
                assert!(
                    script.contains(&f)
                        || (shell == "fish" && script.contains(&format!("-l {bare}"))),
                    "{shell}: {sub:?} {f} missing"
                );
            }
        }
    }
}

/// `breakglass completions bash` sourced in bash completes `breakglass
/// led<TAB>` to `ledger` and `breakglass ledger ver<TAB>` to `verify`.
#[test]
fn bash_completes_commands_and_subcommands() {
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: bash is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("breakglass.bash");
    std::fs::write(&script, completion("bash")).unwrap();
    let complete = |words: &str| {
        let line = format!(
            "source '{}'; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; \
             _breakglass breakglass \"${{COMP_WORDS[-1]}}\" \"${{COMP_WORDS[-2]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &line])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let led = complete("breakglass led");
    assert_eq!(led.lines().collect::<Vec<_>>(), vec!["ledger"], "{led}");
    let ver = complete("breakglass ledger ver");
    assert_eq!(ver.lines().collect::<Vec<_>>(), vec!["verify"], "{ver}");
}

fn pages(dir: &Path) -> Vec<String> {
    let out = bin().arg("manpages").arg(dir).output().unwrap();
    expect_success(&out, "manpages");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn man_pages_cover_every_subcommand_and_flag() {
    let dir = tempfile::tempdir().unwrap();
    let names = pages(dir.path());
    assert!(names.contains(&"breakglass.1".to_string()), "{names:?}");
    for sub in leaf_commands() {
        let page = format!("breakglass-{}.1", sub.join("-"));
        assert!(names.contains(&page), "no {page} in {names:?}");
        // roff escapes each dash: `\-\-reason`.
        let text = std::fs::read_to_string(dir.path().join(&page))
            .unwrap()
            .replace("\\-", "-");
        for f in flags(&sub) {
            assert!(text.contains(&f), "{page}: {f} missing");
        }
    }
    // The top page lists every command.
    let top = std::fs::read_to_string(dir.path().join("breakglass.1"))
        .unwrap()
        .replace("\\-", "-");
    for sub in leaf_commands() {
        assert!(top.contains(&sub[0]), "breakglass.1 lacks {}", sub[0]);
    }
}

#[test]
fn every_man_page_renders_with_man() {
    let man = std::process::Command::new("man").arg("--version").output();
    if !man.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: man is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for page in pages(dir.path()) {
        let out = std::process::Command::new("man")
            .arg("-l")
            .arg(dir.path().join(&page))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{page}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("NAME") && text.contains("SYNOPSIS"),
            "{page}:\n{text}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("warning"),
            "{page}"
        );
    }
}

#[test]
fn manpages_into_a_missing_directory_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("manpages")
        .arg(dir.path().join("nope"))
        .output()
        .unwrap();
    let line = expect_error(&out, 2);
    assert!(line.contains("no such directory"), "{line}");
}
