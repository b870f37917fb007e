//! Re-bucketing a store after its time zone changed: the change asks for it (`rebuilds`), its
//! order-derived figures are cleared and folded again from the orders history (`crate::rebuild`)
//! and, until that is done, the store's live order snapshots wait in `deferred_orders` (lest one
//! fold an order the rebuild has not reached yet); the rebuild folds them last, in the
//! transaction that ends it.

use super::AnalyticsStore;
use super::ingest::Batch;
use crate::domain::counts::Field;
use mercato_proto::orders::Order;
use mercato_runtime::db::{DbError, Tx};
use prost::Message;

/// Asks for the store's rebuild (its zone changed).
pub fn request(tx: &mut Tx<'_>, store: &str, at_ms: i64) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO rebuilds (store_id, requested_at) VALUES ($1, $2)
         ON CONFLICT (store_id) DO UPDATE SET requested_at = excluded.requested_at",
        &[&store, &at_ms],
    )?;
    Ok(())
}

/// Whether analytics has counted any of the store's orders.
pub fn has_orders(tx: &mut Tx<'_>, store: &str) -> Result<bool, DbError> {
    let row: Option<(String,)> = tx.query_opt(
        "SELECT order_id FROM orders WHERE store_id = $1 LIMIT 1",
        &[&store],
    )?;
    Ok(row.is_some())
}

/// Whether the store waits for a rebuild. On PostgreSQL the request's row is share-locked, so
/// the rebuild's end (which deletes it first) waits for this transaction's deferral to commit.
pub fn pending(tx: &mut Tx<'_>, store: &str) -> Result<bool, DbError> {
    let lock = match tx.backend() {
        mercato_runtime::db::Backend::Postgres => " FOR SHARE",
        mercato_runtime::db::Backend::Sqlite => "",
    };
    let sql = format!("SELECT store_id FROM rebuilds WHERE store_id = $1{lock}");
    let row: Option<(String,)> = tx.query_opt(&sql, &[&store])?;
    Ok(row.is_some())
}

/// Keeps a live snapshot of a store being rebuilt for its end.
pub fn defer(tx: &mut Tx<'_>, order: &Order) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO deferred_orders (store_id, order_id, version, snapshot) VALUES ($1, $2, $3, $4)
         ON CONFLICT (store_id, order_id, version) DO NOTHING",
        &[&order.store_id, &order.id, &order.version, &order.encode_to_vec()],
    )?;
    Ok(())
}

/// Ends a rebuild: its request goes first (on PostgreSQL that waits for live transactions still
/// deferring), then the deferred snapshots, oldest version first, are taken to be folded.
fn end(tx: &mut Tx<'_>, store: &str) -> Result<Vec<Order>, DbError> {
    tx.execute("DELETE FROM rebuilds WHERE store_id = $1", &[&store])?;
    let rows: Vec<(Vec<u8>,)> = tx.query_all(
        "SELECT snapshot FROM deferred_orders WHERE store_id = $1 ORDER BY version, order_id",
        &[&store],
    )?;
    tx.execute("DELETE FROM deferred_orders WHERE store_id = $1", &[&store])?;
    Ok(rows
        .into_iter()
        .filter_map(|(b,)| Order::decode(b.as_slice()).ok())
        .collect())
}

/// Clears what the store's orders added: the facts the fold reads and the figures it wrote
/// (product views, visitors, carts and checkouts stay in the buckets they were counted in).
fn clear(tx: &mut Tx<'_>, store: &str) -> Result<(), DbError> {
    for table in [
        "orders",
        "customers",
        "customer_day_kinds",
        "product_days",
        "product_weeks",
        "status_hours",
        "status_days",
    ] {
        tx.execute(&format!("DELETE FROM {table} WHERE store_id = $1"), &[&store])?;
    }
    let zeroed: Vec<String> = Field::ALL
        .iter()
        .filter(|f| f.from_orders())
        .map(|f| format!("{} = 0", f.column()))
        .collect();
    for table in ["hourly", "daily"] {
        let sql = format!("UPDATE {table} SET {} WHERE store_id = $1", zeroed.join(", "));
        tx.execute(&sql, &[&store])?;
    }
    Ok(())
}

impl AnalyticsStore {
    /// A store waiting for its rebuild, if any.
    pub async fn next_rebuild(&self) -> Result<Option<String>, DbError> {
        let row: Option<(String,)> = self
            .db
            .query_opt("SELECT store_id FROM rebuilds ORDER BY requested_at LIMIT 1", &[])
            .await?;
        Ok(row.map(|(s,)| s))
    }

    /// Clears the store's order-derived figures for the rebuild.
    pub async fn clear_for_rebuild(&self, store: &str) -> Result<(), DbError> {
        let store = store.to_owned();
        self.db
            .write("analytics_rebuild_clear", move |tx| clear(tx, &store))
            .await
    }

    /// Ends the store's rebuild in one transaction: the snapshots deferred meanwhile are
    /// folded, and live ones are folded at once again.
    pub async fn finish_rebuild(&self, store: &str) -> Result<(), DbError> {
        let store = store.to_owned();
        self.db
            .write("analytics_rebuild_done", move |tx| {
                let deferred = end(tx, &store)?;
                let mut batch = Batch::new(tx).replaying();
                for o in &deferred {
                    batch.order(o, o.updated_at_ms)?;
                }
                batch.finish()
            })
            .await
    }
}
