//! The built-in web storefront: one static page, served by the binary (no Node build step).
//! Its inline `<script>` and `<style>` run under the content security policy because
//! `security_headers` allows each by its hash, computed from this page.

use crate::state::GatewayState;
use axum::Router;
use axum::response::Html;
use axum::routing::get;

/// The storefront page.
pub(crate) const PAGE: &str = include_str!("web/index.html");

/// `/`: a small storefront that browses and searches a store through the public API.
pub fn routes() -> Router<GatewayState> {
    Router::new().route("/", get(|| async { Html(PAGE) }))
}
