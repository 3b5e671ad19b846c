//! The vault side of the officers screen (`tui/officers.rs`): opening it
//! on the current status and ledger, and coming back to it, fresh, when a
//! ceremony or a drill ends. The drill's passphrase is the unlock flow's
//! (`unlock.rs`); the ceremonies it begins are `ceremony.rs`'s.

use super::texts::err_text;
use super::{App, Screen};
use crate::tui::officers::Officers;

impl App {
    /// Opens the officers screen on the current status and ledger.
    pub(super) fn open_officers(&mut self) {
        match self.vault.officer_overview() {
            Ok(rows) => {
                self.screen = Screen::Officers(Box::new(Officers::new(rows, &self.status)));
            }
            Err(e) => self.say(true, err_text(&e)),
        }
    }

    /// Back to a fresh officers screen (after a ceremony or a drill ended)
    /// with `text`, the same officer selected if still listed.
    pub(super) fn back_to_officers(&mut self, error: bool, text: String) {
        let selected = match &self.screen {
            Screen::Officers(o) => o.selected().map(str::to_owned),
            _ => None,
        };
        self.refresh();
        self.open_officers();
        if let (Screen::Officers(o), Some(name)) = (&mut self.screen, selected) {
            o.select(&name);
        }
        self.say(error, text);
    }
}
