//! The vault side of the ceremony screen (`tui/ceremony.rs`): beginning a
//! ceremony from the officers screen, cancelling it, and writing the new
//! epoch once its approvals and new passphrases are in. The approvals are
//! the unlock flow's (`unlock.rs`).

use super::texts::{err_text, report_text};
use super::{App, Screen};
use crate::error::Error;
use crate::tui::ceremony::Ceremony;
use crate::tui::widgets::plural;
use crate::vault::CeremonyPlan;

impl App {
    /// Begins the ceremony `plan` describes; a refusal is shown on the
    /// officers screen.
    pub(super) fn begin_ceremony(&mut self, plan: &CeremonyPlan) {
        let result = self.vault.begin_ceremony(plan);
        self.generation += 1; // a refusal is logged
        match result {
            Ok(req) => {
                self.screen = Screen::Ceremony(Box::new(Ceremony::new(
                    req,
                    self.status.officers.clone(),
                    self.status.threshold,
                    self.status.epoch,
                )));
            }
            // Refused (logged) or invalid: one message on the
            // officers screen, and nothing else changes.
            Err(e @ Error::Refused(_)) => self.say(
                true,
                format!("Refused (logged): {}. Nothing changed.", err_text(&e)),
            ),
            Err(e) => self.say(true, format!("Nothing changed: {}.", err_text(&e))),
        }
    }

    /// Abandons the ceremony (logged), discarding its approvals.
    pub(super) fn cancel_ceremony(&mut self) {
        let n = match &self.screen {
            Screen::Ceremony(c) => c
                .request
                .as_ref()
                .map(|q| q.approved_by().len())
                .unwrap_or(0),
            _ => 0,
        };
        self.cancel_in_progress();
        let text = if n == 0 {
            "Ceremony cancelled before anyone signed (logged). Nothing changed.".into()
        } else {
            format!(
                "Ceremony cancelled and logged; {} discarded. Nothing changed.",
                plural(n, "approval", "approvals")
            )
        };
        self.back_to_officers(false, text);
    }

    /// Writes the new epoch of the ceremony whose approvals and new
    /// passphrases are in. Slow (every item is re-encrypted, and each new
    /// officer's passphrase goes through Argon2), so the app draws
    /// "Re-encrypting…" first; the `Vault` cannot leave this thread.
    pub(super) fn complete_ceremony(&mut self) {
        self.vault.resume();
        let Screen::Ceremony(c) = &mut self.screen else {
            return;
        };
        let Some(req) = c.request.take() else {
            return;
        };
        let new = c.take_new_passphrases();
        self.generation += 1;
        let result = self.vault.complete_ceremony(req, &new);
        drop(new);
        match result {
            Ok(r) => self.back_to_officers(false, report_text(&r)),
            Err(e) => self.back_to_officers(true, format!("Nothing changed: {}", err_text(&e))),
        }
    }
}
