//! Leasing: which ready jobs of a kind a worker takes, race-free between replicas.
//!
//! A job is ready when it is queued and its `run_after` has passed, or running under a lease
//! that expired (its worker died: taken over, attempt + 1). Among ready jobs, the oldest go
//! first, skipping stores that already run `per_store` jobs of the kind ([`super::pick`]), so
//! one store's flood waits behind its own limit while another store's job starts at once. On
//! PostgreSQL the check-and-lease runs under a transaction-scoped advisory lock per kind, so two
//! replicas never both see room for the same store; SQLite's single writer already serialises
//! it.

use super::row::{JobRow, status};
use super::{KindPolicy, changed};
use crate::db::{Backend, Db, DbError, Tx};

/// A job this worker now holds: the row as leased and the token its lease is held under.
#[derive(Clone, Debug)]
pub(crate) struct Lease {
    pub row: JobRow,
    /// `lease_owner`: unique per attempt, so each write of the attempt checks the row is still
    /// its own (not taken over, not released).
    pub token: String,
}

/// When the earliest job of `kind` becomes ready (epoch ms): the earliest `run_after` of its
/// queued jobs or the earliest lease expiry of its running ones; `None` with neither. A cheap
/// read, so that an idle runner does not open a write transaction per poll: the first is one
/// index lookup however long the queue, the second reads only the running jobs.
pub(crate) async fn next_due(db: &Db, kind: &'static str) -> Result<Option<i64>, DbError> {
    let (queued, running): (Option<i64>, Option<i64>) = db
        .query_one(
            &format!(
                "SELECT (SELECT MIN(run_after) FROM jobs WHERE kind = $1 AND status = '{}'), \
                 (SELECT MIN(lease_until) FROM jobs WHERE kind = $1 AND status = '{}')",
                status::QUEUED,
                status::RUNNING
            ),
            &[&kind],
        )
        .await?;
    Ok(match (queued, running) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// What a lease pass did.
pub(crate) struct Leased {
    pub leases: Vec<Lease>,
    /// Whether any job changed (leased, or ended because its worker was lost).
    pub changed: bool,
    /// Jobs that became dead because their worker was lost on their last attempt.
    pub died: usize,
}

/// Leases up to `slots` ready jobs of the policy's kind (and ends expired ones that may not be
/// taken over), publishing each change.
pub(crate) async fn lease(
    db: &Db,
    service: &'static str,
    policy: KindPolicy,
    slots: usize,
) -> Result<Leased, DbError> {
    db.write("jobs_lease", move |tx| {
        let now = crate::time::now_ms();
        serialise_per_kind(tx, policy.kind)?;
        let (ended, died) = end_unrecoverable(tx, service, policy.kind, now)?;
        let picked = super::pick::pick(tx, &policy, slots, now)?;
        let until = now + i64::try_from(policy.lease.as_millis()).unwrap_or(i64::MAX / 2);
        let mut leases = Vec::with_capacity(picked.len());
        for id in picked {
            if let Some(lease) = take(tx, service, &id, now, until)? {
                leases.push(lease);
            }
        }
        Ok(Leased {
            changed: ended > 0 || !leases.is_empty(),
            leases,
            died,
        })
    })
    .await
}

/// Holds the kind's advisory lock until the commit (PostgreSQL).
fn serialise_per_kind(tx: &mut Tx<'_>, kind: &str) -> Result<(), DbError> {
    if tx.backend() == Backend::Postgres {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(kind)])?;
    }
    Ok(())
}

/// A stable 64-bit key per kind (FNV-1a, the same in every build and replica).
fn lock_key(kind: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in "mercato.jobs.".bytes().chain(kind.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// Expired jobs that must not run again: those that used every attempt become dead ("worker
/// lost"), those whose cancellation was asked become cancelled. Returns how many ended, and how
/// many of them died.
fn end_unrecoverable(
    tx: &mut Tx<'_>,
    service: &str,
    kind: &str,
    now: i64,
) -> Result<(usize, usize), DbError> {
    let expired: Vec<(String, bool)> = tx.query_all(
        &format!(
            "SELECT id, cancel_requested FROM jobs WHERE kind = $1 AND status = '{}' \
             AND lease_until < $2 AND (attempts >= max_attempts OR cancel_requested = 1)",
            status::RUNNING
        ),
        &[&kind, &now],
    )?;
    for (id, cancelled) in &expired {
        let (to, error) = if *cancelled {
            (status::CANCELLED, None)
        } else {
            (status::DEAD, Some("worker lost"))
        };
        tx.execute(
            "UPDATE jobs SET status = $1, last_error = COALESCE($2, last_error), lease_owner = NULL, \
             lease_until = 0, finished_at = $3, updated_at = $3 WHERE id = $4",
            &[&to, &error, &now, id],
        )?;
        changed::reload_and_publish(tx, service, id)?;
    }
    let died = expired.iter().filter(|(_, cancelled)| !cancelled).count();
    Ok((expired.len(), died))
}

/// Leases one job if it is still ready; the attempt count goes up.
fn take(tx: &mut Tx<'_>, service: &str, id: &str, now: i64, until: i64) -> Result<Option<Lease>, DbError> {
    let token = uuid::Uuid::now_v7().to_string();
    let taken = tx.execute(
        &format!(
            "UPDATE jobs SET status = '{r}', attempts = attempts + 1, lease_owner = $1, lease_until = $2, \
             started_at = $3, finished_at = 0, updated_at = $3 WHERE id = $4 \
             AND ((status = '{q}' AND run_after <= $3) OR (status = '{r}' AND lease_until < $3))",
            q = status::QUEUED,
            r = status::RUNNING
        ),
        &[&token, &until, &now, &id],
    )?;
    if taken == 0 {
        return Ok(None);
    }
    let row = changed::reload_and_publish(tx, service, id)?;
    Ok(Some(Lease { row, token }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn lock_keys_are_stable_and_differ_per_kind() {
        assert_eq!(super::lock_key("export.orders"), super::lock_key("export.orders"));
        assert_ne!(
            super::lock_key("export.orders"),
            super::lock_key("export.products")
        );
    }
}
