//! The writes of a running attempt: renewing its lease, and ending it (succeeded, queued again
//! after a backoff, dead, cancelled, or released at shutdown). Each checks that the row is
//! still the attempt's own (`lease_owner` = its token, status running): a worker that lost its
//! lease changes nothing.

use super::backoff::retry_delay;
use super::lease::Lease;
use super::row::{JobRow, status};
use super::{JobOutput, KindPolicy, changed};
use crate::db::{Db, DbError, Tx};

/// How an attempt ended, as the runner decided from the handler's answer.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    Succeeded(JobOutput),
    /// Another attempt after a backoff while attempts remain (dead after the last), or dead at
    /// once when `permanent`.
    Failed {
        error: String,
        permanent: bool,
    },
    Cancelled,
    /// Stopped by the runner's shutdown: queued again, the attempt not counted.
    Released,
}

/// What a lease renewal (or a progress write) found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Held {
    /// Still this attempt's; whether someone asked to cancel the job.
    Ours { cancel_requested: bool },
    /// Taken over, released or ended elsewhere: stop, record nothing more.
    Lost,
}

/// The longest error message kept in `last_error`.
const ERROR_LIMIT: usize = 2_000;

const OWN_ROW: &str = "id = $1 AND lease_owner = $2 AND status = 'running'";

/// Whether the row is still the attempt's, with its cancellation flag (locked on PostgreSQL).
fn held(tx: &mut Tx<'_>, lease: &Lease) -> Result<Option<(i64, i64, bool)>, DbError> {
    let sql = format!(
        "SELECT attempts, max_attempts, cancel_requested FROM jobs WHERE {OWN_ROW}{}",
        tx.lock_rows()
    );
    tx.query_opt(&sql, &[&lease.row.id, &lease.token])
}

/// Extends the lease to `until` (epoch ms).
///
/// A lease that already lapsed is lost, not renewed: the per-store limit counts only unexpired
/// leases, so another job of the store may have been leased in its place meanwhile.
pub(crate) async fn renew(db: &Db, lease: &Lease, until: i64) -> Result<Held, DbError> {
    let (id, token) = (lease.row.id.clone(), lease.token.clone());
    db.write("jobs_renew", move |tx| {
        let now = crate::time::now_ms();
        let renewed = tx.execute(
            &format!("UPDATE jobs SET lease_until = $3 WHERE {OWN_ROW} AND lease_until >= $4"),
            &[&id, &token, &until, &now],
        )?;
        if renewed == 0 {
            return Ok(Held::Lost);
        }
        let (flag,): (bool,) = tx.query_one("SELECT cancel_requested FROM jobs WHERE id = $1", &[&id])?;
        Ok(Held::Ours {
            cancel_requested: flag,
        })
    })
    .await
}

/// Writes progress and its estimate, publishing the job.
pub(crate) async fn progress(
    db: &Db,
    service: &'static str,
    lease: &Lease,
    done: i64,
    total: i64,
    estimated_finish_ms: i64,
) -> Result<Held, DbError> {
    let (id, token) = (lease.row.id.clone(), lease.token.clone());
    db.write("jobs_progress", move |tx| {
        let now = crate::time::now_ms();
        let written = tx.execute(
            &format!(
                "UPDATE jobs SET progress_done = $3, progress_total = $4, estimated_finish_ms = $5, \
                 updated_at = $6 WHERE {OWN_ROW}"
            ),
            &[&id, &token, &done, &total, &estimated_finish_ms, &now],
        )?;
        if written == 0 {
            return Ok(Held::Lost);
        }
        let row = changed::reload_and_publish(tx, service, &id)?;
        Ok(Held::Ours {
            cancel_requested: row.cancel_requested,
        })
    })
    .await
}

/// Ends the attempt; `None` when the row was no longer its own (nothing written).
pub(crate) async fn finish(
    db: &Db,
    service: &'static str,
    lease: &Lease,
    policy: KindPolicy,
    outcome: Outcome,
) -> Result<Option<JobRow>, DbError> {
    let lease = lease.clone();
    db.write("jobs_finish", move |tx| {
        let Some((attempts, max_attempts, cancel_requested)) = held(tx, &lease)? else {
            return Ok(None);
        };
        let now = crate::time::now_ms();
        let id = lease.row.id.as_str();
        match outcome {
            Outcome::Succeeded(output) => succeed(tx, id, &output, now)?,
            // A failure (or a release at shutdown) after a cancellation was asked is the
            // cancellation taking effect: the job is not queued again.
            Outcome::Cancelled | Outcome::Failed { .. } | Outcome::Released if cancel_requested => {
                end(tx, id, status::CANCELLED, None, now)?;
            }
            Outcome::Cancelled => end(tx, id, status::CANCELLED, None, now)?,
            Outcome::Failed { error, permanent } => {
                let error = truncate(&error);
                if permanent || attempts >= max_attempts {
                    end(tx, id, status::DEAD, Some(&error), now)?;
                } else {
                    let attempt = u32::try_from(attempts).unwrap_or(u32::MAX);
                    let delay = retry_delay(&policy, attempt);
                    let run_after = now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                    requeue(tx, id, Some(&error), run_after, false, now)?;
                }
            }
            Outcome::Released => requeue(tx, id, None, now, true, now)?,
        }
        changed::reload_and_publish(tx, service, id).map(Some)
    })
    .await
}

fn succeed(tx: &mut Tx<'_>, id: &str, output: &JobOutput, now: i64) -> Result<(), DbError> {
    let result = serde_json::to_string(output).map_err(|e| DbError::Decode(e.to_string()))?;
    // Done = total: the total reported (or the items made when progress was never reported).
    tx.execute(
        &format!(
            "UPDATE jobs SET status = '{}', result_json = $1, \
             progress_done = CASE WHEN progress_total > 0 THEN progress_total ELSE $2 END, \
             progress_total = CASE WHEN progress_total > 0 THEN progress_total ELSE $2 END, \
             estimated_finish_ms = $3, lease_owner = NULL, lease_until = 0, finished_at = $3, \
             updated_at = $3 WHERE id = $4",
            status::SUCCEEDED
        ),
        &[&result, &output.items.max(0), &now, &id],
    )?;
    Ok(())
}

/// Ends the job (dead or cancelled), keeping `error` as its last one if given.
fn end(tx: &mut Tx<'_>, id: &str, to: &str, error: Option<&str>, now: i64) -> Result<(), DbError> {
    tx.execute(
        "UPDATE jobs SET status = $1, last_error = COALESCE($2, last_error), lease_owner = NULL, \
         lease_until = 0, estimated_finish_ms = 0, finished_at = $3, updated_at = $3 WHERE id = $4",
        &[&to, &error, &now, &id],
    )?;
    Ok(())
}

/// Queues the job again from `run_after`; `uncount` gives the attempt back (a release).
fn requeue(
    tx: &mut Tx<'_>,
    id: &str,
    error: Option<&str>,
    run_after: i64,
    uncount: bool,
    now: i64,
) -> Result<(), DbError> {
    let attempts = if uncount {
        "CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END"
    } else {
        "attempts"
    };
    tx.execute(
        &format!(
            "UPDATE jobs SET status = '{}', attempts = {attempts}, last_error = COALESCE($1, last_error), \
             run_after = $2, lease_owner = NULL, lease_until = 0, estimated_finish_ms = 0, \
             updated_at = $3 WHERE id = $4",
            status::QUEUED
        ),
        &[&error, &run_after, &now, &id],
    )?;
    Ok(())
}

fn truncate(error: &str) -> String {
    match error.char_indices().nth(ERROR_LIMIT) {
        Some((at, _)) => format!("{}…", &error[..at]),
        None => error.to_owned(),
    }
}
