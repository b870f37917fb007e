//! The built-in web storefront: one static page, served by the binary (no Node build step).

use crate::state::GatewayState;
use axum::Router;
use axum::response::Html;
use axum::routing::get;

/// `/`: a small storefront that browses and searches a store through the public API.
pub fn routes() -> Router<GatewayState> {
    Router::new().route("/", get(|| async { Html(include_str!("web/index.html")) }))
}
