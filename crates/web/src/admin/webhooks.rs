//! `/admin/{store}/webhooks` (owner only; the API refuses staff): the store's webhook endpoints
//! with their status, and registering one. The new endpoint's signing secret is shown once, in
//! the answer to the POST that made it (`no-store`, never through a redirect), as API clients'
//! secrets are.

use super::access::Staff;
use super::errors::FieldErrors;
use super::people::{explain, minute};
use crate::WebState;
use crate::api::ApiError;
use crate::page;
use crate::session::no_store;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

/// The navigation link of the webhook pages.
pub(super) const NAV: &str = "webhooks";

pub(crate) fn routes() -> Router<WebState> {
    Router::new().route("/admin/{store}/webhooks", get(show).post(create))
}

/// An endpoint as the API answers it.
#[derive(Deserialize)]
pub(super) struct Webhook {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: String,
    pub status: String,
    pub disabled_reason: Option<String>,
    pub created_at: String,
    pub failing_since: Option<String>,
    pub last_success_at: Option<String>,
    pub previous_secret_expires_at: Option<String>,
    pub secret_hint: String,
}

impl Webhook {
    /// The status in words.
    pub fn status_text(&self) -> &str {
        status_text(&self.status)
    }

    /// Whether the status badge warns.
    pub fn alarming(&self) -> bool {
        self.status == "failing"
    }

    pub fn types_text(&self) -> String {
        if self.event_types.iter().any(|t| t == "*") {
            "Every event".to_owned()
        } else {
            self.event_types.join(", ")
        }
    }

    pub fn created(&self) -> String {
        minute(&self.created_at)
    }

    pub fn last_success(&self) -> String {
        self.last_success_at
            .as_deref()
            .map_or_else(|| "Never".to_owned(), minute)
    }

    pub fn failing(&self) -> Option<String> {
        self.failing_since.as_deref().map(minute)
    }

    pub fn old_secret_until(&self) -> Option<String> {
        self.previous_secret_expires_at.as_deref().map(minute)
    }
}

/// An endpoint's status in words.
pub(super) fn status_text(status: &str) -> &str {
    match status {
        "enabled" => "Enabled",
        "disabled" => "Disabled",
        "failing" => "Disabled: failing",
        other => other,
    }
}

#[derive(Deserialize)]
struct WebhookList {
    webhooks: Vec<Webhook>,
}

/// An event type an endpoint may subscribe to.
#[derive(Deserialize)]
pub(super) struct EventType {
    pub name: String,
    pub description: String,
}

#[derive(Deserialize)]
struct EventTypes {
    types: Vec<EventType>,
}

/// An endpoint with its secret, as creation and rotation answer.
#[derive(Deserialize)]
pub(super) struct NewSecret {
    pub webhook: Webhook,
    pub secret: String,
}

/// The create form as typed, shown again with its errors.
#[derive(Default)]
struct Draft {
    url: String,
    description: String,
    types: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    store: String,
    csrf: String,
    nav: &'static str,
    webhooks: Vec<Webhook>,
    event_types: Vec<EventType>,
    secret: Option<NewSecret>,
    draft: Draft,
    errors: FieldErrors,
    alert: Option<String>,
}

impl WebhooksPage {
    fn checked(&self, name: &str) -> bool {
        self.draft.types.iter().any(|t| t == name)
    }
}

async fn show(staff: Staff) -> Response {
    render(staff, Draft::default(), None, None, StatusCode::OK).await
}

/// The page: the list, the form (with `draft` and the refusal `error`), and a secret just made.
async fn render(
    staff: Staff,
    draft: Draft,
    secret: Option<NewSecret>,
    error: Option<&ApiError>,
    status: StatusCode,
) -> Response {
    let webhooks = match staff
        .session
        .get(&staff.api_path("/webhooks"))
        .send::<WebhookList>()
        .await
    {
        Ok(list) => list.webhooks,
        Err(e) if e.status == StatusCode::FORBIDDEN => return owner_only(&staff),
        Err(e) => return staff.failure(NAV, &e),
    };
    let event_types = match staff
        .session
        .get("/v1/webhook-event-types")
        .send::<EventTypes>()
        .await
    {
        Ok(t) => t.types,
        Err(e) => return staff.failure(NAV, &e),
    };
    let errors = error.map(FieldErrors::of).unwrap_or_default();
    let alert = error.filter(|_| errors.is_empty()).map(explain);
    let shows_secret = secret.is_some();
    let page = WebhooksPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: NAV,
        webhooks,
        event_types,
        secret,
        draft,
        errors,
        alert,
    };
    let mut response = page::render_status(status, &page);
    if shows_secret {
        no_store(&mut response);
    }
    response
}

/// What staff see: the API answers them 403, which means this.
pub(super) fn owner_only(staff: &Staff) -> Response {
    let page = super::layout::ErrorPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: NAV,
        title: "Not allowed",
        message: "Only the store's owner can manage webhooks.".to_owned(),
    };
    page::render_status(StatusCode::FORBIDDEN, &page)
}

/// The create form, read by hand: `event_types` repeats (one per ticked box).
fn draft(body: &[u8]) -> Draft {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let mut draft = Draft::default();
    for (name, value) in pairs {
        match name.as_str() {
            "url" => draft.url = value.trim().to_owned(),
            "description" => draft.description = value.trim().to_owned(),
            "event_types" => draft.types.push(value),
            _ => {}
        }
    }
    draft
}

async fn create(staff: Staff, body: Bytes) -> Response {
    let draft = draft(&body);
    let request = serde_json::json!({
        "url": draft.url, "event_types": draft.types, "description": draft.description,
    });
    let path = staff.api_path("/webhooks");
    match staff.session.post(&path).json(&request).send::<NewSecret>().await {
        Ok(secret) => render(staff, Draft::default(), Some(secret), None, StatusCode::OK).await,
        Err(e) if e.status == StatusCode::FORBIDDEN => owner_only(&staff),
        Err(e) if e.is_unauthenticated() => staff.failure(NAV, &e),
        Err(e) => {
            let status = e.status;
            render(staff, draft, None, Some(&e), status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_keeps_every_ticked_type() {
        let d = draft(
            b"csrf=x&url=+https%3A%2F%2Fa.test%2Fh+&event_types=order.confirmed&event_types=order.cancelled",
        );
        assert_eq!(d.url, "https://a.test/h");
        assert_eq!(d.types, ["order.confirmed", "order.cancelled"]);
    }
}
