//! What a legacy source gives the importer: each entity's records in ascending legacy-key order,
//! already in the contract's shape (`mercato_proto::imports`, whose canonical forms and
//! checksums `mercato_runtime::imports` defines), and the rows it could not turn into a record,
//! each with its reason — never half a record.

use mercato_proto::imports::{
    Entity, ImportedCategory, ImportedCustomer, ImportedOrder, ImportedProduct, ImportedStock,
};
use mercato_runtime::imports::Canonical;

/// One record of any entity.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceRecord {
    Category(ImportedCategory),
    Product(ImportedProduct),
    Stock(ImportedStock),
    Customer(ImportedCustomer),
    Order(ImportedOrder),
}

impl SourceRecord {
    /// Its entity.
    pub fn entity(&self) -> Entity {
        match self {
            Self::Category(_) => Entity::Category,
            Self::Product(_) => Entity::Product,
            Self::Stock(_) => Entity::Stock,
            Self::Customer(_) => Entity::Customer,
            Self::Order(_) => Entity::Order,
        }
    }

    /// Its legacy key.
    pub fn legacy_key(&self) -> &str {
        match self {
            Self::Category(r) => r.legacy_key(),
            Self::Product(r) => r.legacy_key(),
            Self::Stock(r) => r.legacy_key(),
            Self::Customer(r) => r.legacy_key(),
            Self::Order(r) => r.legacy_key(),
        }
    }

    /// The checksum of its canonical form.
    pub fn checksum(&self) -> u64 {
        match self {
            Self::Category(r) => r.checksum(),
            Self::Product(r) => r.checksum(),
            Self::Stock(r) => r.checksum(),
            Self::Customer(r) => r.checksum(),
            Self::Order(r) => r.checksum(),
        }
    }

    /// How many of its SKUs the source made up, for variants that had none: WooCommerce's
    /// `WC-<the variant's id>` ([`crate::woocommerce::synthetic_sku`]) or Shopify's `SH-<hash of
    /// its key>` ([`crate::shopify::synthetic_sku`]).
    pub fn synthesized_skus(&self) -> u64 {
        let Self::Product(p) = self else { return 0 };
        let made_up = |v: &&mercato_proto::imports::ImportedVariant| {
            let woocommerce = v
                .legacy_key
                .parse::<u64>()
                .is_ok_and(|id| v.sku == crate::woocommerce::synthetic_sku(id));
            woocommerce || v.sku == crate::shopify::synthetic_sku(&v.legacy_key)
        };
        p.variants.iter().filter(made_up).count() as u64
    }

    /// When the source last changed it (epoch ms; 0 when unknown).
    pub fn modified_at_ms(&self) -> i64 {
        match self {
            Self::Category(r) => r.modified_at_ms,
            Self::Product(r) => r.modified_at_ms,
            Self::Stock(r) => r.modified_at_ms,
            Self::Customer(r) => r.modified_at_ms,
            Self::Order(r) => r.modified_at_ms,
        }
    }
}

/// A source row that could not become a record: a negative price, a variation whose parent is
/// missing, text that is not UTF-8, …
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    pub entity: Entity,
    /// The row's legacy key (its id in the source, as a legacy key).
    pub legacy_key: String,
    /// Where in the source, e.g. `wp_posts.ID=123` or `products.csv line 17`.
    pub location: String,
    pub reason: String,
}

/// One row of a scan. Bad rows are rare and rows are moved, never kept in bulk, so the good
/// record is not boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    Good(SourceRecord),
    Bad(BadRow),
}

impl Row {
    /// The row's legacy key, good or bad (scans are ordered by it).
    pub fn legacy_key(&self) -> &str {
        match self {
            Self::Good(r) => r.legacy_key(),
            Self::Bad(b) => &b.legacy_key,
        }
    }
}

/// Where a scan starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanFrom {
    /// Only rows whose legacy key is greater than this.
    pub after_key: Option<String>,
    /// Only rows the source changed at or after this (epoch ms): `--follow`.
    pub modified_since_ms: Option<i64>,
}

/// A legacy shop's data, read-only.
#[async_trait::async_trait]
pub trait Source: Send + Sync {
    /// `woocommerce` or `shopify` (the contract's source name).
    fn name(&self) -> &'static str;

    /// The entities it has, in the order they must be imported (categories before the products
    /// filed under them, customers before their orders).
    fn entities(&self) -> Vec<Entity>;

    /// The shop's currency (ISO 4217), which the store's must equal.
    async fn currency(&self) -> anyhow::Result<String>;

    /// Up to `limit` rows of `entity` from `from`, in ascending legacy-key order; fewer than
    /// `limit` (possibly none) only at the end.
    async fn scan(&self, entity: Entity, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<Row>>;

    /// About how many rows `entity` has (for progress bars).
    async fn estimate(&self, entity: Entity) -> anyhow::Result<u64>;

    /// The source's own clock (epoch ms, on the scale of its modification times), when it has
    /// one: `--follow` starts each round from its reading at the start of the round before
    /// (ADR 0016), so a row changed behind a pass's key cursor is not missed. `None` (a file,
    /// which does not change) makes `--follow` start from the newest time the platform holds.
    async fn now_ms(&self) -> anyhow::Result<Option<i64>> {
        Ok(None)
    }
}
