//! A generated WooCommerce shop in MariaDB/MySQL for tests and benchmarks: WordPress's and
//! WooCommerce's tables under a table prefix, orders in HPOS's tables or as classic
//! `shop_order` posts (`Spec::order_storage`), filled with deterministic rows whose
//! records the generator also knows ([`model`]), so a test can compare what a reader gives with
//! what was written. Bad rows (a negative price, a variation without its parent, text that is
//! not UTF-8, a customer without an e-mail, an order line whose product is gone) are planted on
//! request.

pub mod ddl;
pub mod expected;
pub mod model;
pub mod people;
mod rows;
mod testdb;
mod writer;
mod writer_orders;
mod writer_people;
mod writer_planted;

pub use model::{CURRENCY, Spec};
pub use testdb::{REQUIRE_VAR, TestDatabase, URL_VAR};

use sqlx::MySqlPool;
use std::time::{Duration, Instant};

/// What [`generate`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Generated {
    /// Rows inserted, over every table.
    pub rows: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// Creates the tables for `spec.prefix` (dropping earlier ones) and fills them.
pub async fn generate(pool: &MySqlPool, spec: &Spec) -> anyhow::Result<Generated> {
    let started = Instant::now();
    let posts_charset = if spec.bad_rows { "latin1" } else { "utf8mb4" };
    ddl::create_tables_for(pool, &spec.prefix, posts_charset, spec.order_storage).await?;
    let rows = writer::write_all(pool, spec).await?;
    Ok(Generated {
        rows,
        elapsed: started.elapsed(),
    })
}
