//! The SQL implementation of [`CatalogStore`], one text for SQLite and PostgreSQL.

use super::{CatalogStore, ProductQuery, StoreError};
use crate::domain::{CategoryId, CategoryRecord, ProductId, ProductRecord, Sort, VariantId, VariantRecord};
use mercato_proto::events::EventEnvelope;
use mercato_runtime::db::{Db, is_unique_violation};
use mercato_runtime::ids::StoreId;
use mercato_runtime::{inbox, outbox};
use sqlx::AssertSqlSafe;
use std::collections::HashMap;
use std::str::FromStr;

/// The catalog's tables in a [`Db`].
#[derive(Clone)]
pub struct SqlCatalogStore {
    db: Db,
}

impl SqlCatalogStore {
    pub fn new(db: Db) -> Self {
        SqlCatalogStore { db }
    }
}

type CategoryRow = (String, String, String, Option<String>, i64);
type ProductRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    i64,
);
type VariantRow = (String, String, String, String, i64);

const PRODUCT_COLUMNS: &str =
    "id, slug, title, description, category_id, currency, version, created_at, updated_at";

fn parse<T: FromStr>(what: &str, s: &str) -> Result<T, StoreError> {
    T::from_str(s).map_err(|_| StoreError::Corrupt(format!("{what} {s:?} is not a uuid")))
}

fn category(row: CategoryRow) -> Result<CategoryRecord, StoreError> {
    let (id, slug, name, parent_id, created_at_ms) = row;
    Ok(CategoryRecord {
        id: parse("category id", &id)?,
        slug,
        name,
        parent_id: parent_id.map(|p| parse("parent id", &p)).transpose()?,
        created_at_ms,
    })
}

fn product(store: &StoreId, row: ProductRow) -> Result<ProductRecord, StoreError> {
    let (id, slug, title, description, category_id, currency, version, created, updated) = row;
    Ok(ProductRecord {
        id: parse("product id", &id)?,
        store_id: *store,
        slug,
        title,
        description,
        category_id: category_id.map(|c| parse("category id", &c)).transpose()?,
        currency,
        variants: Vec::new(),
        version,
        created_at_ms: created,
        updated_at_ms: updated,
    })
}

/// Maps a unique violation to the field whose value was taken.
fn conflict(e: sqlx::Error) -> StoreError {
    if !is_unique_violation(&e) {
        return StoreError::Db(e);
    }
    let text = match &e {
        sqlx::Error::Database(d) => format!("{} {}", d.message(), d.constraint().unwrap_or("")),
        _ => String::new(),
    };
    let field = if text.contains("sku") { "sku" } else { "slug" };
    StoreError::Conflict { field }
}

/// `$from, $from+1, …` for `n` values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn write_product_rows(
    tx: &mut sqlx::AnyConnection,
    store: &StoreId,
    p: &ProductRecord,
) -> Result<(), StoreError> {
    for (position, v) in p.variants.iter().enumerate() {
        sqlx::query(
            "INSERT INTO variants (id, product_id, store_id, sku, title, price_minor, currency, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(v.id.to_string())
        .bind(p.id.to_string())
        .bind(store.to_string())
        .bind(&v.sku)
        .bind(&v.title)
        .bind(v.price_minor)
        .bind(&p.currency)
        .bind(position as i64)
        .execute(&mut *tx)
        .await
        .map_err(conflict)?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl CatalogStore for SqlCatalogStore {
    async fn store_currency(&self, store: &StoreId) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT currency FROM catalog_stores WHERE store_id = $1")
                .bind(store.to_string())
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(|r| r.0))
    }

    async fn record_store(
        &self,
        store: &StoreId,
        slug: &str,
        currency: &str,
        consumer: &str,
        event_id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.db.begin_write().await?;
        if !inbox::first_delivery(&mut tx, consumer, event_id).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO catalog_stores (store_id, slug, currency, provisioned_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (store_id) DO UPDATE SET slug = excluded.slug, currency = excluded.currency",
        )
        .bind(store.to_string())
        .bind(slug)
        .bind(currency)
        .bind(mercato_runtime::time::now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn insert_category(
        &self,
        store: &StoreId,
        c: &CategoryRecord,
        event: &EventEnvelope,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO categories (id, store_id, slug, name, parent_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.id.to_string())
        .bind(store.to_string())
        .bind(&c.slug)
        .bind(&c.name)
        .bind(c.parent_id.map(|p| p.to_string()))
        .bind(c.created_at_ms)
        .execute(&mut *tx)
        .await
        .map_err(conflict)?;
        outbox::append(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn category_by_id(
        &self,
        store: &StoreId,
        id: &CategoryId,
    ) -> Result<Option<CategoryRecord>, StoreError> {
        let row: Option<CategoryRow> = sqlx::query_as(
            "SELECT id, slug, name, parent_id, created_at FROM categories WHERE store_id = $1 AND id = $2",
        )
        .bind(store.to_string())
        .bind(id.to_string())
        .fetch_optional(self.db.pool())
        .await?;
        row.map(category).transpose()
    }

    async fn category_by_slug(
        &self,
        store: &StoreId,
        slug: &str,
    ) -> Result<Option<CategoryRecord>, StoreError> {
        let row: Option<CategoryRow> = sqlx::query_as(
            "SELECT id, slug, name, parent_id, created_at FROM categories WHERE store_id = $1 AND slug = $2",
        )
        .bind(store.to_string())
        .bind(slug)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(category).transpose()
    }

    async fn categories(&self, store: &StoreId) -> Result<Vec<CategoryRecord>, StoreError> {
        let rows: Vec<CategoryRow> = sqlx::query_as(
            "SELECT id, slug, name, parent_id, created_at FROM categories WHERE store_id = $1
             ORDER BY name, id",
        )
        .bind(store.to_string())
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter().map(category).collect()
    }

    async fn insert_product(
        &self,
        store: &StoreId,
        p: &ProductRecord,
        event: &EventEnvelope,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO products (id, store_id, slug, title, title_key, description, category_id,
               min_price_minor, currency, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(p.id.to_string())
        .bind(store.to_string())
        .bind(&p.slug)
        .bind(&p.title)
        .bind(p.title.to_lowercase())
        .bind(&p.description)
        .bind(p.category_id.map(|c| c.to_string()))
        .bind(p.min_price_minor())
        .bind(&p.currency)
        .bind(p.version)
        .bind(p.created_at_ms)
        .bind(p.updated_at_ms)
        .execute(&mut *tx)
        .await
        .map_err(conflict)?;
        write_product_rows(&mut tx, store, p).await?;
        outbox::append(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_product(
        &self,
        store: &StoreId,
        p: &ProductRecord,
        expected_version: i64,
        event: &EventEnvelope,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query(
            "UPDATE products SET slug = $1, title = $2, title_key = $3, description = $4,
               category_id = $5, min_price_minor = $6, currency = $7, version = $8, updated_at = $9
             WHERE store_id = $10 AND id = $11 AND version = $12",
        )
        .bind(&p.slug)
        .bind(&p.title)
        .bind(p.title.to_lowercase())
        .bind(&p.description)
        .bind(p.category_id.map(|c| c.to_string()))
        .bind(p.min_price_minor())
        .bind(&p.currency)
        .bind(p.version)
        .bind(p.updated_at_ms)
        .bind(store.to_string())
        .bind(p.id.to_string())
        .bind(expected_version)
        .execute(&mut *tx)
        .await
        .map_err(conflict)?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        sqlx::query("DELETE FROM variants WHERE store_id = $1 AND product_id = $2")
            .bind(store.to_string())
            .bind(p.id.to_string())
            .execute(&mut *tx)
            .await?;
        write_product_rows(&mut tx, store, p).await?;
        outbox::append(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_product(
        &self,
        store: &StoreId,
        id: &ProductId,
        expected_version: i64,
        event: &EventEnvelope,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query("DELETE FROM products WHERE store_id = $1 AND id = $2 AND version = $3")
            .bind(store.to_string())
            .bind(id.to_string())
            .bind(expected_version)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        sqlx::query("DELETE FROM variants WHERE store_id = $1 AND product_id = $2")
            .bind(store.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        outbox::append(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn product(&self, store: &StoreId, id: &ProductId) -> Result<Option<ProductRecord>, StoreError> {
        let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE store_id = $1 AND id = $2");
        let row: Option<ProductRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(store.to_string())
            .bind(id.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut products = vec![product(store, row)?];
        self.attach_variants(store, &mut products).await?;
        Ok(products.pop())
    }

    async fn product_id_by_slug(&self, store: &StoreId, slug: &str) -> Result<Option<ProductId>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT id FROM products WHERE store_id = $1 AND slug = $2")
                .bind(store.to_string())
                .bind(slug)
                .fetch_optional(self.db.pool())
                .await?;
        row.map(|r| parse("product id", &r.0)).transpose()
    }

    async fn products(
        &self,
        store: &StoreId,
        q: &ProductQuery,
    ) -> Result<(Vec<ProductRecord>, u64), StoreError> {
        // Only placeholders and fixed fragments are interpolated; every value is bound. An empty
        // category list still gets one placeholder, bound to "", which no id equals.
        let bound: Option<Vec<String>> = q.categories.as_ref().map(|ids| {
            let mut ids: Vec<String> = ids.iter().map(|c| c.to_string()).collect();
            if ids.is_empty() {
                ids.push(String::new());
            }
            ids
        });
        let mut filter = "store_id = $1".to_owned();
        let mut next = 2;
        if let Some(ids) = &bound {
            filter.push_str(&format!(" AND category_id IN ({})", placeholders(2, ids.len())));
            next += ids.len();
        }
        let order = match q.sort {
            Sort::Newest => "created_at DESC, id DESC",
            Sort::PriceAsc => "min_price_minor ASC, id ASC",
            Sort::PriceDesc => "min_price_minor DESC, id ASC",
            Sort::Title => "title_key ASC, id ASC",
        };
        let page_sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE {filter} ORDER BY {order} LIMIT ${next} OFFSET ${}",
            next + 1
        );
        let count_sql = format!("SELECT COUNT(*) FROM products WHERE {filter}");
        let mut page = sqlx::query_as::<_, ProductRow>(AssertSqlSafe(page_sql)).bind(store.to_string());
        let mut count = sqlx::query_as::<_, (i64,)>(AssertSqlSafe(count_sql)).bind(store.to_string());
        for c in bound.iter().flatten() {
            page = page.bind(c.clone());
            count = count.bind(c.clone());
        }
        let rows = page
            .bind(q.limit)
            .bind(q.offset)
            .fetch_all(self.db.pool())
            .await?;
        let (total,) = count.fetch_one(self.db.pool()).await?;
        let mut products = rows
            .into_iter()
            .map(|r| product(store, r))
            .collect::<Result<Vec<_>, _>>()?;
        self.attach_variants(store, &mut products).await?;
        Ok((products, u64::try_from(total).unwrap_or(0)))
    }

    async fn store_ids(&self) -> Result<Vec<StoreId>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT store_id FROM products")
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(|r| parse("store id", &r.0)).collect()
    }
}

impl SqlCatalogStore {
    /// Loads the variants of all `products` with one query.
    async fn attach_variants(
        &self,
        store: &StoreId,
        products: &mut [ProductRecord],
    ) -> Result<(), StoreError> {
        if products.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "SELECT product_id, id, sku, title, price_minor FROM variants
             WHERE store_id = $1 AND product_id IN ({}) ORDER BY product_id, position",
            placeholders(2, products.len())
        );
        let mut query = sqlx::query_as::<_, VariantRow>(AssertSqlSafe(sql)).bind(store.to_string());
        for p in products.iter() {
            query = query.bind(p.id.to_string());
        }
        let mut by_product: HashMap<String, Vec<VariantRecord>> = HashMap::new();
        for (product_id, id, sku, title, price_minor) in query.fetch_all(self.db.pool()).await? {
            let id: VariantId = parse("variant id", &id)?;
            by_product.entry(product_id).or_default().push(VariantRecord {
                id,
                sku,
                title,
                price_minor,
            });
        }
        for p in products.iter_mut() {
            p.variants = by_product.remove(&p.id.to_string()).unwrap_or_default();
        }
        Ok(())
    }
}
