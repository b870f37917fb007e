//! What the admin's people pages (customers, staff, API clients, conversations) share: a
//! refusal in the API's words, its field messages as sentences, URL path segments and query
//! strings, and dates as a merchant reads them.

use crate::api::{ApiError, sentence};

/// A path segment for an API or page URL: everything but unreserved characters
/// percent-encoded, so a value taken from a path or a form cannot add segments or a query.
pub(crate) fn seg(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A query string from pairs; empty values are left out.
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    let given: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
    if given.is_empty() {
        return String::new();
    }
    format!("?{}", serde_urlencoded::to_string(given).unwrap_or_default())
}

/// The refusal in a sentence: the API's own words where they tell the merchant what to do
/// (who may do it, what conflicts), the plain message otherwise.
pub(crate) fn explain(e: &ApiError) -> String {
    match e.status.as_u16() {
        403 | 409 if !e.detail.is_empty() => sentence(&e.detail),
        _ => e.plain_message(),
    }
}

/// The API's message for `field` as a sentence naming it (`Email is required.`).
pub(crate) fn field_error(e: &ApiError, field: &str, label: &str) -> Option<String> {
    e.field(field).map(|m| sentence(&format!("{label} {m}")))
}

/// The day of an RFC 3339 time (`2026-12-06`), as lists show it.
pub(crate) fn day(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

/// The day and minute of an RFC 3339 time (`2026-12-06 18:40 UTC`).
pub(crate) fn minute(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_queries_cannot_escape_their_place() {
        assert_eq!(seg("demo"), "demo");
        assert_eq!(seg("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(query(&[("q", "ann & bob"), ("after", "")]), "?q=ann+%26+bob");
        assert_eq!(query(&[("q", "")]), "");
    }

    #[test]
    fn times_read_as_days_and_minutes() {
        assert_eq!(day("2026-12-06T18:40:12.345Z"), "2026-12-06");
        assert_eq!(minute("2026-12-06T18:40:12.345Z"), "2026-12-06 18:40 UTC");
    }
}
