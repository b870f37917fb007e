//! The admin's API clients page (owner only; the API refuses staff): the store's clients,
//! creating one, revoking one and rotating a secret.
//!
//! A new secret is shown once, in the answer to the POST that made it, with `no-store`: it
//! cannot travel through a redirect (a URL is logged and kept in history) and the API never
//! shows it again. So these two forms answer with a page instead of POST → 303 → GET;
//! reloading that page asks to send the form again, which makes another secret, never a copy.

use super::access::Staff;
use super::people::{explain, field_error, seg};
use crate::WebState;
use crate::api::ApiError;
use crate::page;
use crate::session::no_store;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

/// The navigation link of this page.
const NAV: &str = "api-clients";

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/api-clients", get(show).post(create))
        .route("/admin/{store}/api-clients/{client}/revoke", post(revoke))
        .route("/admin/{store}/api-clients/{client}/rotate", post(rotate))
}

/// A client as the API lists it (never with its secret).
#[derive(Deserialize)]
struct ApiClient {
    client_id: String,
    name: String,
    created_at: String,
    secret_rotated_at: Option<String>,
    revoked_at: Option<String>,
}

impl ApiClient {
    fn created(&self) -> &str {
        super::people::day(&self.created_at)
    }

    fn rotated(&self) -> &str {
        self.secret_rotated_at
            .as_deref()
            .map_or("Never", super::people::day)
    }

    fn revoked(&self) -> Option<&str> {
        self.revoked_at.as_deref().map(super::people::day)
    }
}

#[derive(Deserialize)]
struct ApiClientList {
    api_clients: Vec<ApiClient>,
}

/// A client with its secret, as creation and rotation answer.
#[derive(Deserialize)]
struct NewSecret {
    client_id: String,
    client_secret: String,
    name: String,
}

#[derive(Template)]
#[template(path = "admin/api_clients.html")]
struct ApiClientsPage {
    store: String,
    csrf: String,
    nav: &'static str,
    clients: Vec<ApiClient>,
    /// The secret just made, shown this once.
    secret: Option<NewSecret>,
    notice: Option<&'static str>,
    alert: Option<String>,
    /// The create form's name and its message.
    name: String,
    name_error: Option<String>,
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn show(staff: Staff, Query(done): Query<Done>) -> Response {
    let notice = match done.done.as_deref() {
        Some("revoked") => Some("The client was revoked. Its secret no longer works."),
        _ => None,
    };
    let page = Parts {
        notice,
        ..Parts::default()
    };
    render(staff, page, StatusCode::OK).await
}

/// What a rendering of the page shows beside the list.
#[derive(Default)]
struct Parts {
    secret: Option<NewSecret>,
    notice: Option<&'static str>,
    alert: Option<String>,
    name: String,
    name_error: Option<String>,
}

async fn render(staff: Staff, parts: Parts, status: StatusCode) -> Response {
    let path = staff.api_path("/api-clients");
    let clients = match staff.session.get(&path).send::<ApiClientList>().await {
        Ok(list) => list.api_clients,
        Err(e) if e.status == StatusCode::FORBIDDEN => return owner_only(&staff),
        Err(e) => return staff.failure(NAV, &e),
    };
    let shows_secret = parts.secret.is_some();
    let page = ApiClientsPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: NAV,
        clients,
        secret: parts.secret,
        notice: parts.notice,
        alert: parts.alert,
        name: parts.name,
        name_error: parts.name_error,
    };
    let mut response = page::render_status(status, &page);
    if shows_secret {
        no_store(&mut response);
    }
    response
}

#[derive(Deserialize)]
struct NewClientForm {
    #[serde(default)]
    name: String,
}

async fn create(staff: Staff, Form(form): Form<NewClientForm>) -> Response {
    let path = staff.api_path("/api-clients");
    let body = serde_json::json!({ "name": form.name });
    match staff.session.post(&path).json(&body).send::<NewSecret>().await {
        Ok(secret) => shown(staff, secret).await,
        Err(e) => refused(staff, &e, form.name).await,
    }
}

async fn revoke(staff: Staff, Path((_store, client)): Path<(String, String)>) -> Response {
    let path = staff.api_path(&format!("/api-clients/{}/revoke", seg(&client)));
    match staff.session.post(&path).send_empty().await {
        Ok(()) => Redirect::to(&format!("/admin/{}/api-clients?done=revoked", staff.store)).into_response(),
        Err(e) => refused(staff, &e, String::new()).await,
    }
}

async fn rotate(staff: Staff, Path((_store, client)): Path<(String, String)>) -> Response {
    let path = staff.api_path(&format!("/api-clients/{}/rotate-secret", seg(&client)));
    match staff.session.post(&path).send::<NewSecret>().await {
        Ok(secret) => shown(staff, secret).await,
        Err(e) => refused(staff, &e, String::new()).await,
    }
}

/// What staff see here: the API answers them 403, which means this.
fn owner_only(staff: &Staff) -> Response {
    let page = super::layout::ErrorPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: NAV,
        title: "Not allowed",
        message: "Only the store's owner can manage API clients.".to_owned(),
    };
    page::render_status(StatusCode::FORBIDDEN, &page)
}

/// The page with a secret just made, shown this once.
async fn shown(staff: Staff, secret: NewSecret) -> Response {
    let parts = Parts {
        secret: Some(secret),
        ..Parts::default()
    };
    render(staff, parts, StatusCode::OK).await
}

/// The page again with the refusal: next to the name field when it is about the name, at the
/// top otherwise (only the owner may manage clients; the client is revoked).
async fn refused(staff: Staff, e: &ApiError, name: String) -> Response {
    if e.status == StatusCode::FORBIDDEN {
        return owner_only(&staff);
    }
    if e.is_unauthenticated() {
        return staff.failure(NAV, e);
    }
    let name_error = field_error(e, "name", "Name");
    let alert = name_error.is_none().then(|| explain(e));
    let parts = Parts {
        alert,
        name,
        name_error,
        ..Parts::default()
    };
    render(staff, parts, e.status).await
}
