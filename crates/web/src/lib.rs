//! The web pages of Mercato: the storefront under `/s/{store}/…` and the admin under
//! `/admin/{store}/…`, server-rendered HTML served by the binary itself (ADR 0012).
//!
//! The web is a client of the public REST API like any other: every page reads and writes
//! through the process's own API router, called in process ([`api::Api`]), with the caller's
//! access token from its cookies. No business rule lives here; a page shows what the API
//! answers, and a refusal's problem document becomes a message next to the field it names.
//!
//! # Layout
//!
//! - [`routes`] assembles the pages, their assets and the one middleware that makes every
//!   form safe (`session::protect`: same origin and CSRF double submit) and sends the cookies a
//!   handler changed.
//! - `api`: the in-process REST client and its typed errors (problem+json, per-field errors).
//! - `session`: cookies (tokens, the anonymous cart, CSRF), token refresh, sign-out; shared by
//!   the storefront and the admin, whose cookies are scoped to their own paths.
//! - `live`: `/s/{store}/live` and `/admin/{store}/live`, the WebSocket of the realtime
//!   protocol with the cookie's access token turned into a bearer header.
//! - `assets`: CSS and JS embedded in the binary, at content-hashed URLs cached forever.
//! - `storefront`: the shopper's pages; `admin`: the merchant's.
//! - `templates/`: askama templates, HTML-escaped everywhere (no `|safe` on user data).

#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod assets;
pub mod live;
pub mod page;
pub mod session;
pub mod storefront;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use mercato_runtime::config::HttpSettings;
use std::sync::Arc;

/// What every page handler shares: the API client and the settings that decide cookie flags.
#[derive(Clone)]
pub struct WebState {
    inner: Arc<Inner>,
}

struct Inner {
    api: api::Api,
    /// Proxies whose `X-Forwarded-Proto` is believed (`http.trusted_proxies`): a request they
    /// say came over TLS gets `Secure` cookies.
    trusted_proxies: Vec<ipnet::IpNet>,
}

impl WebState {
    /// The in-process client of the REST API.
    pub fn api(&self) -> &api::Api {
        &self.inner.api
    }

    pub(crate) fn trusted_proxies(&self) -> &[ipnet::IpNet] {
        &self.inner.trusted_proxies
    }
}

/// The web's routes. `api` is the process's own REST router (the gateway's routes and the
/// realtime endpoint, without the edge layers, which the caller wraps around the result too).
pub fn routes(api: Router, http: &HttpSettings) -> Router {
    let state = WebState {
        inner: Arc::new(Inner {
            api: api::Api::new(api),
            trusted_proxies: http.trusted_proxies.clone(),
        }),
    };
    Router::new()
        .route("/", get(root))
        .merge(assets::routes())
        .merge(storefront::routes())
        .merge(admin::routes())
        // Every state-changing request is same-origin and carries the CSRF token, and the
        // cookies a handler changed are sent with its answer, whatever the answer is.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::protect,
        ))
        // Tell the edge which route answered, for its metrics.
        .layer(axum::middleware::from_fn(
            mercato_runtime::http_edge::remember_route,
        ))
        .with_state(state)
}

/// The slug of the store the demo seed creates.
const DEMO_STORE: &str = "demo";

/// `/`: the demo store's storefront when there is one, else how to create a store.
async fn root(State(state): State<WebState>, client: session::Client) -> Response {
    let demo = state
        .api()
        .get(&format!("/v1/stores/{DEMO_STORE}"))
        .client(&client)
        .send::<serde_json::Value>()
        .await;
    match demo {
        Ok(_) => Redirect::to(&format!("/s/{DEMO_STORE}/")).into_response(),
        Err(_) => page::render(&page::NoStore {}),
    }
}
