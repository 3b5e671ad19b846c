//! The console, rendered to `TestBackend` and driven by scripted keys with a
//! manual clock: no test sleeps. Each asserts on what an officer sees.

use std::sync::Arc;

use breakglass::clock::ManualClock;
use breakglass::crypto::KdfParams;
use breakglass::records::SecretKind;
use breakglass::tui::App;
use breakglass::tui::officers::SHARE_WAITING;
use breakglass::tui::theme::Theme;
use breakglass::vault::{InitOptions, NewOfficer};
use breakglass::{Passphrase, SecretValue, Vault, ledger};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use serde_json::Value;

const OFFICERS: [(&str, &str); 3] = [
    ("alice", "alice-pass-1"),
    ("bob", "bob-pass-22"),
    ("carol", "carol-pass-333"),
];
const CODES: [&str; 3] = ["K7QX-P2MW", "R4TZ-8HNC", "W9LB-3FJD"];

struct Console {
    app: App,
    clock: ManualClock,
    dir: tempfile::TempDir,
}

fn pass(name: &str) -> Passphrase {
    Passphrase::new(secret_of(name).to_string())
}

fn secret_of(name: &str) -> &'static str {
    OFFICERS.iter().find(|(n, _)| *n == name).unwrap().1
}

fn console_with(codes: &[&str]) -> Console {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_800_000_000);
    let opts = InitOptions {
        threshold: 2,
        officers: OFFICERS
            .iter()
            .map(|(n, p)| NewOfficer {
                name: n.to_string(),
                passphrase: Passphrase::new(p.to_string()),
            })
            .collect(),
        kdf: KdfParams::new(8, 1).unwrap(),
    };
    let mut vault =
        Vault::init_with_clock(&dir.path().join("v"), opts, Arc::new(clock.clone())).unwrap();
    if !codes.is_empty() {
        let s = vault
            .authenticate("alice", &pass("alice"), "deposit", None)
            .unwrap();
        let values: Vec<SecretValue> = codes
            .iter()
            .map(|c| SecretValue::new(c.to_string()))
            .collect();
        vault
            .deposit(&s, "github/admin", SecretKind::Codes, None, &values)
            .unwrap();
    }
    let mut app = App::new(vault, Theme::new(false), Vec::new()).unwrap();
    app.settle();
    Console { app, clock, dir }
}

fn console() -> Console {
    console_with(&CODES)
}

impl Console {
    fn key(&mut self, code: KeyCode) {
        self.app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
        self.app.tick();
    }

    fn ctrl(&mut self, c: char) {
        self.app
            .on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    }

    fn type_text(&mut self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Types the officer's passphrase, presses Enter, waits for Argon2.
    fn sign(&mut self, officer: &str) {
        self.type_text(secret_of(officer));
        self.key(KeyCode::Enter);
        self.app.settle();
        self.app.tick();
    }

    fn screen_at(&self, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| self.app.render(f)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    fn screen(&self) -> String {
        self.screen_at(80, 24)
    }

    fn kinds(&self) -> Vec<String> {
        self.app
            .vault()
            .ledger_entries()
            .map(|e| {
                ledger::parse_entry(&e.unwrap().1).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    fn last_entry(&self) -> serde_json::Map<String, Value> {
        let (_, b) = self.app.vault().ledger_entries().last().unwrap().unwrap();
        ledger::parse_entry(&b).unwrap()
    }

    fn remaining(&self) -> (u32, u32) {
        let s = &self.app.vault().secrets().unwrap()[0];
        (s.remaining, s.unconfirmed)
    }

    /// Home → release of the selected secret → reason → approvals.
    fn start_release(&mut self, reason: &str) {
        self.key(KeyCode::Char('r'));
        self.type_text(reason);
        self.key(KeyCode::Enter);
    }

    /// Signs as `officer`, who must be the one chosen in the list.
    fn approve_next(&mut self, officer: &str) {
        let s = self.screen();
        assert!(s.contains(&format!("{officer} signs:")), "{s}");
        self.key(KeyCode::Enter);
        self.sign(officer);
    }
}

fn assert_shows(screen: &str, want: &str) {
    assert!(
        screen.contains(want),
        "expected {want:?} on screen:\n{screen}"
    );
}

/// No form of any deposited code is on screen: as deposited, grouped, or
/// with its separators dropped.
fn assert_no_code(screen: &str) {
    for c in CODES {
        for form in [c.to_string(), c.replace('-', " "), c.replace('-', "")] {
            assert!(!screen.contains(&form), "{form} is on screen:\n{screen}");
        }
    }
}

#[test]
fn home_shows_the_vault_without_any_value() {
    let c = console();
    let s = c.screen();
    assert_shows(&s, "Quorum 2 of 3");
    assert_shows(&s, "alice, bob, carol");
    assert_shows(&s, "github/admin");
    assert_shows(&s, "3 of 3 left");
    assert_shows(&s, "verified ✓");
    assert_no_code(&s);
}

#[test]
fn a_full_release_with_two_officers_shows_the_code_once_then_clears_it() {
    let mut c = console();
    c.start_release("IdP outage INC-7");
    let s = c.screen();
    assert_shows(&s, "alice signs:");
    assert_shows(&s, "IdP outage INC-7");
    assert_shows(&s, "0 of 2 approvals");
    c.approve_next("alice");
    let s = c.screen();
    assert_shows(&s, "1 of 2 approvals");
    assert_shows(&s, "✓ alice");
    assert_shows(&s, "bob signs:");
    c.approve_next("bob");

    // The reveal: grouped for reading aloud, with the countdown.
    let s = c.screen();
    assert_shows(&s, "K7QX P2MW");
    assert_shows(&s, "clears in 60 s");
    assert!(
        c.kinds().contains(&"release".to_string()),
        "logged before shown"
    );
    assert_eq!(c.remaining(), (2, 1));

    c.key(KeyCode::Enter);
    let s = c.screen();
    assert_no_code(&s);
    assert_shows(&s, "confirmed seen");
    assert_shows(&s, "2 of 3 left");
    let last = c.last_entry();
    assert_eq!(
        (last["kind"].as_str(), last["outcome"].as_str()),
        (Some("displayed"), Some("confirmed"))
    );
    // Home now says the release waits for its review, and how.
    let release = last["release"].as_u64().unwrap();
    assert_shows(&s, "TO DO review entry");
    assert_shows(&s, &format!("breakglass review {release}"));
    assert_eq!(c.remaining(), (2, 0));
    // No later screen holds the item either.
    for key in [
        KeyCode::Char('l'),
        KeyCode::Up,
        KeyCode::Esc,
        KeyCode::Char('?'),
    ] {
        c.key(key);
        assert_no_code(&c.screen());
        assert_no_code(&c.screen_at(200, 50));
    }
}

#[test]
fn a_wrong_passphrase_says_so_is_logged_and_can_be_retried() {
    let mut c = console();
    c.start_release("drill");
    c.key(KeyCode::Enter);
    c.type_text("not-alices-pass");
    c.key(KeyCode::Enter);
    c.app.settle();
    let s = c.screen();
    assert_shows(&s, "Wrong passphrase for alice");
    assert_shows(&s, "Passphrase for alice");
    assert_eq!(c.last_entry()["kind"], "auth_failed");
    c.sign("alice");
    assert_shows(&c.screen(), "1 of 2 approvals");
    c.approve_next("bob");
    assert_shows(&c.screen(), "K7QX P2MW");
}

#[test]
fn a_passphrase_is_never_drawn() {
    let mut c = console();
    c.start_release("drill");
    c.key(KeyCode::Enter);
    c.type_text("alice-pass-1");
    let s = c.screen();
    assert!(!s.contains("alice-pass"), "{s}");
    assert_shows(&s, "••••••••••••");
}

#[test]
fn cancelling_discards_the_approvals_and_is_logged() {
    let mut c = console();
    c.start_release("drill");
    c.approve_next("alice");
    c.key(KeyCode::Esc);
    assert_shows(&c.screen(), "discard 1 approval (alice)?");
    c.key(KeyCode::Char('y'));
    let s = c.screen();
    assert_shows(&s, "Release cancelled and logged; 1 approval discarded.");
    assert_shows(&s, "3 of 3 left");
    let last = c.last_entry();
    assert_eq!(
        (last["kind"].as_str(), last["approvals"].as_u64()),
        (Some("cancelled"), Some(1))
    );
    assert_eq!(c.remaining(), (3, 0));
}

#[test]
fn a_secret_with_nothing_left_stops_at_home_with_the_reason_and_logs_nothing() {
    let mut c = console_with(&["ONLY-CODE"]);
    c.start_release("first");
    c.approve_next("alice");
    c.approve_next("bob");
    c.key(KeyCode::Enter);
    assert_shows(&c.screen(), "none left");
    let before = c.kinds().len();
    for key in [KeyCode::Char('r'), KeyCode::Enter, KeyCode::Enter] {
        c.key(key);
        let s = c.screen();
        assert_shows(
            &s,
            "Nothing left to release in github/admin: all 1 code were",
        );
        assert_shows(&s, "Quorum 2 of 3");
    }
    assert_eq!(
        c.kinds().len(),
        before,
        "a refusal was logged per keystroke"
    );
    // From the release screen's own list, too.
    c.key(KeyCode::Char('r'));
    assert_eq!(c.kinds().len(), before);
}

#[test]
fn no_keystroke_logs_more_than_one_entry() {
    let mut c = console_with(&["ONLY-CODE"]);
    let mut script: Vec<KeyCode> = vec![KeyCode::Char('r')];
    script.extend("drill".chars().map(KeyCode::Char));
    script.push(KeyCode::Enter);
    // alice: one wrong passphrase, then the right one.
    script.push(KeyCode::Enter);
    script.extend("wrong-pass".chars().map(KeyCode::Char));
    script.push(KeyCode::Enter);
    script.extend(secret_of("alice").chars().map(KeyCode::Char));
    script.push(KeyCode::Enter);
    script.push(KeyCode::Enter);
    script.extend(secret_of("bob").chars().map(KeyCode::Char));
    script.push(KeyCode::Enter);
    // The reveal, confirmed; then the empty secret, three times.
    script.extend([
        KeyCode::Enter,
        KeyCode::Enter,
        KeyCode::Char('r'),
        KeyCode::Enter,
    ]);
    for key in script {
        let before = c.kinds().len();
        c.key(key);
        c.app.settle();
        c.app.tick();
        let added = c.kinds().len() - before;
        assert!(
            added <= 1,
            "{key:?} logged {added} entries: {:?}",
            c.kinds()
        );
    }
    assert_eq!(
        c.kinds()[2..],
        ["auth_failed", "release", "displayed"].map(String::from)
    );
}

#[test]
fn the_reveal_clears_itself_after_the_timeout_unconfirmed() {
    let mut c = console();
    c.start_release("drill");
    c.approve_next("alice");
    c.approve_next("bob");
    assert_shows(&c.screen(), "K7QX P2MW");
    c.clock.advance(59);
    c.app.tick();
    assert_shows(&c.screen(), "clears in 1 s");
    c.clock.advance(1);
    c.app.tick();
    let s = c.screen();
    assert_no_code(&s);
    assert_shows(&s, "without confirmation");
    assert_eq!(c.last_entry()["outcome"], "timeout");
    // Never confirmed seen: a new quorum gets the same code (I10).
    assert_eq!(c.remaining(), (2, 1));
    c.start_release("again");
    c.approve_next("alice");
    c.approve_next("bob");
    let s = c.screen();
    assert_shows(&s, "K7QX P2MW");
    assert_shows(&s, "re-release");
}

#[test]
fn approvals_expire_while_waiting() {
    let mut c = console();
    c.start_release("drill");
    c.approve_next("alice");
    c.clock.advance(15 * 60 + 1);
    c.app.tick();
    assert_shows(&c.screen(), "expired");
    assert_eq!(c.last_entry()["kind"], "expired");
    assert_eq!(c.remaining(), (3, 0));
}

#[test]
fn ctrl_c_during_a_reveal_clears_it_and_quits() {
    let mut c = console();
    c.start_release("drill");
    c.approve_next("alice");
    c.approve_next("bob");
    c.ctrl('c');
    assert!(c.app.should_quit());
    assert_eq!(c.last_entry()["outcome"], "dismissed");
    assert_no_code(&c.screen());
}

#[test]
fn deposit_counts_the_hidden_codes_before_confirming() {
    let mut c = console_with(&[]);
    assert_shows(&c.screen(), "No secrets yet");
    c.key(KeyCode::Char('d'));
    c.key(KeyCode::Enter); // alice
    c.sign("alice");
    c.type_text("okta/recovery");
    c.key(KeyCode::Enter);
    c.app.on_paste("AAAA-1111\nBBBB-2222\nCCCC-3333\n");
    let s = c.screen();
    assert_shows(&s, "3 codes entered");
    assert!(!s.contains("AAAA"), "{s}");
    c.key(KeyCode::Enter); // the empty line ends input
    assert_shows(&c.screen(), "Deposit 3 codes into okta/recovery?");
    c.key(KeyCode::Char('y'));
    let s = c.screen();
    assert_shows(&s, "Deposited 3 codes into okta/recovery");
    assert_shows(&s, "3 of 3 left");
    assert_eq!(c.last_entry()["kind"], "deposit");
}

#[test]
fn a_released_credential_is_rotated_from_its_row_as_its_reveal_says() {
    let mut c = console_with(&[]);
    c.key(KeyCode::Char('d'));
    c.key(KeyCode::Enter); // alice
    c.sign("alice");
    c.type_text("db/root");
    c.key(KeyCode::Tab); // a credential
    c.key(KeyCode::Enter);
    c.app.on_paste("root-pw-1");
    c.key(KeyCode::Enter);
    c.key(KeyCode::Char('y'));
    assert_shows(&c.screen(), "Deposited 1 credential into db/root");

    c.start_release("DB outage INC-9");
    c.approve_next("alice");
    c.approve_next("bob");
    let s = c.screen();
    assert_shows(&s, "root-pw-1");
    assert_shows(
        &s,
        "Rotate it now: change it at its system, then press r here",
    );
    c.key(KeyCode::Enter);
    let s = c.screen();
    assert!(!s.contains("root-pw-1"), "{s}");
    assert_shows(&s, "then press r here");
    assert_shows(&s, "TO DO rotate db/root");
    assert_shows(row_with(&s, "credential "), "rotate it: r");

    // r on its row: the rotation, by any one officer.
    c.key(KeyCode::Char('r'));
    assert_shows(&c.screen(), "Rotate db/root");
    c.key(KeyCode::Down);
    c.key(KeyCode::Down);
    c.key(KeyCode::Enter); // carol
    c.sign("carol");
    // The key bar names only what each step does: a rotation has no kind
    // to toggle.
    let s = c.screen();
    assert_whole(
        &s,
        &[
            "Change it at its system first",
            "Enter/Ctrl-D end input  Esc cancel",
        ],
    );
    assert!(!s.contains("Tab kind"), "{s}");
    c.app.on_paste("root-pw-2");
    let s = c.screen();
    assert!(!s.contains("root-pw-2"), "the new value is hidden: {s}");
    c.key(KeyCode::Enter);
    assert_whole(
        &c.screen(),
        &[
            "Replace db/root with the new value?",
            "Enter/y rotate  Esc/n back",
        ],
    );
    c.key(KeyCode::Char('y'));
    let s = c.screen();
    assert_shows(&s, "Rotated db/root");
    assert!(!s.contains("TO DO rotate"), "{s}");
    let last = c.last_entry();
    assert_eq!(
        (last["kind"].as_str(), last["actor"].as_str()),
        (Some("rotated"), Some("carol"))
    );

    // The next release shows the new value.
    c.start_release("DB outage INC-10");
    c.approve_next("alice");
    c.approve_next("bob");
    assert_shows(&c.screen(), "root-pw-2");
    c.key(KeyCode::Enter);
}

#[test]
fn a_release_is_reviewed_from_home_by_an_officer_who_did_not_approve_it() {
    let mut c = console();
    c.start_release("IdP outage INC-7");
    c.approve_next("alice");
    c.approve_next("bob");
    c.key(KeyCode::Enter);
    let release = c.last_entry()["release"].as_u64().unwrap();
    let s = c.screen();
    assert_whole(&s, &["v review"]);
    c.key(KeyCode::Char('v'));
    let s = c.screen();
    assert_shows(&s, &format!("Review entry {release}"));
    assert_shows(&s, "github/admin #1 by alice, bob");
    // Only carol is offered: alice and bob approved it.
    assert_eq!(row_with(&s, "carol").matches("carol").count(), 1);
    for approver in ["alice", "bob"] {
        let rows = s.lines().filter(|l| l.contains(approver)).count();
        assert_eq!(rows, 1, "{approver} is named only as an approver: {s}");
    }
    c.key(KeyCode::Enter);
    c.sign("carol");
    assert_shows(&c.screen(), "What was it?");
    c.key(KeyCode::Enter); // emergency
    c.key(KeyCode::Enter); // no incident yet
    assert_shows(&c.screen(), "Name the incident");
    c.type_text("INC-7");
    c.key(KeyCode::Enter);
    c.type_text("IdP down; alice fixed SSO");
    c.key(KeyCode::Enter);
    assert_shows(
        &c.screen(),
        &format!("Sign: entry {release} was emergency (INC-7)."),
    );
    c.key(KeyCode::Char('y'));
    let s = c.screen();
    assert_shows(
        &s,
        &format!("Reviewed release entry {release} as emergency"),
    );
    assert!(!s.contains("TO DO review"), "{s}");
    let last = c.last_entry();
    assert_eq!(
        (
            last["kind"].as_str(),
            last["actor"].as_str(),
            last["incident"].as_str()
        ),
        (Some("reviewed"), Some("carol"), Some("INC-7"))
    );
    c.key(KeyCode::Char('v'));
    assert_shows(&c.screen(), "Every release has been reviewed.");
}

#[test]
fn the_ledger_view_links_a_release_to_its_display_and_review() {
    let mut c = console();
    c.start_release("IdP outage INC-7");
    c.approve_next("alice");
    c.approve_next("bob");
    c.key(KeyCode::Enter);
    let displayed = c.last_entry()["seq"].as_u64().unwrap();
    c.key(KeyCode::Char('l'));
    c.key(KeyCode::Up); // the release, above its display
    let s = c.screen_at(160, 40);
    assert_shows(
        &s,
        &format!("-> displayed: confirmed (entry {displayed}); NOT REVIEWED"),
    );
}

#[test]
fn the_ledger_view_lists_filters_details_and_exports() {
    let mut c = console();
    c.start_release("audit me");
    c.approve_next("alice");
    c.approve_next("bob");
    c.key(KeyCode::Enter);
    c.key(KeyCode::Char('l'));
    c.app.settle();
    let s = c.screen_at(200, 50);
    assert_shows(&s, "Ledger verified ✓");
    assert_shows(&s, "genesis");
    assert_shows(&s, "displayed");
    // Pick the releases, and see the approvals.
    c.key(KeyCode::Char('f'));
    c.key(KeyCode::Char('r'));
    c.key(KeyCode::Enter);
    let s = c.screen_at(200, 50);
    assert_shows(&s, "kind release");
    assert_shows(&s, "1 of 4 entries");
    assert_shows(&s, "audit me");
    assert_shows(&s, "bob");
    // Filter by officer: carol approved nothing.
    c.key(KeyCode::Char('o'));
    c.type_text("carol");
    c.key(KeyCode::Enter);
    assert_shows(&c.screen(), "0 of 4 entries");
    c.key(KeyCode::Char('c'));
    assert_shows(&c.screen(), "4 of 4 entries");
    // Export.
    let out = c.dir.path().join("bundle");
    c.key(KeyCode::Char('e'));
    // The offered directory gives way to what is pasted.
    c.app.on_paste(out.to_str().unwrap());
    c.key(KeyCode::Enter);
    c.key(KeyCode::Char('y'));
    assert_shows(&c.screen(), "Exported 4 entries");
    assert!(out.join("entries.jsonl").is_file() && out.join("checkpoint.asc").is_file());
}

/// The kind filter is a picker of the kinds this ledger holds, each with
/// its count, chosen with the arrows or a first letter; it is not a fixed
/// cycle through kinds that may not occur, and keys typed while it is open
/// go to it, not to the screen behind.
#[test]
fn the_kind_filter_is_a_picker_of_the_kinds_the_ledger_holds() {
    let mut c = console();
    c.start_release("audit me");
    c.approve_next("alice");
    c.approve_next("bob");
    c.key(KeyCode::Enter);
    c.key(KeyCode::Char('l'));
    c.app.settle();
    c.key(KeyCode::Char('f'));
    let s = c.screen();
    assert_shows(&s, "Show kind");
    for (kind, n) in [
        ("all", 4),
        ("deposit", 1),
        ("displayed", 1),
        ("genesis", 1),
        ("release", 1),
    ] {
        let row = row_with(&s, &format!("│ {kind} "));
        assert!(row.contains(&format!(" {n} ")), "{kind}: {row}\n{s}");
    }
    assert!(
        !s.contains(" refused "),
        "a kind the ledger lacks is offered:\n{s}"
    );
    assert_shows(s.lines().last().unwrap(), "Enter show · Esc keep");
    // A first letter goes to the next kind starting with it.
    c.key(KeyCode::Char('d'));
    c.key(KeyCode::Char('d'));
    // q is not "back" while the picker is open.
    c.key(KeyCode::Char('q'));
    c.key(KeyCode::Enter);
    let s = c.screen();
    assert!(!s.contains("Show kind"), "{s}");
    assert_shows(&s, "kind displayed");
    assert_shows(&s, "1 of 4 entries");
    // Opened again, it starts on the kind shown (Enter keeps it); Esc
    // keeps it whatever was chosen.
    c.key(KeyCode::Char('f'));
    c.key(KeyCode::Enter);
    assert_shows(&c.screen(), "kind displayed");
    c.key(KeyCode::Char('f'));
    c.key(KeyCode::Down);
    c.key(KeyCode::Esc);
    assert_shows(&c.screen(), "kind displayed");
    // The first row, all, clears the kind.
    c.key(KeyCode::Char('f'));
    c.key(KeyCode::Home);
    c.key(KeyCode::Enter);
    let s = c.screen();
    assert_shows(&s, "kind all");
    assert_shows(&s, "4 of 4 entries");
}

#[test]
fn export_asks_before_writing_and_shows_the_whole_path_wrapped() {
    let mut c = console();
    c.key(KeyCode::Char('l'));
    // A path longer than the screen is wide.
    let deep = c
        .dir
        .path()
        .join("audits/2027/quarter-one/the-auditors-share/breakglass-ledger-export-for-review");
    c.key(KeyCode::Char('e'));
    c.app.on_paste(deep.to_str().unwrap());
    c.key(KeyCode::Enter);
    let s = c.screen();
    assert_whole(
        &s,
        &[
            "Write the ledger's export bundle into this directory?",
            "Enter/y exports; Esc/n goes back and writes nothing.",
        ],
    );
    // Every character of the path is on screen, in order, across rows.
    let drawn: String = s
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c == ' '))
        .collect();
    assert!(drawn.contains(deep.to_str().unwrap()), "{s}");
    assert!(!deep.exists(), "written before it was confirmed");
    // Keys other than the answers do nothing, neither filter nor export.
    for k in ['f', 'e', 'l', 's'] {
        c.key(KeyCode::Char(k));
    }
    assert!(!deep.exists());
    assert_shows(&c.screen(), "Write the ledger's export bundle");
    c.key(KeyCode::Char('n'));
    let s = c.screen();
    assert!(!s.contains("Write the ledger's export"), "{s}");
    assert_shows(&s, "· ledger ·");
    assert!(!deep.exists());
    // Esc also writes nothing; y writes it.
    c.key(KeyCode::Char('e'));
    c.app.on_paste(deep.to_str().unwrap());
    c.key(KeyCode::Enter);
    c.key(KeyCode::Esc);
    assert!(!deep.exists());
    c.key(KeyCode::Char('e'));
    c.app.on_paste(deep.to_str().unwrap());
    c.key(KeyCode::Enter);
    c.key(KeyCode::Char('y'));
    assert!(deep.join("entries.jsonl").is_file());
}

#[test]
fn help_opens_on_question_mark_and_closes_on_any_key() {
    let mut c = console();
    c.key(KeyCode::Char('?'));
    let s = c.screen();
    assert_shows(&s, "Any key closes this help.");
    assert_shows(&s, "breakglass console");
    assert_shows(&s, "l ledger · o officers");
    c.key(KeyCode::Char('x'));
    assert!(!c.screen().contains("Any key closes this help"));
    assert!(!c.app.should_quit());
}

#[test]
fn q_and_esc_close_the_help_and_do_what_they_say() {
    // `?` then `q` used to leave the console open, and what was typed next
    // (a shell command) ran as single-key actions.
    let mut c = console();
    c.key(KeyCode::Char('?'));
    assert_whole(
        &c.screen(),
        &["Any key closes this help. q and Esc then act as usual (q quits from home)."],
    );
    c.key(KeyCode::Char('q'));
    assert!(c.app.should_quit(), "{}", c.screen());

    let mut c = console();
    c.key(KeyCode::Char('l'));
    c.key(KeyCode::Char('?'));
    c.key(KeyCode::Esc);
    let s = c.screen();
    assert_shows(&s, "· home ·");
    assert!(!s.contains("Any key closes"), "{s}");
    assert!(!c.app.should_quit());
}

#[test]
fn below_80x24_it_says_the_terminal_is_too_small() {
    let c = console();
    assert_shows(&c.screen_at(79, 24), "Terminal too small");
    assert_shows(&c.screen_at(80, 23), "Terminal too small");
    assert!(!c.screen_at(80, 24).contains("Terminal too small"));
}

#[test]
fn no_color_means_no_colour() {
    let c = console();
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| c.app.render(f)).unwrap();
    for cell in t.backend().buffer().content() {
        assert!(
            matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
            "{cell:?}"
        );
    }
}

#[test]
fn q_quits_from_home_and_esc_goes_back_elsewhere() {
    let mut c = console();
    c.key(KeyCode::Char('l'));
    c.key(KeyCode::Esc);
    assert_shows(&c.screen(), "Quorum 2 of 3");
    assert!(!c.app.should_quit());
    c.key(KeyCode::Char('q'));
    assert!(c.app.should_quit());
}

#[test]
fn a_locked_vault_says_so_on_the_home_screen() {
    let c = console();
    let path = c.app.vault().path().to_owned();
    let dir = c.dir;
    drop(c.app);
    // Change the last entry's bytes behind the vault's back.
    let v = Vault::open(&path).unwrap();
    let size = v.status().unwrap().ledger_size;
    let (_, mut last) = v.ledger_entries().last().unwrap().unwrap();
    let n = last.len();
    last[n - 3] ^= 1;
    v.store()
        .transact(|tx| {
            tx.put(
                breakglass::store::Table::Ledger,
                &(size - 1).to_be_bytes(),
                &last,
            )
        })
        .unwrap();
    drop(v);
    let mut app = App::new(Vault::open(&path).unwrap(), Theme::new(false), Vec::new()).unwrap();
    app.settle();
    let c = Console {
        app,
        clock: ManualClock::new(0),
        dir,
    };
    assert_shows(&c.screen_at(200, 50), "LOCKED");
}

#[test]
fn the_reveal_clears_on_time_even_when_the_clock_was_set_back() {
    let mut c = console();
    // The clock was set back an hour: vault time stands still at the last
    // entry until it catches up, but the reveal's countdown must run.
    c.clock.advance(-3600);
    c.start_release("drill");
    c.approve_next("alice");
    c.approve_next("bob");
    assert_shows(&c.screen(), "K7QX P2MW");
    c.clock.advance(60);
    c.app.tick();
    assert_no_code(&c.screen());
    assert_eq!(c.last_entry()["outcome"], "timeout");
}

#[test]
fn officers_choose_themselves_in_any_order_and_see_their_own_statement() {
    let mut c = console();
    c.start_release("drill");
    c.key(KeyCode::Down);
    c.key(KeyCode::Down);
    let s = c.screen();
    assert_shows(&s, "carol signs:");
    assert_shows(&s, "officer  carol");
    c.key(KeyCode::Enter);
    c.sign("carol");
    assert_shows(&c.screen(), "✓ carol");
    c.approve_next("alice");
    assert_shows(&c.screen(), "K7QX P2MW");
}

// ---- Issue 10: the console at 3 a.m. ----

/// A console whose officers deposit `codes` into `okta/recovery` through
/// the deposit screen, pasted as one bracketed paste.
fn paste_deposit(c: &mut Console, pasted: &str) {
    c.key(KeyCode::Char('d'));
    c.key(KeyCode::Enter); // alice
    c.sign("alice");
    c.type_text("okta/recovery");
    c.key(KeyCode::Enter);
    c.app.on_paste(pasted);
}

#[test]
fn pasted_codes_split_at_cr_lf_and_crlf() {
    // tmux and most terminals separate pasted lines with CR alone.
    for pasted in [
        "AAAA-1111\rBBBB-2222\rCCCC-3333",
        "AAAA-1111\r\nBBBB-2222\r\nCCCC-3333\r\n",
        "AAAA-1111\nBBBB-2222\rCCCC-3333\n",
    ] {
        let mut c = console_with(&[]);
        paste_deposit(&mut c, pasted);
        assert_shows(&c.screen(), "3 codes entered");
        c.ctrl('d');
        assert_shows(&c.screen(), "Deposit 3 codes into okta/recovery?");
        c.key(KeyCode::Char('y'));
        assert_shows(&c.screen(), "Deposited 3 codes into okta/recovery");
        let last = c.last_entry();
        assert_eq!(
            (last["count"].as_u64(), last["total"].as_u64()),
            (Some(3), Some(3))
        );
    }
}

#[test]
fn a_code_with_a_control_or_format_character_is_never_stored() {
    for bad in ['\t', '\u{202E}', '\u{200B}', '\u{7}'] {
        let mut c = console_with(&[]);
        paste_deposit(&mut c, &format!("GOOD-1111\rBAD{bad}2222\r"));
        assert_shows(&c.screen(), "2 codes entered");
        c.key(KeyCode::Enter);
        let s = c.screen();
        assert_shows(
            &s,
            &format!("Code 2 of 2: it contains U+{:04X}", bad as u32),
        );
        assert_shows(&s, "Esc to start again.");
        assert!(!s.contains("Deposit 2 codes"), "{s}");
        assert!(!s.contains("GOOD") && !s.contains("BAD"), "{s}");
        assert_eq!(c.kinds(), ["genesis"]);
    }
}

#[test]
fn reasons_with_bidi_or_format_characters_are_refused() {
    let mut c = console();
    c.key(KeyCode::Char('r'));
    c.app.on_paste("INC-42 \u{202E}detaler");
    c.key(KeyCode::Enter);
    let s = c.screen();
    assert_shows(&s, "U+202E");
    assert_shows(&s, "Reason:");
    assert!(!c.kinds().contains(&"refused".to_string()));
}

/// The rows of `screen` holding block glyphs, with their index.
fn glyph_rows(screen: &str) -> Vec<(usize, String)> {
    screen
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(['█', '▀', '▄']))
        .map(|(i, l)| (i, l.to_string()))
        .collect()
}

/// `text` drawn by tui-big-text alone, left-aligned: the reference rows.
fn reference_rows(text: &str, size: tui_big_text::PixelSize, gw: u16, gh: u16) -> Vec<String> {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::widgets::Widget;
    let w = text.chars().count() as u16 * gw;
    let mut buf = Buffer::empty(Rect::new(0, 0, w, gh));
    tui_big_text::BigText::builder()
        .pixel_size(size)
        .lines(vec![ratatui::text::Line::from(text.to_string())])
        .left_aligned()
        .build()
        .render(buf.area, &mut buf);
    (0..gh)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect())
        .collect()
}

/// Column (in characters) where `row` holds `want`, which must be the same
/// for every non-blank reference row.
fn block_column(rows: &[(usize, String)], reference: &[String]) -> usize {
    let mut col = None;
    for (r, want) in rows.iter().zip(reference) {
        if want.trim().is_empty() {
            continue;
        }
        let chars: Vec<char> = r.1.chars().collect();
        let want: Vec<char> = want.chars().collect();
        let at = (0..=chars.len() - want.len())
            .find(|&x| chars[x..x + want.len()] == want[..])
            .unwrap_or_else(|| panic!("row {} does not hold its glyphs:\n{}", r.0, r.1));
        assert_eq!(*col.get_or_insert(at), at, "row {} is shifted", r.0);
    }
    col.unwrap()
}

#[test]
fn the_large_code_is_one_block_every_row_starting_in_the_same_column() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut c = console();
        c.start_release("drill");
        c.approve_next("alice");
        c.approve_next("bob");
        let s = c.screen_at(w, h);
        let rows = glyph_rows(&s);
        assert!(rows.len() >= 7, "{s}");
        let reference = reference_rows("K7QX P2MW", tui_big_text::PixelSize::Full, 8, 8);
        let col = block_column(&rows, &reference);
        // Centred as a block.
        let left = col;
        let right = w as usize - (col + 72);
        assert!(left.abs_diff(right) <= 1, "{left} vs {right}:\n{s}");
        assert_shows(&s, "K7QX P2MW");
        assert_shows(&s, "exactly: K7QX-P2MW");
    }
}

#[test]
fn long_codes_wrap_between_groups_then_shrink_then_show_plain_never_cut() {
    // 24 characters: six groups, three lines of two groups at half height.
    let long = "ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut c = console_with(&[long]);
    c.start_release("drill");
    c.approve_next("alice");
    c.approve_next("bob");
    let s = c.screen();
    let rows = glyph_rows(&s);
    assert_eq!(rows.len(), 12, "{s}");
    let mut cols = Vec::new();
    for (i, line) in ["ABCD EFGH", "JKLM NPQR", "STUV WXYZ"].iter().enumerate() {
        let reference = reference_rows(line, tui_big_text::PixelSize::HalfHeight, 8, 4);
        cols.push(block_column(&rows[i * 4..i * 4 + 4], &reference));
    }
    assert!(cols.iter().all(|c| *c == cols[0]), "{cols:?}\n{s}");
    assert_shows(&s, "ABCD EFGH JKLM NPQR STUV WXYZ");
    assert_shows(&s, &format!("exactly: {long}"));

    // Far too long to draw large at 80×24: plain text, every group whole.
    let huge: String = (0..30).map(|i| ["K7QX", "P2MW", "R4TZ"][i % 3]).collect();
    let mut c = console_with(&[&huge]);
    c.start_release("drill");
    c.approve_next("alice");
    c.approve_next("bob");
    let s = c.screen();
    assert!(glyph_rows(&s).is_empty(), "{s}");
    let shown: String = s.replace('│', " ").split_whitespace().collect();
    assert!(shown.contains(&huge), "the code is cut:\n{s}");
}

#[test]
fn while_the_terminal_is_too_small_only_q_and_ctrl_c_act() {
    let mut c = console();
    c.app.on_resize(60, 16);
    assert_shows(&c.screen_at(60, 16), "Terminal too small");
    let before = c.kinds();
    for key in [
        KeyCode::Char('r'),
        KeyCode::Enter,
        KeyCode::Char('d'),
        KeyCode::Char('l'),
        KeyCode::Esc,
        KeyCode::Char('?'),
    ] {
        c.key(key);
    }
    c.app.on_resize(80, 24);
    let s = c.screen();
    assert_shows(&s, "Quorum 2 of 3");
    assert!(!s.contains("Any key closes this help"), "{s}");
    assert_eq!(c.kinds(), before);
    assert!(!c.app.should_quit());

    // On the reveal, Enter while too small does not confirm what cannot be
    // seen; the code is still there once the window is large again.
    c.start_release("drill");
    c.approve_next("alice");
    c.approve_next("bob");
    c.app.on_resize(70, 20);
    let s = c.screen_at(70, 20);
    assert_no_code(&s);
    c.key(KeyCode::Enter);
    c.key(KeyCode::Esc);
    c.app.on_resize(80, 24);
    assert_shows(&c.screen(), "K7QX P2MW");
    assert_eq!(c.remaining(), (2, 1));
    c.app.on_resize(70, 20);
    c.key(KeyCode::Char('q'));
    assert!(c.app.should_quit());
    assert_eq!(c.last_entry()["outcome"], "dismissed");
}

#[test]
fn a_half_typed_passphrase_does_not_survive_a_too_small_window() {
    // Keys typed while the window was too small were dropped, the half
    // typed passphrase stayed, and typing it again whole was a wrong
    // passphrase, logged, one of the three attempts gone.
    let mut c = console();
    c.app.on_resize(80, 24);
    c.start_release("INC-11");
    c.key(KeyCode::Enter);
    c.type_text(&secret_of("alice")[..5]);
    c.app.on_resize(60, 20);
    let s = c.screen_at(60, 20);
    assert_shows(&s, "Terminal too small");
    let joined = s.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    assert!(
        joined.contains(
            "A release of github/admin is in progress: 0 of 2 approvals; it expires in 15:00."
        ),
        "{s}"
    );
    c.type_text("ignored");
    c.app.on_resize(80, 24);
    let s = c.screen();
    assert_whole(
        &s,
        &["The window was too small, so what you had typed hidden was"],
    );
    let before = c.kinds();
    c.sign("alice");
    assert_shows(&c.screen(), "alice approved (1 of 2).");
    let after = c.kinds();
    assert!(
        !after[before.len()..].contains(&"auth_failed".to_string()),
        "{after:?}"
    );
}

#[test]
fn esc_asks_before_discarding_approvals() {
    let mut c = console();
    c.start_release("drill");
    c.approve_next("alice");
    // Esc at bob's passphrase, then Esc again: the second one asks.
    c.key(KeyCode::Enter);
    c.key(KeyCode::Esc);
    c.key(KeyCode::Esc);
    let s = c.screen();
    assert_shows(&s, "Cancel the release and discard 1 approval (alice)?");
    assert_shows(&s, "y discard the approvals and cancel");
    // Anything but y keeps collecting.
    c.key(KeyCode::Esc);
    let s = c.screen();
    assert_shows(&s, "1 of 2 approvals");
    assert!(!c.kinds().contains(&"cancelled".to_string()));
    c.approve_next("bob");
    assert_shows(&c.screen(), "K7QX P2MW");

    // With no approval yet there is nothing to lose: Esc leaves at once.
    let mut c = console();
    c.start_release("drill");
    c.key(KeyCode::Esc);
    assert_shows(
        &c.screen(),
        "Release cancelled and logged; 0 approvals discarded.",
    );
}

#[test]
fn wrong_passphrases_are_counted_three_per_officer_then_that_officer_is_out() {
    let mut c = console();
    c.start_release("drill");
    c.key(KeyCode::Enter);
    for n in 1..=2 {
        c.type_text("wrong-pass");
        c.key(KeyCode::Enter);
        c.app.settle();
        let s = c.screen();
        assert_shows(
            &s,
            &format!("Wrong passphrase for alice (attempt {n} of 3, logged)"),
        );
        assert_shows(
            &s,
            &format!("Passphrase for alice (hidden, attempt {} of 3)", n + 1),
        );
    }
    c.type_text("wrong-pass");
    c.key(KeyCode::Enter);
    c.app.settle();
    c.app.tick();
    let s = c.screen();
    assert_shows(&s, "Wrong passphrase for alice 3 times");
    assert_shows(&s, "alice cannot approve this");
    assert_shows(&s, "✗ alice (3 wrong)");
    assert_shows(&s, "bob signs:");
    assert_eq!(c.kinds().iter().filter(|k| *k == "auth_failed").count(), 3);
    c.approve_next("bob");
    c.approve_next("carol");
    assert_shows(&c.screen(), "K7QX P2MW");

    // When too few officers are left for the quorum, the release ends.
    let mut c = console();
    c.start_release("drill");
    for _ in 0..2 {
        c.key(KeyCode::Enter);
        for _ in 0..3 {
            c.type_text("wrong-pass");
            c.key(KeyCode::Enter);
            c.app.settle();
            c.app.tick();
        }
    }
    let s = c.screen();
    assert_shows(&s, "Release cancelled: wrong passphrase for bob 3 times");
    assert_shows(&s, "Quorum 2 of 3");
    assert_eq!(c.last_entry()["kind"], "cancelled");
}

#[test]
fn three_wrong_passphrases_end_a_deposit() {
    let mut c = console_with(&[]);
    c.key(KeyCode::Char('d'));
    c.key(KeyCode::Enter);
    for n in 1..=3 {
        c.type_text("wrong-pass");
        c.key(KeyCode::Enter);
        c.app.settle();
        c.app.tick();
        if n < 3 {
            assert_shows(&c.screen(), &format!("(attempt {n} of 3, logged)"));
        }
    }
    assert_shows(
        &c.screen(),
        "Deposit abandoned: wrong passphrase for alice 3 times",
    );
}

#[test]
fn ctrl_c_on_the_reveal_leaves_a_note_for_the_exit_status() {
    let mut c = console();
    c.start_release("drill");
    c.approve_next("alice");
    c.approve_next("bob");
    c.ctrl('c');
    assert!(c.app.should_quit());
    let note = c.app.exit_note().expect("a note for stderr").to_string();
    for want in [
        "github/admin #1 was released",
        "ledger entry 2",
        "without confirmation",
    ] {
        assert!(note.contains(want), "{note}");
    }
    assert!(!note.contains("K7QX"), "{note}");
    // Leaving from anywhere else needs no note.
    let mut c = console();
    c.ctrl('c');
    assert!(c.app.should_quit() && c.app.exit_note().is_none());
}

#[test]
fn the_reveal_screen_maps_ctrl_c_to_an_interrupt() {
    use breakglass::tui::{RevealKey, RevealScreen};
    use breakglass::vault::{Displayed, Released};
    let r = Released {
        secret: "github/admin".into(),
        index: 0,
        kind: SecretKind::Codes,
        seq: 3,
        re_release_of: None,
        officers: vec!["alice".into(), "bob".into()],
        value: SecretValue::new("K7QX-P2MW".into()),
        signer: None,
    };
    let screen = RevealScreen::new(&r, 60);
    let k = |code, m| screen.on_key(KeyEvent::new(code, m));
    assert_eq!(
        k(KeyCode::Char('c'), KeyModifiers::CONTROL),
        RevealKey::Interrupt
    );
    assert_eq!(
        k(KeyCode::Enter, KeyModifiers::NONE),
        RevealKey::End(Displayed::Confirmed)
    );
    assert_eq!(
        k(KeyCode::Char('p'), KeyModifiers::NONE),
        RevealKey::ToggleSpelling
    );
}

#[test]
fn the_reveal_of_a_credential_ends_with_rotate_it_now() {
    use breakglass::tui::RevealScreen;
    use breakglass::vault::Released;
    let r = released(SecretKind::Credential, "db/root", "hunter2-root");
    let screen = RevealScreen::new(&r, 60);
    for (w, h) in [(80, 24), (200, 50)] {
        let (text, joined) = reveal_text(&screen, w, h);
        assert!(text.contains("hunter2-root"), "{text}");
        assert!(
            joined.contains(
                "Rotate it now: change it at its system, then run breakglass rotate db/root."
            ),
            "{text}"
        );
    }
    // Codes are spent when shown: no such line.
    let code = Released {
        kind: SecretKind::Codes,
        secret: "github/admin".into(),
        value: SecretValue::new("K7QX-P2MW".into()),
        ..r
    };
    let screen = RevealScreen::new(&code, 60);
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| screen.render(f, f.area(), 0)).unwrap();
    let text: String = t
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(!text.contains("Rotate it now"), "{text}");
}

/// A released item as the vault hands it over, released by alice and bob
/// as entry 5.
fn released(kind: SecretKind, secret: &str, value: &str) -> breakglass::vault::Released {
    breakglass::vault::Released {
        secret: secret.into(),
        index: 0,
        kind,
        seq: 5,
        re_release_of: None,
        officers: vec!["alice".into(), "bob".into()],
        value: SecretValue::new(value.into()),
        signer: None,
    }
}

/// `screen` drawn at `w`×`h`: its rows, and the rows trimmed and joined.
fn reveal_text(screen: &breakglass::tui::RevealScreen<'_>, w: u16, h: u16) -> (String, String) {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| screen.render(f, f.area(), 0)).unwrap();
    let rows: Vec<String> = t
        .backend()
        .buffer()
        .content()
        .chunks(w as usize)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect();
    let joined = rows
        .iter()
        .map(|r| r.trim_matches(|c: char| c == '│' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ");
    (rows.join("\n"), joined)
}

#[test]
fn a_credential_is_read_aloud_on_p_with_a_warning_and_its_symbols_named() {
    use breakglass::tui::{RevealKey, RevealScreen};
    let r = released(SecretKind::Credential, "db/root", "S3cr3t-r0ot!");
    let plain = RevealScreen::new(&r, 60);
    assert_eq!(
        plain.on_key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::NONE)),
        RevealKey::ToggleSpelling
    );
    let (_, joined) = reveal_text(&plain, 80, 24);
    assert!(joined.contains("p: read aloud"), "{joined}");
    let (rows, joined) = reveal_text(&RevealScreen::new(&r, 60).spelled(true), 80, 24);
    for want in [
        "Read aloud, this speaks the secret: only to the one person who needs it, where no one else can hear.",
        "Sierra Three lowercase Charlie lowercase Romeo Three lowercase Tango",
        "dash",
        "exclamation mark",
        "Look-alikes in this credential: S = Sierra, 0 = Zero, o = lowercase Oscar.",
        "p: as typed",
    ] {
        assert!(joined.contains(want), "{want:?} missing:\n{rows}");
    }
}

#[test]
fn a_code_is_spelled_at_its_own_dash_and_the_dash_is_said() {
    use breakglass::tui::RevealScreen;
    let r = released(SecretKind::Codes, "github/admin", "k0l1m-n2o3p");
    let (rows, joined) = reveal_text(&RevealScreen::new(&r, 60), 80, 24);
    assert!(joined.contains("k0l1m n2o3p"), "{rows}");
    assert!(!joined.contains("k0l1 mn2o"), "{rows}");
    let (rows, _) = reveal_text(&RevealScreen::new(&r, 60).spelled(true), 80, 24);
    let dash = rows
        .lines()
        .find(|l| l.contains("dash"))
        .expect("the dash is said");
    assert!(dash.contains(" -  "), "{rows}");
    let after = rows.lines().position(|l| l.contains("dash")).unwrap();
    let before = rows
        .lines()
        .position(|l| l.contains("lowercase Kilo Zero lowercase Lima One lowercase Mike"))
        .expect("the first group");
    assert!(before < after, "{rows}");
}

#[test]
fn p_reads_the_code_aloud_and_it_is_cleared_with_the_reveal() {
    let mut c = console();
    c.start_release("drill");
    c.approve_next("alice");
    c.approve_next("bob");
    c.key(KeyCode::Char('p'));
    let s = c.screen();
    assert_shows(&s, "K7QX  Kilo Seven Quebec X-ray");
    assert_shows(&s, "P2MW  Papa Two Mike Whiskey");
    assert_shows(&s, "p: large letters");
    assert!(!s.contains("Look-alikes"), "{s}");
    assert!(glyph_rows(&s).is_empty());
    // Back to large letters, and the countdown still runs.
    c.key(KeyCode::Char('p'));
    assert!(!glyph_rows(&c.screen()).is_empty());
    c.key(KeyCode::Char('p'));
    c.key(KeyCode::Enter);
    for s in [c.screen(), c.screen_at(200, 50)] {
        assert_no_code(&s);
        assert!(!s.contains("Kilo") && !s.contains("Whiskey"), "{s}");
    }
}

#[test]
fn reading_aloud_names_the_look_alikes_a_code_holds() {
    let mut c = console_with(&["B0OK-5SIl-8"]);
    c.start_release("drill");
    c.approve_next("alice");
    c.approve_next("bob");
    c.key(KeyCode::Char('p'));
    let s = c.screen();
    assert_shows(&s, "B0OK  Bravo Zero Oscar Kilo");
    assert_shows(&s, "5SIl  Five Sierra India lowercase Lima");
    assert_shows(&s, "8     Eight");
    let joined = s.replace(['│', '\n'], " ");
    let joined: String = joined.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        joined.contains("B = Bravo, 0 = Zero, O = Oscar, 5 = Five, S = Sierra, I = India, l = lowercase Lima, 8 = Eight"),
        "{s}"
    );
    c.clock.advance(60);
    c.app.tick();
    assert!(!c.screen().contains("Bravo"));
}

/// Every phrase must be on one row of the screen, whole.
fn assert_whole(screen: &str, phrases: &[&str]) {
    for p in phrases {
        assert!(
            screen.lines().any(|l| l.contains(p)),
            "{p:?} is not whole on one row:\n{screen}"
        );
    }
}

#[test]
fn every_screen_fits_80x24_without_cutting_words() {
    let mut c = console();
    // Home, with an unconfirmed release note.
    c.start_release("first drill of the night shift");
    c.approve_next("alice");
    c.approve_next("bob");
    c.key(KeyCode::Esc);
    assert_whole(
        &c.screen(),
        &[
            "1 released, unconfirmed",
            "dismissed without",
            "Quorum 2 of 3",
            "q quit",
        ],
    );
    // A re-release on the reveal, large and spelled.
    c.start_release("again");
    c.approve_next("alice");
    c.approve_next("bob");
    let s = c.screen();
    assert_whole(
        &s,
        &[
            "as ledger entry 4",
            "(a re-release of entry 2).",
            "Esc: clear unconfirmed",
            "clears in 60 s",
            "exactly: K7QX-P2MW",
        ],
    );
    c.key(KeyCode::Char('p'));
    assert_whole(&c.screen(), &["Kilo Seven Quebec X-ray", "clears in 60 s"]);
    c.key(KeyCode::Enter);
    assert_whole(&c.screen(), &["confirmed seen and logged."]);
    // Release: the statement, the cancel question, a wrong passphrase.
    c.start_release("IdP outage INC-4242, all admins locked out");
    assert_whole(
        &c.screen(),
        &["alice signs:", "0 of 2 approvals", "Esc cancel release"],
    );
    c.key(KeyCode::Enter);
    c.type_text("wrong");
    c.key(KeyCode::Enter);
    c.app.settle();
    assert_whole(
        &c.screen(),
        &[
            "Wrong passphrase for alice (attempt 1 of 3, logged).",
            "choose another officer.",
        ],
    );
    c.sign("alice");
    c.key(KeyCode::Esc);
    assert_whole(
        &c.screen(),
        &[
            "discard 1 approval (alice)?",
            "any other key: keep collecting",
        ],
    );
    c.key(KeyCode::Char('y'));
    assert_whole(
        &c.screen(),
        &["Release cancelled and logged; 1 approval discarded."],
    );
    // Deposit.
    c.key(KeyCode::Char('d'));
    assert_whole(&c.screen(), &["Which officer deposits?", "Esc back"]);
    c.key(KeyCode::Enter);
    c.sign("alice");
    c.type_text("okta/recovery");
    c.key(KeyCode::Enter);
    c.app.on_paste("ONE-CODE");
    assert_whole(
        &c.screen(),
        &["An empty line or Ctrl-D ends.", "1 code entered"],
    );
    c.key(KeyCode::Enter);
    c.key(KeyCode::Enter);
    assert_whole(&c.screen(), &["Deposit 1 code into okta/recovery?"]);
    c.key(KeyCode::Char('y'));
    assert_whole(
        &c.screen(),
        &["Deposited 1 code into okta/recovery (1 in all)"],
    );
    // The ledger view and help.
    c.key(KeyCode::Char('l'));
    c.app.settle();
    assert_whole(
        &c.screen(),
        &["Ledger verified ✓", "REASON", "v verify", "q back"],
    );
    c.key(KeyCode::Esc);
    c.key(KeyCode::Char('?'));
    assert_whole(
        &c.screen(),
        &[
            "p reads it aloud (NATO); it clears itself after 60 s.",
            "Any key closes this help. q and Esc then act as usual (q quits from home).",
        ],
    );
}

#[test]
fn the_ledger_view_serves_auditors() {
    let mut c = console();
    c.app.set_export_base(c.dir.path().to_path_buf());
    c.start_release("audit me");
    c.approve_next("alice");
    c.approve_next("bob");
    c.key(KeyCode::Enter);
    c.key(KeyCode::Char('l'));
    c.app.settle();
    // The reason has its own column.
    let s = c.screen();
    assert_whole(&s, &["REASON", "audit me"]);
    // The filter prompt is where the keys are, with its own keys.
    c.key(KeyCode::Char('s'));
    let s = c.screen();
    let last = s.lines().last().unwrap().to_string();
    assert!(
        last.contains("Secret contains:") && last.contains("Enter filter · Esc cancel"),
        "{s}"
    );
    c.type_text("nothing-like-this");
    c.key(KeyCode::Enter);
    let s = c.screen();
    assert_shows(&s, "0 of 4 entries");
    assert_shows(&s, "No entries match these filters.");
    c.key(KeyCode::Char('c'));
    // v says what it did.
    c.key(KeyCode::Char('v'));
    assert_shows(&c.screen(), "Verifying the whole ledger again…");
    c.app.settle();
    let s = c.screen();
    assert_shows(&s, "Verified the whole ledger again at");
    assert_shows(&s, "4 entries, ");
    assert_shows(&s, "signatures ✓");
    // A message does not outlive the next key.
    c.key(KeyCode::Down);
    assert!(!c.screen().contains("Verified the whole"));
    // Export offers a directory, and says where it went, absolutely.
    c.key(KeyCode::Char('e'));
    let s = c.screen();
    assert_shows(&s, "Export to:");
    assert_shows(&s, "-ledger-");
    c.key(KeyCode::Enter);
    c.key(KeyCode::Char('y'));
    let bundle = std::fs::read_dir(c.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("breakglass-ledger-")
        })
        .expect("the default bundle directory");
    assert!(bundle.join("ledger-cert.asc").is_file());
    let s = c.screen_at(200, 50);
    assert_shows(&s, &format!("Exported 4 entries to {}", bundle.display()));
    assert!(bundle.is_absolute());
    // A relative name is taken from the same place and shown absolute.
    c.key(KeyCode::Char('e'));
    c.type_text("rel-bundle");
    c.key(KeyCode::Enter);
    c.key(KeyCode::Enter);
    let abs = c.dir.path().join("rel-bundle");
    assert!(abs.join("entries.jsonl").is_file());
    assert_shows(&c.screen_at(200, 50), &format!("to {}", abs.display()));
}

#[test]
fn on_a_wide_terminal_the_home_notes_stay_beside_their_rows() {
    // At 120 columns the name column took every extra column, and the
    // notes began at column 100.
    let mut c = console();
    c.start_release("INC-3");
    c.approve_next("alice");
    c.approve_next("bob");
    c.key(KeyCode::Esc); // unconfirmed: the row has a note
    let note_col = |s: &str| row_with(s, "REMAINING").find("NOTE").unwrap();
    let narrow = c.screen_at(80, 24);
    let wide = c.screen_at(160, 40);
    assert_eq!(note_col(&narrow), note_col(&wide), "{wide}");
    assert!(note_col(&wide) < 60, "{wide}");
    let row = row_with(&wide, "2 of 3 left");
    assert_eq!(
        row.find("1 released, unconfirmed"),
        Some(note_col(&wide)),
        "{wide}"
    );
}

#[test]
fn the_home_screen_gives_the_ledger_size_once() {
    let c = console();
    let s = c.screen();
    assert_eq!(s.matches("entries").count(), 1, "{s}");
    assert_eq!(s.matches("Ledger").count(), 1, "{s}");
}

#[test]
fn the_demo_console_opens_on_the_secret_the_demo_suggests() {
    let dir = tempfile::tempdir().unwrap();
    let demo = breakglass::demo::create(&dir.path().join("demo")).unwrap();
    assert_eq!(demo.suggested, "github/admin");
    assert_eq!(
        demo.secrets,
        [
            "aws/root-mfa",
            "github/admin",
            "okta/recovery",
            "postgres/root"
        ]
    );
    let suggested = demo.suggested.clone();
    let mut app = App::new(demo.vault, Theme::new(false), Vec::new()).unwrap();
    app.select(&suggested);
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| app.render(f)).unwrap();
    let s: String = t
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(s.contains("Release from github/admin"), "{s}");
}

#[test]
fn a_vault_locked_by_a_disk_writer_says_why_on_the_home_screen() {
    let c = console();
    let path = c.app.vault().path().to_owned();
    let dir = c.dir;
    drop(c.app);
    // A consumed-state rollback: item 1 released, then reset on disk.
    {
        let mut v = Vault::open(&path).unwrap();
        let mut req = v.begin_release("github/admin", "drill").unwrap();
        v.approve(&mut req, "alice", &pass("alice")).unwrap();
        v.approve(&mut req, "bob", &pass("bob")).unwrap();
        let mut r = v.complete_release(req).unwrap();
        v.record_display(&mut r, breakglass::vault::Displayed::Confirmed)
            .unwrap();
        let key = b"github/admin\0\0\0\0\0";
        use breakglass::records::Record;
        let mut rec = breakglass::records::ItemRecord::decode(
            &v.store()
                .get(breakglass::store::Table::Items, key)
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        rec.state = breakglass::records::ItemState::Available;
        v.store()
            .transact(|tx| tx.put(breakglass::store::Table::Items, key, &rec.encode()?))
            .unwrap();
    }
    let mut app = App::new(Vault::open(&path).unwrap(), Theme::new(false), Vec::new()).unwrap();
    app.settle();
    let mut c = Console {
        app,
        clock: ManualClock::new(0),
        dir,
    };
    // Starting a release finds it, locks, and home says why.
    c.start_release("after the rollback");
    c.app.settle();
    c.app.tick();
    c.key(KeyCode::Esc);
    let s = c.screen_at(200, 50);
    assert_shows(&s, "LOCKED");
    assert_shows(&s, "github/admin #1");
    assert_no_code(&s);
}

#[test]
fn a_clock_behind_the_ledger_is_warned_about_on_the_home_screen() {
    let c = console();
    c.clock.set_wall(1_800_000_000 - 86_400);
    let mut c = c;
    c.app.tick();
    c.app.settle();
    let s = c.screen_at(200, 50);
    assert_shows(&s, "CLOCK");
    assert_shows(&s, "earlier than the ledger's last entry");
}

#[test]
fn the_console_delivers_alerts_in_the_background_and_warns_when_they_fail() {
    let mut c = console();
    let sink = file_hook(&mut c);
    let hook = c.dir.path().join("hook.sh");
    c.start_release("INC-9 alerts");
    c.approve_next("alice");
    c.approve_next("bob");
    // The reveal is on screen; delivery runs beside it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut delivered = String::new();
    while std::time::Instant::now() < deadline {
        c.app.tick();
        delivered = std::fs::read_to_string(&sink).unwrap_or_default();
        if delivered.contains("\\\"kind\\\":\\\"release\\\"") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        delivered.contains("\\\"kind\\\":\\\"release\\\""),
        "the release was not alerted: {delivered}"
    );
    // A broken hook: home warns that events are undelivered.
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'receiver at 10.0.0.7 refused the event: connection reset by peer after 3 tries, giving up until the next run' >&2\nexit 3\n",
    )
    .unwrap();
    c.key(KeyCode::Enter); // confirm the reveal: one more entry
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        c.app.tick();
        if c.screen_at(200, 50).contains("ALERTS") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_shows(&c.screen_at(200, 50), "ALERTS");
    // At 80 columns the whole warning is there, to what to do about it,
    // once the courier has recorded the failure.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline && !c.screen_at(200, 50).contains("status 3") {
        c.app.tick();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let s = c.screen();
    let joined = s.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    assert!(
        joined.contains("exited with status 3: receiver at 10.0.0.7 refused the event"),
        "{s}"
    );
    assert!(
        joined.contains("fix the hook or its receiver, then `breakglass alerts retry`"),
        "{s}"
    );
}

// ---- Officers and ceremonies (issue 9) ----

const DAVE: &str = "dave-pass-4444";

/// No officer's passphrase, nor dave's, is anywhere on `screen`.
fn assert_no_passphrase(screen: &str) {
    for p in OFFICERS.iter().map(|(_, p)| *p).chain([DAVE]) {
        assert!(!screen.contains(p), "a passphrase is on screen:\n{screen}");
    }
}

/// Every cell is drawn without colour (the console's theme is NO_COLOR).
fn assert_no_colour(c: &Console) {
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| c.app.render(f)).unwrap();
    for cell in t.backend().buffer().content() {
        assert!(
            matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
            "{cell:?}"
        );
    }
}

/// The screen's row that holds `needle`.
fn row_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle:?}:\n{screen}"))
}

#[test]
fn the_officers_screen_shows_each_last_drill() {
    let mut c = console();
    c.key(KeyCode::Char('o'));
    let s = c.screen();
    assert_whole(
        &s,
        &["OFFICER", "LAST DRILL (UTC)", "Quorum 2 of 3", "Esc back"],
    );
    assert_shows(row_with(&s, "alice"), "never");
    c.key(KeyCode::Esc);
    c.app.vault().drill("alice", &pass("alice")).unwrap();
    c.clock.advance(3 * 86_400);
    c.key(KeyCode::Char('o'));
    let s = c.screen();
    assert_shows(row_with(&s, "alice"), "2027-01-15 08:00, 3 days ago");
    assert_shows(row_with(&s, "bob"), "never");
    assert_no_passphrase(&s);
    assert_no_colour(&c);
    c.key(KeyCode::Char('a'));
    assert_whole(
        &c.screen(),
        &["a name the vault has never used.", "New officer's name: ▏"],
    );
    c.key(KeyCode::Esc);
    assert_whole(&c.screen(), &["k rekey"]);
}

#[test]
fn an_end_to_end_drill_overdue_shows_on_the_officers_screen_and_home() {
    let mut c = console();
    c.key(KeyCode::Char('o'));
    assert!(!c.screen().contains("OVERDUE"));
    c.key(KeyCode::Esc);
    // A passphrase drill is not an end-to-end one: alice's, on day 80,
    // leaves her owing one on day 91 like the others.
    c.clock.advance(80 * 86_400);
    c.app.vault().drill("alice", &pass("alice")).unwrap();
    c.clock.advance(11 * 86_400);
    c.key(KeyCode::Char('o'));
    let s = c.screen();
    for officer in ["alice", "bob", "carol"] {
        assert_shows(row_with(&s, officer), "end-to-end drill OVERDUE");
    }
    assert_whole(&s, &["(e): a whole release of a canary."]);
    c.key(KeyCode::Esc);
    c.app.settle();
    assert_shows(&c.screen(), "OVERDUE drill for alice");
}

/// Home → officers → `a`, the name, Enter: the review screen.
fn begin_add(c: &mut Console, name: &str) {
    c.key(KeyCode::Char('o'));
    c.key(KeyCode::Char('a'));
    c.type_text(name);
    c.key(KeyCode::Enter);
}

#[test]
fn adding_an_officer_shows_current_and_proposed_before_anyone_signs() {
    let mut c = console();
    let entries = c.kinds().len();
    begin_add(&mut c, "dave");
    let s = c.screen();
    // Side by side on one row each, before any signature.
    assert_shows(row_with(&s, "CURRENT (epoch 0)"), "PROPOSED (epoch 1)");
    assert_shows(row_with(&s, "2 of 3"), "2 of 4");
    assert_shows(&s, "+ dave (joins)");
    assert_whole(
        &s,
        &[
            "Nothing is signed yet.",
            "Needs 2 approvals",
            "Enter begin signing",
        ],
    );
    // What the new epoch carries, counted from the ledger: the console's
    // three deposited codes, none seen yet.
    assert_shows(
        &s.split_whitespace().collect::<Vec<_>>().join(" "),
        "Carries 1 secret: 3 items not yet seen",
    );
    assert!(
        !s.contains("every officer is needed"),
        "2 of 4 is not m of m: {s}"
    );
    assert_no_colour(&c);
    assert_eq!(c.kinds().len(), entries, "reviewing logs nothing");

    c.key(KeyCode::Enter);
    let s = c.screen();
    assert_whole(
        &s,
        &[
            "alice signs:",
            "ceremony  officer_add",
            "quorum  2 of 4",
            "officers  alice, bob, carol, dave",
            "0 of 2 approvals",
            "Esc cancel ceremony",
        ],
    );
    assert_no_colour(&c);
    c.approve_next("alice");
    assert_whole(&c.screen(), &["alice approved (1 of 2).", "bob signs:"]);
    c.approve_next("bob");
    let s = c.screen();
    assert_whole(
        &s,
        &[
            "alice, bob approved (2 of 2).",
            "New passphrase for dave (hidden)",
        ],
    );

    // Too short, then two that differ, then the same twice.
    c.type_text("short");
    c.key(KeyCode::Enter);
    assert_whole(&c.screen(), &["must have at least 8 characters."]);
    c.type_text(DAVE);
    c.key(KeyCode::Enter);
    assert_shows(&c.screen(), "dave, again to confirm (hidden): ▏");
    c.type_text("dave-pass-4445");
    assert_shows(
        &c.screen(),
        "dave, again to confirm (hidden): ••••••••••••••▏",
    );
    c.key(KeyCode::Enter);
    assert_whole(&c.screen(), &["The two passphrases for dave differ."]);
    c.type_text(DAVE);
    c.key(KeyCode::Enter);
    c.type_text(DAVE);
    assert_no_passphrase(&c.screen());
    c.key(KeyCode::Enter);
    assert_whole(&c.screen(), &["Re-encrypting the vault for epoch 1…"]);
    c.app.settle();

    let st = c.app.vault().status().unwrap();
    assert_eq!((st.threshold, st.officers.len(), st.epoch), (2, 4, 1));
    let s = c.screen();
    assert_whole(
        &s,
        &[
            "Epoch 1: 2 of 4 (alice, bob, carol, dave); ledger entry",
            "Quorum 2 of 4",
            "new share waiting (drill to take it)",
        ],
    );
    assert_shows(row_with(&s, "carol"), "new share waiting");
    assert!(!row_with(&s, "dave ").contains("waiting"), "{s}");
    assert_no_passphrase(&s);
    assert_eq!(c.last_entry()["kind"], "rekey");

    // dave's passphrase is the one typed twice; carol's drill takes her share.
    c.app
        .vault()
        .drill("dave", &Passphrase::new(DAVE.to_string()))
        .unwrap();
    c.app.vault().drill("carol", &pass("carol")).unwrap();
    c.key(KeyCode::Esc);
    c.key(KeyCode::Char('o'));
    let s = c.screen();
    assert!(!s.contains("share waiting"), "{s}");
    assert_shows(row_with(&s, "carol"), "2027-01-15 08:00");
    assert_shows(&c.screen(), "Quorum 2 of 4");
    c.key(KeyCode::Esc);
    assert_shows(&c.screen(), "Quorum 2 of 4");
}

#[test]
fn removing_an_officer_then_below_the_threshold_is_refused_with_one_message() {
    let mut c = console();
    c.key(KeyCode::Char('o'));
    c.key(KeyCode::Down);
    c.key(KeyCode::Down);
    c.key(KeyCode::Char('x'));
    let s = c.screen();
    assert_whole(&s, &["Remove officer carol", "− carol (leaves)"]);
    assert_shows(row_with(&s, "2 of 3"), "2 of 2");
    c.key(KeyCode::Enter);
    c.approve_next("alice");
    c.approve_next("bob");
    let st = c.app.vault().status().unwrap();
    assert_eq!(
        (st.threshold, st.officers.clone()),
        (2, vec!["alice".to_string(), "bob".into()])
    );
    assert_whole(
        &c.screen(),
        &["Epoch 1: 2 of 2 (alice, bob)", "Quorum 2 of 2"],
    );

    // bob is selected: removing him would leave 1 officer for a threshold of 2.
    let entries = c.kinds().len();
    c.key(KeyCode::Down);
    c.key(KeyCode::Char('x'));
    let s = c.screen();
    assert_whole(
        &s,
        &["Refused (logged): removing would leave 1", "Quorum 2 of 2"],
    );
    assert_shows(&s, "· officers ·");
    assert_eq!(c.kinds().len(), entries + 1);
    assert_eq!(c.last_entry()["kind"], "refused");
    let after = c.app.vault().status().unwrap();
    assert_eq!(
        (after.threshold, after.officers, after.epoch),
        (2, st.officers, 1)
    );
    assert_no_colour(&c);
}

#[test]
fn the_threshold_changes_to_three_after_the_quorum_approves() {
    let mut c = console();
    c.key(KeyCode::Char('o'));
    c.key(KeyCode::Char('t'));
    assert_whole(&c.screen(), &["New threshold:", "Enter continue"]);
    c.type_text("x");
    c.key(KeyCode::Enter);
    assert_whole(
        &c.screen(),
        &["Type a number of officers, from 2 to 3, or Esc."],
    );
    c.key(KeyCode::Backspace);
    c.type_text("3");
    c.key(KeyCode::Enter);
    let s = c.screen();
    assert_whole(&s, &["Change the threshold: 2 → 3"]);
    assert_shows(row_with(&s, "2 of 3"), "3 of 3");
    // On the proposed side, before anyone signs: 3 of 3 is fragile.
    assert_whole(
        &s,
        &[
            "Warning: every officer is needed (3 of 3)",
            "every secret is locked for good",
        ],
    );
    c.key(KeyCode::Enter);
    assert_whole(&c.screen(), &["quorum  3 of 3"]);
    c.approve_next("alice");
    c.approve_next("bob");
    let st = c.app.vault().status().unwrap();
    assert_eq!((st.threshold, st.officers.len()), (3, 3));
    assert_whole(
        &c.screen(),
        &[
            "Epoch 1: 3 of 3 (alice, bob, carol)",
            "carol takes the new share",
        ],
    );
    // A threshold out of range is refused and changes nothing.
    c.key(KeyCode::Char('t'));
    c.type_text("4");
    c.key(KeyCode::Enter);
    assert_shows(&c.screen(), "Refused (logged):");
    assert_eq!(c.app.vault().status().unwrap().threshold, 3);
}

#[test]
fn a_ceremony_counts_wrong_passphrases_and_asks_before_discarding_approvals() {
    let mut c = console();
    c.key(KeyCode::Char('o'));
    c.key(KeyCode::Char('k'));
    assert_whole(&c.screen(), &["Rekey: new keys, same officers"]);
    c.key(KeyCode::Enter);
    c.key(KeyCode::Enter);
    c.type_text("wrong-guess");
    c.key(KeyCode::Enter);
    c.app.settle();
    c.app.tick();
    let s = c.screen();
    assert_whole(
        &s,
        &[
            "Wrong passphrase for alice (attempt 1 of 3, logged).",
            "Passphrase for alice (hidden, attempt 2 of 3)",
        ],
    );
    assert!(!s.contains("wrong-guess"), "{s}");
    assert_eq!(c.last_entry()["kind"], "auth_failed");
    c.sign("alice");
    c.key(KeyCode::Esc);
    assert_whole(
        &c.screen(),
        &[
            "Cancel the ceremony and discard 1 approval (alice)?",
            "any other key: keep collecting",
        ],
    );
    c.key(KeyCode::Char('n'));
    assert_shows(&c.screen(), "bob signs:");
    c.key(KeyCode::Esc);
    c.key(KeyCode::Char('y'));
    assert_whole(
        &c.screen(),
        &[
            "Ceremony cancelled and logged; 1 approval discarded.",
            "Quorum 2 of 3",
        ],
    );
    let last = c.last_entry();
    assert_eq!(
        (last["kind"].as_str(), last["ceremony"].as_str()),
        (Some("cancelled"), Some("rekey"))
    );
    assert_eq!(c.app.vault().status().unwrap().epoch, 0);
    // The ledger still verifies after all of it.
    c.key(KeyCode::Esc);
    c.app.settle();
    assert_shows(&c.screen(), "verified ✓");
}

#[test]
fn ceremony_approvals_expire_while_waiting() {
    let mut c = console();
    begin_add(&mut c, "dave");
    c.key(KeyCode::Enter);
    c.approve_next("alice");
    c.clock.advance(16 * 60);
    c.app.tick();
    assert_whole(
        &c.screen(),
        &["Ceremony ended: its approvals expired", "Quorum 2 of 3"],
    );
    assert_eq!(c.last_entry()["kind"], "expired");
    assert_eq!(c.app.vault().status().unwrap().officers.len(), 3);
}

#[test]
fn help_and_keys_name_the_officer_screens() {
    let mut c = console();
    assert_whole(&c.screen(), &["o officers", "q quit"]);
    c.key(KeyCode::Char('o'));
    assert_whole(
        &c.screen(),
        &["a add  x remove  t threshold  k rekey  ? help  Esc back"],
    );
    c.key(KeyCode::Char('?'));
    assert_whole(
        &c.screen(),
        &[
            "o officers",
            "d drill · e end-to-end drill ·",
            "a add · x remove · t threshold · k rekey: a ceremony shows current",
            "and proposed side by side",
        ],
    );
    c.key(KeyCode::Char('x'));
    // The key closed the help and did nothing else.
    assert_shows(&c.screen(), "· officers ·");
    assert_no_colour(&c);
}

#[test]
fn an_officer_drills_from_the_officers_screen_and_takes_a_waiting_share() {
    let mut c = console();
    // A ceremony that carol does not attend leaves her share waiting.
    c.key(KeyCode::Char('o'));
    c.key(KeyCode::Char('k'));
    c.key(KeyCode::Enter);
    c.approve_next("alice");
    c.approve_next("bob");
    assert_shows(row_with(&c.screen(), "carol"), SHARE_WAITING);
    c.key(KeyCode::Down);
    c.key(KeyCode::Down);
    c.key(KeyCode::Char('d'));
    assert_whole(
        &c.screen(),
        &[
            "Passphrase for carol (hidden): ▏",
            "carol proves their passphrase still opens their share; nothing is released.",
            "1 officer has a new share waiting: a drill (d) takes it.",
        ],
    );
    c.type_text("not-carols");
    c.key(KeyCode::Enter);
    c.app.settle();
    c.app.tick();
    let s = c.screen();
    assert_whole(
        &s,
        &[
            "Wrong passphrase for carol (attempt 1 of 3, logged).",
            "Passphrase for carol (hidden, attempt 2 of 3)",
        ],
    );
    assert!(!s.contains("not-carols"), "{s}");
    c.sign("carol");
    let s = c.screen();
    assert_whole(
        &s,
        &["carol's passphrase unlocks their share; drill logged as ledger entry"],
    );
    assert_shows(row_with(&s, "carol"), "2027-01-15 08:00");
    assert!(!s.contains("share waiting"), "{s}");
    assert_no_passphrase(&s);
    assert_eq!(c.last_entry()["kind"], "drill");
    // Her new share opens: carol approves a release in the new epoch.
    c.key(KeyCode::Esc);
    c.start_release("after the rekey");
    c.key(KeyCode::Down);
    c.key(KeyCode::Down);
    c.approve_next("carol");
    c.approve_next("alice");
    assert_shows(&c.screen(), "K7QX");
}

#[test]
fn ctrl_c_during_a_ceremony_cancels_it_and_logs_the_cancellation() {
    let mut c = console();
    begin_add(&mut c, "dave");
    c.key(KeyCode::Enter);
    c.approve_next("alice");
    c.ctrl('c');
    assert!(c.app.should_quit());
    let last = c.last_entry();
    assert_eq!(
        (last["kind"].as_str(), last["approvals"].as_u64()),
        (Some("cancelled"), Some(1))
    );
    assert_eq!(c.app.vault().status().unwrap().officers.len(), 3);
    assert_eq!(
        c.app.interrupted(),
        Some("interrupted: the officer_add ceremony was cancelled with 1 approval given (logged)")
    );
}

#[test]
fn ctrl_c_that_cuts_a_release_short_says_so_for_exit_status_130() {
    // It used to exit 0 with nothing on stderr, though an approval was
    // discarded.
    let mut c = console();
    c.start_release("INC-7");
    c.approve_next("alice");
    c.ctrl('c');
    assert!(c.app.should_quit());
    assert_eq!(
        c.app.interrupted(),
        Some(
            "interrupted: the release of github/admin was cancelled with 1 approval given (logged)"
        )
    );
    assert_eq!(c.app.exit_note(), None);
    assert_eq!(c.last_entry()["kind"], "cancelled");
    // Ctrl-C with nothing in progress is a plain quit.
    let mut c = console();
    c.key(KeyCode::Char('l'));
    c.ctrl('c');
    assert!(c.app.should_quit());
    assert_eq!((c.app.interrupted(), c.app.exit_note()), (None, None));
    // On the reveal the item's own note wins (exit 1), not an interruption.
    let mut c = console();
    c.start_release("INC-8");
    c.approve_next("alice");
    c.approve_next("bob");
    c.ctrl('c');
    assert!(c.app.exit_note().is_some() && c.app.interrupted().is_none());
}

/// Runs `breakglass --vault DIR ARGS` (the real binary), as an auditor
/// would beside the console.
fn reader(c: &Console, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_breakglass"))
        .env_remove("BREAKGLASS_VAULT")
        .arg("--vault")
        .arg(c.dir.path().join("v"))
        .args(["--wait", "2"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn an_idle_console_lets_readers_in_and_its_next_release_still_works() {
    let mut c = console();
    c.app.idle();
    let out = reader(&c, &["list", "--json"]);
    assert!(out.status.success(), "{:?}", out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("github/admin"));

    // Mid-release, between approvals, readers still get in.
    c.start_release("IdP outage INC-8");
    c.approve_next("alice");
    c.app.idle();
    let out = reader(&c, &["ledger", "verify"]);
    assert!(out.status.success(), "{:?}", out);
    c.approve_next("bob");
    assert_shows(&c.screen(), "K7QX P2MW");
    c.key(KeyCode::Enter);
    c.app.idle();
    let out = reader(&c, &["ledger", "show"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("release") && shown.contains("confirmed"),
        "{shown} {:?}",
        out
    );
    // A second writer is refused while the console is open.
    let out = reader(&c, &["drill", "--officer", "alice"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{:?}",
        out
    );
}

/// The seq column of the ledger table's rows on `screen` (rows start with
/// the number in the first column).
fn table_seqs(screen: &str) -> Vec<u64> {
    screen
        .lines()
        .skip_while(|l| !l.starts_with("SEQ"))
        .skip(1)
        .take_while(|l| !l.contains(" Entry "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn a_long_ledger_scrolls_a_window_at_a_time_and_filters_find_old_entries() {
    let mut c = console();
    for _ in 0..60 {
        c.app.vault().drill("carol", &pass("carol")).unwrap();
    }
    let total = c.kinds().len() as u64;
    c.key(KeyCode::Char('l'));
    // Opens on the newest entry; only the rows that fit are drawn.
    let s = c.screen();
    let seqs = table_seqs(&s);
    assert!(seqs.contains(&(total - 1)), "{s}");
    assert!(!seqs.contains(&0), "{s}");
    assert!(seqs.len() < 24, "{s}");
    assert_shows(&s, &format!("{total} of {total} entries"));

    // Home shows the genesis; PageDown moves ten at a time, the selection
    // always on screen.
    c.key(KeyCode::Home);
    let s = c.screen();
    assert_eq!(table_seqs(&s).first(), Some(&0), "{s}");
    assert_shows(&s, "genesis");
    for _ in 0..3 {
        c.key(KeyCode::PageDown);
    }
    let s = c.screen();
    assert!(table_seqs(&s).contains(&30), "{s}");
    assert_shows(&s, "seq: 30");
    c.key(KeyCode::End);
    assert!(table_seqs(&c.screen()).contains(&(total - 1)));

    // A filter finds the one deposit far up the ledger.
    c.key(KeyCode::Char('f'));
    c.key(KeyCode::Char('d'));
    c.key(KeyCode::Enter);
    let s = c.screen();
    assert_shows(&s, "kind deposit");
    assert_shows(&s, &format!("1 of {total} entries"));
    assert_eq!(table_seqs(&s), vec![1], "{s}");
}

#[test]
fn the_ledger_view_folds_ciphertexts_and_says_how_each_display_ended() {
    let mut c = console();
    c.start_release("INC-12");
    c.approve_next("alice");
    c.approve_next("bob");
    c.key(KeyCode::Enter);
    c.key(KeyCode::Char('l'));
    let s = c.screen_at(200, 50);
    // The display's row gives its outcome where a release gives a reason.
    let row = s
        .lines()
        .find(|l| l.starts_with("3 ") && l.contains("displayed"))
        .expect(&s);
    assert_shows(row, "confirmed");
    // The deposit's detail: each ciphertext one folded line.
    c.key(KeyCode::Home);
    c.key(KeyCode::Down);
    let s = c.screen_at(120, 40);
    assert_shows(&s, "seq: 1");
    assert_shows(&s, "ciphertexts:");
    assert_shows(&s, "[2] ");
    assert!(s.contains(" characters)"), "{s}");
    let longest_run = s
        .split(|c: char| !(c.is_ascii_alphanumeric() || "+/=".contains(c)))
        .map(str::len)
        .max()
        .unwrap_or(0);
    // Digests (44 characters) are drawn whole; no ciphertext is.
    assert!(longest_run < 60, "a long base64 run is drawn:\n{s}");
}

#[test]
fn a_filter_applied_at_the_end_of_a_long_ledger_shows_every_match() {
    // "6 of 13 entries" over one row and blanks: the window stayed where
    // the unfiltered list had scrolled to.
    let mut c = console();
    for reason in ["INC-1", "INC-2"] {
        c.start_release(reason);
        c.approve_next("alice");
        c.approve_next("bob");
        c.key(KeyCode::Enter);
    }
    for _ in 0..30 {
        c.app.vault().drill("carol", &pass("carol")).unwrap();
    }
    let total = c.kinds().len();
    c.key(KeyCode::Char('l'));
    // Drawn as the console draws after every key: scrolled to the end.
    assert!(table_seqs(&c.screen()).contains(&(total as u64 - 1)));
    c.key(KeyCode::Char('s'));
    // The prompt is hard to miss: the filter row says where the keys go.
    assert_whole(
        &c.screen(),
        &["Typing the secret filter on the bottom line: Enter applies it, Esc cancels."],
    );
    c.type_text("github/admin");
    c.key(KeyCode::Enter);
    let s = c.screen();
    assert!(!s.contains("Typing the secret filter"), "{s}");
    // The deposit, two releases and their two displays.
    assert_shows(&s, &format!("5 of {total} entries"));
    assert_eq!(table_seqs(&s), vec![1, 2, 3, 4, 5], "{s}");
}

#[test]
fn a_reader_holding_the_vault_fails_an_approval_cleanly_and_the_approvals_stay() {
    use breakglass::store::{Access, Store};
    let mut c = console();
    c.start_release("busy reader");
    c.approve_next("alice");
    c.app.idle();
    // An auditor's long read has the database when bob signs.
    let reader = Store::open_with(&c.dir.path().join("v"), Access::Read).unwrap();
    breakglass::store::set_lock_wait(std::time::Duration::from_millis(300));
    c.approve_next("bob");
    let s = c.screen();
    assert_shows(&s, "in use");
    assert_shows(&s, "1 of 2 approvals");
    assert_no_code(&s);
    drop(reader);
    assert!(
        !c.kinds().contains(&"release".to_string()),
        "released while the database was busy"
    );
    // Once the reader is done, bob signs again and the release completes.
    c.approve_next("bob");
    assert_shows(&c.screen(), "K7QX P2MW");
}

#[test]
fn a_restore_gap_is_said_on_the_home_screen_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    // The console's vault, closed, backed up, and restored without replay.
    let Console { app, dir: old, .. } = console();
    drop(app);
    let backup = dir.path().join("backup");
    let mut v = Vault::open(&old.path().join("v")).unwrap();
    v.backup(&backup).unwrap();
    drop(v);
    let clock = ManualClock::new(1_800_000_100);
    let (v, report) = Vault::restore(
        &backup,
        &dir.path().join("restored"),
        None,
        &[],
        Arc::new(clock.clone()),
    )
    .unwrap();
    assert!(report.gap);
    let mut app = App::new(v, Theme::new(false), Vec::new()).unwrap();
    app.settle();
    let c = Console { app, clock, dir };
    let s = c.screen_at(200, 50);
    assert_shows(&s, "GAP");
    assert_shows(&s, "acknowledge-gap");
    let Console { app, dir, .. } = c;
    drop(app);
    let mut v = Vault::open(&dir.path().join("restored")).unwrap();
    v.acknowledge_gap(&[("alice", &pass("alice")), ("bob", &pass("bob"))])
        .unwrap();
    let mut app = App::new(v, Theme::new(false), Vec::new()).unwrap();
    app.settle();
    let c = Console {
        app,
        clock: ManualClock::new(1_800_000_200),
        dir,
    };
    assert!(!c.screen_at(200, 50).contains("GAP"));
}

// ---- End-to-end drill from the console (issue 18) ----

/// Sets `hook.sh` in `c`'s directory as its vault's alert hook, appending
/// each event to the file it returns.
fn file_hook(c: &mut Console) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let sink = c.dir.path().join("alerts.jsonl");
    let hook = c.dir.path().join("hook.sh");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\ncat >> '{}'\necho >> '{}'\n",
            sink.display(),
            sink.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let v = c.app.vault();
    let s = v
        .authenticate("alice", &pass("alice"), "alerts", None)
        .unwrap();
    v.set_alert_hook(&s, hook.to_str().unwrap(), &[], None)
        .unwrap();
    sink
}

/// Officers screen → `e` → `first` starts the drill and deposits the
/// canary → `approvers` release it → the reveal is confirmed: the console
/// is on the delivery check.
fn end_to_end_drill(c: &mut Console, first: &str, approvers: &[&str]) {
    c.key(KeyCode::Char('o'));
    let at = OFFICERS.iter().position(|(n, _)| *n == first).unwrap();
    for _ in 0..at {
        c.key(KeyCode::Down);
    }
    c.key(KeyCode::Char('e'));
    let s = c.screen();
    assert_whole(
        &s,
        &[
            "End-to-end drill",
            "Which officer starts the drill?",
            "then a quorum releases it, it is shown, and the alert hook must",
        ],
    );
    // The officer selected on the officers screen is the one chosen here.
    c.key(KeyCode::Enter);
    assert_shows(&c.screen(), &format!("Passphrase for {first} (hidden)"));
    c.sign(first);
    assert_whole(
        &c.screen(),
        &[
            "Release from drill/canary",
            "reason  end-to-end drill",
            &format!("Drill: {first} deposited a canary code (ledger entry"),
        ],
    );
    for a in approvers {
        // The list is clamped: to the top, then down to `a`.
        for _ in 0..OFFICERS.len() {
            c.key(KeyCode::Up);
        }
        for _ in 0..OFFICERS.len() {
            if c.screen().contains(&format!("{a} signs:")) {
                break;
            }
            c.key(KeyCode::Down);
        }
        c.approve_next(a);
    }
    let s = c.screen();
    assert_whole(
        &s,
        &["drill/canary — code #1", "exactly: breakglass-canary-"],
    );
    assert_no_code(&s);
    c.key(KeyCode::Enter);
}

#[test]
fn an_end_to_end_drill_from_the_console_releases_a_canary_and_proves_the_hook() {
    let mut c = console();
    let sink = file_hook(&mut c);
    // Day 80: the drill resets the 90 days of the officers who took part.
    c.clock.advance(80 * 86_400);
    end_to_end_drill(&mut c, "alice", &["alice", "bob"]);
    // The check is drawn before the console waits for the hook.
    assert_whole(
        &c.screen(),
        &[
            "The canary was released (ledger entry",
            "Checking that the alert hook takes every event of the drill (up to",
        ],
    );
    c.app.tick();
    let s = c.screen();
    assert_whole(
        &s,
        &[
            "Drill passed (ledger entry",
            "quorum, reveal, ledger and alert hook all worked;",
        ],
    );
    let drill = c.last_entry();
    let kinds = c.kinds();
    // Entries count from 0, genesis.
    let release = kinds.iter().rposition(|k| k == "release").unwrap() as u64;
    assert_eq!(
        (
            drill["kind"].as_str(),
            drill["result"].as_str(),
            drill["delivery"].as_str(),
            drill["actor"].as_str(),
            drill["release"].as_u64(),
        ),
        (
            Some("drill"),
            Some("passed"),
            Some("delivered"),
            Some("alice+bob"),
            Some(release)
        ),
        "{kinds:?}"
    );
    assert_eq!(&kinds[kinds.len() - 3..], ["release", "displayed", "drill"]);
    // The hook took the canary's release, and the drill's own result.
    let delivered = std::fs::read_to_string(&sink).unwrap();
    assert!(
        delivered.contains("\\\"secret\\\":\\\"drill/canary\\\""),
        "{delivered}"
    );
    assert!(
        delivered.contains("\\\"result\\\":\\\"passed\\\""),
        "{delivered}"
    );
    // Nothing real was consumed, and the canary is not a secret on home.
    let real = c.app.vault().secrets().unwrap();
    let admin = real.iter().find(|s| s.name == "github/admin").unwrap();
    assert_eq!((admin.remaining, admin.unconfirmed), (3, 0));
    c.key(KeyCode::Esc);
    assert!(
        !c.screen_at(120, 40).contains("drill/canary"),
        "{}",
        c.screen_at(120, 40)
    );
    // Day 91: alice and bob drilled end to end on day 80; carol did not.
    c.clock.advance(11 * 86_400);
    c.key(KeyCode::Char('o'));
    let s = c.screen();
    for officer in ["alice", "bob"] {
        assert!(!row_with(&s, officer).contains("OVERDUE"), "{s}");
    }
    assert_shows(row_with(&s, "carol"), "end-to-end drill OVERDUE");
    c.app.idle();
    let out = reader(&c, &["ledger", "verify"]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn an_end_to_end_drill_without_an_alert_hook_fails_and_says_why() {
    let mut c = console();
    end_to_end_drill(&mut c, "bob", &["bob", "carol"]);
    c.app.tick();
    c.app.tick();
    assert_whole(
        &c.screen(),
        &[
            "Drill FAILED (logged as ledger entry",
            "no alert hook is set",
            "prove alerts fire (breakglass alerts set).",
        ],
    );
    let drill = c.last_entry();
    assert_eq!(
        (drill["result"].as_str(), drill["delivery"].as_str()),
        (Some("failed"), Some("no_hook"))
    );
    // A failed drill does not count: every officer still owes one.
    c.clock.advance(91 * 86_400);
    c.key(KeyCode::Esc);
    c.key(KeyCode::Char('o'));
    let s = c.screen();
    for officer in ["alice", "bob", "carol"] {
        assert_shows(row_with(&s, officer), "end-to-end drill OVERDUE");
    }
}

#[test]
fn three_wrong_passphrases_abandon_an_end_to_end_drill_before_any_canary() {
    let mut c = console();
    c.key(KeyCode::Char('o'));
    c.key(KeyCode::Char('e'));
    c.key(KeyCode::Enter);
    assert_whole(
        &c.screen(),
        &["Passphrase for alice (hidden)", "Enter sign  Esc back"],
    );
    for _ in 0..3 {
        c.type_text("not-alices");
        c.key(KeyCode::Enter);
        c.app.settle();
        c.app.tick();
    }
    let s = c.screen();
    assert_whole(
        &s,
        &[
            "Drill abandoned: wrong passphrase for alice 3 times (logged).",
            "LAST DRILL (UTC)",
        ],
    );
    assert!(!s.contains("not-alices"), "{s}");
    let kinds = c.kinds();
    assert_eq!(
        kinds.iter().filter(|k| *k == "auth_failed").count(),
        3,
        "{kinds:?}"
    );
    assert!(
        !kinds.iter().any(|k| k == "release" || k == "drill"),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "deposit").count(),
        1,
        "{kinds:?}"
    );
}

/// A second console beside a writer (issue: round two, 7) opens on a
/// reader: it shows home, the ledger and the officers, says who writes,
/// refuses every key that would write (with that holder named) and logs
/// nothing, never keeps the database from the writer, and shows the
/// writer's work when it looks again.
#[test]
fn a_read_only_console_beside_a_writer_shows_but_never_writes() {
    let mut w = console();
    w.app.idle();
    let path = w.dir.path().join("v");
    let holder = "pid 4242 on /dev/pts/9, a console: press q there";
    let mut app = App::new(
        Vault::open_reader(&path).unwrap(),
        Theme::new(false),
        Vec::new(),
    )
    .unwrap();
    app.set_read_only(holder.to_string());
    app.settle();
    let mut r = Console {
        app,
        clock: w.clock.clone(),
        dir: tempfile::tempdir().unwrap(),
    };
    let before = w.kinds();
    let s = r.screen();
    assert_shows(&s, "home · read-only ·");
    assert_whole(
        &s,
        &["READ-ONLY: another process writes to this vault (pid 4242 on /dev/pts/9, a"],
    );
    let bar = s.lines().last().unwrap();
    assert!(
        bar.contains("l ledger") && !bar.contains("release") && !bar.contains("deposit"),
        "{s}"
    );
    // Release, deposit and review are refused where they would start.
    for k in [
        KeyCode::Char('r'),
        KeyCode::Enter,
        KeyCode::Char('d'),
        KeyCode::Char('v'),
    ] {
        r.key(k);
        let s = r.screen();
        assert_shows(&s, "home · read-only");
        assert_shows(
            &s,
            "Read-only console: releases, deposits, reviews, drills and",
        );
        assert_shows(&s, "pid 4242 on /dev/pts/9");
    }
    // The officers screen shows; its drills and ceremonies are refused.
    r.key(KeyCode::Char('o'));
    assert_shows(&r.screen(), "officers · read-only");
    for k in ['d', 'e', 'a', 'x', 't', 'k'] {
        r.key(KeyCode::Char(k));
        let s = r.screen();
        assert_shows(&s, "Read-only console:");
        assert!(
            !s.contains("Passphrase") && !s.contains("New officer"),
            "{k}: {s}"
        );
    }
    // The ledger reads, filters and verifies.
    r.key(KeyCode::Esc);
    r.key(KeyCode::Char('l'));
    r.app.settle();
    let s = r.screen();
    assert_shows(&s, "ledger · read-only");
    assert_shows(&s, "verified ✓");
    r.key(KeyCode::Char('f'));
    assert_shows(&r.screen(), "Show kind");
    r.key(KeyCode::Esc);
    r.key(KeyCode::Esc);
    assert_eq!(
        w.kinds(),
        before,
        "the read-only console wrote to the ledger"
    );

    // The writer works beside it at once: the reader holds nothing open.
    w.start_release("beside a reader");
    w.approve_next("alice");
    w.approve_next("bob");
    w.key(KeyCode::Enter);
    w.app.idle();
    assert!(
        w.kinds()
            .ends_with(&["release".to_string(), "displayed".to_string()])
    );
    // Within a refresh, home shows what the writer released.
    assert_shows(&r.screen(), "3 of 3 left");
    for _ in 0..60 {
        r.app.tick();
    }
    r.app.settle();
    assert_shows(&r.screen(), "2 of 3 left");
}
