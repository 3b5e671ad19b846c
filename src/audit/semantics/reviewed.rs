//! Rule 25c: a review, an officer who did not approve a release
//! classifying it.

use super::*;

/// The fields of a signed review statement (§3.13).
const REVIEW_FIELDS: [&str; 11] = [
    "type", "vault", "epoch", "release", "secret", "index", "class", "note", "incident", "officer",
    "time",
];

impl Semantics {
    pub(super) fn reviewed(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let release = u64_field(m, seq, "release")?;
        let index = u64_field(m, seq, "index")?;
        let secret = str_field(m, seq, "secret")?;
        let class = str_field(m, seq, "class")?;
        let note = str_field(m, seq, "note")?;
        let incident = match m.get("incident") {
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            _ => return malformed(seq, "incident is neither a string nor null"),
        };
        let st = statement_object(m, seq, "review")?;
        if !matches!(class, "emergency" | "drill" | "misuse") {
            return malformed(
                seq,
                format!(
                    "class {} is not \"emergency\", \"drill\" or \"misuse\"",
                    quoted(class)
                ),
            );
        }
        if !is_short_text(note, 500) {
            return malformed(
                seq,
                "the note is not 1 to 500 characters without a control character",
            );
        }
        match incident {
            Some(i) if !is_short_text(i, 64) => {
                return malformed(
                    seq,
                    "the incident is not 1 to 64 characters without a control character",
                );
            }
            None if class != "drill" => {
                return malformed(seq, "only a drill is reviewed without an incident");
            }
            _ => {}
        }
        self.signed_by_actor(seq, m, st, FailureKind::BadApprovalSignature, "review")?;
        exactly(st, seq, "the review statement", &REVIEW_FIELDS)?;
        let actor = str_field(m, seq, "actor")?;
        let signed = serde_json::json!({
            "type": "breakglass-review/v1",
            "vault": self.vault,
            "epoch": self.epoch,
            "release": release,
            "secret": secret,
            "index": index,
            "class": class,
            "note": note,
            "incident": incident,
            "officer": actor,
            "time": str_field(m, seq, "time")?,
        });
        if signed.as_object() != Some(st) {
            return fail(
                Some(seq),
                FailureKind::ApprovalMismatch,
                "the signed review statement does not match the entry",
            );
        }
        let bad = |why: String| fail(Some(seq), FailureKind::BadLifecycle, why);
        let Some(r) = self.releases.get_mut(&release) else {
            return bad(format!("entry {release} is not a release"));
        };
        if (r.secret.as_str(), r.index) != (secret, index) {
            return bad(format!(
                "entry {release} released {} #{}, not {secret} #{}",
                r.secret,
                r.index.saturating_add(1),
                index.saturating_add(1)
            ));
        }
        if let Some(first) = r.reviewed {
            return bad(format!(
                "entry {release} was already reviewed by entry {first}"
            ));
        }
        // A review is a second pair of eyes: not one of the approvers.
        if r.actor.split('+').any(|a| a == actor) {
            return bad(format!(
                "{actor} approved entry {release}, and so cannot review it"
            ));
        }
        r.reviewed = Some(seq);
        Ok(())
    }
}
