//! The batched reads and writes of the catalog's own tables that a legacy import runs inside its
//! transaction: whole chunks of products, variants and categories per statement.

use super::StoreError;
use super::imports::{CHUNK, value_lists};
use super::rows::{CategoryRow, PRODUCT_COLUMNS, ProductRow, category, encode_options, product};
use super::sql::{attach_variants, conflict, placeholders};
use crate::domain::{CategoryId, CategoryRecord, ProductId, ProductRecord};
use mercato_runtime::db::{Param, Tx};
use mercato_runtime::ids::StoreId;

/// Every category of the store (an import checks slugs, parents and cycles against all of them;
/// a store has hundreds, not millions).
pub fn all_categories(tx: &mut Tx<'_>, store: &StoreId) -> Result<Vec<CategoryRecord>, StoreError> {
    let rows: Vec<CategoryRow> = tx.query_all(
        "SELECT id, slug, name, parent_id, created_at FROM categories WHERE store_id = $1",
        &[store],
    )?;
    rows.into_iter().map(category).collect()
}

/// Inserts new categories and replaces the slug, name and parent of existing ones.
pub fn upsert_categories(
    tx: &mut Tx<'_>,
    store: &StoreId,
    categories: &[CategoryRecord],
) -> Result<(), StoreError> {
    for chunk in categories.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO categories (id, store_id, slug, name, parent_id, created_at) VALUES {}
             ON CONFLICT (id) DO UPDATE SET slug = excluded.slug, name = excluded.name,
               parent_id = excluded.parent_id",
            value_lists(6, chunk.len())
        );
        let mut params: Vec<&dyn Param> = Vec::with_capacity(6 * chunk.len());
        for c in chunk {
            params.extend([
                &c.id as &dyn Param,
                store,
                &c.slug,
                &c.name,
                &c.parent_id,
                &c.created_at_ms,
            ]);
        }
        tx.execute(&sql, &params).map_err(conflict)?;
    }
    Ok(())
}

/// Products (with variants) of the store with one of `ids`; `for_write` locks them on
/// PostgreSQL until the transaction ends and reads their images too (the events carry them).
pub fn products_by_ids(
    tx: &mut Tx<'_>,
    store: &StoreId,
    ids: &[ProductId],
    for_write: bool,
) -> Result<Vec<ProductRecord>, StoreError> {
    let mut products = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE {}store_id = $1 AND id IN ({}){}",
            tx.filter_only(),
            placeholders(2, chunk.len()),
            if for_write { tx.lock_rows() } else { "" }
        );
        let mut params: Vec<&dyn Param> = vec![store];
        params.extend(chunk.iter().map(|id| id as &dyn Param));
        let rows: Vec<ProductRow> = tx.query_all(&sql, &params)?;
        let mut page = rows
            .into_iter()
            .map(|r| product(store, r))
            .collect::<Result<Vec<_>, _>>()?;
        attach_variants(tx, store, &mut page)?;
        if for_write {
            super::images::attach_images(tx, store, &mut page)?;
        }
        products.extend(page);
    }
    Ok(products)
}

/// `(value, owner id)` of the store's products whose slug is one of `slugs`.
pub fn slug_owners(
    tx: &mut Tx<'_>,
    store: &StoreId,
    slugs: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    let mut owners = Vec::new();
    for chunk in slugs.chunks(CHUNK) {
        let sql = format!(
            "SELECT slug, id FROM products WHERE store_id = $1 AND slug IN ({})",
            placeholders(2, chunk.len())
        );
        let mut params: Vec<&dyn Param> = vec![store];
        params.extend(chunk.iter().map(|s| s as &dyn Param));
        owners.extend(tx.query_all::<(String, String)>(&sql, &params)?);
    }
    Ok(owners)
}

/// `(variant id, sku, product id)` of the store's variants with one of `skus` or `ids`.
pub fn variant_owners(
    tx: &mut Tx<'_>,
    store: &StoreId,
    skus: &[String],
    ids: &[String],
) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut owners = Vec::new();
    // By SKU through the store's SKU index; by id through the primary key, the store only
    // filtering (see `Tx::filter_only`).
    let by_id = format!("{}store_id = $1 AND id", tx.filter_only());
    for (by, values) in [("store_id = $1 AND sku", skus), (by_id.as_str(), ids)] {
        for chunk in values.chunks(CHUNK) {
            let sql = format!(
                "SELECT id, sku, product_id FROM variants WHERE {by} IN ({})",
                placeholders(2, chunk.len())
            );
            let mut params: Vec<&dyn Param> = vec![store];
            params.extend(chunk.iter().map(|s| s as &dyn Param));
            owners.extend(tx.query_all::<(String, String, String)>(&sql, &params)?);
        }
    }
    Ok(owners)
}

/// Inserts new products and replaces existing ones (keeping their creation time and tax
/// category, which imports do not set), then replaces all their variants.
pub fn upsert_products(
    tx: &mut Tx<'_>,
    store: &StoreId,
    products: &[ProductRecord],
) -> Result<(), StoreError> {
    for chunk in products.chunks(CHUNK) {
        write_product_chunk(tx, store, chunk)?;
        let sql = format!(
            "DELETE FROM variants WHERE store_id = $1 AND product_id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut params: Vec<&dyn Param> = vec![store];
        params.extend(chunk.iter().map(|p| &p.id as &dyn Param));
        tx.execute(&sql, &params)?;
    }
    let variants: Vec<VariantValues<'_>> = products
        .iter()
        .flat_map(|p| {
            p.variants
                .iter()
                .enumerate()
                .map(move |(position, v)| VariantValues {
                    product: p,
                    variant: v,
                    position: position as i64,
                    option_values: v.option_values.join("\t"),
                })
        })
        .collect();
    for chunk in variants.chunks(CHUNK) {
        write_variant_chunk(tx, store, chunk)?;
    }
    Ok(())
}

/// A product's row values that are computed, owned for the statement's lifetime.
struct ProductValues<'a> {
    product: &'a ProductRecord,
    title_key: String,
    min_price: i64,
    options: String,
    status: &'static str,
}

fn write_product_chunk(tx: &mut Tx<'_>, store: &StoreId, chunk: &[ProductRecord]) -> Result<(), StoreError> {
    let rows: Vec<ProductValues<'_>> = chunk
        .iter()
        .map(|p| ProductValues {
            product: p,
            title_key: p.title.to_lowercase(),
            min_price: p.min_price_minor(),
            options: encode_options(&p.options),
            status: p.status.as_str(),
        })
        .collect();
    let sql = format!(
        "INSERT INTO products (id, store_id, slug, title, title_key, description, category_id,
           min_price_minor, currency, version, created_at, updated_at, tax_category, status, options)
         VALUES {}
         ON CONFLICT (id) DO UPDATE SET slug = excluded.slug, title = excluded.title,
           title_key = excluded.title_key, description = excluded.description,
           category_id = excluded.category_id, min_price_minor = excluded.min_price_minor,
           currency = excluded.currency, version = excluded.version, updated_at = excluded.updated_at,
           status = excluded.status, options = excluded.options",
        value_lists(15, rows.len())
    );
    let mut params: Vec<&dyn Param> = Vec::with_capacity(15 * rows.len());
    for r in &rows {
        let p = r.product;
        params.extend([
            &p.id as &dyn Param,
            store,
            &p.slug,
            &p.title,
            &r.title_key,
            &p.description,
            &p.category_id,
            &r.min_price,
            &p.currency,
            &p.version,
            &p.created_at_ms,
            &p.updated_at_ms,
            &p.tax_category,
            &r.status,
            &r.options,
        ]);
    }
    tx.execute(&sql, &params).map_err(conflict)?;
    Ok(())
}

/// A variant's row values, owned for the statement's lifetime.
struct VariantValues<'a> {
    product: &'a ProductRecord,
    variant: &'a crate::domain::VariantRecord,
    position: i64,
    option_values: String,
}

fn write_variant_chunk(
    tx: &mut Tx<'_>,
    store: &StoreId,
    chunk: &[VariantValues<'_>],
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO variants (id, product_id, store_id, sku, title, price_minor, currency, position,
           weight_grams, requires_shipping, option_values)
         VALUES {}",
        value_lists(11, chunk.len())
    );
    let mut params: Vec<&dyn Param> = Vec::with_capacity(11 * chunk.len());
    for r in chunk {
        let v = r.variant;
        params.extend([
            &v.id as &dyn Param,
            &r.product.id,
            store,
            &v.sku,
            &v.title,
            &v.price_minor,
            &r.product.currency,
            &r.position,
            &v.weight_grams,
            &v.requires_shipping,
            &r.option_values,
        ]);
    }
    tx.execute(&sql, &params).map_err(conflict)?;
    Ok(())
}

/// Categories of the store with one of `ids`.
pub fn categories_by_ids(
    tx: &mut Tx<'_>,
    store: &StoreId,
    ids: &[CategoryId],
) -> Result<Vec<CategoryRecord>, StoreError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT id, slug, name, parent_id, created_at FROM categories WHERE {}store_id = $1 AND id IN ({})",
            tx.filter_only(),
            placeholders(2, chunk.len())
        );
        let mut params: Vec<&dyn Param> = vec![store];
        params.extend(chunk.iter().map(|id| id as &dyn Param));
        let rows: Vec<CategoryRow> = tx.query_all(&sql, &params)?;
        for row in rows {
            found.push(category(row)?);
        }
    }
    Ok(found)
}
