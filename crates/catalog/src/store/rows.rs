//! The catalog's rows as the SQL store reads them (one tuple type per table), and their
//! decoding into records: ids parsed, statuses checked, option lists unpacked.

use super::StoreError;
use crate::domain::{CategoryRecord, OptionType, ProductRecord, ProductStatus};
use mercato_runtime::ids::StoreId;
use std::str::FromStr;

pub(super) type CategoryRow = (String, String, String, Option<String>, i64);
pub(super) type ProductRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    i64,
    String,
    String,
    String,
);
pub(super) type VariantRow = (String, String, String, String, i64, i64, bool, String);

pub(super) const PRODUCT_COLUMNS: &str = "id, slug, title, description, category_id, currency, version, created_at, updated_at, tax_category, status, options";

pub(super) fn parse<T: FromStr>(what: &str, s: &str) -> Result<T, StoreError> {
    T::from_str(s).map_err(|_| StoreError::Corrupt(format!("{what} {s:?} is not a uuid")))
}

pub(super) fn category(row: CategoryRow) -> Result<CategoryRecord, StoreError> {
    let (id, slug, name, parent_id, created_at_ms) = row;
    Ok(CategoryRecord {
        id: parse("category id", &id)?,
        slug,
        name,
        parent_id: parent_id.map(|p| parse("parent id", &p)).transpose()?,
        created_at_ms,
    })
}

pub(super) fn product(store: &StoreId, row: ProductRow) -> Result<ProductRecord, StoreError> {
    let (
        id,
        slug,
        title,
        description,
        category_id,
        currency,
        version,
        created,
        updated,
        tax_category,
        status,
        options,
    ) = row;
    Ok(ProductRecord {
        id: parse("product id", &id)?,
        store_id: *store,
        slug,
        title,
        description,
        category_id: category_id.map(|c| parse("category id", &c)).transpose()?,
        tax_category,
        status: ProductStatus::parse("status", &status)
            .map_err(|_| StoreError::Corrupt(format!("product status {status:?}")))?,
        currency,
        options: decode_options(&options),
        variants: Vec::new(),
        images: Vec::new(),
        version,
        created_at_ms: created,
        updated_at_ms: updated,
    })
}

// Option names and values are single-line text without tabs (checked at the edge), so a tab
// separates a type's name and values, and a line feed the types.

pub(super) fn encode_options(options: &[OptionType]) -> String {
    options
        .iter()
        .map(|o| {
            std::iter::once(&o.name)
                .chain(&o.values)
                .cloned()
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn decode_options(s: &str) -> Vec<OptionType> {
    s.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut parts = line.split('\t').map(str::to_owned);
            OptionType {
                name: parts.next().unwrap_or_default(),
                values: parts.collect(),
            }
        })
        .collect()
}

pub(super) fn decode_values(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split('\t').map(str::to_owned).collect()
}
