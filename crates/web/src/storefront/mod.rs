//! The storefront under `/s/{store}/…`: what a shopper sees, from the home page to the order
//! page. Every page reads and writes through the REST API as the shopper (`Session`), and
//! every form is a plain POST answered with a redirect (303) or the same page with its errors.
//!
//! - `catalog`: home (categories, newest products), search (facets, filters; typo tolerance is
//!   the search API's), product (variants, price, live availability).
//! - `cart`: the cart (anonymous, merged on sign-in): add, change quantities, remove.
//! - `checkout`: address, shipping method, test card (tokenized first), place the order.
//! - `account`: sign up, sign in, sign out.
//! - `orders`: order history, the order page with live status and the conversation.
//! - `email`: the shopper's e-mail choice (non-transactional mail) and the landing page of a
//!   mail's unsubscribe link.
//! - `views`: the API's answers as the pages read them.

mod account;
mod cart;
mod catalog;
mod checkout;
mod email;
mod orders;
mod views;

use crate::WebState;
use crate::api::ApiError;
use crate::page::ErrorPage;
use crate::session::Session;
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

/// Every storefront route.
pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/s/{store}", get(catalog::to_home))
        .route("/s/{store}/", get(catalog::home))
        .route("/s/{store}/search", get(catalog::search))
        .route("/s/{store}/p/{product}", get(catalog::product))
        .route("/s/{store}/cart", get(cart::show))
        .route("/s/{store}/cart/items", post(cart::add))
        .route("/s/{store}/cart/items/{sku}", post(cart::set_quantity))
        .route("/s/{store}/cart/items/{sku}/remove", post(cart::remove))
        .route("/s/{store}/cart/code", post(cart::apply_code))
        .route("/s/{store}/cart/code/remove", post(cart::remove_code))
        .route("/s/{store}/checkout", get(checkout::show).post(checkout::place))
        .route("/s/{store}/checkout/address", post(checkout::address))
        .route(
            "/s/{store}/sign-in",
            get(account::sign_in_page).post(account::sign_in),
        )
        .route(
            "/s/{store}/sign-up",
            get(account::sign_up_page).post(account::sign_up),
        )
        .route("/s/{store}/sign-out", post(account::sign_out))
        .route("/s/{store}/account", get(email::to_preferences))
        .route(
            "/s/{store}/account/email",
            get(email::preferences).post(email::save_preferences),
        )
        .route(
            "/s/{store}/unsubscribe",
            get(email::unsubscribe_page).post(email::unsubscribe),
        )
        .route("/s/{store}/orders", get(orders::list))
        .route("/s/{store}/orders/{order}", get(orders::show))
        .route("/s/{store}/orders/{order}/messages", post(orders::send_message))
        .route("/s/{store}/live", get(crate::live::proxy))
}

/// What the layout of every storefront page shows: the store, whether the shopper is signed
/// in, the CSRF token of its forms, and the search words (kept in the header's search box).
pub(crate) struct Chrome {
    pub store: views::Store,
    pub csrf: String,
    pub signed_in: bool,
    pub query: String,
}

impl Chrome {
    /// The chrome of a page of `session`'s store; a store that does not exist is a 404 page.
    pub async fn load(session: &Session) -> Result<Chrome, Response> {
        let store = session
            .get(&format!("/v1/stores/{}", session.store))
            .send::<views::Store>()
            .await
            .map_err(|e| failure(&e, "/"))?;
        Ok(Chrome {
            store,
            csrf: session.csrf().to_owned(),
            signed_in: session.signed_in(),
            query: String::new(),
        })
    }

    /// The storefront's home, for links.
    pub fn home(&self) -> String {
        format!("/s/{}/", self.store.slug)
    }

    /// A storefront URL: `/s/{store}{rest}`.
    pub fn url(&self, rest: &str) -> String {
        format!("/s/{}{rest}", self.store.slug)
    }
}

/// An error page for an API refusal the page cannot recover from, in plain words.
pub(crate) fn failure(e: &ApiError, back: &str) -> Response {
    if e.is_not_found() {
        return ErrorPage::response(
            StatusCode::NOT_FOUND,
            "Not found",
            "We could not find that page. It may have been removed.",
            back,
        );
    }
    tracing::warn!(error = %e, "a storefront page could not be shown");
    let status = StatusCode::from_u16(e.status.as_u16())
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    ErrorPage::response(status, "Something went wrong", &e.plain_message(), back)
}

/// A 303 to `location`: the answer to every successful form.
pub(crate) fn see_other(location: &str) -> Response {
    axum::response::IntoResponse::into_response(axum::response::Redirect::to(location))
}
