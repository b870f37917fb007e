//! Where a product form's errors go: the API names fields of its body
//! (`variants[2].price_minor`, `options[0].values[1]`); the form shows each next to the input it
//! came from (variant row 4's price, when rows 1-3 were left empty), and the rest in a summary.

use super::errors::FieldErrors;
use super::product_form::{Body, OPTION_ROWS};

/// Errors found by the form or the API, placed: the product's fields, each option row's, each
/// variant row's, and those that name nothing the form shows.
pub(crate) struct Errors {
    pub product: FieldErrors,
    pub options: Vec<FieldErrors>,
    pub rows: Vec<FieldErrors>,
}

impl Errors {
    pub(crate) fn new(rows: usize) -> Errors {
        Errors {
            product: FieldErrors::default(),
            options: vec![FieldErrors::default(); OPTION_ROWS],
            rows: vec![FieldErrors::default(); rows],
        }
    }

    pub(crate) fn any(&self) -> bool {
        !self.product.is_empty()
            || self.options.iter().any(|e| !e.is_empty())
            || self.rows.iter().any(|e| !e.is_empty())
    }

    /// The API's field errors, each put next to the input it names (an unknown field next to
    /// the product's title block, under `form`).
    pub(crate) fn from_api(body: &Body, rows: usize, fields: &[(String, String)]) -> Errors {
        let mut errors = Errors::new(rows);
        for (field, message) in fields {
            if let Some((i, rest)) = indexed(field, "variants")
                && let Some(&row) = body.variant_rows.get(i)
            {
                let input = match rest {
                    "sku" => "sku",
                    "title" => "title",
                    "price_minor" | "currency" | "price" | "price.amount_minor" | "price.currency" => "price",
                    "weight_grams" => "weight",
                    _ => "options",
                };
                errors.rows[row].add(input, message);
            } else if let Some((i, rest)) = indexed(field, "options")
                && let Some(&row) = body.option_rows.get(i)
            {
                let input = if rest == "name" { "name" } else { "values" };
                errors.options[row].add(input, message);
            } else {
                let known = [
                    "title",
                    "slug",
                    "description",
                    "category",
                    "tax_category",
                    "status",
                    "options",
                    "variants",
                ];
                let input = if known.contains(&field.as_str()) {
                    field.as_str()
                } else {
                    "form"
                };
                errors.product.add(input, message);
            }
        }
        errors
    }
}

/// `variants[2].price_minor` with prefix `variants` → `(2, "price_minor")`.
fn indexed<'a>(field: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = field.strip_prefix(prefix)?.strip_prefix('[')?;
    let (index, rest) = rest.split_once(']')?;
    Some((index.parse().ok()?, rest.trim_start_matches('.')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::product_form::ProductForm;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn api_field_errors_land_on_the_row_and_field_they_name() {
        let form = ProductForm::posted(&pairs(&[
            ("title", ""),
            ("rows", "3"),
            ("v2_sku", "A"),
            ("v2_price", "1"),
        ]));
        let body = form.body("EUR", false).ok().unwrap();
        let errors = Errors::from_api(
            &body,
            3,
            &[
                ("title".to_owned(), "must be 1-200 characters".to_owned()),
                ("variants[0].price_minor".to_owned(), "is too large".to_owned()),
                ("something_else".to_owned(), "is odd".to_owned()),
            ],
        );
        assert_eq!(
            errors.product.get("title").map(String::as_str),
            Some("Must be 1-200 characters.")
        );
        assert_eq!(
            errors.rows[2].get("price").map(String::as_str),
            Some("Is too large.")
        );
        assert!(errors.product.get("form").is_some());
    }
}
