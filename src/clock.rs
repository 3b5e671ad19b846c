//! Time, injectable so that expiry and timeouts are tested without sleeping.
//!
//! Clocks are not trusted (I16). A break-glass machine is often offline
//! with a wrong clock: the wall clock is clamped to 1970–9999 so that no
//! reading can break formatting, and every clock also has a monotonic
//! side, which approval expiry uses as well within one process.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

/// The latest time the ledger can state: 9999-12-31T23:59:59Z.
pub const MAX_TIME: i64 = 253_402_300_799;

/// Clamps Unix seconds into the range the ledger can state (1970–9999).
pub fn clamp(unix: i64) -> i64 {
    unix.clamp(0, MAX_TIME)
}

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch, UTC, as the wall clock says.
    fn now(&self) -> i64;

    /// Time elapsed on a clock that never jumps, since some fixed start.
    fn monotonic(&self) -> Duration;
}

/// The system clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    start: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            start: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        // A clock before 1970 reads as 1970; one past 9999 as 9999.
        clamp(since_epoch.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
    }

    fn monotonic(&self) -> Duration {
        self.start.elapsed()
    }
}

/// A clock that only moves when told to; for tests. `advance` moves both
/// the wall clock and the monotonic clock; `set_wall` moves only the wall
/// clock, as a person setting the system time would.
#[derive(Debug, Clone)]
pub struct ManualClock {
    wall: Arc<AtomicI64>,
    mono: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock standing at `unix` seconds.
    pub fn new(unix: i64) -> Self {
        ManualClock {
            wall: Arc::new(AtomicI64::new(unix)),
            mono: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Lets `secs` pass.
    pub fn advance(&self, secs: i64) {
        self.wall.fetch_add(secs, Ordering::SeqCst);
        self.mono.fetch_add(secs, Ordering::SeqCst);
    }

    /// Sets the wall clock to `unix` without any time passing.
    pub fn set_wall(&self, unix: i64) {
        self.wall.store(unix, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        clamp(self.wall.load(Ordering::SeqCst))
    }

    fn monotonic(&self) -> Duration {
        Duration::from_secs(self.mono.load(Ordering::SeqCst).max(0) as u64)
    }
}

/// Formats Unix seconds as RFC 3339 UTC with second precision, e.g.
/// `2026-11-28T02:12:31Z`: the only form the ledger uses. Times outside
/// 1970–9999 are clamped first.
pub fn rfc3339(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(clamp(unix)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses a ledger time: exactly `YYYY-MM-DDTHH:MM:SSZ` (upper-case `T`
/// and `Z`, no fraction, no offset), a real calendar date, between 1970
/// and 9999. Anything else is `None`: the ledger has one spelling per
/// instant.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<i32>().ok();
    let month = time::Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(num(0..4)?, month, u8::try_from(num(8..10)?).ok()?).ok()?;
    let t = time::Time::from_hms(
        u8::try_from(num(11..13)?).ok()?,
        u8::try_from(num(14..16)?).ok()?,
        u8::try_from(num(17..19)?).ok()?,
    )
    .ok()?;
    let unix = date.with_time(t).assume_utc().unix_timestamp();
    (0..=MAX_TIME).contains(&unix).then_some(unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_at_second_precision() {
        let s = rfc3339(1_795_833_151);
        assert_eq!(s, "2026-11-28T02:32:31Z");
        assert_eq!(parse_rfc3339(&s), Some(1_795_833_151));
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(MAX_TIME), "9999-12-31T23:59:59Z");
        assert_eq!(parse_rfc3339("9999-12-31T23:59:59Z"), Some(MAX_TIME));
    }

    #[test]
    fn times_outside_1970_to_9999_are_clamped() {
        assert_eq!(rfc3339(-5), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1 << 40), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
        let c = ManualClock::new(1 << 40);
        assert_eq!(c.now(), MAX_TIME);
    }

    #[test]
    fn only_the_one_ledger_spelling_parses() {
        for bad in [
            "2026-11-28T02:32:31+01:00",
            "2026-11-28T02:32:31.5Z",
            "2026-11-28t02:32:31z",
            "2026-11-28 02:32:31Z",
            "2026-11-28T02:32:31",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-28T24:00:00Z",
            "2026-11-28T02:32:60Z",
            "+2026-11-28T02:32:31Z",
            "1969-12-31T23:59:59Z",
            "２026-11-28T02:32:31Z",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?} parsed");
        }
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(100);
        assert_eq!(c.now(), 100);
        c.advance(5);
        assert_eq!(c.now(), 105);
        assert_eq!(c.monotonic(), Duration::from_secs(5));
        c.set_wall(10);
        assert_eq!(c.now(), 10);
        assert_eq!(c.monotonic(), Duration::from_secs(5));
    }
}
