//! Product and category records as stored, and the pure transitions between product versions.

use super::image::ImageRecord;
use super::inputs::{NewProduct, ProductPatch, VariantSpec};
use super::options::OptionType;
use super::values::{CategoryId, ProductId, ProductStatus, VariantId};
use mercato_runtime::ids::StoreId;

/// A category as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryRecord {
    pub id: CategoryId,
    pub slug: String,
    pub name: String,
    pub parent_id: Option<CategoryId>,
    pub created_at_ms: i64,
}

/// One variant as stored; its currency is the product's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantRecord {
    pub id: VariantId,
    pub sku: String,
    pub title: String,
    pub price_minor: i64,
    pub weight_grams: i64,
    /// False for goods that are never shipped (digital).
    pub requires_shipping: bool,
    /// One value per option type of the product, in the types' order.
    pub option_values: Vec<String>,
}

/// A product with its variants, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductRecord {
    pub id: ProductId,
    pub store_id: StoreId,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub category_id: Option<CategoryId>,
    /// The tax category slug (`standard` unless set).
    pub tax_category: String,
    pub status: ProductStatus,
    /// The option types its variants differ by.
    pub options: Vec<OptionType>,
    /// All variants share this currency (checked at the boundary).
    pub currency: String,
    pub variants: Vec<VariantRecord>,
    /// Its images in position order (read with it; written by the images use cases only).
    pub images: Vec<ImageRecord>,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl ProductRecord {
    /// The first version of a new product.
    pub fn create(store_id: StoreId, new: NewProduct, now_ms: i64) -> ProductRecord {
        let currency = new.variants[0].price.currency.to_string();
        ProductRecord {
            id: ProductId::new(),
            store_id,
            slug: new.slug.as_str().to_owned(),
            title: new.title,
            description: new.description,
            category_id: new.category.map(|c| c.id),
            tax_category: new.tax_category.as_str().to_owned(),
            status: new.status,
            options: new.options,
            currency,
            variants: variants(Vec::new(), new.variants),
            images: Vec::new(),
            version: 1,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        }
    }

    /// The next version: the patch's fields replace the current ones. Variants whose SKU
    /// survives a replacement keep their id, so references to them stay valid.
    pub fn apply(self, patch: ProductPatch, now_ms: i64) -> ProductRecord {
        let (currency, options, variant_list) = match patch.variants {
            Some((options, specs)) => (
                specs[0].price.currency.to_string(),
                options,
                variants(self.variants, specs),
            ),
            None => (self.currency, self.options, self.variants),
        };
        ProductRecord {
            slug: patch.slug.map_or(self.slug, |s| s.as_str().to_owned()),
            title: patch.title.unwrap_or(self.title),
            description: patch.description.unwrap_or(self.description),
            category_id: match patch.category {
                Some(c) => c.map(|c| c.id),
                None => self.category_id,
            },
            tax_category: patch
                .tax_category
                .map_or(self.tax_category, |t| t.as_str().to_owned()),
            status: patch.status.unwrap_or(self.status),
            currency,
            options,
            variants: variant_list,
            version: self.version + 1,
            updated_at_ms: now_ms.max(self.updated_at_ms),
            ..self
        }
    }

    /// The lowest variant price; what listings sort on and search filters on.
    pub fn min_price_minor(&self) -> i64 {
        self.variants.iter().map(|v| v.price_minor).min().unwrap_or(0)
    }
}

fn variants(old: Vec<VariantRecord>, specs: Vec<VariantSpec>) -> Vec<VariantRecord> {
    specs
        .into_iter()
        .map(|s| VariantRecord {
            id: old
                .iter()
                .find(|v| v.sku == s.sku.as_str())
                .map_or_else(VariantId::new, |v| v.id),
            sku: s.sku.as_str().to_owned(),
            title: s.title,
            price_minor: s.price.amount_minor,
            weight_grams: s.weight_grams,
            requires_shipping: s.requires_shipping,
            option_values: s.option_values,
        })
        .collect()
}
