//! Products: the list (drafts and archived ones too, as staff see them), the create and edit
//! form with its variants and options (`product_form`), and delete. A refusal's field errors
//! are shown next to the inputs they name.

use super::access::{Staff, plain_segment};
use super::categories::{CategoryOption, options};
use super::errors::FieldErrors;
use super::format::{money, when};
use super::layout::Section;
use super::orders::Choice;
use super::product_form::{Errors, OPTION_ROWS, ProductData, ProductForm, price_example};
use crate::WebState;
use crate::api::ApiError;
use crate::page::{render, render_status};
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
        .route("/admin/{store}/products", get(list).post(create))
        .route("/admin/{store}/products/new", get(new))
        .route("/admin/{store}/products/{product}", get(edit).post(update))
        .route("/admin/{store}/products/{product}/delete", post(delete))
}

const PER_PAGE: u32 = 50;

#[derive(Deserialize)]
struct ProductPage {
    items: Vec<ProductData>,
    total: u64,
}

#[derive(Deserialize)]
struct StoreData {
    currency: String,
}

/// A product's row in the list.
struct ProductRow {
    id: String,
    title: String,
    status: String,
    category: String,
    variants: usize,
    price: String,
    updated_at: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "admin/products.html")]
struct ProductsPage {
    store: String,
    csrf: String,
    nav: Section,
    products: Vec<ProductRow>,
    total: u64,
    notice: Option<&'static str>,
    prev_url: Option<String>,
    next_url: Option<String>,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    done: String,
}

/// The lowest and highest variant price: `19.99 EUR` or `19.99–24.99 EUR`.
fn price_range(p: &ProductData) -> String {
    let prices: Vec<(i64, &str)> = p
        .variants
        .iter()
        .filter_map(|v| v.price.as_ref().map(|m| (m.amount_minor, m.currency.as_str())))
        .collect();
    let (Some(low), Some(high)) = (prices.iter().min(), prices.iter().max()) else {
        return String::new();
    };
    if low.0 == high.0 {
        money(low.0, low.1)
    } else {
        let low_text = money(low.0, low.1);
        let low_number = low_text
            .strip_suffix(low.1)
            .map_or(low_text.as_str(), str::trim_end);
        format!("{low_number}–{}", money(high.0, high.1))
    }
}

async fn list(staff: Staff, Query(query): Query<ListQuery>) -> Response {
    let page = query.page.unwrap_or(1).max(1);
    let path = format!(
        "{}?page={page}&per_page={PER_PAGE}&sort=newest",
        staff.api_path("/products")
    );
    let (products, categories) =
        tokio::join!(staff.session.get(&path).send::<ProductPage>(), options(&staff));
    let (products, categories) = match (products, categories) {
        (Ok(p), Ok(c)) => (p, c),
        (Err(e), _) | (_, Err(e)) => return staff.failure("products", &e),
    };
    let category = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| categories.iter().find(|c| &c.id == id))
            .map(|c| c.path.clone())
            .unwrap_or_default()
    };
    let base = format!("/admin/{}/products", staff.store);
    let shown = u64::from(page) * u64::from(PER_PAGE);
    let page_view = ProductsPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: "products",
        products: products
            .items
            .iter()
            .map(|p| ProductRow {
                id: p.id.clone(),
                title: p.title.clone(),
                status: p.status.clone(),
                category: category(&p.category_id),
                variants: p.variants.len(),
                price: price_range(p),
                updated_at: p.updated_at.clone(),
                updated: when(&p.updated_at),
            })
            .collect(),
        total: products.total,
        notice: (query.done == "deleted").then_some("The product is deleted."),
        prev_url: (page > 1).then(|| format!("{base}?page={}", page - 1)),
        next_url: (shown < products.total).then(|| format!("{base}?page={}", page + 1)),
    };
    render(&page_view)
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

/// One variant row of the form, with its errors.
struct VariantRow {
    index: usize,
    n: usize,
    sku: String,
    title: String,
    price: String,
    weight: String,
    ships: bool,
    values: Vec<String>,
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
            values: v.values.clone(),
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

async fn delete(staff: Staff, Path((_, product)): Path<(String, String)>) -> Response {
    if !plain_segment(&product) {
        return staff.not_found("products");
    }
    let path = staff.api_path(&format!("/products/{product}"));
    match staff.session.delete(&path).send_empty().await {
        Ok(()) => Redirect::to(&format!("/admin/{}/products?done=deleted", staff.store)).into_response(),
        Err(e) => staff.failure("products", &e),
    }
}
