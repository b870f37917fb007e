//! Stock imported from a legacy shop (ADR 0016): on-hand quantities set in batches at the
//! default location, keyed by SKU, and read back as the records reconciliation compares; behind
//! [`StockImportStore`], which [`super::SqlInventoryStore`] implements in `imports_sql`.

use super::StoreError;
use mercato_proto::imports::ImportedStock;
use mercato_runtime::ids::StoreId;

/// What the write did with one level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StockWritten {
    /// The SKU's stock was imported from this source for the first time.
    Created,
    Updated,
    /// On hand at the default location already equals the record's.
    Unchanged,
    /// Refused, nothing written (on hand below what is reserved).
    Rejected(String),
}

/// How far imports of a source got: SKUs, greatest SKU, newest source modification time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub count: u64,
    pub last_key: String,
    pub last_modified_ms: i64,
}

/// The imported stock's storage. Every method takes the store id first.
#[async_trait::async_trait]
pub trait StockImportStore: Send + Sync + 'static {
    /// Sets each SKU's on hand at the default location (validated: SKUs distinct, quantities
    /// within bounds) in one transaction, with `stock_changed` (and `low_stock` on a crossing)
    /// for each changed level; a level below what is reserved there is rejected and the rest
    /// written. [`StoreError::Stale`] when another writer created a row first (retry). One
    /// answer per level, in order.
    async fn import_stock(
        &self,
        store: StoreId,
        source: &str,
        levels: Vec<ImportedStock>,
        now_ms: i64,
    ) -> Result<Vec<StockWritten>, StoreError>;

    /// The imported SKUs in `[from_key, to_key)` (an empty `to_key`: no upper bound), in SKU
    /// order, at most `limit`, with on hand as stored now at the default location.
    async fn imported_stock(
        &self,
        store: StoreId,
        source: &str,
        from_key: &str,
        to_key: &str,
        limit: Option<u32>,
    ) -> Result<Vec<ImportedStock>, StoreError>;

    /// How far imports of `source` got in the store.
    async fn stock_import_progress(&self, store: StoreId, source: &str) -> Result<Progress, StoreError>;
}
