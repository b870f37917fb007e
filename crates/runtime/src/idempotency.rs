//! [`IdempotencyKey`]: the client's key for a retried write (checkout, cancel, refund, payment
//! calls), parsed by one owner for the gateway's header and every service's request field.

use crate::error::ServiceError;

/// The SHA-256 (hex) of a JSON request body in canonical form — parsed, then written with
/// object keys sorted and no whitespace — so that the same JSON sent again with other spacing
/// or key order is the same request. A body that is not JSON is hashed as it is.
pub fn canonical_json_hash(body: &[u8]) -> String {
    // serde_json's `Value` keeps objects in a `BTreeMap` (the workspace does not enable
    // `preserve_order`), so writing it sorts every object's keys.
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_vec(&v).ok());
    crate::digest::sha256_hex(canonical.as_deref().unwrap_or(body))
}

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
    fn whitespace_and_key_order_do_not_change_the_hash_but_values_do() {
        let a = canonical_json_hash(br#"{"cart_id":"c1","payment":{"card_number":"4242","email":"a@b.c"}}"#);
        let b = canonical_json_hash(
            b"{ \"payment\" : {\n \"email\": \"a@b.c\", \"card_number\": \"4242\" },\n\t\"cart_id\": \"c1\" }\n",
        );
        assert_eq!(a, b);
        let other =
            canonical_json_hash(br#"{"cart_id":"c2","payment":{"card_number":"4242","email":"a@b.c"}}"#);
        assert_ne!(a, other);
        // Arrays keep their order: it is part of the value.
        assert_ne!(canonical_json_hash(b"[1,2]"), canonical_json_hash(b"[2,1]"));
        assert_eq!(
            canonical_json_hash(b"not json"),
            crate::digest::sha256_hex(b"not json")
        );
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
