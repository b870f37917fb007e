//! Analytics embedded, fed through the event path: an [`AnalyticsService`] on a SQLite file
//! with its consumers subscribed to an in-process bus, and the generated events published on
//! that bus as the services' outbox relays publish them (each publish returns once the
//! consumer group has applied and acknowledged it, so publishers run concurrently and the
//! consumers batch what is ready into one transaction).

use super::events::{self, Plan};
use futures::StreamExt;
use mercato_analytics::{AnalyticsDeps, AnalyticsService};
use mercato_proto::analytics::{Range, SummaryRequest};
use mercato_proto::events::EventEnvelope;
use mercato_runtime::bus::{MemoryBus, SharedBus};
use mercato_runtime::db::Db;
use mercato_runtime::shutdown::Shutdown;
use prost::Message;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running embedded analytics service and the bus that feeds it.
pub struct Embedded {
    pub service: Arc<AnalyticsService>,
    bus: SharedBus,
    stop: Shutdown,
    path: PathBuf,
}

impl Embedded {
    /// Starts the service on a fresh SQLite file (under the system temp directory, or `dir`).
    pub async fn start(dir: Option<PathBuf>) -> anyhow::Result<Embedded> {
        let dir = dir.unwrap_or_else(|| std::env::temp_dir().join("mercato-bench"));
        let path = dir.join(format!("analytics-{}.db", uuid::Uuid::now_v7()));
        let db = Db::sqlite(&path).await?;
        let service = AnalyticsService::new(db, AnalyticsDeps::default()).await?;
        let bus: SharedBus = Arc::new(MemoryBus::new());
        let stop = Shutdown::new();
        service.start(bus.clone(), stop.clone()).await?;
        Ok(Embedded {
            service,
            bus,
            stop,
            path,
        })
    }

    /// Publishes one event and waits until it is applied.
    pub async fn publish(&self, event: &EventEnvelope) -> anyhow::Result<()> {
        self.bus
            .publish(&event.subject, &event.id, event.encode_to_vec().into())
            .await
    }

    /// Publishes the plan's orders (each its shopper's journey, in order) from `concurrency`
    /// publishers; returns the events published and how long it took.
    pub async fn feed(&self, plan: &Plan, concurrency: usize) -> anyhow::Result<(u64, Duration)> {
        self.publish(&events::store_provisioned(&plan.store_id)).await?;
        let started = Instant::now();
        let mut published = 0u64;
        let mut results = futures::stream::iter(0..plan.orders)
            .map(|n| async move {
                for event in events::order_events(plan, n) {
                    self.publish(&event).await?;
                }
                anyhow::Ok(events::order_events(plan, n).len() as u64)
            })
            .buffer_unordered(concurrency.max(1));
        while let Some(result) = results.next().await {
            let before = published;
            published += result?;
            if published / 500_000 > before / 500_000 {
                eprintln!("  {published} events applied, {:.0?}", started.elapsed());
            }
        }
        Ok((published, started.elapsed()))
    }

    /// Orders confirmed in the store over `from`–`to` (local dates), as the summary says.
    pub async fn orders_counted(&self, store_id: &str, from: &str, to: &str) -> anyhow::Result<i64> {
        let summary = self
            .service
            .summary(SummaryRequest {
                store_id: store_id.to_owned(),
                range: Some(Range {
                    from: from.to_owned(),
                    to: to.to_owned(),
                }),
                ..SummaryRequest::default()
            })
            .await
            .map_err(|e| anyhow::anyhow!("summary: {e}"))?;
        Ok(summary.figures.unwrap_or_default().orders)
    }

    /// Stops the consumers and removes the database files.
    pub fn finish(self) {
        self.stop.cancel();
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.path.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_fed_order_is_counted_once() {
        let embedded = Embedded::start(None).await.expect("starts");
        let plan = super::super::ingest::plan(300);
        let (events, _) = embedded.feed(&plan, 64).await.expect("fed");
        assert_eq!(events, 300 * 4 + 30);
        // The same confirmation again (a new event id, the same order version) changes nothing.
        embedded
            .publish(events::order_events(&plan, 7).last().expect("confirmed"))
            .await
            .expect("published");
        let counted = embedded
            .orders_counted(&plan.store_id, "", "")
            .await
            .expect("summary");
        embedded.finish();
        assert_eq!(counted, 300);
    }
}
