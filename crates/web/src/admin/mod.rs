//! The admin under `/admin/{store}/…`: the merchant's pages (owned by the admin's authors;
//! each module's routes are merged here).

use crate::WebState;
use axum::Router;

/// Every admin route.
pub(crate) fn routes() -> Router<WebState> {
    Router::new()
}
