//! A store's time zone and the bucket keys it gives an instant: the hour bucket is the UTC
//! epoch-ms of the start of the local hour holding the instant (unambiguous across DST and in
//! half-hour zones), the day bucket the local date (`2026-12-06`).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

const HOUR_MS: i64 = 3_600_000;

/// An IANA time zone, from the tz database bundled into the binary.
#[derive(Clone, Debug)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// The zone named `name`; `None` when the database does not know it.
    pub fn named(name: &str) -> Option<Zone> {
        let name = if name.is_empty() { "UTC" } else { name };
        let tz = TimeZone::get(name).ok()?;
        Some(Zone {
            name: name.to_owned(),
            tz,
        })
    }

    /// UTC, the zone of a store that named none.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_owned(),
            tz: TimeZone::UTC,
        }
    }

    /// The zone named `name`, or UTC when it is unknown (logged by the caller if it matters).
    pub fn named_or_utc(name: &str) -> Zone {
        Zone::named(name).unwrap_or_else(Zone::utc)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn timestamp(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn offset_ms(&self, ms: i64) -> i64 {
        i64::from(self.tz.to_offset(Self::timestamp(ms)).seconds()) * 1000
    }

    /// The start (UTC epoch ms) of the local hour holding `ms`.
    pub fn hour_start(&self, ms: i64) -> i64 {
        let offset = self.offset_ms(ms);
        let local = ms + offset;
        local - local.rem_euclid(HOUR_MS) - offset
    }

    /// The start of the local hour after the one starting at `hour_start`.
    pub fn next_hour(&self, hour_start: i64) -> i64 {
        let next = self.hour_start(hour_start + HOUR_MS);
        if next > hour_start {
            next
        } else {
            hour_start + HOUR_MS
        }
    }

    /// The local date holding `ms`.
    pub fn date(&self, ms: i64) -> Date {
        Self::timestamp(ms).to_zoned(self.tz.clone()).date()
    }

    /// The local date holding `ms`, as its day bucket key.
    pub fn day_key(&self, ms: i64) -> String {
        self.date(ms).to_string()
    }

    /// When `date` starts here (its first instant; after a gap at midnight, the gap's end).
    pub fn day_start(&self, date: Date) -> i64 {
        date.to_zoned(self.tz.clone())
            .and_then(|z| z.start_of_day())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(0)
    }

    /// The local label of the hour starting at `hour_start` (`2026-12-06T14:00`).
    pub fn hour_label(&self, hour_start: i64) -> String {
        Self::timestamp(hour_start)
            .to_zoned(self.tz.clone())
            .strftime("%Y-%m-%dT%H:%M")
            .to_string()
    }
}

/// The date `days` after `date` (negative: before).
pub fn add_days(date: Date, days: i64) -> Date {
    date.checked_add(days.days()).unwrap_or(date)
}

/// The dates from `first` to `last`, both included.
pub fn dates(first: Date, last: Date) -> Vec<Date> {
    let mut out = Vec::new();
    let mut d = first;
    while d <= last {
        out.push(d);
        d = add_days(d, 1);
        if out.len() > 1000 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn the_hours_of_a_fall_back_day_are_distinct_and_the_late_evening_is_that_day() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        // 02:30 CEST and 02:30 CET are two hours.
        let first = berlin.hour_start(ms("2026-10-25T00:30:00Z"));
        let second = berlin.hour_start(ms("2026-10-25T01:30:00Z"));
        assert_eq!(
            (first, second),
            (ms("2026-10-25T00:00:00Z"), ms("2026-10-25T01:00:00Z"))
        );
        // 23:30 CET on the 25th is 22:30 UTC.
        assert_eq!(berlin.day_key(ms("2026-10-25T22:30:00Z")), "2026-10-25");
        assert_eq!(berlin.day_key(ms("2026-10-25T23:30:00Z")), "2026-10-26");
        assert_eq!(
            berlin.day_start("2026-10-26".parse().unwrap()),
            ms("2026-10-25T23:00:00Z")
        );
    }

    #[test]
    fn half_hour_zones_start_their_hours_on_the_half_hour() {
        let kolkata = Zone::named("Asia/Kolkata").unwrap();
        assert_eq!(
            kolkata.hour_start(ms("2026-12-06T10:10:00Z")),
            ms("2026-12-06T09:30:00Z")
        );
        assert_eq!(kolkata.hour_label(ms("2026-12-06T09:30:00Z")), "2026-12-06T15:00");
    }

    #[test]
    fn a_spring_forward_day_has_23_hours() {
        let ny = Zone::named("America/New_York").unwrap();
        let day: Date = "2026-03-08".parse().unwrap();
        let (start, end) = (ny.day_start(day), ny.day_start(add_days(day, 1)));
        let mut hours = 0;
        let mut h = start;
        while h < end {
            h = ny.next_hour(h);
            hours += 1;
        }
        assert_eq!(hours, 23);
        assert!(Zone::named("Mars/Olympus").is_none());
    }
}
