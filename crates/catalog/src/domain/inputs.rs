//! What a request to create or change a product or category becomes once every field passed
//! (the checks are the edge's, in `crate::requests`), and what a category reference resolved to.

use super::options::OptionType;
use super::product::CategoryRecord;
use super::values::{ProductStatus, Sku, Slug, TaxCategory};
use mercato_runtime::money::Money;

/// What a category reference (an id or a slug) resolved to.
#[derive(Clone, Debug)]
pub enum CategoryLookup {
    /// The reference was empty: no category.
    None,
    Found(CategoryRecord),
    Unknown,
}

/// A validated variant.
#[derive(Clone, Debug)]
pub struct VariantSpec {
    pub sku: Sku,
    pub title: String,
    pub price: Money,
    pub weight_grams: i64,
    pub requires_shipping: bool,
    /// One value per option type of the product, in the types' order.
    pub option_values: Vec<String>,
}

/// A validated product to create; it has 1–100 variants in one currency.
#[derive(Clone, Debug)]
pub struct NewProduct {
    pub slug: Slug,
    pub title: String,
    pub description: String,
    pub category: Option<CategoryRecord>,
    pub tax_category: TaxCategory,
    pub status: ProductStatus,
    pub options: Vec<OptionType>,
    pub variants: Vec<VariantSpec>,
}

/// A validated partial update; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ProductPatch {
    pub slug: Option<Slug>,
    pub title: Option<String>,
    pub description: Option<String>,
    /// `Some(None)` clears the category.
    pub category: Option<Option<CategoryRecord>>,
    pub tax_category: Option<TaxCategory>,
    pub status: Option<ProductStatus>,
    /// New variants and the option types they are described by, replaced together.
    pub variants: Option<(Vec<OptionType>, Vec<VariantSpec>)>,
}

/// A validated category to create.
#[derive(Clone, Debug)]
pub struct NewCategory {
    pub slug: Slug,
    pub name: String,
    pub parent: Option<CategoryRecord>,
}
