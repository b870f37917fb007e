//! Retention: finished deliveries (succeeded, dead, cancelled), their attempts, and messages no
//! delivery refers to any more are deleted 30 days after they finished, in small batches, by a
//! periodic sweep in every replica (the deletes are idempotent).

use super::Webhooks;
use super::claim::placeholders;
use mercato_runtime::db::{DbError, Param};
use mercato_runtime::shutdown::Shutdown;
use std::sync::Arc;
use std::time::Duration;

/// How long finished deliveries are kept.
pub(crate) const RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
/// How often the sweep runs.
const EVERY: Duration = Duration::from_secs(3600);
/// Deliveries deleted per transaction.
const BATCH: i64 = 500;

impl Webhooks {
    /// Runs the sweep every hour until `shutdown`.
    pub(crate) async fn retention_loop(self: Arc<Self>, shutdown: Shutdown) {
        loop {
            let now = mercato_runtime::time::now_ms();
            if let Err(e) = self.sweep(now - RETENTION.as_millis() as i64).await {
                tracing::warn!(error = %e, "deleting old webhook deliveries failed");
            }
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                () = shutdown.cancelled() => break,
            }
        }
    }

    /// Deletes what finished before `before` (epoch ms); returns how many deliveries went.
    pub async fn sweep(&self, before: i64) -> Result<u64, DbError> {
        let mut total = 0;
        loop {
            let deleted = self
                .db
                .write("webhooks_retention", move |tx| {
                    let ids: Vec<(String,)> = tx.query_all(
                        "SELECT id FROM webhook_deliveries WHERE finished_at > 0 AND finished_at < $1 LIMIT $2",
                        &[&before, &BATCH],
                    )?;
                    if ids.is_empty() {
                        return Ok::<_, DbError>(0);
                    }
                    let list = placeholders(1, ids.len());
                    let params: Vec<&dyn Param> = ids.iter().map(|(id,)| id as &dyn Param).collect();
                    tx.execute(&format!("DELETE FROM webhook_attempts WHERE delivery_id IN ({list})"), &params)?;
                    tx.execute(&format!("DELETE FROM webhook_deliveries WHERE id IN ({list})"), &params)
                })
                .await?;
            total += deleted;
            if deleted < BATCH as u64 {
                break;
            }
        }
        self.db
            .write("webhooks_retention_messages", move |tx| {
                tx.execute(
                    "DELETE FROM webhook_messages WHERE created_at < $1 AND NOT EXISTS \
                     (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = webhook_messages.id)",
                    &[&before],
                )
            })
            .await?;
        Ok(total)
    }
}
