//! Stock per SKU and location: every variant's levels, a page of products at a time, and one
//! SKU's levels by location with the form that sets its on-hand quantity and low-stock
//! threshold at a location.

use super::access::{Staff, plain_segment};
use super::errors::FieldErrors;
use super::layout::Section;
use super::product_data::ProductData;
use crate::WebState;
use crate::page::{render, render_status};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/stock", get(list))
        .route("/admin/{store}/stock/find", get(find))
        .route("/admin/{store}/stock/{sku}", get(show).post(set))
}

/// Products per page of the stock list (each variant's stock is one more call).
const PER_PAGE: u32 = 20;

#[derive(Deserialize)]
struct ProductPage {
    items: Vec<ProductData>,
    total: u64,
}

#[derive(Deserialize)]
struct Levels {
    #[serde(default)]
    locations: Vec<Level>,
}

#[derive(Deserialize)]
struct Level {
    location: String,
    on_hand: i64,
    reserved: i64,
    available: i64,
    low_stock_threshold: i64,
}

struct StockRow {
    sku: String,
    product: String,
    on_hand: i64,
    reserved: i64,
    available: i64,
    locations: String,
    /// A location's availability is at or below its low-stock threshold.
    low: bool,
}

impl Level {
    /// At or below the threshold staff set for it (a threshold of 0 means none was set).
    fn is_low(&self) -> bool {
        self.low_stock_threshold > 0 && self.available <= self.low_stock_threshold
    }
}

#[derive(Template)]
#[template(path = "admin/stock.html")]
struct StockPage {
    store: String,
    csrf: String,
    nav: Section,
    rows: Vec<StockRow>,
    page: u32,
    prev_url: Option<String>,
    next_url: Option<String>,
}

#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    page: Option<u32>,
}

/// A SKU's stock at each location; none for a SKU whose stock was never set (the API's 404).
async fn levels(staff: &Staff, sku: &str) -> Result<Vec<Level>, crate::api::ApiError> {
    let path = staff.api_path(&format!("/inventory/{sku}"));
    match staff.session.get(&path).send::<Levels>().await {
        Ok(levels) => Ok(levels.locations),
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

async fn list(staff: Staff, Query(query): Query<PageQuery>) -> Response {
    let page = query.page.unwrap_or(1).max(1);
    let path = format!(
        "{}?page={page}&per_page={PER_PAGE}&sort=title",
        staff.api_path("/products")
    );
    let products = match staff.session.get(&path).send::<ProductPage>().await {
        Ok(p) => p,
        Err(e) => return staff.failure("stock", &e),
    };
    let mut rows = Vec::new();
    for product in &products.items {
        for variant in &product.variants {
            // One call per SKU, in process; a page holds at most a few dozen.
            let levels = match levels(&staff, &variant.sku).await {
                Ok(levels) => levels,
                Err(e) => return staff.failure("stock", &e),
            };
            let title = if variant.title.is_empty() {
                product.title.clone()
            } else {
                format!("{} — {}", product.title, variant.title)
            };
            rows.push(StockRow {
                sku: variant.sku.clone(),
                product: title,
                on_hand: levels.iter().map(|l| l.on_hand).sum(),
                reserved: levels.iter().map(|l| l.reserved).sum(),
                available: levels.iter().map(|l| l.available).sum(),
                low: levels.iter().any(Level::is_low),
                locations: levels
                    .iter()
                    .map(|l| format!("{}: {}", l.location, l.available))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let base = format!("/admin/{}/stock", staff.store);
    let shown = u64::from(page) * u64::from(PER_PAGE);
    render(&StockPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: "stock",
        rows,
        page,
        prev_url: (page > 1).then(|| format!("{base}?page={}", page - 1)),
        next_url: (shown < products.total).then(|| format!("{base}?page={}", page + 1)),
    })
}

#[derive(Deserialize, Default)]
struct FindQuery {
    #[serde(default)]
    sku: String,
}

/// The SKU search box: to that SKU's page.
async fn find(staff: Staff, Query(query): Query<FindQuery>) -> Response {
    let sku = query.sku.trim();
    if !plain_segment(sku) {
        return staff.not_found("stock");
    }
    Redirect::to(&format!("/admin/{}/stock/{sku}", staff.store)).into_response()
}

#[derive(Deserialize, Default)]
struct StockForm {
    #[serde(default)]
    location: String,
    #[serde(default)]
    on_hand: String,
    #[serde(default)]
    low_stock_threshold: String,
}

#[derive(Template)]
#[template(path = "admin/stock_sku.html")]
struct SkuPage {
    store: String,
    csrf: String,
    nav: Section,
    sku: String,
    levels: Vec<Level>,
    form: StockForm,
    errors: FieldErrors,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: String,
}

async fn show(staff: Staff, Path((_, sku)): Path<(String, String)>, Query(done): Query<Done>) -> Response {
    let notice = (done.done == "saved").then_some("The stock is saved.");
    sku_page(
        staff,
        sku,
        StockForm::default(),
        FieldErrors::default(),
        notice,
        None,
    )
    .await
}

async fn sku_page(
    staff: Staff,
    sku: String,
    form: StockForm,
    errors: FieldErrors,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Response {
    if !plain_segment(&sku) {
        return staff.not_found("stock");
    }
    let levels = match levels(&staff, &sku).await {
        Ok(levels) => levels,
        Err(e) => return staff.failure("stock", &e),
    };
    let failed = !errors.is_empty() || error.is_some();
    let page = SkuPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: "stock",
        sku,
        levels,
        form,
        errors,
        notice,
        error,
    };
    let status = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(status, &page)
}

/// A whole number field: empty is `None`, anything else must be a whole number ≥ 0.
fn whole(text: &str) -> Result<Option<i64>, ()> {
    match text.trim() {
        "" => Ok(None),
        t => t.parse::<i64>().ok().filter(|n| *n >= 0).map(Some).ok_or(()),
    }
}

async fn set(
    staff: Staff,
    Path((_, sku)): Path<(String, String)>,
    axum::Form(form): axum::Form<StockForm>,
) -> Response {
    if !plain_segment(&sku) {
        return staff.not_found("stock");
    }
    let mut errors = FieldErrors::default();
    let on_hand = match whole(&form.on_hand) {
        Ok(Some(n)) => Some(n),
        _ => {
            errors.add("on_hand", "enter a whole number of units, 0 or more");
            None
        }
    };
    let threshold = whole(&form.low_stock_threshold).unwrap_or_else(|()| {
        errors.add("low_stock_threshold", "enter a whole number, or leave it empty");
        None
    });
    let Some(on_hand) = on_hand.filter(|_| errors.is_empty()) else {
        return sku_page(staff, sku, form, errors, None, None).await;
    };
    let mut body = serde_json::json!({ "on_hand": on_hand });
    if !form.location.trim().is_empty() {
        body["location"] = serde_json::Value::from(form.location.trim());
    }
    if let Some(threshold) = threshold {
        body["low_stock_threshold"] = serde_json::Value::from(threshold);
    }
    let path = staff.api_path(&format!("/inventory/{sku}"));
    match staff.session.put(&path).json(&body).send_empty().await {
        Ok(()) => Redirect::to(&format!("/admin/{}/stock/{sku}?done=saved", staff.store)).into_response(),
        Err(e) if !e.fields.is_empty() => {
            let errors = FieldErrors::of(&e);
            let others = errors.others(&["location", "on_hand", "low_stock_threshold"]);
            let error = (!others.is_empty()).then(|| others.join(" "));
            sku_page(staff, sku, form, errors, None, error).await
        }
        Err(e) if e.is_unauthenticated() => staff.failure("stock", &e),
        Err(e) => {
            let error = Some(format!("The stock was not saved: {}", e.plain_message()));
            sku_page(staff, sku, form, FieldErrors::default(), None, error).await
        }
    }
}
