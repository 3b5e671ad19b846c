//! The console, rendered to `TestBackend` and driven by scripted keys with a
//! manual clock: no test sleeps. Each asserts on what an officer sees.

use std::sync::Arc;

use breakglass::clock::ManualClock;
use breakglass::crypto::KdfParams;
use breakglass::records::SecretKind;
use breakglass::tui::App;
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
    assert_shows(&s, "Ledger verified");
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
    let s = c.screen();
    assert_shows(&s, "Release cancelled");
    assert_shows(&s, "3 of 3 left");
    let last = c.last_entry();
    assert_eq!(
        (last["kind"].as_str(), last["approvals"].as_u64()),
        (Some("cancelled"), Some(1))
    );
    assert_eq!(c.remaining(), (3, 0));
}

#[test]
fn a_secret_with_nothing_left_is_refused_on_screen_and_logged() {
    let mut c = console_with(&["ONLY-CODE"]);
    c.start_release("first");
    c.approve_next("alice");
    c.approve_next("bob");
    c.key(KeyCode::Enter);
    assert_shows(&c.screen(), "none left");
    c.start_release("second");
    let s = c.screen();
    assert_shows(&s, "nothing left to release in github/admin");
    assert_eq!(c.last_entry()["kind"], "refused");
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
    assert_shows(&s, "Deposited 3 into okta/recovery");
    assert_shows(&s, "3 of 3 left");
    assert_eq!(c.last_entry()["kind"], "deposit");
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
    assert_shows(&s, "Ledger verified");
    assert_shows(&s, "genesis");
    assert_shows(&s, "displayed");
    // Cycle the kind filter to releases, and see the approvals.
    for _ in 0..10 {
        if c.screen().contains("kind release") {
            break;
        }
        c.key(KeyCode::Char('f'));
    }
    let s = c.screen_at(200, 50);
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
    c.app.on_paste(out.to_str().unwrap());
    c.key(KeyCode::Enter);
    assert_shows(&c.screen(), "Exported 4 entries");
    assert!(out.join("entries.jsonl").is_file() && out.join("checkpoint.asc").is_file());
}

#[test]
fn help_opens_on_question_mark_and_closes_on_any_key() {
    let mut c = console();
    c.key(KeyCode::Char('?'));
    let s = c.screen();
    assert_shows(&s, "Press any key to close this help.");
    assert_shows(&s, "breakglass console");
    assert_shows(&s, "l ledger · q quit");
    c.key(KeyCode::Char('x'));
    assert!(!c.screen().contains("Press any key"));
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
