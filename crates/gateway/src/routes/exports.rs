//! Exports (issue 15): staff start one (`POST …/exports`: orders, products or customers, as CSV
//! or JSON lines) and follow it as a job; its file is fetched through a signed link that needs no
//! bearer token (`GET …/exports/{job}/download?expires=…&signature=…`), so a browser or a
//! spreadsheet can open it. The signature (HMAC-SHA256 over the store, the file's key and the
//! expiry) is the authorisation: a bad or expired one is 403, a file deleted after its retention
//! 410.

use crate::access::{Public, Staff, StoreScope};
use crate::dto_jobs::JobView;
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::jobs::{job_view, jobs_caller};
use crate::state::GatewayState;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mercato_proto::jobs::{Job, JobRequest, StartExportRequest};
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::export::range::resolve;
use mercato_runtime::export::retention::file_deleted;
use mercato_runtime::files::FileAccess;
use mercato_runtime::idempotency::IdempotencyKey;
use mercato_runtime::time::{now_ms, to_rfc3339};
use serde::Deserialize;
use utoipa::ToSchema;

/// This module's routes.
pub(crate) fn routes() -> Router<GatewayState> {
    Router::new()
        .route("/v1/stores/{store}/exports", post(start_export))
        .route("/v1/stores/{store}/exports/{job}/download", get(download))
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(start_export, download),
    components(schemas(ExportBody)),
    tags((name = "exports", description = "Orders, products and customers as CSV or JSON lines, made by a job"))
)]
pub(crate) struct ApiDoc;

/// What to export.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"dataset": "orders", "format": "csv", "from": "2026-12-01", "to": "2026-12-31"})))]
pub(crate) struct ExportBody {
    /// `orders`, `products` or `customers`.
    dataset: String,
    /// `csv` (RFC 4180, UTF-8, a header row, formulas neutralised) or `jsonl`.
    format: String,
    /// Orders only: created from this local date (inclusive) or RFC 3339 instant; absent: the first.
    #[serde(default)]
    from: Option<String>,
    /// Orders only: up to this local date (inclusive) or RFC 3339 instant; absent: now.
    #[serde(default)]
    to: Option<String>,
}

/// Starts an export job; follow it at `Location` (`/v1/stores/{store}/jobs/{id}`), whose result
/// carries the download link once it succeeded.
#[utoipa::path(post, path = "/v1/stores/{store}/exports", tag = "exports",
    params(("store" = String, Path, description = "store slug"),
           ("Idempotency-Key" = Option<String>, Header, description = "repeating a request with the same key answers the first job: 1–200 printable ASCII characters", pattern = "^[!-~]([ -~]{0,198}[!-~])?$", max_length = 200)),
    security(("bearer" = [])),
    request_body = ExportBody,
    responses((status = 202, body = JobView, description = "The export job, queued"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "Customers may not export"),
              (status = 422, description = "An unknown dataset or format, or a malformed range; no job is made")))]
pub(crate) async fn start_export(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ExportBody>,
) -> Result<Response, ServiceError> {
    let idempotency_key = match headers.get("idempotency-key") {
        Some(value) => IdempotencyKey::from_header(Some(value))?.into_string(),
        None => String::new(),
    };
    // Local dates are the store's days: resolved here, where the store's zone is known, and
    // sent as instants.
    let (from, to) = (body.from.unwrap_or_default(), body.to.unwrap_or_default());
    let span = resolve(&from, &to, &scope.store.time_zone)?;
    let request = StartExportRequest {
        store_id: scope.store.id.clone(),
        caller: Some(jobs_caller(&scope)),
        dataset: body.dataset.clone(),
        format: body.format,
        from: span.from_ms.map(to_rfc3339).unwrap_or_default(),
        to: span.to_ms.map(to_rfc3339).unwrap_or_default(),
        idempotency_key,
    };
    let job = match body.dataset.as_str() {
        "orders" => state.orders().start_export(request).await?,
        "products" => state.catalog().start_export(request).await?,
        "customers" => state.identity().start_export(request).await?,
        _ => {
            return Err(ServiceError::invalid_field(
                "dataset",
                "must be orders, products or customers",
            ));
        }
    };
    let location = format!("/v1/stores/{}/jobs/{}", scope.store.slug, job.id);
    let view = job_view(&state, &scope.store.slug, job);
    let mut response = (StatusCode::ACCEPTED, axum::Json(view)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// The signed link to an export's file: valid until the earlier of `now + files.link_ttl` and
/// the file's deletion.
pub(crate) fn download_url(
    files: &FileAccess,
    store_slug: &str,
    store_id: &str,
    job_id: &str,
    key: &str,
    file_expires_at_ms: i64,
    now_ms: i64,
) -> String {
    let ttl = i64::try_from(files.link_ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let expires = now_ms.saturating_add(ttl).min(file_expires_at_ms);
    let signature = files.links.sign(store_id, key, expires);
    format!("/v1/stores/{store_slug}/exports/{job_id}/download?expires={expires}&signature={signature}")
}

#[derive(Deserialize)]
pub(crate) struct LinkQuery {
    expires: i64,
    signature: String,
}

/// Streams an export's file. No bearer token: the signed link is the authorisation.
#[utoipa::path(get, path = "/v1/stores/{store}/exports/{job}/download", tag = "exports",
    params(("store" = String, Path, description = "store slug"),
           ("job" = String, Path, description = "the export job's id"),
           ("expires" = i64, Query, description = "when the link expires (epoch ms), as signed"),
           ("signature" = String, Query, description = "the link's signature, as the job's result gave it")),
    responses((status = 200, description = "The file (`text/csv; charset=utf-8` or `application/x-ndjson`), as an attachment"),
              (status = 403, description = "A bad or expired signature"),
              (status = 410, description = "The file was deleted after its retention")))]
pub(crate) async fn download(
    State(state): State<GatewayState>,
    scope: StoreScope<Public>,
    Path((_store, job_id)): Path<(String, String)>,
    ApiQuery(link): ApiQuery<LinkQuery>,
) -> Result<Response, ServiceError> {
    let refused = || ServiceError::forbidden("this download link is not valid (it may have expired)");
    let files = state
        .files()
        .ok_or_else(|| ServiceError::new(ErrorCode::Unavailable, "files are not served here"))?;
    let job = export_job(&state, &scope.store.id, &job_id)
        .await
        .ok_or_else(refused)?;
    let result = job.result.unwrap_or_default();
    let key = result.file_key.as_str();
    // Genuine whatever the time: a deleted file is then 410 rather than a vague 403.
    let genuine = !key.is_empty()
        && files
            .links
            .verify(&job.store_id, key, link.expires, &link.signature, i64::MIN);
    if !genuine {
        return Err(refused());
    }
    if file_deleted(&result.summary) {
        return Err(gone());
    }
    if !files
        .links
        .verify(&job.store_id, key, link.expires, &link.signature, now_ms())
    {
        return Err(refused());
    }
    let file = files
        .store
        .get(key)
        .await
        .map_err(ServiceError::internal)?
        .ok_or_else(gone)?;
    let mut response = Response::new(Body::from_stream(file.stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header_value(&result.content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
    headers.insert(
        header::CONTENT_DISPOSITION,
        header_value(&format!(
            "attachment; filename=\"{}\"",
            safe_name(&result.file_name)
        )),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

fn gone() -> ServiceError {
    ServiceError::new(
        ErrorCode::Gone,
        "the export's file was deleted after its retention",
    )
}

/// The job in whichever exporting service has it; `None` when none does.
async fn export_job(state: &GatewayState, store_id: &str, job_id: &str) -> Option<Job> {
    let request = JobRequest {
        store_id: store_id.to_owned(),
        caller: None,
        job_id: job_id.to_owned(),
    };
    let (orders, catalog, identity) = tokio::join!(
        state.orders().get_job(request.clone()),
        state.catalog().get_job(request.clone()),
        state.identity().get_job(request),
    );
    [orders, catalog, identity]
        .into_iter()
        .flatten()
        .find(|job| job.kind.starts_with("export.") && job.store_id == store_id)
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// A file name safe inside a quoted header value.
fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mercato_runtime::files::{FileLinks, FileStore};
    use std::time::Duration;

    #[test]
    fn a_link_expires_with_its_ttl_or_the_file_whichever_is_first() {
        let dir = std::env::temp_dir().join(format!("mercato-exports-{}", uuid::Uuid::new_v4()));
        let files = FileAccess {
            store: FileStore::in_directory(&dir).unwrap(),
            links: FileLinks::with_key(&[1; 32]),
            link_ttl: Duration::from_secs(3600),
        };
        let url = download_url(&files, "shop", "s1", "j1", "exports/s1/j1.csv", 10_000_000, 1_000);
        assert!(
            url.starts_with("/v1/stores/shop/exports/j1/download?expires=3601000&signature="),
            "{url}"
        );
        let url = download_url(&files, "shop", "s1", "j1", "exports/s1/j1.csv", 5_000, 1_000);
        assert!(url.contains("expires=5000&"), "{url}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn file_names_cannot_break_the_header() {
        assert_eq!(safe_name("orders-2026-12-07-ab.csv"), "orders-2026-12-07-ab.csv");
        assert_eq!(safe_name("a\"b\r\n.csv"), "a_b__.csv");
    }
}
