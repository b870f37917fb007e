//! [`IdempotencyKey`]: the client's key for a retried write (checkout, cancel, refund, payment
//! calls), parsed by one owner for the gateway's header and every service's request field.

use crate::error::ServiceError;

/// The longest key accepted, in bytes.
pub const MAX_LEN: usize = 200;

/// A key of 1–200 printable ASCII characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key in a request field named `field`; every problem is a 400 that says which.
    pub fn parse(field: &str, raw: &str) -> Result<IdempotencyKey, ServiceError> {
        let key = raw.trim();
        if key.is_empty() {
            return Err(ServiceError::invalid_request(format!("{field} is required")));
        }
        if key.len() > MAX_LEN {
            return Err(ServiceError::invalid_request(format!(
                "{field} must be at most {MAX_LEN} characters"
            )));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(ServiceError::invalid_request(format!(
                "{field} must be printable ASCII (a UUID, say)"
            )));
        }
        Ok(IdempotencyKey(key.to_owned()))
    }

    /// The key in the `Idempotency-Key` header: missing, and present but unusable (not ASCII,
    /// empty, too long), are told apart.
    pub fn from_header(value: Option<&http::HeaderValue>) -> Result<IdempotencyKey, ServiceError> {
        const HEADER: &str = "the Idempotency-Key header";
        let Some(value) = value else {
            return Err(ServiceError::invalid_request(
                "an Idempotency-Key header is required (1–200 printable ASCII characters)",
            ));
        };
        let text = value.to_str().map_err(|_| {
            ServiceError::invalid_request(format!("{HEADER} must be printable ASCII (a UUID, say)"))
        })?;
        IdempotencyKey::parse(HEADER, text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_trimmed_printable_ascii_of_at_most_200_characters() {
        assert_eq!(IdempotencyKey::parse("k", " abc-1 ").unwrap().as_str(), "abc-1");
        for (raw, says) in [
            ("", "is required"),
            ("   ", "is required"),
            (&"x".repeat(201)[..], "at most 200"),
            ("7f3c…", "printable ASCII"),
        ] {
            let e = IdempotencyKey::parse("k", raw).unwrap_err();
            assert!(e.message.contains(says), "{raw:?}: {}", e.message);
        }
        assert!(IdempotencyKey::parse("k", &"x".repeat(200)).is_ok());
    }

    #[test]
    fn a_missing_header_and_an_unusable_one_get_different_messages() {
        let missing = IdempotencyKey::from_header(None).unwrap_err();
        assert!(missing.message.contains("is required"), "{}", missing.message);
        let bytes = http::HeaderValue::from_bytes("7f3c…".as_bytes()).unwrap();
        let unusable = IdempotencyKey::from_header(Some(&bytes)).unwrap_err();
        assert!(
            unusable.message.contains("printable ASCII"),
            "{}",
            unusable.message
        );
        let ok = http::HeaderValue::from_static("order-1");
        assert_eq!(
            IdempotencyKey::from_header(Some(&ok)).unwrap().as_str(),
            "order-1"
        );
    }
}
