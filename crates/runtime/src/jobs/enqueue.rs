//! Enqueueing: a job row and its `JobChanged` event, in the caller's transaction.

use super::row::{self, COLUMNS, JobRow, status};
use super::{JobQueue, NewJob, changed};
use crate::db::{DbError, Tx};
use mercato_proto::jobs as pb;

impl JobQueue {
    /// Inserts the job in the caller's transaction (and its `job_changed` event in the outbox);
    /// returns it, or the existing job when `dedupe_key` matched one. The caller wakes the
    /// runner ([`super::Jobs::wake`]) after the commit so the job starts at once.
    pub fn enqueue(&self, tx: &mut Tx<'_>, job: &NewJob) -> Result<pb::Job, DbError> {
        let id = uuid::Uuid::now_v7().to_string();
        let now = crate::time::now_ms();
        let input = job.input.to_string();
        // `ON CONFLICT DO NOTHING` rather than catching the unique violation: PostgreSQL would
        // refuse the rest of the caller's transaction after a failed statement. A concurrent
        // enqueue of the same key waits for the first to commit, then inserts nothing.
        let inserted = tx.execute(
            &format!(
                "INSERT INTO jobs (id, store_id, kind, status, input_json, dedupe_key, requested_by, \
                 max_attempts, run_after, created_at, updated_at) \
                 VALUES ($1, $2, $3, '{}', $4, $5, $6, $7, $8, $8, $8) \
                 ON CONFLICT (store_id, kind, dedupe_key) DO NOTHING",
                status::QUEUED
            ),
            &[
                &id,
                &job.store_id,
                &job.kind,
                &input,
                &job.dedupe_key,
                &job.requested_by,
                &i64::from(job.max_attempts.max(1)),
                &now,
            ],
        )?;
        if inserted == 0 {
            let existing: JobRow = tx.query_one(
                &format!("SELECT {COLUMNS} FROM jobs WHERE store_id = $1 AND kind = $2 AND dedupe_key = $3"),
                &[&job.store_id, &job.kind, &job.dedupe_key],
            )?;
            return Ok(existing.to_proto(self.service));
        }
        let row =
            row::load(tx, &id)?.ok_or_else(|| DbError::Decode("the job just inserted is missing".into()))?;
        changed::publish(tx, self.service, &row)?;
        Ok(row.to_proto(self.service))
    }
}
