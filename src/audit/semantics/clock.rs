//! Rule 23: a `clock` entry, the record of a clock seen to jump.

use super::*;

impl Semantics {
    /// The clock was seen to jump, `behind` or `ahead` of the `previous`
    /// entry's time; the entry's `clock` is its own `time`.
    pub(super) fn clock(&self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let d = str_field(m, seq, "direction")?;
        time_field(m, seq, "previous")?;
        if !matches!(d, "behind" | "ahead")
            || str_field(m, seq, "clock")? != str_field(m, seq, "time")?
        {
            return malformed(
                seq,
                "a clock entry's direction is \"behind\" or \"ahead\", and its clock is its time",
            );
        }
        Ok(())
    }
}
