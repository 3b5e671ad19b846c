//! Rule 25d: a reminder of what was due. Only its shape is checked: the
//! ledger key alone vouches for it, and the verifier's own summary says
//! what is overdue.

use super::*;

/// The fields of each item an `overdue` entry lists (§2.5).
const DUE_FIELDS: [&str; 5] = ["what", "secret", "release", "officer", "since"];

impl Semantics {
    pub(super) fn overdue(&self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let Some(due) = m.get("due").and_then(Value::as_array) else {
            return malformed(seq, "due is not a list");
        };
        for d in due {
            let Some(d) = d.as_object() else {
                return malformed(seq, "a due item is not an object");
            };
            exactly(d, seq, "a due item", &DUE_FIELDS)?;
            let typed = matches!(
                d["what"].as_str(),
                Some("rotation" | "review" | "drill" | "reorder")
            ) && (d["secret"].is_null() || d["secret"].is_string())
                && (d["release"].is_null() || d["release"].is_u64())
                && (d["officer"].is_null() || d["officer"].is_string());
            if !typed {
                return malformed(
                    seq,
                    "a due item's what, secret, release or officer is not of its type",
                );
            }
            time_field(d, seq, "since")?;
        }
        Ok(())
    }
}
