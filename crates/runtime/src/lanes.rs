//! Two lanes in one process: the edge (the runtime that accepts connections, reads requests and
//! answers them, refusals included) and the work (a second runtime where the services in this
//! process run their calls, commits, consumers and relays). Opt-in (`http.work_lane`).
//!
//! Why: with one runtime, a request the gateway refuses under overload waits in the same run
//! queue as the work it is refused to protect, so the refusal is as late as the work. With two,
//! the edge's queue holds only cheap steps; the work's queue is where overload shows, and what
//! `runtime::pressure` samples (`docs/adr/0017-edge-and-work-lanes.md`, with the measurements
//! that keep it off by default).
//!
//! What moves, and what does not: the services are built on the lane (their consumers, relays,
//! job runners and samplers run there) and the gateway's calls to them hop to it. Still on the
//! edge: the local services' gRPC routes and the realtime WebSockets, served on the process's
//! port. Built on the lane although the edge uses them: the clients made at start (Redis for
//! rate limits and the shared cache, remote gRPC channels, NATS) and the `/metrics` listener, so
//! with Redis configured a rate-limit check waits behind the work.
//!
//! A process without a work lane (a service replica, tests) runs everything where it is called.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll};
use tokio::runtime::{Handle, Runtime};

/// How much lower (a Linux nice value) the work lane's threads run than the edge's, unless
/// `MERCATO_WORK_NICENESS` says otherwise. 0: measured, a lower priority (5, 2) let a flood of
/// refusals take the CPU from the work and cost a fifth of the goodput (those runs lowered
/// blocking threads twice over, fixed since; ADR 0017).
pub const WORK_NICENESS: i32 = 0;

static WORK: OnceLock<Runtime> = OnceLock::new();
/// Held while the work lane is built, so that two callers cannot both build one.
static STARTING: Mutex<()> = Mutex::new(());

/// Starts this process's work lane (once; later calls return the first): a multi-threaded
/// runtime of `threads` workers whose threads, and every thread they start (SQLite writers and
/// checkpointers, blocking tasks), run [`WORK_NICENESS`] (or `MERCATO_WORK_NICENESS`) lower
/// than the caller.
pub fn start_work_lane(threads: usize) -> std::io::Result<Handle> {
    let _building = STARTING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(work) = WORK.get() {
        return Ok(work.handle().clone());
    }
    let niceness = std::env::var(crate::env::WORK_NICENESS)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(WORK_NICENESS);
    let runtime = build_lane(threads, niceness)?;
    Ok(WORK.get_or_init(|| runtime).handle().clone())
}

/// A lane whose threads all run `niceness` lower than the calling thread: an absolute value
/// set on each, since a thread started from another lane thread (a blocking one) inherits
/// the lowered value already.
fn build_lane(threads: usize, niceness: i32) -> std::io::Result<Runtime> {
    let base = rustix::process::getpriority_process(None).unwrap_or(0);
    let target = base + niceness;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("mercato-work")
        .on_thread_start(move || set_this_threads_niceness(target))
        .enable_all()
        .build()
}

/// The work lane, when this process started one.
pub fn work() -> Option<&'static Handle> {
    WORK.get().map(Runtime::handle)
}

/// Runs `work` on the work lane and waits for it there, or here when there is no work lane or
/// this already is it. On the lane it keeps the caller's deadline (`resilience::deadline`) and
/// span. Dropping the returned future cancels the work, as it would in place; a panic in it
/// resumes here.
pub async fn on_work<F>(work: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    run_on(self::work(), work).await
}

async fn run_on<F>(lane: Option<&Handle>, work: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let Some(lane) = lane else {
        return work.await;
    };
    if Handle::try_current().is_ok_and(|here| here.id() == lane.id()) {
        return work.await;
    }
    let deadline = crate::resilience::deadline::current();
    let work = async move {
        match deadline {
            Some(d) => crate::resilience::deadline::scope(d, work).await,
            None => work.await,
        }
    };
    let work = tracing::Instrument::instrument(work, tracing::Span::current());
    let task = AbortOnDrop(lane.spawn(work));
    match task.await {
        Ok(output) => output,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("the work lane dropped a task: {e}"),
    }
}

/// A task handle that cancels its task when dropped unfinished.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// Sets the calling thread's nice value (on Linux a nice value belongs to a thread, and the
/// threads it starts inherit it; `PRIO_PROCESS` with no id names the calling thread there).
/// Raising niceness needs no privilege; a failure leaves the thread as it was.
fn set_this_threads_niceness(target: i32) {
    use rustix::process::{getpriority_process, setpriority_process};
    if getpriority_process(None).is_ok_and(|now| now != target) {
        let _ = setpriority_process(None, target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Shuts a test's lane down without blocking, also when an assertion fails first (dropping
    /// a runtime inside the test's own would abort the test binary).
    struct Lane(Option<Runtime>);

    impl Drop for Lane {
        fn drop(&mut self) {
            if let Some(runtime) = self.0.take() {
                runtime.shutdown_background();
            }
        }
    }

    fn nice() -> i32 {
        rustix::process::getpriority_process(None).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn work_runs_on_the_lane_at_its_niceness_and_cancels_with_its_caller() {
        // A lane of its own, not this process's: other tests must not run on it.
        let edge_nice = nice();
        let runtime = Lane(Some(build_lane(1, 3).unwrap()));
        let lane = runtime.0.as_ref().unwrap().handle().clone();
        let edge = Handle::current().id();
        let (ran_on, worker_nice) = run_on(Some(&lane), async { (Handle::current().id(), nice()) }).await;
        assert_eq!(ran_on, lane.id());
        assert_ne!(ran_on, edge);
        assert_eq!(worker_nice, edge_nice + 3);
        // A blocking thread started from a lane thread: the same value, not lowered twice.
        let blocking_nice = run_on(Some(&lane), async {
            tokio::task::spawn_blocking(nice).await.unwrap()
        })
        .await;
        assert_eq!(blocking_nice, edge_nice + 3);
        assert_eq!(nice(), edge_nice, "the caller's thread is untouched");

        // The caller's deadline goes with the work.
        let deadline = std::time::Instant::now() + Duration::from_secs(7);
        let seen = crate::resilience::deadline::scope(
            deadline,
            run_on(Some(&lane), async { crate::resilience::deadline::current() }),
        )
        .await;
        assert_eq!(seen, Some(deadline));

        // Already on the lane, it runs in place.
        let inner = lane.clone();
        let nested = run_on(Some(&lane), async move {
            run_on(Some(&inner), async { Handle::current().id() }).await
        })
        .await;
        assert_eq!(nested, lane.id());

        // Dropped unfinished: the task is aborted, not left running.
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let abandoned = run_on(Some(&lane), async move {
            let _keep = tx;
            std::future::pending::<()>().await
        });
        let _ = tokio::time::timeout(Duration::from_millis(20), abandoned).await;
        let dropped = tokio::time::timeout(Duration::from_secs(5), rx).await;
        assert!(
            matches!(dropped, Ok(Err(_))),
            "the abandoned task was dropped, and its sender with it"
        );

        let panicking = lane.clone();
        let panicked =
            tokio::spawn(async move { run_on(Some(&panicking), async { panic!("inside the lane") }).await })
                .await
                .unwrap_err();
        let payload = panicked.into_panic();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"inside the lane"));

        // Without a lane it runs here.
        assert_eq!(run_on(None, async { Handle::current().id() }).await, edge);
    }
}
