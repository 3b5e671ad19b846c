//! The vault side of the deposit screen (`tui/deposit.rs`): opening it and
//! depositing (or rotating) what it holds once an officer has
//! authenticated (the passphrase is the unlock flow's, `unlock.rs`).

use super::texts::{err_text, kind_noun};
use super::{App, Screen};
use crate::error::Error;
use crate::records::SecretKind;
use crate::tui::deposit::Deposit;
use crate::tui::widgets::plural;

impl App {
    /// Opens the deposit screen.
    pub(super) fn open_deposit(&mut self) {
        self.message = None;
        self.screen = Screen::Deposit(Box::new(Deposit::new(self.status.officers.clone())));
    }

    /// Deposits the values the deposit screen holds into `secret`, as
    /// `kind`.
    pub(super) fn deposit(&mut self, secret: &str, kind: SecretKind) {
        if let Screen::Deposit(d) = &mut self.screen {
            let values = d.values();
            let result = match &d.session {
                Some(s) => self.vault.deposit(s, secret, kind, None, &values),
                None => Err(Error::invalid("deposit", "no officer authenticated")),
            };
            match result {
                Ok(rep) => {
                    self.screen = Screen::Home;
                    self.say(
                        false,
                        format!(
                            "Deposited {} into {secret} ({} in all); logged as entry {}.",
                            plural(
                                rep.added as usize,
                                kind_noun(kind, false),
                                kind_noun(kind, true)
                            ),
                            rep.total,
                            rep.seq
                        ),
                    );
                    self.refresh();
                }
                Err(e) => d.error = Some(err_text(&e)),
            }
        }
    }

    /// Opens the deposit screen to rotate the released credential `secret`.
    pub(super) fn open_rotation(&mut self, secret: &str) {
        self.message = None;
        self.screen = Screen::Deposit(Box::new(Deposit::rotate(
            self.status.officers.clone(),
            secret,
        )));
    }

    /// Stores the deposit screen's value as `secret`'s rotation.
    pub(super) fn rotate(&mut self, secret: &str) {
        if let Screen::Deposit(d) = &mut self.screen {
            let values = d.values();
            let result = match (&d.session, values.first()) {
                (Some(s), Some(v)) => self.vault.rotate(s, secret, v),
                _ => Err(Error::invalid("rotate", "no officer or no value")),
            };
            self.generation += 1; // a refusal is logged
            match result {
                Ok(rep) => {
                    self.screen = Screen::Home;
                    self.say(
                        false,
                        format!(
                            "Rotated {secret}: the new value is #{}; the released one is void. Logged as entry {}.",
                            rep.total, rep.seq
                        ),
                    );
                    self.refresh();
                }
                Err(e) => d.error = Some(err_text(&e)),
            }
        }
    }
}
