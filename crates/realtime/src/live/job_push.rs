//! A job's change (`JobChanged`, from catalog, orders or identity) as the staff feed's
//! `job.changed` push: the job under the same names as `GET /v1/stores/{store}/jobs/{id}`, but
//! without a download link — links are signed per request, so the page fetches the job for it.

use mercato_proto::jobs::{Job, JobStatus};
use mercato_proto::names;
use mercato_runtime::time::to_rfc3339;
use serde_json::{Value, json};

/// The push's `data`: the job as REST shows it, `download_url` left out.
pub fn job_json(job: &Job) -> Value {
    let progress = job.progress.unwrap_or_default();
    let percent = (progress.total > 0).then(|| progress.done.clamp(0, progress.total) * 100 / progress.total);
    let result = job
        .result
        .as_ref()
        .filter(|_| job.status() == JobStatus::Succeeded)
        .map(|r| {
            let file = !r.file_key.is_empty();
            json!({
                "summary": r.summary, "items": r.items,
                "file_name": file.then_some(&r.file_name), "bytes": file.then_some(r.file_bytes),
                "content_type": file.then_some(&r.content_type),
                "expires_at": file.then(|| time(r.file_expires_at_ms)).flatten(),
            })
        });
    json!({
        "id": job.id, "service": job.service, "kind": job.kind,
        "status": names::job_status(job.status()),
        "progress": {
            "done": progress.done, "total": progress.total, "percent": percent,
            "estimated_finish": time(progress.estimated_finish_ms),
        },
        "attempts": job.attempts, "max_attempts": job.max_attempts,
        "last_error": Some(&job.last_error).filter(|e| !e.is_empty()),
        "input": serde_json::from_str::<Value>(&job.input_json).unwrap_or(Value::Null),
        "requested_by": job.requested_by,
        "created_at": to_rfc3339(job.created_at_ms),
        "started_at": time(job.started_at_ms), "finished_at": time(job.finished_at_ms),
        "result": result,
    })
}

/// `ms` as RFC 3339, null for 0 (not yet).
fn time(ms: i64) -> Option<String> {
    (ms != 0).then(|| to_rfc3339(ms))
}
