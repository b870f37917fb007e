//! What a shopper pays with, checked by one owner for every service: card numbers (PANs),
//! parsed and Luhn-checked where they are tokenized (the payments service) and never kept, the
//! payment method ids that stand for them everywhere else, and country codes.

use crate::address::Country;
use crate::error::{ServiceError, Validator};

/// A tokenized card's id: `pm_` and 32 lower-case hex digits. What checkouts, sagas and stores
/// hold instead of a card number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PaymentMethodId(String);

impl PaymentMethodId {
    const PREFIX: &'static str = "pm_";

    /// A new random id.
    pub fn new() -> PaymentMethodId {
        PaymentMethodId(format!("{}{}", Self::PREFIX, uuid::Uuid::new_v4().simple()))
    }

    /// Accepts exactly the form [`PaymentMethodId::new`] makes (surrounding spaces trimmed);
    /// anything else, a card number in particular, is refused against `field`.
    pub fn parse(field: &str, s: &str) -> Result<PaymentMethodId, ServiceError> {
        let s = s.trim();
        let hex = s.strip_prefix(Self::PREFIX).unwrap_or_default();
        let ok = hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !ok {
            return Err(ServiceError::invalid_field(
                field,
                "must be a payment method id (pm_…) from POST /v1/stores/{store}/payment-methods",
            ));
        }
        Ok(PaymentMethodId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for PaymentMethodId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for PaymentMethodId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Luhn-valid card number of 12–19 digits. Its `Debug` shows only the last four digits, so it
/// cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl CardNumber {
    /// Accepts digits with optional spaces or dashes between them.
    pub fn parse(field: &str, s: &str) -> Result<CardNumber, ServiceError> {
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let ok = (12..=19).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && luhn_valid(digits.as_bytes());
        if !ok {
            return Err(ServiceError::invalid_field(field, "is not a valid card number"));
        }
        Ok(CardNumber(digits))
    }

    /// The digits; for the provider only, never for storage or logs.
    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }
}

impl std::fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardNumber(****{})", self.last4())
    }
}

/// An assigned ISO 3166 alpha-2 country code (any case, trimmed; the list is
/// [`Country`](crate::address::Country)'s), upper-cased; empty stays empty (not given).
/// Anything else is reported against `field`.
pub fn country_code(v: &mut Validator, field: &str, s: &str) -> String {
    if s.trim().is_empty() {
        return String::new();
    }
    match v.check(Country::parse(field, s)) {
        Some(country) => country.as_str().to_owned(),
        None => s.trim().to_ascii_uppercase(),
    }
}

/// `body` (ASCII digits) with the Luhn check digit appended: a number [`luhn_valid`] accepts.
pub fn with_check_digit(body: &str) -> String {
    (b'0'..=b'9')
        .map(|digit| format!("{body}{}", char::from(digit)))
        .find(|number| luhn_valid(number.as_bytes()))
        .expect("one of ten check digits completes any run of digits")
}

/// The Luhn (mod 10) check over ASCII digits.
pub fn luhn_valid(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.iter().rev().enumerate() {
        let mut d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return false;
        }
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_method_id_has_one_form_and_a_card_number_is_not_one() {
        let id = PaymentMethodId::new();
        assert_eq!(PaymentMethodId::parse("pm", &format!(" {id} ")).unwrap(), id);
        assert!(PaymentMethodId::parse("pm", "4242424242424242").is_err());
        assert!(PaymentMethodId::parse("pm", "pm_").is_err());
        assert!(PaymentMethodId::parse("pm", &id.as_str().to_uppercase()).is_err());
    }

    #[test]
    fn the_luhn_check_accepts_test_cards_and_rejects_a_changed_digit() {
        assert!(luhn_valid(b"4242424242424242"));
        assert!(luhn_valid(b"4000000000000002"));
        assert!(luhn_valid(b"4000000000009995"));
        assert!(luhn_valid(b"4000000000000077"));
        assert!(luhn_valid(b"4000000000000119"));
        assert!(!luhn_valid(b"4242424242424241"));
        assert_eq!(with_check_digit("424242424242424"), "4242424242424242");
        assert_eq!(with_check_digit("400000000000000"), "4000000000000002");
        assert!(!luhn_valid(b""));
    }

    #[test]
    fn a_card_number_keeps_only_digits_and_never_prints_them() {
        let card = CardNumber::parse("card_number", "4242 4242-4242 4242").unwrap();
        assert_eq!(card.digits(), "4242424242424242");
        assert_eq!(card.last4(), "4242");
        assert_eq!(format!("{card:?}"), "CardNumber(****4242)");
        assert!(CardNumber::parse("card_number", "4242").is_err());
        assert!(CardNumber::parse("card_number", "42424242424242x2").is_err());
    }
}
