//! Turning WordPress column and meta values (read as bytes) into record fields: text that must
//! be UTF-8, decimal strings as money in minor units or as grams, whole numbers.

/// Text from a column read as bytes; `Err` names the field when it is not UTF-8.
pub(crate) fn text(field: &str, bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        format!(
            "{field} is not UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// A decimal string as (mantissa, digits after the point): `-12.345` → (-12345, 3).
fn parse_decimal(s: &str) -> Option<(i128, u32)> {
    let s = s.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())
        || whole.len() + fraction.len() > 30
    {
        return None;
    }
    let mut mantissa: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa * 10 + i128::from(b - b'0');
    }
    let scale = u32::try_from(fraction.len()).ok()?;
    Some((if negative { -mantissa } else { mantissa }, scale))
}

/// `mantissa / 10^scale * factor / divisor`, rounded half away from zero.
fn scaled(mantissa: i128, scale: u32, factor: i128, divisor: i128) -> Option<i64> {
    let denominator = 10i128.checked_pow(scale)?.checked_mul(divisor)?;
    let numerator = mantissa.checked_mul(factor)?;
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    let rounded = if remainder.abs() * 2 >= denominator {
        quotient + numerator.signum()
    } else {
        quotient
    };
    i64::try_from(rounded).ok()
}

/// A money amount (`12.34`, `-5`, `0.8333`) in minor units of a currency with `digits` minor
/// digits, rounded half away from zero (WooCommerce keeps unrounded taxes).
pub(crate) fn money(field: &str, value: &str, digits: u8) -> Result<i64, String> {
    let (mantissa, scale) =
        parse_decimal(value).ok_or_else(|| format!("{field} {value:?} is not a number"))?;
    scaled(mantissa, scale, 10i128.pow(u32::from(digits)), 1)
        .ok_or_else(|| format!("{field} {value:?} is out of range"))
}

/// The sum of money amounts (`(field, value)`, an empty value is 0) in minor units, added as
/// decimals and rounded once, as WooCommerce totals them (an order's tax is its cart tax plus
/// its shipping tax, rounded after the sum).
pub(crate) fn money_sum(parts: &[(&str, &str)], digits: u8) -> Result<i64, String> {
    let sum = decimal_sum(parts.iter().map(|(_, v)| *v)).map_err(|bad| {
        let field = parts.iter().find(|(_, v)| *v == bad).map_or("amount", |(f, _)| f);
        format!("{field} {bad:?} is not a number")
    })?;
    money("the sum", &sum, digits)
}

/// Decimal strings added exactly (empty ones are 0), as a decimal string; `Err` is the first
/// value that is not a number (or the sum is out of range).
pub(crate) fn decimal_sum<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<String, &'a str> {
    let mut terms = Vec::new();
    for value in values.into_iter().filter(|v| !v.trim().is_empty()) {
        terms.push((parse_decimal(value).ok_or(value)?, value));
    }
    let scale = terms.iter().map(|((_, s), _)| *s).max().unwrap_or(0);
    let mut sum: i128 = 0;
    for ((mantissa, s), value) in terms {
        sum = 10i128
            .checked_pow(scale - s)
            .and_then(|f| mantissa.checked_mul(f))
            .and_then(|m| sum.checked_add(m))
            .ok_or(value)?;
    }
    let digits = sum.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    let sign = if sum < 0 { "-" } else { "" };
    Ok(if scale == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    })
}

/// A price: as [`money`], and never negative.
pub(crate) fn price(field: &str, value: &str, digits: u8) -> Result<i64, String> {
    let minor = money(field, value, digits)?;
    if minor < 0 {
        return Err(format!("{field} {value:?} is negative"));
    }
    Ok(minor)
}

/// A weight in the shop's unit (`woocommerce_weight_unit`: kg, g, lbs, oz) as whole grams;
/// empty is 0.
pub(crate) fn grams(value: &str, unit: &str) -> Result<i64, String> {
    if value.trim().is_empty() {
        return Ok(0);
    }
    let nanograms: i128 = match unit {
        "g" => 1_000_000_000,
        "lbs" => 453_592_370_000,
        "oz" => 28_349_523_125,
        _ => 1_000_000_000_000,
    };
    let (mantissa, scale) =
        parse_decimal(value).ok_or_else(|| format!("_weight {value:?} is not a number"))?;
    match scaled(mantissa, scale, nanograms, 1_000_000_000) {
        Some(g) if g >= 0 => Ok(g),
        _ => Err(format!("_weight {value:?} is negative or out of range")),
    }
}

/// A whole number (`5`, `5.000`); `Err` for fractions and text.
pub(crate) fn whole(field: &str, value: &str) -> Result<i64, String> {
    let (mantissa, scale) =
        parse_decimal(value).ok_or_else(|| format!("{field} {value:?} is not a number"))?;
    let unit = 10i128.pow(scale);
    if mantissa % unit != 0 {
        return Err(format!("{field} {value:?} is not a whole number"));
    }
    i64::try_from(mantissa / unit).map_err(|_| format!("{field} {value:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_goes_to_minor_units_by_the_currency() {
        assert_eq!(money("p", "12.34", 2), Ok(1234));
        assert_eq!(money("p", "12.3", 2), Ok(1230));
        assert_eq!(money("p", "12", 0), Ok(12));
        assert_eq!(money("p", "1500.5", 0), Ok(1501));
        assert_eq!(money("p", "0.8350", 2), Ok(84));
        assert_eq!(money("p", "-0.835", 2), Ok(-84));
        assert_eq!(money("p", "12.34000000", 2), Ok(1234));
        // Added first, rounded once (0.125 + 0.125 = 0.25, not 0.13 + 0.13).
        assert_eq!(money_sum(&[("t", "0.125"), ("s", "0.125")], 2), Ok(25));
        assert_eq!(money_sum(&[("t", "1.5"), ("s", "")], 2), Ok(150));
        assert_eq!(money_sum(&[("t", ""), ("s", "")], 2), Ok(0));
        assert!(
            money_sum(&[("t", "x"), ("s", "1")], 2)
                .unwrap_err()
                .contains("t \"x\"")
        );
        assert!(money("p", "", 2).is_err());
        assert!(money("p", "1,50", 2).is_err());
        assert!(
            price("_regular_price", "-5.00", 2)
                .unwrap_err()
                .contains("negative")
        );
    }

    #[test]
    fn weights_become_grams() {
        assert_eq!(grams("1.234", "kg"), Ok(1234));
        assert_eq!(grams("", "kg"), Ok(0));
        assert_eq!(grams("250", "g"), Ok(250));
        assert_eq!(grams("1", "lbs"), Ok(454));
        assert_eq!(grams("2", "oz"), Ok(57));
        assert!(grams("-1", "kg").is_err());
    }

    #[test]
    fn whole_numbers_and_text() {
        assert_eq!(whole("_stock", "5.000"), Ok(5));
        assert_eq!(whole("_stock", "-3"), Ok(-3));
        assert!(whole("_stock", "1.5").is_err());
        assert!(text("post_title", b"Bad \xff").unwrap_err().contains("not UTF-8"));
        assert_eq!(text("t", "Café".as_bytes()).unwrap(), "Café");
    }
}
