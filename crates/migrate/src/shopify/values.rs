//! Turning the export's cells into record fields, exactly: decimal prices into minor units of
//! the store's currency (never through a float), weights into whole grams, quantities, and
//! Shopify's `TRUE`/`FALSE`.

/// A decimal string as (mantissa, digits after the point): `-12.345` → (-12345, 3).
fn decimal(s: &str) -> Option<(i128, u32)> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits || whole.len() + fraction.len() > 30 {
        return None;
    }
    let mantissa = whole
        .bytes()
        .chain(fraction.bytes())
        .fold(0i128, |m, b| m * 10 + i128::from(b - b'0'));
    let scale = u32::try_from(fraction.len()).ok()?;
    Some((if negative { -mantissa } else { mantissa }, scale))
}

/// A price (`19.99`, `1500`) in minor units of a currency with `digits` minor digits. A price
/// with more decimals than the currency has (`12.345` in EUR) is refused rather than rounded:
/// the shop never charged it, so it is not the shop's price.
pub(super) fn price(field: &str, value: &str, digits: u8) -> Result<i64, String> {
    let (mantissa, scale) = decimal(value).ok_or_else(|| format!("{field} {value:?} is not a number"))?;
    if mantissa < 0 {
        return Err(format!("{field} {value:?} is negative"));
    }
    let digits = u32::from(digits);
    let minor = if scale <= digits {
        10i128
            .checked_pow(digits - scale)
            .and_then(|f| mantissa.checked_mul(f))
    } else {
        let divisor = 10i128.pow(scale - digits);
        if mantissa % divisor != 0 {
            return Err(format!(
                "{field} {value:?} has more decimals than the currency's {digits}"
            ));
        }
        Some(mantissa / divisor)
    };
    minor
        .and_then(|m| i64::try_from(m).ok())
        .ok_or_else(|| format!("{field} {value:?} is out of range"))
}

/// Nanograms in one of Shopify's weight units.
fn nanograms_per(unit: &str) -> Option<i128> {
    match unit.to_ascii_lowercase().as_str() {
        "g" | "" => Some(1_000_000_000),
        "kg" => Some(1_000_000_000_000),
        "lb" | "lbs" => Some(453_592_370_000),
        "oz" => Some(28_349_523_125),
        _ => None,
    }
}

/// A weight in `unit` (g, kg, lb, oz) as whole grams, rounded half up; never negative.
pub(super) fn grams(field: &str, value: &str, unit: &str) -> Result<i64, String> {
    let per =
        nanograms_per(unit).ok_or_else(|| format!("Variant Weight Unit {unit:?} is not g, kg, lb or oz"))?;
    let (mantissa, scale) = decimal(value).ok_or_else(|| format!("{field} {value:?} is not a number"))?;
    if mantissa < 0 {
        return Err(format!("{field} {value:?} is negative"));
    }
    let denominator = 10i128
        .checked_pow(scale)
        .and_then(|d| d.checked_mul(1_000_000_000));
    let numerator = mantissa.checked_mul(per);
    match (numerator, denominator) {
        (Some(n), Some(d)) => {
            i64::try_from((n + d / 2) / d).map_err(|_| format!("{field} {value:?} is out of range"))
        }
        _ => Err(format!("{field} {value:?} is out of range")),
    }
}

/// A whole number of units (`5`, `-2`, `5.0`).
pub(super) fn quantity(field: &str, value: &str) -> Result<i64, String> {
    let (mantissa, scale) = decimal(value).ok_or_else(|| format!("{field} {value:?} is not a number"))?;
    let unit = 10i128.pow(scale);
    if mantissa % unit != 0 {
        return Err(format!("{field} {value:?} is not a whole number"));
    }
    i64::try_from(mantissa / unit).map_err(|_| format!("{field} {value:?} is out of range"))
}

/// Shopify's `TRUE`/`FALSE` (any case); `default` when empty.
pub(super) fn flag(field: &str, value: &str, default: bool) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "" => Ok(default),
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("{field} {value:?} is not TRUE or FALSE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_become_minor_units_exactly() {
        assert_eq!(price("p", "19.99", 2), Ok(1999));
        assert_eq!(price("p", "19.9", 2), Ok(1990));
        assert_eq!(price("p", "20", 2), Ok(2000));
        assert_eq!(price("p", "1500.00", 0), Ok(1500));
        assert_eq!(price("p", "0.10", 2), Ok(10));
        assert!(price("p", "1500.50", 0).unwrap_err().contains("decimals"));
        assert!(price("p", "-1.00", 2).unwrap_err().contains("negative"));
        assert!(price("p", "1,50", 2).unwrap_err().contains("not a number"));
        assert!(price("p", "", 2).is_err());
        assert!(
            price("p", "99999999999999999999", 2)
                .unwrap_err()
                .contains("range")
        );
    }

    #[test]
    fn weights_become_whole_grams_in_every_unit() {
        assert_eq!(grams("w", "250", "g"), Ok(250));
        assert_eq!(grams("w", "250.0", ""), Ok(250));
        assert_eq!(grams("w", "1.2345", "kg"), Ok(1235));
        assert_eq!(grams("w", "1", "lb"), Ok(454));
        assert_eq!(grams("w", "2", "oz"), Ok(57));
        assert!(grams("w", "-1", "g").unwrap_err().contains("negative"));
        assert!(grams("w", "1", "stone").unwrap_err().contains("Unit"));
    }

    #[test]
    fn quantities_and_flags() {
        assert_eq!(quantity("q", "5"), Ok(5));
        assert_eq!(quantity("q", "-2"), Ok(-2));
        assert_eq!(quantity("q", "3.0"), Ok(3));
        assert!(quantity("q", "1.5").is_err());
        assert_eq!(flag("f", "TRUE", false), Ok(true));
        assert_eq!(flag("f", "false", true), Ok(false));
        assert_eq!(flag("f", "", true), Ok(true));
        assert!(flag("f", "maybe", true).is_err());
    }
}
