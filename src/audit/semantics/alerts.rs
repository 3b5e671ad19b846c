//! Rules 15a and 22: the alert hook each entry names, the entries an
//! officer records alone (drill, passphrase, failed authentication), and
//! `alerts` entries.

use super::*;

/// The fields of a signed `alerts` statement.
const ALERTS_FIELDS: [&str; 10] = [
    "type", "vault", "epoch", "action", "program", "args", "officer", "time", "size", "previous",
];

/// Rule 2a: an entry's `hook` names the latest `alerts` entry before it
/// (`null` when there is none), so where alerts go is read from the
/// ledger's last entry and a marker cannot steer it.
pub(super) fn check_hook(
    m: &Map<String, Value>,
    seq: u64,
    expected: Option<u64>,
) -> Result<(), Failure> {
    let named = match m.get("hook") {
        Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => return malformed(seq, "hook is not an integer or null"),
        },
        None => return malformed(seq, "no hook field"),
    };
    if named == expected {
        return Ok(());
    }
    let say = |h: Option<u64>| h.map_or("none".to_string(), |h| format!("entry {h}"));
    fail(
        Some(seq),
        FailureKind::HookMismatch,
        format!(
            "it names {} as the alerts entry in force, but the latest alerts entry before it is {}",
            say(named),
            say(expected)
        ),
    )
}

impl Semantics {
    /// A drill, a passphrase change, a failed authentication: its actor is
    /// a current officer (rule 22).
    pub(super) fn by_officer(&self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        self.officer(
            seq,
            str_field(m, seq, "actor")?,
            FailureKind::UnknownOfficer,
        )?;
        Ok(())
    }

    /// Setting or clearing the alert hook: signed by an officer of the
    /// epoch, for this vault, naming exactly the entry's program and
    /// arguments, at this entry's place (size, previous alerts entry,
    /// time). From this entry on, it is the alerts entry in force.
    pub(super) fn alerts(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let actor = str_field(m, seq, "actor")?;
        let action = str_field(m, seq, "action")?;
        let st = self.actor_statement(
            seq,
            m,
            ("alerts", "the alerts change"),
            FailureKind::BadApprovalSignature,
            &ALERTS_FIELDS,
        )?;
        let args_ok = m
            .get("args")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().all(Value::is_string));
        let shape_ok = match action {
            "set" => m.get("program").is_some_and(Value::is_string) && args_ok,
            "clear" => {
                m.get("program").is_some_and(Value::is_null)
                    && m.get("args")
                        .and_then(Value::as_array)
                        .is_some_and(Vec::is_empty)
            }
            _ => false,
        };
        let field = |k: &str| st.get(k).and_then(Value::as_str);
        let same = field("type") == Some("breakglass-alerts/v2")
            && field("vault") == Some(&self.vault)
            && st.get("epoch").and_then(Value::as_u64) == Some(self.epoch)
            && field("action") == Some(action)
            && st.get("program") == m.get("program")
            && st.get("args") == m.get("args")
            && field("officer") == Some(actor);
        if !shape_ok || !same {
            return fail(
                Some(seq),
                FailureKind::ApprovalMismatch,
                "the signed alerts statement does not match the entry",
            );
        }
        // Bound to its place (§3.5): the ledger size it was signed at (this
        // entry's seq), the alerts entry it follows (this entry's `hook`)
        // and this entry's time, so an old statement copied into a new
        // entry is refused.
        let size_ok = st.get("size").and_then(Value::as_u64) == Some(seq);
        let previous_ok = match (st.get("previous"), m.get("hook")) {
            (Some(Value::Null), Some(Value::Null)) => true,
            (Some(p), Some(h)) => p.as_u64().is_some() && p.as_u64() == h.as_u64(),
            _ => false,
        };
        let time_ok =
            st.get("time").and_then(Value::as_str) == m.get("time").and_then(Value::as_str);
        if !(size_ok && previous_ok && time_ok) {
            return fail(
                Some(seq),
                FailureKind::ApprovalReplayed,
                "the signed alerts statement was made for another place in the ledger: its size, previous or time is not this entry's",
            );
        }
        self.hook = Some(seq);
        Ok(())
    }
}
