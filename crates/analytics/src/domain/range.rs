//! Ranges as the API gives them, resolved in the store's time zone (the one owner of the rule,
//! see the top of `analytics.proto`): local dates are whole days, both included; RFC 3339
//! instants must fall on an hour of the zone and are half-open; nothing given means the last 30
//! local days up to and including today. Over 400 days, `from` after `to`, or a malformed value
//! is a validation error naming the field.

use super::zone::{Zone, add_days};
use jiff::Timestamp;
use jiff::civil::Date;
use mercato_proto::analytics::ResolvedRange;
use mercato_runtime::error::{FieldError, ServiceError};

/// The longest range, in local days.
pub const MAX_DAYS: i64 = 400;
/// The range when none is given, in local days.
pub const DEFAULT_DAYS: i64 = 30;

/// A resolved range: instants (epoch ms, half-open) and the local dates they touch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub from_ms: i64,
    pub to_ms: i64,
    pub from_date: Date,
    /// The last local date in the range.
    pub to_date: Date,
    /// Whether both ends are local midnights (whole days: the daily buckets answer it).
    pub whole_days: bool,
}

/// One end of a range as given.
enum End {
    Date(Date),
    Instant(i64),
}

fn parse_end(field: &str, value: &str, zone: &Zone) -> Result<Option<End>, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() == 10 {
        return value
            .parse::<Date>()
            .map(|d| Some(End::Date(d)))
            .map_err(|_| FieldError::new(field, "must be a date (2026-12-01) or an RFC 3339 instant"));
    }
    let ms = value
        .parse::<Timestamp>()
        .map_err(|_| FieldError::new(field, "must be a date (2026-12-01) or an RFC 3339 instant"))?
        .as_millisecond();
    if zone.hour_start(ms) != ms {
        return Err(FieldError::new(
            field,
            "must be on an hour of the store's time zone",
        ));
    }
    Ok(Some(End::Instant(ms)))
}

/// Resolves `from`–`to` in `zone`, `now_ms` giving today.
pub fn resolve(from: &str, to: &str, zone: &Zone, now_ms: i64) -> Result<Resolved, ServiceError> {
    let from = parse_end("from", from, zone);
    let to = parse_end("to", to, zone);
    let (from, to) = match (from, to) {
        (Ok(f), Ok(t)) => (f, t),
        (f, t) => {
            let fields: Vec<FieldError> = [f.err(), t.err()].into_iter().flatten().collect();
            let mut e = ServiceError::validation("the range is not valid");
            e.fields = fields;
            return Err(e);
        }
    };
    let to_ms = match to {
        Some(End::Date(d)) => zone.day_start(add_days(d, 1)),
        Some(End::Instant(ms)) => ms,
        None => zone.day_start(add_days(zone.date(now_ms), 1)),
    };
    let from_ms = match from {
        Some(End::Date(d)) => zone.day_start(d),
        Some(End::Instant(ms)) => ms,
        None => zone.day_start(add_days(zone.date(to_ms - 1), 1 - DEFAULT_DAYS)),
    };
    if from_ms >= to_ms {
        return Err(ServiceError::invalid_field("from", "must be before to"));
    }
    let resolved = of_instants(zone, from_ms, to_ms);
    let days = (resolved.to_date - resolved.from_date).get_days() as i64 + 1;
    if days > MAX_DAYS {
        return Err(ServiceError::invalid_field("to", "the range is over 400 days"));
    }
    Ok(resolved)
}

/// The range `[from_ms, to_ms)` in `zone`.
pub fn of_instants(zone: &Zone, from_ms: i64, to_ms: i64) -> Resolved {
    let (from_date, to_date) = (zone.date(from_ms), zone.date(to_ms - 1));
    Resolved {
        from_ms,
        to_ms,
        from_date,
        to_date,
        whole_days: zone.day_start(from_date) == from_ms && zone.day_start(add_days(to_date, 1)) == to_ms,
    }
}

/// The range of the same length just before `r`: as many days for whole days, else as many
/// milliseconds.
pub fn previous(r: &Resolved, zone: &Zone) -> Resolved {
    if r.whole_days {
        let days = (r.to_date - r.from_date).get_days() as i64 + 1;
        let from = add_days(r.from_date, -days);
        return of_instants(zone, zone.day_start(from), r.from_ms);
    }
    of_instants(zone, r.from_ms - (r.to_ms - r.from_ms), r.from_ms)
}

impl Resolved {
    /// As the contract's message.
    pub fn message(&self, zone: &Zone) -> ResolvedRange {
        ResolvedRange {
            from_ms: self.from_ms,
            to_ms: self.to_ms,
            from_date: self.from_date.to_string(),
            to_date: self.to_date.to_string(),
            time_zone: zone.name().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> i64 {
        "2026-12-06T15:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond()
    }

    fn fields(e: &ServiceError) -> Vec<&str> {
        e.fields.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn dates_are_whole_local_days_and_the_default_is_the_last_30() {
        let paris = Zone::named("Europe/Paris").unwrap();
        let r = resolve("2026-12-01", "2026-12-01", &paris, now()).unwrap();
        assert_eq!(r.to_ms - r.from_ms, 86_400_000);
        assert!(r.whole_days);
        let d = resolve("", "", &paris, now()).unwrap();
        assert_eq!(
            (d.from_date.to_string(), d.to_date.to_string()),
            ("2026-11-07".into(), "2026-12-06".into())
        );
        let p = previous(&r, &paris);
        assert_eq!(
            (p.from_date.to_string(), p.to_date.to_string()),
            ("2026-11-30".into(), "2026-11-30".into())
        );
    }

    #[test]
    fn bad_ranges_name_their_field() {
        let utc = Zone::utc();
        assert_eq!(
            fields(&resolve("2026-13-01", "", &utc, now()).unwrap_err()),
            ["from"]
        );
        assert_eq!(
            fields(&resolve("", "yesterday", &utc, now()).unwrap_err()),
            ["to"]
        );
        assert_eq!(
            fields(&resolve("2026-12-05", "2026-12-01", &utc, now()).unwrap_err()),
            ["from"]
        );
        assert_eq!(
            fields(&resolve("2025-01-01", "2026-12-01", &utc, now()).unwrap_err()),
            ["to"]
        );
        assert_eq!(
            fields(&resolve("2026-12-01T10:30:00Z", "", &utc, now()).unwrap_err()),
            ["from"]
        );
        let half = resolve("2026-12-01T10:00:00Z", "2026-12-01T12:00:00Z", &utc, now()).unwrap();
        assert!(!half.whole_days);
    }
}
