//! The runner's loop: for each registered kind with a free slot in this process, lease ready
//! jobs and run each as an [`attempt`](super::attempt); wake when a job is enqueued or retried
//! here, when an attempt ends, when the next known job falls due, or at the poll interval (jobs
//! enqueued by other replicas); sample the gauges and delete old finished jobs now and then. At
//! shutdown, stop every attempt and release what they held.

use super::attempt::{self, Attempt};
use super::finish::{self, Outcome};
use super::lease::{self, Lease};
use super::{JobHandler, JobRunner, Jobs, KindPolicy, metrics};
use crate::shutdown::Shutdown;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How often a runner looks for jobs when nothing woke it: jobs enqueued by other replicas.
pub(crate) const DEFAULT_POLL: Duration = Duration::from_secs(1);
/// How often the gauges are sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// How often finished jobs past their retention are deleted.
const CLEANUP_EVERY: Duration = Duration::from_secs(600);
/// How long stopping attempts may take at shutdown before they are aborted and released.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);
/// The shortest sleep between passes, so a due time just passed cannot spin the loop.
const MIN_NAP: Duration = Duration::from_millis(5);

/// A registered kind: its handler, policy, and slots in this process.
struct Slot {
    handler: Arc<dyn JobHandler>,
    policy: KindPolicy,
    permits: Arc<Semaphore>,
}

/// Leases held by this runner's attempts, released at shutdown if their attempt was aborted.
type Held = Arc<Mutex<HashMap<String, (Lease, KindPolicy)>>>;

impl JobRunner {
    pub fn register(&mut self, handler: Arc<dyn JobHandler>) {
        self.handlers.push(handler);
    }

    /// How often the runner looks for jobs nobody woke it for (enqueued by another replica);
    /// one second by default. Jobs enqueued through this process's [`Jobs`] start at once.
    pub fn poll_every(mut self, interval: Duration) -> Self {
        self.poll = interval.max(MIN_NAP);
        self
    }

    /// Runs until `shutdown`; running attempts are stopped and their leases released (queued
    /// again without counting as a failure).
    pub async fn run(self, shutdown: Shutdown) {
        let JobRunner { jobs, handlers, poll } = self;
        let slots: Vec<Slot> = handlers
            .into_iter()
            .map(|handler| {
                let policy = handler.policy();
                Slot {
                    handler,
                    policy,
                    permits: Arc::new(Semaphore::new(policy.concurrency.max(1))),
                }
            })
            .collect();
        let kinds: Vec<&'static str> = slots.iter().map(|s| s.policy.kind).collect();
        let held: Held = Arc::default();
        let mut attempts = JoinSet::new();
        let service = jobs.queue.service();
        let (mut next_sample, mut next_cleanup) = (tokio::time::Instant::now(), tokio::time::Instant::now());
        while !shutdown.is_cancelled() {
            let now = crate::time::now_ms();
            let mut wake_at = now + i64::try_from(poll.as_millis()).unwrap_or(1_000);
            for slot in &slots {
                match pass(&jobs, slot, &held, &shutdown, &mut attempts, now).await {
                    Ok(Some(due)) => wake_at = wake_at.min(due),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(service, kind = slot.policy.kind, error = %e, "jobs not leased; retrying")
                    }
                }
            }
            let instant = tokio::time::Instant::now();
            if instant >= next_sample {
                next_sample = instant + SAMPLE_EVERY;
                metrics::publish_gauges(&jobs.db, service, &kinds).await;
            }
            if instant >= next_cleanup {
                next_cleanup = instant + CLEANUP_EVERY;
                if let Err(e) = metrics::delete_finished(&jobs.db, now).await {
                    tracing::warn!(service, error = %e, "old finished jobs not deleted");
                }
            }
            let nap = Duration::from_millis(u64::try_from(wake_at - crate::time::now_ms()).unwrap_or(0))
                .max(MIN_NAP);
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = jobs.runner.notified() => {}
                Some(_) = attempts.join_next(), if !attempts.is_empty() => {}
                () = tokio::time::sleep(nap) => {}
            }
        }
        drain(&jobs, attempts, &held).await;
    }
}

/// One kind's turn: leases what is ready if the kind has free slots here and spawns the
/// attempts; returns when its next job falls due, if later than `now`.
async fn pass(
    jobs: &Jobs,
    slot: &Slot,
    held: &Held,
    shutdown: &Shutdown,
    attempts: &mut JoinSet<()>,
    now: i64,
) -> Result<Option<i64>, crate::db::DbError> {
    let due = lease::next_due(&jobs.db, slot.policy.kind).await?;
    let free = slot.permits.available_permits();
    if free > 0 && due.is_some_and(|at| at <= now) {
        let leased = lease::lease(&jobs.db, jobs.queue.service(), slot.policy, free).await?;
        if leased.changed {
            jobs.outbox.notify_one();
        }
        for _ in 0..leased.died {
            metrics::record_dead(jobs.queue.service(), slot.policy.kind);
        }
        for lease in leased.leases {
            // This loop is the only one taking permits, so one is free for each lease.
            let Ok(permit) = slot.permits.clone().try_acquire_owned() else {
                tracing::error!(job = %lease.row.id, "no slot for a leased job; its lease lapses");
                continue;
            };
            let id = lease.row.id.clone();
            lock(held).insert(id.clone(), (lease.clone(), slot.policy));
            let attempt = Arc::new(Attempt::new(lease, slot.policy, shutdown));
            let (jobs, handler, held) = (jobs.clone(), slot.handler.clone(), held.clone());
            attempts.spawn(async move {
                attempt::run(jobs, handler, attempt).await;
                lock(&held).remove(&id);
                drop(permit);
            });
        }
    }
    Ok(due.filter(|at| *at > now))
}

fn lock(held: &Held) -> std::sync::MutexGuard<'_, HashMap<String, (Lease, KindPolicy)>> {
    held.lock().unwrap_or_else(|p| p.into_inner())
}

/// Lets the stopped attempts record themselves (released), aborts those that take longer than
/// the grace period, and releases what they held.
async fn drain(jobs: &Jobs, mut attempts: JoinSet<()>, held: &Held) {
    let grace = tokio::time::sleep(SHUTDOWN_GRACE);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            next = attempts.join_next() => if next.is_none() { break },
            () = &mut grace => {
                tracing::warn!(service = jobs.queue.service(), "job attempts did not stop in time; releasing them");
                attempts.shutdown().await;
                break;
            }
        }
    }
    let left: Vec<(Lease, KindPolicy)> = lock(held).drain().map(|(_, v)| v).collect();
    for (lease, policy) in left {
        if let Err(e) =
            finish::finish(&jobs.db, jobs.queue.service(), &lease, policy, Outcome::Released).await
        {
            tracing::warn!(job = %lease.row.id, error = %e, "job not released; its lease lapses");
        }
    }
    jobs.outbox.notify_one();
}
