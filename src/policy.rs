//! A secret's lifecycle policy (docs/LEDGER.md §2.7): how soon a released
//! credential must be rotated, when a code set needs reordering, how soon
//! a release must be reviewed, how often it may be released without an
//! extra approval, and the hours releases are expected in. Signed by the
//! secret's first deposit and fixed from then on.

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::records::SecretKind;

/// Bounds of `rotate_within`, in seconds: 1 hour to 366 days.
pub const ROTATE_WITHIN: (u64, u64) = (3_600, 31_622_400);
/// Bounds of `reorder_below`.
pub const REORDER_BELOW: (u64, u64) = (1, 1_000);
/// Bounds of `review_within`, in seconds: 1 hour to 90 days.
pub const REVIEW_WITHIN: (u64, u64) = (3_600, 7_776_000);
/// Bounds of `min_interval`, in seconds: 1 minute to 366 days.
pub const MIN_INTERVAL: (u64, u64) = (60, 31_622_400);
/// How soon a release must be reviewed unless the deposit says otherwise.
pub const DEFAULT_REVIEW_WITHIN: u64 = 7 * 86_400;
/// How old an officer's last drill may be before a new one is due: the
/// 90 days guidance for emergency accounts asks for.
pub const DRILL_EVERY: u64 = 90 * 86_400;

/// The hours, in UTC, releases are expected in: `from` ≤ t < `to`, across
/// midnight when `from` is later than `to`. Minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    /// Start, minutes after midnight UTC.
    pub from: u16,
    /// End (excluded), minutes after midnight UTC.
    pub to: u16,
}

impl Hours {
    /// Parses `HH:MM-HH:MM`.
    pub fn parse(s: &str) -> Result<Hours> {
        let bad = || Error::invalid("--hours", "give two UTC times of day, as 08:00-18:00");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let hours = Hours {
            from: time_of_day(a).ok_or_else(bad)?,
            to: time_of_day(b).ok_or_else(bad)?,
        };
        if hours.from == hours.to {
            return Err(Error::invalid(
                "--hours",
                "the start and the end are the same time",
            ));
        }
        Ok(hours)
    }

    /// Whether the Unix time `unix` falls inside the hours.
    pub fn contains(&self, unix: i64) -> bool {
        let minute = (unix.rem_euclid(86_400) / 60) as u16;
        if self.from < self.to {
            self.from <= minute && minute < self.to
        } else {
            minute >= self.from || minute < self.to
        }
    }

    fn to_json(self) -> Value {
        json!({"from": hhmm(self.from), "to": hhmm(self.to)})
    }
}

impl std::fmt::Display for Hours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{} UTC", hhmm(self.from), hhmm(self.to))
    }
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `HH:MM`, exactly five characters, 00:00 to 23:59.
fn time_of_day(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !s[..2]
            .bytes()
            .chain(s[3..].bytes())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let (h, m): (u16, u16) = (s[..2].parse().ok()?, s[3..].parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// A secret's policy (docs/LEDGER.md §2.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Seconds a released credential may stay unrotated.
    pub rotate_within: Option<u64>,
    /// Fewer releasable codes than this asks for a new set.
    pub reorder_below: Option<u32>,
    /// Seconds a release may stay unreviewed.
    pub review_within: u64,
    /// Seconds after a release during which another needs one approval more.
    pub min_interval: Option<u64>,
    /// The hours releases are expected in.
    pub hours: Option<Hours>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            rotate_within: None,
            reorder_below: None,
            review_within: DEFAULT_REVIEW_WITHIN,
            min_interval: None,
            hours: None,
        }
    }
}

impl Policy {
    /// The policy as the ledger writes it: exactly the five fields.
    pub fn to_json(&self) -> Value {
        json!({
            "rotate_within": self.rotate_within,
            "reorder_below": self.reorder_below,
            "review_within": self.review_within,
            "min_interval": self.min_interval,
            "hours": self.hours.map(Hours::to_json),
        })
    }

    /// Reads a policy, checking every bound and that it fits `kind`;
    /// `None` when it is not one.
    pub fn from_json(v: &Value, kind: SecretKind) -> Option<Policy> {
        let o = v.as_object()?;
        let known = [
            "rotate_within",
            "reorder_below",
            "review_within",
            "min_interval",
            "hours",
        ];
        if o.len() != known.len() || !known.iter().all(|k| o.contains_key(*k)) {
            return None;
        }
        let bounded = |k: &str, (lo, hi): (u64, u64)| -> Option<Option<u64>> {
            match &o[k] {
                Value::Null => Some(None),
                n => n.as_u64().filter(|n| (lo..=hi).contains(n)).map(Some),
            }
        };
        let hours = match &o["hours"] {
            Value::Null => None,
            Value::Object(h) if h.len() == 2 => {
                let from = time_of_day(h.get("from")?.as_str()?)?;
                let to = time_of_day(h.get("to")?.as_str()?)?;
                if from == to {
                    return None;
                }
                Some(Hours { from, to })
            }
            _ => return None,
        };
        let p = Policy {
            rotate_within: bounded("rotate_within", ROTATE_WITHIN)?,
            reorder_below: bounded("reorder_below", REORDER_BELOW)?.map(|n| n as u32),
            review_within: bounded("review_within", REVIEW_WITHIN)??,
            min_interval: bounded("min_interval", MIN_INTERVAL)?,
            hours,
        };
        p.check(kind).ok()?;
        Some(p)
    }

    /// Checks the bounds and that the policy fits `kind`: a deadline to
    /// rotate is for a credential, a reorder level for codes.
    pub fn check(&self, kind: SecretKind) -> Result<()> {
        let within = |flag: &'static str, v: Option<u64>, (lo, hi): (u64, u64)| match v {
            Some(v) if !(lo..=hi).contains(&v) => Err(Error::invalid(
                flag,
                format!(
                    "must be between {} and {}",
                    duration_words(lo),
                    duration_words(hi)
                ),
            )),
            _ => Ok(()),
        };
        within("--rotate-within", self.rotate_within, ROTATE_WITHIN)?;
        within("--review-within", Some(self.review_within), REVIEW_WITHIN)?;
        within("--min-interval", self.min_interval, MIN_INTERVAL)?;
        if let Some(n) = self.reorder_below {
            if !(REORDER_BELOW.0..=REORDER_BELOW.1).contains(&u64::from(n)) {
                return Err(Error::invalid(
                    "--reorder-below",
                    format!(
                        "must be between {} and {}",
                        REORDER_BELOW.0, REORDER_BELOW.1
                    ),
                ));
            }
        }
        match kind {
            SecretKind::Codes if self.rotate_within.is_some() => Err(Error::invalid(
                "--rotate-within",
                "is for a credential: a released code is spent, there is nothing to rotate (use --reorder-below)",
            )),
            SecretKind::Credential if self.reorder_below.is_some() => Err(Error::invalid(
                "--reorder-below",
                "is for a code set, not a credential",
            )),
            _ => Ok(()),
        }
    }

    /// The policy in words, for `list` and the console; empty when it is
    /// the default.
    pub fn words(&self) -> String {
        let mut out = Vec::new();
        if let Some(s) = self.rotate_within {
            out.push(format!("rotate within {}", duration_words(s)));
        }
        if let Some(n) = self.reorder_below {
            out.push(format!("reorder below {n}"));
        }
        if self.review_within != DEFAULT_REVIEW_WITHIN {
            out.push(format!(
                "review within {}",
                duration_words(self.review_within)
            ));
        }
        if let Some(s) = self.min_interval {
            out.push(format!(
                "one more approval within {} of a release",
                duration_words(s)
            ));
        }
        if let Some(h) = self.hours {
            out.push(format!("hours {h}"));
        }
        out.join(", ")
    }
}

/// Parses a duration with a unit: `30m`, `24h`, `7d`, `2w`. Returns
/// seconds. `flag` names the argument in the error.
pub fn parse_duration(flag: &'static str, s: &str) -> Result<u64> {
    let bad = || {
        Error::invalid(
            flag,
            "give a number and a unit: m, h, d or w (as 30m, 24h, 7d)",
        )
    };
    let unit = s.chars().last().ok_or_else(bad)?;
    let n: u64 = s[..s.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    let per = match unit {
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(per).filter(|s| *s > 0).ok_or_else(bad)
}

/// Seconds in the largest whole unit: `90d`, `24h`, `1h30m` is `90m`.
pub fn duration_words(secs: u64) -> String {
    for (unit, per) in [("w", 7 * 86_400), ("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= per && secs.is_multiple_of(per) {
            return format!("{}{unit}", secs / per);
        }
    }
    format!("{secs}s")
}

/// A span of seconds for people, rounded down: `3d`, `5h`, `12m`.
pub fn age_words(secs: i64) -> String {
    let s = secs.max(0) as u64;
    match s {
        s if s >= 86_400 => format!("{}d", s / 86_400),
        s if s >= 3_600 => format!("{}h", s / 3_600),
        s => format!("{}m", s / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit_and_stay_in_bounds() {
        assert_eq!(parse_duration("--x", "24h").unwrap(), 86_400);
        assert_eq!(parse_duration("--x", "2w").unwrap(), 14 * 86_400);
        assert_eq!(parse_duration("--x", "30m").unwrap(), 1_800);
        for bad in [
            "",
            "24",
            "h",
            "0h",
            "-1h",
            "1.5h",
            "99999999999999999999d",
            "3y",
            "1 h",
        ] {
            assert!(parse_duration("--x", bad).is_err(), "{bad}");
        }
        let p = Policy {
            rotate_within: Some(60),
            ..Policy::default()
        };
        let e = p.check(SecretKind::Credential).unwrap_err().to_string();
        assert!(e.contains("--rotate-within") && e.contains("1h"), "{e}");
    }

    #[test]
    fn a_policy_round_trips_and_is_checked_for_its_kind() {
        let p = Policy {
            rotate_within: Some(86_400),
            reorder_below: None,
            review_within: 3_600,
            min_interval: Some(600),
            hours: Some(Hours::parse("22:00-06:00").unwrap()),
        };
        let v = p.to_json();
        assert_eq!(
            Policy::from_json(&v, SecretKind::Credential),
            Some(p.clone())
        );
        assert_eq!(Policy::from_json(&v, SecretKind::Codes), None);
        let mut extra = v.clone();
        extra["x"] = json!(1);
        assert_eq!(Policy::from_json(&extra, SecretKind::Credential), None);
        let mut low = v;
        low["review_within"] = json!(60);
        assert_eq!(Policy::from_json(&low, SecretKind::Credential), None);
    }

    #[test]
    fn hours_wrap_past_midnight() {
        let night = Hours::parse("22:00-06:00").unwrap();
        assert!(night.contains(23 * 3_600));
        assert!(night.contains(5 * 3_600 + 59 * 60));
        assert!(!night.contains(6 * 3_600));
        let day = Hours::parse("08:00-18:00").unwrap();
        assert!(day.contains(8 * 3_600) && !day.contains(18 * 3_600));
        for bad in [
            "08:00",
            "8:00-18:00",
            "08:00-08:00",
            "24:00-01:00",
            "08:60-09:00",
        ] {
            assert!(Hours::parse(bad).is_err(), "{bad}");
        }
    }
}
