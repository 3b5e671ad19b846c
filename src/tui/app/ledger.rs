//! The vault side of the ledger view (`tui/ledger_view.rs`): opening it
//! and writing the export bundle. Verifying again (`v`) is `jobs.rs`'s.

use std::path::PathBuf;

use super::texts::err_text;
use super::{App, Screen};
use crate::audit;
use crate::tui::ledger_view::LedgerView;
use crate::tui::widgets::plural;

impl App {
    /// Opens the ledger view, its export prompt on a new directory.
    pub(super) fn open_ledger(&mut self) {
        let links = self
            .vault
            .lifecycle()
            .map(|l| {
                l.releases
                    .iter()
                    .map(|(seq, r)| (*seq, r.links()))
                    .collect()
            })
            .unwrap_or_default();
        match LedgerView::new(
            self.vault.store().clone(),
            self.export_default().display().to_string(),
        ) {
            Ok(v) => {
                let v = v.with_links(links);
                self.message = None;
                self.screen = Screen::Ledger(Box::new(v));
            }
            Err(e) => self.say(true, err_text(&e)),
        }
    }

    /// The directory the export prompt offers: a new one in the export
    /// base, named after the vault and the time.
    fn export_default(&self) -> PathBuf {
        let stamp: String = crate::clock::rfc3339(self.vault.clock_now())
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == 'T')
            .collect();
        let id: String = self.status.vault_id.chars().take(8).collect();
        self.export_base
            .join(format!("breakglass-ledger-{id}-{stamp}"))
    }

    /// Asks before writing into `dir`, showing the whole path.
    /// Relative paths are taken from the export base, and the question
    /// and the message give the absolute path, so the bundle can be found
    /// after the console is closed.
    pub(super) fn ask_export(&mut self, dir: PathBuf) {
        let dir = self.export_base.join(dir);
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        if let Screen::Ledger(l) = &mut self.screen {
            l.ask_export(dir);
        }
    }

    /// Writes an export bundle to `dir`, absolute and confirmed.
    pub(super) fn export(&mut self, dir: PathBuf) {
        match audit::export(self.vault.store(), &self.vault.ledger_cert(), &dir) {
            Ok(n) => self.say(
                false,
                format!(
                    "Exported {} to {}",
                    plural(n as usize, "entry", "entries"),
                    dir.display()
                ),
            ),
            Err(e) => self.say(true, format!("Export failed: {}", err_text(&e))),
        }
    }
}
