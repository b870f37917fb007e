//! Where folded deltas land: the SQL tables (`store::ledger`) or the in-memory aggregates that
//! `verify` recomputes into (`domain::memory`). Both get the same calls from the same fold.

use super::counts::Counts;

/// A bucket of one store: a local hour (its start, UTC epoch ms) or a local date.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    Hour(i64),
    Day(String),
}

/// A product's or SKU's change within one local day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductDelta {
    pub product_id: String,
    pub sku: String,
    pub title: String,
    pub units: i64,
    pub net_minor: i64,
    pub refunded_units: i64,
    pub refunds_minor: i64,
}

/// The state the fold reads and the aggregates it adds to, for one store.
pub trait Ledger {
    type Error;

    /// Records that `key` had a confirmed order at `at_ms`; `true` when it is their first
    /// (a new customer), `false` when they had one before (returning).
    fn customer_order(&mut self, key: &str, order_id: &str, at_ms: i64) -> Result<bool, Self::Error>;

    /// Records that `key` was a new (`kind` "new") or returning ("returning") customer on
    /// `day`; `true` the first time that day as that kind.
    fn customer_on_day(&mut self, day: &str, key: &str, kind: &str) -> Result<bool, Self::Error>;

    /// Adds `counts` to a bucket.
    fn add(&mut self, bucket: Bucket, counts: &Counts) -> Result<(), Self::Error>;

    /// Adds a product's (SKU's) change to `day`.
    fn add_product(&mut self, day: &str, delta: &ProductDelta) -> Result<(), Self::Error>;

    /// Moves `delta` orders placed in `bucket` in or out of `status`.
    fn add_status(&mut self, bucket: Bucket, status: &str, delta: i64) -> Result<(), Self::Error>;
}
