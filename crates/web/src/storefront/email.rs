//! The shopper's e-mail choices: `/s/{store}/account/email` (signed in: whether to receive
//! non-transactional mail such as the welcome; order mail always comes) and
//! `/s/{store}/unsubscribe?token=…`, the landing page of a mail's unsubscribe link: a button
//! that POSTs (a link alone must not unsubscribe: mail scanners follow links), then the result.

use super::{Chrome, failure, see_other};
use crate::page::{render, render_status};
use crate::session::Session;
use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize)]
struct Preferences {
    email: Option<String>,
    non_transactional: Option<bool>,
}

#[derive(Template)]
#[template(path = "shop/email_preferences.html")]
struct PreferencesPage {
    chrome: Chrome,
    email: Option<String>,
    non_transactional: bool,
    saved: bool,
}

#[derive(Deserialize, Default)]
pub(super) struct Saved {
    #[serde(default)]
    saved: bool,
}

/// Sends a signed-out shopper to sign in, and back here afterwards.
fn sign_in_first(chrome: &Chrome) -> Response {
    let here = chrome.url("/account/email");
    let next = serde_urlencoded::to_string([("next", here.as_str())]).unwrap_or_default();
    see_other(&chrome.url(&format!("/sign-in?{next}")))
}

/// `/s/{store}/account` (the link in the store's mails): the account's e-mail choices.
pub(super) async fn to_preferences(session: Session) -> Response {
    let slug = &session.store;
    if slug.is_empty() || !slug.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return crate::page::ErrorPage::response(
            StatusCode::NOT_FOUND,
            "Not found",
            "We could not find that page.",
            "/",
        );
    }
    see_other(&format!("/s/{slug}/account/email"))
}

pub(super) async fn preferences(session: Session, Query(saved): Query<Saved>) -> Response {
    let chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !session.signed_in() {
        return sign_in_first(&chrome);
    }
    let path = format!("/v1/stores/{}/me/email-preferences", chrome.store.slug);
    match session.get(&path).send::<Preferences>().await {
        Ok(p) => render(&PreferencesPage {
            chrome,
            email: p.email,
            non_transactional: p.non_transactional.unwrap_or(true),
            saved: saved.saved,
        }),
        Err(e) if e.is_unauthenticated() => sign_in_first(&chrome),
        Err(e) => failure(&e, &chrome.home()),
    }
}

/// A ticked box sends `on`; an unticked one sends nothing.
#[derive(Deserialize)]
pub(super) struct Choice {
    #[serde(default)]
    non_transactional: Option<String>,
}

pub(super) async fn save_preferences(session: Session, Form(form): Form<Choice>) -> Response {
    let chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let path = format!("/v1/stores/{}/me/email-preferences", chrome.store.slug);
    let body = serde_json::json!({ "non_transactional": form.non_transactional.is_some() });
    match session.put(&path).json(&body).send_empty().await {
        Ok(()) => see_other(&chrome.url("/account/email?saved=true")),
        Err(e) if e.is_unauthenticated() => sign_in_first(&chrome),
        Err(e) => failure(&e, &chrome.home()),
    }
}

#[derive(Template)]
#[template(path = "shop/unsubscribe.html")]
struct UnsubscribePage {
    chrome: Chrome,
    token: String,
    /// The address unsubscribed, once done.
    done: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct TokenParam {
    #[serde(default)]
    token: String,
}

pub(super) async fn unsubscribe_page(session: Session, Query(q): Query<TokenParam>) -> Response {
    let chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let error = q
        .token
        .is_empty()
        .then(|| "This link has no token. Use the link in the e-mail as it is.".to_owned());
    render(&UnsubscribePage {
        chrome,
        token: q.token,
        done: None,
        error,
    })
}

#[derive(Deserialize)]
struct Unsubscribed {
    email: String,
}

/// The button's POST; the token is the form's, else the link's query (`?token=`).
pub(super) async fn unsubscribe(
    session: Session,
    Query(query): Query<TokenParam>,
    Form(mut form): Form<TokenParam>,
) -> Response {
    let chrome = match Chrome::load(&session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if form.token.is_empty() {
        form.token = query.token;
    }
    let body = serde_json::json!({ "token": form.token });
    let answer = session
        .post("/v1/unsubscribe")
        .json(&body)
        .send::<Unsubscribed>()
        .await;
    let (status, done, error) = match answer {
        Ok(u) => (StatusCode::OK, Some(u.email), None),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::TOO_MANY_REQUESTS => (
            e.status,
            None,
            Some("This unsubscribe link is not valid. Use the link in the e-mail as it is.".to_owned()),
        ),
        Err(e) => (e.status, None, Some(e.plain_message())),
    };
    render_status(
        status,
        &UnsubscribePage {
            chrome,
            token: form.token,
            done,
            error,
        },
    )
}
