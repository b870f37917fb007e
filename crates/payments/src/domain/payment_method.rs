//! Tokenized cards: the card brand read from the number, the keyed fingerprint that fraud rules
//! compare instead of the number, and the optional expiry and verification code a shopper may
//! give when tokenizing. Pure; the number itself is never kept.

use super::CardNumber;
use ring::hmac;

/// The card network, read from the number's leading digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Brand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Unknown,
}

impl Brand {
    pub fn of(card: &CardNumber) -> Brand {
        let digits = card.digits();
        let prefix = |n: usize| digits[..n].parse::<u32>().unwrap_or(0);
        match (prefix(1), prefix(2), prefix(4)) {
            (4, _, _) => Brand::Visa,
            (_, 51..=55, _) | (_, _, 2221..=2720) => Brand::Mastercard,
            (_, 34 | 37, _) => Brand::Amex,
            (_, 65, _) | (_, _, 6011) => Brand::Discover,
            _ => Brand::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Amex => "amex",
            Brand::Discover => "discover",
            Brand::Unknown => "unknown",
        }
    }
}

/// The secret under which card fingerprints are computed (`payments.fingerprint_key`). Without
/// it a fingerprint reveals nothing: an unkeyed hash of a card number can be reversed by trying
/// every number with the known last four digits and brand.
#[derive(Clone)]
pub struct FingerprintKey(hmac::Key);

/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

impl FingerprintKey {
    /// `None` when `key` is shorter than [`MIN_KEY_BYTES`].
    pub fn new(key: &[u8]) -> Option<FingerprintKey> {
        (key.len() >= MIN_KEY_BYTES).then(|| FingerprintKey(hmac::Key::new(hmac::HMAC_SHA256, key)))
    }

    /// HMAC-SHA256 (RFC 2104) of the card's digits under this key, as lower-case hex: the same
    /// card always gives the same fingerprint, so velocity and block-list rules can count it.
    pub fn fingerprint(&self, card: &CardNumber) -> String {
        self.mac(card.digits().as_bytes())
    }

    fn mac(&self, message: &[u8]) -> String {
        hex(hmac::sign(&self.0, message).as_ref())
    }
}

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintKey(***)")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A card's expiry as given (`MM/YY`), or why it is refused. `today` is (year, month).
pub fn check_expiry(exp: &str, today: (i32, u32)) -> Result<(), &'static str> {
    let parsed = exp.trim().split_once('/').and_then(|(m, y)| {
        let month: u32 = m.trim().parse().ok().filter(|m| (1..=12).contains(m))?;
        let year: i32 = y.trim().parse().ok().filter(|_| y.trim().len() == 2)?;
        Some((2000 + year, month))
    });
    match parsed {
        None => Err("must be MM/YY"),
        Some(expiry) if expiry < today => Err("is in the past"),
        Some(_) => Ok(()),
    }
}

/// A card verification code: 3 or 4 digits. Checked, never kept.
pub fn check_cvc(cvc: &str) -> Result<(), &'static str> {
    let cvc = cvc.trim();
    let ok = (3..=4).contains(&cvc.len()) && cvc.bytes().all(|b| b.is_ascii_digit());
    if ok { Ok(()) } else { Err("must be 3 or 4 digits") }
}

/// The (year, month) of `epoch_ms` in UTC (days-to-civil, Howard Hinnant's algorithm).
pub fn year_month(epoch_ms: i64) -> (i32, u32) {
    let days = epoch_ms.div_euclid(86_400_000) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year as i32, month as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_hmac_sha256_as_rfc_4231_test_case_6_gives_it() {
        let key = FingerprintKey::new(&[0xaa; 131]).unwrap();
        assert_eq!(
            key.mac(b"Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_fingerprint_depends_on_the_key_and_not_on_spacing() {
        let a = FingerprintKey::new(&[1; 32]).unwrap();
        let b = FingerprintKey::new(&[2; 32]).unwrap();
        let card = CardNumber::parse("c", "4242424242424242").unwrap();
        let spaced = CardNumber::parse("c", "4242 4242 4242 4242").unwrap();
        assert_eq!(a.fingerprint(&card), a.fingerprint(&spaced));
        assert_ne!(a.fingerprint(&card), b.fingerprint(&card));
        assert!(!a.fingerprint(&card).contains("4242424242424242"));
        assert!(FingerprintKey::new(&[0; 31]).is_none());
    }

    #[test]
    fn brands_are_read_from_the_leading_digits() {
        let brand = |n: &str| Brand::of(&CardNumber::parse("c", n).unwrap());
        assert_eq!(brand("4242424242424242"), Brand::Visa);
        assert_eq!(brand("5555555555554444"), Brand::Mastercard);
        assert_eq!(brand("2223003122003222"), Brand::Mastercard);
        assert_eq!(brand("378282246310005"), Brand::Amex);
        assert_eq!(brand("6011111111111117"), Brand::Discover);
        assert_eq!(brand("3056930009020004"), Brand::Unknown);
    }

    #[test]
    fn expiry_and_cvc_are_checked() {
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(1_709_251_200_000), (2024, 3));
        assert_eq!(check_expiry("03/24", (2024, 3)), Ok(()));
        assert_eq!(check_expiry("02/24", (2024, 3)), Err("is in the past"));
        assert_eq!(check_expiry("13/30", (2024, 3)), Err("must be MM/YY"));
        assert_eq!(check_expiry("1/2030", (2024, 3)), Err("must be MM/YY"));
        assert_eq!(check_cvc("123"), Ok(()));
        assert!(check_cvc("12a").is_err());
    }
}
