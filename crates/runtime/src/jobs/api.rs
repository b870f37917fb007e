//! The job RPCs every jobs-running service answers (`ListJobs`, `GetJob`, `CancelJob`,
//! `RetryJob`). A request's `store_id` scopes everything: another store's job is not found.
//! An empty store id (operators, with the internal token) sees every store's jobs.
//!
//! List pages are newest first by `(created_at, id)`; the cursor is the last job of a page as
//! `<created_at_ms>.<id>` in base64url, the same in every service, so the gateway can page a
//! merge of several services' lists.

use super::Jobs;
use super::changed;
use super::row::{self, COLUMNS, JobRow, status};
use crate::db::{Param, Value};
use crate::error::{ServiceError, Validator};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mercato_proto::jobs as pb;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// The cursor after a job.
pub fn cursor_of(created_at_ms: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{created_at_ms}.{id}"))
}

/// A cursor's `(created_at_ms, id)`; `None` if it is not one.
pub fn parse_cursor(cursor: &str) -> Option<(i64, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (at, id) = text.split_once('.')?;
    let id = uuid::Uuid::parse_str(id).ok()?;
    Some((at.parse().ok()?, id.to_string()))
}

/// A validated list request.
struct Page {
    store: Option<String>,
    statuses: Vec<&'static str>,
    kind: Option<String>,
    after: Option<(i64, String)>,
    limit: u32,
}

fn page_of(req: &pb::ListJobsRequest) -> Result<Page, ServiceError> {
    let mut v = Validator::new();
    if req.limit > MAX_LIMIT {
        v.add("limit", "must be between 1 and 200 (0 means 50)");
    }
    let mut statuses = Vec::new();
    for s in &req.statuses {
        match row::status_from_proto(*s) {
            Some(s) if !statuses.contains(&s) => statuses.push(s),
            Some(_) => {}
            None => v.add(
                "statuses",
                "must be queued, running, succeeded, dead or cancelled",
            ),
        }
    }
    let after = match req.after.as_str() {
        "" => None,
        cursor => {
            let parsed = parse_cursor(cursor);
            if parsed.is_none() {
                v.add("after", "is not a cursor this service gave");
            }
            parsed
        }
    };
    v.finish()?;
    let nonempty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(Page {
        store: nonempty(&req.store_id),
        statuses,
        kind: nonempty(&req.kind),
        after,
        limit: if req.limit == 0 { DEFAULT_LIMIT } else { req.limit },
    })
}

/// The page's statement and parameters.
fn list_sql(page: &Page) -> (String, Vec<Value<'static>>) {
    let mut conditions = Vec::new();
    let mut params: Vec<Value<'static>> = Vec::new();
    if let Some(store) = &page.store {
        let p = bind(Value::Text(store.clone().into()), &mut params);
        conditions.push(format!("store_id = {p}"));
    }
    if !page.statuses.is_empty() {
        let list: Vec<String> = page
            .statuses
            .iter()
            .map(|s| bind(Value::Text((*s).into()), &mut params))
            .collect();
        conditions.push(format!("status IN ({})", list.join(", ")));
    }
    if let Some(kind) = &page.kind {
        let p = bind(Value::Text(kind.clone().into()), &mut params);
        conditions.push(format!("kind = {p}"));
    }
    if let Some((at, id)) = &page.after {
        let at = bind(Value::Int(*at), &mut params);
        let id = bind(Value::Text(id.clone().into()), &mut params);
        conditions.push(format!(
            "(created_at < {at} OR (created_at = {at} AND id < {id}))"
        ));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    // One more than asked: whether it comes says whether another page follows.
    let limit = bind(Value::Int(i64::from(page.limit) + 1), &mut params);
    let sql = format!("SELECT {COLUMNS} FROM jobs{filter} ORDER BY created_at DESC, id DESC LIMIT {limit}");
    (sql, params)
}

/// Adds a parameter; returns its placeholder.
fn bind(value: Value<'static>, params: &mut Vec<Value<'static>>) -> String {
    params.push(value);
    format!("${}", params.len())
}

/// Whether the request may see the job: the same store, or an operator's empty store id.
fn visible(store_id: &str, job: &JobRow) -> bool {
    let store_id = store_id.trim();
    store_id.is_empty() || store_id == job.store_id
}

fn not_found() -> ServiceError {
    ServiceError::not_found("job")
}

impl Jobs {
    pub async fn list(&self, req: pb::ListJobsRequest) -> Result<pb::ListJobsResponse, ServiceError> {
        let page = page_of(&req)?;
        let (sql, params) = list_sql(&page);
        let refs: Vec<&dyn Param> = params.iter().map(|p| p as &dyn Param).collect();
        let mut rows: Vec<JobRow> = self.db.query_all(&sql, &refs).await?;
        let more = rows.len() > page.limit as usize;
        rows.truncate(page.limit as usize);
        let next = match rows.last() {
            Some(last) if more => cursor_of(last.created_at, &last.id),
            _ => String::new(),
        };
        let service = self.queue.service();
        Ok(pb::ListJobsResponse {
            jobs: rows.iter().map(|r| r.to_proto(service)).collect(),
            next,
        })
    }

    /// Not found (404) for another store's job.
    pub async fn get(&self, req: pb::JobRequest) -> Result<pb::Job, ServiceError> {
        let id = req.job_id.trim().to_owned();
        let row = self
            .db
            .read("jobs_get", move |tx| row::load(tx, &id))
            .await?
            .filter(|row| visible(&req.store_id, row))
            .ok_or_else(not_found)?;
        Ok(row.to_proto(self.queue.service()))
    }

    /// A queued job is cancelled at once; a running one is marked and stops at its next progress
    /// report (or lease renewal). A finished one is a conflict (409).
    pub async fn cancel(&self, req: pb::JobRequest) -> Result<pb::Job, ServiceError> {
        let service = self.queue.service();
        let row = self
            .db
            .write("jobs_cancel", move |tx| {
                let job = row::load_for_update(tx, req.job_id.trim())?
                    .filter(|row| visible(&req.store_id, row))
                    .ok_or_else(not_found)?;
                let now = crate::time::now_ms();
                let set = match job.status.as_str() {
                    status::QUEUED => format!(
                        "status = '{}', cancel_requested = 1, finished_at = $1, updated_at = $1",
                        status::CANCELLED
                    ),
                    status::RUNNING if job.cancel_requested => return Ok(job),
                    status::RUNNING => "cancel_requested = 1, updated_at = $1".to_owned(),
                    _ => {
                        return Err(ServiceError::conflict(format!(
                            "the job is already {}",
                            job.status
                        )));
                    }
                };
                tx.execute(
                    &format!("UPDATE jobs SET {set} WHERE id = $2 AND status = $3"),
                    &[&now, &job.id, &job.status],
                )?;
                Ok(changed::reload_and_publish(tx, service, &job.id)?)
            })
            .await?;
        self.outbox.notify_one();
        Ok(row.to_proto(service))
    }

    /// A dead or cancelled job is queued again with its attempts reset; any other is a conflict.
    pub async fn retry(&self, req: pb::JobRequest) -> Result<pb::Job, ServiceError> {
        let service = self.queue.service();
        let row = self
            .db
            .write("jobs_retry", move |tx| {
                let job = row::load_for_update(tx, req.job_id.trim())?
                    .filter(|row| visible(&req.store_id, row))
                    .ok_or_else(not_found)?;
                if !matches!(job.status.as_str(), status::DEAD | status::CANCELLED) {
                    return Err(ServiceError::conflict(format!(
                        "only a dead or cancelled job can be retried; this one is {}",
                        job.status
                    )));
                }
                let now = crate::time::now_ms();
                tx.execute(
                    &format!(
                        "UPDATE jobs SET status = '{}', attempts = 0, run_after = $1, cancel_requested = 0, \
                         result_json = NULL, progress_done = 0, progress_total = 0, estimated_finish_ms = 0, \
                         lease_owner = NULL, lease_until = 0, finished_at = 0, updated_at = $1 \
                         WHERE id = $2 AND status = $3",
                        status::QUEUED
                    ),
                    &[&now, &job.id, &job.status],
                )?;
                Ok(changed::reload_and_publish(tx, service, &job.id)?)
            })
            .await?;
        self.wake();
        Ok(row.to_proto(service))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_anything_else_is_refused() {
        let id = uuid::Uuid::now_v7().to_string();
        assert_eq!(
            parse_cursor(&cursor_of(1_700_000_000_123, &id)),
            Some((1_700_000_000_123, id))
        );
        for bad in ["", "x", "MTIz", &URL_SAFE_NO_PAD.encode("12.not-a-uuid")] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_list_request_is_checked_whole() {
        let req = pb::ListJobsRequest {
            limit: 201,
            statuses: vec![0, 9],
            after: "??".into(),
            ..Default::default()
        };
        let e = page_of(&req).err().expect("refused");
        assert_eq!(e.code, crate::error::ErrorCode::ValidationFailed);
        let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["limit", "statuses", "statuses", "after"]);
    }
}
