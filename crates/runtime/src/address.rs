//! Postal addresses and phone numbers, validated by one owner for every service: what can be
//! checked without a network.
//!
//! Every text field is trimmed, refused when it holds a control character, and bounded in
//! length; the country is an assigned ISO 3166-1 alpha-2 code ([`Country`]); the region and
//! postal code follow the country's rules (`rules`): the region is required as its code in the
//! US, Canada and Australia and required in Japan, and the postal code has its shape checked and
//! canonicalised (`sw1a1aa` → `SW1A 1AA`) for the countries the demo ships to (US, CA, GB, DE,
//! FR, NL, IE, AU, JP); elsewhere it is optional and loosely checked. Errors name each bad field
//! under the caller's path (`shipping_address.postal_code`), all at once, as a 422.
//!
//! The wire form is the `mercato.common.v1.Address` message, an empty optional field meaning
//! "not given"; [`Address::parse`] turns it into this valid type and [`Address::to_proto`] back.

mod country;
mod rules;

pub use country::Country;

use crate::error::{FieldError, ServiceError, Validator};
use crate::text::{Lines, refuse_controls};
use mercato_proto::common;
use rules::{Postal, Region};

/// The longest name or company, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest address line or city, in characters.
pub const MAX_LINE_CHARS: usize = 120;
/// The longest region, in characters.
pub const MAX_REGION_CHARS: usize = 60;
/// The longest postal code, in characters.
pub const MAX_POSTAL_CODE_CHARS: usize = 16;
/// The longest phone number as written, in characters.
pub const MAX_PHONE_CHARS: usize = 32;

/// A valid postal address. Built only by [`Address::parse`]; read through its accessors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    name: String,
    company: Option<String>,
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: Option<String>,
    country: Country,
    phone: Option<String>,
}

impl Address {
    /// Validates `raw`, naming bad fields under `path` (`"shipping_address"`, or `""` for the
    /// body itself); every bad field is reported at once.
    pub fn parse(path: &str, raw: &common::Address) -> Result<Address, ServiceError> {
        let field = |name: &str| join(path, name);
        let mut v = Validator::new();
        let name = v.check(required(&field("name"), &raw.name, MAX_NAME_CHARS));
        let company = v.check(optional(&field("company"), &raw.company, MAX_NAME_CHARS));
        let line1 = v.check(required(&field("line1"), &raw.line1, MAX_LINE_CHARS));
        let line2 = v.check(optional(&field("line2"), &raw.line2, MAX_LINE_CHARS));
        let city = v.check(required(&field("city"), &raw.city, MAX_LINE_CHARS));
        let phone = v.check(phone(&field("phone"), &raw.phone));
        let country = v.check(Country::parse(&field("country"), &raw.country));
        // The region and postal code are judged by the country's rules, so only with a country.
        let (region, postal_code) = match country {
            Some(c) => (
                v.check(region(&field("region"), c, &raw.region)),
                v.check(postal_code(&field("postal_code"), c, &raw.postal_code)),
            ),
            None => (None, None),
        };
        v.finish()?;
        let missing = "every field was checked";
        Ok(Address {
            name: name.expect(missing),
            company: company.expect(missing),
            line1: line1.expect(missing),
            line2: line2.expect(missing),
            city: city.expect(missing),
            region: region.expect(missing),
            postal_code: postal_code.expect(missing),
            country: country.expect(missing),
            phone: phone.expect(missing),
        })
    }

    /// The wire form; optional fields not given are empty.
    pub fn to_proto(&self) -> common::Address {
        let or_empty = |o: &Option<String>| o.clone().unwrap_or_default();
        common::Address {
            name: self.name.clone(),
            company: or_empty(&self.company),
            line1: self.line1.clone(),
            line2: or_empty(&self.line2),
            city: self.city.clone(),
            region: or_empty(&self.region),
            postal_code: or_empty(&self.postal_code),
            country: self.country.as_str().to_owned(),
            phone: or_empty(&self.phone),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn company(&self) -> Option<&str> {
        self.company.as_deref()
    }
    pub fn line1(&self) -> &str {
        &self.line1
    }
    pub fn line2(&self) -> Option<&str> {
        self.line2.as_deref()
    }
    pub fn city(&self) -> &str {
        &self.city
    }
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }
    pub fn postal_code(&self) -> Option<&str> {
        self.postal_code.as_deref()
    }
    pub fn country(&self) -> Country {
        self.country
    }
    pub fn phone(&self) -> Option<&str> {
        self.phone.as_deref()
    }
}

/// A phone number, checked loosely (a number cannot be proven without calling it): digits,
/// spaces, `-`, parentheses and one leading `+`, 4–15 digits (E.164's most), at most
/// [`MAX_PHONE_CHARS`] characters; trimmed; empty is `None` (not given).
pub fn phone(field: &str, s: &str) -> Result<Option<String>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let body = s.strip_prefix('+').unwrap_or(s);
    let allowed = body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'));
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if !allowed || !(4..=15).contains(&digits) || s.chars().count() > MAX_PHONE_CHARS {
        return Err(FieldError::new(
            field,
            "must be a phone number: 4-15 digits with optional spaces, dashes, parentheses and a leading +",
        ));
    }
    Ok(Some(s.to_owned()))
}

/// `path.name`, or `name` at the top.
fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// A required single-line text of 1..=`max` characters, trimmed.
fn required(field: &str, s: &str, max: usize) -> Result<String, FieldError> {
    match optional(field, s, max)? {
        Some(s) => Ok(s),
        None => Err(FieldError::new(field, "is required")),
    }
}

/// An optional single-line text of at most `max` characters, trimmed; empty is `None`.
fn optional(field: &str, s: &str, max: usize) -> Result<Option<String>, FieldError> {
    let s = s.trim();
    refuse_controls(field, s, Lines::One)?;
    if s.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok((!s.is_empty()).then(|| s.to_owned()))
}

/// The region as `country` requires it.
fn region(field: &str, country: Country, s: &str) -> Result<Option<String>, FieldError> {
    let given = optional(field, s, MAX_REGION_CHARS)?;
    match (rules::for_country(country.as_str()).region, given) {
        (Region::Optional, given) => Ok(given),
        (Region::Required, Some(r)) => Ok(Some(r)),
        (Region::Codes(codes), Some(r)) => {
            let code = r.to_ascii_uppercase();
            if codes.contains(&code.as_str()) {
                Ok(Some(code))
            } else {
                Err(FieldError::new(
                    field,
                    format!("must be one of {country}'s region codes: {}", codes.join(", ")),
                ))
            }
        }
        (_, None) => Err(FieldError::new(field, format!("is required in {country}"))),
    }
}

/// The postal code as `country` requires it, in its canonical form.
fn postal_code(field: &str, country: Country, s: &str) -> Result<Option<String>, FieldError> {
    let given = optional(field, s, MAX_POSTAL_CODE_CHARS)?;
    let rules = rules::for_country(country.as_str());
    let shaped = |raw: &str, patterns: &[&str]| {
        rules::canonical_postal_code(raw, patterns).ok_or_else(|| {
            FieldError::new(
                field,
                format!("is not a postal code of {country} (such as {})", rules.example),
            )
        })
    };
    match (rules.postal, given) {
        (_, None) if matches!(rules.postal, Postal::Required(_)) => {
            Err(FieldError::new(field, format!("is required in {country}")))
        }
        (_, None) => Ok(None),
        (Postal::Required(p) | Postal::Optional(p), Some(raw)) => shaped(&raw, p).map(Some),
        (Postal::Loose, Some(raw)) => {
            let sane = raw.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-'));
            if sane {
                Ok(Some(raw.to_uppercase()))
            } else {
                Err(FieldError::new(
                    field,
                    "may hold only letters, digits, spaces and dashes",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests;
