//! The dispatcher: one loop per process that claims due deliveries in batches (within the
//! process's `concurrency` and each store's `per_store_concurrency`), sends each on its own
//! task, and hands the results to a recorder that writes them in batches. A store whose
//! receiver hangs holds only its own slots; the others' deliveries keep flowing.
//!
//! Nothing is lost when a process dies: a claimed delivery's `next_attempt_at` is its lease's
//! end, so another dispatcher (or this one after a restart) takes it again then.

use super::Webhooks;
use super::claim::{self, Claimed, Room};
use super::send::{self, AttemptResult};
use mercato_runtime::db::DbError;
use mercato_runtime::shutdown::Shutdown;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Most deliveries claimed in one transaction.
const MAX_CLAIM: usize = 256;
/// Most results written in one transaction.
const MAX_RECORD: usize = 1024;
/// How long the loop sleeps at most when nothing is due (a wake-up comes sooner).
const IDLE: Duration = Duration::from_secs(2);
/// The longest sleep while due deliveries wait for a slot.
const BLOCKED: Duration = Duration::from_millis(250);
/// A pause after a pass that claimed, so that sends finishing meanwhile are claimed together.
const GATHER: Duration = Duration::from_millis(3);
/// How often the due backlog gauge is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Deliveries being sent by this process, in total and per store.
#[derive(Default)]
pub(crate) struct InFlight {
    total: usize,
    per_store: HashMap<String, usize>,
}

impl InFlight {
    fn add(&mut self, store: &str) {
        self.total += 1;
        *self.per_store.entry(store.to_owned()).or_insert(0) += 1;
    }

    fn remove(&mut self, store: &str) {
        self.total = self.total.saturating_sub(1);
        if let Some(n) = self.per_store.get_mut(store) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_store.remove(store);
            }
        }
    }
}

fn lock(in_flight: &Mutex<InFlight>) -> std::sync::MutexGuard<'_, InFlight> {
    in_flight
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Webhooks {
    /// Runs the dispatcher until `shutdown`.
    pub(crate) async fn dispatch(self: Arc<Self>, shutdown: Shutdown) {
        let (results, recorder) = mpsc::unbounded_channel();
        tokio::spawn(self.clone().record_loop(recorder));
        let mut sampled = tokio::time::Instant::now();
        while !shutdown.is_cancelled() {
            let claimed = match self.claim_batch().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming webhook deliveries failed; retrying");
                    Vec::new()
                }
            };
            let full = !claimed.is_empty();
            for d in claimed {
                self.spawn_send(d, results.clone());
            }
            if sampled.elapsed() >= SAMPLE_EVERY {
                sampled = tokio::time::Instant::now();
                self.sample_backlog().await;
            }
            let wait = if full { GATHER } else { self.idle_wait().await };
            tokio::select! {
                () = self.dispatcher.notified(), if !full => {}
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => break,
            }
        }
    }

    /// Claims what the limits allow now.
    async fn claim_batch(&self) -> Result<Vec<Claimed>, DbError> {
        let room = {
            let in_flight = lock(&self.in_flight);
            Room {
                slots: self
                    .settings
                    .concurrency
                    .max(1)
                    .saturating_sub(in_flight.total)
                    .min(MAX_CLAIM),
                per_store: self.settings.per_store_concurrency.max(1),
                busy: in_flight.per_store.clone(),
            }
        };
        if room.slots == 0 {
            return Ok(Vec::new());
        }
        let lease = self.settings.connect_timeout + self.settings.timeout + Duration::from_secs(30);
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 4);
        let claimed = self
            .db
            .write("webhooks_claim", move |tx| {
                let now = mercato_runtime::time::now_ms();
                claim::claim(tx, &room, now, now + lease_ms)
            })
            .await?;
        let mut in_flight = lock(&self.in_flight);
        for d in &claimed {
            in_flight.add(&d.store_id);
        }
        metrics::gauge!(super::metrics::WEBHOOK_IN_FLIGHT.name).set(in_flight.total as f64);
        Ok(claimed)
    }

    /// Sends one delivery on its own task; its slot frees when the attempt ends.
    fn spawn_send(self: &Arc<Self>, d: Claimed, results: mpsc::UnboundedSender<AttemptResult>) {
        let this = self.clone();
        tokio::spawn(async move {
            let store = d.store_id.clone();
            let body: Arc<[u8]> = Arc::from(d.body.as_bytes());
            let result = send::attempt(&this.outbound, &this.kek, d, body).await;
            super::metrics::attempt(result.outcome(), result.took);
            lock(&this.in_flight).remove(&store);
            let _ = results.send(result);
            this.dispatcher.notify_one();
        });
    }

    /// How long to sleep when nothing was claimed: until the next delivery is due, at most
    /// [`IDLE`]; [`BLOCKED`] when deliveries are due but their stores (or the process) are at
    /// their limit, which only a finishing send (it rings) or time changes.
    async fn idle_wait(&self) -> Duration {
        let next: Result<(Option<i64>,), DbError> = self
            .db
            .query_one(
                "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'",
                &[],
            )
            .await;
        match next {
            Ok((Some(at),)) => {
                let ms = at - mercato_runtime::time::now_ms();
                if ms <= 0 {
                    BLOCKED
                } else {
                    Duration::from_millis(ms.min(IDLE.as_millis() as i64).unsigned_abs())
                }
            }
            _ => IDLE,
        }
    }

    async fn sample_backlog(&self) {
        let now = mercato_runtime::time::now_ms();
        let due: Result<(i64,), DbError> = self
            .db
            .query_one(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1",
                &[&now],
            )
            .await;
        if let Ok((n,)) = due {
            metrics::gauge!(super::metrics::WEBHOOK_DUE.name).set(n as f64);
        }
    }

    /// Writes results as they come, as many per transaction as are waiting.
    async fn record_loop(self: Arc<Self>, mut results: mpsc::UnboundedReceiver<AttemptResult>) {
        let mut batch = Vec::with_capacity(MAX_RECORD);
        while results.recv_many(&mut batch, MAX_RECORD).await > 0 {
            let taken = std::mem::take(&mut batch);
            if let Err(e) = self.record(taken).await {
                // The leases lapse and the deliveries are attempted again: at least once.
                tracing::warn!(error = %e, "recording webhook attempts failed; they will be retried");
            }
        }
    }
}
