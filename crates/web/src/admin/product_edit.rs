//! The product form's pages: a new product, an existing one to edit, and saving either (the
//! API's create or partial update, variants replaced as the form shows them). "Add variant
//! rows" shows the form again with more rows, sending nothing.

use super::access::{Staff, plain_segment};
use super::categories::{CategoryOption, options};
use super::errors::FieldErrors;
use super::layout::Section;
use super::orders::Choice;
use super::product_data::ProductData;
use super::product_errors::Errors;
use super::product_form::{OPTION_ROWS, ProductForm, price_example};
use crate::WebState;
use crate::api::ApiError;
use crate::page::render_status;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/products", post(create))
        .route("/admin/{store}/products/new", get(new))
        .route("/admin/{store}/products/{product}", get(edit).post(update))
}

#[derive(Deserialize)]
struct StoreData {
    currency: String,
}

/// One option row of the form, with its errors.
struct OptionRow {
    index: usize,
    n: usize,
    name: String,
    values: String,
    name_error: Option<String>,
    values_error: Option<String>,
}

/// A variant's value of one option type: the input `v{row}_opt{option}`, labelled with the
/// option's name ("Variant 1 Size").
struct ValueInput {
    option: usize,
    name: String,
    value: String,
}

/// One variant row of the form, with its errors.
struct VariantRow {
    index: usize,
    n: usize,
    sku: String,
    title: String,
    price: String,
    weight: String,
    ships: bool,
    /// The variant's value of each named option type.
    values: Vec<ValueInput>,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "admin/product_form.html")]
struct FormPage {
    store: String,
    csrf: String,
    nav: Section,
    /// Set when editing.
    product_id: Option<String>,
    action: String,
    form: ProductForm,
    statuses: Vec<Choice>,
    categories: Vec<CategoryOption>,
    options: Vec<OptionRow>,
    /// Whether any option type is named (the variants then have inputs for their values).
    has_options: bool,
    variants: Vec<VariantRow>,
    errors: FieldErrors,
    currency: String,
    price_example: String,
    notice: Option<&'static str>,
    error: Option<String>,
}

const STATUSES: [(&str, &str); 3] = [("active", "Active"), ("draft", "Draft"), ("archived", "Archived")];

/// The store's currency, which every price of it is in.
async fn currency(staff: &Staff) -> Result<String, ApiError> {
    let store = staff.session.get(&staff.api_path("")).send::<StoreData>().await?;
    Ok(store.currency)
}

/// The form page for `form`, with `errors` placed on its rows.
async fn form_page(
    staff: Staff,
    product_id: Option<String>,
    form: ProductForm,
    errors: Errors,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Response {
    let (currency, categories) = tokio::join!(currency(&staff), options(&staff));
    let (currency, categories) = match (currency, categories) {
        (Ok(c), Ok(cats)) => (c, cats),
        (Err(e), _) | (_, Err(e)) => return staff.failure("products", &e),
    };
    let shown = [
        "title",
        "slug",
        "description",
        "category",
        "tax_category",
        "status",
        "options",
        "variants",
    ];
    let mut summary: Vec<String> = errors.product.others(&shown);
    if let Some(e) = error {
        summary.insert(0, e);
    }
    let failed = !summary.is_empty()
        || !errors.product.is_empty()
        || errors.rows.iter().chain(&errors.options).any(|e| !e.is_empty());
    if failed && summary.is_empty() {
        summary.push("The product was not saved: see the fields marked below.".to_owned());
    }
    let action = match &product_id {
        Some(id) => format!("/admin/{}/products/{id}", staff.store),
        None => format!("/admin/{}/products", staff.store),
    };
    let options = (0..OPTION_ROWS)
        .map(|i| {
            let o = &form.options[i];
            let e = errors.options.get(i);
            OptionRow {
                index: i,
                n: i + 1,
                name: o.name.clone(),
                values: o.values.clone(),
                name_error: e.and_then(|e| e.get("name").cloned()),
                values_error: e.and_then(|e| e.get("values").cloned()),
            }
        })
        .collect();
    // Option types named so far; each variant gets an input for its value of each.
    let named: Vec<(usize, &str)> = form
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| (i, o.name.trim()))
        .filter(|(_, name)| !name.is_empty())
        .collect();
    let variants = form
        .variants
        .iter()
        .enumerate()
        .map(|(i, v)| VariantRow {
            index: i,
            n: i + 1,
            sku: v.sku.clone(),
            title: v.title.clone(),
            price: v.price.clone(),
            weight: v.weight.clone(),
            ships: v.ships,
            values: named
                .iter()
                .map(|&(option, name)| ValueInput {
                    option,
                    name: name.to_owned(),
                    value: v.values.get(option).cloned().unwrap_or_default(),
                })
                .collect(),
            errors: errors.rows.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    let page = FormPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: "products",
        product_id,
        action,
        statuses: STATUSES
            .iter()
            .map(|(value, label)| Choice {
                value,
                label,
                selected: *value == form.status,
            })
            .collect(),
        categories,
        options,
        has_options: !named.is_empty(),
        variants,
        errors: errors.product,
        price_example: price_example(&currency),
        currency,
        notice,
        error: (!summary.is_empty()).then(|| summary.join(" ")),
        form,
    };
    let status = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(status, &page)
}

async fn new(staff: Staff) -> Response {
    let form = ProductForm::blank();
    let rows = form.variants.len();
    form_page(staff, None, form, Errors::new(rows), None, None).await
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: String,
}

async fn edit(
    staff: Staff,
    Path((_, product)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Response {
    if !plain_segment(&product) {
        return staff.not_found("products");
    }
    let path = staff.api_path(&format!("/products/{product}"));
    let data = match staff.session.get(&path).send::<ProductData>().await {
        Ok(data) => data,
        Err(e) => return staff.failure("products", &e),
    };
    let form = ProductForm::of(&data);
    let rows = form.variants.len();
    let notice = match done.done.as_str() {
        "created" => Some("The product is created."),
        "saved" => Some("The product is saved."),
        "not-deleted" => {
            Some("The product was not deleted: tick \u{201c}Yes, delete this product\u{201d} first.")
        }
        _ => None,
    };
    form_page(staff, Some(data.id), form, Errors::new(rows), notice, None).await
}

/// The posted form; `Err` when it only asked for more rows (shown again, nothing sent).
fn posted(body: &Bytes) -> (ProductForm, bool) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let more = pairs.iter().any(|(k, v)| k == "action" && v == "more");
    (ProductForm::posted(&pairs), more)
}

async fn create(staff: Staff, body: Bytes) -> Response {
    save(staff, None, body).await
}

async fn update(staff: Staff, Path((_, product)): Path<(String, String)>, body: Bytes) -> Response {
    if !plain_segment(&product) {
        return staff.not_found("products");
    }
    save(staff, Some(product), body).await
}

#[derive(Deserialize)]
struct Saved {
    id: String,
}

/// Creates (`product` `None`) or updates a product from the posted form.
async fn save(staff: Staff, product: Option<String>, body: Bytes) -> Response {
    let (mut form, more) = posted(&body);
    if more {
        form.more_rows();
        let rows = form.variants.len();
        return form_page(staff, product, form, Errors::new(rows), None, None).await;
    }
    let currency = match currency(&staff).await {
        Ok(c) => c,
        Err(e) => return staff.failure("products", &e),
    };
    let body = match form.body(&currency, product.is_some()) {
        Ok(body) => body,
        Err(errors) => return form_page(staff, product, form, errors, None, None).await,
    };
    let result = match &product {
        Some(id) => {
            let path = staff.api_path(&format!("/products/{id}"));
            staff.session.patch(&path).json(&body.json).send::<Saved>().await
        }
        None => {
            let path = staff.api_path("/products");
            staff.session.post(&path).json(&body.json).send::<Saved>().await
        }
    };
    match result {
        Ok(saved) => {
            let done = if product.is_some() { "saved" } else { "created" };
            Redirect::to(&format!(
                "/admin/{}/products/{}?done={done}",
                staff.store, saved.id
            ))
            .into_response()
        }
        Err(e) if e.is_unauthenticated() || (e.is_not_found() && product.is_some()) => {
            staff.failure("products", &e)
        }
        Err(e) => {
            let fields: Vec<(String, String)> = e
                .fields
                .iter()
                .map(|f| (f.field.clone(), f.message.clone()))
                .collect();
            let errors = Errors::from_api(&body, form.variants.len(), &fields);
            let error = fields
                .is_empty()
                .then(|| format!("The product was not saved: {}", e.plain_message()));
            form_page(staff, product, form, errors, None, error).await
        }
    }
}
