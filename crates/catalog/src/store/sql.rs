//! The SQL implementation of [`CatalogStore`], one text for SQLite and PostgreSQL.
//!
//! Each write is one [`Db::write`] closure: one transaction, committed when the closure returns
//! `Ok` and rolled back when it returns `Err` (on SQLite its one write
//! connection may commit it together with other queued transactions). Reads of several statements
//! are one [`Db::read`] closure; single-statement reads use [`Db::query_opt`] and friends.

use super::rows::{
    CategoryRow, PRODUCT_COLUMNS, ProductRow, VariantRow, category, decode_values, encode_options, parse,
    product,
};
use super::{CatalogStore, ProductQuery, Refusal, StoreError, UniqueField};
use crate::domain::{
    CategoryId, CategoryRecord, ProductId, ProductRecord, Sort, Synonyms, VariantId, VariantRecord,
};
use mercato_proto::events::EventEnvelope;
use mercato_runtime::db::{Db, DbError, Param, Tx};
use mercato_runtime::ids::StoreId;
use mercato_runtime::{inbox, outbox};
use std::collections::HashMap;

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

/// Maps a unique violation to the field whose value was taken.
pub(super) fn conflict(e: DbError) -> StoreError {
    // The message names the constraint or its columns on both engines (`variants.sku` on
    // SQLite, `variants_store_id_sku_key` on PostgreSQL).
    let DbError::UniqueViolation(text) = &e else {
        return StoreError::Db(e);
    };
    let field = if text.contains("sku") {
        UniqueField::Sku
    } else {
        UniqueField::Slug
    };
    StoreError::Refused(Refusal::Taken(field))
}

/// `$from, $from+1, …` for `n` values.
pub(super) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_product_rows(tx: &mut Tx<'_>, store: &StoreId, p: &ProductRecord) -> Result<(), StoreError> {
    for (position, v) in p.variants.iter().enumerate() {
        let position = position as i64;
        tx.execute(
            "INSERT INTO variants (id, product_id, store_id, sku, title, price_minor, currency, position,
               weight_grams, requires_shipping, option_values)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &v.id,
                &p.id,
                store,
                &v.sku,
                &v.title,
                &v.price_minor,
                &p.currency,
                &position,
                &v.weight_grams,
                &v.requires_shipping,
                &v.option_values.join("\t"),
            ],
        )
        .map_err(conflict)?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl CatalogStore for SqlCatalogStore {
    async fn store_currency(&self, store: &StoreId) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = self
            .db
            .query_opt(
                "SELECT currency FROM catalog_stores WHERE store_id = $1",
                &[store],
            )
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
        let store = *store;
        let slug = slug.to_owned();
        let currency = currency.to_owned();
        let consumer = consumer.to_owned();
        let event_id = event_id.to_owned();
        self.db
            .write("record_store", move |tx| {
                if !inbox::first_delivery(tx, &consumer, &event_id)? {
                    return Ok(false);
                }
                tx.execute(
                    "INSERT INTO catalog_stores (store_id, slug, currency, provisioned_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (store_id) DO UPDATE SET slug = excluded.slug, currency = excluded.currency",
                    &[&store, &slug, &currency, &mercato_runtime::time::now_ms()],
                )?;
                Ok(true)
            })
            .await
    }

    async fn insert_category(
        &self,
        store: &StoreId,
        c: &CategoryRecord,
        event: &EventEnvelope,
    ) -> Result<(), StoreError> {
        let store = *store;
        let c = c.clone();
        let event = event.clone();
        self.db
            .write("insert_category", move |tx| {
                tx.execute(
                    "INSERT INTO categories (id, store_id, slug, name, parent_id, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&c.id, &store, &c.slug, &c.name, &c.parent_id, &c.created_at_ms],
                )
                .map_err(conflict)?;
                outbox::append(tx, &event)?;
                Ok(())
            })
            .await
    }

    async fn category_by_id(
        &self,
        store: &StoreId,
        id: &CategoryId,
    ) -> Result<Option<CategoryRecord>, StoreError> {
        let row: Option<CategoryRow> = self
            .db
            .query_opt(
                "SELECT id, slug, name, parent_id, created_at FROM categories WHERE store_id = $1 AND id = $2",
                &[store, id],
            )
            .await?;
        row.map(category).transpose()
    }

    async fn category_by_slug(
        &self,
        store: &StoreId,
        slug: &str,
    ) -> Result<Option<CategoryRecord>, StoreError> {
        let row: Option<CategoryRow> = self
            .db
            .query_opt(
                "SELECT id, slug, name, parent_id, created_at FROM categories WHERE store_id = $1 AND slug = $2",
                &[store, &slug],
            )
            .await?;
        row.map(category).transpose()
    }

    async fn categories(&self, store: &StoreId) -> Result<Vec<CategoryRecord>, StoreError> {
        let rows: Vec<CategoryRow> = self
            .db
            .query_all(
                "SELECT id, slug, name, parent_id, created_at FROM categories WHERE store_id = $1
                 ORDER BY name, id",
                &[store],
            )
            .await?;
        rows.into_iter().map(category).collect()
    }

    async fn insert_product(
        &self,
        store: &StoreId,
        p: &ProductRecord,
        event: &EventEnvelope,
    ) -> Result<(), StoreError> {
        let store = *store;
        let p = p.clone();
        let event = event.clone();
        self.db
            .write("insert_product", move |tx| {
                tx.execute(
                    "INSERT INTO products (id, store_id, slug, title, title_key, description, category_id,
                       min_price_minor, currency, version, created_at, updated_at, tax_category, status, options)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                    &[
                        &p.id,
                        &store,
                        &p.slug,
                        &p.title,
                        &p.title.to_lowercase(),
                        &p.description,
                        &p.category_id,
                        &p.min_price_minor(),
                        &p.currency,
                        &p.version,
                        &p.created_at_ms,
                        &p.updated_at_ms,
                        &p.tax_category,
                        &p.status.as_str(),
                        &encode_options(&p.options),
                    ],
                )
                .map_err(conflict)?;
                write_product_rows(tx, &store, &p)?;
                outbox::append(tx, &event)?;
                Ok(())
            })
            .await
    }

    async fn update_product(
        &self,
        store: &StoreId,
        p: &ProductRecord,
        expected_version: i64,
        event: &EventEnvelope,
    ) -> Result<(), StoreError> {
        let store = *store;
        let p = p.clone();
        let event = event.clone();
        self.db
            .write("update_product", move |tx| {
                let done = tx
                    .execute(
                        "UPDATE products SET slug = $1, title = $2, title_key = $3, description = $4,
                           category_id = $5, min_price_minor = $6, currency = $7, version = $8, updated_at = $9,
                           tax_category = $13, status = $14, options = $15
                         WHERE store_id = $10 AND id = $11 AND version = $12",
                        &[
                            &p.slug,
                            &p.title,
                            &p.title.to_lowercase(),
                            &p.description,
                            &p.category_id,
                            &p.min_price_minor(),
                            &p.currency,
                            &p.version,
                            &p.updated_at_ms,
                            &store,
                            &p.id,
                            &expected_version,
                            &p.tax_category,
                            &p.status.as_str(),
                            &encode_options(&p.options),
                        ],
                    )
                    .map_err(conflict)?;
                if done != 1 {
                    return Err(StoreError::Stale);
                }
                tx.execute(
                    "DELETE FROM variants WHERE store_id = $1 AND product_id = $2",
                    &[&store, &p.id],
                )?;
                write_product_rows(tx, &store, &p)?;
                outbox::append(tx, &event)?;
                Ok(())
            })
            .await
    }

    async fn delete_product(
        &self,
        store: &StoreId,
        id: &ProductId,
        expected_version: i64,
        event: &EventEnvelope,
    ) -> Result<(), StoreError> {
        let store = *store;
        let id = *id;
        let event = event.clone();
        self.db
            .write("delete_product", move |tx| {
                let done = tx.execute(
                    "DELETE FROM products WHERE store_id = $1 AND id = $2 AND version = $3",
                    &[&store, &id, &expected_version],
                )?;
                if done != 1 {
                    return Err(StoreError::Stale);
                }
                tx.execute(
                    "DELETE FROM variants WHERE store_id = $1 AND product_id = $2",
                    &[&store, &id],
                )?;
                tx.execute(
                    "DELETE FROM product_images WHERE store_id = $1 AND product_id = $2",
                    &[&store, &id],
                )?;
                outbox::append(tx, &event)?;
                Ok(())
            })
            .await
    }

    async fn product(&self, store: &StoreId, id: &ProductId) -> Result<Option<ProductRecord>, StoreError> {
        let store = *store;
        let id = *id;
        self.db
            .read("product", move |tx| load_product(tx, &store, &id))
            .await
    }

    async fn product_id_by_slug(&self, store: &StoreId, slug: &str) -> Result<Option<ProductId>, StoreError> {
        let row: Option<(String,)> = self
            .db
            .query_opt(
                "SELECT id FROM products WHERE store_id = $1 AND slug = $2",
                &[store, &slug],
            )
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
        // Fixed text, no value: the public see active products only.
        let mut filter = if q.public_only {
            "store_id = $1 AND status = 'active'".to_owned()
        } else {
            "store_id = $1".to_owned()
        };
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
        let store = *store;
        let (limit, offset) = (q.limit, q.offset);
        self.db
            .read("products", move |tx| {
                let mut count_params: Vec<&dyn Param> = vec![&store];
                for c in bound.iter().flatten() {
                    count_params.push(c);
                }
                let mut page_params = count_params.clone();
                page_params.push(&limit);
                page_params.push(&offset);
                let rows: Vec<ProductRow> = tx.query_all(&page_sql, &page_params)?;
                let (total,): (i64,) = tx.query_one(&count_sql, &count_params)?;
                let mut products = rows
                    .into_iter()
                    .map(|r| product(&store, r))
                    .collect::<Result<Vec<_>, _>>()?;
                attach_variants(tx, &store, &mut products)?;
                super::images::attach_images(tx, &store, &mut products)?;
                Ok((products, u64::try_from(total).unwrap_or(0)))
            })
            .await
    }

    async fn synonyms(&self, store: &StoreId) -> Result<Synonyms, StoreError> {
        let rows: Vec<(String,)> = self
            .db
            .query_all(
                "SELECT words FROM search_synonyms WHERE store_id = $1 ORDER BY position",
                &[store],
            )
            .await?;
        let groups = rows
            .into_iter()
            .map(|(words,)| words.split(' ').map(str::to_owned).collect())
            .collect();
        Ok(Synonyms::from_stored(groups))
    }

    async fn set_synonyms(&self, store: &StoreId, synonyms: &Synonyms) -> Result<(), StoreError> {
        let store = *store;
        // Words hold no spaces (checked by `Synonyms::parse`), so a space joins them.
        let groups: Vec<String> = synonyms.groups().iter().map(|g| g.join(" ")).collect();
        self.db
            .write("set_synonyms", move |tx| {
                tx.execute("DELETE FROM search_synonyms WHERE store_id = $1", &[&store])?;
                for (position, words) in groups.iter().enumerate() {
                    let position = position as i64;
                    tx.execute(
                        "INSERT INTO search_synonyms (store_id, position, words) VALUES ($1, $2, $3)",
                        &[&store, &position, words],
                    )?;
                }
                Ok(())
            })
            .await
    }

    async fn store_ids(&self) -> Result<Vec<StoreId>, StoreError> {
        let rows: Vec<(String,)> = self
            .db
            .query_all("SELECT DISTINCT store_id FROM products", &[])
            .await?;
        rows.iter().map(|r| parse("store id", &r.0)).collect()
    }
}

/// One product with its variants and images, read in the caller's transaction.
pub(super) fn load_product(
    tx: &mut Tx<'_>,
    store: &StoreId,
    id: &ProductId,
) -> Result<Option<ProductRecord>, StoreError> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE store_id = $1 AND id = $2");
    let row: Option<ProductRow> = tx.query_opt(&sql, &[store, id])?;
    let Some(row) = row else { return Ok(None) };
    let mut products = vec![product(store, row)?];
    attach_variants(tx, store, &mut products)?;
    super::images::attach_images(tx, store, &mut products)?;
    Ok(products.pop())
}

/// One category, read in the caller's transaction.
pub(super) fn load_category(
    tx: &mut Tx<'_>,
    store: &StoreId,
    id: &CategoryId,
) -> Result<Option<CategoryRecord>, StoreError> {
    let row: Option<CategoryRow> = tx.query_opt(
        "SELECT id, slug, name, parent_id, created_at FROM categories WHERE store_id = $1 AND id = $2",
        &[store, id],
    )?;
    row.map(category).transpose()
}

/// Loads the variants of all `products` with one query.
pub(super) fn attach_variants(
    tx: &mut Tx<'_>,
    store: &StoreId,
    products: &mut [ProductRecord],
) -> Result<(), StoreError> {
    if products.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT product_id, id, sku, title, price_minor, weight_grams, requires_shipping, option_values FROM variants
         WHERE store_id = $1 AND product_id IN ({}) ORDER BY product_id, position",
        placeholders(2, products.len())
    );
    let mut params: Vec<&dyn Param> = vec![store];
    for p in products.iter() {
        params.push(&p.id);
    }
    let rows: Vec<VariantRow> = tx.query_all(&sql, &params)?;
    let mut by_product: HashMap<String, Vec<VariantRecord>> = HashMap::new();
    for (product_id, id, sku, title, price_minor, weight_grams, requires_shipping, option_values) in rows {
        let id: VariantId = parse("variant id", &id)?;
        by_product.entry(product_id).or_default().push(VariantRecord {
            id,
            sku,
            title,
            price_minor,
            weight_grams,
            requires_shipping,
            option_values: decode_values(&option_values),
        });
    }
    for p in products.iter_mut() {
        p.variants = by_product.remove(&p.id.to_string()).unwrap_or_default();
    }
    Ok(())
}
