//! `/admin`: staff sign in with their store, email and password (the API's password grant);
//! the token's role decides: an owner or staff member goes to the store's admin, a customer is
//! refused in words and their new tokens revoked at once. Sign-out (POST, CSRF-checked) revokes
//! the refresh token and deletes the admin's cookies.

use super::access::{runs_store, to_sign_in, token_role};
use crate::WebState;
use crate::api::ApiError;
use crate::page::{render, render_status};
use crate::session::{Session, Tokens, no_store};
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin", get(form).post(sign_in))
        .route("/admin/", get(|| async { Redirect::to("/admin") }))
        .route("/admin/{store}", get(to_home))
        .route("/admin/{store}/sign-out", post(sign_out))
}

#[derive(Template)]
#[template(path = "admin/sign_in.html")]
struct SignInPage {
    csrf: String,
    store: String,
    email: String,
    error: Option<String>,
    signed_out: bool,
}

#[derive(Deserialize, Default)]
struct FormQuery {
    #[serde(default)]
    store: String,
    #[serde(default)]
    signed_out: Option<String>,
}

/// The sign-in form; `?store=` fills the store in (the admin's pages send there).
async fn form(session: Session, Query(query): Query<FormQuery>) -> Response {
    let page = SignInPage {
        csrf: session.csrf().to_owned(),
        store: query.store,
        email: String::new(),
        error: None,
        signed_out: query.signed_out.is_some(),
    };
    let mut response = render(&page);
    no_store(&mut response);
    response
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    store: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// Store slugs are `a-z 0-9 -`; anything else cannot name a store (nor a cookie path).
fn plausible_store(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 40
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Signs in with the password grant and admits owners and staff only.
async fn sign_in(mut session: Session, axum::Form(credentials): axum::Form<Credentials>) -> Response {
    let store = credentials.store.trim().to_lowercase();
    let refuse = |session: &Session, status: StatusCode, message: String| {
        let page = SignInPage {
            csrf: session.csrf().to_owned(),
            store: store.clone(),
            email: credentials.email.clone(),
            error: Some(message),
            signed_out: false,
        };
        let mut response = render_status(status, &page);
        no_store(&mut response);
        response
    };
    if !plausible_store(&store) {
        let message = "Enter your store's name as it appears in its address, such as demo.".to_owned();
        return refuse(&session, StatusCode::UNPROCESSABLE_ENTITY, message);
    }
    let tokens = session
        .api()
        .post("/v1/oauth/token")
        .client(&session.client)
        .form(&[
            ("grant_type", "password"),
            ("store", store.as_str()),
            ("username", credentials.email.trim()),
            ("password", credentials.password.as_str()),
        ])
        .send::<Tokens>()
        .await;
    let tokens = match tokens {
        Ok(tokens) => tokens,
        Err(e) => return refuse(&session, refusal_status(&e), refusal_message(&e)),
    };
    let role = token_role(&tokens.access_token).unwrap_or_default();
    if !runs_store(&role) {
        revoke(&session, &tokens).await;
        let message = "This is a customer account. The admin is for the store's owner and staff; \
                       shoppers sign in on the store's own pages."
            .to_owned();
        return refuse(&session, StatusCode::FORBIDDEN, message);
    }
    // The admin's cookies are scoped to the store the form named, not to `/admin`.
    session.store = store.clone();
    session.sign_in(&tokens);
    Redirect::to(&format!("/admin/{store}/")).into_response()
}

/// Revokes tokens the admin will not keep (a customer's): their refresh token at once, where
/// the API offers revocation; the access token expires on its own within minutes.
async fn revoke(session: &Session, tokens: &Tokens) {
    let Some(refresh) = tokens.refresh_token.as_deref() else {
        return;
    };
    let revoked = session
        .api()
        .post("/v1/oauth/revoke")
        .client(&session.client)
        .form(&[("token", refresh), ("token_type_hint", "refresh_token")])
        .send_empty()
        .await;
    if let Err(e) = revoked {
        tracing::debug!(error = %e, "a customer's tokens from the admin sign-in were not revoked");
    }
}

fn refusal_status(e: &ApiError) -> StatusCode {
    match e.status.as_u16() {
        400 | 401 => StatusCode::UNAUTHORIZED,
        429 => StatusCode::TOO_MANY_REQUESTS,
        s if s >= 500 => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The token endpoint's refusal (RFC 6749 codes), in words.
fn refusal_message(e: &ApiError) -> String {
    match (e.status.as_u16(), e.code.as_str()) {
        (_, "account_disabled") => {
            "This account is disabled. Ask the store's owner to enable it again.".to_owned()
        }
        (400, "invalid_grant" | "invalid_request") | (401, _) => {
            "The store, email or password is not right.".to_owned()
        }
        _ => e.plain_message(),
    }
}

/// `/admin/{store}` without the slash: the store's home.
async fn to_home(axum::extract::Path(store): axum::extract::Path<String>) -> Response {
    if plausible_store(&store) {
        Redirect::to(&format!("/admin/{store}/")).into_response()
    } else {
        to_sign_in("")
    }
}

/// Revokes the session and deletes the admin's cookies for this store.
async fn sign_out(mut session: Session) -> Response {
    session.sign_out().await;
    let query = serde_urlencoded::to_string([("store", session.store.as_str()), ("signed_out", "1")])
        .unwrap_or_default();
    Redirect::to(&format!("/admin?{query}")).into_response()
}
