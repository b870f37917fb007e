//! Newtypes for the identity service's inputs, each validated once, at the boundary.
//!
//! Every `parse` refuses with a [`FieldError`] naming its field, so callers can feed several
//! checks into one `Validator` and report every bad field of a request at once.

use mercato_runtime::error::FieldError;
use mercato_runtime::text::{Lines, refuse_controls};

/// Slugs that would collide with platform paths or look official.
const RESERVED_SLUGS: &[&str] = &[
    "admin",
    "api",
    "app",
    "assets",
    "docs",
    "help",
    "login",
    "mercato",
    "metrics",
    "oauth",
    "root",
    "static",
    "status",
    "stores",
    "support",
    "system",
    "v1",
    "v2",
    "well-known",
    "www",
];

/// A store's URL name: 3–40 characters of `[a-z0-9-]`, hyphens only between words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Slug, FieldError> {
        let bad = |why: &str| Err(FieldError::new("slug", why));
        let len = s.chars().count();
        if !(3..=40).contains(&len) {
            return bad("must be 3 to 40 characters long");
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return bad("may only contain lower-case letters, digits and hyphens");
        }
        if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            return bad("may not start or end with a hyphen or contain two in a row");
        }
        if RESERVED_SLUGS.contains(&s) {
            return bad("is reserved");
        }
        Ok(Slug(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A store's display name: trimmed, 1–100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreName(String);

impl StoreName {
    pub fn parse(s: &str) -> Result<StoreName, FieldError> {
        let s = s.trim();
        let len = s.chars().count();
        if !(1..=100).contains(&len) {
            return Err(FieldError::new("name", "must be 1 to 100 characters long"));
        }
        refuse_controls("name", s, Lines::One)?;
        Ok(StoreName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A store's time zone: an IANA name known to the bundled tz database ("Europe/Berlin"),
/// kept in its canonical spelling; empty means "UTC".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    /// The time zone of a store that names none.
    pub const DEFAULT: &str = "UTC";

    pub fn parse(s: &str) -> Result<TimeZoneName, FieldError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(TimeZoneName(Self::DEFAULT.to_owned()));
        }
        let unknown = || {
            FieldError::new(
                "time_zone",
                "must be an IANA time zone name, such as Europe/Berlin",
            )
        };
        if s.len() > 64 {
            return Err(unknown());
        }
        let zone = jiff::tz::db().get(s).map_err(|_| unknown())?;
        Ok(TimeZoneName(zone.iana_name().unwrap_or(s).to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An API client's name, as its owner calls it: trimmed, 1–100 characters, no control
/// characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientName(String);

impl ClientName {
    pub fn parse(s: &str) -> Result<ClientName, FieldError> {
        StoreName::parse(s).map(|name| ClientName(name.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, normalised to lower case.
///
/// The check is deliberately plain: an ASCII local part without spaces or the characters that
/// need quoting, and a domain of at least two dot-separated labels (internationalised domains
/// arrive in punycode). Whether the address exists is not this type's business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an email, naming `field` in the error (`owner_email`, `email`).
    pub fn parse(field: &str, s: &str) -> Result<Email, FieldError> {
        let normalised = Self::normalise(s);
        if normalised.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if normalised.len() > 254 {
            return Err(FieldError::new(field, "must be at most 254 characters long"));
        }
        if !is_sane_email(&normalised) {
            return Err(FieldError::new(
                field,
                "must be an email address such as name@example.com",
            ));
        }
        Ok(Email(normalised))
    }

    /// The form emails are stored and looked up in; also used for login names, which are
    /// not validated (an invalid one simply matches nobody).
    pub fn normalise(s: &str) -> String {
        s.trim().to_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_sane_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = (1..=64).contains(&local.len())
        && local.chars().all(|c| {
            c.is_ascii_graphic()
                && !matches!(
                    c,
                    '"' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '@' | '[' | '\\' | ']'
                )
        })
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    local_ok && domain_ok
}

/// A password as the user chose it: 8–128 characters, not trimmed, never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(field: &str, s: &str) -> Result<Password, FieldError> {
        let len = s.chars().count();
        if !(8..=128).contains(&len) {
            return Err(FieldError::new(field, "must be 8 to 128 characters long"));
        }
        Ok(Password(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_url_rules() {
        for ok in ["abc", "my-shop", "shop-42", "a1b"] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab", "-shop", "shop-", "my--shop", "My-Shop", "shop_1", "café", "admin", "www", "v1",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        assert!(Slug::parse(&"a".repeat(41)).is_err());
        assert!(Slug::parse(&"a".repeat(40)).is_ok());
    }

    #[test]
    fn store_names_are_trimmed_and_bounded() {
        assert_eq!(StoreName::parse("  Tea House ").unwrap().as_str(), "Tea House");
        assert!(StoreName::parse("   ").is_err());
        assert!(StoreName::parse(&"x".repeat(101)).is_err());
        assert!(StoreName::parse("bad\nname").is_err());
    }

    #[test]
    fn time_zones_are_iana_names_in_canonical_spelling() {
        assert_eq!(TimeZoneName::parse("").unwrap().as_str(), "UTC");
        assert_eq!(
            TimeZoneName::parse("Europe/Berlin").unwrap().as_str(),
            "Europe/Berlin"
        );
        assert_eq!(
            TimeZoneName::parse("america/new_york").unwrap().as_str(),
            "America/New_York"
        );
        for bad in ["Mars/Olympus_Mons", "+02:00", "Europe", &"x".repeat(65)] {
            assert_eq!(TimeZoneName::parse(bad).unwrap_err().field, "time_zone", "{bad}");
        }
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            Email::parse("email", " Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@-x.com",
            "ann@@example.com",
            ".ann@example.com",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(190));
        assert!(long.len() > 254);
        assert!(Email::parse("email", &long).is_err());
    }

    #[test]
    fn passwords_must_be_8_to_128_characters() {
        assert!(Password::parse("password", "1234567").is_err());
        assert!(Password::parse("password", "12345678").is_ok());
        assert!(Password::parse("password", &"p".repeat(129)).is_err());
        assert!(!format!("{:?}", Password::parse("p", "secret-pw").unwrap()).contains("secret"));
    }
}
