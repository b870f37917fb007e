//! The analytics service: its parts, how it starts (migrations, consumers, the live publisher,
//! the backfill), applying events, and readiness.

use crate::live::Live;
use crate::metrics::{EVENTS_INGESTED, INGEST_BATCH, INGEST_LAG};
use crate::store::AnalyticsStore;
use mercato_proto::events::EventEnvelope;
use mercato_proto::orders::{ListOrderHistoriesRequest, ListOrderHistoriesResponse};
use mercato_runtime::bus::SharedBus;
use mercato_runtime::clients::{identity::IdentityClient, orders::OrdersClient};
use mercato_runtime::db::{Db, DbError};
use mercato_runtime::error::ServiceError;
use mercato_runtime::shutdown::Shutdown;
use std::sync::Arc;

/// Where the orders history comes from: `Orders.ListOrderHistories` (tests give their own).
#[async_trait::async_trait]
pub trait Histories: Send + Sync {
    async fn page(
        &self,
        request: ListOrderHistoriesRequest,
    ) -> Result<ListOrderHistoriesResponse, ServiceError>;
}

#[async_trait::async_trait]
impl Histories for OrdersClient {
    async fn page(
        &self,
        request: ListOrderHistoriesRequest,
    ) -> Result<ListOrderHistoriesResponse, ServiceError> {
        self.list_order_histories(request).await
    }
}

/// What analytics calls: the orders history (backfill, verify) and identity (the time zones of
/// stores it learns from the backfill). Tests may leave them out: then there is no backfill and
/// `Verify` is unavailable.
#[derive(Clone, Default)]
pub struct AnalyticsDeps {
    pub orders: Option<Arc<dyn Histories>>,
    pub identity: Option<IdentityClient>,
}

impl AnalyticsDeps {
    /// The deps of a process: the orders and identity clients.
    pub fn clients(orders: OrdersClient, identity: IdentityClient) -> AnalyticsDeps {
        AnalyticsDeps {
            orders: Some(Arc::new(orders)),
            identity: Some(identity),
        }
    }
}

/// The analytics service; one per process, shared behind an `Arc`.
pub struct AnalyticsService {
    pub store: AnalyticsStore,
    pub(crate) deps: AnalyticsDeps,
    pub(crate) live: Live,
}

impl AnalyticsService {
    /// Migrates the database.
    pub async fn new(db: Db, deps: AnalyticsDeps) -> anyhow::Result<Arc<AnalyticsService>> {
        Ok(Arc::new(AnalyticsService {
            store: AnalyticsStore::new(db).await?,
            deps,
            live: Live::default(),
        }))
    }

    /// Subscribes the consumers (one group per subject family, deduplicated with the inbox),
    /// starts publishing `FiguresChanged` and, if it never completed, the backfill in the
    /// background. Call before the outbox relays start.
    pub async fn start(self: &Arc<Self>, bus: SharedBus, shutdown: Shutdown) -> anyhow::Result<()> {
        self.start_consumers(bus.clone(), shutdown.clone()).await?;
        self.live.start(self.clone(), bus, shutdown.clone());
        self.start_rebuilds(shutdown.clone());
        self.start_backfill(shutdown);
        Ok(())
    }

    /// Applies a batch of events in one transaction (events seen before are skipped) and marks
    /// the stores they changed for a `FiguresChanged`.
    pub async fn ingest(&self, events: Vec<EventEnvelope>) -> Result<(), DbError> {
        if events.is_empty() {
            return Ok(());
        }
        let now = mercato_runtime::time::now_ms();
        let size = events.len();
        let subjects: Vec<(String, i64)> = events
            .iter()
            .map(|e| (e.subject.clone(), e.occurred_at_ms))
            .collect();
        let touched = self.store.ingest(events).await?;
        metrics::histogram!(INGEST_BATCH.name).record(size as f64);
        for (subject, at) in subjects {
            metrics::counter!(EVENTS_INGESTED.name, "subject" => subject).increment(1);
            metrics::histogram!(INGEST_LAG.name).record((now - at).max(0) as f64 / 1000.0);
        }
        self.live.mark(touched);
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> bool {
        self.store.ping().await
    }
}
