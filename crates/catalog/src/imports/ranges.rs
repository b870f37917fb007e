//! Reading imported records back for reconciliation: a key range's records rebuilt from what is
//! stored, page by page in key order (keyset paging), their checksums in segments, and each
//! entity's progress.

use super::canonical::{self, stored_products};
use crate::domain::{CategoryId, ProductId};
use crate::store::StoreError;
use crate::store::imports::{self, ImportRow, KeySpan};
use mercato_proto::imports::{
    CatalogRecords, Entity, EntityProgress, ImportedCategory, ImportedProduct, KeyRange, Segment,
};
use mercato_runtime::db::Tx;
use mercato_runtime::ids::StoreId;
use mercato_runtime::imports::{Canonical, SegmentBuilder};
use std::collections::HashMap;

/// Records rebuilt per round trip while checksumming a range.
const PAGE: i64 = 1000;

/// One page of a range's records, of the range's entity.
enum Page {
    Categories(Vec<ImportedCategory>),
    Products(Vec<ImportedProduct>),
}

impl Page {
    fn last_key(&self) -> Option<String> {
        match self {
            Page::Categories(c) => c.last().map(|r| r.legacy_key.clone()),
            Page::Products(p) => p.last().map(|r| r.legacy_key.clone()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Page::Categories(c) => c.len(),
            Page::Products(p) => p.len(),
        }
    }

    fn checksums(&self) -> Vec<(String, u64)> {
        match self {
            Page::Categories(c) => c.iter().map(|r| (r.legacy_key.clone(), r.checksum())).collect(),
            Page::Products(p) => p.iter().map(|r| (r.legacy_key.clone(), r.checksum())).collect(),
        }
    }
}

/// The range's `entity` as `imported_records` names it.
pub(crate) fn span<'a>(range: &'a KeyRange, entity: &'a str) -> KeySpan<'a> {
    KeySpan {
        source: &range.source,
        entity,
        from: &range.from_key,
        to: &range.to_key,
    }
}

/// Up to `limit` records of the span after `after`, rebuilt from what is stored.
fn page(
    tx: &mut Tx<'_>,
    store: &StoreId,
    span: KeySpan<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Page, StoreError> {
    let rows = imports::rows_in_span(tx, store, span, after, limit)?;
    if span.entity == "category" {
        return categories(tx, store, span.source, rows).map(Page::Categories);
    }
    products(tx, store, span.source, rows).map(Page::Products)
}

fn categories(
    tx: &mut Tx<'_>,
    store: &StoreId,
    source: &str,
    rows: Vec<ImportRow>,
) -> Result<Vec<ImportedCategory>, StoreError> {
    let ids: Vec<CategoryId> = rows.iter().filter_map(|r| r.target_id.parse().ok()).collect();
    let records: HashMap<CategoryId, _> = imports::categories_by_ids(tx, store, &ids)?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let parents: Vec<CategoryId> = records.values().filter_map(|c| c.parent_id).collect();
    let parent_keys = canonical::legacy_keys(tx, store, source, &parents)?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let record = records.get(&row.target_id.parse().ok()?)?;
            let parent_key = record
                .parent_id
                .and_then(|p| parent_keys.get(&p.to_string()))
                .map_or("", String::as_str);
            Some(canonical::category(record, &row.legacy_key, parent_key))
        })
        .collect())
}

fn products(
    tx: &mut Tx<'_>,
    store: &StoreId,
    source: &str,
    rows: Vec<ImportRow>,
) -> Result<Vec<ImportedProduct>, StoreError> {
    let ids: Vec<ProductId> = rows.iter().filter_map(|r| r.target_id.parse().ok()).collect();
    let mut stored: HashMap<String, ImportedProduct> = stored_products(tx, store, source, &ids, false)?
        .into_iter()
        .map(|p| (p.row.legacy_key.clone(), p.canonical))
        .collect();
    // In key order, as the rows came.
    Ok(rows.iter().filter_map(|r| stored.remove(&r.legacy_key)).collect())
}

/// The records of a range in key order, at most `limit`.
pub(crate) fn records(
    tx: &mut Tx<'_>,
    store: &StoreId,
    range: &KeyRange,
    entity: &str,
    limit: u32,
) -> Result<CatalogRecords, StoreError> {
    Ok(
        match page(tx, store, span(range, entity), None, i64::from(limit))? {
            Page::Categories(categories) => CatalogRecords {
                categories,
                ..Default::default()
            },
            Page::Products(products) => CatalogRecords {
                products,
                ..Default::default()
            },
        },
    )
}

/// The range's checksums in about `parts` segments of equal counts.
pub(crate) fn checksums(
    tx: &mut Tx<'_>,
    store: &StoreId,
    range: &KeyRange,
    entity: &str,
    parts: u32,
) -> Result<Vec<Segment>, StoreError> {
    let span = span(range, entity);
    let (total, _, _) = imports::span_summary(tx, store, span)?;
    let mut segments = SegmentBuilder::new(range, total, parts);
    let mut after: Option<String> = None;
    loop {
        let page = page(tx, store, span, after.as_deref(), PAGE)?;
        for (key, checksum) in page.checksums() {
            segments.push(&key, checksum);
        }
        // A page can be short of `PAGE` only at the end (rows whose record is gone are not
        // read at all: the span's rows are joined to the records).
        if page.len() < PAGE as usize {
            return Ok(segments.finish());
        }
        after = page.last_key();
    }
}

/// How far imports of each of the catalog's entities got.
pub(crate) fn progress(
    tx: &mut Tx<'_>,
    store: &StoreId,
    source: &str,
) -> Result<Vec<EntityProgress>, StoreError> {
    let mut entities = Vec::new();
    for (entity, name) in [(Entity::Category, "category"), (Entity::Product, "product")] {
        let span = KeySpan {
            source,
            entity: name,
            from: "",
            to: "",
        };
        let (count, last_key, last_modified_ms) = imports::span_summary(tx, store, span)?;
        entities.push(EntityProgress {
            entity: entity as i32,
            count,
            last_key,
            last_modified_ms,
        });
    }
    Ok(entities)
}
