//! Signing up, in and out. Signing in merges the anonymous cart into the customer's.

use super::{Chrome, failure, see_other};
use crate::api::ApiError;
use crate::page::{render, render_status};
use crate::session::{CartRef, Session, Tokens};
use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "shop/sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    email: String,
    error: Option<String>,
    next: String,
}

#[derive(Template)]
#[template(path = "shop/sign_up.html")]
struct SignUpPage {
    chrome: Chrome,
    email: String,
    first_name: String,
    email_error: Option<String>,
    password_error: Option<String>,
    first_name_error: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct NextParam {
    #[serde(default)]
    next: String,
}

/// Where to go after signing in: a page of this store only (never another site).
fn next_page(store: &str, next: &str) -> String {
    let prefix = format!("/s/{store}/");
    if next.starts_with(&prefix) && !next.contains("//") && !next.contains('\\') {
        next.to_owned()
    } else {
        prefix
    }
}

pub(super) async fn sign_in_page(session: Session, Query(q): Query<NextParam>) -> Response {
    let chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    render(&SignInPage {
        chrome,
        email: String::new(),
        error: None,
        next: q.next,
    })
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub(super) async fn sign_in(mut session: Session, Form(form): Form<SignInForm>) -> Response {
    let chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match password_grant(&session, &form.email, &form.password).await {
        // The storefront is for customers: a staff account signs in at the admin, whose
        // session is kept apart (another cookie path).
        Ok(tokens) if crate::session::TokenClaims::read(&tokens.access_token).role != "customer" => {
            session.sign_in(&tokens);
            session.sign_out().await;
            render_status(
                StatusCode::FORBIDDEN,
                &SignInPage {
                    chrome,
                    email: form.email,
                    error: Some(
                        "This account runs the store: sign in at the admin (/admin) instead.".to_owned(),
                    ),
                    next: form.next,
                },
            )
        }
        Ok(tokens) => {
            session.sign_in(&tokens);
            merge_cart(&mut session).await;
            see_other(&next_page(&session.store, &form.next))
        }
        Err(e) => {
            let error = match e.status.as_u16() {
                400 if e.code == "invalid_grant" || e.code == "account_disabled" => {
                    "The email or password is not right.".to_owned()
                }
                _ => e.plain_message(),
            };
            render_status(
                StatusCode::UNAUTHORIZED,
                &SignInPage {
                    chrome,
                    email: form.email,
                    error: Some(error),
                    next: form.next,
                },
            )
        }
    }
}

async fn password_grant(session: &Session, email: &str, password: &str) -> Result<Tokens, ApiError> {
    session
        .api()
        .post("/v1/oauth/token")
        .client(&session.client)
        .form(&[
            ("grant_type", "password"),
            ("store", session.store.as_str()),
            ("username", email),
            ("password", password),
        ])
        .send::<Tokens>()
        .await
}

/// Moves the anonymous cart's lines into the customer's cart, which the browser keeps from
/// now on; a cart that cannot be merged (gone, checked out) is forgotten.
async fn merge_cart(session: &mut Session) {
    let Some(anonymous) = session.cart().cloned() else {
        return;
    };
    if anonymous.token.is_empty() {
        // Another customer's cart (signed out without clearing): not this one's.
        session.clear_cart();
        return;
    }
    let path = format!("/v1/stores/{}/carts/merge", session.store);
    let body = serde_json::json!({"cart_id": anonymous.id, "cart_token": anonymous.token});
    match session.post(&path).json(&body).send::<super::views::Cart>().await {
        Ok(merged) => session.set_cart(CartRef {
            id: merged.id,
            token: String::new(),
        }),
        Err(e) => {
            tracing::debug!(error = %e, "the anonymous cart was not merged");
            session.clear_cart();
        }
    }
}

pub(super) async fn sign_up_page(session: Session) -> Response {
    let chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    render(&SignUpPage {
        chrome,
        email: String::new(),
        first_name: String::new(),
        email_error: None,
        password_error: None,
        first_name_error: None,
        error: None,
    })
}

#[derive(Deserialize)]
pub(super) struct SignUpForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    first_name: String,
}

pub(super) async fn sign_up(mut session: Session, Form(form): Form<SignUpForm>) -> Response {
    let chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let path = format!("/v1/stores/{}/customers", session.store);
    let mut body = serde_json::json!({"email": form.email, "password": form.password});
    if !form.first_name.trim().is_empty() {
        body["first_name"] = form.first_name.trim().into();
    }
    let created = session.post(&path).json(&body).send_empty().await;
    let refused = match created {
        Ok(()) => match password_grant(&session, &form.email, &form.password).await {
            Ok(tokens) => {
                session.sign_in(&tokens);
                merge_cart(&mut session).await;
                return see_other(&format!("/s/{}/", session.store));
            }
            Err(e) => return failure(&e, &format!("/s/{}/sign-in", session.store)),
        },
        Err(e) => e,
    };
    let field = |name: &str| refused.field(name).map(crate::api::sentence);
    let (email_error, password_error, first_name_error) =
        (field("email"), field("password"), field("first_name"));
    let error = match refused.status.as_u16() {
        409 => Some("An account with this email exists already. Sign in instead.".to_owned()),
        _ if email_error.is_none() && password_error.is_none() && first_name_error.is_none() => {
            Some(refused.plain_message())
        }
        _ => None,
    };
    let status = StatusCode::from_u16(refused.status.as_u16()).unwrap_or(StatusCode::BAD_REQUEST);
    render_status(
        status,
        &SignUpPage {
            chrome,
            email: form.email,
            first_name: form.first_name,
            email_error,
            password_error,
            first_name_error,
            error,
        },
    )
}

/// "Sign out": the refresh token is revoked, the cookies deleted, and a customer's cart
/// (which an anonymous browser cannot open) forgotten.
pub(super) async fn sign_out(mut session: Session) -> Response {
    session.sign_out().await;
    if session.cart().is_some_and(|c| c.token.is_empty()) {
        session.clear_cart();
    }
    see_other(&format!("/s/{}/", session.store))
}
