//! A stand-in for a WooCommerce shop's web server, for strangler-fig tests (ADR 0016): it reads
//! WordPress's and WooCommerce's tables (the fixture's, under a table prefix) on every request,
//! so a test changes what it serves with an `UPDATE`.
//!
//! It answers the legacy pages the strangler redirects once they move — `/product/{slug}/` and
//! `/product-category/{…/}{slug}/`, as small HTML pages — and, in Mercato's REST shape, the
//! public product read `GET /v1/stores/{store}/products/{slug}` (`slug`, `title`,
//! `description`, `status`), so a shadowed route has a like-for-like pair to compare. Each JSON
//! answer carries `generated_at`, the time it was made and a sequence number, different on
//! every call: the noise shadow comparison must cancel. Every answer names itself in
//! `x-served-by: legacy-standin`.

mod db;
mod pages;
pub mod tiny;

use axum::Router;
use axum::routing::get;
use sqlx::MySqlPool;
use std::sync::Arc;

/// The stand-in's view of the shop's database.
#[derive(Clone)]
struct Shop {
    pool: MySqlPool,
    tables: Arc<db::Tables>,
}

/// The stand-in's routes over `pool`'s tables under `prefix` (e.g. `wp_`).
pub fn router(pool: MySqlPool, prefix: &str) -> anyhow::Result<Router> {
    let shop = Shop {
        pool,
        tables: Arc::new(db::Tables::new(prefix)?),
    };
    Ok(Router::new()
        .route("/product/{slug}", get(pages::product_page))
        .route("/product/{slug}/", get(pages::product_page))
        .route("/product-category/{*path}", get(pages::category_page))
        .route("/v1/stores/{store}/products/{slug}", get(pages::product_json))
        .fallback(pages::not_found)
        .layer(axum::middleware::map_response(pages::served_by))
        .with_state(shop))
}

/// Serves the stand-in on `listener` for the shop in `mysql_url` (a URL naming the database)
/// under table `prefix`, until the task is dropped or the listener fails.
pub async fn serve(mysql_url: &str, prefix: &str, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(4)
        .connect(mysql_url)
        .await?;
    axum::serve(listener, router(pool, prefix)?).await?;
    Ok(())
}
