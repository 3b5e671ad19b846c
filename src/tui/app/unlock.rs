//! The officer unlock flow, shared by every screen that asks for a
//! passphrase (release, ceremony, deposit, drill, end-to-end drill): the statement an officer
//! reads before signing, the Argon2 job that derives their key off the UI
//! thread, and what each screen does with the key or with the failure
//! (three wrong passphrases per officer, expiry, a lost quorum).

use std::thread::JoinHandle;

use super::texts::{err_text, quorum_out_text, wrong_passphrase_text};
use super::{Action, App, RevealState, Screen};
use crate::error::{Error, Result};
use crate::lifecycle::DRILL_SECRET;
use crate::secret::Passphrase;
use crate::tui::ceremony::ceremony_statement_lines;
use crate::tui::release::{ATTEMPTS, WrongPassphrase, statement_lines};
use crate::vault::DerivedKey;

/// An officer's passphrase going through Argon2 on a worker thread.
pub(super) struct Job {
    officer: String,
    handle: JoinHandle<Result<DerivedKey>>,
}

impl App {
    /// Whether the Argon2 job has finished and its key waits to be used.
    pub(super) fn job_finished(&self) -> bool {
        self.job.as_ref().is_some_and(|j| j.handle.is_finished())
    }

    /// Waits for the Argon2 job, if one runs, and applies its result.
    pub(super) fn finish_job(&mut self) {
        if let Some(job) = self.job.take() {
            let result = job
                .handle
                .join()
                .unwrap_or(Err(Error::Corrupt("worker panicked".into())));
            self.unlocked(job.officer, result);
        }
    }

    /// Shows the statement `officer` would sign for the release or
    /// ceremony in progress.
    pub(super) fn statement_for(&mut self, officer: Option<String>) {
        match (&mut self.screen, officer) {
            (Screen::Release(r), Some(o)) => {
                if let Some(req) = &r.request {
                    r.statement = statement_lines(&self.vault.statement(req, &o));
                }
            }
            (Screen::Ceremony(c), Some(o)) => {
                if let Some(req) = &c.request {
                    c.statement = ceremony_statement_lines(&self.vault.ceremony_statement(req, &o));
                }
            }
            _ => {}
        }
    }

    /// Derives `officer`'s key from `pass` on a worker thread, once they
    /// may approve the request in progress (a release or a ceremony).
    pub(super) fn unlock(&mut self, officer: String, pass: Passphrase) {
        let (action, secret, checked) = match &mut self.screen {
            Screen::Release(r) => {
                let Some(req) = r.request.as_mut() else {
                    return;
                };
                let secret = req.secret().to_string();
                (
                    "release",
                    Some(secret),
                    self.vault.check_approver(req, &officer),
                )
            }
            Screen::Ceremony(c) => {
                let Some(req) = c.request.as_mut() else {
                    return;
                };
                (
                    req.kind().action(),
                    None,
                    self.vault.check_ceremony_approver(req, &officer),
                )
            }
            Screen::Deposit(d) if d.is_rotation() => ("rotate", None, Ok(())),
            Screen::Deposit(d) if d.is_canary() => {
                ("drill", Some(DRILL_SECRET.to_string()), Ok(()))
            }
            Screen::Review(_) => ("review", None, Ok(())),
            Screen::Deposit(_) => ("deposit", None, Ok(())),
            Screen::Officers(_) => ("drill", None, Ok(())),
            _ => return,
        };
        let params = checked.and_then(|()| {
            self.vault
                .unlock_params(&officer, action, secret.as_deref())
        });
        match params {
            Ok(unlock) => {
                let handle = std::thread::spawn(move || unlock.derive(&pass));
                self.job = Some(Job { officer, handle });
            }
            Err(e) => {
                self.generation += 1;
                self.unlock_failed(officer, e);
            }
        }
    }

    /// What the current screen does when `officer`'s unlock or approval
    /// failed with `e`.
    pub(super) fn unlock_failed(&mut self, officer: String, e: Error) {
        match &mut self.screen {
            Screen::Release(r) => {
                if matches!(e, Error::Expired(_)) {
                    self.screen = Screen::Home;
                    self.say(true, err_text(&e));
                    self.refresh();
                } else if matches!(e, Error::BadPassphrase(_)) {
                    r.note = None;
                    let outcome = r.wrong_passphrase(&officer);
                    r.error = wrong_passphrase_text(&officer, "release", &outcome);
                    match outcome {
                        WrongPassphrase::Retry(_) => r.retry(officer),
                        WrongPassphrase::OfficerOut => {
                            r.back_to_approvers();
                            let o = r.chosen_officer();
                            self.apply(Action::StatementFor(o));
                        }
                        WrongPassphrase::QuorumOut => {
                            let n = r.request.as_ref().map_or(0, |q| q.approved_by().len());
                            self.cancel_in_progress();
                            self.screen = Screen::Home;
                            self.say(true, quorum_out_text(&officer, "Release", n));
                            self.refresh();
                        }
                    }
                } else {
                    r.error = Some(err_text(&e));
                    r.back_to_approvers();
                }
            }
            Screen::Ceremony(c) => {
                if let Error::Expired(at) = &e {
                    c.request = None; // discarded and logged as expired
                    let text = format!(
                        "Ceremony ended: its approvals expired at {at} (logged); nothing changed. Begin it again."
                    );
                    self.back_to_officers(true, text);
                } else if matches!(e, Error::BadPassphrase(_)) {
                    c.note = None;
                    let outcome = c.wrong_passphrase(&officer);
                    c.error = wrong_passphrase_text(&officer, "ceremony", &outcome);
                    match outcome {
                        WrongPassphrase::Retry(_) => c.retry(officer),
                        WrongPassphrase::OfficerOut => {
                            c.back_to_approvers();
                            let o = c.chosen_officer();
                            self.apply(Action::StatementFor(o));
                        }
                        WrongPassphrase::QuorumOut => {
                            let n = c.request.as_ref().map_or(0, |q| q.approved_by().len());
                            self.cancel_in_progress();
                            let text = quorum_out_text(&officer, "Ceremony", n);
                            self.back_to_officers(true, format!("{text} Nothing changed."));
                        }
                    }
                } else {
                    c.error = Some(err_text(&e));
                    c.back_to_approvers();
                    let o = c.chosen_officer();
                    self.apply(Action::StatementFor(o));
                }
            }
            Screen::Officers(o) => {
                let text = if matches!(e, Error::BadPassphrase(_)) {
                    o.drill_failed(&officer)
                } else {
                    o.drill_done();
                    format!("The drill failed: {}", err_text(&e))
                };
                self.say(true, text);
            }
            Screen::Deposit(d) => {
                if matches!(e, Error::BadPassphrase(_)) {
                    d.wrong += 1;
                    if d.wrong >= ATTEMPTS {
                        let what = if d.is_rotation() {
                            "Rotation"
                        } else if d.is_canary() {
                            "Drill"
                        } else {
                            "Deposit"
                        };
                        let canary = d.is_canary();
                        let text = format!(
                            "{what} abandoned: wrong passphrase for {officer} {ATTEMPTS} times (logged)."
                        );
                        if canary {
                            // It began on the officers screen.
                            self.back_to_officers(true, text);
                        } else {
                            self.screen = Screen::Home;
                            self.say(true, text);
                        }
                        return;
                    }
                    let n = d.wrong;
                    d.retry(
                        officer.clone(),
                        format!(
                            "Wrong passphrase for {officer} (attempt {n} of {ATTEMPTS}, logged). Try again, or Esc to leave."
                        ),
                    );
                } else {
                    d.retry(officer, err_text(&e));
                }
            }
            Screen::Review(r) => {
                if matches!(e, Error::BadPassphrase(_)) {
                    r.wrong += 1;
                    if r.wrong >= ATTEMPTS {
                        self.screen = Screen::Home;
                        self.say(
                            true,
                            format!(
                                "Review abandoned: wrong passphrase for {officer} {ATTEMPTS} times (logged)."
                            ),
                        );
                        return;
                    }
                    let n = r.wrong;
                    r.retry(
                        officer.clone(),
                        format!(
                            "Wrong passphrase for {officer} (attempt {n} of {ATTEMPTS}, logged). Try again, or Esc to leave."
                        ),
                    );
                } else {
                    r.retry(officer, err_text(&e));
                }
            }
            _ => {}
        }
    }

    /// Uses `officer`'s derived key for what the current screen asked it for.
    fn unlocked(&mut self, officer: String, derived: Result<DerivedKey>) {
        // An operation follows: keep the database open for all of it.
        self.vault.resume();
        let kek = match derived {
            Ok(k) => k,
            Err(e) => return self.unlock_failed(officer, e),
        };
        self.generation += 1;
        match &mut self.screen {
            Screen::Release(r) => {
                let Some(req) = r.request.as_mut() else {
                    return;
                };
                if let Err(e) = self.vault.approve_derived(req, &officer, &kek) {
                    return self.unlock_failed(officer, e);
                }
                r.error = None;
                let (have, need) = (req.approved_by().len(), req.needed());
                if have < need {
                    r.note = Some(format!("{officer} approved ({have} of {need})."));
                    r.back_to_approvers();
                    let o = r.chosen_officer();
                    self.apply(Action::StatementFor(o));
                    return;
                }
                let req = r.request.take().expect("checked above");
                match self.vault.complete_release(req) {
                    Ok(released) => {
                        let opened = self.vault.clock_now();
                        self.clear = true;
                        self.screen = Screen::Reveal(Box::new(RevealState {
                            released,
                            opened,
                            spelled: false,
                        }));
                    }
                    Err(e) => {
                        self.screen = Screen::Home;
                        self.say(true, format!("Nothing was released: {}", err_text(&e)));
                        self.refresh();
                    }
                }
            }
            Screen::Ceremony(c) => {
                let Some(req) = c.request.as_mut() else {
                    return;
                };
                if let Err(e) = self.vault.approve_ceremony_derived(req, &officer, kek) {
                    return self.unlock_failed(officer, e);
                }
                c.error = None;
                let (have, need) = (req.approved_by().len(), req.needed());
                if have < need {
                    c.note = Some(format!("{officer} approved ({have} of {need})."));
                    c.back_to_approvers();
                    let o = c.chosen_officer();
                    self.apply(Action::StatementFor(o));
                    return;
                }
                c.note = None;
                c.quorum_reached();
            }
            Screen::Officers(_) => match self.vault.drill_derived(&officer, &kek) {
                // A fresh screen: the drill's time, and any share taken.
                Ok(seq) => self.back_to_officers(
                    false,
                    format!(
                        "{officer}'s passphrase unlocks their share; drill logged as ledger entry {seq}."
                    ),
                ),
                Err(e) => self.unlock_failed(officer, e),
            },
            Screen::Deposit(d) if d.is_canary() => {
                match self
                    .vault
                    .authenticate_derived(&officer, &kek, "drill", Some(DRILL_SECRET))
                {
                    Ok(s) => self.start_drill(s),
                    Err(e) => self.unlock_failed(officer, e),
                }
            }
            Screen::Deposit(d) => match self.vault.authenticate_derived(
                &officer,
                &kek,
                if d.is_rotation() { "rotate" } else { "deposit" },
                None,
            ) {
                Ok(s) => d.authenticated(s),
                Err(e) => self.unlock_failed(officer, e),
            },
            Screen::Review(r) => match self
                .vault
                .authenticate_derived(&officer, &kek, "review", None)
            {
                Ok(s) => r.authenticated(s),
                Err(e) => self.unlock_failed(officer, e),
            },
            _ => {}
        }
    }
}
