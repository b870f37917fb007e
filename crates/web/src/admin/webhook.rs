//! `/admin/{store}/webhooks/{id}` (owner only): one endpoint, its delivery log (event type,
//! status, attempts, last status code, time), and what the owner does with it: enable or
//! disable, rotate the secret (the new one shown once, `no-store`), send a test event, delete.
//! `/admin/{store}/webhook-deliveries/{id}`: one delivery's attempts (status code, latency,
//! error, response excerpt) and body, with a redeliver button.

use super::access::{Staff, plain_segment};
use super::people::{explain, minute, query};
use super::webhooks::{NAV, NewSecret, Webhook, owner_only};
use crate::WebState;
use crate::api::ApiError;
use crate::page;
use crate::session::no_store;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/webhooks/{id}", get(show))
        .route("/admin/{store}/webhooks/{id}/enable", post(enable))
        .route("/admin/{store}/webhooks/{id}/disable", post(disable))
        .route("/admin/{store}/webhooks/{id}/rotate", post(rotate))
        .route("/admin/{store}/webhooks/{id}/test", post(test))
        .route("/admin/{store}/webhooks/{id}/delete", post(delete))
        .route("/admin/{store}/webhook-deliveries/{id}", get(delivery))
        .route(
            "/admin/{store}/webhook-deliveries/{id}/redeliver",
            post(redeliver),
        )
}

/// A delivery as the API lists it.
#[derive(Deserialize)]
struct Delivery {
    id: String,
    event_id: String,
    event_type: String,
    status: String,
    attempts: u32,
    last_status_code: Option<u16>,
    manual: bool,
    created_at: String,
    next_attempt_at: Option<String>,
}

impl Delivery {
    fn created(&self) -> String {
        minute(&self.created_at)
    }

    fn next_attempt(&self) -> Option<String> {
        self.next_attempt_at.as_deref().map(minute)
    }

    fn code(&self) -> String {
        self.last_status_code
            .map_or_else(|| "None".to_owned(), |c| c.to_string())
    }

    fn alarming(&self) -> bool {
        self.status == "dead"
    }
}

#[derive(Deserialize)]
struct DeliveryPage {
    items: Vec<Delivery>,
    next: Option<String>,
}

/// One attempt of a delivery.
#[derive(Deserialize)]
struct Attempt {
    number: u32,
    at: String,
    status_code: Option<u16>,
    latency_ms: i64,
    error: Option<String>,
    response_excerpt: String,
}

impl Attempt {
    fn when(&self) -> String {
        minute(&self.at)
    }

    fn code(&self) -> String {
        self.status_code
            .map_or_else(|| "None".to_owned(), |c| c.to_string())
    }
}

/// A delivery with its attempts and body.
#[derive(Deserialize)]
struct DeliveryDetail {
    #[serde(flatten)]
    delivery: Delivery,
    endpoint_id: String,
    attempt_log: Vec<Attempt>,
    payload: serde_json::Value,
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct WebhookPage {
    store: String,
    csrf: String,
    nav: &'static str,
    webhook: Webhook,
    deliveries: Vec<Delivery>,
    /// The next page of the log, when there is one.
    older: Option<String>,
    secret: Option<String>,
    notice: Option<&'static str>,
    alert: Option<String>,
}

#[derive(Deserialize, Default)]
struct Params {
    #[serde(default)]
    done: String,
    #[serde(default)]
    after: String,
}

async fn show(staff: Staff, Path((_store, id)): Path<(String, String)>, Query(p): Query<Params>) -> Response {
    let notice = match p.done.as_str() {
        "enable" => Some("The webhook is enabled. New events are delivered again."),
        "disable" => Some("The webhook is disabled. Its pending deliveries were cancelled."),
        "test" => Some("A test event is on its way; it shows in the log below."),
        "redeliver" => Some("The event is sent again as a new delivery."),
        _ => None,
    };
    render(
        staff,
        &id,
        &p.after,
        Shown {
            notice,
            ..Shown::default()
        },
    )
    .await
}

/// What a rendering shows beside the endpoint and its log.
#[derive(Default)]
struct Shown {
    secret: Option<String>,
    notice: Option<&'static str>,
    alert: Option<String>,
}

async fn render(staff: Staff, id: &str, after: &str, shown: Shown) -> Response {
    if !plain_segment(id) {
        return staff.not_found(NAV);
    }
    let webhook = match staff
        .session
        .get(&staff.api_path(&format!("/webhooks/{id}")))
        .send::<Webhook>()
        .await
    {
        Ok(w) => w,
        Err(e) => return refused(staff, &e),
    };
    let log = format!(
        "{}{}",
        staff.api_path(&format!("/webhooks/{id}/deliveries")),
        query(&[("limit", "50"), ("after", after)])
    );
    let page = match staff.session.get(&log).send::<DeliveryPage>().await {
        Ok(p) => p,
        Err(e) => return refused(staff, &e),
    };
    let shows_secret = shown.secret.is_some();
    let page = WebhookPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: NAV,
        webhook,
        deliveries: page.items,
        older: page.next,
        secret: shown.secret,
        notice: shown.notice,
        alert: shown.alert,
    };
    let mut response = page::render(&page);
    if shows_secret {
        no_store(&mut response);
    }
    response
}

/// A refusal the page cannot show next to a field.
fn refused(staff: Staff, e: &ApiError) -> Response {
    if e.status == StatusCode::FORBIDDEN {
        return owner_only(&staff);
    }
    staff.failure(NAV, e)
}

async fn enable(staff: Staff, Path((_store, id)): Path<(String, String)>) -> Response {
    set_enabled(staff, &id, true).await
}

async fn disable(staff: Staff, Path((_store, id)): Path<(String, String)>) -> Response {
    set_enabled(staff, &id, false).await
}

async fn set_enabled(staff: Staff, id: &str, enabled: bool) -> Response {
    if !plain_segment(id) {
        return staff.not_found(NAV);
    }
    let path = staff.api_path(&format!("/webhooks/{id}"));
    let body = serde_json::json!({ "enabled": enabled });
    let done = if enabled { "enable" } else { "disable" };
    match staff.session.patch(&path).json(&body).send_empty().await {
        Ok(()) => back(&staff, id, done),
        Err(e) => again(staff, id, &e).await,
    }
}

/// The webhook's page again, saying what was done.
fn back(staff: &Staff, id: &str, done: &str) -> Response {
    Redirect::to(&format!("/admin/{}/webhooks/{id}?done={done}", staff.store)).into_response()
}

/// The webhook's page again with a refusal at the top (a 409: it is not enabled).
async fn again(staff: Staff, id: &str, e: &ApiError) -> Response {
    if e.is_unauthenticated() || e.is_not_found() || e.status == StatusCode::FORBIDDEN {
        return refused(staff, e);
    }
    let shown = Shown {
        alert: Some(explain(e)),
        ..Shown::default()
    };
    render(staff, id, "", shown).await
}

async fn rotate(staff: Staff, Path((_store, id)): Path<(String, String)>) -> Response {
    if !plain_segment(&id) {
        return staff.not_found(NAV);
    }
    let path = staff.api_path(&format!("/webhooks/{id}/rotate-secret"));
    match staff.session.post(&path).send::<NewSecret>().await {
        Ok(rotated) => {
            let shown = Shown {
                secret: Some(rotated.secret),
                ..Shown::default()
            };
            render(staff, &id, "", shown).await
        }
        Err(e) => again(staff, &id, &e).await,
    }
}

async fn test(staff: Staff, Path((_store, id)): Path<(String, String)>) -> Response {
    if !plain_segment(&id) {
        return staff.not_found(NAV);
    }
    let path = staff.api_path(&format!("/webhooks/{id}/test"));
    match staff.session.post(&path).send_empty().await {
        Ok(()) => back(&staff, &id, "test"),
        Err(e) => again(staff, &id, &e).await,
    }
}

async fn delete(staff: Staff, Path((_store, id)): Path<(String, String)>) -> Response {
    if !plain_segment(&id) {
        return staff.not_found(NAV);
    }
    let path = staff.api_path(&format!("/webhooks/{id}"));
    match staff.session.delete(&path).send_empty().await {
        Ok(()) => Redirect::to(&format!("/admin/{}/webhooks", staff.store)).into_response(),
        Err(e) => again(staff, &id, &e).await,
    }
}

#[derive(Template)]
#[template(path = "admin/webhook_delivery.html")]
struct DeliveryView {
    store: String,
    csrf: String,
    nav: &'static str,
    d: DeliveryDetail,
    /// The body, indented.
    payload: String,
    alert: Option<String>,
}

async fn delivery(staff: Staff, Path((_store, id)): Path<(String, String)>) -> Response {
    show_delivery(staff, &id, None).await
}

async fn show_delivery(staff: Staff, id: &str, alert: Option<String>) -> Response {
    if !plain_segment(id) {
        return staff.not_found(NAV);
    }
    let path = staff.api_path(&format!("/webhook-deliveries/{id}"));
    let d = match staff.session.get(&path).send::<DeliveryDetail>().await {
        Ok(d) => d,
        Err(e) => return refused(staff, &e),
    };
    let payload = serde_json::to_string_pretty(&d.payload).unwrap_or_default();
    page::render(&DeliveryView {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: NAV,
        d,
        payload,
        alert,
    })
}

#[derive(Deserialize)]
struct Redelivered {
    id: String,
}

async fn redeliver(staff: Staff, Path((_store, id)): Path<(String, String)>) -> Response {
    if !plain_segment(&id) {
        return staff.not_found(NAV);
    }
    let path = staff.api_path(&format!("/webhook-deliveries/{id}/redeliver"));
    match staff.session.post(&path).send::<Redelivered>().await {
        Ok(new) if plain_segment(&new.id) => {
            Redirect::to(&format!("/admin/{}/webhook-deliveries/{}", staff.store, new.id)).into_response()
        }
        Ok(_) => show_delivery(staff, &id, None).await,
        Err(e) if e.is_unauthenticated() || e.status == StatusCode::FORBIDDEN => refused(staff, &e),
        Err(e) => {
            let alert = Some(explain(&e));
            show_delivery(staff, &id, alert).await
        }
    }
}
