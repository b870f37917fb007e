//! The stand-in's reads: one query per page, by slug, on WordPress's table layout.

use sqlx::{MySqlPool, Row};

/// The table names under a prefix.
pub struct Tables {
    posts: String,
    terms: String,
    term_taxonomy: String,
}

impl Tables {
    /// Tables under `prefix`, which must be letters, digits and `_` (it is written into SQL).
    pub fn new(prefix: &str) -> anyhow::Result<Tables> {
        if !prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            anyhow::bail!("table prefix {prefix:?} must be letters, digits and _");
        }
        Ok(Tables {
            posts: format!("{prefix}posts"),
            terms: format!("{prefix}terms"),
            term_taxonomy: format!("{prefix}term_taxonomy"),
        })
    }
}

/// A product as the legacy shop shows it.
pub struct Product {
    pub slug: String,
    pub title: String,
    pub description: String,
    /// WordPress's `post_status` (`publish`, `draft`, `private`, `trash`, …).
    pub status: String,
}

/// The product post named `slug`, if any.
pub async fn product(pool: &MySqlPool, tables: &Tables, slug: &str) -> sqlx::Result<Option<Product>> {
    let sql = format!(
        "SELECT post_name, post_title, post_content, post_status FROM {} \
         WHERE post_type = 'product' AND post_name = ? ORDER BY ID LIMIT 1",
        tables.posts
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(slug)
        .fetch_optional(pool)
        .await?;
    row.map(|row| {
        Ok(Product {
            slug: text(&row, 0)?,
            title: text(&row, 1)?,
            description: text(&row, 2)?,
            status: text(&row, 3)?,
        })
    })
    .transpose()
}

/// The name of the product category `slug`, if any.
pub async fn category(pool: &MySqlPool, tables: &Tables, slug: &str) -> sqlx::Result<Option<String>> {
    let sql = format!(
        "SELECT t.name FROM {} t JOIN {} tt ON tt.term_id = t.term_id \
         WHERE tt.taxonomy = 'product_cat' AND t.slug = ? LIMIT 1",
        tables.terms, tables.term_taxonomy
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(slug)
        .fetch_optional(pool)
        .await?;
    row.map(|row| text(&row, 0)).transpose()
}

/// A text column read as bytes (legacy tables hold text in any charset), invalid UTF-8 replaced.
fn text(row: &sqlx::mysql::MySqlRow, index: usize) -> sqlx::Result<String> {
    let bytes: Vec<u8> = row.try_get(index)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
