//! Event consumers: the per-replica index and L1 cache follow catalog events (fanout), and one
//! replica per event records provisioned stores (a deduplicated consumer group).

use crate::domain::ProductStatus;
use crate::events;
use crate::search::{Change, IndexedProduct, SearchIndex};
use crate::service::CatalogService;
use mercato_proto::events::{
    EventEnvelope, ProductChanged, ProductDeleted, SearchReindexRequested, StoreProvisioned,
};
use mercato_runtime::bus::{Delivery, SharedBus};
use mercato_runtime::ids::StoreId;
use mercato_runtime::inbox;
use mercato_runtime::shutdown::Shutdown;
use prost::Message;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Changes waiting for the indexer; a full queue slows the subscription down.
const INDEX_QUEUE: usize = 4096;
/// Most changes committed at once; keeps a burst's first change from waiting on its last.
const MAX_BATCH: usize = 512;
/// The consumer group (and inbox name) recording provisioned stores.
pub const STORES_GROUP: &str = "catalog-stores";

impl CatalogService {
    /// Subscribes the index updater and L1 cache eviction (`Delivery::Fanout`: every replica)
    /// and the `store_provisioned` consumer (`Delivery::Group("catalog-stores")`, deduplicated
    /// with the inbox). Call before the outbox relay starts.
    pub async fn start_consumers(self: &Arc<Self>, bus: SharedBus, shutdown: Shutdown) -> anyhow::Result<()> {
        let (tx, rx) = mpsc::channel(INDEX_QUEUE);
        let index = self.index.clone();
        std::thread::Builder::new()
            .name("catalog-indexer".into())
            .spawn(move || run_indexer(&index, rx))?;
        let service = self.clone();
        inbox::run_consumer(
            bus.clone(),
            events::ALL_CATALOG,
            Delivery::Fanout,
            shutdown.clone(),
            move |event| {
                let service = service.clone();
                let tx = tx.clone();
                async move { service.on_catalog_event(event, &tx).await }
            },
        )
        .await?;
        // Fanout sees only what is published after subscribing: catch what changed between the
        // start-up build and now. Versions make the overlap harmless.
        let caught_up = self.reindex().await?;
        tracing::debug!(products = caught_up, "search index caught up after subscribing");
        let service = self.clone();
        inbox::run_consumer(
            bus,
            events::STORE_PROVISIONED,
            Delivery::Group(STORES_GROUP.to_owned()),
            shutdown,
            move |event| {
                let service = service.clone();
                async move { service.on_store_provisioned(event).await }
            },
        )
        .await?;
        Ok(())
    }

    async fn on_catalog_event(
        self: &Arc<Self>,
        event: EventEnvelope,
        index: &mpsc::Sender<Change>,
    ) -> anyhow::Result<()> {
        let Ok(store) = event.store_id.parse::<StoreId>() else {
            tracing::warn!(event_id = %event.id, "catalog event without a valid store id");
            return Ok(());
        };
        let change = match event.subject.as_str() {
            events::PRODUCT_CREATED | events::PRODUCT_UPDATED => {
                let changed = ProductChanged::decode(event.payload.as_slice())?;
                let public = changed.product.as_ref().is_some_and(|p| {
                    ProductStatus::parse("status", &p.status).is_ok_and(ProductStatus::is_public)
                });
                match IndexedProduct::from_event(changed) {
                    // Only active products are searchable: a draft or archived one leaves the
                    // index, under its version, so that an older event cannot bring it back.
                    Some(p) if p.store_id == event.store_id && !public => Change::Delete {
                        product_id: p.product_id,
                        version: p.version,
                    },
                    Some(p) if p.store_id == event.store_id => Change::Upsert(p),
                    _ => {
                        tracing::warn!(event_id = %event.id, "product event without its product");
                        return Ok(());
                    }
                }
            }
            events::PRODUCT_DELETED => {
                let deleted = ProductDeleted::decode(event.payload.as_slice())?;
                Change::Delete {
                    product_id: deleted.product_id,
                    version: deleted.version,
                }
            }
            events::SEARCH_REINDEX_REQUESTED => {
                let requested = SearchReindexRequested::decode(event.payload.as_slice())?;
                self.on_reindex_requested(store, requested.job_id);
                return Ok(());
            }
            _ => return Ok(()),
        };
        let product_id = match &change {
            Change::Upsert(p) => p.product_id.clone(),
            Change::Delete { product_id, .. } => product_id.clone(),
        };
        // The writer already dropped the key in L2 and its own L1; other replicas' L1 copies go here.
        self.cache.evict_on_event(&store, &product_id).await;
        self.listings.invalidate(&store);
        index
            .send(change)
            .await
            .map_err(|_| anyhow::anyhow!("search indexer stopped"))
    }

    async fn on_store_provisioned(&self, event: EventEnvelope) -> anyhow::Result<()> {
        let provisioned = StoreProvisioned::decode(event.payload.as_slice())?;
        let Ok(store) = provisioned.store_id.parse::<StoreId>() else {
            tracing::warn!(event_id = %event.id, "store_provisioned without a valid store id");
            return Ok(());
        };
        let applied = self
            .store
            .record_store(
                &store,
                &provisioned.slug,
                &provisioned.currency,
                STORES_GROUP,
                &event.id,
            )
            .await?;
        if !applied {
            tracing::debug!(event_id = %event.id, "store_provisioned already processed");
        }
        Ok(())
    }
}

/// Applies queued changes in batches: take one, drain what else is queued, commit once. Runs on
/// its own thread because commits block; ends when the subscription (the sender) goes away.
fn run_indexer(index: &SearchIndex, mut rx: mpsc::Receiver<Change>) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH
            && let Ok(next) = rx.try_recv()
        {
            batch.push(next);
        }
        let size = batch.len();
        if let Err(e) = index.apply(batch) {
            // The index of this replica misses these changes until they change again or the
            // process restarts; searches keep working on what was committed before.
            tracing::error!(error = %e, changes = size, "search index update failed");
        }
    }
}
