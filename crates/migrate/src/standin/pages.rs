//! The stand-in's answers: HTML pages for the legacy URLs, JSON in Mercato's shape for the
//! product read.

use super::Shop;
use super::db;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

/// `/product/{slug}/`: the product's page (published products only, as WordPress shows them).
pub async fn product_page(State(shop): State<Shop>, Path(slug): Path<String>) -> Response {
    match db::product(&shop.pool, &shop.tables, &slug).await {
        Ok(Some(p)) if p.status == "publish" => Html(format!(
            "<!doctype html><title>{0}</title><h1 class=\"product_title\">{0}</h1><div>{1}</div>",
            escape(&p.title),
            escape(&p.description)
        ))
        .into_response(),
        Ok(_) => not_found().await,
        Err(e) => failed(e),
    }
}

/// `/product-category/{…/}{slug}/`: the category's page (a nested one's path ends with its slug).
pub async fn category_page(State(shop): State<Shop>, Path(path): Path<String>) -> Response {
    let slug = path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    match db::category(&shop.pool, &shop.tables, slug).await {
        Ok(Some(name)) => Html(format!(
            "<!doctype html><title>{0}</title><h1 class=\"page-title\">{0}</h1>",
            escape(&name)
        ))
        .into_response(),
        Ok(None) => not_found().await,
        Err(e) => failed(e),
    }
}

/// When the answer was made (epoch ms) and its sequence number in this process: different in
/// every answer, even two made in the same millisecond — the noise shadow comparison must cancel.
fn generated_at() -> String {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}.{seq}", mercato_runtime::time::now_ms())
}

/// `GET /v1/stores/{store}/products/{slug}`: a published product in Mercato's REST shape (its
/// `slug`, `title`, `description` and `status`), with the ever-changing `generated_at`.
pub async fn product_json(
    State(shop): State<Shop>,
    Path((_store, slug)): Path<(String, String)>,
) -> Response {
    match db::product(&shop.pool, &shop.tables, &slug).await {
        Ok(Some(p)) if p.status == "publish" => Json(json!({
            "slug": p.slug,
            "title": p.title,
            "description": p.description,
            "status": "active",
            "generated_at": generated_at(),
        }))
        .into_response(),
        Ok(_) => (
            StatusCode::NOT_FOUND,
            Json(json!({"code": "not_found", "generated_at": generated_at()})),
        )
            .into_response(),
        Err(e) => failed(e),
    }
}

/// Any other path.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html("<!doctype html><h1>Page not found</h1>"),
    )
        .into_response()
}

/// Marks every answer as the stand-in's.
pub async fn served_by(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert("x-served-by", HeaderValue::from_static("legacy-standin"));
    response
}

fn failed(error: sqlx::Error) -> Response {
    tracing::warn!(%error, "legacy stand-in query failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "database error").into_response()
}

/// Text safe inside HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
