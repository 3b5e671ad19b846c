//! The vault side of the review screen (`tui/review.rs`): which release it
//! opens on (the oldest not yet reviewed), and signing the review once its
//! officer has authenticated (the passphrase is the unlock flow's,
//! `unlock.rs`).

use super::texts::err_text;
use super::{App, Screen};
use crate::error::Error;
use crate::tui::review::{Review, Subject};

impl App {
    /// Opens the review of the oldest release nobody reviewed (drills
    /// owe none), or says there is none.
    pub(super) fn open_review(&mut self) {
        self.message = None;
        let life = match self.vault.lifecycle() {
            Ok(l) => l,
            Err(e) => return self.say(true, err_text(&e)),
        };
        let Some(r) = life
            .releases
            .values()
            .find(|r| r.review.is_none() && !r.is_drill())
        else {
            return self.say(false, "Every release has been reviewed.".to_string());
        };
        let subject = Subject {
            release: r.seq,
            secret: r.secret.clone(),
            index: r.index,
            approvers: r.approvers.clone(),
            reason: r.reason.clone(),
        };
        self.screen = Screen::Review(Box::new(Review::new(&self.status.officers, subject)));
    }

    /// Signs the review the screen holds.
    pub(super) fn review(&mut self) {
        if let Screen::Review(r) = &mut self.screen {
            let result = match &r.session {
                Some(s) => {
                    self.vault
                        .review(s, r.subject.release, r.class(), r.note(), r.incident())
                }
                None => Err(Error::invalid("review", "no officer authenticated")),
            };
            self.generation += 1; // a refusal is logged
            match result {
                Ok(seq) => {
                    let text = format!(
                        "Reviewed release entry {} as {}; logged as entry {seq}.",
                        r.subject.release,
                        r.class().as_str()
                    );
                    self.screen = Screen::Home;
                    self.say(false, text);
                    self.refresh();
                }
                Err(e) => r.error = Some(err_text(&e)),
            }
        }
    }
}
