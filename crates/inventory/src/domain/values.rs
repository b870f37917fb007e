//! Value types built once at the boundary (`parse`), then trusted everywhere else. A refused
//! value is a [`FieldError`] naming the field and the reason; the edge makes it an answer.

use mercato_runtime::error::FieldError;

mercato_runtime::define_id!(
    /// A reservation of one store, chosen by the caller (the order) so that retries are safe.
    ReservationId
);

pub use mercato_runtime::sku::Sku;

/// Where stock is kept: `[a-z0-9-]`, 1–40 characters; an empty name means [`Location::DEFAULT`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location(String);

impl Location {
    pub const DEFAULT: &'static str = "default";

    pub fn parse(field: &str, s: &str) -> Result<Location, FieldError> {
        if s.is_empty() {
            return Ok(Location(Self::DEFAULT.to_owned()));
        }
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if s.len() > 40 || !ok_chars {
            return Err(FieldError::new(
                field,
                "must be 1-40 characters of a-z, 0-9 and -",
            ));
        }
        Ok(Location(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_allow_letters_digits_dots_underscores_and_dashes_only() {
        assert!(Sku::parse("sku", "TS-blu_1.2").is_ok());
        assert!(Sku::parse("sku", "").is_err());
        assert!(Sku::parse("sku", "a b").is_err());
        assert!(Sku::parse("sku", &"x".repeat(65)).is_err());
        assert!(Sku::parse("sku", &"x".repeat(64)).is_ok());
    }

    #[test]
    fn an_empty_location_is_the_default_one_and_names_are_lower_case() {
        assert_eq!(Location::parse("location", "").unwrap().as_str(), "default");
        assert_eq!(Location::parse("location", "wh-2").unwrap().as_str(), "wh-2");
        assert!(Location::parse("location", "WH").is_err());
        assert!(Location::parse("location", &"a".repeat(41)).is_err());
        assert_eq!(
            Location::parse("location", "WH").unwrap_err(),
            FieldError::new("location", "must be 1-40 characters of a-z, 0-9 and -")
        );
    }
}
