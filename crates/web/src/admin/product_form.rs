//! The product form: what staff typed (title, options, variant rows) read from the posted
//! fields and turned into the API's create or update body, with where each of its variants and
//! option types came from (`product_errors` puts the API's field errors back there).
//!
//! The API decides what is valid; this module only reads the form (a price typed as `19.99` is
//! minor units to the API) and says which input an API field is.

use super::format::{parse_price, price_input};
use super::product_data::ProductData;
use super::product_errors::Errors;
use serde_json::{Map, Value, json};

/// Option types a product may have (the API's limit; more rows would only be refused).
pub(crate) const OPTION_ROWS: usize = 3;
/// Variant rows the form can post (the API takes at most 100 variants).
const MAX_ROWS: usize = 100;
/// Empty rows offered after the variants a form has.
const SPARE_ROWS: usize = 2;

#[derive(Default, Clone)]
pub(crate) struct OptionInput {
    pub name: String,
    /// Values separated by commas, as typed.
    pub values: String,
}

#[derive(Clone)]
pub(crate) struct VariantInput {
    pub sku: String,
    pub title: String,
    /// The price as typed (`19.99`).
    pub price: String,
    pub weight: String,
    pub ships: bool,
    /// The variant's value of each option row, in the rows' order.
    pub values: Vec<String>,
}

impl Default for VariantInput {
    fn default() -> Self {
        VariantInput {
            sku: String::new(),
            title: String::new(),
            price: String::new(),
            weight: String::new(),
            ships: true,
            values: vec![String::new(); OPTION_ROWS],
        }
    }
}

#[derive(Default, Clone)]
pub(crate) struct ProductForm {
    pub title: String,
    pub slug: String,
    pub description: String,
    pub category: String,
    pub tax_category: String,
    pub status: String,
    pub options: Vec<OptionInput>,
    pub variants: Vec<VariantInput>,
}

impl ProductForm {
    /// A new product's form: active, standard tax, empty rows.
    pub(crate) fn blank() -> ProductForm {
        let mut form = ProductForm {
            status: "active".to_owned(),
            tax_category: "standard".to_owned(),
            ..ProductForm::default()
        };
        form.pad();
        form
    }

    /// The form of an existing product.
    pub(crate) fn of(product: &ProductData) -> ProductForm {
        let options: Vec<OptionInput> = product
            .options
            .iter()
            .map(|o| OptionInput {
                name: o.name.clone(),
                values: o.values.join(", "),
            })
            .collect();
        let variants = product
            .variants
            .iter()
            .map(|v| {
                let mut values: Vec<String> = product
                    .options
                    .iter()
                    .map(|o| v.options.get(&o.name).cloned().unwrap_or_default())
                    .collect();
                values.resize(OPTION_ROWS, String::new());
                VariantInput {
                    sku: v.sku.clone(),
                    title: v.title.clone(),
                    price: v
                        .price
                        .as_ref()
                        .map(|p| price_input(p.amount_minor, &p.currency))
                        .unwrap_or_default(),
                    weight: v.weight_grams.to_string(),
                    ships: v.requires_shipping,
                    values,
                }
            })
            .collect();
        let mut form = ProductForm {
            title: product.title.clone(),
            slug: product.slug.clone(),
            description: product.description.clone(),
            category: product.category_id.clone().unwrap_or_default(),
            tax_category: product.tax_category.clone(),
            status: product.status.clone(),
            options,
            variants,
        };
        form.pad();
        form
    }

    /// The form as posted (`title`, `opt0_name`, `v0_sku`, … and `rows`, the rows it showed).
    pub(crate) fn posted(pairs: &[(String, String)]) -> ProductForm {
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let rows = field("rows").parse::<usize>().unwrap_or(0).min(MAX_ROWS);
        let options = (0..OPTION_ROWS)
            .map(|i| OptionInput {
                name: field(&format!("opt{i}_name")),
                values: field(&format!("opt{i}_values")),
            })
            .collect();
        let variants = (0..rows)
            .map(|i| VariantInput {
                sku: field(&format!("v{i}_sku")),
                title: field(&format!("v{i}_title")),
                price: field(&format!("v{i}_price")),
                weight: field(&format!("v{i}_weight")),
                ships: !field(&format!("v{i}_ships")).is_empty(),
                values: (0..OPTION_ROWS).map(|j| field(&format!("v{i}_opt{j}"))).collect(),
            })
            .collect();
        let mut form = ProductForm {
            title: field("title"),
            slug: field("slug"),
            description: field("description"),
            category: field("category"),
            tax_category: field("tax_category"),
            status: field("status"),
            options,
            variants,
        };
        form.pad();
        form
    }

    /// Adds `SPARE_ROWS` more empty variant rows (the "Add variant rows" button).
    pub(crate) fn more_rows(&mut self) {
        let rows = (self.variants.len() + SPARE_ROWS).min(MAX_ROWS);
        self.variants.resize_with(rows, VariantInput::default);
    }

    /// Three option rows, and the variants followed by a few empty rows.
    fn pad(&mut self) {
        self.options.resize_with(OPTION_ROWS, OptionInput::default);
        let filled = self
            .variants
            .iter()
            .rposition(|v| !v.is_empty())
            .map_or(0, |i| i + 1);
        let rows = (filled + SPARE_ROWS).clamp(self.variants.len().min(MAX_ROWS), MAX_ROWS);
        self.variants.resize_with(rows, VariantInput::default);
        for v in &mut self.variants {
            v.values.resize(OPTION_ROWS, String::new());
        }
    }

    /// The create (or, with `for_update`, update) body, and which form row each of its variants
    /// and option types came from; or the errors found reading prices and weights.
    pub(crate) fn body(&self, currency: &str, for_update: bool) -> Result<Body, Errors> {
        let mut errors = Errors::new(self.variants.len());
        let option_rows: Vec<usize> = (0..OPTION_ROWS)
            .filter(|i| !self.options[*i].name.trim().is_empty())
            .collect();
        let options: Vec<Value> = option_rows
            .iter()
            .map(|i| {
                let o = &self.options[*i];
                let values: Vec<&str> = o
                    .values
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .collect();
                json!({"name": o.name.trim(), "values": values})
            })
            .collect();
        let variant_rows: Vec<usize> = (0..self.variants.len())
            .filter(|i| !self.variants[*i].sku.trim().is_empty())
            .collect();
        let mut variants = Vec::with_capacity(variant_rows.len());
        for &row in &variant_rows {
            let v = &self.variants[row];
            let price = parse_price(&v.price, currency);
            if price.is_none() {
                errors.rows[row].add(
                    "price",
                    &format!("Enter a price such as {}.", price_example(currency)),
                );
            }
            let weight = match v.weight.trim() {
                "" => Some(0),
                w => w.parse::<i64>().ok().filter(|w| *w >= 0),
            };
            if weight.is_none() {
                errors.rows[row].add("weight", "Enter a whole number of grams.");
            }
            let values: Map<String, Value> = option_rows
                .iter()
                .map(|i| {
                    (
                        self.options[*i].name.trim().to_owned(),
                        Value::from(v.values.get(*i).map_or("", |s| s.trim())),
                    )
                })
                .collect();
            variants.push(json!({
                "sku": v.sku.trim(),
                "title": v.title.trim(),
                "price": {"amount_minor": price.unwrap_or(0)},
                "weight_grams": weight.unwrap_or(0),
                "requires_shipping": v.ships,
                "options": values,
            }));
        }
        if errors.any() {
            return Err(errors);
        }
        let slug = match self.slug.trim() {
            "" => slugify(&self.title),
            s => s.to_owned(),
        };
        let mut body = json!({
            "title": self.title,
            "description": self.description,
            "category": self.category,
            "tax_category": self.tax_category.trim(),
            "status": self.status,
            "options": options,
            "variants": variants,
        });
        if !(for_update && slug.is_empty()) {
            body["slug"] = Value::from(slug);
        }
        Ok(Body {
            json: body,
            variant_rows,
            option_rows,
        })
    }
}

impl VariantInput {
    fn is_empty(&self) -> bool {
        self.sku.is_empty() && self.title.is_empty() && self.price.is_empty()
    }
}

/// An API body and where its parts came from in the form.
pub(crate) struct Body {
    pub json: Value,
    /// The form row of each variant in `json`.
    pub variant_rows: Vec<usize>,
    /// The option row of each option type in `json`.
    pub option_rows: Vec<usize>,
}

/// A slug from a title: `Blue Shirt, XL!` → `blue-shirt-xl` (at most 80 characters).
pub(crate) fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug: String = slug.trim_end_matches('-').chars().take(80).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// A price in the currency, as the field's hint shows it.
pub(crate) fn price_example(currency: &str) -> String {
    price_input(1999, currency)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_posted_form_becomes_the_api_body_without_its_empty_rows() {
        let form = ProductForm::posted(&pairs(&[
            ("title", "Blue shirt"),
            ("status", "draft"),
            ("rows", "3"),
            ("opt0_name", "Size"),
            ("opt0_values", "S, M"),
            ("v0_sku", "BS-S"),
            ("v0_price", "19.99"),
            ("v0_ships", "1"),
            ("v0_opt0", "S"),
            ("v2_sku", "BS-M"),
            ("v2_price", "21"),
            ("v2_weight", "250"),
            ("v2_opt0", "M"),
        ]));
        let body = form.body("EUR", false).ok().unwrap();
        assert_eq!(body.variant_rows, [0, 2]);
        assert_eq!(body.json["slug"], "blue-shirt");
        assert_eq!(
            body.json["options"],
            json!([{"name": "Size", "values": ["S", "M"]}])
        );
        assert_eq!(body.json["variants"][1]["price"]["amount_minor"], 2100);
        assert_eq!(body.json["variants"][1]["requires_shipping"], false);
        assert_eq!(body.json["variants"][1]["options"], json!({"Size": "M"}));
    }

    #[test]
    fn an_unreadable_price_is_an_error_on_its_row() {
        let form = ProductForm::posted(&pairs(&[
            ("title", "T"),
            ("rows", "2"),
            ("v1_sku", "A"),
            ("v1_price", "abc"),
        ]));
        let errors = form.body("EUR", false).err().unwrap();
        assert!(errors.rows[1].get("price").is_some());
        assert!(errors.rows[0].is_empty());
    }

    #[test]
    fn slugs_are_made_of_lower_case_words_and_dashes() {
        assert_eq!(slugify("Blue Shirt, XL!"), "blue-shirt-xl");
        assert_eq!(
            slugify("<img src=x onerror=alert(1)>"),
            "img-src-x-onerror-alert-1"
        );
        assert_eq!(slugify("Ünïcode"), "n-code");
    }
}
