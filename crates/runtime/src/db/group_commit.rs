//! The SQLite writer: one thread owns the database's only write connection and commits the
//! transactions queued for it in groups.
//!
//! Whatever is queued when the writer becomes free runs in one SQLite transaction, each job in
//! its own SAVEPOINT: a job that fails (or panics) rolls back to its savepoint and only itself;
//! the others commit together, so one commit (one WAL append) serves them all. Nobody hears of
//! success before that commit: a job's result is delivered after `COMMIT` returns, and if the
//! commit fails every job of the group gets the error, as if it had never run. There is no
//! waiting to fill a group: an idle writer commits a lone transaction at once, and a busy one
//! naturally finds a longer queue the next time round.

use super::stats::Stats;
use super::tx::{Conn, Tx};
use super::{DbError, sqlite};
use rusqlite::Connection;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Transactions committed together at most; bounds how long the first in a group waits.
const MAX_GROUP: usize = 256;

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

/// The writer thread's loop: runs until every sender is gone.
pub(super) fn run(conn: Connection, mut queue: mpsc::Receiver<Job>, stats: Arc<Stats>) {
    let max_group = max_group();
    while let Some(first) = queue.blocking_recv() {
        let mut group = vec![first];
        while group.len() < max_group {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        stats.group(group.len());
        commit_group(&conn, group, &stats);
    }
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
