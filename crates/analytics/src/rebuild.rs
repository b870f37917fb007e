//! Re-bucketing after a store's time zone changed (`store::rebuild`): a background task clears
//! the store's order-derived figures and folds its orders history again, in the new zone,
//! through the same fold as the backfill; the store's live order snapshots wait meanwhile (in the
//! database, acknowledged) and are folded last. A crash midway leaves the request, and the next
//! start does it again from the beginning.

use crate::service::AnalyticsService;
use mercato_proto::orders::ListOrderHistoriesRequest;
use mercato_runtime::shutdown::Shutdown;
use std::sync::Arc;
use std::time::Duration;

/// How often the task looks for stores to rebuild.
const PERIOD: Duration = Duration::from_secs(2);
/// Orders per page of history.
const PAGE: u32 = 500;

impl AnalyticsService {
    pub(crate) fn start_rebuilds(self: &Arc<Self>, shutdown: Shutdown) {
        let service = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = service.rebuild_pending().await {
                    tracing::warn!(error = %e, "analytics rebuild paused; retrying");
                }
                tokio::select! {
                    () = tokio::time::sleep(PERIOD) => {}
                    () = shutdown.cancelled() => break,
                }
            }
        });
    }

    /// Rebuilds every store waiting for it; returns how many.
    pub async fn rebuild_pending(&self) -> anyhow::Result<usize> {
        let mut done = 0;
        while let Some(store) = self.store.next_rebuild().await? {
            self.rebuild(&store).await?;
            done += 1;
        }
        Ok(done)
    }

    async fn rebuild(&self, store: &str) -> anyhow::Result<()> {
        let Some(orders) = self.deps.orders.clone() else {
            tracing::warn!(store_id = %store, "no orders history to rebuild from; figures stay in the old zone");
            return Ok(self.store.finish_rebuild(store).await?);
        };
        tracing::info!(store_id = %store, "rebuilding figures in the store's new time zone");
        self.store.clear_for_rebuild(store).await?;
        let (mut cursor, mut count) = (String::new(), 0);
        loop {
            let page = orders
                .page(ListOrderHistoriesRequest {
                    store_id: store.to_owned(),
                    after: cursor,
                    limit: PAGE,
                    ..ListOrderHistoriesRequest::default()
                })
                .await?;
            count += page.orders.len();
            let snapshots = page
                .orders
                .iter()
                .flat_map(crate::domain::history::snapshots)
                .collect();
            self.store.fold_snapshots(snapshots).await?;
            cursor = page.next_cursor;
            if cursor.is_empty() {
                break;
            }
        }
        self.store.finish_rebuild(store).await?;
        self.live.mark([store.to_owned()].into());
        tracing::info!(store_id = %store, orders = count, "figures rebuilt in the new time zone");
        Ok(())
    }
}
