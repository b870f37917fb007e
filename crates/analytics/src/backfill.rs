//! The backfill: an installation that adds analytics after it has orders rebuilds their
//! figures from the orders service's history (`Orders.ListOrderHistories`, every store, paged),
//! through the same fold as live events, in a background task that does not hold up start-up.
//! Progress (the cursor and counts) is kept after every page, so a restart resumes where it
//! stopped; the fold's versions make a page folded twice, or an order whose live events arrive
//! meanwhile, count once. The zones of stores it has not heard of come from identity.

use crate::metrics::{BACKFILL_DONE, BACKFILL_TOTAL};
use crate::service::AnalyticsService;
use crate::store::BackfillRow;
use mercato_proto::analytics::BackfillStatus;
use mercato_proto::identity::{GetStoreRequest, get_store_request};
use mercato_proto::orders::{ListOrderHistoriesRequest, OrderEvents};
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::shutdown::Shutdown;
use mercato_runtime::time::now_ms;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Orders per page of history.
const PAGE: u32 = 200;
/// Wait before retrying a page that failed (the orders service away, or not upgraded yet).
const RETRY: Duration = Duration::from_secs(10);

impl AnalyticsService {
    /// Starts the backfill in the background unless it completed before or there is no orders
    /// client.
    pub(crate) fn start_backfill(self: &Arc<Self>, shutdown: Shutdown) {
        if self.deps.orders.is_none() {
            return;
        }
        let service = self.clone();
        tokio::spawn(async move {
            loop {
                match service.backfill_run().await {
                    Ok(()) => break,
                    Err(e) => tracing::warn!(error = %e, "analytics backfill paused; retrying"),
                }
                tokio::select! {
                    () = tokio::time::sleep(RETRY) => {}
                    () = shutdown.cancelled() => break,
                }
            }
        });
    }

    /// Runs (or resumes) the backfill to its end.
    pub async fn backfill_run(&self) -> anyhow::Result<()> {
        let Some(orders) = self.deps.orders.clone() else {
            return Ok(());
        };
        let mut row = self.store.backfill().await?.unwrap_or_else(|| BackfillRow {
            state: "running".into(),
            started_at: now_ms(),
            ..BackfillRow::default()
        });
        if row.state == "done" {
            return Ok(());
        }
        self.store.put_backfill(&row).await?;
        tracing::info!(orders_done = row.orders_done, "analytics backfill started");
        let mut known = HashSet::new();
        loop {
            let page = orders
                .page(ListOrderHistoriesRequest {
                    after: row.cursor.clone(),
                    limit: PAGE,
                    ..ListOrderHistoriesRequest::default()
                })
                .await?;
            if page.total > 0 {
                row.orders_total = page.total;
            }
            self.learn_stores(&page.orders, &mut known).await?;
            let snapshots = page
                .orders
                .iter()
                .flat_map(crate::domain::history::snapshots)
                .collect();
            let touched = self.store.fold_snapshots(snapshots).await?;
            self.live.mark(touched);
            row.orders_done += page.orders.len() as i64;
            row.cursor = page.next_cursor;
            if row.cursor.is_empty() {
                row.state = "done".into();
                row.finished_at = now_ms();
            }
            self.store.put_backfill(&row).await?;
            metrics::gauge!(BACKFILL_DONE.name).set(row.orders_done as f64);
            metrics::gauge!(BACKFILL_TOTAL.name).set(row.orders_total as f64);
            tracing::info!(
                orders_done = row.orders_done,
                orders_total = row.orders_total,
                "analytics backfill progress"
            );
            if row.state == "done" {
                return Ok(());
            }
        }
    }

    /// Asks identity for the zone and currency of stores analytics has not heard of.
    async fn learn_stores(
        &self,
        histories: &[OrderEvents],
        known: &mut HashSet<String>,
    ) -> anyhow::Result<()> {
        for h in histories {
            let Some(store) = h.state.as_ref().map(|o| o.store_id.clone()) else {
                continue;
            };
            if known.contains(&store) {
                continue;
            }
            if !self.store.knows_store(&store).await?
                && let Some(identity) = &self.deps.identity
            {
                let found = identity
                    .get_store(GetStoreRequest {
                        key: Some(get_store_request::Key::Id(store.clone())),
                    })
                    .await;
                let (zone, currency) = match found {
                    Ok(s) => (s.time_zone, s.currency),
                    // A store identity no longer knows: its orders still count, in UTC.
                    Err(e) if e.code == ErrorCode::NotFound => {
                        tracing::warn!(store_id = %store, "backfill: store unknown to identity; counted in UTC");
                        ("UTC".to_owned(), String::new())
                    }
                    Err(e) => return Err(e.into()),
                };
                self.store.learn_store(&store, &zone, &currency).await?;
            }
            known.insert(store);
        }
        Ok(())
    }

    /// How far the backfill has come.
    pub async fn backfill_status(&self) -> Result<BackfillStatus, ServiceError> {
        let row = self.store.backfill().await?.unwrap_or_default();
        let state = match row.state.as_str() {
            "running" => "running",
            "done" if row.orders_done > 0 => "done",
            _ => "idle",
        };
        Ok(BackfillStatus {
            state: state.to_owned(),
            orders_done: row.orders_done,
            orders_total: row.orders_total,
            started_at_ms: row.started_at,
            finished_at_ms: row.finished_at,
        })
    }
}
