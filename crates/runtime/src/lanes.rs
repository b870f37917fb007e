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
//! A process without a work lane (a service replica, tests) runs everything where it is called.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use tokio::runtime::{Handle, Runtime};

/// How much lower (a Linux nice value) the work lane's threads run than the edge's, unless
/// `MERCATO_WORK_NICENESS` says otherwise. 0: measured, a lower priority (5, 2) let a flood of
/// refusals take the CPU from the work and cost a fifth of the goodput.
pub const WORK_NICENESS: i32 = 0;

static WORK: OnceLock<Runtime> = OnceLock::new();

/// Starts this process's work lane (once; later calls return the first): a multi-threaded
/// runtime of `threads` workers whose threads, and every thread they start (SQLite writers and
/// checkpointers, blocking tasks), run [`WORK_NICENESS`] lower.
pub fn start_work_lane(threads: usize) -> std::io::Result<Handle> {
    if let Some(work) = WORK.get() {
        return Ok(work.handle().clone());
    }
    let runtime = build_lane(threads)?;
    Ok(WORK.get_or_init(|| runtime).handle().clone())
}

fn build_lane(threads: usize) -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("mercato-work")
        .on_thread_start(lower_this_threads_priority)
        .enable_all()
        .build()
}

/// The work lane, when this process started one.
pub fn work() -> Option<&'static Handle> {
    WORK.get().map(Runtime::handle)
}

/// Runs `work` on the work lane and waits for it there, or here when there is no work lane or
/// this already is it. Dropping the returned future cancels the work, as it would in place;
/// a panic in it resumes here.
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

/// Lowers the calling thread's priority (on Linux a nice value belongs to a thread, and the
/// threads it starts inherit it; `PRIO_PROCESS` with no id names the calling thread there). Raising niceness needs no privilege; a failure leaves the
/// thread as it was.
fn lower_this_threads_priority() {
    let niceness = std::env::var(crate::env::WORK_NICENESS)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(WORK_NICENESS);
    lower_this_thread_by(niceness);
}

fn lower_this_thread_by(niceness: i32) {
    use rustix::process::{getpriority_process, setpriority_process};
    if niceness != 0
        && let Ok(current) = getpriority_process(None)
    {
        let _ = setpriority_process(None, current + niceness);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn work_runs_on_the_lane_and_cancels_with_its_caller() {
        // A lane of its own, not this process's: other tests must not run on it.
        let runtime = build_lane(1).unwrap();
        let lane = runtime.handle().clone();
        let edge = Handle::current().id();
        let (ran_on, nice) = run_on(Some(&lane), async {
            let nice = rustix::process::getpriority_process(None).unwrap();
            (Handle::current().id(), nice)
        })
        .await;
        assert_eq!(ran_on, lane.id());
        assert_ne!(ran_on, edge);
        let edge_nice = rustix::process::getpriority_process(None).unwrap();
        assert_eq!(nice, edge_nice + WORK_NICENESS);
        let lowered = std::thread::spawn(|| {
            lower_this_thread_by(3);
            rustix::process::getpriority_process(None).unwrap()
        });
        assert_eq!(
            lowered.join().unwrap(),
            edge_nice + 3,
            "only that thread is lowered"
        );
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), edge_nice);

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
        let _ = tokio::time::timeout(std::time::Duration::from_millis(20), abandoned).await;
        assert!(
            rx.await.is_err(),
            "the abandoned task was dropped, and its sender with it"
        );

        let panicking = lane.clone();
        let panicked =
            tokio::spawn(async move { run_on(Some(&panicking), async { panic!("inside the lane") }).await })
                .await;
        assert!(panicked.unwrap_err().is_panic());

        // Without a lane it runs here.
        assert_eq!(run_on(None, async { Handle::current().id() }).await, edge);
        runtime.shutdown_background();
    }
}
