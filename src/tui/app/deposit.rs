//! The vault side of the deposit screen (`tui/deposit.rs`): opening it and
//! depositing what it holds once an officer has authenticated (the
//! passphrase is the unlock flow's, `unlock.rs`).

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
}
