//! A tiny legacy shop for the stand-in's tests: its own database `mercato_test_<hex>` on a
//! MariaDB/MySQL server with the few WordPress tables (and columns) the stand-in reads, one
//! published product and one product category, and a way to change the product's title in
//! place (a planted difference). The full WooCommerce fixture is `fixture`.

use anyhow::Context;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, MySqlPool};
use std::str::FromStr;

/// The product's slug, title and description in a new tiny shop.
pub const PRODUCT: (&str, &str, &str) = ("blue-shirt", "Blue shirt", "Cotton.");
/// The category's slug and name (a child of `clothing`).
pub const CATEGORY: (&str, &str) = ("shirts", "Shirts");
/// Its tables' prefix.
pub const PREFIX: &str = "wp_";

/// A tiny shop's database; [`TinyShop::drop_database`] removes it.
pub struct TinyShop {
    server_url: String,
    name: String,
    pool: MySqlPool,
}

const TABLES: [&str; 5] = [
    "CREATE TABLE wp_posts (ID BIGINT UNSIGNED PRIMARY KEY, post_title TEXT NOT NULL, \
     post_name VARCHAR(200) NOT NULL, post_content LONGTEXT NOT NULL, \
     post_status VARCHAR(20) NOT NULL, post_type VARCHAR(20) NOT NULL)",
    "CREATE TABLE wp_terms (term_id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(200) NOT NULL, \
     slug VARCHAR(200) NOT NULL)",
    "CREATE TABLE wp_term_taxonomy (term_taxonomy_id BIGINT UNSIGNED PRIMARY KEY, \
     term_id BIGINT UNSIGNED NOT NULL, taxonomy VARCHAR(32) NOT NULL, parent BIGINT UNSIGNED NOT NULL)",
    "INSERT INTO wp_posts VALUES (10, 'Blue shirt', 'blue-shirt', 'Cotton.', 'publish', 'product'), \
     (11, 'Hidden', 'hidden', '', 'draft', 'product')",
    "INSERT INTO wp_terms VALUES (1, 'Clothing', 'clothing'), (2, 'Shirts', 'shirts'); \
     INSERT INTO wp_term_taxonomy VALUES (1, 1, 'product_cat', 0), (2, 2, 'product_cat', 1)",
];

impl TinyShop {
    /// Creates the database and its rows on the server at `server_url` (no database in it).
    pub async fn create(server_url: &str) -> anyhow::Result<TinyShop> {
        let name = format!(
            "mercato_test_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        );
        let options = MySqlConnectOptions::from_str(server_url).context("not a MySQL URL")?;
        let mut admin = options.connect().await.context("connecting to MariaDB/MySQL")?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
        )))
        .execute(&mut admin)
        .await?;
        let pool = MySqlPoolOptions::new()
            .max_connections(2)
            .connect_with(options.database(&name))
            .await?;
        for statement in TABLES {
            sqlx::raw_sql(statement).execute(&pool).await?;
        }
        Ok(TinyShop {
            server_url: server_url.to_owned(),
            name,
            pool,
        })
    }

    /// The URL of this shop's database, for [`super::serve`].
    pub fn url(&self) -> String {
        format!("{}/{}", self.server_url.trim_end_matches('/'), self.name)
    }

    /// Changes the product's title in the legacy database.
    pub async fn set_title(&self, title: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE wp_posts SET post_title = ? WHERE ID = 10")
            .bind(title)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes the database.
    pub async fn drop_database(self) -> anyhow::Result<()> {
        self.pool.close().await;
        let options = MySqlConnectOptions::from_str(&self.server_url)?;
        let mut admin = options.connect().await?;
        sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{}`", self.name)))
            .execute(&mut admin)
            .await?;
        Ok(())
    }
}
