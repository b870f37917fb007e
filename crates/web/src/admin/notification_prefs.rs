//! `/admin/{store}/notifications`: the signed-in owner's or staff member's own e-mail choices: a
//! mail for each new order, a mail for each declined payment. Unticked boxes are absent from a
//! form, so the page sends both choices every time.

use super::access::Staff;
use crate::WebState;
use crate::page::render;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

const NAV: &str = "notifications";

pub(crate) fn routes() -> Router<WebState> {
    Router::new().route("/admin/{store}/notifications", get(show).post(save))
}

/// The preferences as the API answers a staff member.
#[derive(Deserialize)]
struct Preferences {
    email: Option<String>,
    new_orders: Option<bool>,
    payment_declines: Option<bool>,
}

#[derive(Template)]
#[template(path = "admin/notifications.html")]
struct NotificationsPage {
    store: String,
    csrf: String,
    nav: &'static str,
    email: Option<String>,
    new_orders: bool,
    payment_declines: bool,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: String,
}

async fn show(staff: Staff, Query(done): Query<Done>) -> Response {
    let path = staff.api_path("/me/email-preferences");
    let p = match staff.session.get(&path).send::<Preferences>().await {
        Ok(p) => p,
        Err(e) => return staff.failure(NAV, &e),
    };
    render(&NotificationsPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: NAV,
        email: p.email,
        new_orders: p.new_orders.unwrap_or(false),
        payment_declines: p.payment_declines.unwrap_or(false),
        notice: (done.done == "saved").then_some("Your e-mail choices are saved."),
    })
}

/// A ticked box sends `on`; an unticked one sends nothing.
#[derive(Deserialize)]
struct Choices {
    #[serde(default)]
    new_orders: Option<String>,
    #[serde(default)]
    payment_declines: Option<String>,
}

async fn save(staff: Staff, Form(form): Form<Choices>) -> Response {
    let body = serde_json::json!({
        "new_orders": form.new_orders.is_some(),
        "payment_declines": form.payment_declines.is_some(),
    });
    let path = staff.api_path("/me/email-preferences");
    match staff.session.put(&path).json(&body).send_empty().await {
        Ok(()) => Redirect::to(&format!("/admin/{}/notifications?done=saved", staff.store)).into_response(),
        Err(e) => staff.failure(NAV, &e),
    }
}
