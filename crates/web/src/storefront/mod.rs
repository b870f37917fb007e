//! The storefront under `/s/{store}/…`: what a shopper sees, from the home page to the order
//! page.

use crate::WebState;
use axum::Router;
use axum::routing::get;

/// Every storefront route.
pub(crate) fn routes() -> Router<WebState> {
    Router::new().route("/s/{store}/live", get(crate::live::proxy))
}
