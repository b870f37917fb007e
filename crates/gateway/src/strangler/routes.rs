//! The store owner's view of a migration: the current routing of their store
//! (`GET /v1/stores/{store}/migration/routes`) and the shadow comparisons with their newest
//! differing pairs (`GET /v1/stores/{store}/migration/shadow`). The legacy shop's address is the
//! operator's and is not shown.

use super::Strangler;
use super::shadow::RouteBook;
use crate::access::{Owner, StoreScope};
use crate::state::GatewayState;
use axum::routing::get;
use axum::{Extension, Json, Router};
use mercato_runtime::config::RouteRule;
use serde::Serialize;
use std::sync::Arc;

/// These routes (merged into the API's; the strangler hands itself to them per request).
pub(crate) fn routes() -> Router<GatewayState> {
    Router::new()
        .route("/v1/stores/{store}/migration/routes", get(current_routes))
        .route("/v1/stores/{store}/migration/shadow", get(shadow_results))
}

/// A store's routing now.
#[derive(Serialize)]
struct RoutesView {
    store: String,
    /// Whether the routing file names this store.
    routed: bool,
    /// Host names whose requests belong to the store.
    hosts: Vec<String>,
    routes: Vec<RouteRule>,
}

async fn current_routes(
    scope: StoreScope<Owner>,
    strangler: Option<Extension<Arc<Strangler>>>,
) -> Json<RoutesView> {
    let slug = scope.store.slug;
    let table = strangler.map(|s| s.current.get());
    let config = table
        .as_ref()
        .and_then(|t| t.by_slug(&slug))
        .map(|s| s.config.clone());
    Json(RoutesView {
        store: slug,
        routed: config.is_some(),
        hosts: config.as_ref().map(|c| c.hosts.clone()).unwrap_or_default(),
        routes: config.map(|c| c.routes).unwrap_or_default(),
    })
}

/// A store's shadow comparisons, per route prefix.
#[derive(Serialize)]
struct ShadowView {
    store: String,
    routes: Vec<RouteShadowView>,
}

#[derive(Serialize)]
struct RouteShadowView {
    prefix: String,
    #[serde(flatten)]
    book: RouteBook,
}

async fn shadow_results(
    scope: StoreScope<Owner>,
    strangler: Option<Extension<Arc<Strangler>>>,
) -> Json<ShadowView> {
    let slug = scope.store.slug;
    let books = strangler.map(|s| s.book.of_store(&slug)).unwrap_or_default();
    Json(ShadowView {
        store: slug,
        routes: books
            .into_iter()
            .map(|(prefix, book)| RouteShadowView { prefix, book })
            .collect(),
    })
}
