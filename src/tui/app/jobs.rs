//! Time and the work the console does off the UI thread: [`App::tick`]
//! (finished jobs, approval expiry, the reveal's timeout, a ceremony's
//! re-encryption), the whole-ledger verification and its line, background
//! alert delivery (I17), [`App::idle`] and [`App::settle`], which tests call
//! instead of sleeping. The Argon2 job itself is the unlock flow's
//! (`unlock.rs`).

use ratatui::text::{Line, Span};

use super::texts::err_text;
use super::{Action, App, Screen};
use crate::audit::{self, Failure, Options, Report, VaultSource};
use crate::tui::ceremony::Step as CeremonyStep;
use crate::tui::widgets::plural;
use crate::vault::Displayed;

/// How often the console retries undelivered alert events, seconds.
const ALERT_PERIOD: i64 = 30;

/// What a whole-ledger verification on its worker thread returns.
pub(super) type VerifyResult = std::result::Result<Report, Failure>;

impl App {
    fn start_verify(&mut self) {
        let store = self.vault.store().clone();
        let generation = self.generation;
        let handle =
            std::thread::spawn(move || audit::verify(&VaultSource(&store), &Options::default()));
        self.verify_job = Some((generation, handle));
    }

    /// Whether the last verification is of an older ledger than this one
    /// (or there is none yet).
    fn verification_stale(&self) -> bool {
        self.verified
            .as_ref()
            .is_none_or(|(g, _)| *g != self.generation)
    }

    /// Advances time-driven state: finished Argon2 and verification jobs,
    /// approval expiry, the reveal's timeout. Called every loop turn.
    pub fn tick(&mut self) {
        self.ticks += 1;
        if self.job_finished() {
            self.finish_job();
        }
        if self
            .verify_job
            .as_ref()
            .is_some_and(|(_, h)| h.is_finished())
        {
            self.finish_verify();
        }
        if self.verify_job.is_none() && self.verification_stale() {
            self.start_verify();
        }
        // A clock moved while the console is open is warned about at once
        // (I16): the next write records the jump.
        if matches!(self.screen, Screen::Home) {
            self.status.clock_warning = self.vault.clock_warning();
        }
        // A read-only console delivers nothing: the writer's console or
        // commands do.
        if self.read_only.is_none() {
            self.tick_alerts();
        }
        self.tick_read_only();
        // The reveal is timed by the clock itself: vault time stands still
        // while a clock set back catches up, and the code must still clear.
        let now = self.vault.clock_now();
        match &mut self.screen {
            Screen::Reveal(r) if now - r.opened >= self.reveal_secs => {
                self.apply(Action::Display(Displayed::TimedOut))
            }
            Screen::Release(r) if self.job.is_none() => {
                if let Some(req) = r.request.as_mut() {
                    if let Err(e) = self.vault.check_expiry(req) {
                        self.screen = Screen::Home;
                        self.say(true, err_text(&e));
                        self.refresh();
                    }
                }
            }
            // The "Re-encrypting" screen is drawn once before the work.
            Screen::Ceremony(c) if c.step == CeremonyStep::Completing(false) => {
                c.step = CeremonyStep::Completing(true);
            }
            Screen::Ceremony(c) if c.step == CeremonyStep::Completing(true) => {
                self.complete_ceremony();
            }
            // The drill's check is drawn once before it delivers.
            Screen::Drill(c) if !c.drawn => c.drawn = true,
            Screen::Drill(_) => self.finish_drill_check(),
            Screen::Ceremony(c) if self.job.is_none() => {
                if let Some(req) = c.request.as_mut() {
                    if let Err(e) = self.vault.check_ceremony_expiry(req) {
                        self.unlock_failed(String::new(), e);
                    }
                }
            }
            _ => {}
        }
    }

    /// Delivers pending alert events in the background (I17): on a worker
    /// thread, one run at a time, soon after anything was appended and at
    /// most every [`ALERT_PERIOD`] seconds otherwise. Never waited for: a
    /// reveal is not delayed by a slow or broken hook. The home screen's
    /// warning is refreshed when a run ends.
    fn tick_alerts(&mut self) {
        if self.alert_job.as_ref().is_some_and(|h| h.is_finished()) {
            if let Some(h) = self.alert_job.take() {
                let _ = h.join();
            }
            self.status.alerts_warning = self.vault.alert_status().ok().and_then(|a| a.warning);
        }
        let now = self.vault.clock_now();
        let size = self.vault.ledger_size();
        let appended = size != self.alerts_seen_size;
        let due = now.saturating_sub(self.alerts_last_run) >= ALERT_PERIOD;
        if self.alert_job.is_none() && (appended || due) {
            self.alerts_seen_size = size;
            self.alerts_last_run = now;
            let courier = self.vault.courier();
            self.alert_job = Some(std::thread::spawn(move || {
                let _ = courier.deliver(std::time::Duration::from_secs(10));
            }));
        }
    }

    /// Nothing happened for a while: lets go of the vault's database so
    /// that readers in other processes (`list`, `status`, `ledger verify`)
    /// can open it. The next operation opens it again; the writer lock
    /// stays, so no other process writes meanwhile.
    pub fn idle(&mut self) {
        // Not while an officer's passphrase is being checked: its approval,
        // and the release it may complete, follow at once.
        if self.job.is_none() {
            self.vault.suspend();
        }
    }

    /// Waits for background work (Argon2, verification) and applies it:
    /// what a test calls instead of sleeping.
    pub fn settle(&mut self) {
        self.finish_job();
        if matches!(&self.screen, Screen::Ceremony(c) if matches!(c.step, CeremonyStep::Completing(_)))
        {
            self.complete_ceremony();
        }
        if matches!(self.screen, Screen::Drill(_)) {
            self.finish_drill_check();
        }
        while self.verify_job.is_some() || self.verification_stale() {
            if let Some((g, h)) = self.verify_job.take() {
                let r = h.join().unwrap_or_else(|_| {
                    Err(Failure {
                        entry: None,
                        kind: audit::FailureKind::Malformed,
                        detail: "verifier panicked".into(),
                    })
                });
                self.record_verification(g, r);
            } else {
                self.start_verify();
            }
        }
    }

    fn finish_verify(&mut self) {
        if let Some((g, h)) = self.verify_job.take() {
            if let Ok(r) = h.join() {
                self.record_verification(g, r);
            }
        }
    }

    /// `v` was pressed: verifies the whole ledger again at the next tick,
    /// and says how it went when it ends.
    pub(super) fn verify_again(&mut self) {
        self.generation += 1;
        self.verified = None;
        self.reverify = true;
        self.say(false, "Verifying the whole ledger again…");
    }

    /// Keeps the result of the verification of generation `g`; after `v`,
    /// says how it went, with the time, so the key visibly did something
    /// even when the status line reads the same.
    fn record_verification(&mut self, g: u64, result: VerifyResult) {
        self.verified = Some((g, result.map_err(|f| f.to_string())));
        if !self.reverify {
            return;
        }
        let at = crate::clock::rfc3339(self.vault.clock_now());
        let at = at.get(11..19).unwrap_or(&at).to_string();
        match &self.verified {
            Some((g, Ok(r))) if *g == self.generation => {
                self.reverify = false;
                let text = format!(
                    "Verified the whole ledger again at {at} UTC: {}, {} ✓",
                    plural(r.entries as usize, "entry", "entries"),
                    plural(r.signatures_checked as usize, "signature", "signatures")
                );
                self.say(false, text);
            }
            Some((_, Err(e))) => {
                self.reverify = false;
                let text = format!("Verified again at {at} UTC: FAILED: {e}");
                self.say(true, text);
            }
            _ => {}
        }
    }

    /// The whole-ledger verification status, to follow "Ledger" on a line
    /// that already gives its size.
    pub fn verification_line(&self) -> Line<'static> {
        match &self.verified {
            Some((g, Ok(r))) if *g == self.generation => Line::from(Span::styled(
                format!(
                    "verified ✓ ({})",
                    plural(r.signatures_checked as usize, "signature", "signatures")
                ),
                self.theme.ok(),
            )),
            Some((_, Err(e))) => Line::from(Span::styled(
                format!("verification FAILED: {e}"),
                self.theme.error(),
            )),
            _ => Line::from(Span::styled("verifying…", self.theme.dim())),
        }
        .patch_style(ratatui::style::Style::default())
    }
}
