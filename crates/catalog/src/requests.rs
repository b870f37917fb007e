//! Request validation at the edge: every bad field of a `catalog.proto` request is reported at
//! once, and what passes comes out as the domain's typed inputs.
//!
//! Lookups that need IO (the category named by a request, the store's default currency) are
//! done by the caller first and passed in, so these functions stay pure.

use crate::domain::inputs::{CategoryLookup, NewCategory, NewProduct, ProductPatch, VariantSpec};
use crate::domain::options::{self, OptionType};
use crate::domain::product::CategoryRecord;
use crate::domain::values::{Lines, ProductStatus, Sku, Slug, TaxCategory, text, weight_grams};
use mercato_proto::catalog as pb;
use mercato_runtime::error::{FieldError, ServiceError, Validator};
use mercato_runtime::money::{Currency, Money};
use std::collections::HashSet;

const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 10_000;
const MAX_VARIANTS: usize = 100;

pub fn new_product(
    req: &pb::CreateProductRequest,
    category: CategoryLookup,
    default_currency: Option<Currency>,
) -> Result<NewProduct, ServiceError> {
    let mut v = Validator::new();
    let slug = v.check(Slug::parse("slug", &req.slug));
    let title = v.check(text("title", &req.title, Lines::One, 1, MAX_TITLE));
    let description = v.check(text(
        "description",
        &req.description,
        Lines::Many,
        0,
        MAX_DESCRIPTION,
    ));
    let category = v.check(resolved("category", category));
    let tax_category = v.check(TaxCategory::parse("tax_category", &req.tax_category));
    let status = v.check(ProductStatus::parse("status", &req.status));
    let described = described_variants(&mut v, &req.options, &req.variants, default_currency);
    v.finish()?;
    match (
        slug,
        title,
        description,
        category,
        tax_category,
        status,
        described,
    ) {
        (
            Some(slug),
            Some(title),
            Some(description),
            Some(category),
            Some(tax_category),
            Some(status),
            Some((options, variants)),
        ) => Ok(NewProduct {
            slug,
            title,
            description,
            category,
            tax_category,
            status,
            options,
            variants,
        }),
        _ => Err(ServiceError::internal("validator passed with a missing field")),
    }
}

/// `category` is `None` when the request leaves the category unchanged.
pub fn product_patch(
    req: &pb::UpdateProductRequest,
    category: Option<CategoryLookup>,
    default_currency: Option<Currency>,
) -> Result<ProductPatch, ServiceError> {
    let mut v = Validator::new();
    let patch = ProductPatch {
        slug: req.slug.as_deref().and_then(|s| v.check(Slug::parse("slug", s))),
        title: req
            .title
            .as_deref()
            .and_then(|s| v.check(text("title", s, Lines::One, 1, MAX_TITLE))),
        description: req
            .description
            .as_deref()
            .and_then(|s| v.check(text("description", s, Lines::Many, 0, MAX_DESCRIPTION))),
        category: category.and_then(|c| v.check(resolved("category", c))),
        tax_category: req
            .tax_category
            .as_deref()
            .and_then(|t| v.check(TaxCategory::parse("tax_category", t))),
        status: req
            .status
            .as_deref()
            .and_then(|s| v.check(ProductStatus::parse("status", s))),
        variants: if req.replace_variants {
            described_variants(&mut v, &req.options, &req.variants, default_currency)
        } else {
            if !req.variants.is_empty() {
                v.add("variants", "are only accepted with replace_variants");
            }
            if !req.options.is_empty() {
                v.add("options", "are only accepted with replace_variants");
            }
            None
        },
    };
    v.finish()?;
    Ok(patch)
}

pub fn new_category(
    req: &pb::CreateCategoryRequest,
    parent: CategoryLookup,
) -> Result<NewCategory, ServiceError> {
    let mut v = Validator::new();
    let slug = v.check(Slug::parse("slug", &req.slug));
    let name = v.check(text("name", &req.name, Lines::One, 1, MAX_TITLE));
    let parent = v.check(resolved("parent", parent));
    v.finish()?;
    match (slug, name, parent) {
        (Some(slug), Some(name), Some(parent)) => Ok(NewCategory { slug, name, parent }),
        _ => Err(ServiceError::internal("validator passed with a missing field")),
    }
}

fn resolved(field: &str, lookup: CategoryLookup) -> Result<Option<CategoryRecord>, FieldError> {
    match lookup {
        CategoryLookup::None => Ok(None),
        CategoryLookup::Found(c) => Ok(Some(c)),
        CategoryLookup::Unknown => Err(FieldError::new(field, "is not a known category")),
    }
}

/// Option types and the variants they describe, each variant with its values.
fn described_variants(
    v: &mut Validator,
    options: &[pb::OptionType],
    inputs: &[pb::VariantInput],
    default_currency: Option<Currency>,
) -> Option<(Vec<OptionType>, Vec<VariantSpec>)> {
    let typed: Vec<(String, Vec<String>)> = options
        .iter()
        .map(|o| (o.name.clone(), o.values.clone()))
        .collect();
    let types = options::option_types(v, &typed);
    let specs = variant_specs(v, inputs, default_currency);
    let named: Vec<Vec<(String, String)>> = inputs
        .iter()
        .map(|i| {
            i.option_values
                .iter()
                .map(|o| (o.option.clone(), o.value.clone()))
                .collect()
        })
        .collect();
    let values = types.as_ref().and_then(|t| options::variant_values(v, t, &named));
    let (types, mut specs, values) = (types?, specs?, values?);
    for (spec, values) in specs.iter_mut().zip(values) {
        spec.option_values = values;
    }
    Some((types, specs))
}

fn variant_specs(
    v: &mut Validator,
    inputs: &[pb::VariantInput],
    default_currency: Option<Currency>,
) -> Option<Vec<VariantSpec>> {
    if inputs.is_empty() || inputs.len() > MAX_VARIANTS {
        v.add("variants", "must hold 1-100 variants");
        return None;
    }
    let mut specs = Vec::with_capacity(inputs.len());
    let mut skus = HashSet::new();
    for (i, input) in inputs.iter().enumerate() {
        let field = |name: &str| format!("variants[{i}].{name}");
        let sku = v.check(Sku::parse(&field("sku"), &input.sku));
        if let Some(sku) = &sku
            && !skus.insert(sku.clone())
        {
            v.add(&field("sku"), "is used by another variant of this product");
        }
        let title = v.check(text(&field("title"), &input.title, Lines::One, 0, MAX_TITLE));
        let currency = v.check(currency(&field("currency"), &input.currency, default_currency));
        let price = currency.and_then(|c| v.check(Money::price(&field("price_minor"), input.price_minor, c)));
        let weight = v.check(weight_grams(
            &field("weight_grams"),
            input.weight_grams.unwrap_or(0),
        ));
        if let (Some(sku), Some(title), Some(price), Some(weight_grams)) = (sku, title, price, weight) {
            specs.push(VariantSpec {
                sku,
                title,
                price,
                weight_grams,
                requires_shipping: input.requires_shipping.unwrap_or(true),
                option_values: Vec::new(),
            });
        }
    }
    let first = specs.first().map(|s| s.price.currency);
    if specs.iter().any(|s| Some(s.price.currency) != first) {
        v.add("variants", "must all have the same currency");
    }
    (specs.len() == inputs.len()).then_some(specs)
}

/// A variant's currency: empty means the store's; another than the store's is refused, since
/// the store sells (and taxes, ships and discounts) in its one currency. When the store's
/// currency is not known yet (its `store_provisioned` event is still on its way) any supported
/// code is taken.
fn currency(field: &str, code: &str, store: Option<Currency>) -> Result<Currency, FieldError> {
    if code.is_empty() {
        return store.ok_or_else(|| FieldError::new(field, "is required"));
    }
    let parsed = Currency::parse(code)
        .map_err(|_| FieldError::new(field, "must be a supported ISO 4217 code such as EUR"))?;
    match store {
        Some(store) if store != parsed => Err(FieldError::new(
            field,
            format!("must be the store's currency, {}", store.as_str()),
        )),
        _ => Ok(parsed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(sku: &str, price: i64, currency: &str) -> pb::VariantInput {
        pb::VariantInput {
            sku: sku.into(),
            title: String::new(),
            price_minor: price,
            currency: currency.into(),
            ..Default::default()
        }
    }

    #[test]
    fn every_bad_field_of_a_new_product_is_reported_at_once() {
        let req = pb::CreateProductRequest {
            slug: "Bad Slug".into(),
            title: String::new(),
            variants: vec![variant("ok-1", -5, "EUR"), variant("bad sku", 10, "XXX")],
            ..Default::default()
        };
        let e = new_product(&req, CategoryLookup::Unknown, None).unwrap_err();
        let fields: Vec<_> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "slug",
                "title",
                "category",
                "variants[0].price_minor",
                "variants[1].sku",
                "variants[1].currency"
            ]
        );
    }

    #[test]
    fn an_empty_currency_falls_back_to_the_store_currency_or_is_required() {
        let req = pb::CreateProductRequest {
            slug: "tee".into(),
            title: "Tee".into(),
            variants: vec![variant("T-1", 100, "")],
            ..Default::default()
        };
        let eur = Currency::parse("EUR").ok();
        let p = new_product(&req, CategoryLookup::None, eur).unwrap();
        assert_eq!(p.variants[0].price.currency.as_str(), "EUR");
        let e = new_product(&req, CategoryLookup::None, None).unwrap_err();
        assert_eq!(e.fields[0].field, "variants[0].currency");
        assert_eq!(e.fields[0].message, "is required");
    }

    #[test]
    fn a_price_in_another_currency_than_the_stores_is_refused() {
        let req = pb::CreateProductRequest {
            slug: "tee".into(),
            title: "Tee".into(),
            variants: vec![variant("T-1", 100, "EUR"), variant("T-2", 100, "USD")],
            ..Default::default()
        };
        let e = new_product(&req, CategoryLookup::None, Currency::parse("EUR").ok()).unwrap_err();
        assert_eq!(e.fields.len(), 1, "{e:?}");
        assert_eq!(e.fields[0].field, "variants[1].currency");
        assert_eq!(e.fields[0].message, "must be the store's currency, EUR");
        let patch = pb::UpdateProductRequest {
            replace_variants: true,
            variants: vec![variant("T-1", 100, "USD")],
            ..Default::default()
        };
        let e = product_patch(&patch, None, Currency::parse("EUR").ok()).unwrap_err();
        assert_eq!(e.fields[0].field, "variants[0].currency");
    }

    #[test]
    fn variants_in_two_currencies_or_with_a_repeated_sku_are_refused() {
        let req = pb::CreateProductRequest {
            slug: "tee".into(),
            title: "Tee".into(),
            variants: vec![variant("T-1", 100, "EUR"), variant("T-1", 100, "USD")],
            ..Default::default()
        };
        let e = new_product(&req, CategoryLookup::None, None).unwrap_err();
        let fields: Vec<_> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["variants[1].sku", "variants"]);
    }

    #[test]
    fn weights_shipping_and_tax_category_default_and_are_checked() {
        let req = pb::CreateProductRequest {
            slug: "ebook".into(),
            title: "E-book".into(),
            variants: vec![variant("EB-1", 100, "EUR")],
            ..Default::default()
        };
        let p = new_product(&req, CategoryLookup::None, None).unwrap();
        assert_eq!(p.tax_category.as_str(), "standard");
        assert_eq!(
            (p.variants[0].weight_grams, p.variants[0].requires_shipping),
            (0, true)
        );

        let digital = pb::CreateProductRequest {
            tax_category: "reduced".into(),
            variants: vec![pb::VariantInput {
                weight_grams: Some(250),
                requires_shipping: Some(false),
                ..variant("EB-1", 100, "EUR")
            }],
            ..req.clone()
        };
        let p = new_product(&digital, CategoryLookup::None, None).unwrap();
        assert_eq!(p.tax_category.as_str(), "reduced");
        assert_eq!(
            (p.variants[0].weight_grams, p.variants[0].requires_shipping),
            (250, false)
        );

        let bad = pb::CreateProductRequest {
            tax_category: "Reduced Rate".into(),
            variants: vec![pb::VariantInput {
                weight_grams: Some(-1),
                ..variant("EB-1", 100, "EUR")
            }],
            ..req
        };
        let e = new_product(&bad, CategoryLookup::None, None).unwrap_err();
        let fields: Vec<_> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["tax_category", "variants[0].weight_grams"]);
    }

    #[test]
    fn a_patch_without_fields_changes_nothing() {
        let req = pb::UpdateProductRequest::default();
        let p = product_patch(&req, None, None).unwrap();
        assert!(p.slug.is_none() && p.title.is_none() && p.variants.is_none());
        assert!(p.category.is_none());
    }
    #[test]
    fn control_characters_are_refused_in_titles_names_and_descriptions() {
        let req = pb::CreateProductRequest {
            slug: "tee".into(),
            title: "Tee\0".into(),
            description: "Soft.\n\tWashable.\u{1b}[2J".into(),
            variants: vec![pb::VariantInput {
                title: "Size\nM".into(),
                ..variant("T-1", 100, "EUR")
            }],
            ..Default::default()
        };
        let e = new_product(&req, CategoryLookup::None, None).unwrap_err();
        let fields: Vec<_> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["title", "description", "variants[0].title"]);

        let ok = pb::CreateProductRequest {
            title: "Tee".into(),
            description: "Soft.\n\tWashable.".into(),
            variants: vec![variant("T-1", 100, "EUR")],
            ..req
        };
        assert!(
            new_product(&ok, CategoryLookup::None, None).is_ok(),
            "line feeds and tabs in a description"
        );

        let patch = pb::UpdateProductRequest {
            title: Some("Tee\u{85}".into()),
            ..Default::default()
        };
        let e = product_patch(&patch, None, None).unwrap_err();
        assert_eq!(e.fields[0].field, "title");

        let category = pb::CreateCategoryRequest {
            slug: "shirts".into(),
            name: "Shirts\r".into(),
            ..Default::default()
        };
        let e = new_category(&category, CategoryLookup::None).unwrap_err();
        assert_eq!(e.fields[0].field, "name");
    }
}
