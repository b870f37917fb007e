//! `/admin/{store}/products/import`: many products at once from CSV text pasted in a form (one
//! product with one variant per line: title, SKU, price, and optionally status and category),
//! each created through the API as the form would, with a report of what became of every line.

use super::access::Staff;
use super::errors::FieldErrors;
use super::layout::Section;
use super::product_form::ProductForm;
use crate::WebState;
use crate::page::render;
use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

pub(crate) fn routes() -> Router<WebState> {
    Router::new().route("/admin/{store}/products/import", get(form).post(import))
}

/// Lines one import takes (each is an API call; the form's body is limited anyway).
const MAX_LINES: usize = 500;

/// What became of one line.
struct Outcome {
    line: usize,
    title: String,
    created: bool,
    message: String,
}

#[derive(Template)]
#[template(path = "admin/product_import.html")]
struct ImportPage {
    store: String,
    csrf: String,
    nav: Section,
    text: String,
    outcomes: Vec<Outcome>,
    created: usize,
    refused: usize,
}

async fn form(staff: Staff) -> Response {
    render(&ImportPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: "products",
        text: String::new(),
        outcomes: Vec::new(),
        created: 0,
        refused: 0,
    })
}

/// The fields of one CSV line (RFC 4180 quoting: `"a, b"`, `""` for a quote).
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut field).trim().to_owned()),
            (c, _) => field.push(c),
        }
    }
    out.push(field.trim().to_owned());
    out
}

#[derive(Deserialize)]
struct ImportForm {
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct StoreData {
    currency: String,
}

async fn import(staff: Staff, axum::Form(posted): axum::Form<ImportForm>) -> Response {
    let currency = match staff.session.get(&staff.api_path("")).send::<StoreData>().await {
        Ok(store) => store.currency,
        Err(e) => return staff.failure("products", &e),
    };
    let mut outcomes = Vec::new();
    let lines = posted
        .text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    for (index, line) in lines.take(MAX_LINES) {
        let cells = fields(line);
        let cell = |i: usize| cells.get(i).cloned().unwrap_or_default();
        // A header line names its columns; it is not a product.
        if index == 0 && cell(0).eq_ignore_ascii_case("title") {
            continue;
        }
        let status = match cell(3) {
            s if s.is_empty() => "active".to_owned(),
            s => s.to_lowercase(),
        };
        let pairs: Vec<(String, String)> = [
            ("rows", "1".to_owned()),
            ("title", cell(0)),
            ("v0_sku", cell(1)),
            ("v0_price", cell(2)),
            ("status", status),
            ("category", cell(4)),
            ("v0_ships", "1".to_owned()),
            ("tax_category", "standard".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let title = cell(0);
        let outcome = |created, message: String| Outcome {
            line: index + 1,
            title: title.clone(),
            created,
            message,
        };
        let form = ProductForm::posted(&pairs);
        let body = match form.body(&currency, false) {
            Ok(body) => body,
            Err(_) => {
                outcomes.push(outcome(
                    false,
                    "The price is not a number such as 19.99.".to_owned(),
                ));
                continue;
            }
        };
        let created = staff
            .session
            .post(&staff.api_path("/products"))
            .json(&body.json)
            .send_empty()
            .await;
        outcomes.push(match created {
            Ok(()) => outcome(true, "Created.".to_owned()),
            Err(e) if e.is_unauthenticated() => return staff.failure("products", &e),
            Err(e) if !e.fields.is_empty() => {
                let errors = FieldErrors::of(&e);
                outcome(
                    false,
                    errors.others(&[]).join(" ").replace("variants[0].", "variant "),
                )
            }
            Err(e) => outcome(false, e.plain_message()),
        });
    }
    let created = outcomes.iter().filter(|o| o.created).count();
    render(&ImportPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: "products",
        refused: outcomes.len() - created,
        created,
        outcomes,
        text: posted.text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_split_on_commas_outside_quotes() {
        assert_eq!(fields("Lamp, L-1, 19.99"), ["Lamp", "L-1", "19.99"]);
        assert_eq!(
            fields("\"Lamp, brass\",L-2,\"say \"\"hi\"\"\""),
            ["Lamp, brass", "L-2", "say \"hi\""]
        );
        assert_eq!(fields(""), [""]);
    }
}
