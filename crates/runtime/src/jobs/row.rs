//! A job as stored: the `jobs` row, its statuses, how it is read, and how it reads on the wire
//! (`mercato.jobs.v1.Job`).

use super::JobOutput;
use crate::db::{DbError, FromRow, FromValue, RowAccess, Tx};
use mercato_proto::jobs as pb;

/// The `status` column's values.
pub(crate) mod status {
    pub const QUEUED: &str = "queued";
    pub const RUNNING: &str = "running";
    pub const SUCCEEDED: &str = "succeeded";
    pub const DEAD: &str = "dead";
    pub const CANCELLED: &str = "cancelled";
}

/// Every column [`JobRow`] reads, in its order.
pub(crate) const COLUMNS: &str = "id, store_id, kind, status, input_json, requested_by, attempts, \
     max_attempts, progress_done, progress_total, estimated_finish_ms, last_error, result_json, \
     run_after, created_at, started_at, finished_at, updated_at, cancel_requested";

/// One `jobs` row (the lease columns stay in SQL: only the runner's conditions read them).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct JobRow {
    pub id: String,
    pub store_id: String,
    pub kind: String,
    pub status: String,
    pub input_json: String,
    pub requested_by: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub progress_done: i64,
    pub progress_total: i64,
    pub estimated_finish_ms: i64,
    pub last_error: String,
    pub result_json: Option<String>,
    pub run_after: i64,
    pub created_at: i64,
    pub started_at: i64,
    pub finished_at: i64,
    pub updated_at: i64,
    pub cancel_requested: bool,
}

fn col<T: FromValue>(row: &dyn RowAccess, index: usize) -> Result<T, DbError> {
    T::from_value(row.column(index)?).map_err(|e| match e {
        DbError::Decode(m) => DbError::Decode(format!("jobs column {index}: {m}")),
        e => e,
    })
}

impl FromRow for JobRow {
    fn from_row(row: &dyn RowAccess) -> Result<Self, DbError> {
        Ok(JobRow {
            id: col(row, 0)?,
            store_id: col(row, 1)?,
            kind: col(row, 2)?,
            status: col(row, 3)?,
            input_json: col(row, 4)?,
            requested_by: col(row, 5)?,
            attempts: col(row, 6)?,
            max_attempts: col(row, 7)?,
            progress_done: col(row, 8)?,
            progress_total: col(row, 9)?,
            estimated_finish_ms: col(row, 10)?,
            last_error: col(row, 11)?,
            result_json: col(row, 12)?,
            run_after: col(row, 13)?,
            created_at: col(row, 14)?,
            started_at: col(row, 15)?,
            finished_at: col(row, 16)?,
            updated_at: col(row, 17)?,
            cancel_requested: col(row, 18)?,
        })
    }
}

impl JobRow {
    /// The job as the RPCs and `JobChanged` carry it.
    pub fn to_proto(&self, service: &str) -> pb::Job {
        let result = self
            .result_json
            .as_deref()
            .and_then(|json| serde_json::from_str::<JobOutput>(json).ok())
            .map(|out| {
                let file = out.file.unwrap_or_default();
                pb::JobResult {
                    summary: out.summary,
                    file_key: file.key,
                    file_name: file.name,
                    content_type: file.content_type,
                    file_bytes: file.bytes,
                    file_expires_at_ms: file.expires_at_ms,
                    items: out.items,
                }
            });
        pb::Job {
            id: self.id.clone(),
            store_id: self.store_id.clone(),
            service: service.to_owned(),
            kind: self.kind.clone(),
            status: status_to_proto(&self.status) as i32,
            progress: Some(pb::JobProgress {
                done: self.progress_done,
                total: self.progress_total,
                estimated_finish_ms: self.estimated_finish_ms,
            }),
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(self.max_attempts).unwrap_or(u32::MAX),
            last_error: self.last_error.clone(),
            result,
            input_json: self.input_json.clone(),
            requested_by: self.requested_by.clone(),
            created_at_ms: self.created_at,
            started_at_ms: self.started_at,
            finished_at_ms: self.finished_at,
            run_after_ms: self.run_after,
            updated_at_ms: self.updated_at,
        }
    }
}

pub(crate) fn status_to_proto(s: &str) -> pb::JobStatus {
    match s {
        status::QUEUED => pb::JobStatus::Queued,
        status::RUNNING => pb::JobStatus::Running,
        status::SUCCEEDED => pb::JobStatus::Succeeded,
        status::DEAD => pb::JobStatus::Dead,
        status::CANCELLED => pb::JobStatus::Cancelled,
        _ => pb::JobStatus::Unspecified,
    }
}

/// The column value of a wire status; `None` for `UNSPECIFIED` or an unknown number.
pub(crate) fn status_from_proto(value: i32) -> Option<&'static str> {
    match pb::JobStatus::try_from(value).ok()? {
        pb::JobStatus::Queued => Some(status::QUEUED),
        pb::JobStatus::Running => Some(status::RUNNING),
        pb::JobStatus::Succeeded => Some(status::SUCCEEDED),
        pb::JobStatus::Dead => Some(status::DEAD),
        pb::JobStatus::Cancelled => Some(status::CANCELLED),
        pb::JobStatus::Unspecified => None,
    }
}

/// The job with this id, if any.
pub(crate) fn load(tx: &mut Tx<'_>, id: &str) -> Result<Option<JobRow>, DbError> {
    tx.query_opt(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"), &[&id])
}

/// [`load`], locking the row until the commit on PostgreSQL (a read that decides a write).
pub(crate) fn load_for_update(tx: &mut Tx<'_>, id: &str) -> Result<Option<JobRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1{}", tx.lock_rows());
    tx.query_opt(&sql, &[&id])
}
