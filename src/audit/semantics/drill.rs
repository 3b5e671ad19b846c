//! Rule 22 for drills: a passphrase drill by one officer, or an end-to-end
//! drill whose quorum released a canary item.

use super::*;

/// The secret whose items end-to-end drills release (§2.5 `drill`).
pub(super) const CANARY: &str = "drill/canary";

impl Semantics {
    pub(super) fn drill(&self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let Some(release) = m.get("release") else {
            return self.by_officer(seq, m);
        };
        let Some(release) = release.as_u64() else {
            return malformed(seq, "release is not an entry number");
        };
        let actor = str_field(m, seq, "actor")?;
        let released = self
            .releases
            .get(&release)
            .is_some_and(|r| r.secret == CANARY && r.actor == actor);
        if !released {
            return malformed(
                seq,
                format!("entry {release} is not a release of {CANARY} by {actor}"),
            );
        }
        if !matches!(
            m.get("result").and_then(Value::as_str),
            Some("passed" | "failed")
        ) {
            return malformed(seq, "a drill's result is \"passed\" or \"failed\"");
        }
        let delivery = m.get("delivery").and_then(Value::as_str);
        if !matches!(delivery, Some("delivered" | "failed" | "no_hook")) {
            return malformed(
                seq,
                "an end-to-end drill's delivery is \"delivered\", \"failed\" or \"no_hook\"",
            );
        }
        Ok(())
    }
}
