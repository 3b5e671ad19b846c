//! Alerts (I17): setting and clearing the hook (a signed ledger entry,
//! itself alerted, through the old hook too), queuing every entry's event
//! in its own transaction, delivery and its status. The event format, the
//! queue and the program runner are in `crate::alerts`.

use std::time::Duration;

use super::*;
use crate::alerts::{self, Courier, DeliveryReport, Hook};

/// The alert queue at a glance (`alerts status`, the console's warning).
#[derive(Debug, Clone, serde::Serialize)]
pub struct AlertStatus {
    /// The hook in force, if one is set and checks out.
    pub hook: Option<Hook>,
    /// Why the hook that the ledger names cannot be run, if it cannot.
    pub hook_problem: Option<String>,
    /// Events not yet delivered.
    pub pending: u64,
    /// The oldest undelivered event: its seq and summary.
    pub oldest_pending: Option<PendingEvent>,
    /// The last delivery and failure.
    #[serde(flatten)]
    pub state: alerts::DeliveryState,
    /// One line for a warning (CLI `status`, the console's home screen),
    /// when events are undelivered or the hook cannot run.
    pub warning: Option<String>,
}

/// An undelivered event, for people.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PendingEvent {
    /// Its ledger entry.
    pub seq: u64,
    /// Its summary line.
    pub summary: String,
}

impl Vault {
    /// Queues `a`'s alert event inside its transaction when a hook is set
    /// (the `alerts` entry that sets one included): the entry names the
    /// `alerts` entry in force, or is one.
    pub(super) fn queue_alert(
        &self,
        tx: &crate::store::Tx<'_>,
        a: &ledger::Appended,
    ) -> Result<()> {
        match a.hook {
            Some(seq) if alerts::sets_hook_in(tx, seq)? => {}
            _ => return Ok(()),
        }
        if self.fault == Some(FaultPoint::AlertQueue) {
            return Err(Error::Injected(FaultPoint::AlertQueue));
        }
        let event = self.alert_event_in(tx, a)?;
        alerts::queue(tx, a.seq, event, None)
    }

    /// `a`'s alert event, built inside its transaction. Both copies of an
    /// `alerts` entry's event (new hook, replaced hook) come from here, so
    /// they are the same bytes: a receiver that gets both sees a duplicate.
    fn alert_event_in(&self, tx: &crate::store::Tx<'_>, a: &ledger::Appended) -> Result<String> {
        let genesis = ledger::leaf_in(tx, 0)?
            .ok_or_else(|| Error::Ledger("the genesis entry is missing".into()))?;
        // A damaged epoch entry must not stop the entry from being
        // alerted: the event then says no officer waits.
        let delays = self.auth_delays_in(tx, a.time).unwrap_or_default();
        let proof = alerts::step_proof_in(tx, a)?;
        // What looks unusual once the entry is in; a ledger that cannot be
        // read must not stop the entry from being alerted.
        let unusual = match (
            self.life.borrow_mut().as_mut(),
            ledger::parse_entry(&a.bytes),
        ) {
            (Some(life), Ok(m)) => {
                life.apply(a.seq, &m);
                life.unusual(a.seq, a.time)
            }
            _ => Default::default(),
        };
        alerts::event(
            &self.config.vault_id,
            &hex::encode(genesis),
            a,
            &delays,
            &proof,
            &unusual,
        )
    }

    /// Sets the alert hook: `program` (an executable; a bare name is looked
    /// up in `search_path`) with `args`, signed by `session`'s officer and
    /// logged as an `alerts` entry. The entry is alerted through the new
    /// hook and through the one it replaces. Returns the entry's seq.
    pub fn set_alert_hook(
        &self,
        session: &OfficerSession,
        program: &str,
        args: &[String],
        search_path: Option<&str>,
    ) -> Result<u64> {
        let program = alerts::resolve_program(program, search_path)?;
        alerts::check_args(args)?;
        self.write_alerts_entry(session, Some((&program, args)))
    }

    /// Clears the alert hook (signed and logged like setting it); the
    /// entry is alerted through the hook it clears. Events still queued
    /// wait for the next hook.
    pub fn clear_alert_hook(&self, session: &OfficerSession) -> Result<u64> {
        self.write_alerts_entry(session, None)
    }

    fn write_alerts_entry(
        &self,
        session: &OfficerSession,
        hook: Option<(&str, &[String])>,
    ) -> Result<u64> {
        if let Some(e) = self.write_lock() {
            return Err(e);
        }
        let now = self.now();
        let (action, program, args) = match hook {
            Some((p, a)) => ("set", Value::from(p), Value::from(a.to_vec())),
            None => ("clear", Value::Null, Value::Array(Vec::new())),
        };
        let a = self.transact(|tx| {
            // The statement is bound to its place (docs/LEDGER.md §3.5):
            // the ledger's size (the entry's seq), the alerts entry it
            // follows (the entry's `hook`) and the entry's time, all read
            // in the entry's own transaction, after any `clock` entry.
            let size = ledger::size_in(tx)?;
            let previous = ledger::hook_in_force_in(tx)?;
            let time = now.max(ledger::last_time_in(tx)?);
            let statement = json!({
                "type": alerts::STATEMENT_TYPE,
                "vault": self.config.vault_id,
                "epoch": self.config.epoch,
                "action": action,
                "program": program,
                "args": args,
                "officer": session.name,
                "time": rfc3339(time),
                "size": size,
                "previous": previous,
            });
            let signature = session
                .key
                .sign_detached(&canonical::to_vec(&statement)?, time)?;
            let draft = Draft::new("alerts", session.name.clone())
                .field("action", action)
                .field("program", program.clone())
                .field("args", args.clone())
                .field("statement", statement)
                .field("signature", signature);
            // The hook this entry replaces; `append` queues the entry for
            // the new one (an `alerts` entry is in force from itself on).
            let old = match previous {
                Some(s) if alerts::sets_hook_in(tx, s)? => Some(s),
                _ => None,
            };
            let a = self.append(tx, &draft, time, None)?;
            if let Some(old_seq) = old {
                let event = self.alert_event_in(tx, &a)?;
                alerts::queue(tx, a.seq, event, Some(old_seq))?;
            }
            Ok(a)
        })?;
        self.store.flush()?;
        Ok(a.seq)
    }

    /// The hook in force: `Ok(None)` when none is set. An error when the
    /// ledger entry that set it does not check out.
    pub fn alert_hook(&self) -> Result<Option<Hook>> {
        alerts::current_hook(&self.store, &self.config.vault_id)?.map_err(Error::Ledger)
    }

    /// Something that delivers this vault's pending alert events, and can
    /// be sent to another thread (the console delivers in the background).
    pub fn courier(&self) -> Courier {
        Courier::new(
            self.store.clone(),
            self.config.vault_id.clone(),
            self.clock.clone(),
        )
    }

    /// Delivers pending alert events for at most `budget`: in order, each
    /// at least once; what is left stays queued for the next call.
    pub fn deliver_alerts(&self, budget: Duration) -> Result<DeliveryReport> {
        self.courier().deliver(budget)
    }

    /// The alert queue's status: hook, pending events, last delivery and
    /// failure, and a one-line warning when something needs attention.
    pub fn alert_status(&self) -> Result<AlertStatus> {
        let (hook, hook_problem) = match alerts::current_hook(&self.store, &self.config.vault_id)? {
            Ok(h) => (h, None),
            Err(why) => (None, Some(why)),
        };
        let pending = self.store.count(Table::Alerts)?;
        let oldest_pending = alerts::oldest_pending(&self.store)?.map(|e| PendingEvent {
            seq: e.get("seq").and_then(Value::as_u64).unwrap_or_default(),
            summary: e
                .get("summary")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        });
        let state = alerts::delivery_state(&self.store)?;
        let warning = if let Some(p) = &hook_problem {
            Some(format!("the alert hook is not run: {p}"))
        } else if pending > 0 {
            let since = oldest_pending
                .as_ref()
                .map(|o| format!(" (oldest: entry {})", o.seq))
                .unwrap_or_default();
            let why = match (&hook, &state.last_error) {
                (None, _) => "; no hook is set: `breakglass alerts set`".to_string(),
                (Some(_), Some(e)) if !state.error_resolved() => format!(
                    "; last error: {e}; fix the hook or its receiver, then `breakglass alerts retry`"
                ),
                (Some(_), _) => "; `breakglass alerts retry` delivers them".to_string(),
            };
            Some(format!(
                "{pending} alert event{} undelivered{since}{why}",
                if pending == 1 { "" } else { "s" }
            ))
        } else {
            None
        };
        Ok(AlertStatus {
            hook,
            hook_problem,
            pending,
            oldest_pending,
            state,
            warning,
        })
    }
}
