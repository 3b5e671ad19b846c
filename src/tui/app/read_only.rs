//! A read-only console beside a writer: when another process holds the
//! vault for writing (a console, or a command at its prompt), a second
//! console still opens, on a reader, and shows home, the ledger and the
//! officers. Every key that would write says who holds the vault instead;
//! nothing is delivered or logged from here. It looks again every few
//! seconds, so what the writer does shows.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Screen};

/// How often, in loop turns (100 ms), a read-only console reads the vault
/// again.
const REFRESH_TICKS: u64 = 50;

impl App {
    /// Makes this a read-only console: `holder` is what holds the vault
    /// for writing, as its lock note names it.
    pub fn set_read_only(&mut self, holder: String) {
        self.read_only = Some(holder);
        self.vault.suspend();
    }

    /// Someone is at the console: a writer keeps the database open while
    /// they work. A read-only console never does: each read opens it for
    /// as long as it lasts, so the writer beside it is never kept waiting
    /// by someone scrolling here.
    pub(super) fn keep_open(&self) {
        if self.read_only.is_none() {
            self.vault.resume();
        }
    }

    /// Whether this console only reads.
    pub fn is_read_only(&self) -> bool {
        self.read_only.is_some()
    }

    /// The line every read-only screen shows.
    pub(super) fn read_only_banner(&self) -> Option<String> {
        let holder = self.read_only.as_ref()?;
        Some(format!(
            "READ-ONLY: another process writes to this vault ({holder}). Here: home, the ledger and the officers."
        ))
    }

    /// What a key that would write says instead, on a read-only console;
    /// `None` lets the key through. Prompts never open here, so every key
    /// reaches this check on the screen that owns it.
    pub(super) fn read_only_refusal(&self, key: &KeyEvent) -> Option<String> {
        let holder = self.read_only.as_ref()?;
        let writes = match &self.screen {
            Screen::Home => matches!(key.code, KeyCode::Enter | KeyCode::Char('r' | 'd' | 'v')),
            Screen::Officers(_) => {
                matches!(key.code, KeyCode::Char('d' | 'e' | 'a' | 'x' | 't' | 'k'))
            }
            _ => false,
        };
        writes.then(|| {
            format!(
                "Read-only console: releases, deposits, reviews, drills and ceremonies are done \
                 where the vault is held ({holder}); or quit this console and open it again once \
                 that has ended."
            )
        })
    }

    /// Reads the vault again now and then, so the writer's work shows:
    /// the status each time, the secrets and a new verification when the
    /// ledger grew. A read refused while the writer is busy waits for the
    /// next turn.
    pub(super) fn tick_read_only(&mut self) {
        if self.read_only.is_none() || !self.ticks.is_multiple_of(REFRESH_TICKS) {
            return;
        }
        if !matches!(self.screen, Screen::Home | Screen::Officers(_)) {
            return;
        }
        if let Ok(st) = self.vault.status() {
            let grew = st.ledger_size != self.status.ledger_size;
            self.status = st;
            if grew {
                if let Ok(secrets) = self.vault.secrets() {
                    self.home.set_secrets(super::real_secrets(secrets));
                }
                self.generation += 1;
            }
        }
        // Let go at once: the writer may need the database any moment.
        self.vault.suspend();
    }
}
