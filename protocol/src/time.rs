//! Timestamps as the contract writes them: ISO 8601 in UTC with a `Z`
//! (`2024-01-01T12:00:05Z`), with fractional seconds only when there are some.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time on the wire. Parsing accepts any RFC 3339 offset and converts to UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// The time `secs` whole seconds after the Unix epoch, or `None` when out of range.
    pub fn from_unix_seconds(secs: i64) -> Option<Self> {
        DateTime::from_timestamp(secs, 0).map(Timestamp)
    }

    /// The time `millis` milliseconds after the Unix epoch, or `None` when out of range.
    ///
    /// Straight to UTC: the time zone path (`Utc.timestamp_millis_opt`) works out an offset of
    /// zero and checks the result for ambiguity, and every clock reading comes through here.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        DateTime::from_timestamp_millis(millis).map(Timestamp)
    }

    /// Whole seconds since the Unix epoch (rounded down).
    pub fn unix_seconds(self) -> i64 {
        self.0.timestamp()
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// Seconds (with fractions) from `earlier` to `self`; negative when `earlier` is later.
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        let delta = self.0 - earlier.0;
        delta.num_milliseconds() as f64 / 1000.0
    }

    /// This time moved by `secs` seconds (saturating at the representable range: far past
    /// times become the earliest representable time, far future ones the latest).
    pub fn plus_seconds(self, secs: i64) -> Timestamp {
        let end = if secs < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        };
        Timestamp(
            chrono::TimeDelta::try_seconds(secs)
                .and_then(|delta| self.0.checked_add_signed(delta))
                .unwrap_or(end),
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; RFC3339_MAX];
        match self.write_rfc3339(&mut text) {
            // ASCII digits and separators only.
            Some(len) => f.write_str(std::str::from_utf8(&text[..len]).map_err(|_| fmt::Error)?),
            None => f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

/// The longest text [`Timestamp::write_rfc3339`] writes: `2024-01-01T12:00:05.123456789Z`.
const RFC3339_MAX: usize = 30;

impl Timestamp {
    /// Writes the time as chrono's `to_rfc3339_opts(SecondsFormat::AutoSi, true)` would, into
    /// `out`, and returns the length; `None` for a year outside 0000–9999 (left to chrono).
    /// Every event and answer carries several timestamps: chrono's general formatter, with its
    /// `String`, was ~4 % of the server's instructions per call lifecycle.
    fn write_rfc3339(&self, out: &mut [u8; RFC3339_MAX]) -> Option<usize> {
        use chrono::Timelike;
        let year = u32::try_from(self.0.year()).ok().filter(|y| *y <= 9999)?;
        let mut nanos = self.0.nanosecond();
        let mut second = self.0.second();
        // chrono keeps a leap second as a nanosecond count past 999,999,999.
        if nanos >= 1_000_000_000 {
            nanos -= 1_000_000_000;
            second += 1;
        }
        fn two(out: &mut [u8], at: usize, n: u32) {
            out[at] = b'0' + (n / 10 % 10) as u8;
            out[at + 1] = b'0' + (n % 10) as u8;
        }
        two(out, 0, year / 100);
        two(out, 2, year % 100);
        out[4] = b'-';
        two(out, 5, self.0.month());
        out[7] = b'-';
        two(out, 8, self.0.day());
        out[10] = b'T';
        two(out, 11, self.0.hour());
        out[13] = b':';
        two(out, 14, self.0.minute());
        out[16] = b':';
        two(out, 17, second);
        let mut len = 19;
        let (digits, mut fraction) = if nanos == 0 {
            (0, 0)
        } else if nanos.is_multiple_of(1_000_000) {
            (3, nanos / 1_000_000)
        } else if nanos.is_multiple_of(1_000) {
            (6, nanos / 1_000)
        } else {
            (9, nanos)
        };
        if digits > 0 {
            out[len] = b'.';
            for at in (len + 1..=len + digits).rev() {
                out[at] = b'0' + (fraction % 10) as u8;
                fraction /= 10;
            }
            len += digits + 1;
        }
        out[len] = b'Z';
        Some(len + 1)
    }
}

/// Why a timestamp did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {value:?}: expected ISO 8601 like 2024-01-01T12:00:05Z")]
pub struct TimestampError {
    value: String,
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    /// Reads RFC 3339. The time, converted to UTC, must lie in the years 0000 to 9999, the
    /// ones RFC 3339 can write: `9999-12-31T23:59:59-01:00` is year 10000 in UTC, which would
    /// print as `+10000-...` and not read back.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .filter(|t| (0..=9999).contains(&t.year()))
            .map(Timestamp)
            .ok_or_else(|| TimestampError {
                value: s.to_owned(),
            })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; RFC3339_MAX];
        match self.write_rfc3339(&mut text) {
            Some(len) => s.serialize_str(
                std::str::from_utf8(&text[..len]).map_err(serde::ser::Error::custom)?,
            ),
            None => s.collect_str(self),
        }
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date-time" })
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_print_without_fraction() {
        let t: Timestamp = "2024-01-01T12:00:05Z".parse().unwrap();
        assert_eq!(t.to_string(), "2024-01-01T12:00:05Z");
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let t: Timestamp = "2024-01-01T13:00:05+01:00".parse().unwrap();
        assert_eq!(t.to_string(), "2024-01-01T12:00:05Z");
    }

    #[test]
    fn milliseconds_survive_a_round_trip() {
        let t = Timestamp::from_unix_millis(1_704_110_405_250).unwrap();
        assert_eq!(t.to_string(), "2024-01-01T12:00:05.250Z");
        assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
    }

    #[test]
    fn times_outside_the_years_rfc_3339_can_write_are_rejected() {
        assert!("9999-12-31T23:59:59-01:00".parse::<Timestamp>().is_err());
        assert!("0000-01-01T00:00:00+00:01".parse::<Timestamp>().is_err());
        let last: Timestamp = "9999-12-31T23:59:59.999Z".parse().unwrap();
        assert_eq!(last.to_string().parse::<Timestamp>().unwrap(), last);
        let first: Timestamp = "0000-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(first.to_string().parse::<Timestamp>().unwrap(), first);
    }

    #[test]
    fn garbage_is_rejected() {
        assert!("yesterday".parse::<Timestamp>().is_err());
    }

    #[test]
    fn plus_seconds_saturates_towards_its_sign() {
        let t = Timestamp::from_unix_seconds(1_704_110_400).unwrap();
        assert_eq!(t.plus_seconds(5).unix_seconds(), 1_704_110_405);
        assert_eq!(t.plus_seconds(-5).unix_seconds(), 1_704_110_395);
        // 4294967295 days ago is before any representable time, not after it.
        let far_past = t.plus_seconds(-i64::from(u32::MAX) * 86_400);
        assert_eq!(far_past.0, DateTime::<Utc>::MIN_UTC);
        assert_eq!(t.plus_seconds(i64::MIN).0, DateTime::<Utc>::MIN_UTC);
        assert_eq!(t.plus_seconds(i64::MAX).0, DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn seconds_since_is_fractional() {
        let a = Timestamp::from_unix_millis(1_000).unwrap();
        let b = Timestamp::from_unix_millis(2_500).unwrap();
        assert_eq!(b.seconds_since(a), 1.5);
    }

    /// The direct writer and chrono's formatter agree: any second in the years 0000–9999,
    /// with no fraction, milliseconds, microseconds or nanoseconds, leap seconds included;
    /// and the JSON is the same text.
    #[test]
    fn the_direct_writer_prints_what_chrono_prints() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};

        let first = "0000-01-01T00:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .unix_seconds();
        let last = "9999-12-31T23:59:59Z"
            .parse::<Timestamp>()
            .unwrap()
            .unix_seconds();
        let nanos = prop_oneof![
            Just(0u32),
            (1u32..1000).prop_map(|n| n * 1_000_000),
            (1u32..1_000_000).prop_map(|n| n * 1_000),
            1u32..1_000_000_000,
            // A leap second (chrono allows one only at a minute's last second).
            1_000_000_000u32..2_000_000_000,
        ];
        let mut runner = TestRunner::new(Config::with_cases(4096));
        runner
            .run(&(first..=last, nanos), |(secs, nanos)| {
                let secs = if nanos >= 1_000_000_000 {
                    secs - secs.rem_euclid(60) + 59
                } else {
                    secs
                };
                let Some(time) = DateTime::<Utc>::from_timestamp(secs, nanos) else {
                    return Ok(());
                };
                let t = Timestamp(time);
                let chrono = time.to_rfc3339_opts(SecondsFormat::AutoSi, true);
                prop_assert_eq!(t.to_string(), chrono.clone());
                prop_assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{chrono}\""));
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn years_past_9999_are_left_to_chrono() {
        let t = Timestamp::from_unix_seconds(300_000_000_000).unwrap();
        assert_eq!(
            t.to_string(),
            t.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)
        );
        assert!(t.to_string().starts_with('+'), "{t}");
    }
}
