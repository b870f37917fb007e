//! The stock-keeping unit, one type for every service that names SKUs (catalog, inventory).

use crate::error::ServiceError;

/// A stock-keeping unit: `[A-Za-z0-9._-]`, 1–64 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sku(String);

impl Sku {
    pub fn parse(field: &str, s: &str) -> Result<Sku, ServiceError> {
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if s.is_empty() || s.len() > 64 || !ok_chars {
            return Err(ServiceError::invalid_field(
                field,
                "must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'",
            ));
        }
        Ok(Sku(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Sku {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
