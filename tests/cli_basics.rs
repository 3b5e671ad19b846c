//! The command line's ordinary paths: init, deposit, list, status, release,
//! ledger show, demo; and that no secret can be passed in argv or the
//! environment (I6).

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

const CODES: [&str; 3] = ["K7Q2-9XWM", "P4LR-2ZTC", "H8VN-6JDA"];

#[test]
fn release_gives_codes_in_deposit_order_then_refuses_nothing_left() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("github/admin", "alice", &CODES);

    for code in CODES {
        // --batch: the item alone on stdout, one line.
        assert_eq!(
            v.release_ok("github/admin", &["alice", "bob"]),
            format!("{code}\n")
        );
    }
    let out = v.release("github/admin", &["alice", "bob"]);
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["nothing left", "github/admin"]);
    assert!(
        out.stdout.is_empty(),
        "a refused release printed something:\n{}",
        describe(&out)
    );
}

#[test]
fn ledger_show_json_is_one_entry_per_line_with_seq_equal_to_line_index() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("github/admin", "alice", &CODES);
    for _ in 0..CODES.len() {
        v.release_ok("github/admin", &["alice", "bob"]);
    }
    expect_error(&v.release("github/admin", &["alice", "bob"]), 1);

    let entries = v.ledger();
    for (i, e) in entries.iter().enumerate() {
        assert!(e.is_object(), "entry {i} is not a JSON object: {e}");
        assert_eq!(e["seq"].as_u64(), Some(i as u64), "seq of entry {i}: {e}");
    }
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"genesis"), "{kinds:?}");
    for k in ["genesis", "deposit", "release", "displayed", "refused"] {
        assert!(kinds.contains(&k), "no {k} entry in {kinds:?}");
    }
    assert_eq!(
        kinds.iter().filter(|k| **k == "release").count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "displayed").count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(kinds.last(), Some(&"refused"), "{kinds:?}");

    // The release entries name the items in deposit order and both approvers.
    let released: Vec<(u64, &str)> = entries
        .iter()
        .filter(|e| e["kind"] == "release")
        .map(|e| (e["index"].as_u64().unwrap(), e["secret"].as_str().unwrap()))
        .collect();
    assert_eq!(
        released,
        [
            (0, "github/admin"),
            (1, "github/admin"),
            (2, "github/admin")
        ]
    );
    for e in entries.iter().filter(|e| e["kind"] == "release") {
        let approvers: Vec<&str> = e["approvals"]
            .as_array()
            .expect("release entry has approvals")
            .iter()
            .map(|a| a["officer"].as_str().unwrap())
            .collect();
        assert_eq!(approvers, ["alice", "bob"], "{e}");
        assert_eq!(e["reason"], REASON);
    }
}

#[test]
fn list_json_remaining_goes_down_with_each_release() {
    let v = TestVault::two_of_three();
    assert!(
        v.list().is_empty(),
        "a new vault lists secrets: {:?}",
        v.list()
    );
    v.deposit_codes_ok("github/admin", "alice", &CODES);

    let s = v.secret("github/admin").expect("listed after deposit");
    assert_eq!(s["kind"], "codes");
    assert_eq!(s["total"], 3);
    assert_eq!(s["remaining"], 3);
    for expected in [2, 1, 0] {
        v.release_ok("github/admin", &["alice", "carol"]);
        let s = v.secret("github/admin").unwrap();
        assert_eq!(s["remaining"], expected, "{s}");
        assert_eq!(s["total"], 3, "{s}");
        assert_eq!(
            s["unconfirmed"], 0,
            "a --batch release left the item unconfirmed: {s}"
        );
    }
}

#[test]
fn list_never_shows_a_value() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("github/admin", "alice", &CODES);
    let human = v.cmd().arg("list").output().unwrap();
    expect_success(&human, "list");
    for out in [human.stdout, v.list_raw().into_bytes()] {
        for code in CODES {
            assert!(!contains_bytes(&out, code.as_bytes()), "list shows {code}");
        }
    }
}

#[test]
fn status_json_reports_id_threshold_officers_and_ledger_size() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("github/admin", "alice", &CODES);
    v.release_ok("github/admin", &["bob", "carol"]);

    let st = v.status();
    let id = st["vault_id"].as_str().expect("vault_id is a string");
    assert!(!id.is_empty());
    assert_eq!(st["threshold"], 2);
    assert_eq!(st["officers"], serde_json::json!(["alice", "bob", "carol"]));
    assert_eq!(st["secrets"], 1);
    let lines = v.ledger_lines();
    assert_eq!(st["ledger_size"].as_u64(), Some(lines.len() as u64));
    // genesis, deposit, release, displayed
    assert_eq!(lines.len(), 4, "{lines:#?}");
    // The genesis entry names the same vault.
    let genesis: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(genesis["vault"], id);
    assert_eq!(genesis["threshold"], 2);
}

#[test]
fn status_counts_the_ledger_in_words_that_agree_with_the_number() {
    // A new vault holds its genesis entry alone: "1 entries" it said.
    let v = TestVault::two_of_three();
    let text = |v: &TestVault| {
        let out = v.cmd().arg("status").output().unwrap();
        expect_success(&out, "status");
        String::from_utf8(out.stdout).unwrap()
    };
    let s = text(&v);
    assert!(s.contains("\nledger       1 entry, root "), "{s}");
    v.deposit_codes_ok("github/admin", "alice", &CODES);
    let s = text(&v);
    assert!(s.contains("\nledger       2 entries, root "), "{s}");
}

#[test]
fn init_prints_the_vault_id_and_quorum() {
    let s = Scratch::new();
    let out = init_output(&s, 2, &["alice", "bob"]);
    expect_success(&out, "init");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v = TestVault {
        path: s.path.clone(),
        scratch: s,
        threshold: 2,
        officers: vec!["alice".into(), "bob".into()],
    };
    let id = v.status()["vault_id"].as_str().unwrap().to_owned();
    assert!(
        stdout.contains(&id),
        "init did not print the vault id {id}:\n{stdout}"
    );
    assert!(stdout.contains("2 of 2"), "{stdout}");
    assert!(
        !stdout.contains(&passphrase_for("alice")),
        "init printed a passphrase:\n{stdout}"
    );
}

#[test]
fn credential_multiline_round_trips_exactly() {
    let v = TestVault::two_of_three();
    // Blank lines, leading and trailing spaces, a tab and non-ASCII all
    // survive; the one final line ending is the line print adds back.
    let credential = "user: root\n  password: hunter2  \n\n\tnote: é ✓\n";
    expect_success(
        &v.deposit_credential("db/root", "bob", credential.as_bytes()),
        "deposit",
    );
    let s = v.secret("db/root").unwrap();
    assert_eq!(s["kind"], "credential");
    assert_eq!(s["total"], 1);
    assert_eq!(v.release_ok("db/root", &["alice", "carol"]), credential);
    assert_eq!(v.remaining("db/root"), 0);
    // A credential is released once.
    let err = expect_error(&v.release("db/root", &["alice", "carol"]), 1);
    assert_mentions(&err, &["nothing left"]);
}

#[test]
fn second_deposit_into_a_credential_is_refused_and_keeps_the_first() {
    let v = TestVault::two_of_three();
    expect_success(
        &v.deposit_credential("db/root", "bob", b"first-secret\n"),
        "deposit",
    );
    let before = v.snapshot();

    let out = v.deposit_credential("db/root", "alice", b"second-secret\n");
    assert!(
        !out.status.success(),
        "second credential deposit succeeded:\n{}",
        describe(&out)
    );
    let err = one_line_error(&out);
    assert_mentions(&err, &["db/root", "already"]);
    assert!(
        !err.contains("second-secret"),
        "the error echoes the credential: {err}"
    );

    v.assert_only_refusal_logged(before);
    assert_eq!(v.release_ok("db/root", &["alice", "bob"]), "first-secret\n");
}

#[test]
fn deposits_refused_by_the_vaults_state_exit_1() {
    let v = TestVault::two_of_three();
    expect_success(
        &v.deposit_credential("db/root", "bob", b"first-secret\n"),
        "deposit",
    );
    v.deposit_codes_ok("gh", "alice", &["C-1"]);
    expect_error(
        &v.deposit_credential("db/root", "alice", b"second-secret\n"),
        1,
    );
    expect_error(&v.deposit_credential("gh", "alice", b"not-a-code\n"), 1);
}

#[test]
fn deposit_into_existing_codes_appends_in_deposit_order() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("okta/recovery", "alice", &["A-1", "A-2"]);
    let out = v.deposit_codes("okta/recovery", "carol", &["B-1", "B-2"]);
    expect_success(&out, "second deposit");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("4 in all"), "{stdout}");

    let s = v.secret("okta/recovery").unwrap();
    assert_eq!(
        (s["total"].as_u64(), s["remaining"].as_u64()),
        (Some(4), Some(4)),
        "{s}"
    );

    // The second deposit's ledger entry continues the indices.
    let deposits: Vec<Value> = v
        .ledger()
        .into_iter()
        .filter(|e| e["kind"] == "deposit")
        .collect();
    assert_eq!(deposits.len(), 2);
    assert_eq!(deposits[0]["statement"]["first_index"], 0);
    assert_eq!(deposits[1]["statement"]["first_index"], 2);
    assert_eq!(deposits[1]["total"], 4);
    assert_eq!(deposits[1]["actor"], "carol");

    let released: Vec<String> = (0..4)
        .map(|_| v.release_ok("okta/recovery", &["alice", "bob"]))
        .collect();
    assert_eq!(released, ["A-1\n", "A-2\n", "B-1\n", "B-2\n"]);
    let indices: Vec<u64> = v
        .ledger()
        .iter()
        .filter(|e| e["kind"] == "release")
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [0, 1, 2, 3]);
}

#[test]
fn deposit_skips_blank_lines_and_trims_codes() {
    let v = TestVault::two_of_three();
    let stdin = format!("{}\n\n  C-1  \n\r\n\nC-2\r\n   \n", passphrase_for("alice"));
    let out = v
        .batch()
        .args(["deposit", "gh", "--officer", "alice"])
        .write_stdin(stdin)
        .output()
        .unwrap();
    expect_success(&out, "deposit");
    assert_eq!(v.secret("gh").unwrap()["total"], 2);
    assert_eq!(v.release_ok("gh", &["alice", "bob"]), "C-1\n");
    assert_eq!(v.release_ok("gh", &["alice", "bob"]), "C-2\n");
}

#[test]
fn deposit_with_another_kind_into_an_existing_secret_is_refused() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["C-1"]);
    expect_success(
        &v.deposit_credential("db", "alice", b"cred\n"),
        "deposit credential",
    );
    let before = v.snapshot();

    let out = v.deposit_credential("gh", "alice", b"not-a-code\n");
    assert!(
        !out.status.success(),
        "credential deposit into codes succeeded:\n{}",
        describe(&out)
    );
    assert_mentions(&one_line_error(&out), &["gh", "codes"]);
    let before = v.assert_only_refusal_logged(before);

    let out = v.deposit_codes("db", "alice", &["C-9"]);
    assert!(
        !out.status.success(),
        "codes deposit into a credential succeeded:\n{}",
        describe(&out)
    );
    assert_mentions(&one_line_error(&out), &["db", "credential"]);
    v.assert_only_refusal_logged(before);

    assert_eq!(v.release_ok("gh", &["alice", "bob"]), "C-1\n");
    assert_eq!(v.release_ok("db", &["alice", "bob"]), "cred\n");
}

#[test]
fn demo_creates_a_vault_with_four_secrets_and_prints_working_passphrases() {
    let s = Scratch::new();
    let out = bin().arg("demo").arg(&s.path).output().unwrap();
    expect_success(&out, "demo");
    let stdout = String::from_utf8(out.stdout).unwrap();

    let mut passphrases = std::collections::BTreeMap::new();
    for line in stdout.lines() {
        if let Some((name, pass)) = line.split_once("passphrase:") {
            passphrases.insert(name.trim().to_owned(), pass.trim().to_owned());
        }
    }
    let names: Vec<&str> = passphrases.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["alice", "bob", "carol"],
        "officers printed:\n{stdout}"
    );
    assert!(
        passphrases.values().all(|p| p.chars().count() >= 8),
        "{passphrases:?}"
    );

    let v = TestVault {
        path: s.path.clone(),
        scratch: s,
        threshold: 2,
        officers: names.iter().map(|n| n.to_string()).collect(),
    };
    let listed: BTreeSet<String> = v
        .list()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = [
        "github/admin",
        "okta/recovery",
        "aws/root-mfa",
        "postgres/root",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(listed, expected);
    let before = v.remaining("github/admin");
    assert!(before > 0);

    let stdin = format!("{}\n{}\n", passphrases["alice"], passphrases["carol"]);
    let out = v.release_with_stdin("github/admin", &["alice", "carol"], stdin);
    expect_success(&out, "release from the demo vault");
    let item = String::from_utf8(out.stdout).unwrap();
    let item = item.strip_suffix('\n').expect("item ends with a newline");
    assert!(
        !item.is_empty() && !item.contains('\n'),
        "released {item:?}"
    );
    assert!(
        !stdout.contains(item),
        "the demo printed a code that is meant to be released only by quorum"
    );
    assert_eq!(v.remaining("github/admin"), before - 1);
}

#[test]
fn the_vault_can_be_named_by_breakglass_vault_in_the_environment() {
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["C-1"]);
    let out = bin()
        .env("BREAKGLASS_VAULT", &v.path)
        .args(["list", "--json"])
        .output()
        .unwrap();
    expect_success(&out, "list with BREAKGLASS_VAULT");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), v.list_raw());
    // --vault wins over the environment.
    let other = Scratch::new();
    let out = bin()
        .env("BREAKGLASS_VAULT", &v.path)
        .arg("--vault")
        .arg(&other.path)
        .arg("list")
        .output()
        .unwrap();
    assert_mentions(&expect_error(&out, 1), &["no vault"]);
}

// ---- I6: secrets never in argv or env ----

/// Long option names in a help text.
fn long_options(help: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for word in help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']') {
        if let Some(rest) = word.strip_prefix("--") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn help_offers_no_option_that_takes_a_secret() {
    for sub in ["init", "deposit", "release"] {
        let out = bin().args([sub, "--help"]).output().unwrap();
        expect_success(&out, "--help");
        let help = String::from_utf8(out.stdout).unwrap();
        let opts = long_options(&help);
        assert!(
            opts.contains("officer") && opts.contains("vault"),
            "{sub}: parsed {opts:?}"
        );
        for o in &opts {
            for bad in [
                "pass",
                "pw",
                "secret",
                "code",
                "credential",
                "value",
                "item",
                "pin",
                "token",
                "stdin",
            ] {
                assert!(
                    !o.contains(bad),
                    "`{sub}` has an option --{o} that looks like it takes a secret"
                );
            }
        }
        // The only environment variables read are the vault path and how
        // long to wait for it: never a secret.
        let envs: Vec<&str> = help
            .match_indices("env: ")
            .map(|(i, _)| &help[i..])
            .collect();
        for e in envs {
            assert!(
                e.starts_with("env: BREAKGLASS_VAULT=") || e.starts_with("env: BREAKGLASS_WAIT="),
                "`{sub}` reads an environment variable: {e:.60}"
            );
        }
        // The only positional argument is the secret's name (deposit and
        // release); init has none. Words after a `--flag` are its value.
        let usage = help.lines().find(|l| l.starts_with("Usage:")).unwrap();
        let words: Vec<&str> = usage.split_whitespace().collect();
        let positionals: Vec<&str> = words
            .iter()
            .enumerate()
            .filter(|(i, w)| w.starts_with('<') && !(*i > 0 && words[i - 1].starts_with("--")))
            .map(|(_, w)| *w)
            .collect();
        let expected: &[&str] = if sub == "init" { &[] } else { &["<SECRET>"] };
        assert_eq!(positionals, expected, "`{sub}` usage: {usage}");
    }
}

/// `--vault` and `--wait` are listed once, under "Global options:", in
/// every subcommand's help; `--batch` too where it changes something (the
/// help then says what its "Batch stdin:" is) and nowhere else. An officer
/// is `<OFFICER>` and a secret `<SECRET>`, so `release`'s usage no longer
/// reads as if `--officer` took two names.
#[test]
fn every_help_shows_the_global_options_once_under_their_heading() {
    let leaves = leaf_commands();
    for sub in &leaves {
        let help = help_of(sub, "--help");
        assert_eq!(
            help.matches("\nGlobal options:\n").count(),
            1,
            "{sub:?}:\n{help}"
        );
        let global = &help[help.find("\nGlobal options:\n").unwrap()..];
        let reads = help.contains("\nBatch stdin:");
        for (flag, want) in [
            ("--vault <DIR>", 1),
            ("--batch", usize::from(reads)),
            ("--wait <SECS>", 1),
        ] {
            let listed = help
                .lines()
                .filter(|l| l.trim_start().starts_with(flag))
                .count();
            assert_eq!(listed, want, "{sub:?}: {flag}\n{help}");
            assert!(
                want == 0 || global.contains(flag),
                "{sub:?}: {flag} outside its heading\n{help}"
            );
        }
        assert!(!help.contains("<O>"), "{sub:?}:\n{help}");
    }
    // What reads stdin offers --batch; what only reads the vault does not.
    let offers = |sub: &[&str]| {
        let sub: Vec<String> = sub.iter().map(|s| s.to_string()).collect();
        help_of(&sub, "--help").contains("--batch")
    };
    for sub in [
        &["release"][..],
        &["deposit"],
        &["init"],
        &["alerts", "set"],
        &["rekey"],
    ] {
        assert!(offers(sub), "{sub:?} must offer --batch");
    }
    for sub in [
        &["list"][..],
        &["status"],
        &["ledger", "verify"],
        &["ledger", "export"],
        &["alerts", "status"],
        &["backup"],
        &["demo"],
    ] {
        assert!(!offers(sub), "{sub:?} must not offer --batch");
    }
    let out = bin().args(["release", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("--officer <OFFICER> <SECRET>"), "{help}");
}

/// A script that passes `--batch` to every command keeps working: where
/// it means nothing it is accepted, not shown.
#[test]
fn batch_where_it_means_nothing_is_still_accepted() {
    let v = TestVault::two_of_three();
    for args in [
        &["list", "--batch"][..],
        &["--batch", "status"],
        &["ledger", "verify", "--batch"],
    ] {
        let out = v.cmd().args(args).output().unwrap();
        expect_success(&out, &format!("{args:?}"));
    }
}

/// One help layout for every subcommand: `-h` and `--help` print the same
/// (no command falls into clap's long layout), and below the options the
/// text comes in paragraphs in one order: what the command does, then
/// "Batch stdin:", then "Example:" — each its own paragraph, no line over
/// 100 columns. Every command that an officer signs gives an example.
#[test]
fn every_subcommand_help_has_one_layout() {
    for sub in leaf_commands() {
        let long = help_of(&sub, "--help");
        assert_eq!(long, help_of(&sub, "-h"), "{sub:?}: -h and --help differ");
        let after = match long.split_once("\nGlobal options:\n") {
            Some((_, rest)) => rest.split_once("\n\n").map(|(_, a)| a).unwrap_or(""),
            None => panic!("{sub:?}: no global options\n{long}"),
        };
        let paragraphs: Vec<&str> = after
            .split("\n\n")
            .filter(|p| !p.trim().is_empty())
            .collect();
        let rank = |p: &str| {
            if p.starts_with("Batch stdin:") {
                1
            } else if p.starts_with("Example") {
                2
            } else {
                0
            }
        };
        let ranks: Vec<u8> = paragraphs.iter().map(|p| rank(p)).collect();
        assert!(
            ranks.is_sorted(),
            "{sub:?}: paragraphs out of order {ranks:?}\n{after}"
        );
        for p in &paragraphs {
            for marker in ["Batch stdin:", "Example:", "Examples:"] {
                assert!(
                    p.starts_with(marker) || !p.contains(marker),
                    "{sub:?}: {marker} inside a paragraph\n{p}"
                );
            }
        }
        for line in after.lines() {
            assert!(
                line.chars().count() <= 100,
                "{sub:?}: line too long: {line}"
            );
        }
        if long.contains("--officer <OFFICER>") {
            assert!(ranks.contains(&2), "{sub:?}: no example\n{long}");
        }
    }
}

#[test]
fn there_is_no_passphrase_flag() {
    let s = Scratch::new();
    for flag in ["--passphrase", "--password", "--code", "--credential"] {
        let out = s
            .batch()
            .args([
                "init",
                "--threshold",
                "2",
                "--officer",
                "alice",
                "--officer",
                "bob",
                flag,
                "hunter2hunter2",
            ])
            .args(FAST_KDF)
            .write_stdin(lines(&[&passphrase_for("alice"), &passphrase_for("bob")]))
            .output()
            .unwrap();
        let err = expect_error(&out, 2);
        assert_mentions(&err, &[flag]);
        assert!(
            !err.contains("hunter2hunter2"),
            "the error echoes the would-be secret: {err}"
        );
        assert!(!s.path.exists(), "init with {flag} created a vault");
    }
    let v = TestVault::two_of_three();
    v.deposit_codes_ok("gh", "alice", &["C-1"]);
    let before = v.snapshot();
    let out = v
        .batch()
        .args([
            "release",
            "gh",
            "--reason",
            REASON,
            "--officer",
            "alice",
            "--officer",
            "bob",
        ])
        .args(["--passphrase", &passphrase_for("alice")])
        .write_stdin(lines(&[&passphrase_for("alice"), &passphrase_for("bob")]))
        .output()
        .unwrap();
    expect_error(&out, 2);
    assert!(out.stdout.is_empty());
    assert_eq!(v.snapshot(), before);
}

#[test]
fn passphrases_in_the_environment_are_ignored() {
    let v = TestVault::two_of_three();
    let pass = passphrase_for("alice");
    let mut c = v.batch();
    c.args(["deposit", "gh", "--officer", "alice"]);
    for var in [
        "BREAKGLASS_PASSPHRASE",
        "BREAKGLASS_PASSWORD",
        "BREAKGLASS_PASSPHRASE_ALICE",
        "BREAKGLASS_OFFICER_PASSPHRASE",
        "PASSPHRASE",
    ] {
        c.env(var, &pass);
    }
    // No stdin at all: the passphrase must be missing, not taken from env.
    let out = c.write_stdin("").output().unwrap();
    let err = expect_error(&out, 1);
    assert_mentions(&err, &["stdin ended", "alice"]);
    assert!(v.list().is_empty(), "something was deposited");
    assert!(!v.ledger_kinds().contains(&"deposit".to_string()));
}

/// `--version` says what the binary is: its version, the commit it was
/// built from, its crypto backend and its features; `-V` in one line.
#[test]
fn version_names_the_commit_backend_and_features() {
    let out = bin().arg("--version").output().unwrap();
    expect_success(&out, "--version");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("breakglass {}", env!("CARGO_PKG_VERSION")),
        "{text}"
    );
    let commit = lines[1]
        .strip_prefix("commit    ")
        .unwrap_or_else(|| panic!("{text}"));
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    match git {
        Ok(g) if g.status.success() => {
            assert_eq!(commit, String::from_utf8_lossy(&g.stdout).trim(), "{text}")
        }
        _ => assert_eq!(commit, "unknown", "{text}"),
    }
    // The suite runs the default build: the pure-Rust backend.
    assert!(
        lines[2].starts_with("backend   crypto-rust: sequoia-openpgp 2."),
        "{text}"
    );
    assert!(lines[3].starts_with("features  crypto-rust"), "{text}");
    let short = bin().arg("-V").output().unwrap();
    let short = String::from_utf8(short.stdout).unwrap();
    assert_eq!(
        short.trim_end(),
        format!(
            "breakglass {} ({commit}, crypto-rust)",
            env!("CARGO_PKG_VERSION")
        )
    );
}
