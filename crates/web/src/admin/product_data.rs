//! The API's product as the admin reads it (`GET …/products`, `…/products/{id}`): the parts
//! the product list, the product form and the stock pages show.

use serde::Deserialize;

/// A product, drafts and archived ones included (staff see them).
#[derive(Deserialize)]
pub(crate) struct ProductData {
    pub id: String,
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub category_id: Option<String>,
    #[serde(default)]
    pub tax_category: String,
    pub status: String,
    #[serde(default)]
    pub options: Vec<OptionData>,
    #[serde(default)]
    pub variants: Vec<VariantData>,
    #[serde(default)]
    pub updated_at: String,
}

#[derive(Deserialize)]
pub(crate) struct OptionData {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Deserialize)]
pub(crate) struct VariantData {
    pub sku: String,
    #[serde(default)]
    pub title: String,
    pub price: Option<MoneyData>,
    #[serde(default)]
    pub weight_grams: i64,
    #[serde(default = "yes")]
    pub requires_shipping: bool,
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
pub(crate) struct MoneyData {
    pub amount_minor: i64,
    pub currency: String,
}
