//! A sent record checked on its own, with the catalog's usual rules (the same as `requests`):
//! what passes becomes a candidate, what fails becomes the record's rejection reason. Checks that
//! need the store (taken slugs and SKUs, known categories) are `products`' and `categories'`.

use super::canonical::ProductDetails;
use crate::domain::options::{self, OptionType};
use crate::domain::values::{Lines, ProductStatus, Sku, Slug, text, weight_grams};
use crate::domain::{CategoryId, ProductId, VariantId, VariantRecord};
use mercato_proto::imports::{Entity, ImportedCategory, ImportedProduct};
use mercato_runtime::error::{ServiceError, Validator};
use mercato_runtime::ids::StoreId;
use mercato_runtime::imports::{Canonical, check_key, target_id};
use mercato_runtime::money::{Currency, Money};
use std::collections::HashSet;

const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 10_000;
const MAX_VARIANTS: usize = 100;
const MAX_IMAGES: usize = 50;
const MAX_URL: usize = 2048;

/// Where a batch's records are going: the store, the source, and the store's currency.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub store: StoreId,
    pub source: String,
    pub currency: Option<Currency>,
}

impl Target {
    pub fn product_id(&self, key: &str) -> ProductId {
        ProductId(target_id(
            &self.store.to_string(),
            &self.source,
            Entity::Product,
            key,
        ))
    }

    /// A variant's id: the product entity's id of `variant:` and its own legacy key.
    pub fn variant_id(&self, key: &str) -> VariantId {
        VariantId(target_id(
            &self.store.to_string(),
            &self.source,
            Entity::Product,
            &format!("variant:{key}"),
        ))
    }

    pub fn category_id(&self, key: &str) -> CategoryId {
        CategoryId(target_id(
            &self.store.to_string(),
            &self.source,
            Entity::Category,
            key,
        ))
    }
}

/// A product that passed its own checks.
#[derive(Clone, Debug)]
pub(crate) struct ProductCandidate {
    /// What was sent, with the fields that are not compared cleared.
    pub sent: ImportedProduct,
    pub modified_at_ms: i64,
    pub id: ProductId,
    pub status: ProductStatus,
    pub category_id: Option<CategoryId>,
    pub options: Vec<OptionType>,
    pub variants: Vec<VariantRecord>,
    pub details: ProductDetails,
}

/// A category that passed its own checks.
#[derive(Clone, Debug)]
pub(crate) struct CategoryCandidate {
    pub sent: ImportedCategory,
    pub modified_at_ms: i64,
    pub id: CategoryId,
    pub parent_id: Option<CategoryId>,
}

/// The reason a record is rejected: its bad fields, each with why.
fn reason(e: ServiceError) -> String {
    if e.fields.is_empty() {
        return e.message;
    }
    e.fields
        .iter()
        .map(|f| format!("{} {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks one category on its own.
pub(crate) fn category(target: &Target, c: &ImportedCategory) -> Result<CategoryCandidate, String> {
    let mut v = Validator::new();
    v.check(check_key("legacy_key", &c.legacy_key));
    v.check(text("name", &c.name, Lines::One, 1, MAX_TITLE));
    v.check(Slug::parse("slug", &c.slug));
    if !c.parent_legacy_key.is_empty() {
        v.check(check_key("parent_legacy_key", &c.parent_legacy_key));
        if c.parent_legacy_key == c.legacy_key {
            v.add("parent_legacy_key", "is the category itself");
        }
    }
    v.finish().map_err(reason)?;
    Ok(CategoryCandidate {
        sent: c.canonical(),
        modified_at_ms: c.modified_at_ms,
        id: target.category_id(&c.legacy_key),
        parent_id: (!c.parent_legacy_key.is_empty()).then(|| target.category_id(&c.parent_legacy_key)),
    })
}

/// Checks one product on its own: the same rules as creating one through the API, plus what
/// keeps its canonical form stable (a status spelled out, option values in the options' order).
pub(crate) fn product(target: &Target, p: &ImportedProduct) -> Result<ProductCandidate, String> {
    let mut v = Validator::new();
    v.check(check_key("legacy_key", &p.legacy_key));
    v.check(Slug::parse("slug", &p.slug));
    v.check(text("title", &p.title, Lines::One, 1, MAX_TITLE));
    v.check(text(
        "description",
        &p.description,
        Lines::Many,
        0,
        MAX_DESCRIPTION,
    ));
    let status = v.check(ProductStatus::parse("status", &p.status));
    if p.status.is_empty() {
        v.add("status", "must be one of draft, active, archived");
    }
    if !p.category_legacy_key.is_empty() {
        v.check(check_key("category_legacy_key", &p.category_legacy_key));
    }
    let typed: Vec<(String, Vec<String>)> = p
        .options
        .iter()
        .map(|o| (o.name.clone(), o.values.clone()))
        .collect();
    let types = options::option_types(&mut v, &typed);
    let variants = variants(&mut v, target, p, types.as_deref());
    image_urls(&mut v, &p.image_urls);
    v.finish().map_err(reason)?;
    let (Some(status), Some(types), Some(variants)) = (status, types, variants) else {
        return Err("a field was refused".to_owned());
    };
    let details = ProductDetails {
        variant_keys: p
            .variants
            .iter()
            .zip(&variants)
            .map(|(sent, stored)| (stored.id.to_string(), sent.legacy_key.clone()))
            .collect(),
        image_urls: p.image_urls.clone(),
    };
    Ok(ProductCandidate {
        sent: p.canonical(),
        modified_at_ms: p.modified_at_ms,
        id: target.product_id(&p.legacy_key),
        status,
        category_id: (!p.category_legacy_key.is_empty()).then(|| target.category_id(&p.category_legacy_key)),
        options: types,
        variants,
        details,
    })
}

/// The variants as stored, or `None` when one is bad (each reported).
fn variants(
    v: &mut Validator,
    target: &Target,
    p: &ImportedProduct,
    types: Option<&[OptionType]>,
) -> Option<Vec<VariantRecord>> {
    if p.variants.is_empty() || p.variants.len() > MAX_VARIANTS {
        v.add("variants", "must hold 1-100 variants");
        return None;
    }
    let Some(currency) = target.currency else {
        v.add(
            "variants",
            "cannot be priced: the store's currency is not known yet",
        );
        return None;
    };
    let mut records = Vec::with_capacity(p.variants.len());
    let (mut skus, mut keys) = (HashSet::new(), HashSet::new());
    for (i, input) in p.variants.iter().enumerate() {
        let field = |name: &str| format!("variants[{i}].{name}");
        v.check(check_key(&field("legacy_key"), &input.legacy_key));
        if !keys.insert(input.legacy_key.as_str()) {
            v.add(
                &field("legacy_key"),
                "is the key of another variant of this product",
            );
        }
        let sku = v.check(Sku::parse(&field("sku"), &input.sku));
        if sku.is_some() && !skus.insert(input.sku.as_str()) {
            v.add(&field("sku"), "is used by another variant of this product");
        }
        v.check(text(&field("title"), &input.title, Lines::One, 0, MAX_TITLE));
        v.check(Money::price(&field("price_minor"), input.price_minor, currency));
        v.check(weight_grams(&field("weight_grams"), input.weight_grams));
        let named: Vec<&str> = input.option_values.iter().map(|o| o.option.as_str()).collect();
        let order: Vec<&str> = types
            .unwrap_or_default()
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        if types.is_some() && named != order {
            v.add(
                &field("option_values"),
                "must name each of the product's options once, in their order",
            );
        }
        records.push(VariantRecord {
            id: target.variant_id(&input.legacy_key),
            sku: input.sku.clone(),
            title: input.title.clone(),
            price_minor: input.price_minor,
            weight_grams: input.weight_grams,
            requires_shipping: input.requires_shipping,
            option_values: input.option_values.iter().map(|o| o.value.clone()).collect(),
        });
    }
    let named: Vec<Vec<(String, String)>> = p
        .variants
        .iter()
        .map(|i| {
            i.option_values
                .iter()
                .map(|o| (o.option.clone(), o.value.clone()))
                .collect()
        })
        .collect();
    let types = types?;
    options::variant_values(v, types, &named)?;
    Some(records)
}

/// Image URLs: http(s), without spaces or control characters; recorded, not fetched.
fn image_urls(v: &mut Validator, urls: &[String]) {
    if urls.len() > MAX_IMAGES {
        v.add("image_urls", "must hold at most 50 URLs");
    }
    for (i, url) in urls.iter().enumerate() {
        let web = url.starts_with("https://") || url.starts_with("http://");
        if !web || url.len() > MAX_URL || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            v.add(
                &format!("image_urls[{i}]"),
                "must be an http(s) URL of at most 2048 characters without spaces",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mercato_proto::imports::{ImportedOption, ImportedOptionValue, ImportedVariant};

    fn target() -> Target {
        Target {
            store: StoreId::new(),
            source: "woocommerce".into(),
            currency: Currency::parse("EUR").ok(),
        }
    }

    fn tee() -> ImportedProduct {
        let variant = |key: &str, size: &str| ImportedVariant {
            legacy_key: key.into(),
            sku: format!("TEE-{size}"),
            price_minor: 1500,
            option_values: vec![ImportedOptionValue {
                option: "Size".into(),
                value: size.into(),
            }],
            ..Default::default()
        };
        ImportedProduct {
            legacy_key: "10".into(),
            slug: "tee".into(),
            title: "Tee".into(),
            status: "active".into(),
            options: vec![ImportedOption {
                name: "Size".into(),
                values: vec!["S".into(), "M".into()],
            }],
            variants: vec![variant("11", "S"), variant("12", "M")],
            ..Default::default()
        }
    }

    #[test]
    fn a_good_product_gets_ids_derived_from_its_keys() {
        let t = target();
        let c = product(&t, &tee()).unwrap();
        assert_eq!(c.id, t.product_id("10"));
        assert_eq!(c.variants[1].id, t.variant_id("12"));
        assert_eq!(c.variants[1].option_values, ["M"]);
        assert_eq!(c.details.variant_keys[&t.variant_id("11").to_string()], "11");
    }

    #[test]
    fn bad_values_are_named_in_the_reason() {
        let mut p = tee();
        p.title = " ".into();
        p.variants[0].price_minor = -1;
        p.variants[1].sku = p.variants[0].sku.clone();
        p.status = String::new();
        let why = product(&target(), &p).unwrap_err();
        for field in ["title", "variants[0].price_minor", "variants[1].sku", "status"] {
            assert!(why.contains(field), "{why}");
        }
    }

    #[test]
    fn option_values_out_of_the_options_order_are_refused() {
        let mut p = tee();
        p.options.push(ImportedOption {
            name: "Colour".into(),
            values: vec!["Red".into()],
        });
        for v in &mut p.variants {
            v.option_values.insert(
                0,
                ImportedOptionValue {
                    option: "Colour".into(),
                    value: "Red".into(),
                },
            );
        }
        let why = product(&target(), &p).unwrap_err();
        assert!(why.contains("in their order"), "{why}");
    }

    #[test]
    fn a_category_cannot_be_its_own_parent() {
        let c = ImportedCategory {
            legacy_key: "5".into(),
            name: "Tops".into(),
            slug: "tops".into(),
            parent_legacy_key: "5".into(),
            modified_at_ms: 0,
        };
        assert!(category(&target(), &c).unwrap_err().contains("parent_legacy_key"));
    }
}
