//! The REST shape of legacy import records (`/v1/stores/{store}/imports/…`, ADR 0016), field for
//! field the contract's `mercato.imports.v1` records, both ways: the importer (`mercato import`,
//! crate `mercato-migrate`) builds the contract's records — their checksums are what
//! reconciliation compares — and sends them in this shape; the records a range holds come back
//! in it. Checksums are 16 lower-case hex digits (a u64 does not fit a JSON number).

use mercato_proto::common::Address;
use mercato_proto::imports as wire;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod convert;

/// The entity names in paths: `categories`, `products`, `stock`, `customers`, `orders`.
pub fn entity_from_path(name: &str) -> Option<wire::Entity> {
    Some(match name {
        "categories" => wire::Entity::Category,
        "products" => wire::Entity::Product,
        "stock" => wire::Entity::Stock,
        "customers" => wire::Entity::Customer,
        "orders" => wire::Entity::Order,
        _ => return None,
    })
}

/// The path name of an entity ([`entity_from_path`] reversed).
pub fn entity_path_name(entity: wire::Entity) -> &'static str {
    match entity {
        wire::Entity::Category => "categories",
        wire::Entity::Product => "products",
        wire::Entity::Stock => "stock",
        wire::Entity::Customer => "customers",
        wire::Entity::Order | wire::Entity::Unspecified => "orders",
    }
}

/// A checksum as 16 hex digits.
pub fn checksum_hex(checksum: u64) -> String {
    format!("{checksum:016x}")
}

/// A checksum from 16 hex digits.
pub fn checksum_from_hex(hex: &str) -> Option<u64> {
    (hex.len() == 16)
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
}

/// A postal address as the legacy shop had it: carried, not validated (imported orders are
/// history); every field may be empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ImportAddress {
    pub name: String,
    pub company: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
    pub phone: String,
}

impl From<Address> for ImportAddress {
    fn from(a: Address) -> Self {
        Self {
            name: a.name,
            company: a.company,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
        }
    }
}

impl From<ImportAddress> for Address {
    fn from(a: ImportAddress) -> Self {
        Self {
            name: a.name,
            company: a.company,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
        }
    }
}

/// A category (WooCommerce's `product_cat` term).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ImportCategory {
    pub legacy_key: String,
    pub name: String,
    pub slug: String,
    /// Empty for a top-level category.
    pub parent_legacy_key: String,
    /// Epoch ms when the source last changed it; 0 when unknown (not compared).
    pub modified_at_ms: i64,
}

/// One value of a variant's option.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ImportOptionValue {
    pub option: String,
    pub value: String,
}

/// An option with its values in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ImportOption {
    pub name: String,
    pub values: Vec<String>,
}

/// A variant (a WooCommerce variation, or a simple product's one variant).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ImportVariant {
    pub legacy_key: String,
    pub sku: String,
    pub title: String,
    /// In the store's currency, minor units.
    pub price_minor: i64,
    pub weight_grams: i64,
    pub requires_shipping: bool,
    pub option_values: Vec<ImportOptionValue>,
}

/// A product with its variants.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ImportProduct {
    pub legacy_key: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    /// `draft`, `active` or `archived`.
    pub status: String,
    pub category_legacy_key: String,
    pub options: Vec<ImportOption>,
    pub variants: Vec<ImportVariant>,
    /// Recorded for a later download; not fetched.
    pub image_urls: Vec<String>,
    pub modified_at_ms: i64,
}

/// Units on hand of one SKU at the store's default location.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ImportStock {
    pub sku: String,
    pub on_hand: i64,
    pub modified_at_ms: i64,
}

/// A customer account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ImportCustomer {
    pub legacy_key: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    /// The legacy password hash (`$P$…`, `$wp$2y$…`, `$2y$…`); write-only: never returned.
    pub password_hash: String,
    pub created_at_ms: i64,
    pub modified_at_ms: i64,
    pub billing_address: Option<ImportAddress>,
    pub shipping_address: Option<ImportAddress>,
}

impl ImportCustomer {
    /// The record as an answer shows it: never with a password hash.
    pub fn without_password(self) -> Self {
        Self {
            password_hash: String::new(),
            ..self
        }
    }
}

/// One line of an imported order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ImportOrderLine {
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub subtotal_minor: i64,
    pub total_minor: i64,
    pub tax_minor: i64,
}

/// An order from the legacy shop: history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ImportOrder {
    pub legacy_key: String,
    pub number: i64,
    pub customer_legacy_key: String,
    pub email: String,
    /// `confirmed`, `cancelled`, `refunded`, `partially_refunded` or `failed`.
    pub status: String,
    pub legacy_status: String,
    pub currency: String,
    pub lines: Vec<ImportOrderLine>,
    pub shipping_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub refunded_minor: i64,
    pub created_at_ms: i64,
    pub modified_at_ms: i64,
    pub billing_address: Option<ImportAddress>,
    pub shipping_address: Option<ImportAddress>,
}

/// The body of `POST …/imports/{source}/{entity}`: at most 1,000 records of the path's entity
/// (the one list that matches it; the others empty).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ImportBatch {
    pub categories: Vec<ImportCategory>,
    pub products: Vec<ImportProduct>,
    pub stock: Vec<ImportStock>,
    pub customers: Vec<ImportCustomer>,
    pub orders: Vec<ImportOrder>,
}

/// What the import did with one record.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordOutcomeView {
    pub legacy_key: String,
    /// `created`, `updated`, `unchanged` or `rejected`.
    pub outcome: String,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its id in the platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
}

/// The answer to an import batch: one outcome per record, in order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportReplyView {
    pub outcomes: Vec<RecordOutcomeView>,
}

impl From<wire::ImportReply> for ImportReplyView {
    fn from(r: wire::ImportReply) -> Self {
        let outcomes = r
            .outcomes
            .into_iter()
            .map(|o| RecordOutcomeView {
                outcome: match o.outcome() {
                    wire::Outcome::Created => "created",
                    wire::Outcome::Updated => "updated",
                    wire::Outcome::Unchanged => "unchanged",
                    wire::Outcome::Rejected | wire::Outcome::Unspecified => "rejected",
                }
                .to_owned(),
                reason: (!o.reason.is_empty()).then_some(o.reason),
                target_id: (!o.target_id.is_empty()).then_some(o.target_id),
                legacy_key: o.legacy_key,
            })
            .collect();
        Self { outcomes }
    }
}

/// One segment of a key range: keys in `[from_key, to_key)` (an empty `to_key`: no bound).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SegmentView {
    pub from_key: String,
    pub to_key: String,
    pub count: u64,
    /// The wrapping sum of the records' checksums, 16 hex digits.
    pub checksum: String,
}

/// The segments of a range, in key order, without gaps.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChecksumsView {
    pub segments: Vec<SegmentView>,
}

impl From<wire::ChecksumsReply> for ChecksumsView {
    fn from(r: wire::ChecksumsReply) -> Self {
        let segments = r
            .segments
            .into_iter()
            .map(|s| SegmentView {
                from_key: s.from_key,
                to_key: s.to_key,
                count: s.count,
                checksum: checksum_hex(s.checksum),
            })
            .collect();
        Self { segments }
    }
}

/// The records of a range as stored, in key order (the one list of the path's entity).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ImportedRecordsView {
    pub categories: Vec<ImportCategory>,
    pub products: Vec<ImportProduct>,
    pub stock: Vec<ImportStock>,
    pub customers: Vec<ImportCustomer>,
    pub orders: Vec<ImportOrder>,
}

/// How far a store's import of one entity got.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EntityProgressView {
    /// `categories`, `products`, `stock`, `customers` or `orders`.
    pub entity: String,
    pub count: u64,
    /// The greatest legacy key stored; empty when none.
    pub last_key: String,
    /// The newest source modification time seen, epoch ms; 0 when none.
    pub last_modified_ms: i64,
}

/// A store's import of one source, per entity.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportProgressView {
    pub entities: Vec<EntityProgressView>,
    /// Where `--follow` reads the source's changes from: the source's clock (epoch ms) when the
    /// last pass that finished began; 0 before one has.
    #[serde(default)]
    pub watermark_ms: i64,
    /// The earliest start of the passes under way since (one killed, or running); 0 when none.
    #[serde(default)]
    pub pass_began_ms: i64,
}

/// What happened to an import pass (or `--follow` round).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PassEventName {
    Began,
    Finished,
}

/// An import pass began, or the pass that began at `source_clock_ms` finished.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportPassEvent {
    pub event: PassEventName,
    /// The source's clock when the pass began, epoch ms.
    #[schema(minimum = 1)]
    pub source_clock_ms: i64,
}

/// Where `--follow` stands after a pass event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportWatermarkView {
    /// Where `--follow` reads changes from: the start of the last pass that finished (or of
    /// an earlier attempt at it, killed and resumed); 0 before one has.
    pub watermark_ms: i64,
    /// The earliest start of the passes under way since; 0 when none is.
    pub pass_began_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use mercato_runtime::imports::Canonical;

    #[test]
    fn a_record_crosses_rest_unchanged_and_keeps_its_checksum() {
        let order = wire::ImportedOrder {
            legacy_key: "00000000000000000042".into(),
            number: 42,
            status: "confirmed".into(),
            currency: "EUR".into(),
            lines: vec![wire::ImportedOrderLine {
                sku: "A-1".into(),
                quantity: 2,
                total_minor: 1000,
                ..Default::default()
            }],
            total_minor: 1000,
            shipping_address: Some(Address {
                city: "Berlin".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let json = serde_json::to_string(&ImportOrder::from(order.clone())).unwrap();
        let back: ImportOrder = serde_json::from_str(&json).unwrap();
        assert_eq!(wire::ImportedOrder::from(back).checksum(), order.checksum());
    }

    #[test]
    fn entities_and_checksums_round_trip() {
        for name in ["categories", "products", "stock", "customers", "orders"] {
            assert_eq!(entity_path_name(entity_from_path(name).unwrap()), name);
        }
        assert!(entity_from_path("posts").is_none());
        assert_eq!(checksum_from_hex(&checksum_hex(u64::MAX)), Some(u64::MAX));
        assert_eq!(checksum_from_hex("xyz"), None);
    }
}
