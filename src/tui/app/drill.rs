//! The console's end-to-end drill (docs/OPERATIONS.md, "End-to-end
//! drills"), as `breakglass drill --release` runs it: `e` on the officers
//! screen opens the deposit screen in canary mode; the officer who
//! authenticates deposits a canary code into `drill/canary`; the release
//! screen collects the quorum for it; the reveal shows it; then the alert
//! delivery is checked here and the result logged as a `drill` entry.
//!
//! Alert delivery has one owner at a time: the check waits for the
//! console's background courier (`jobs.rs`) to end before the drill
//! delivers, so no event goes to the hook twice.

use std::time::Duration;

use super::texts::err_text;
use super::{App, Screen};
use crate::lifecycle::DRILL_SECRET;
use crate::tui::deposit::Deposit;
use crate::tui::release::Release;
use crate::vault::{OfficerSession, Released};

/// How long the drill waits for the alert hook to take its events, as at
/// the CLI.
const DRILL_DELIVERY: Duration = Duration::from_secs(10);

/// The drill's canary was shown; its delivery is checked at the next tick,
/// once the screen saying so has been drawn.
pub(super) struct DrillCheck {
    released: Released,
    displayed: Option<u64>,
    /// The "checking the alert hook" screen has been drawn once.
    pub(super) drawn: bool,
}

impl App {
    /// Opens the start of an end-to-end drill, `first` chosen to begin it.
    pub(super) fn open_drill(&mut self, first: Option<&str>) {
        self.message = None;
        self.screen = Screen::Deposit(Box::new(Deposit::canary(
            self.status.officers.clone(),
            first,
        )));
    }

    /// `session`'s officer deposits the canary, and its release begins: on
    /// to the approvals, or back to the officers screen with the refusal.
    pub(super) fn start_drill(&mut self, session: OfficerSession) {
        let first = session.name().to_string();
        let deposited = self.vault.deposit_canary(&session);
        drop(session);
        self.generation += 1;
        let begun = deposited.and_then(|seq| {
            let req = self.vault.begin_release(DRILL_SECRET, "end-to-end drill")?;
            Ok((seq, req))
        });
        let canary = self.vault.secrets().map(|all| {
            all.into_iter()
                .filter(|s| s.name == DRILL_SECRET)
                .collect::<Vec<_>>()
        });
        match (begun, canary) {
            (Ok((seq, req)), Ok(canary)) => {
                let mut r = Release::new(
                    canary,
                    self.status.officers.clone(),
                    Some(DRILL_SECRET.into()),
                );
                r.request = Some(req);
                r.back_to_approvers();
                r.note = Some(format!(
                    "Drill: {first} deposited a canary code (ledger entry {seq}); now the quorum releases it."
                ));
                let o = r.chosen_officer();
                self.screen = Screen::Release(Box::new(r));
                self.statement_for(o);
            }
            (Err(e), _) | (_, Err(e)) => {
                self.back_to_officers(true, format!("The drill failed: {}", err_text(&e)));
            }
        }
    }

    /// The canary `released` was shown and its display recorded as entry
    /// `displayed`: the delivery check comes next.
    pub(super) fn drill_shown(&mut self, released: Released, displayed: Option<u64>) {
        self.screen = Screen::Drill(Box::new(DrillCheck {
            released,
            displayed,
            drawn: false,
        }));
    }

    /// Waits for the background courier, then delivers, checks and logs
    /// the drill, and goes back to the officers screen with the result.
    pub(super) fn finish_drill_check(&mut self) {
        let Screen::Drill(check) = std::mem::replace(&mut self.screen, Screen::Home) else {
            return;
        };
        if let Some(h) = self.alert_job.take() {
            let _ = h.join();
        }
        let result = self
            .vault
            .finish_drill(&check.released, check.displayed, DRILL_DELIVERY);
        drop(check);
        self.generation += 1;
        self.status.alerts_warning = self.vault.alert_status().ok().and_then(|a| a.warning);
        let (error, text) = match result {
            Ok(r) if r.passed => (
                false,
                format!(
                    "Drill passed (ledger entry {}): quorum, reveal, ledger and alert hook all worked; nothing real was consumed.",
                    r.seq
                ),
            ),
            Ok(r) => (
                true,
                format!(
                    "Drill FAILED (logged as ledger entry {}): {}.",
                    r.seq,
                    r.problem.as_deref().unwrap_or("a step failed")
                ),
            ),
            Err(e) => (true, format!("The drill failed: {}", err_text(&e))),
        };
        self.back_to_officers(error, text);
    }

    /// What the drill check screen says.
    pub(super) fn drill_check_lines(&self) -> Option<Vec<String>> {
        let Screen::Drill(c) = &self.screen else {
            return None;
        };
        Some(vec![
            format!(
                "The canary was released (ledger entry {}) and shown.",
                c.released.seq
            ),
            format!(
                "Checking that the alert hook takes every event of the drill (up to {} s)…",
                DRILL_DELIVERY.as_secs()
            ),
        ])
    }
}
