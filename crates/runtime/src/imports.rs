//! Legacy imports' shared rules (ADR 0016), owned here so the importer (which reads the source)
//! and the services (which read what they stored) cannot disagree: which sources exist, legacy
//! keys that sort in the source's order, record ids derived from them, each record's canonical
//! form and checksum, and the segments a key range is reconciled in.

use crate::error::ServiceError;
use mercato_proto::imports::{
    Entity, ImportedCategory, ImportedCustomer, ImportedOrder, ImportedProduct, ImportedStock, KeyRange,
    Segment,
};
use sha2::{Digest, Sha256};

/// The sources records can come from.
pub const SOURCES: [&str; 2] = ["woocommerce", "shopify"];

/// Records in one import call, at most.
pub const MAX_BATCH: usize = 1000;

/// Segments one checksums call may ask for, at most.
pub const MAX_SEGMENTS: u32 = 256;

/// Records one records call may ask for, at most.
pub const MAX_RECORDS: u32 = 1000;

/// A legacy key's length, at most.
pub const MAX_KEY_LEN: usize = 255;

/// Refuses a source that is not one of [`SOURCES`].
pub fn check_source(source: &str) -> Result<(), ServiceError> {
    if SOURCES.contains(&source) {
        Ok(())
    } else {
        Err(ServiceError::invalid_field(
            "source",
            "must be woocommerce or shopify",
        ))
    }
}

/// Refuses an empty, over-long or control-character legacy key.
pub fn check_key(field: &str, key: &str) -> Result<(), ServiceError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || key.chars().any(char::is_control) {
        return Err(ServiceError::invalid_field(
            field,
            "must be 1 to 255 characters without control characters",
        ));
    }
    Ok(())
}

/// Checks a range request: a known source and entity, and `from_key` before `to_key` when both
/// are given.
pub fn check_range(range: &KeyRange) -> Result<(), ServiceError> {
    check_source(&range.source)?;
    if range.entity() == Entity::Unspecified {
        return Err(ServiceError::invalid_field("entity", "must be given"));
    }
    if !range.to_key.is_empty() && range.from_key >= range.to_key {
        return Err(ServiceError::invalid_field("to_key", "must come after from_key"));
    }
    Ok(())
}

/// A numeric source id (WooCommerce's post, term and user ids) as a legacy key: zero-padded to
/// 20 digits, so text order is numeric order.
pub fn numeric_key(id: u64) -> String {
    format!("{id:020}")
}

/// The id a record gets in the platform: a UUID (version 8) from the SHA-256 of the store, the
/// source, the entity and the legacy key, so the same source record always lands on the same id.
pub fn target_id(store_id: &str, source: &str, entity: Entity, legacy_key: &str) -> uuid::Uuid {
    let mut hash = Sha256::new();
    for part in [store_id, source, entity.as_str_name(), legacy_key] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// The checksum of an encoded canonical form: the first 8 bytes of its SHA-256, little endian.
pub fn checksum_of(encoded: &[u8]) -> u64 {
    let digest = Sha256::digest(encoded);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// A record as reconciliation sees it: its legacy key and its canonical form, the record with
/// the fields that are not compared cleared (when the source last changed it, a password hash
/// that a sign-in replaces).
pub trait Canonical: prost::Message + Clone + Default {
    /// The key it is ordered and located by.
    fn legacy_key(&self) -> &str;

    /// The record with every non-canonical field cleared.
    fn canonical(&self) -> Self;

    /// [`checksum_of`] its canonical form's protobuf encoding.
    fn checksum(&self) -> u64 {
        checksum_of(&self.canonical().encode_to_vec())
    }
}

/// Implements [`Canonical`] for a record: the field it is keyed by, and the fields cleared in
/// its canonical form (each record's modification time; a customer's password hash too).
macro_rules! canonical {
    ($record:ty, key: $key:ident, cleared: { $($field:ident: $empty:expr),+ }) => {
        impl Canonical for $record {
            fn legacy_key(&self) -> &str {
                &self.$key
            }

            fn canonical(&self) -> Self {
                Self {
                    $($field: $empty,)+
                    ..self.clone()
                }
            }
        }
    };
}

canonical!(ImportedCategory, key: legacy_key, cleared: { modified_at_ms: 0 });
canonical!(ImportedProduct, key: legacy_key, cleared: { modified_at_ms: 0 });
canonical!(ImportedStock, key: sku, cleared: { modified_at_ms: 0 });
canonical!(ImportedCustomer, key: legacy_key, cleared: { modified_at_ms: 0, password_hash: String::new() });
canonical!(ImportedOrder, key: legacy_key, cleared: { modified_at_ms: 0 });

/// The platform's order status for a WooCommerce one (`wc-completed`, or without the prefix);
/// `None` for a status that is not history yet (pending payment, on hold, checkout draft) —
/// such orders are not imported until they settle.
pub fn order_status(woo_status: &str) -> Option<&'static str> {
    match woo_status.strip_prefix("wc-").unwrap_or(woo_status) {
        "completed" | "processing" => Some("confirmed"),
        "cancelled" => Some("cancelled"),
        "refunded" => Some("refunded"),
        "failed" => Some("failed"),
        _ => None,
    }
}

/// Splits a key range into segments of about `per_segment` records as the records go by in key
/// order; both sides of a reconciliation then sum their own records over the same bounds.
#[derive(Debug)]
pub struct SegmentBuilder {
    per_segment: u64,
    to_key: String,
    done: Vec<Segment>,
    open: Segment,
}

impl SegmentBuilder {
    /// For a range with `total` records to split into `parts` (at least one).
    pub fn new(range: &KeyRange, total: u64, parts: u32) -> Self {
        let parts = u64::from(parts.clamp(1, MAX_SEGMENTS));
        Self {
            per_segment: total.div_ceil(parts).max(1),
            to_key: range.to_key.clone(),
            done: Vec::new(),
            open: Segment {
                from_key: range.from_key.clone(),
                ..Segment::default()
            },
        }
    }

    /// The next record, in ascending key order.
    pub fn push(&mut self, key: &str, checksum: u64) {
        if self.open.count == self.per_segment {
            let next = Segment {
                from_key: key.to_owned(),
                ..Segment::default()
            };
            let mut full = std::mem::replace(&mut self.open, next);
            full.to_key = key.to_owned();
            self.done.push(full);
        }
        self.open.count += 1;
        self.open.checksum = self.open.checksum.wrapping_add(checksum);
    }

    /// The segments, covering the range without a gap.
    pub fn finish(mut self) -> Vec<Segment> {
        self.open.to_key = self.to_key;
        self.done.push(self.open);
        self.done
    }
}

/// The count and checksum of the records (sorted by key) within `[from_key, to_key)`; an empty
/// `to_key` has no upper bound.
pub fn sum_range(sorted: &[(String, u64)], from_key: &str, to_key: &str) -> (u64, u64) {
    let start = sorted.partition_point(|(k, _)| k.as_str() < from_key);
    let end = if to_key.is_empty() {
        sorted.len()
    } else {
        sorted.partition_point(|(k, _)| k.as_str() < to_key)
    };
    sorted[start..end.max(start)]
        .iter()
        .fold((0, 0u64), |(n, sum), (_, c)| (n + 1, sum.wrapping_add(*c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: &str, to: &str) -> KeyRange {
        KeyRange {
            store_id: "s".into(),
            source: "woocommerce".into(),
            entity: Entity::Product as i32,
            from_key: from.into(),
            to_key: to.into(),
        }
    }

    #[test]
    fn numeric_keys_sort_like_numbers() {
        assert!(numeric_key(9) < numeric_key(10));
        assert_eq!(numeric_key(42).len(), 20);
    }

    #[test]
    fn target_ids_are_stable_and_tell_stores_and_entities_apart() {
        let one = target_id("s1", "woocommerce", Entity::Product, "7");
        assert_eq!(one, target_id("s1", "woocommerce", Entity::Product, "7"));
        assert_ne!(one, target_id("s2", "woocommerce", Entity::Product, "7"));
        assert_ne!(one, target_id("s1", "woocommerce", Entity::Order, "7"));
        assert_ne!(one, target_id("s1", "shopify", Entity::Product, "7"));
        assert_eq!(one.get_version_num(), 8);
    }

    #[test]
    fn the_checksum_ignores_what_is_not_canonical() {
        let customer = ImportedCustomer {
            legacy_key: "1".into(),
            email: "a@example.com".into(),
            password_hash: "$P$Babcdefgh".into(),
            modified_at_ms: 5,
            ..ImportedCustomer::default()
        };
        let upgraded = ImportedCustomer {
            password_hash: String::new(),
            modified_at_ms: 9,
            ..customer.clone()
        };
        assert_eq!(customer.checksum(), upgraded.checksum());
        let renamed = ImportedCustomer {
            email: "b@example.com".into(),
            ..customer.clone()
        };
        assert_ne!(customer.checksum(), renamed.checksum());
    }

    #[test]
    fn segments_cover_the_range_and_agree_with_sums() {
        let records: Vec<(String, u64)> = (0..10).map(|i| (numeric_key(i), i * 7 + 1)).collect();
        let whole = range("", "");
        let mut builder = SegmentBuilder::new(&whole, records.len() as u64, 3);
        for (k, c) in &records {
            builder.push(k, *c);
        }
        let segments = builder.finish();
        assert_eq!(segments.len(), 3);
        assert_eq!(segments[0].from_key, "");
        assert_eq!(segments.last().unwrap().to_key, "");
        for pair in segments.windows(2) {
            assert_eq!(pair[0].to_key, pair[1].from_key);
        }
        for s in &segments {
            assert_eq!(sum_range(&records, &s.from_key, &s.to_key), (s.count, s.checksum));
        }
        assert_eq!(segments.iter().map(|s| s.count).sum::<u64>(), 10);
    }

    #[test]
    fn an_empty_range_is_one_empty_segment() {
        let segments = SegmentBuilder::new(&range("a", "b"), 0, 16).finish();
        assert_eq!(segments.len(), 1);
        assert_eq!((segments[0].count, segments[0].checksum), (0, 0));
        assert!(check_range(&range("b", "a")).is_err());
    }

    #[test]
    fn woocommerce_statuses_map_to_history_or_wait() {
        assert_eq!(order_status("wc-completed"), Some("confirmed"));
        assert_eq!(order_status("refunded"), Some("refunded"));
        assert_eq!(order_status("wc-pending"), None);
        assert_eq!(order_status("wc-on-hold"), None);
    }
}
