//! Instants as Klarna writes them: ISO-8601 UTC with milliseconds (`2019-05-13T14:51:46.288Z`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

pub const SECOND: i64 = 1_000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    pub const fn plus_millis(self, millis: i64) -> Self {
        Self(self.0.saturating_add(millis))
    }

    pub const fn plus_hours(self, hours: i64) -> Self {
        self.plus_millis(hours * HOUR)
    }

    pub const fn plus_minutes(self, minutes: i64) -> Self {
        self.plus_millis(minutes * MINUTE)
    }

    pub const fn plus_days(self, days: i64) -> Self {
        self.plus_millis(days * DAY)
    }

    /// How long after `earlier` this instant is (zero when it is not later).
    pub fn since(self, earlier: Self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// Midnight UTC of this instant's day.
    pub const fn start_of_day(self) -> Self {
        Self(self.0.div_euclid(DAY) * DAY)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = i128::from(self.0) * 1_000_000;
        let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
            return write!(f, "{}ms", self.0);
        };
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_the_time_between_and_never_negative() {
        let t = Timestamp::from_millis(10_000);
        assert_eq!(t.plus_millis(1_500).since(t), std::time::Duration::from_millis(1_500));
        assert_eq!(t.since(t.plus_millis(1)), std::time::Duration::ZERO);
    }

    #[test]
    fn formats_like_klarna() {
        // 2019-05-13T14:51:46.288Z, an instant from Klarna's read-session example.
        assert_eq!(Timestamp::from_millis(1_557_759_106_288).to_string(), "2019-05-13T14:51:46.288Z");
        assert_eq!(Timestamp::from_millis(0).to_string(), "1970-01-01T00:00:00.000Z");
    }
}
