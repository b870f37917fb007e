//! The SQLite writer: the database's only write connection, a queue of transactions waiting
//! for it, and the writer thread that commits them in groups.
//!
//! When the database is quiet — no other transaction in flight now or in the last few
//! milliseconds — a caller commits its transaction on its own thread, at once: a lone shopper's
//! checkout costs no hand-off at all. Otherwise the transaction joins the queue and the writer
//! thread runs whatever is queued in one SQLite transaction, each job in its own SAVEPOINT (but
//! a job alone in its group, which needs none), and commits once (one WAL append for the
//! group). Measured (ADR 0001): sending every transaction to the thread made a lone checkout
//! pay two thread switches per step; committing on callers' threads whenever the connection was
//! free fragmented the groups under load and cost a third of the throughput.
//!
//! A job that fails (or panics) rolls back to its savepoint and only itself (a lone job, the
//! whole transaction, which is only its own). Nobody hears of its outcome, success or failure,
//! before the group's `COMMIT` returns (a failure may have come from another job's uncommitted
//! writes); if the commit fails every job of the group gets the commit's error, as if it had
//! never run. A panic outside the jobs' own code (which is caught per job) costs only its
//! group: its callers are told the writer stopped, the connection is rolled back, and the
//! writer goes on.

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

/// Answers a job's caller once its group's fate is known (`Err`: the group did not commit).
pub(super) type Deliver = Box<dyn FnOnce(Result<(), DbError>) + Send>;

/// What running a job left behind: its answer, waiting for the commit.
pub(super) enum Outcome {
    /// The job succeeded; its savepoint (if any) is released.
    Pending(Deliver),
    /// The job failed; its savepoint (or, alone, its transaction) is rolled back.
    Failed(Deliver),
}

impl Outcome {
    fn answer(self) -> Deliver {
        match self {
            Outcome::Pending(answer) | Outcome::Failed(answer) => answer,
        }
    }
}

/// Runs a queued transaction's code on the transaction, or (given `Err`) prepares the answer
/// that it could not start.
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
        // Counted down even if the commit panics, so the database can be quiet again, and
        // before anyone is answered: a caller's next transaction must not find its own last
        // one still in flight.
        let done = InFlight(&self.in_flight, group.len());
        self.stats.group(group.len());
        let (answers, result) = commit_group(conn, group, &self.stats);
        drop(done);
        for answer in answers {
            answer(result.clone());
        }
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
            let committed =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.commit(&conn, group)));
            if committed.is_err() {
                // The group's unanswered callers were dropped with it and hear that the writer
                // stopped; whatever it left open is undone.
                tracing::error!("the SQLite writer panicked committing a group; rolled back");
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
            }
        }
    }
}

/// Takes `jobs` off the in-flight count when dropped.
struct InFlight<'a>(&'a AtomicUsize, usize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(self.1, Ordering::AcqRel);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs a group as one transaction; returns its jobs' answers and the group's fate, for the
/// caller to deliver.
fn commit_group(conn: &Connection, group: Vec<Job>, stats: &Stats) -> (Vec<Deliver>, Result<(), DbError>) {
    // A transaction a panic left open (on a caller's thread) would make every BEGIN fail.
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    let mut answers: Vec<Deliver> = Vec::with_capacity(group.len());
    let mut jobs = group.into_iter();
    // A job alone in its group needs no savepoint: if it fails, the whole transaction is its.
    // (A savepoint first copies each page it changes into a sub-journal: 4.4 % of the embedded
    // checkout's CPU with every job in one, 2.9 % with lone jobs in none.)
    let alone = jobs.len() == 1;
    let mut result = sqlite::execute(conn, "BEGIN IMMEDIATE", &[]).map(|_| ());
    let mut end = "COMMIT";
    if result.is_ok() {
        for job in jobs.by_ref() {
            let ran = if alone {
                run_alone(conn, job, stats, &mut answers).map(|succeeded| {
                    if !succeeded {
                        end = "ROLLBACK";
                    }
                })
            } else {
                run_one(conn, job, stats, &mut answers)
            };
            if let Err(e) = ran {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        result = sqlite::execute(conn, end, &[]).map(|_| ());
    }
    if let Err(e) = &result {
        tracing::error!(error = %e, jobs = answers.len(), "group commit failed; rolling the group back");
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        // Jobs that never ran are answered with the same error.
        for job in jobs {
            answers.push((job.run)(Err(e.clone())).answer());
        }
    }
    (answers, result)
}

/// Runs the only job of a group, without a savepoint; `Ok(false)` when it failed and the
/// transaction must be rolled back (its answer, the job's own error, is kept all the same).
/// `Err`, as in [`run_one`], when SQLite already rolled the transaction back itself.
fn run_alone(
    conn: &Connection,
    job: Job,
    stats: &Stats,
    answers: &mut Vec<Deliver>,
) -> Result<bool, DbError> {
    let mut tx = Tx::new(Conn::Sqlite(conn));
    let outcome = (job.run)(Ok(&mut tx));
    let succeeded = matches!(outcome, Outcome::Pending(_));
    stats.write(job.op, tx.statements(), succeeded);
    answers.push(outcome.answer());
    if !succeeded && conn.is_autocommit() {
        return Err(rolled_back_by_the_database());
    }
    Ok(succeeded)
}

/// Runs one job in its own savepoint and keeps its answer for after the commit. `Err` means
/// the whole transaction is unusable (SQLite rolled it back itself, after a full disk or an
/// I/O error).
fn run_one(conn: &Connection, job: Job, stats: &Stats, answers: &mut Vec<Deliver>) -> Result<(), DbError> {
    if let Err(e) = sqlite::execute(conn, "SAVEPOINT job", &[]) {
        answers.push((job.run)(Err(e.clone())).answer());
        return Err(e);
    }
    let mut tx = Tx::new(Conn::Sqlite(conn));
    let outcome = (job.run)(Ok(&mut tx));
    stats.write(job.op, tx.statements(), matches!(outcome, Outcome::Pending(_)));
    match outcome {
        Outcome::Pending(answer) => {
            answers.push(answer);
            sqlite::execute(conn, "RELEASE job", &[])?;
        }
        Outcome::Failed(answer) => {
            answers.push(answer);
            if conn.is_autocommit() {
                return Err(rolled_back_by_the_database());
            }
            sqlite::execute(conn, "ROLLBACK TO job", &[])?;
            sqlite::execute(conn, "RELEASE job", &[])?;
        }
    }
    Ok(())
}

/// A failed job found the transaction gone: SQLite rolled it back (a full disk, an I/O error).
fn rolled_back_by_the_database() -> DbError {
    DbError::Other("the transaction was rolled back by the database".to_owned())
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
        let answer_with = move |own: Result<(), DbError>| -> Deliver {
            Box::new(move |committed: Result<(), DbError>| {
                let _ = reply.send(committed.and(own));
            })
        };
        let run: RunJob = Box::new(move |tx| {
            let inserted = tx.and_then(|tx| tx.execute("INSERT INTO t (id) VALUES ($1)", &[&id]));
            match (inserted, fail) {
                (Ok(_), false) => Outcome::Pending(answer_with(Ok(()))),
                (Ok(_), true) => Outcome::Failed(answer_with(Err(DbError::Other("refused".into())))),
                (Err(e), _) => Outcome::Failed(answer_with(Err(e))),
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
        assert_eq!(ids(&w), vec![1, 3], "only the successful jobs' rows are there");
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

    /// The ids in `t`.
    fn ids(w: &Writer) -> Vec<i64> {
        let conn = w.conn.lock().unwrap();
        let mut stmt = conn.prepare("SELECT id FROM t ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[tokio::test]
    async fn a_lone_job_that_fails_leaves_nothing_and_hears_its_own_error() {
        let w = writer();
        let submit = |id, fail| {
            let (job, mut answer) = job(id, fail);
            w.submit(job);
            answer.try_recv().expect("answered on the caller's thread")
        };
        let refused = submit(7, true);
        assert!(
            matches!(refused, Err(DbError::Other(ref m)) if m == "refused"),
            "{refused:?}"
        );
        assert!(ids(&w).is_empty(), "the refused job's insert was rolled back");
        assert!(
            submit(7, false).is_ok(),
            "the connection is usable after the rollback"
        );
        let duplicate = submit(7, false);
        assert!(duplicate.unwrap_err().is_unique_violation());
        assert!(submit(8, false).is_ok());
        assert_eq!(ids(&w), vec![7, 8]);
        w.close();
    }

    #[tokio::test]
    async fn a_lone_job_whose_transaction_sqlite_rolled_back_hears_so() {
        let w = writer();
        w.conn
            .lock()
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER t_refuses BEFORE INSERT ON t WHEN new.id = 99
                 BEGIN SELECT RAISE(ROLLBACK, 'refused'); END",
            )
            .unwrap();
        let (refused, mut answer) = job(99, false);
        w.submit(refused);
        let heard = answer.try_recv().unwrap();
        assert!(
            matches!(heard, Err(DbError::Other(ref m)) if m.contains("rolled back by the database")),
            "{heard:?}"
        );
        let (job, mut answer) = job(100, false);
        w.submit(job);
        assert!(
            answer.try_recv().unwrap().is_ok(),
            "the connection is usable again"
        );
        assert_eq!(ids(&w), vec![100]);
        w.close();
    }
}
