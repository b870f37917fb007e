//! Legacy imports (ADR 0016), owner only: `POST /v1/stores/{store}/imports/{source}/{entity}`
//! upserts a batch of records by legacy key; `GET …/{entity}/checksums` and `…/{entity}/records`
//! give a key range's segments and records as stored, for reconciliation; `GET
//! /v1/stores/{store}/imports/{source}` how far each entity got. The owning service does the
//! work (catalog: categories and products; inventory: stock; identity: customers; orders:
//! orders); the shapes are `crate::dto_imports`.

use crate::state::GatewayState;
use axum::Router;

/// This module's routes.
pub(crate) fn routes() -> Router<GatewayState> {
    Router::new()
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(tags((name = "imports", description = "Moving a shop off a legacy platform: batches of records, and reconciliation")))]
pub(crate) struct ApiDoc;
