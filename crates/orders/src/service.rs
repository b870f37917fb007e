//! The orders service: its parts, how it starts (migrations, the catalog projection, the saga
//! driver), and readiness.

use crate::store::pricing::{PricingStore, SqlPricingStore};
use crate::store::{MIGRATIONS, OrdersStore, SqlOrdersStore};
use mercato_runtime::bus::{Delivery, SharedBus};
use mercato_runtime::clients::inventory::InventoryClient;
use mercato_runtime::clients::payments::PaymentsClient;
use mercato_runtime::db::Db;
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::StoreId;
use mercato_runtime::inbox;
use mercato_runtime::jobs::Jobs;
use mercato_runtime::shutdown::Shutdown;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// The consumer group (and inbox name) of the catalog SKU projection.
pub const CATALOG_GROUP: &str = "orders-catalog";
/// How often the saga driver looks for incomplete sagas.
pub const DRIVER_INTERVAL: Duration = Duration::from_millis(500);

/// The services the saga calls.
#[derive(Clone)]
pub struct OrdersDeps {
    pub inventory: InventoryClient,
    pub payments: PaymentsClient,
}

/// The orders service; one per process, shared behind an `Arc`.
pub struct OrdersService {
    pub(crate) store: Arc<dyn OrdersStore>,
    /// The pricing rules, cart choices and promotion uses (same database).
    pub(crate) pricing: Arc<dyn PricingStore>,
    /// The static part of each store's pricing rules, per process.
    pub(crate) rules_cache: crate::rules_cache::RulesCache,
    pub(crate) deps: OrdersDeps,
    outbox_waker: Arc<Notify>,
    /// Test hook: after recording an event of this kind, the runner stops as if the process had
    /// died there (nothing else is written; the lease is left as it is).
    pub(crate) stop_after: Mutex<Option<String>>,
    /// The orders service's background jobs (the orders export).
    pub(crate) jobs: Jobs,
    /// Orders imported from legacy shops (`imports.rs`; same database).
    pub(crate) imports: crate::store::imports::SqlImportsStore,
}

impl OrdersService {
    /// Migrates the database.
    pub async fn new(
        db: Db,
        outbox_waker: Arc<Notify>,
        deps: OrdersDeps,
    ) -> anyhow::Result<Arc<OrdersService>> {
        db.migrate("orders", MIGRATIONS).await?;
        let jobs = Jobs::new("orders", db.clone(), outbox_waker.clone());
        Ok(Arc::new(OrdersService {
            pricing: Arc::new(SqlPricingStore::new(db.clone())),
            imports: crate::store::imports::SqlImportsStore::new(db.clone()),
            store: Arc::new(SqlOrdersStore::new(db)),
            rules_cache: crate::rules_cache::RulesCache::new(),
            deps,
            outbox_waker,
            stop_after: Mutex::new(None),
            jobs,
        }))
    }

    /// Subscribes the catalog projection (Group "orders-catalog") and starts the saga driver
    /// that resumes incomplete checkouts (every replica; safe concurrently).
    pub async fn start(self: &Arc<Self>, bus: SharedBus, shutdown: Shutdown) -> anyhow::Result<()> {
        let service = self.clone();
        inbox::run_consumer(
            bus,
            crate::events::ALL_CATALOG,
            Delivery::Group(CATALOG_GROUP.to_owned()),
            shutdown.clone(),
            move |event| {
                let service = service.clone();
                async move { service.apply_catalog_event(&event).await }
            },
        )
        .await?;
        let service = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(DRIVER_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = shutdown.cancelled() => break,
                }
                match service.drive_incomplete(mercato_runtime::time::now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(sagas = n, "incomplete sagas driven"),
                    Err(e) => tracing::warn!(error = %e, "saga driver pass failed; retrying next tick"),
                }
            }
        });
        Ok(())
    }

    /// Whether the database answers.
    /// This service's jobs: its runner and the job RPCs.
    pub fn jobs(&self) -> &mercato_runtime::jobs::Jobs {
        &self.jobs
    }

    pub async fn ready(&self) -> bool {
        self.store.ping().await
    }

    /// Test hook: make the saga runner stop right after recording an event of `kind` (e.g.
    /// `"stock_reserved"`), as a process killed at that point would; `None` turns it off.
    #[doc(hidden)]
    pub fn stop_after(&self, kind: Option<&str>) {
        *self.stop_after.lock().unwrap_or_else(|p| p.into_inner()) = kind.map(str::to_owned);
    }

    pub(crate) fn should_stop_after(&self, kind: &str) -> bool {
        self.stop_after
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_deref()
            == Some(kind)
    }

    /// Called after a transaction that appended an event has committed.
    pub(crate) fn committed(&self) {
        self.outbox_waker.notify_one();
    }
}

/// Parses the tenant id every request carries.
pub(crate) fn store_id(s: &str) -> Result<StoreId, ServiceError> {
    StoreId::parse("store_id", s)
}
