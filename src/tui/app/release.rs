//! The vault side of the release screen (`tui/release.rs`) and of the
//! reveal that ends a release: opening it, beginning the request,
//! cancelling it, and logging how the reveal ended (I3). The approvals in
//! between are the unlock flow's (`unlock.rs`).

use super::texts::err_text;
use super::{Action, App, RevealState, Screen};
use crate::tui::release::{Release, nothing_left};
use crate::tui::widgets::plural;
use crate::vault::Displayed;

impl App {
    /// Opens the release screen, on `pre` if given.
    pub(super) fn open_release(&mut self, pre: Option<String>) {
        self.message = None;
        // A secret with nothing left stops here, with the reason:
        // no release is begun, so nothing is refused or logged.
        if let Some(s) = pre
            .as_deref()
            .and_then(|p| self.home.secrets.iter().find(|s| s.name == p))
        {
            // A released credential waiting for its rotation: `r` on its
            // row rotates it, as its reveal said.
            let rotation = self.status.due.iter().any(|d| {
                d.what == crate::lifecycle::What::Rotation && d.secret.as_deref() == Some(&s.name)
            });
            if rotation && s.remaining + s.unconfirmed == 0 {
                let name = s.name.clone();
                self.open_rotation(&name);
                return;
            }
            if s.remaining + s.unconfirmed == 0 {
                let why = nothing_left(s);
                self.say(true, why);
                return;
            }
        }
        self.screen = Screen::Release(Box::new(Release::new(
            self.home.secrets.clone(),
            self.status.officers.clone(),
            pre,
        )));
    }

    /// Begins the release request of `secret` for `reason`: on to the
    /// approvals, or home with the refusal.
    pub(super) fn begin_release(&mut self, secret: &str, reason: &str) {
        let result = self.vault.begin_release(secret, reason);
        self.generation += 1; // a refusal is logged
        if let Screen::Release(r) = &mut self.screen {
            match result {
                Ok(req) => {
                    r.request = Some(req);
                    r.error = None;
                    r.back_to_approvers();
                    let o = r.chosen_officer();
                    self.apply(Action::StatementFor(o));
                }
                // Refused (and logged once): back to the home
                // screen with the reason, where the same Enter
                // cannot log it again.
                Err(e) => {
                    self.screen = Screen::Home;
                    self.say(true, format!("Nothing was released: {}", err_text(&e)));
                    self.refresh();
                }
            }
        }
    }

    /// Abandons the release (logged), discarding its approvals.
    pub(super) fn cancel_release(&mut self) {
        let n = match &self.screen {
            Screen::Release(r) => r
                .request
                .as_ref()
                .map(|q| q.approved_by().len())
                .unwrap_or(0),
            _ => 0,
        };
        self.cancel_in_progress();
        self.screen = Screen::Home;
        self.say(
            false,
            format!(
                "Release cancelled and logged; {} discarded.",
                plural(n, "approval", "approvals")
            ),
        );
        self.refresh();
    }

    /// The note to print after leaving the console on the reveal, if it is
    /// on the reveal.
    pub(super) fn reveal_exit_note(&self) -> Option<String> {
        let Screen::Reveal(r) = &self.screen else {
            return None;
        };
        let r = &r.released;
        Some(format!(
            "the console was left on the reveal: {} #{} was released (ledger entry {}) and cleared without confirmation; a new quorum can release it again",
            r.secret,
            r.index + 1,
            r.seq
        ))
    }

    /// The reveal ended `how`: logs it, clears the item and goes home.
    pub(super) fn reveal_ended(&mut self, how: Displayed) {
        if let Screen::Reveal(r) = std::mem::replace(&mut self.screen, Screen::Home) {
            let RevealState { mut released, .. } = *r;
            let what = format!("{} #{}", released.secret, released.index + 1);
            if released.secret == crate::lifecycle::DRILL_SECRET {
                // An end-to-end drill's canary: its delivery is checked next.
                let displayed = self.vault.record_display(&mut released, how).ok();
                self.clear = true;
                self.drill_shown(released, displayed);
                return;
            }
            match self.vault.record_display(&mut released, how) {
                Ok(_) if how == Displayed::Confirmed && released.kind == crate::records::SecretKind::Credential => self.say(
                    false,
                    format!("Released {what}; confirmed seen and logged. Rotate it now: change it at its system, then press r here."),
                ),
                Ok(_) => self.say(
                    false,
                    match how {
                        Displayed::Confirmed => format!("Released {what}; confirmed seen and logged."),
                        Displayed::TimedOut => format!("Released {what}; cleared after {} s without confirmation (it can be re-released).", self.reveal_secs),
                        _ => format!("Released {what}; dismissed without confirmation (it can be re-released)."),
                    },
                ),
                Err(e) => self.say(true, err_text(&e)),
            }
            drop(released);
            self.clear = true;
            self.refresh();
        }
    }
}
