//! One product record from a page's rows: the product post, its variations (or its own meta as
//! the one variant of a simple product), options from `_product_attributes`, its first
//! category and its images — or a bad row with the reason.

use super::catalog::{PostRow, ms};
use super::meta::Meta;
use super::php::{Php, unserialize};
use super::values::{grams, price, text};
use super::{Shop, synthetic_sku};
use crate::source::{BadRow, Row, SourceRecord};
use mercato_proto::imports::{Entity, ImportedOption, ImportedOptionValue, ImportedProduct, ImportedVariant};
use mercato_runtime::imports::numeric_key;
use mercato_runtime::legacy_slugs::catalog_slug;
use std::collections::HashMap;

/// What a page of products was read with.
pub(super) struct Page<'a> {
    pub shop: &'a Shop,
    pub meta: &'a Meta,
    pub variations: &'a HashMap<u64, Vec<PostRow>>,
    pub categories: &'a HashMap<u64, u64>,
    pub images: &'a HashMap<u64, Vec<String>>,
    pub posts_table: &'a str,
}

/// An option of a variable product: its display name and the meta key its variations use.
struct OptionSpec {
    name: String,
    meta_key: String,
    values: Vec<String>,
}

impl Page<'_> {
    /// The row for post `p`: a product, or a bad row.
    pub(super) fn row(&self, p: &PostRow) -> Row {
        let result = if p.post_type == "product" {
            self.product(p)
        } else {
            Err(format!("variation without its parent (post_parent={})", p.parent))
        };
        match result {
            Ok(product) => Row::Good(SourceRecord::Product(product)),
            Err(reason) => Row::Bad(BadRow {
                entity: Entity::Product,
                legacy_key: numeric_key(p.id),
                location: format!("{}.ID={}", self.posts_table, p.id),
                reason,
            }),
        }
    }

    fn product(&self, p: &PostRow) -> Result<ImportedProduct, String> {
        let title = text("post_title", &p.title)?;
        let variations = self.variations.get(&p.id).map(Vec::as_slice).unwrap_or(&[]);
        let mut options = self.options(p.id)?;
        let mut modified = p.modified_s;
        let variants = if variations.is_empty() {
            vec![self.variant(p.id, p.id, title.clone(), &[])?]
        } else {
            let mut variants = Vec::with_capacity(variations.len());
            for v in variations {
                let values = option_values(self.meta, v.id, &mut options)?;
                let v_title = text("variation post_title", &v.title)?;
                variants.push(self.variant(v.id, v.id, v_title, &values)?);
                modified = modified.max(v.modified_s);
            }
            variants
        };
        Ok(ImportedProduct {
            legacy_key: numeric_key(p.id),
            slug: catalog_slug(&text("post_name", &p.name)?, "product", p.id),
            title,
            // WordPress keeps the classic editor's CR LF; the catalog takes line feeds only.
            description: text("post_content", &p.content)?
                .replace("\r\n", "\n")
                .replace('\r', "\n"),
            status: super::product_status(&p.status).into(),
            category_legacy_key: self
                .categories
                .get(&p.id)
                .map(|&c| numeric_key(c))
                .unwrap_or_default(),
            options: options
                .into_iter()
                .map(|o| ImportedOption {
                    name: o.name,
                    values: o.values,
                })
                .collect(),
            variants,
            image_urls: self.images.get(&p.id).cloned().unwrap_or_default(),
            modified_at_ms: ms(modified),
        })
    }

    fn variant(
        &self,
        key_id: u64,
        meta_id: u64,
        title: String,
        values: &[ImportedOptionValue],
    ) -> Result<ImportedVariant, String> {
        let m = self.meta;
        let regular = m.str(meta_id, "_regular_price");
        let (field, amount) = if regular.trim().is_empty() {
            ("_price", m.str(meta_id, "_price"))
        } else {
            ("_regular_price", regular)
        };
        if amount.trim().is_empty() {
            return Err(format!("post {meta_id} has no price"));
        }
        let sku = text("_sku", m.get(meta_id, "_sku").unwrap_or_default())?
            .trim()
            .to_owned();
        Ok(ImportedVariant {
            legacy_key: numeric_key(key_id),
            sku: if sku.is_empty() {
                synthetic_sku(meta_id)
            } else {
                sku
            },
            title,
            price_minor: price(field, &amount, self.shop.digits)?,
            weight_grams: grams(&m.str(meta_id, "_weight"), &self.shop.weight_unit)?,
            requires_shipping: m.str(meta_id, "_virtual") != "yes",
            option_values: values.to_vec(),
        })
    }

    /// The product's variation attributes from `_product_attributes`, by position.
    fn options(&self, id: u64) -> Result<Vec<OptionSpec>, String> {
        let Some(raw) = self.meta.get(id, "_product_attributes") else {
            return Ok(Vec::new());
        };
        let parsed = unserialize(raw).map_err(|e| format!("_product_attributes: {e}"))?;
        let Php::Array(entries) = parsed else {
            return Ok(Vec::new());
        };
        let mut options = Vec::new();
        for (key, attr) in entries {
            if attr.get("is_variation").and_then(Php::as_int) != Some(1) {
                continue;
            }
            let key = text("_product_attributes key", &key.as_bytes())?;
            let taxonomy = attr.get("is_taxonomy").and_then(Php::as_int) == Some(1);
            let declared = attr.get("name").map(Php::as_bytes).unwrap_or_default();
            let declared = text("attribute name", &declared)?;
            let name = if taxonomy {
                declared.trim_start_matches("pa_").to_owned()
            } else {
                declared
            };
            let value = text(
                "attribute value",
                &attr.get("value").map(Php::as_bytes).unwrap_or_default(),
            )?;
            let values = if taxonomy {
                Vec::new()
            } else {
                value
                    .split('|')
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .collect()
            };
            let position = attr.get("position").and_then(Php::as_int).unwrap_or(0);
            options.push((
                position,
                OptionSpec {
                    name,
                    meta_key: format!("attribute_{key}"),
                    values,
                },
            ));
        }
        options.sort_by_key(|(position, _)| *position);
        Ok(options.into_iter().map(|(_, o)| o).collect())
    }
}

/// A variation's value of each option (adding values the declaration lacks, in order seen).
fn option_values(
    meta: &Meta,
    id: u64,
    options: &mut [OptionSpec],
) -> Result<Vec<ImportedOptionValue>, String> {
    let mut values = Vec::with_capacity(options.len());
    for option in options.iter_mut() {
        let value = text(
            &option.meta_key,
            meta.get(id, &option.meta_key).unwrap_or_default(),
        )?;
        if value.is_empty() {
            return Err(format!(
                "variation {id} has no value for option {:?} (any)",
                option.name
            ));
        }
        if !option.values.contains(&value) {
            option.values.push(value.clone());
        }
        values.push(ImportedOptionValue {
            option: option.name.clone(),
            value,
        });
    }
    Ok(values)
}
