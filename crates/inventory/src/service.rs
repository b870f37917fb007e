//! The inventory service: its parts, how it starts, the expiry sweeper, and readiness.

use crate::store::imports::StockImportStore;
use crate::store::{InventoryStore, MIGRATIONS, SqlInventoryStore};
use mercato_runtime::db::Db;
use mercato_runtime::shutdown::Shutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The inventory service; one per process, shared behind an `Arc`.
pub struct InventoryService {
    /// Where stock and reservations live; every write also appends its events there.
    pub(crate) store: Arc<dyn InventoryStore>,
    /// Where imported stock is recorded (the same database, ADR 0016).
    pub(crate) imports: Arc<dyn StockImportStore>,
    /// Wakes the outbox relay after a commit, so events leave at once instead of at its next poll.
    outbox_waker: Arc<Notify>,
}

impl InventoryService {
    /// Migrates the database.
    pub async fn new(db: Db, outbox_waker: Arc<Notify>) -> anyhow::Result<Arc<InventoryService>> {
        db.migrate("inventory", MIGRATIONS).await?;
        let sql = SqlInventoryStore::new(db);
        Ok(Arc::new(InventoryService {
            imports: Arc::new(sql.clone()),
            store: Arc::new(sql),
            outbox_waker,
        }))
    }

    /// Releases expired reservations every `interval` until shutdown. Every replica runs it;
    /// each reservation is still expired once, because only the transaction that moves it out
    /// of `held` gives its stock back.
    pub fn start_expiry(self: &Arc<Self>, interval: Duration, shutdown: Shutdown) {
        let service = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = shutdown.cancelled() => break,
                }
                match service.expire_due(mercato_runtime::time::now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(expired = n, "expired reservations released"),
                    Err(e) => tracing::warn!(error = %e, "reservation expiry failed; retrying next tick"),
                }
            }
        });
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> bool {
        self.store.ping().await
    }

    /// Called after a transaction that appended an event has committed.
    pub(crate) fn committed(&self) {
        self.outbox_waker.notify_one();
    }
}
