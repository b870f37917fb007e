//! The orders export's range of creation times as the REST API takes it: local dates
//! (`2026-12-01`, whole days, both included) or RFC 3339 instants, resolved in the store's time
//! zone; an empty `from` is since the first order, an empty `to` up to the moment the export runs.
//! A malformed value, or `from` after `to`, is a validation error naming the field.

use crate::error::{FieldError, ServiceError, Validator};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// Creation times `[from_ms, to_ms)`; `None` for an open end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Span {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// Resolves `from` and `to` in the zone named `zone` (IANA; empty or unknown is UTC).
pub fn resolve(from: &str, to: &str, zone: &str) -> Result<Span, ServiceError> {
    let tz = TimeZone::get(if zone.is_empty() { "UTC" } else { zone }).unwrap_or(TimeZone::UTC);
    let mut v = Validator::new();
    let from_ms = v.check(end("from", from, &tz, false)).flatten();
    let to_ms = v.check(end("to", to, &tz, true)).flatten();
    if let (Some(f), Some(t)) = (from_ms, to_ms)
        && f >= t
    {
        v.add("to", "must be after from");
    }
    v.finish()?;
    Ok(Span { from_ms, to_ms })
}

/// One end in epoch ms; a date's end is the next local midnight (the date is included).
fn end(field: &str, value: &str, tz: &TimeZone, upper: bool) -> Result<Option<i64>, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let bad = || {
        FieldError::new(
            field,
            "must be a date (2026-12-01) or an RFC 3339 instant (2026-12-01T09:00:00Z)",
        )
    };
    if let Ok(date) = value.parse::<Date>() {
        let day = if upper {
            date.tomorrow().map_err(|_| bad())?
        } else {
            date
        };
        let start = day.to_zoned(tz.clone()).map_err(|_| bad())?;
        return Ok(Some(start.timestamp().as_millisecond()));
    }
    let instant: Timestamp = value.parse().map_err(|_| bad())?;
    Ok(Some(instant.as_millisecond()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_whole_local_days_and_instants_are_exact() {
        let span = resolve("2026-12-01", "2026-12-01", "Europe/Paris").unwrap();
        let paris_midnight: Timestamp = "2026-11-30T23:00:00Z".parse().unwrap();
        assert_eq!(span.from_ms, Some(paris_midnight.as_millisecond()));
        assert_eq!(span.to_ms, Some(paris_midnight.as_millisecond() + 86_400_000));
        let span = resolve("2026-12-01T09:00:00Z", "", "Europe/Paris").unwrap();
        let nine: Timestamp = "2026-12-01T09:00:00Z".parse().unwrap();
        assert_eq!(
            span,
            Span {
                from_ms: Some(nine.as_millisecond()),
                to_ms: None
            }
        );
        assert_eq!(resolve("", "", "").unwrap(), Span::default());
    }

    #[test]
    fn bad_values_and_backwards_ranges_name_the_field() {
        let fields = |e: ServiceError| e.fields.into_iter().map(|f| f.field).collect::<Vec<_>>();
        assert_eq!(
            fields(resolve("yesterday", "2026-13-01", "UTC").unwrap_err()),
            ["from", "to"]
        );
        assert_eq!(
            fields(resolve("2026-12-02", "2026-12-01", "UTC").unwrap_err()),
            ["to"]
        );
    }
}
