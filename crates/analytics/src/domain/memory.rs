//! Aggregates in memory, filled by the same fold as the tables: what `verify` recomputes from
//! the orders history, and what the fold's unit tests read.

use super::counts::Counts;
use super::fold::{OrderFacts, apply, fold};
use super::ledger::{Bucket, Ledger, ProductDelta};
use super::zone::Zone;
use mercato_proto::orders::Order;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;

/// A product's (SKU's) figures of one day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductCounts {
    pub units: i64,
    pub net_minor: i64,
    pub refunded_units: i64,
    pub refunds_minor: i64,
}

impl ProductCounts {
    pub fn add(&mut self, d: &ProductDelta) {
        self.units += d.units;
        self.net_minor += d.net_minor;
        self.refunded_units += d.refunded_units;
        self.refunds_minor += d.refunds_minor;
    }
}

/// One store's order-derived aggregates.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    pub orders: HashMap<String, OrderFacts>,
    customers: HashSet<String>,
    customer_days: HashSet<(String, String)>,
    pub buckets: BTreeMap<Bucket, Counts>,
    /// By (day, product id, SKU).
    pub products: BTreeMap<(String, String, String), ProductCounts>,
    pub statuses: BTreeMap<(Bucket, String), i64>,
}

impl MemoryLedger {
    /// Folds one snapshot of an order in; `false` when it was not newer than the one held.
    pub fn observe(&mut self, zone: &Zone, order: &Order) -> bool {
        let Some(folded) = fold(self.orders.get(&order.id), order, zone, order.updated_at_ms) else {
            return false;
        };
        let Ok(()) = apply(self, zone, &folded);
        self.orders.insert(order.id.clone(), folded.facts);
        true
    }

    /// Forgets what is held of an order whose whole history was folded (verify folds one
    /// history at a time, so it keeps no order's facts beyond its history).
    pub fn forget(&mut self, order_id: &str) {
        self.orders.remove(order_id);
    }

    /// The counts of a bucket (zero when nothing happened in it).
    pub fn counts(&self, bucket: &Bucket) -> Counts {
        self.buckets.get(bucket).copied().unwrap_or_default()
    }
}

impl Ledger for MemoryLedger {
    type Error = Infallible;

    fn customer_order(&mut self, key: &str, _order_id: &str, _at_ms: i64) -> Result<bool, Infallible> {
        Ok(self.customers.insert(key.to_owned()))
    }

    fn customer_on_day(&mut self, day: &str, key: &str, kind: &str) -> Result<bool, Infallible> {
        Ok(self
            .customer_days
            .insert((day.to_owned(), format!("{kind}:{key}"))))
    }

    fn add(&mut self, bucket: Bucket, counts: &Counts) -> Result<(), Infallible> {
        self.buckets.entry(bucket).or_default().add(counts);
        Ok(())
    }

    fn add_product(&mut self, day: &str, d: &ProductDelta) -> Result<(), Infallible> {
        let key = (day.to_owned(), d.product_id.clone(), d.sku.clone());
        self.products.entry(key).or_default().add(d);
        Ok(())
    }

    fn add_status(&mut self, bucket: Bucket, status: &str, delta: i64) -> Result<(), Infallible> {
        *self.statuses.entry((bucket, status.to_owned())).or_default() += delta;
        Ok(())
    }
}
