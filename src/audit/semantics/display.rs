//! Rule 20: how a release's display ended.

use super::*;

impl Semantics {
    pub(super) fn displayed(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let r = u64_field(m, seq, "release")?;
        let secret = str_field(m, seq, "secret")?;
        let index = u64_field(m, seq, "index")?;
        let outcome = str_field(m, seq, "outcome")?;
        let Some((s, i, actor)) = self.releases.get(&r) else {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("entry {r} is not a release"),
            );
        };
        if (s.as_str(), *i) != (secret, index) || str_field(m, seq, "actor")? != actor {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!(
                    "entry {r} is not the release of {secret} #{} by its actor",
                    index.saturating_add(1)
                ),
            );
        }
        if !matches!(outcome, "confirmed" | "stdout" | "timeout" | "dismissed") {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("unknown display outcome {outcome:?}"),
            );
        }
        if matches!(outcome, "confirmed" | "stdout") {
            let key = (secret.to_string(), index);
            if let Some(item) = self.items.get_mut(&key).filter(|i| i.release_seq == r) {
                item.confirmed = true;
            }
        }
        Ok(())
    }
}
