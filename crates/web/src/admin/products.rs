//! Products: the list (drafts and archived ones too, as staff see them) and delete; the create
//! and edit form is `product_edit`.

use super::access::{Staff, plain_segment};
use super::categories::options;
use super::format::{money, when};
use super::layout::Section;
use super::product_data::ProductData;
use crate::WebState;
use crate::page::render;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/products", get(list))
        .route("/admin/{store}/products/{product}/delete", post(delete))
}

const PER_PAGE: u32 = 50;

#[derive(Deserialize)]
struct ProductPage {
    items: Vec<ProductData>,
    total: u64,
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

#[derive(Deserialize, Default)]
struct DeleteForm {
    #[serde(default)]
    confirm: String,
}

/// Deletes a product once its box "Yes, delete this product" is ticked (the browser asks for
/// it; without it, the edit page says so).
async fn delete(
    staff: Staff,
    Path((_, product)): Path<(String, String)>,
    axum::Form(form): axum::Form<DeleteForm>,
) -> Response {
    if !plain_segment(&product) {
        return staff.not_found("products");
    }
    if form.confirm != "1" {
        let edit = format!("/admin/{}/products/{product}?done=not-deleted", staff.store);
        return Redirect::to(&edit).into_response();
    }
    let path = staff.api_path(&format!("/products/{product}"));
    match staff.session.delete(&path).send_empty().await {
        Ok(()) => Redirect::to(&format!("/admin/{}/products?done=deleted", staff.store)).into_response(),
        Err(e) => staff.failure("products", &e),
    }
}
