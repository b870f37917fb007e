//! A store's background jobs over REST: the list merged from every service that runs jobs
//! (catalog, orders, identity, notifications), one job, cancel and retry, and starting a search
//! re-index.
//!
//! Each service keeps its own jobs; their list cursors share one format (`<created_at_ms>.<id>`,
//! base64url), so one `after` pages all four at once and the merge stays newest first.

use crate::access::{Staff, StoreScope};
use crate::dto_jobs::{JobPageView, JobView};
use crate::extract::ApiQuery;
use crate::state::GatewayState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mercato_proto::catalog::ReindexSearchRequest;
use mercato_proto::jobs::{Caller, Job, JobRequest, JobStatus, ListJobsRequest, ListJobsResponse};
use mercato_runtime::error::{ErrorCode, ServiceError};

/// Jobs per page when `limit` is absent or 0, and the most a page holds.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// This module's routes.
pub(crate) fn routes() -> Router<GatewayState> {
    Router::new()
        .route("/v1/stores/{store}/jobs", get(list_jobs))
        .route("/v1/stores/{store}/jobs/{id}", get(get_job))
        .route("/v1/stores/{store}/jobs/{id}/cancel", post(cancel_job))
        .route("/v1/stores/{store}/jobs/{id}/retry", post(retry_job))
        .route("/v1/stores/{store}/search/reindex", post(reindex_search))
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_jobs, get_job, cancel_job, retry_job, reindex_search),
    components(schemas(JobView, JobPageView, crate::dto_jobs::JobProgressView, crate::dto_jobs::JobResultView)),
    tags((name = "jobs", description = "Background jobs: exports, image sizes, search re-indexing"))
)]
pub(crate) struct ApiDoc;

/// The services that run jobs, by the name a job carries in `service`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum JobService {
    Catalog,
    Orders,
    Identity,
    Notifications,
}

impl JobService {
    const ALL: [JobService; 4] = [
        JobService::Catalog,
        JobService::Orders,
        JobService::Identity,
        JobService::Notifications,
    ];

    fn named(name: &str) -> Option<JobService> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    fn name(self) -> &'static str {
        match self {
            JobService::Catalog => "catalog",
            JobService::Orders => "orders",
            JobService::Identity => "identity",
            JobService::Notifications => "notifications",
        }
    }

    async fn list(
        self,
        state: &GatewayState,
        req: ListJobsRequest,
    ) -> Result<ListJobsResponse, ServiceError> {
        match self {
            JobService::Catalog => state.catalog().list_jobs(req).await,
            JobService::Orders => state.orders().list_jobs(req).await,
            JobService::Identity => state.identity().list_jobs(req).await,
            JobService::Notifications => state.notifications().list_jobs(req).await,
        }
    }

    async fn get(self, state: &GatewayState, req: JobRequest) -> Result<Job, ServiceError> {
        match self {
            JobService::Catalog => state.catalog().get_job(req).await,
            JobService::Orders => state.orders().get_job(req).await,
            JobService::Identity => state.identity().get_job(req).await,
            JobService::Notifications => state.notifications().get_job(req).await,
        }
    }

    async fn cancel(self, state: &GatewayState, req: JobRequest) -> Result<Job, ServiceError> {
        match self {
            JobService::Catalog => state.catalog().cancel_job(req).await,
            JobService::Orders => state.orders().cancel_job(req).await,
            JobService::Identity => state.identity().cancel_job(req).await,
            JobService::Notifications => state.notifications().cancel_job(req).await,
        }
    }

    async fn retry(self, state: &GatewayState, req: JobRequest) -> Result<Job, ServiceError> {
        match self {
            JobService::Catalog => state.catalog().retry_job(req).await,
            JobService::Orders => state.orders().retry_job(req).await,
            JobService::Identity => state.identity().retry_job(req).await,
            JobService::Notifications => state.notifications().retry_job(req).await,
        }
    }
}

/// The caller as the jobs contract names it; the store comes from the scope, never the body.
pub(crate) fn jobs_caller(scope: &StoreScope<Staff>) -> Caller {
    Caller {
        user_id: scope.caller.sub.clone(),
        role: scope.caller.role.to_proto(),
    }
}

/// The REST shape of a job of the store `store_slug`, with a signed link to its file when it
/// made one and the deployment serves files. Shared with the routes that start jobs (exports),
/// so every route answers a job alike.
pub(crate) fn job_view(state: &GatewayState, store_slug: &str, job: Job) -> JobView {
    let now = mercato_runtime::time::now_ms();
    JobView::from_job(job, |job_id, store_id, key, expires_ms| {
        let files = state.files()?;
        Some(crate::routes::exports::download_url(
            files, store_slug, store_id, job_id, key, expires_ms, now,
        ))
    })
}

/// The list's filters, read by hand because `status` may repeat (`?status=queued&status=running`)
/// as well as be a comma list (`?status=queued,running`).
#[derive(Debug, Default, PartialEq)]
struct ListFilters {
    statuses: Vec<JobStatus>,
    kind: String,
    limit: u32,
    after: String,
}

fn list_filters(pairs: Vec<(String, String)>) -> Result<ListFilters, ServiceError> {
    let mut filters = ListFilters {
        limit: DEFAULT_LIMIT,
        ..ListFilters::default()
    };
    for (name, value) in pairs {
        match name.as_str() {
            "status" => {
                for status in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    filters.statuses.push(job_status(status)?);
                }
            }
            "kind" => filters.kind = value,
            "limit" => {
                let limit: u32 = value.parse().map_err(|_| {
                    ServiceError::invalid_field("limit", "must be a whole number from 0 to 200")
                })?;
                filters.limit = match limit {
                    0 => DEFAULT_LIMIT,
                    n if n > MAX_LIMIT => {
                        return Err(ServiceError::invalid_field(
                            "limit",
                            "must be a whole number from 0 to 200",
                        ));
                    }
                    n => n,
                };
            }
            "after" => filters.after = value,
            other => {
                return Err(ServiceError::invalid_request(format!(
                    "invalid query: unknown parameter `{other}` (expected status, kind, limit or after)"
                )));
            }
        }
    }
    Ok(filters)
}

fn job_status(name: &str) -> Result<JobStatus, ServiceError> {
    [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Dead,
        JobStatus::Cancelled,
    ]
    .into_iter()
    .find(|s| mercato_proto::names::job_status(*s) == name)
    .ok_or_else(|| {
        ServiceError::invalid_field("status", "must be queued, running, succeeded, dead or cancelled")
    })
}

/// The store's jobs, newest first, from every service that runs jobs. Owner and staff.
#[utoipa::path(get, path = "/v1/stores/{store}/jobs", tag = "jobs",
    params(("store" = String, Path, description = "store slug"),
           ("status" = Option<Vec<String>>, Query, description = "only these statuses (queued, running, succeeded, dead, cancelled): repeat the parameter or give a comma list"),
           ("kind" = Option<String>, Query, description = "only this kind, e.g. `export.orders`, `search.reindex`"),
           ("limit" = Option<u32>, Query, description = "jobs per page: 50 when absent or 0, at most 200", maximum = 200),
           ("after" = Option<String>, Query, description = "the previous page's `next`")),
    security(("bearer" = [])),
    responses((status = 200, body = JobPageView, description = "A page of jobs, newest first"),
              (status = 401, description = "No valid bearer token"),
              (status = 400, description = "An unknown parameter or a malformed `after`"),
              (status = 403, description = "Customers may not see jobs"),
              (status = 422, description = "An unknown status"),
              (status = 503, description = "Every service that runs jobs is unreachable (one or some unreachable: a 200 naming them in `unavailable`)")))]
pub(crate) async fn list_jobs(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<JobPageView>, ServiceError> {
    let filters = list_filters(pairs)?;
    let request = ListJobsRequest {
        store_id: scope.store.id.clone(),
        caller: Some(jobs_caller(&scope)),
        statuses: filters.statuses.iter().map(|s| i32::from(*s)).collect(),
        kind: filters.kind.clone(),
        limit: filters.limit,
        after: filters.after.clone(),
    };
    let (catalog, orders, identity, notifications) = tokio::join!(
        JobService::Catalog.list(&state, request.clone()),
        JobService::Orders.list(&state, request.clone()),
        JobService::Identity.list(&state, request.clone()),
        JobService::Notifications.list(&state, request),
    );
    let answers = [
        (JobService::Catalog, catalog),
        (JobService::Orders, orders),
        (JobService::Identity, identity),
        (JobService::Notifications, notifications),
    ];
    let (pages, unavailable) = answered_pages(answers)?;
    let (jobs, next) = merge_pages(pages, filters.limit as usize);
    Ok(Json(JobPageView {
        items: jobs
            .into_iter()
            .map(|j| job_view(&state, &scope.store.slug, j))
            .collect(),
        next,
        unavailable,
    }))
}

/// The pages of the services that answered, and the names of those that are unreachable
/// (`unavailable`, `timeout`): one service down leaves its jobs out of the list rather than
/// failing it. Any other refusal, or every service down, fails the list.
fn answered_pages(
    answers: [(JobService, Result<ListJobsResponse, ServiceError>); 4],
) -> Result<(Vec<ListJobsResponse>, Vec<String>), ServiceError> {
    let mut pages = Vec::new();
    let mut unavailable = Vec::new();
    let mut last_failure = None;
    for (service, answer) in answers {
        match answer {
            Ok(page) => pages.push(page),
            Err(e) if matches!(e.code, ErrorCode::Unavailable | ErrorCode::Timeout) => {
                tracing::warn!(service = service.name(), error = %e, "a jobs list left out a service");
                unavailable.push(service.name().to_owned());
                last_failure = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    match last_failure {
        Some(e) if pages.is_empty() => Err(e),
        _ => Ok((pages, unavailable)),
    }
}

/// The newest `limit` jobs of the services' pages, and the cursor after the last of them when
/// any service may hold more (it said so, or some of its jobs did not fit).
fn merge_pages(pages: Vec<ListJobsResponse>, limit: usize) -> (Vec<Job>, Option<String>) {
    let more_upstream = pages.iter().any(|p| !p.next.is_empty());
    let mut jobs: Vec<Job> = pages.into_iter().flat_map(|p| p.jobs).collect();
    jobs.sort_by(|a, b| (b.created_at_ms, &b.id).cmp(&(a.created_at_ms, &a.id)));
    let cut = jobs.len() > limit;
    jobs.truncate(limit);
    let next = (cut || more_upstream).then(|| jobs.last().map(cursor)).flatten();
    (jobs, next)
}

/// The cursor after `job`, in the services' own format.
fn cursor(job: &Job) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{}", job.created_at_ms, job.id))
}

/// The job and the service that owns it: the first that knows it; 404 when none does.
async fn find_job(
    state: &GatewayState,
    scope: &StoreScope<Staff>,
    id: &str,
) -> Result<(JobService, Job), ServiceError> {
    let request = JobRequest {
        store_id: scope.store.id.clone(),
        caller: Some(jobs_caller(scope)),
        job_id: id.to_owned(),
    };
    let (catalog, orders, identity, notifications) = tokio::join!(
        JobService::Catalog.get(state, request.clone()),
        JobService::Orders.get(state, request.clone()),
        JobService::Identity.get(state, request.clone()),
        JobService::Notifications.get(state, request),
    );
    let answers = [
        (JobService::Catalog, catalog),
        (JobService::Orders, orders),
        (JobService::Identity, identity),
        (JobService::Notifications, notifications),
    ];
    let mut failure = None;
    for (service, answer) in answers {
        match answer {
            Ok(job) => return Ok((JobService::named(&job.service).unwrap_or(service), job)),
            // A job id another service does not know, or cannot even read as one of its ids.
            Err(e)
                if matches!(
                    e.code,
                    ErrorCode::NotFound | ErrorCode::InvalidRequest | ErrorCode::ValidationFailed
                ) => {}
            Err(e) => failure = Some(e),
        }
    }
    Err(failure.unwrap_or_else(|| ServiceError::not_found("job")))
}

/// One job: status, progress and, once it succeeded, its result (with a download link for a file).
#[utoipa::path(get, path = "/v1/stores/{store}/jobs/{id}", tag = "jobs",
    params(("store" = String, Path, description = "store slug"), ("id" = String, Path, description = "job id")), security(("bearer" = [])),
    responses((status = 200, body = JobView, description = "The job"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "Customers may not see jobs"),
              (status = 404, description = "No such job in this store")))]
pub(crate) async fn get_job(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, id)): Path<(String, String)>,
) -> Result<Json<JobView>, ServiceError> {
    let (_, job) = find_job(&state, &scope, &id).await?;
    Ok(Json(job_view(&state, &scope.store.slug, job)))
}

/// Cancels a job: a queued one at once, a running one at its next progress report.
#[utoipa::path(post, path = "/v1/stores/{store}/jobs/{id}/cancel", tag = "jobs",
    params(("store" = String, Path, description = "store slug"), ("id" = String, Path, description = "job id")), security(("bearer" = [])),
    responses((status = 200, body = JobView, description = "The job, cancelled or marked to stop"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "Customers may not cancel jobs"),
              (status = 404, description = "No such job in this store"),
              (status = 409, description = "The job already finished")))]
pub(crate) async fn cancel_job(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, id)): Path<(String, String)>,
) -> Result<Json<JobView>, ServiceError> {
    let (service, _) = find_job(&state, &scope, &id).await?;
    let job = service.cancel(&state, job_request(&scope, id)).await?;
    Ok(Json(job_view(&state, &scope.store.slug, job)))
}

/// Queues a dead or cancelled job again, its attempts reset.
#[utoipa::path(post, path = "/v1/stores/{store}/jobs/{id}/retry", tag = "jobs",
    params(("store" = String, Path, description = "store slug"), ("id" = String, Path, description = "job id")), security(("bearer" = [])),
    responses((status = 200, body = JobView, description = "The job, queued again"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "Customers may not retry jobs"),
              (status = 404, description = "No such job in this store"),
              (status = 409, description = "The job is neither dead nor cancelled")))]
pub(crate) async fn retry_job(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, id)): Path<(String, String)>,
) -> Result<Json<JobView>, ServiceError> {
    let (service, _) = find_job(&state, &scope, &id).await?;
    let job = service.retry(&state, job_request(&scope, id)).await?;
    Ok(Json(job_view(&state, &scope.store.slug, job)))
}

fn job_request(scope: &StoreScope<Staff>, id: String) -> JobRequest {
    JobRequest {
        store_id: scope.store.id.clone(),
        caller: Some(jobs_caller(scope)),
        job_id: id,
    }
}

/// Rebuilds the store's search index on every catalog replica, as a job (`search.reindex`);
/// search keeps answering from the current index meanwhile. While one is queued or running,
/// asking again answers that one.
#[utoipa::path(post, path = "/v1/stores/{store}/search/reindex", tag = "jobs",
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 202, body = JobView, description = "The re-index job; follow it at `/jobs/{id}`"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "Customers may not re-index")))]
pub(crate) async fn reindex_search(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
) -> Result<(StatusCode, Json<JobView>), ServiceError> {
    let job = state
        .catalog()
        .reindex_search(ReindexSearchRequest {
            store_id: scope.store.id.clone(),
            caller: Some(jobs_caller(&scope)),
        })
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(job_view(&state, &scope.store.slug, job)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(service: &str, created_at_ms: i64, id: &str) -> Job {
        Job {
            id: id.into(),
            service: service.into(),
            created_at_ms,
            ..Default::default()
        }
    }

    fn page(jobs: Vec<Job>, next: &str) -> ListJobsResponse {
        ListJobsResponse {
            jobs,
            next: next.into(),
        }
    }

    #[test]
    fn pages_merge_newest_first_and_the_cursor_follows_the_last_kept() {
        let pages = vec![
            page(vec![job("catalog", 30, "c3"), job("catalog", 10, "c1")], ""),
            page(vec![job("orders", 20, "o2"), job("orders", 10, "o1")], ""),
        ];
        let (jobs, next) = merge_pages(pages, 3);
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, ["c3", "o2", "o1"], "ties break by id, descending");
        let next = next.expect("one job did not fit");
        let decoded = URL_SAFE_NO_PAD.decode(next).expect("base64url");
        assert_eq!(decoded, b"10.o1");
    }

    #[test]
    fn a_service_that_is_down_is_left_out_and_named_unless_all_are() {
        let down = || Err(ServiceError::unavailable("down"));
        let answers = [
            (JobService::Catalog, Ok(page(vec![job("catalog", 1, "c")], ""))),
            (JobService::Orders, Ok(page(vec![], ""))),
            (JobService::Identity, Ok(page(vec![], ""))),
            (JobService::Notifications, down()),
        ];
        let (pages, unavailable) = answered_pages(answers).expect("three answered");
        assert_eq!(pages.len(), 3);
        assert_eq!(unavailable, ["notifications"]);
        let all_down = [
            (JobService::Catalog, down()),
            (JobService::Orders, down()),
            (JobService::Identity, down()),
            (JobService::Notifications, down()),
        ];
        assert!(answered_pages(all_down).is_err());
        let refused = [
            (JobService::Catalog, Err(ServiceError::forbidden("no"))),
            (JobService::Orders, Ok(page(vec![], ""))),
            (JobService::Identity, Ok(page(vec![], ""))),
            (JobService::Notifications, Ok(page(vec![], ""))),
        ];
        assert!(answered_pages(refused).is_err(), "a refusal is not an outage");
    }

    #[test]
    fn the_last_page_has_no_cursor_unless_a_service_has_more() {
        let (_, next) = merge_pages(vec![page(vec![job("orders", 1, "a")], "")], 50);
        assert_eq!(next, None);
        let (_, next) = merge_pages(vec![page(vec![job("orders", 1, "a")], "x")], 50);
        assert!(next.is_some());
    }

    #[test]
    fn statuses_repeat_or_come_as_a_comma_list_and_unknown_names_are_refused() {
        let pairs = vec![
            ("status".to_owned(), "queued,running".to_owned()),
            ("status".to_owned(), "dead".to_owned()),
            ("limit".to_owned(), "200".to_owned()),
        ];
        let filters = list_filters(pairs).expect("valid");
        assert_eq!(
            filters.statuses,
            [JobStatus::Queued, JobStatus::Running, JobStatus::Dead]
        );
        assert_eq!(filters.limit, MAX_LIMIT);
        assert!(list_filters(vec![("limit".into(), "201".into())]).is_err());
        assert!(list_filters(vec![("status".into(), "done".into())]).is_err());
        assert!(list_filters(vec![("page".into(), "2".into())]).is_err());
    }
}
