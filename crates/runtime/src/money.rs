//! Money as integer minor units with an ISO 4217 currency; never a float.

use crate::error::ServiceError;
use serde::{Deserialize, Serialize};

/// Currencies accepted by stores and prices, with their number of minor-unit digits.
const CURRENCIES: &[(&str, u8)] = &[
    ("AUD", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("INR", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("MXN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("PLN", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("USD", 2),
    ("ZAR", 2),
];

/// An ISO 4217 currency code that Mercato supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses an upper-case ISO 4217 code such as `EUR`.
    pub fn parse(s: &str) -> Result<Self, ServiceError> {
        CURRENCIES
            .iter()
            .find(|(code, _)| *code == s)
            .map(|(code, _)| {
                let b = code.as_bytes();
                Currency([b[0], b[1], b[2]])
            })
            .ok_or_else(|| {
                ServiceError::invalid_field("currency", "must be a supported ISO 4217 code such as EUR")
            })
    }

    /// Every supported code, in the order of the table (for documentation such as the API's
    /// schema).
    pub fn supported_codes() -> impl Iterator<Item = &'static str> {
        CURRENCIES.iter().map(|(code, _)| *code)
    }

    /// The three-letter code.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Number of digits after the decimal point (2 for EUR, 0 for JPY).
    pub fn minor_digits(&self) -> u8 {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == self.as_str())
            .map_or(2, |(_, d)| *d)
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = ServiceError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Currency::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.as_str().to_owned()
    }
}

/// An amount of money: non-negative integer minor units in one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

/// Prices above this are refused as input mistakes (ten billion major units).
const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;

impl Money {
    /// A price: non-negative and below an upper bound that catches typing mistakes.
    pub fn price(field: &str, amount_minor: i64, currency: Currency) -> Result<Self, ServiceError> {
        if !(0..=MAX_AMOUNT_MINOR).contains(&amount_minor) {
            return Err(ServiceError::invalid_field(
                field,
                "must be between 0 and 1000000000000 minor units",
            ));
        }
        Ok(Money {
            amount_minor,
            currency,
        })
    }

    /// Adds two amounts; different currencies are an error, not a silent bug.
    pub fn checked_add(self, other: Money) -> Result<Money, ServiceError> {
        if self.currency != other.currency {
            return Err(ServiceError::validation(format!(
                "cannot add {} to {}",
                other.currency, self.currency
            )));
        }
        let amount_minor = self
            .amount_minor
            .checked_add(other.amount_minor)
            .ok_or_else(|| ServiceError::validation("amount overflow"))?;
        Ok(Money {
            amount_minor,
            currency: self.currency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_different_currencies_is_an_error() {
        let eur = Money::price("p", 100, Currency::parse("EUR").unwrap()).unwrap();
        let usd = Money::price("p", 100, Currency::parse("USD").unwrap()).unwrap();
        assert!(eur.checked_add(usd).is_err());
        assert_eq!(eur.checked_add(eur).unwrap().amount_minor, 200);
    }

    #[test]
    fn unknown_or_lower_case_currencies_are_refused() {
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("XYZ").is_err());
        assert_eq!(Currency::parse("JPY").unwrap().minor_digits(), 0);
    }

    #[test]
    fn negative_prices_are_refused() {
        assert!(Money::price("price", -1, Currency::parse("EUR").unwrap()).is_err());
    }
}
