//! Imported records rebuilt from what the catalog stored — never from a stored copy of what was
//! sent — so a product changed in Mercato after its import shows up as a different checksum.

use crate::domain::{CategoryId, CategoryRecord, ProductId, ProductRecord};
use crate::store::StoreError;
use crate::store::imports::{self, ImportRow};
use mercato_proto::imports::{
    ImportedCategory, ImportedOption, ImportedOptionValue, ImportedProduct, ImportedVariant,
};
use mercato_runtime::db::Tx;
use mercato_runtime::ids::StoreId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What an imported product keeps beside the catalog's own tables (`imported_records.details`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProductDetails {
    /// Each variant's legacy key, by the variant's id; a variant added in Mercato has none.
    #[serde(default)]
    pub variant_keys: BTreeMap<String, String>,
    /// Image URLs in order, recorded for a later download.
    #[serde(default)]
    pub image_urls: Vec<String>,
}

impl ProductDetails {
    /// Reads the stored JSON; a row that does not parse is reported as corrupt.
    pub fn parse(json: &str) -> Result<ProductDetails, StoreError> {
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("imported product details: {e}")))
    }

    pub fn to_json(&self) -> String {
        // A map of strings and a list of strings always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A stored category as the import contract's record.
pub(crate) fn category(record: &CategoryRecord, legacy_key: &str, parent_key: &str) -> ImportedCategory {
    ImportedCategory {
        legacy_key: legacy_key.to_owned(),
        name: record.name.clone(),
        slug: record.slug.clone(),
        parent_legacy_key: parent_key.to_owned(),
        modified_at_ms: 0,
    }
}

/// A stored product as the import contract's record; `category_key` is its category's legacy
/// key (empty when it has none, or one that was not imported).
pub(crate) fn product(
    record: &ProductRecord,
    legacy_key: &str,
    details: &ProductDetails,
    category_key: &str,
) -> ImportedProduct {
    let variants = record
        .variants
        .iter()
        .map(|v| ImportedVariant {
            legacy_key: details
                .variant_keys
                .get(&v.id.to_string())
                .cloned()
                .unwrap_or_default(),
            sku: v.sku.clone(),
            title: v.title.clone(),
            price_minor: v.price_minor,
            weight_grams: v.weight_grams,
            requires_shipping: v.requires_shipping,
            option_values: record
                .options
                .iter()
                .zip(&v.option_values)
                .map(|(o, value)| ImportedOptionValue {
                    option: o.name.clone(),
                    value: value.clone(),
                })
                .collect(),
        })
        .collect();
    ImportedProduct {
        legacy_key: legacy_key.to_owned(),
        slug: record.slug.clone(),
        title: record.title.clone(),
        description: record.description.clone(),
        status: record.status.as_str().to_owned(),
        category_legacy_key: category_key.to_owned(),
        options: record
            .options
            .iter()
            .map(|o| ImportedOption {
                name: o.name.clone(),
                values: o.values.clone(),
            })
            .collect(),
        variants,
        image_urls: details.image_urls.clone(),
        modified_at_ms: 0,
    }
}

/// A stored imported product: the catalog's record, its import row and its rebuilt form.
pub(crate) struct StoredProduct {
    pub record: ProductRecord,
    pub row: ImportRow,
    pub canonical: ImportedProduct,
}

/// The stored products with `ids` and their import rows (a product without one gets an empty
/// key, so it never equals a sent record), locked for the batch when `for_write`.
pub(crate) fn stored_products(
    tx: &mut Tx<'_>,
    store: &StoreId,
    source: &str,
    ids: &[ProductId],
    for_write: bool,
) -> Result<Vec<StoredProduct>, StoreError> {
    let records = imports::products_by_ids(tx, store, ids, for_write)?;
    let targets: Vec<String> = records.iter().map(|p| p.id.to_string()).collect();
    let mut rows: HashMap<String, ImportRow> =
        imports::rows_by_target(tx, store, source, "product", &targets)?
            .into_iter()
            .map(|r| (r.target_id.clone(), r))
            .collect();
    let category_ids: Vec<CategoryId> = records.iter().filter_map(|p| p.category_id).collect();
    let category_keys = legacy_keys(tx, store, source, &category_ids)?;
    let mut stored = Vec::with_capacity(records.len());
    for record in records {
        let id = record.id.to_string();
        let row = rows.remove(&id).unwrap_or(ImportRow {
            legacy_key: String::new(),
            target_id: id,
            modified_at_ms: 0,
            details: String::new(),
        });
        let details = if row.details.is_empty() {
            ProductDetails::default()
        } else {
            ProductDetails::parse(&row.details)?
        };
        let category_key = record
            .category_id
            .and_then(|c| category_keys.get(&c.to_string()))
            .map_or("", String::as_str);
        let canonical = product(&record, &row.legacy_key, &details, category_key);
        stored.push(StoredProduct {
            record,
            row,
            canonical,
        });
    }
    Ok(stored)
}

/// The legacy keys of imported categories, by category id.
pub(crate) fn legacy_keys(
    tx: &mut Tx<'_>,
    store: &StoreId,
    source: &str,
    ids: &[CategoryId],
) -> Result<HashMap<String, String>, StoreError> {
    let mut targets: Vec<String> = ids.iter().map(ToString::to_string).collect();
    targets.sort();
    targets.dedup();
    Ok(imports::rows_by_target(tx, store, source, "category", &targets)?
        .into_iter()
        .map(|r| (r.target_id, r.legacy_key))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OptionType, ProductStatus, VariantId, VariantRecord};
    use mercato_runtime::imports::Canonical;

    fn record() -> ProductRecord {
        ProductRecord {
            id: ProductId::new(),
            store_id: StoreId::new(),
            slug: "tee".into(),
            title: "Tee".into(),
            description: String::new(),
            category_id: None,
            tax_category: "standard".into(),
            status: ProductStatus::Draft,
            options: vec![OptionType {
                name: "Size".into(),
                values: vec!["S".into(), "M".into()],
            }],
            currency: "EUR".into(),
            variants: vec![VariantRecord {
                id: VariantId::new(),
                sku: "TEE-S".into(),
                title: "S".into(),
                price_minor: 1500,
                weight_grams: 200,
                requires_shipping: true,
                option_values: vec!["S".into()],
            }],
            images: Vec::new(),
            version: 1,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn a_product_is_rebuilt_with_its_variant_keys_options_and_images() {
        let p = record();
        let details = ProductDetails {
            variant_keys: [(p.variants[0].id.to_string(), "00000000000000000012".to_owned())].into(),
            image_urls: vec!["https://img.example/tee.jpg".into()],
        };
        let details = ProductDetails::parse(&details.to_json()).unwrap();
        let rebuilt = product(&p, "00000000000000000011", &details, "");
        assert_eq!(rebuilt.status, "draft");
        assert_eq!(rebuilt.variants[0].legacy_key, "00000000000000000012");
        assert_eq!(rebuilt.variants[0].option_values[0].option, "Size");
        assert_eq!(rebuilt.image_urls, ["https://img.example/tee.jpg"]);
        let mut cheaper = p.clone();
        cheaper.variants[0].price_minor = 1400;
        assert_ne!(
            product(&cheaper, "00000000000000000011", &details, "").checksum(),
            rebuilt.checksum()
        );
    }
}
