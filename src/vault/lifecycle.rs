//! After the release (docs/LEDGER.md §2.7): rotating a released
//! credential, retiring a code set, reviewing a release, reminders of
//! what is overdue, and end-to-end drills on a canary item.

use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::lifecycle::{DRILL_SECRET, Due, Lifecycle};
use crate::policy::Policy;

/// Longest review note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Longest incident name, in characters.
pub const MAX_INCIDENT_CHARS: usize = 64;
/// What every drill canary begins with: no real secret does.
pub const CANARY_PREFIX: &str = "breakglass-canary-";

/// How a release is classified by its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewClass {
    /// A real emergency.
    Emergency,
    /// A drill.
    Drill,
    /// A release that should not have happened.
    Misuse,
}

impl ReviewClass {
    /// The word the ledger uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewClass::Emergency => "emergency",
            ReviewClass::Drill => "drill",
            ReviewClass::Misuse => "misuse",
        }
    }
}

/// What an end-to-end drill found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillReport {
    /// The canary's release entry.
    pub release: u64,
    /// The `drill` entry.
    pub seq: u64,
    /// `delivered`, `failed` or `no_hook`.
    pub delivery: &'static str,
    /// Whether every step worked.
    pub passed: bool,
    /// Why it failed, in words, if it did.
    pub problem: Option<String>,
}

impl Vault {
    /// The ledger's lifecycle: releases and what followed, due items. A
    /// review counts only when its reviewer's signature verifies and they
    /// did not approve the release: the ledger key alone cannot mark a
    /// release reviewed and silence its reminders (I15).
    pub fn lifecycle(&self) -> Result<Lifecycle> {
        let mut life = Lifecycle::read(&self.store)?;
        let mut certs: HashMap<u64, HashMap<String, crate::pgp::Verifier>> = HashMap::new();
        for r in life.releases.values_mut() {
            let Some(review) = &r.review else { continue };
            let epoch = match life.epochs.binary_search(&review.seq) {
                Ok(i) => life.epochs[i],
                Err(0) => 0,
                Err(i) => life.epochs[i - 1],
            };
            if let std::collections::hash_map::Entry::Vacant(e) = certs.entry(epoch) {
                e.insert(self.epoch_verifiers(epoch)?);
            }
            let signed = match ledger::entry(&self.store, review.seq)? {
                Some(bytes) => review_signed(
                    &ledger::parse_entry(&bytes)?,
                    r,
                    &certs[&epoch],
                    &self.config.vault_id,
                ),
                None => false,
            };
            if !signed {
                r.review = None;
            }
        }
        Ok(life)
    }

    /// The officers' verifiers the entry `seq` (a genesis or rekey)
    /// enrolls.
    fn epoch_verifiers(&self, seq: u64) -> Result<HashMap<String, crate::pgp::Verifier>> {
        let Some(bytes) = ledger::entry(&self.store, seq)? else {
            return Ok(HashMap::new());
        };
        Ok(super::facts::officer_verifiers(&ledger::parse_entry(
            &bytes,
        )?))
    }

    /// Everything that needs doing now, most pressing first.
    pub fn due(&self) -> Result<Vec<Due>> {
        Ok(self.lifecycle()?.due(self.now()))
    }

    /// Replaces a released credential: `value` becomes the secret's next
    /// item and the released one is void (never released again). One
    /// officer signs, as for a deposit. Refused, and logged, when the
    /// secret is not a credential or its value was not released since it
    /// was deposited or last rotated.
    pub fn rotate(
        &mut self,
        session: &OfficerSession,
        secret: &str,
        value: &SecretValue,
    ) -> Result<DepositReport> {
        names::secret(secret)?;
        if let Some(e) = self.write_lock() {
            return Err(e);
        }
        let refuse = |v: &Self, e: Error| v.refuse("rotate", Some(secret), &[session.name()], e);
        let Some(facts) = self.checked_facts(secret)? else {
            return Err(refuse(self, self.unknown_secret(secret)));
        };
        if facts.kind != SecretKind::Credential {
            return Err(refuse(
                self,
                Error::Refused(format!(
                    "{secret} holds codes, which need no rotation: a released code is spent (retire the set when the identity provider replaces it)"
                )),
            ));
        }
        let release = match facts.items.last() {
            Some(i) if !i.void => match i.state {
                ItemState::Released { seq, .. } => Some(seq),
                ItemState::Available => None,
            },
            _ => None,
        };
        let Some(release) = release else {
            return Err(refuse(
                self,
                Error::Refused(format!(
                    "{secret} needs no rotation: its value was not released since it was deposited or last rotated"
                )),
            ));
        };
        self.validate_items(SecretKind::Credential, std::slice::from_ref(value))?;
        let cert = self.deposit_cert(session)?;
        let index = facts.items.len() as u32;
        let plain = item::write(secret, index, SecretKind::Credential, value);
        let rec = ItemRecord {
            secret: secret.to_string(),
            index,
            epoch: self.config.epoch,
            ciphertext: cert.encrypt(plain.expose_secret())?,
            state: ItemState::Available,
        };
        let now = self.now();
        let statement = json!({
            "type": "breakglass-rotation/v1",
            "vault": self.config.vault_id,
            "epoch": self.config.epoch,
            "secret": secret,
            "release": release,
            "index": index,
            "item": facts::digest(&rec.ciphertext),
            "vault_key_fingerprint": cert.fingerprint(),
            "officer": session.name,
            "time": rfc3339(now),
        });
        let signature = session
            .key
            .sign_detached(&canonical::to_vec(&statement)?, now)?;
        let encoded =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &rec.ciphertext);
        let draft = Draft::new("rotated", session.name.clone())
            .field("secret", secret)
            .field("release", release)
            .field("index", index)
            .field("statement", statement)
            .field("signature", signature)
            .field("ciphertexts", Value::from(vec![encoded]));
        let record = SecretRecord {
            name: secret.to_string(),
            kind: SecretKind::Credential,
            min_approvals: facts.min_approvals,
            count: index + 1,
        };
        let appended = self.transact(|tx| {
            let key = item_key(secret, index);
            if tx.get(Table::Items, &key)?.is_some() {
                return Err(Error::Storage(format!(
                    "an item is already stored at {secret} #{}; nothing was rotated",
                    index + 1
                )));
            }
            tx.put(Table::Items, &key, &rec.encode()?)?;
            tx.put(Table::Secrets, secret.as_bytes(), &record.encode()?)?;
            self.append(tx, &draft, now, None)
        })?;
        self.store.flush()?;
        Ok(DepositReport {
            added: 1,
            total: index + 1,
            seq: appended.seq,
        })
    }

    /// Reviews release entry `release`: one officer who did not approve it
    /// classifies it, with a note and the incident. Refused, and logged,
    /// for an unknown or already reviewed release, or a reviewer who
    /// approved it.
    pub fn review(
        &mut self,
        session: &OfficerSession,
        release: u64,
        class: ReviewClass,
        note: &str,
        incident: Option<&str>,
    ) -> Result<u64> {
        check_text("--note", note, MAX_NOTE_CHARS)?;
        match incident {
            Some(i) => check_text("--incident", i, MAX_INCIDENT_CHARS)?,
            None if class != ReviewClass::Drill => {
                return Err(Error::invalid(
                    "--incident",
                    "name the incident (a drill may go without)",
                ));
            }
            None => {}
        }
        if let Some(e) = self.write_lock() {
            return Err(e);
        }
        let life = self.lifecycle()?;
        let name = session.name();
        let refuse = |v: &Self, secret: Option<&str>, why: String| {
            v.refuse("review", secret, &[name], Error::Refused(why))
        };
        let Some(r) = life.releases.get(&release) else {
            return Err(refuse(
                self,
                None,
                format!("entry {release} is not a release"),
            ));
        };
        if let Some(done) = &r.review {
            return Err(refuse(
                self,
                Some(&r.secret),
                format!(
                    "entry {release} was already reviewed by {} (entry {})",
                    done.officer, done.seq
                ),
            ));
        }
        if r.approvers.iter().any(|a| a == name) {
            return Err(refuse(
                self,
                Some(&r.secret),
                format!(
                    "{name} approved entry {release}; a review must come from an officer who did not"
                ),
            ));
        }
        let now = self.now();
        let statement = json!({
            "type": "breakglass-review/v1",
            "vault": self.config.vault_id,
            "epoch": self.config.epoch,
            "release": release,
            "secret": r.secret,
            "index": r.index,
            "class": class.as_str(),
            "note": note,
            "incident": incident,
            "officer": name,
            "time": rfc3339(now),
        });
        let signature = session
            .key
            .sign_detached(&canonical::to_vec(&statement)?, now)?;
        let draft = Draft::new("reviewed", name)
            .field("release", release)
            .field("secret", r.secret.as_str())
            .field("index", r.index)
            .field("class", class.as_str())
            .field("note", note)
            .field("incident", incident.map(Value::from).unwrap_or(Value::Null))
            .field("statement", statement)
            .field("signature", signature);
        let a = self.transact(|tx| self.append(tx, &draft, now, None))?;
        self.store.flush()?;
        Ok(a.seq)
    }

    /// A quorum voids what is left of a code set (every item neither void
    /// nor seen), so the old codes are never released again. Needs the
    /// quorum a release of the secret needs (docs/LEDGER.md §2.7).
    pub fn retire(&mut self, secret: &str, officers: &[(&str, &Passphrase)]) -> Result<u64> {
        names::secret(secret)?;
        if let Some(e) = self.write_lock() {
            return Err(e);
        }
        let names: Vec<&str> = officers.iter().map(|(n, _)| *n).collect();
        let refuse = |v: &Self, e: Error| v.refuse("retire", Some(secret), &names, e);
        let Some(facts) = self.checked_facts(secret)? else {
            return Err(refuse(self, self.unknown_secret(secret)));
        };
        if facts.kind != SecretKind::Codes {
            return Err(refuse(
                self,
                Error::Refused(format!(
                    "{secret} is a credential; rotate it instead (breakglass rotate {secret})"
                )),
            ));
        }
        let voided = facts.releasable();
        if voided == 0 {
            return Err(refuse(
                self,
                Error::Refused(format!("{secret} has no code left to retire")),
            ));
        }
        let needed =
            (self.config.threshold as usize).max(facts.min_approvals.unwrap_or(0) as usize);
        let nonce = hex::encode(crypto::random_array::<16>());
        let (now, approvals) =
            self.quorum_sign("retire", Some(secret), officers, needed, |name, now| {
                json!({
                    "type": "breakglass-retire/v1",
                    "vault": self.config.vault_id,
                    "epoch": self.config.epoch,
                    "secret": secret,
                    "voided": voided,
                    "nonce": nonce,
                    "officer": name,
                    "time": rfc3339(now),
                })
            })?;
        let draft = Draft::new("retired", names.join("+"))
            .field("secret", secret)
            .field("nonce", nonce.as_str())
            .field("voided", voided)
            .field("approvals", approvals);
        let a = self.transact(|tx| self.append(tx, &draft, now, None))?;
        self.store.flush()?;
        Ok(a.seq)
    }

    /// Writes an `overdue` entry naming what is pressing (overdue, or a
    /// code set below its reorder level) and was not reminded of in the
    /// last day; it is alerted like every entry. Returns everything due
    /// and the entry, if one was written. For `breakglass check` (a daily
    /// timer) and the console.
    pub fn remind(&self) -> Result<(Vec<Due>, Option<u64>)> {
        let life = self.lifecycle()?;
        let now = self.now();
        let due = life.due(now);
        let fresh = life.reminders(now);
        if fresh.is_empty() || self.write_lock().is_some() {
            return Ok((due, None));
        }
        let draft = Draft::new("overdue", "").field("due", crate::lifecycle::due_json(&fresh, now));
        let seq = self.log(draft)?;
        Ok((due, Some(seq)))
    }

    /// Deposits a fresh canary code into `drill/canary`, signed by
    /// `session`'s officer: what an end-to-end drill then releases. Never
    /// a real secret.
    pub fn deposit_canary(&mut self, session: &OfficerSession) -> Result<u64> {
        let value = SecretValue::new(format!(
            "{CANARY_PREFIX}{}",
            hex::encode(crypto::random_array::<8>())
        ));
        let r = self.deposit_any(
            session,
            DRILL_SECRET,
            SecretKind::Codes,
            None,
            Some(&Policy::default()),
            std::slice::from_ref(&value),
        )?;
        Ok(r.seq)
    }

    /// Ends an end-to-end drill whose canary release `released` was shown
    /// and recorded (display entry `displayed`): delivers the alert queue
    /// for at most `budget`, checks the hook took every event up to the
    /// display, and logs the result as a `drill` entry by the release's
    /// approvers. A drill without a hook fails: it cannot prove the alerts
    /// fire.
    pub fn finish_drill(
        &mut self,
        released: &Released,
        displayed: Option<u64>,
        budget: Duration,
    ) -> Result<DrillReport> {
        let mut problem = None;
        if released.secret != DRILL_SECRET
            || !released.value.expose_secret().starts_with(CANARY_PREFIX)
        {
            return Err(Error::Refused(
                "this release is not of the drill canary".into(),
            ));
        }
        if displayed.is_none() {
            problem = Some("the canary's display was not recorded".to_string());
        }
        let delivery = if self.alert_hook()?.is_none() {
            problem.get_or_insert_with(|| {
                "no alert hook is set: the drill cannot prove alerts fire (breakglass alerts set)"
                    .into()
            });
            "no_hook"
        } else {
            let report = self.deliver_alerts(budget)?;
            let upto = displayed.unwrap_or(released.seq);
            let left = crate::alerts::oldest_pending(&self.store)?
                .and_then(|e| e.get("seq").and_then(Value::as_u64))
                .is_some_and(|s| s <= upto);
            if left || report.error.is_some() {
                problem.get_or_insert_with(|| {
                    format!(
                        "the alert hook did not take the drill's events: {}",
                        report.error.as_deref().unwrap_or("they are still queued")
                    )
                });
                "failed"
            } else {
                "delivered"
            }
        };
        let passed = problem.is_none();
        let draft = Draft::new("drill", released.officers.join("+"))
            .field("result", if passed { "passed" } else { "failed" })
            .field("release", released.seq)
            .field("delivery", delivery);
        let seq = self.log(draft)?;
        // The drill's own entry goes out too; a failure here shows in
        // `alerts status` like any other.
        if delivery == "delivered" {
            let _ = self.deliver_alerts(budget);
        }
        Ok(DrillReport {
            release: released.seq,
            seq,
            delivery,
            passed,
            problem,
        })
    }

    /// Every officer in `officers` authenticates and signs the statement
    /// `statement(name, time)` builds; their shares must rebuild the vault
    /// key (a real quorum of at least `needed`). Returns the time signed
    /// and the approvals, as entries carry them. Refusals are logged under
    /// `action`.
    pub(super) fn quorum_sign(
        &self,
        action: &str,
        secret: Option<&str>,
        officers: &[(&str, &Passphrase)],
        needed: usize,
        statement: impl Fn(&str, i64) -> Value,
    ) -> Result<(i64, Value)> {
        let names: Vec<&str> = officers.iter().map(|(n, _)| *n).collect();
        let mut distinct = std::collections::HashSet::new();
        if let Some(dup) = names.iter().find(|n| !distinct.insert(**n)) {
            return Err(self.refuse(
                action,
                secret,
                &names,
                Error::DuplicateOfficer(dup.to_string()),
            ));
        }
        if officers.len() < needed {
            return Err(self.refuse(
                action,
                secret,
                &names,
                Error::TooFewOfficers {
                    got: officers.len(),
                    need: needed,
                },
            ));
        }
        let now = self.now();
        let mut sessions = Vec::new();
        let mut approvals = Vec::new();
        for (name, pass) in officers {
            let s = self.authenticate(name, pass, action, secret)?;
            let st = statement(name, now);
            let signature = s.key.sign_detached(&canonical::to_vec(&st)?, now)?;
            approvals.push(json!({"officer": name, "statement": st, "signature": signature}));
            sessions.push(s);
        }
        let shares: Vec<NamedShare<'_>> = sessions
            .iter()
            .map(|s| NamedShare {
                officer: &s.name,
                share: &s.share,
            })
            .collect();
        drop(
            self.rebuild_vault_key(&shares)
                .map_err(|e| self.refuse(action, secret, &names, e))?,
        );
        Ok((now, Value::Array(approvals)))
    }
}

/// Whether the `reviewed` entry `m` is what its actor signed about the
/// release `r` (docs/LEDGER.md rule 25c), and the actor did not approve it.
fn review_signed(
    m: &serde_json::Map<String, Value>,
    r: &crate::lifecycle::ReleaseLife,
    certs: &HashMap<String, crate::pgp::Verifier>,
    vault_id: &str,
) -> bool {
    let actor = m.get("actor").and_then(Value::as_str).unwrap_or_default();
    let (Some(st), Some(sig), Some(verifier)) = (
        m.get("statement"),
        m.get("signature").and_then(Value::as_str),
        certs.get(actor),
    ) else {
        return false;
    };
    let same = |k: &str| st.get(k).is_some() && st.get(k) == m.get(k);
    let fits = st.get("type").and_then(Value::as_str) == Some("breakglass-review/v1")
        && st.get("vault").and_then(Value::as_str) == Some(vault_id)
        && st.get("officer").and_then(Value::as_str) == Some(actor)
        && [
            "release", "secret", "index", "class", "note", "incident", "time",
        ]
        .iter()
        .all(|k| same(k))
        && m.get("release").and_then(Value::as_u64) == Some(r.seq)
        && !r.approvers.iter().any(|a| a == actor);
    fits && canonical::to_vec(st).is_ok_and(|bytes| verifier.verify(&bytes, sig.as_bytes()).is_ok())
}

/// A note or incident name: not empty, at most `max` characters, no
/// control or format character.
fn check_text(flag: &'static str, text: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid(flag, "is empty"));
    }
    let n = text.chars().count();
    if n > max {
        return Err(Error::invalid(
            flag,
            format!("is {n} characters; at most {max}"),
        ));
    }
    names::check_no_control(flag, text)
}
