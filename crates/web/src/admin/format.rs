//! How the admin writes money, times and dates, and reads the ones staff type in.
//!
//! Money is integer minor units everywhere (as in the API); only this module turns it into text
//! and back, with the currency's number of decimals. Times are UTC, as the API gives them.

/// Decimals of a currency's minor unit (2 for EUR, 0 for JPY), as the platform defines them.
fn minor_digits(currency: &str) -> u32 {
    mercato_runtime::money::Currency::parse(currency).map_or(2, |c| u32::from(c.minor_digits()))
}

/// `1999, "EUR"` → `19.99 EUR`; negative amounts keep their sign.
pub(crate) fn money(amount_minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    if digits == 0 {
        return format!("{sign}{abs} {currency}");
    }
    let unit = 10u64.pow(digits);
    format!(
        "{sign}{}.{:0width$} {currency}",
        abs / unit,
        abs % unit,
        width = digits as usize
    )
}

/// A price as staff type it (`19.99`, `19,99`, `19`) → minor units; `None` when it is not a
/// plain non-negative amount with at most the currency's decimals.
pub(crate) fn parse_price(text: &str, currency: &str) -> Option<i64> {
    let digits = minor_digits(currency);
    let text = text.trim().replace(',', ".");
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text.as_str(), ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > digits as usize {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<width$}", width = digits as usize)
            .parse()
            .ok()?
    };
    whole
        .checked_mul(10i64.pow(digits))
        .and_then(|w| w.checked_add(fraction))
}

/// Minor units → the text the price field shows (`1999` → `19.99`), without the currency.
pub(crate) fn price_input(amount_minor: i64, currency: &str) -> String {
    let shown = money(amount_minor, currency);
    shown
        .strip_suffix(currency)
        .map(str::trim_end)
        .unwrap_or(&shown)
        .to_owned()
}

/// An RFC 3339 time from the API → `2026-12-06 14:03 UTC` (what it says, to the minute).
pub(crate) fn when(rfc3339: &str) -> String {
    match (rfc3339.get(0..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) if rfc3339.ends_with('Z') => format!("{date} {time} UTC"),
        (Some(date), Some(time)) => format!("{date} {time}"),
        _ => rfc3339.to_owned(),
    }
}

const DAY_MS: i64 = 86_400_000;

/// A date field's value (`2026-12-06`) as its day number (days since 1970-01-01); `None` when
/// it is not a real date.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let ms = mercato_runtime::time::parse_rfc3339(&format!("{}T00:00:00Z", text.trim()))?;
    Some(ms.div_euclid(DAY_MS))
}

/// Midnight UTC at the start of a day number, in RFC 3339.
pub(crate) fn day_start(day: i64) -> String {
    mercato_runtime::time::to_rfc3339(day.saturating_mul(DAY_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_with_the_currency_decimals() {
        assert_eq!(money(1999, "EUR"), "19.99 EUR");
        assert_eq!(money(5, "EUR"), "0.05 EUR");
        assert_eq!(money(-1200, "USD"), "-12.00 USD");
        assert_eq!(money(1500, "JPY"), "1500 JPY");
        assert_eq!(price_input(1990, "EUR"), "19.90");
    }

    #[test]
    fn prices_are_read_as_staff_type_them_or_refused() {
        assert_eq!(parse_price("19.99", "EUR"), Some(1999));
        assert_eq!(parse_price(" 19,9 ", "EUR"), Some(1990));
        assert_eq!(parse_price("19", "EUR"), Some(1900));
        assert_eq!(parse_price("1500", "JPY"), Some(1500));
        for bad in ["", "-1", "19.999", "1e3", "abc", ".5", "15.5"] {
            let currency = if bad == "15.5" { "JPY" } else { "EUR" };
            assert_eq!(parse_price(bad, currency), None, "{bad}");
        }
    }

    #[test]
    fn dates_become_utc_midnights_and_impossible_ones_are_refused() {
        let day = parse_date("2026-12-06").unwrap();
        assert_eq!(day_start(day), "2026-12-06T00:00:00Z");
        assert_eq!(day_start(day + 1), "2026-12-07T00:00:00Z");
        assert_eq!(
            day_start(parse_date("2024-02-29").unwrap() + 1),
            "2024-03-01T00:00:00Z"
        );
        assert_eq!(parse_date("2026-02-31"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(when("2026-12-06T14:03:05.123Z"), "2026-12-06 14:03 UTC");
    }
}
