//! Orders: the list with filters by status, date range and number or email, which follows the
//! staff channel (admin.js replaces its rows with `…/orders/rows` when an order event arrives),
//! and the order shapes the admin reads from the API.

use super::access::Staff;
use super::errors::FieldErrors;
use super::format::{day_start, money, parse_date, when};
use super::layout::Section;
use crate::WebState;
use crate::page::render;
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/orders", get(list))
        .route("/admin/{store}/orders/rows", get(rows))
}

/// Orders per page of the list.
const PER_PAGE: u32 = 50;

/// An order as the API gives it (the parts the admin shows).
#[derive(Deserialize, Clone)]
pub(crate) struct OrderData {
    pub id: String,
    pub number: Option<i64>,
    pub email: Option<String>,
    pub status: String,
    #[serde(default)]
    pub fulfilment_status: String,
    pub failure_code: Option<String>,
    pub currency: String,
    pub total_minor: i64,
    #[serde(default)]
    pub refunded_minor: i64,
    pub created_at: String,
    #[serde(default)]
    pub lines: Vec<LineData>,
    #[serde(default)]
    pub shipping_address: Option<serde_json::Value>,
    #[serde(default)]
    pub fulfilments: Vec<super::after_sale::FulfilmentData>,
    #[serde(default)]
    pub returns: Vec<super::after_sale::ReturnData>,
}

#[derive(Deserialize, Clone)]
pub(crate) struct LineData {
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    #[serde(default)]
    pub refunded_quantity: i64,
    #[serde(default)]
    pub fulfilled_quantity: i64,
    pub charges: Option<LineCharges>,
}

#[derive(Deserialize, Clone)]
pub(crate) struct LineCharges {
    pub total_minor: i64,
}

#[derive(Deserialize)]
pub(crate) struct OrderPage {
    pub items: Vec<OrderData>,
    pub total: u64,
    pub next_cursor: Option<String>,
}

impl OrderData {
    /// `#1001`, or the start of the id for orders placed before numbers were kept.
    pub(crate) fn label(&self) -> String {
        match self.number {
            Some(n) => format!("#{n}"),
            None => format!("{}…", self.id.get(..8).unwrap_or(&self.id)),
        }
    }
}

/// `partially_refunded` → `partially refunded`.
pub(crate) fn words(name: &str) -> String {
    name.replace('_', " ")
}

/// One row of an order table.
pub(crate) struct OrderRow {
    pub id: String,
    pub label: String,
    pub created_at: String,
    pub placed: String,
    pub email: String,
    pub status: String,
    pub fulfilment: String,
    pub total: String,
}

impl From<&OrderData> for OrderRow {
    fn from(o: &OrderData) -> Self {
        OrderRow {
            id: o.id.clone(),
            label: o.label(),
            created_at: o.created_at.clone(),
            placed: when(&o.created_at),
            email: o.email.clone().unwrap_or_default(),
            status: words(&o.status),
            fulfilment: words(&o.fulfilment_status),
            total: money(o.total_minor, &o.currency),
        }
    }
}

/// The list's filters, as the page's query string has them.
#[derive(Deserialize, Serialize, Default, Clone)]
pub(crate) struct Filter {
    #[serde(default)]
    pub status: String,
    /// Where the goods are: unfulfilled, partially_fulfilled, fulfilled, shipped or delivered.
    #[serde(default)]
    pub fulfilment: String,
    /// A date (`2026-12-06`): orders placed from its start (UTC).
    #[serde(default)]
    pub from: String,
    /// A date: orders placed up to its end (UTC).
    #[serde(default)]
    pub to: String,
    /// An order number or the start of an email.
    #[serde(default)]
    pub q: String,
    #[serde(default, skip_serializing)]
    pub cursor: String,
}

impl Filter {
    /// The API's query for these filters, or the fields that cannot be read.
    pub(crate) fn api_query(&self) -> Result<Vec<(&'static str, String)>, FieldErrors> {
        let mut query = vec![("per_page", PER_PAGE.to_string())];
        let mut errors = FieldErrors::default();
        let mut push = |name, value: &str| {
            if !value.trim().is_empty() {
                query.push((name, value.trim().to_owned()));
            }
        };
        push("status", &self.status);
        push("fulfilment_status", &self.fulfilment);
        push("q", &self.q);
        push("cursor", &self.cursor);
        let mut date = |field: &str, text: &str, offset: i64| -> Option<String> {
            if text.trim().is_empty() {
                return None;
            }
            match parse_date(text) {
                Some(day) => Some(day_start(day + offset)),
                None => {
                    errors.add(field, "enter a date such as 2026-12-06");
                    None
                }
            }
        };
        let from = date("created_from", &self.from, 0);
        // "To" is the last day shown: the API's bound is the start of the next day.
        let to = date("created_to", &self.to, 1);
        if let Some(from) = from {
            query.push(("created_from", from));
        }
        if let Some(to) = to {
            query.push(("created_to", to));
        }
        if errors.is_empty() { Ok(query) } else { Err(errors) }
    }

    /// This filter's query string (without the cursor), for links and the live refresh.
    pub(crate) fn query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

/// A choice of the status filter.
pub(crate) struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

const STATUSES: [(&str, &str); 7] = [
    ("", "Any status"),
    ("pending", "Pending"),
    ("confirmed", "Confirmed"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("refunded", "Refunded"),
    ("partially_refunded", "Partially refunded"),
];

const FULFILMENTS: [(&str, &str); 6] = [
    ("", "Any fulfilment"),
    ("unfulfilled", "Unfulfilled"),
    ("partially_fulfilled", "Partially fulfilled"),
    ("fulfilled", "Fulfilled"),
    ("shipped", "Shipped"),
    ("delivered", "Delivered"),
];

/// The choices of a filter, the current one selected.
fn choices(all: &[(&'static str, &'static str)], current: &str) -> Vec<Choice> {
    all.iter()
        .map(|&(value, label)| Choice {
            value,
            label,
            selected: value == current,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/orders.html")]
struct OrdersPage {
    store: String,
    csrf: String,
    nav: Section,
    filter: Filter,
    statuses: Vec<Choice>,
    fulfilments: Vec<Choice>,
    errors: FieldErrors,
    error: Option<String>,
    rows: Vec<OrderRow>,
    total: u64,
    /// The first page follows new orders; later pages stay as they are.
    live: bool,
    rows_url: String,
    /// The filters' query string, for the CSV download.
    export_query: String,
    cursor_set: bool,
    first_url: String,
    next_url: Option<String>,
}

/// The rows alone, for the live refresh.
#[derive(Template)]
#[template(path = "admin/orders_rows.html")]
struct OrderRows {
    store: String,
    rows: Vec<OrderRow>,
    total: u64,
}

/// One page of orders for `filter`, or the errors of its fields, or a failure page.
async fn fetch(
    staff: &Staff,
    filter: &Filter,
) -> Result<Result<OrderPage, FieldErrors>, crate::api::ApiError> {
    let query = match filter.api_query() {
        Ok(query) => query,
        Err(errors) => return Ok(Err(errors)),
    };
    let path = format!(
        "{}?{}",
        staff.api_path("/orders"),
        serde_urlencoded::to_string(&query).unwrap_or_default()
    );
    match staff.session.get(&path).send::<OrderPage>().await {
        Ok(page) => Ok(Ok(page)),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY && !e.fields.is_empty() => {
            Ok(Err(FieldErrors::of(&e)))
        }
        Err(e) => Err(e),
    }
}

async fn list(staff: Staff, Query(filter): Query<Filter>) -> Response {
    let page = match fetch(&staff, &filter).await {
        Ok(page) => page,
        Err(e) => return staff.failure("orders", &e),
    };
    let base = format!("/admin/{}/orders", staff.store);
    let query = filter.query_string();
    let (rows, total, next, errors) = match page {
        Ok(page) => (
            page.items.iter().map(OrderRow::from).collect(),
            page.total,
            page.next_cursor,
            FieldErrors::default(),
        ),
        Err(errors) => (Vec::new(), 0, None, errors),
    };
    let error = (!errors.is_empty()).then(|| {
        let mut others = errors.others(&["created_from", "created_to"]);
        others.insert(0, "These filters cannot be used.".to_owned());
        others.join(" ")
    });
    let next_url = next.map(|cursor| {
        let cursor = serde_urlencoded::to_string([("cursor", cursor)]).unwrap_or_default();
        format!("{base}?{query}&{cursor}")
    });
    let page = OrdersPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: "orders",
        statuses: choices(&STATUSES, &filter.status),
        fulfilments: choices(&FULFILMENTS, &filter.fulfilment),
        errors,
        error,
        rows,
        total,
        live: filter.cursor.is_empty(),
        rows_url: format!("{base}/rows?{query}"),
        export_query: query.clone(),
        cursor_set: !filter.cursor.is_empty(),
        first_url: format!("{base}?{query}"),
        next_url,
        filter,
    };
    render(&page)
}

/// The first page's rows for the same filters (admin.js, after an order event).
async fn rows(staff: Staff, Query(mut filter): Query<Filter>) -> Response {
    filter.cursor.clear();
    match fetch(&staff, &filter).await {
        Ok(Ok(page)) => render(&OrderRows {
            store: staff.store.clone(),
            rows: page.items.iter().map(OrderRow::from).collect(),
            total: page.total,
        }),
        Ok(Err(_)) => render(&OrderRows {
            store: staff.store.clone(),
            rows: Vec::new(),
            total: 0,
        }),
        Err(e) => staff.failure("orders", &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_filters_become_utc_bounds_that_include_the_last_day() {
        let filter = Filter {
            from: "2026-12-01".into(),
            to: "2026-12-06".into(),
            status: "confirmed".into(),
            ..Filter::default()
        };
        let query = filter.api_query().ok().unwrap();
        assert!(query.contains(&("created_from", "2026-12-01T00:00:00Z".to_owned())));
        assert!(query.contains(&("created_to", "2026-12-07T00:00:00Z".to_owned())));
        assert!(query.contains(&("status", "confirmed".to_owned())));
        let bad = Filter {
            from: "soon".into(),
            ..Filter::default()
        };
        assert!(bad.api_query().err().unwrap().get("created_from").is_some());
    }
}
