//! A batch of products imported in one transaction: what is stored is read for the whole batch
//! at once, each record is decided (created, updated, unchanged or rejected with its reason),
//! and the written ones go out in a few multi-row statements with their events.

use super::canonical::{StoredProduct, stored_products};
use super::check::{ProductCandidate, Target};
use crate::domain::{CategoryId, CategoryRecord, ProductId, ProductRecord, TaxCategory};
use crate::events;
use crate::store::StoreError;
use crate::store::imports::{self, ImportRow};
use mercato_proto::events::EventEnvelope;
use mercato_proto::imports::{Outcome, RecordOutcome};
use mercato_runtime::db::Tx;
use mercato_runtime::outbox;
use std::collections::HashMap;

/// A written product's id and the slugs whose cache entries must go (old and new).
pub(crate) type Written = (ProductId, Vec<String>);

/// What the batch found stored, read with one statement per chunk of records.
struct Stored {
    products: HashMap<ProductId, StoredProduct>,
    categories: HashMap<CategoryId, CategoryRecord>,
    /// Owner product of each taken SKU and of each existing variant id.
    sku_owners: HashMap<String, String>,
    variant_owners: HashMap<String, String>,
    slug_owners: HashMap<String, String>,
}

/// The values claimed by the batch's records so far, by the product claiming them.
#[derive(Default)]
struct Claims {
    skus: HashMap<String, ProductId>,
    variants: HashMap<String, ProductId>,
    slugs: HashMap<String, ProductId>,
}

/// What the batch writes.
#[derive(Default)]
struct Writes {
    products: Vec<ProductRecord>,
    rows: Vec<ImportRow>,
    events: Vec<EventEnvelope>,
    written: Vec<Written>,
}

/// Imports the checked batch (each record a candidate or its rejection) inside `tx`; returns
/// the outcomes in the batch's order and the products written.
pub(crate) fn apply(
    tx: &mut Tx<'_>,
    target: &Target,
    now_ms: i64,
    batch: Vec<Result<ProductCandidate, (String, String)>>,
) -> Result<(Vec<RecordOutcome>, Vec<Written>), StoreError> {
    let candidates: Vec<&ProductCandidate> = batch.iter().filter_map(|r| r.as_ref().ok()).collect();
    let stored = read_stored(tx, target, &candidates)?;
    let mut claims = Claims::default();
    let mut writes = Writes::default();
    let mut outcomes = Vec::with_capacity(batch.len());
    for record in &batch {
        outcomes.push(match record {
            Err((key, why)) => rejected(key, why.clone()),
            Ok(c) => decide(target, now_ms, c, &stored, &mut claims, &mut writes),
        });
    }
    imports::upsert_products(tx, &target.store, &writes.products)?;
    imports::upsert_rows(tx, &target.store, &target.source, "product", &writes.rows)?;
    outbox::append_all(tx, &writes.events)?;
    Ok((outcomes, writes.written))
}

pub(crate) fn rejected(key: &str, reason: String) -> RecordOutcome {
    RecordOutcome {
        legacy_key: key.to_owned(),
        outcome: Outcome::Rejected as i32,
        reason,
        target_id: String::new(),
    }
}

fn outcome(key: &str, outcome: Outcome, id: &ProductId) -> RecordOutcome {
    RecordOutcome {
        legacy_key: key.to_owned(),
        outcome: outcome as i32,
        reason: String::new(),
        target_id: id.to_string(),
    }
}

fn read_stored(
    tx: &mut Tx<'_>,
    target: &Target,
    candidates: &[&ProductCandidate],
) -> Result<Stored, StoreError> {
    let store = &target.store;
    let ids: Vec<ProductId> = candidates.iter().map(|c| c.id).collect();
    let products: HashMap<ProductId, StoredProduct> = stored_products(tx, store, &target.source, &ids, true)?
        .into_iter()
        .map(|p| (p.record.id, p))
        .collect();
    let mut category_ids: Vec<CategoryId> = candidates.iter().filter_map(|c| c.category_id).collect();
    category_ids.extend(products.values().filter_map(|p| p.record.category_id));
    category_ids.sort();
    category_ids.dedup();
    let categories = imports::categories_by_ids(tx, store, &category_ids)?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let skus: Vec<String> = candidates
        .iter()
        .flat_map(|c| c.variants.iter().map(|v| v.sku.clone()))
        .collect();
    let variant_ids: Vec<String> = candidates
        .iter()
        .flat_map(|c| c.variants.iter().map(|v| v.id.to_string()))
        .collect();
    let (mut sku_owners, mut variant_owners) = (HashMap::new(), HashMap::new());
    for (variant, sku, owner) in imports::variant_owners(tx, store, &skus, &variant_ids)? {
        sku_owners.insert(sku, owner.clone());
        variant_owners.insert(variant, owner);
    }
    let slugs: Vec<String> = candidates.iter().map(|c| c.sent.slug.clone()).collect();
    let slug_owners = imports::slug_owners(tx, store, &slugs)?.into_iter().collect();
    Ok(Stored {
        products,
        categories,
        sku_owners,
        variant_owners,
        slug_owners,
    })
}

/// Decides one record and, unless it is unchanged or rejected, adds its writes.
fn decide(
    target: &Target,
    now_ms: i64,
    c: &ProductCandidate,
    stored: &Stored,
    claims: &mut Claims,
    writes: &mut Writes,
) -> RecordOutcome {
    let key = c.sent.legacy_key.as_str();
    let category = match c.category_id {
        None => None,
        Some(id) => match stored.categories.get(&id) {
            Some(category) => Some(category),
            None => {
                return rejected(
                    key,
                    format!("category {} is not imported", c.sent.category_legacy_key),
                );
            }
        },
    };
    let existing = stored.products.get(&c.id);
    if existing.is_some_and(|e| e.canonical == c.sent) {
        return outcome(key, Outcome::Unchanged, &c.id);
    }
    if let Err(why) = claim(c, stored, claims) {
        return rejected(key, why);
    }
    let product = next_version(target, now_ms, c, existing.map(|e| &e.record));
    let (subject, kind) = match existing {
        Some(_) => (events::PRODUCT_UPDATED, Outcome::Updated),
        None => (events::PRODUCT_CREATED, Outcome::Created),
    };
    writes
        .events
        .push(events::product_changed(subject, &product, category));
    let mut slugs = vec![product.slug.clone()];
    slugs.extend(existing.map(|e| e.record.slug.clone()));
    writes.written.push((product.id, slugs));
    writes.rows.push(ImportRow {
        legacy_key: key.to_owned(),
        target_id: product.id.to_string(),
        modified_at_ms: c.modified_at_ms,
        details: c.details.to_json(),
    });
    writes.products.push(product);
    outcome(key, kind, &c.id)
}

/// Takes the record's slug, SKUs and variant ids for it, unless another product (stored, or
/// earlier in the batch) has one of them.
fn claim(c: &ProductCandidate, stored: &Stored, claims: &mut Claims) -> Result<(), String> {
    let me = c.id.to_string();
    let taken = |owners: &HashMap<String, String>, batch: &HashMap<String, ProductId>, value: &String| {
        owners.get(value).is_some_and(|o| *o != me) || batch.get(value).is_some_and(|o| *o != c.id)
    };
    if taken(&stored.slug_owners, &claims.slugs, &c.sent.slug) {
        return Err(format!("slug {} is used by another product", c.sent.slug));
    }
    for v in &c.variants {
        if taken(&stored.sku_owners, &claims.skus, &v.sku) {
            return Err(format!("sku {} is used by another product", v.sku));
        }
        if taken(&stored.variant_owners, &claims.variants, &v.id.to_string()) {
            return Err("a variant's legacy key belongs to another product".to_owned());
        }
    }
    claims.slugs.insert(c.sent.slug.clone(), c.id);
    for v in &c.variants {
        claims.skus.insert(v.sku.clone(), c.id);
        claims.variants.insert(v.id.to_string(), c.id);
    }
    Ok(())
}

/// The product as it will be stored: a new one, or the next version of the stored one (which
/// keeps its creation time, tax category and images).
fn next_version(
    target: &Target,
    now_ms: i64,
    c: &ProductCandidate,
    existing: Option<&ProductRecord>,
) -> ProductRecord {
    let currency = target.currency.map(|c| c.as_str().to_owned()).unwrap_or_default();
    let base = existing.cloned().unwrap_or_else(|| ProductRecord {
        id: c.id,
        store_id: target.store,
        slug: String::new(),
        title: String::new(),
        description: String::new(),
        category_id: None,
        tax_category: TaxCategory::STANDARD.to_owned(),
        status: c.status,
        options: Vec::new(),
        currency: currency.clone(),
        variants: Vec::new(),
        images: Vec::new(),
        version: 0,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    });
    ProductRecord {
        slug: c.sent.slug.clone(),
        title: c.sent.title.clone(),
        description: c.sent.description.clone(),
        category_id: c.category_id,
        status: c.status,
        options: c.options.clone(),
        currency,
        variants: c.variants.clone(),
        version: base.version + 1,
        updated_at_ms: now_ms.max(base.updated_at_ms),
        ..base
    }
}
