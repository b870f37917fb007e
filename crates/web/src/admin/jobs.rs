//! `/admin/{store}/jobs`: the store's background jobs (exports, image sizes, re-indexing,
//! e-mails), running and recent (progress bar, estimated finish, status, last error, the file of
//! a finished export), with cancel and retry, and forms that start an export. The list follows
//! the staff channel: admin.js replaces its rows with `…/jobs/rows` when a `job.` event arrives.

use super::access::Staff;
use super::format::when;
use super::layout::Section;
use super::people::seg;
use crate::WebState;
use crate::api::ApiError;
use crate::page::render;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

const NAV: Section = "jobs";

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/jobs", get(list))
        .route("/admin/{store}/jobs/rows", get(rows))
        .route("/admin/{store}/jobs/export", post(export))
        .route("/admin/{store}/jobs/{id}/cancel", post(cancel))
        .route("/admin/{store}/jobs/{id}/retry", post(retry))
}

/// A job as the API answers it (the fields this page shows).
#[derive(Deserialize)]
struct JobData {
    id: String,
    kind: String,
    status: String,
    progress: ProgressData,
    attempts: u32,
    max_attempts: u32,
    last_error: Option<String>,
    created_at: String,
    result: Option<ResultData>,
}

#[derive(Deserialize)]
struct ProgressData {
    done: i64,
    total: i64,
    percent: Option<u8>,
    estimated_finish: Option<String>,
}

#[derive(Deserialize)]
struct ResultData {
    summary: String,
    file_name: Option<String>,
    download_url: Option<String>,
}

#[derive(Deserialize)]
struct JobPage {
    items: Vec<JobData>,
    /// Services whose jobs could not be read just now.
    #[serde(default)]
    unavailable: Vec<String>,
}

/// One row of the table.
struct JobRow {
    id: String,
    what: String,
    status: String,
    done: i64,
    total: i64,
    percent: Option<u8>,
    estimated_finish: Option<String>,
    attempts: String,
    last_error: Option<String>,
    created: String,
    summary: Option<String>,
    file_name: String,
    download_url: Option<String>,
    cancellable: bool,
    retriable: bool,
}

impl From<JobData> for JobRow {
    fn from(j: JobData) -> Self {
        let running = matches!(j.status.as_str(), "queued" | "running");
        let result = j.result;
        JobRow {
            what: what(&j.kind).to_owned(),
            cancellable: running,
            retriable: matches!(j.status.as_str(), "dead" | "cancelled"),
            done: j.progress.done,
            total: j.progress.total,
            percent: j.progress.percent,
            estimated_finish: j.progress.estimated_finish.filter(|_| running).map(|t| when(&t)),
            attempts: format!("{} of {}", j.attempts, j.max_attempts),
            last_error: j.last_error,
            created: when(&j.created_at),
            summary: result.as_ref().map(|r| r.summary.clone()),
            file_name: result
                .as_ref()
                .and_then(|r| r.file_name.clone())
                .unwrap_or_default(),
            download_url: result.and_then(|r| r.download_url),
            status: j.status,
            id: j.id,
        }
    }
}

/// A kind of job in words.
fn what(kind: &str) -> &str {
    match kind {
        "export.orders" => "Orders export",
        "export.products" => "Products export",
        "export.customers" => "Customers export",
        "images.derive" => "Image sizes",
        "search.reindex" => "Search re-index",
        "email.send" => "E-mail",
        other => other,
    }
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    store: String,
    csrf: String,
    nav: Section,
    rows: Vec<JobRow>,
    notice: Option<&'static str>,
    alert: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/jobs_rows.html")]
struct JobRows {
    store: String,
    csrf: String,
    rows: Vec<JobRow>,
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: String,
}

/// The newest jobs, running and finished alike, and the services whose jobs are missing.
async fn recent(staff: &Staff) -> Result<(Vec<JobRow>, Vec<String>), ApiError> {
    let path = format!("{}?limit=50", staff.api_path("/jobs"));
    let page = staff.session.get(&path).send::<JobPage>().await?;
    Ok((
        page.items.into_iter().map(JobRow::from).collect(),
        page.unavailable,
    ))
}

/// The sentence saying whose jobs are missing, if any are.
fn missing(unavailable: &[String]) -> Option<String> {
    (!unavailable.is_empty()).then(|| {
        format!(
            "The jobs of {} could not be read just now; they are missing from this list.",
            unavailable.join(", ")
        )
    })
}

async fn list(staff: Staff, Query(done): Query<Done>) -> Response {
    let notice = match done.done.as_str() {
        "export" => Some("Export started: its file appears here when it is ready."),
        "cancel" => Some("Job cancelled (a running one stops at its next step)."),
        "retry" => Some("Job queued again."),
        _ => None,
    };
    page(staff, notice, None).await
}

async fn page(staff: Staff, notice: Option<&'static str>, alert: Option<String>) -> Response {
    let (rows, unavailable) = match recent(&staff).await {
        Ok(answer) => answer,
        Err(e) => return staff.failure(NAV, &e),
    };
    let alert = alert.or_else(|| missing(&unavailable));
    render(&JobsPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: NAV,
        rows,
        notice,
        alert,
    })
}

/// The rows alone, for the live refresh.
async fn rows(staff: Staff) -> Response {
    let (rows, _) = recent(&staff).await.unwrap_or_default();
    render(&JobRows {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        rows,
    })
}

async fn cancel(staff: Staff, Path((_store, id)): Path<(String, String)>) -> Response {
    act(staff, &id, "cancel").await
}

async fn retry(staff: Staff, Path((_store, id)): Path<(String, String)>) -> Response {
    act(staff, &id, "retry").await
}

/// Cancels or retries a job, then shows the list again; a refusal (it already finished) is said
/// at the top of the list.
async fn act(staff: Staff, id: &str, action: &str) -> Response {
    let path = staff.api_path(&format!("/jobs/{}/{action}", seg(id)));
    match staff.session.post(&path).send::<serde_json::Value>().await {
        Ok(_) => Redirect::to(&format!("/admin/{}/jobs?done={action}", staff.store)).into_response(),
        Err(e) if e.is_unauthenticated() => staff.failure(NAV, &e),
        Err(e) => page(staff, None, Some(e.plain_message())).await,
    }
}

#[derive(Deserialize)]
struct ExportForm {
    dataset: String,
    format: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// Starts an export through the API; the new job shows in the list, its file once it is ready.
async fn export(staff: Staff, Form(form): Form<ExportForm>) -> Response {
    let mut body = serde_json::json!({"dataset": form.dataset, "format": form.format});
    if form.dataset == "orders" {
        for (name, value) in [("from", &form.from), ("to", &form.to)] {
            if !value.is_empty() {
                body[name] = serde_json::Value::String(value.clone());
            }
        }
    }
    let path = staff.api_path("/exports");
    match staff
        .session
        .post(&path)
        .json(&body)
        .send::<serde_json::Value>()
        .await
    {
        Ok(_) => Redirect::to(&format!("/admin/{}/jobs?done=export", staff.store)).into_response(),
        Err(e) if e.is_unauthenticated() => staff.failure(NAV, &e),
        Err(e) => page(staff, None, Some(e.plain_message())).await,
    }
}
