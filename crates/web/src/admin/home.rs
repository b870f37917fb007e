//! The admin's home `/admin/{store}/`: today's sales and order count (UTC), summed from the
//! orders API's listing of today's orders (the platform has no analytics yet), and the latest
//! orders; both follow the staff channel (admin.js refetches `…/today` on an order event).

use super::access::Staff;
use super::format::{day_start, money, today};
use super::layout::Section;
use super::orders::{OrderPage, OrderRow};
use crate::WebState;
use crate::api::ApiError;
use crate::page::render;
use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/", get(home))
        .route("/admin/{store}/today", get(today_part))
}

/// Pages of today's orders read for the figures (100 orders each); a store with more orders
/// in a day needs the analytics issue's figures.
const MAX_PAGES: usize = 10;

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage {
    store: String,
    csrf: String,
    nav: Section,
    /// `owner` or `staff`.
    role: String,
    today: Today,
}

/// The figures and latest orders, which follow the staff channel (`…/today`).
struct Today {
    store: String,
    sales_today: String,
    orders_today: u64,
    refunded_today: String,
    /// Not every order of today was counted (more than `MAX_PAGES` pages).
    partial: bool,
    counted: usize,
    latest: Vec<OrderRow>,
}

/// Today's figures: orders placed (not failed), what they took (confirmed orders, refunds
/// deducted) and what was refunded of them.
#[derive(Default, Debug, PartialEq)]
struct Figures {
    orders: u64,
    sales_minor: i64,
    refunded_minor: i64,
    counted: usize,
    partial: bool,
}

/// Statuses of orders whose money was taken.
const PAID: [&str; 3] = ["confirmed", "partially_refunded", "refunded"];

fn add(figures: &mut Figures, page: &OrderPage) {
    for o in &page.items {
        figures.counted += 1;
        if o.status != "failed" {
            figures.orders += 1;
        }
        if PAID.contains(&o.status.as_str()) {
            figures.sales_minor += o.total_minor - o.refunded_minor;
            figures.refunded_minor += o.refunded_minor;
        }
    }
}

async fn today_figures(staff: &Staff) -> Result<Figures, ApiError> {
    let from = day_start(today());
    let mut figures = Figures::default();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut query = vec![("created_from", from.clone()), ("per_page", "100".to_owned())];
        if let Some(c) = cursor.take() {
            query.push(("cursor", c));
        }
        let path = format!(
            "{}?{}",
            staff.api_path("/orders"),
            serde_urlencoded::to_string(&query).unwrap_or_default()
        );
        let page = staff.session.get(&path).send::<OrderPage>().await?;
        add(&mut figures, &page);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(figures),
        }
    }
    figures.partial = true;
    Ok(figures)
}

#[derive(serde::Deserialize)]
struct StoreData {
    currency: String,
}

/// The figures and latest orders alone (`templates/admin/home_today.html`, which the home page
/// includes).
#[derive(Template)]
#[template(path = "admin/home_today.html")]
struct TodayPart {
    today: Today,
}

/// Today's figures and the latest orders, read from the orders API.
async fn load_today(staff: &Staff) -> Result<Today, ApiError> {
    let latest_path = format!("{}?per_page=10", staff.api_path("/orders"));
    let store_path = staff.api_path("");
    let (figures, latest, store) = tokio::join!(
        today_figures(staff),
        staff.session.get(&latest_path).send::<OrderPage>(),
        staff.session.get(&store_path).send::<StoreData>(),
    );
    let (figures, latest, store) = (figures?, latest?, store?);
    Ok(Today {
        store: staff.store.clone(),
        sales_today: money(figures.sales_minor, &store.currency),
        orders_today: figures.orders,
        refunded_today: money(figures.refunded_minor, &store.currency),
        partial: figures.partial,
        counted: figures.counted,
        latest: latest.items.iter().map(OrderRow::from).collect(),
    })
}

async fn home(staff: Staff) -> Response {
    match load_today(&staff).await {
        Ok(today) => render(&HomePage {
            store: staff.store.clone(),
            csrf: staff.csrf(),
            nav: "home",
            role: staff.role.clone(),
            today,
        }),
        Err(e) => staff.failure("home", &e),
    }
}

/// The figures and latest orders alone, for the live refresh (admin.js, after an order event).
async fn today_part(staff: Staff) -> Response {
    match load_today(&staff).await {
        Ok(today) => render(&TodayPart { today }),
        Err(e) => staff.failure("home", &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sales_count_paid_orders_less_refunds_and_orders_leave_out_failed_ones() {
        let page: OrderPage = serde_json::from_value(serde_json::json!({"total": 3, "items": [
            {"id": "a", "status": "confirmed", "currency": "EUR", "total_minor": 1000, "created_at": "x"},
            {"id": "b", "status": "partially_refunded", "currency": "EUR", "total_minor": 500, "refunded_minor": 200, "created_at": "x"},
            {"id": "c", "status": "failed", "currency": "EUR", "total_minor": 900, "created_at": "x"},
        ]}))
        .unwrap();
        let mut figures = Figures::default();
        add(&mut figures, &page);
        assert_eq!(
            (figures.orders, figures.sales_minor, figures.refunded_minor),
            (2, 1300, 200)
        );
    }
}
