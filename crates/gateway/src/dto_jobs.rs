//! REST shapes of background jobs: one job (status, progress, result with its download link) and
//! a page of them merged from the services that run jobs.

use mercato_proto::{jobs, names};
use mercato_runtime::time::to_rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

/// A background job of a store: an export, an image's sizes, a search re-index.
#[derive(Serialize, ToSchema)]
pub struct JobView {
    /// A UUIDv7 (its creation time first).
    pub id: String,
    /// The service that runs it: `catalog`, `orders`, `identity` or `notifications`.
    pub service: String,
    /// What it does: `export.orders`, `export.products`, `export.customers`, `images.derive`,
    /// `search.reindex`, `email.send`.
    pub kind: String,
    /// `queued`, `running`, `succeeded`, `dead` (failed its last attempt; may be retried) or
    /// `cancelled`.
    pub status: String,
    pub progress: JobProgressView,
    /// Attempts started so far, and the kind's limit.
    pub attempts: u32,
    pub max_attempts: u32,
    /// The last failure's message, kept after a later success too; null if it never failed.
    pub last_error: Option<String>,
    /// What it was asked to do (the kind's own parameters).
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    /// A user id, or `system`.
    pub requested_by: String,
    pub created_at: String,
    /// When its latest attempt started; null while it never ran.
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// What it made; null until it succeeded.
    pub result: Option<JobResultView>,
}

#[derive(Serialize, ToSchema)]
pub struct JobProgressView {
    /// Units of work done and in all (rows exported, products indexed…); total 0 while unknown.
    pub done: i64,
    pub total: i64,
    /// 0–100, null while the total is unknown.
    pub percent: Option<u8>,
    /// When it should finish at its rate so far (RFC 3339); null while unknown.
    pub estimated_finish: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct JobResultView {
    /// A short line for people ("1,000 orders exported").
    pub summary: String,
    /// Rows or items the job handled.
    pub items: i64,
    /// The file it made, if any (an export): its name, size and type.
    pub file_name: Option<String>,
    pub bytes: Option<i64>,
    pub content_type: Option<String>,
    /// A signed link to the file, valid until `expires_at` at the latest; null without a file.
    pub download_url: Option<String>,
    /// When the file is deleted.
    pub expires_at: Option<String>,
}

/// A page of jobs, newest first.
#[derive(Serialize, ToSchema)]
pub struct JobPageView {
    pub items: Vec<JobView>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
    /// Services whose jobs are missing from this page because they could not be reached
    /// (`catalog`, `orders`, `identity`, `notifications`); empty when every one answered.
    pub unavailable: Vec<String>,
}

/// `ms` as RFC 3339, `None` for 0 (not yet).
fn time(ms: i64) -> Option<String> {
    (ms != 0).then(|| to_rfc3339(ms))
}

impl JobView {
    /// The REST shape of `job`; `download_url` signs a link to its file (job id, store id, key,
    /// the file's expiry), when the deployment serves files.
    pub(crate) fn from_job(
        job: jobs::Job,
        download_url: impl Fn(&str, &str, &str, i64) -> Option<String>,
    ) -> Self {
        let progress = job.progress.unwrap_or_default();
        let status = job.status();
        let result = job.result.filter(|_| status == jobs::JobStatus::Succeeded);
        JobView {
            status: names::job_status(status).to_owned(),
            progress: JobProgressView {
                done: progress.done,
                total: progress.total,
                percent: percent(progress.done, progress.total),
                estimated_finish: time(progress.estimated_finish_ms),
            },
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            last_error: Some(job.last_error).filter(|e| !e.is_empty()),
            input: serde_json::from_str(&job.input_json).unwrap_or(serde_json::Value::Null),
            requested_by: job.requested_by,
            created_at: to_rfc3339(job.created_at_ms),
            started_at: time(job.started_at_ms),
            finished_at: time(job.finished_at_ms),
            result: result.map(|r| JobResultView::from_result(r, &job.id, &job.store_id, &download_url)),
            id: job.id,
            service: job.service,
            kind: job.kind,
        }
    }
}

impl JobResultView {
    fn from_result(
        r: jobs::JobResult,
        job_id: &str,
        store_id: &str,
        download_url: &dyn Fn(&str, &str, &str, i64) -> Option<String>,
    ) -> Self {
        let file = !r.file_key.is_empty();
        JobResultView {
            download_url: file
                .then(|| download_url(job_id, store_id, &r.file_key, r.file_expires_at_ms))
                .flatten(),
            summary: r.summary,
            items: r.items,
            file_name: file.then_some(r.file_name),
            bytes: file.then_some(r.file_bytes),
            content_type: file.then_some(r.content_type),
            expires_at: file.then(|| time(r.file_expires_at_ms)).flatten(),
        }
    }
}

/// Whole percent done, capped at 100; `None` while the total is unknown.
fn percent(done: i64, total: i64) -> Option<u8> {
    (total > 0).then(|| (done.clamp(0, total) * 100 / total) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_whole_capped_and_unknown_without_a_total() {
        assert_eq!(percent(0, 0), None);
        assert_eq!(percent(1, 3), Some(33));
        assert_eq!(percent(5, 3), Some(100));
    }

    #[test]
    fn a_job_reads_with_its_status_by_name_and_its_file_signed() {
        let job = jobs::Job {
            id: "j1".into(),
            store_id: "s1".into(),
            service: "orders".into(),
            kind: "export.orders".into(),
            status: jobs::JobStatus::Succeeded.into(),
            input_json: r#"{"format":"csv"}"#.into(),
            created_at_ms: 1_000,
            result: Some(jobs::JobResult {
                file_key: "k".into(),
                file_name: "orders.csv".into(),
                file_expires_at_ms: 2_000,
                ..Default::default()
            }),
            ..Default::default()
        };
        let view = JobView::from_job(job, |id, store, key, exp| {
            Some(format!("/f/{id}/{store}/{key}/{exp}"))
        });
        assert_eq!(view.status, "succeeded");
        assert_eq!(view.input["format"], "csv");
        assert_eq!(view.last_error, None);
        let result = view.result.expect("a result");
        assert_eq!(result.download_url.as_deref(), Some("/f/j1/s1/k/2000"));
        assert_eq!(result.file_name.as_deref(), Some("orders.csv"));
    }
}
