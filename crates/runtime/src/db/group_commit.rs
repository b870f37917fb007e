//! The SQLite writer: the database's only write connection, a queue of transactions waiting
//! for it, and the writer thread that commits them in groups.
//!
//! When the database is quiet — no other transaction in flight now or in the last few
//! milliseconds — a caller commits its transaction on its own thread, at once: a lone shopper's
//! checkout costs no hand-off at all. Otherwise the transaction joins the queue and the writer
//! thread runs whatever is queued in one SQLite transaction, each job in its own SAVEPOINT, and
//! commits once (one WAL append for the group). Measured (ADR 0001): sending every transaction
//! to the thread made a lone checkout pay two thread switches per step; committing on callers'
//! threads whenever the connection was free fragmented the groups under load and cost a third
//! of the throughput.
//!
//! A job that fails (or panics) rolls back to its savepoint and only itself. Nobody hears of
//! success before the group's `COMMIT` returns; if the commit fails every job of the group gets
//! the error, as if it had never run.

use super::stats::Stats;
use super::tx::{Conn, Tx};
use super::{DbError, sqlite};
use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Transactions committed together at most; bounds how long the first in a group waits.
const MAX_GROUP: usize = 256;

/// How long after two transactions last overlapped the database still counts as busy.
const QUIET_AFTER: Duration = Duration::from_millis(5);
/// `overlapped_at` before any two transactions ever overlapped.
const NEVER: u64 = u64::MAX;

/// [`MAX_GROUP`], unless the benchmark's comparison overrides it.
fn max_group() -> usize {
    std::env::var(crate::env::SQLITE_MAX_GROUP)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(MAX_GROUP)
}

/// Delivers a successful job's result once its group's fate is known.
pub(super) type Deliver = Box<dyn FnOnce(Result<(), DbError>) + Send>;

/// What running a job left behind.
pub(super) enum Outcome {
    /// The job succeeded; its result waits for the commit.
    Pending(Deliver),
    /// The job failed and has already told its caller; its savepoint must be rolled back.
    Failed,
}

/// Runs a queued transaction's code on the transaction, or tells its caller why it could not
/// start.
pub(super) type RunJob = Box<dyn FnOnce(Result<&mut Tx<'_>, DbError>) -> Outcome + Send>;

/// One queued transaction.
pub(super) struct Job {
    pub op: &'static str,
    pub run: RunJob,
}

/// The write connection and the jobs waiting for it.
pub(super) struct Writer {
    conn: Mutex<Connection>,
    queue: Mutex<Queue>,
    /// Wakes the writer thread when a job is queued or the database is closed.
    queued: Condvar,
    max_group: usize,
    /// Whether a quiet database commits on the caller's thread (the default).
    inline: bool,
    /// Transactions submitted and not yet committed or failed.
    in_flight: AtomicUsize,
    /// When a transaction last arrived while another was in flight, in nanoseconds since `epoch`.
    overlapped_at: AtomicU64,
    epoch: Instant,
    stats: Arc<Stats>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    closed: bool,
}

impl Writer {
    /// The writer for `conn`, with its thread started.
    pub(super) fn start(conn: Connection, stats: Arc<Stats>) -> Result<Arc<Writer>, DbError> {
        let writer = Arc::new(Writer {
            conn: Mutex::new(conn),
            queue: Mutex::new(Queue::default()),
            queued: Condvar::new(),
            max_group: max_group(),
            inline: std::env::var(crate::env::SQLITE_COMMIT_INLINE).map_or(true, |v| v != "0"),
            in_flight: AtomicUsize::new(0),
            overlapped_at: AtomicU64::new(NEVER),
            epoch: Instant::now(),
            stats,
        });
        let thread = writer.clone();
        std::thread::Builder::new()
            .name(format!("sqlite-writer-{}", writer.stats.service()))
            .spawn(move || thread.run())
            .map_err(|e| DbError::Other(format!("cannot start the writer thread: {e}")))?;
        Ok(writer)
    }

    /// Commits `job` on this thread if the database is quiet; queues it for the writer
    /// thread otherwise.
    pub(super) fn submit(&self, job: Job) {
        let now = self.epoch.elapsed().as_nanos() as u64;
        let others = self.in_flight.fetch_add(1, Ordering::AcqRel);
        if others > 0 {
            self.overlapped_at.store(now, Ordering::Relaxed);
        }
        let last_overlap = self.overlapped_at.load(Ordering::Relaxed);
        let quiet = others == 0
            && (last_overlap == NEVER || now.saturating_sub(last_overlap) > QUIET_AFTER.as_nanos() as u64);
        let mut queue = lock(&self.queue);
        if self.inline
            && quiet
            && queue.jobs.is_empty()
            && let Ok(conn) = self.conn.try_lock()
        {
            drop(queue);
            self.commit(&conn, vec![job]);
            return;
        }
        queue.jobs.push(job);
        drop(queue);
        self.queued.notify_one();
    }

    fn commit(&self, conn: &Connection, group: Vec<Job>) {
        let jobs = group.len();
        self.stats.group(jobs);
        commit_group(conn, group, &self.stats);
        self.in_flight.fetch_sub(jobs, Ordering::AcqRel);
    }

    /// Jobs waiting for the writer thread.
    pub(super) fn queued(&self) -> usize {
        lock(&self.queue).jobs.len()
    }

    /// Stops the writer thread once the queue is empty.
    pub(super) fn close(&self) {
        lock(&self.queue).closed = true;
        self.queued.notify_one();
    }

    /// The writer thread: commits what is queued, a group at a time, until closed.
    fn run(&self) {
        loop {
            let group = {
                let mut queue = lock(&self.queue);
                while queue.jobs.is_empty() && !queue.closed {
                    queue = self.queued.wait(queue).unwrap_or_else(|p| p.into_inner());
                }
                if queue.jobs.is_empty() {
                    return;
                }
                let take = queue.jobs.len().min(self.max_group);
                queue.jobs.drain(..take).collect::<Vec<_>>()
            };
            let conn = lock(&self.conn);
            self.commit(&conn, group);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn commit_group(conn: &Connection, group: Vec<Job>, stats: &Stats) {
    if let Err(e) = sqlite::execute(conn, "BEGIN IMMEDIATE", &[]) {
        for job in group {
            let _ = (job.run)(Err(e.clone()));
        }
        return;
    }
    let mut pending: Vec<Deliver> = Vec::with_capacity(group.len());
    let mut jobs = group.into_iter();
    let mut broken = None;
    for job in jobs.by_ref() {
        match run_one(conn, job, stats) {
            Ok(Some(deliver)) => pending.push(deliver),
            Ok(None) => {}
            Err(e) => {
                broken = Some(e);
                break;
            }
        }
    }
    let result = match broken {
        None => sqlite::execute(conn, "COMMIT", &[]).map(|_| ()),
        Some(e) => Err(e),
    };
    if let Err(e) = &result {
        tracing::error!(error = %e, jobs = pending.len(), "group commit failed; rolling the group back");
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for job in jobs {
            let _ = (job.run)(Err(e.clone()));
        }
    }
    for deliver in pending {
        deliver(result.clone());
    }
}

/// Runs one job in its own savepoint. `Err` means the whole transaction is unusable (SQLite
/// rolled it back itself, after a full disk or an I/O error).
fn run_one(conn: &Connection, job: Job, stats: &Stats) -> Result<Option<Deliver>, DbError> {
    if let Err(e) = sqlite::execute(conn, "SAVEPOINT job", &[]) {
        let _ = (job.run)(Err(e.clone()));
        return Err(e);
    }
    let mut tx = Tx::new(Conn::Sqlite(conn));
    let outcome = (job.run)(Ok(&mut tx));
    stats.write(job.op, tx.statements(), matches!(outcome, Outcome::Pending(_)));
    match outcome {
        Outcome::Pending(deliver) => match sqlite::execute(conn, "RELEASE job", &[]) {
            Ok(_) => Ok(Some(deliver)),
            Err(e) => {
                deliver(Err(e.clone()));
                Err(e)
            }
        },
        Outcome::Failed => {
            if conn.is_autocommit() {
                return Err(DbError::Other(
                    "the transaction was rolled back by the database".to_owned(),
                ));
            }
            sqlite::execute(conn, "ROLLBACK TO job", &[])?;
            sqlite::execute(conn, "RELEASE job", &[])?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> Arc<Writer> {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .unwrap();
        Writer::start(conn, Arc::new(Stats::new("test"))).unwrap()
    }

    /// A job inserting `id`, then failing if asked; its answer arrives on the receiver.
    fn job(id: i64, fail: bool) -> (Job, tokio::sync::oneshot::Receiver<Result<(), DbError>>) {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let run: RunJob = Box::new(move |tx| {
            let tx = match tx {
                Ok(tx) => tx,
                Err(e) => {
                    let _ = reply.send(Err(e));
                    return Outcome::Failed;
                }
            };
            let inserted = tx.execute("INSERT INTO t (id) VALUES ($1)", &[&id]);
            match (inserted, fail) {
                (Ok(_), false) => Outcome::Pending(Box::new(move |committed| {
                    let _ = reply.send(committed);
                })),
                (Ok(_), true) => {
                    let _ = reply.send(Err(DbError::Other("refused".into())));
                    Outcome::Failed
                }
                (Err(e), _) => {
                    let _ = reply.send(Err(e));
                    Outcome::Failed
                }
            }
        });
        (Job { op: "test", run }, answer)
    }

    #[tokio::test]
    async fn jobs_queued_behind_a_busy_connection_commit_as_one_group_and_fail_alone() {
        let w = writer();
        let answers = {
            // A caller is committing on its own thread: new jobs queue for the writer thread,
            // which waits for the connection.
            let _busy = w.conn.lock().unwrap();
            let jobs = [(1, false), (2, true), (1, false), (3, false)];
            let answers: Vec<_> = jobs
                .into_iter()
                .map(|(id, fail)| {
                    let (job, answer) = job(id, fail);
                    w.submit(job);
                    answer
                })
                .collect();
            std::thread::sleep(std::time::Duration::from_millis(50));
            answers
        };
        let mut results = Vec::new();
        for a in answers {
            results.push(a.await.unwrap());
        }
        assert_eq!(w.queued(), 0);
        assert!(results[0].is_ok());
        assert!(
            matches!(results[1], Err(DbError::Other(_))),
            "the failing job fails"
        );
        assert!(
            results[2].as_ref().unwrap_err().is_unique_violation(),
            "the duplicate fails"
        );
        assert!(results[3].is_ok());
        let conn = w.conn.lock().unwrap();
        let ids: Vec<i64> = conn
            .prepare("SELECT id FROM t ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(ids, vec![1, 3], "only the successful jobs' rows are there");
        drop(conn);
        w.close();
    }

    #[tokio::test]
    async fn a_lone_job_on_an_idle_database_commits_on_the_callers_thread() {
        let w = writer();
        let (job, answer) = job(7, false);
        w.submit(job);
        // Already answered: no other thread was involved.
        let mut answer = answer;
        assert!(matches!(answer.try_recv(), Ok(Ok(()))));
        w.close();
    }
}
