//! Storage: the schema, the fold's SQL ledger, event effects in batches, and the reads.

pub mod ingest;
pub mod ledger;
mod migrations;
pub mod reads;
pub mod rebuild;
mod rows;
pub mod weeks;

pub use migrations::MIGRATIONS;

use crate::domain::zone::Zone;
use ingest::Batch;
use mercato_proto::events::EventEnvelope;
use mercato_proto::orders::Order;
use mercato_runtime::db::{Db, DbError};
use std::collections::BTreeSet;

/// A store's settings as analytics knows them.
#[derive(Clone, Debug)]
pub struct StoreSettings {
    pub zone: Zone,
    pub currency: String,
}

/// The backfill's progress.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackfillRow {
    pub state: String,
    pub cursor: String,
    pub orders_done: i64,
    pub orders_total: i64,
    pub started_at: i64,
    pub finished_at: i64,
}

/// The analytics database.
#[derive(Clone)]
pub struct AnalyticsStore {
    pub db: Db,
}

impl AnalyticsStore {
    pub async fn new(db: Db) -> anyhow::Result<AnalyticsStore> {
        db.migrate("analytics", MIGRATIONS).await?;
        db.write("analytics_fill_weeks", weeks::fill_weeks_once).await?;
        Ok(AnalyticsStore { db })
    }

    /// Applies a batch of events in one transaction; returns the stores whose figures it
    /// changed (events seen before are skipped).
    pub async fn ingest(&self, events: Vec<EventEnvelope>) -> Result<BTreeSet<String>, DbError> {
        self.db
            .write("analytics_ingest", move |tx| {
                let mut batch = Batch::new(tx);
                let mut touched = BTreeSet::new();
                for e in &events {
                    if batch.event(e)? {
                        touched.insert(e.store_id.clone());
                    }
                }
                batch.finish()?;
                Ok(touched)
            })
            .await
    }

    /// Folds order snapshots (the backfill's) in one transaction, no inbox involved: the
    /// versions make a snapshot seen before a no-op. Returns the stores changed.
    pub async fn fold_snapshots(&self, orders: Vec<Order>) -> Result<BTreeSet<String>, DbError> {
        self.db
            .write("analytics_backfill", move |tx| {
                let mut batch = Batch::new(tx).replaying();
                let mut touched = BTreeSet::new();
                for o in &orders {
                    if batch.order(o, o.updated_at_ms)? {
                        touched.insert(o.store_id.clone());
                    }
                }
                batch.finish()?;
                Ok(touched)
            })
            .await
    }

    /// Records a store's zone and currency unless analytics already knows the store (a
    /// backfill learning stores from identity must not undo a later `StoreChanged`).
    pub async fn learn_store(&self, store: &str, zone: &str, currency: &str) -> Result<(), DbError> {
        self.db
            .execute(
                "learn_store",
                "INSERT INTO stores (store_id, time_zone, currency, changed_at) VALUES ($1, $2, $3, 0)
                 ON CONFLICT (store_id) DO NOTHING",
                &[&store, &zone, &currency],
            )
            .await?;
        Ok(())
    }

    /// Whether analytics knows the store's settings.
    pub async fn knows_store(&self, store: &str) -> Result<bool, DbError> {
        let row: Option<(String,)> = self
            .db
            .query_opt("SELECT store_id FROM stores WHERE store_id = $1", &[&store])
            .await?;
        Ok(row.is_some())
    }

    /// The store's zone and currency (UTC and no currency until analytics hears of it).
    pub async fn settings(&self, store: &str) -> Result<StoreSettings, DbError> {
        let row: Option<(String, String)> = self
            .db
            .query_opt(
                "SELECT time_zone, currency FROM stores WHERE store_id = $1",
                &[&store],
            )
            .await?;
        Ok(match row {
            Some((zone, currency)) => StoreSettings {
                zone: Zone::named_or_utc(&zone),
                currency,
            },
            None => StoreSettings {
                zone: Zone::utc(),
                currency: String::new(),
            },
        })
    }

    pub async fn backfill(&self) -> Result<Option<BackfillRow>, DbError> {
        let row: Option<(String, String, i64, i64, i64, i64)> = self
            .db
            .query_opt(
                "SELECT state, cursor, orders_done, orders_total, started_at, finished_at FROM backfill WHERE id = 'orders'",
                &[],
            )
            .await?;
        Ok(row.map(|r| BackfillRow {
            state: r.0,
            cursor: r.1,
            orders_done: r.2,
            orders_total: r.3,
            started_at: r.4,
            finished_at: r.5,
        }))
    }

    pub async fn put_backfill(&self, b: &BackfillRow) -> Result<(), DbError> {
        let b = b.clone();
        self.db
            .write("analytics_backfill_progress", move |tx| {
                tx.execute(
                    "INSERT INTO backfill (id, state, cursor, orders_done, orders_total, started_at, finished_at)
                     VALUES ('orders', $1, $2, $3, $4, $5, $6)
                     ON CONFLICT (id) DO UPDATE SET state = excluded.state, cursor = excluded.cursor,
                       orders_done = excluded.orders_done, orders_total = excluded.orders_total,
                       started_at = excluded.started_at, finished_at = excluded.finished_at",
                    &[&b.state, &b.cursor, &b.orders_done, &b.orders_total, &b.started_at, &b.finished_at],
                )
            })
            .await?;
        Ok(())
    }

    pub async fn ping(&self) -> bool {
        self.db.ping().await
    }
}
