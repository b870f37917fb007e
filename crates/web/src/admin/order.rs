//! One order: its figures, lines, event history as a timeline and the actions its state
//! allows (cancel, a full or per-line refund), which follow the staff channel (admin.js
//! replaces them with `…/summary` when this order changes). Each action form carries an idempotency key made when the page was
//! shown, so a form sent twice acts once.

use super::access::{Staff, plain_segment};
use super::after_sale::{AfterSale, Problem};
use super::format::{money, when};
use super::layout::Section;
use super::orders::{OrderData, words};
use super::timeline::{Entry, EventData, entries};
use crate::WebState;
use crate::api::ApiError;
use crate::page::{render, render_status};
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/orders/{order}", get(show))
        .route("/admin/{store}/orders/{order}/summary", get(summary))
        .route("/admin/{store}/orders/{order}/cancel", post(cancel))
        .route("/admin/{store}/orders/{order}/refund", post(refund))
}

/// The order as the page shows it.
pub(crate) struct OrderView {
    pub id: String,
    pub label: String,
    pub status: String,
    pub fulfilment: String,
    pub total: String,
    pub refunded: String,
    pub created_at: String,
    pub placed: String,
    pub email: String,
    pub failure: Option<String>,
    pub shipping_address: String,
    pub lines: Vec<LineView>,
}

pub(crate) struct LineView {
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub fulfilled: i64,
    pub refunded: i64,
    pub unit_price: String,
    pub paid: String,
}

/// A line with units left to refund.
pub(crate) struct Refundable {
    pub sku: String,
    pub title: String,
    pub remaining: i64,
}

impl From<&OrderData> for OrderView {
    fn from(o: &OrderData) -> Self {
        OrderView {
            id: o.id.clone(),
            label: o.label(),
            status: words(&o.status),
            fulfilment: words(&o.fulfilment_status),
            total: money(o.total_minor, &o.currency),
            refunded: money(o.refunded_minor, &o.currency),
            created_at: o.created_at.clone(),
            placed: when(&o.created_at),
            email: o.email.clone().unwrap_or_default(),
            failure: o.failure_code.as_deref().map(words),
            shipping_address: o.shipping_address.as_ref().map(address).unwrap_or_default(),
            lines: o
                .lines
                .iter()
                .map(|l| LineView {
                    sku: l.sku.clone(),
                    title: l.title.clone(),
                    quantity: l.quantity,
                    fulfilled: l.fulfilled_quantity,
                    refunded: l.refunded_quantity,
                    unit_price: money(l.unit_price_minor, &o.currency),
                    paid: money(
                        l.charges
                            .as_ref()
                            .map_or(l.unit_price_minor * l.quantity, |c| c.total_minor),
                        &o.currency,
                    ),
                })
                .collect(),
        }
    }
}

/// An address on one line: the non-empty text fields in the API's order.
fn address(value: &serde_json::Value) -> String {
    let fields = [
        "name",
        "line1",
        "line2",
        "postal_code",
        "city",
        "region",
        "country",
    ];
    fields
        .iter()
        .filter_map(|f| value[*f].as_str())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What follows the order live (`templates/admin/order_summary.html`): its figures, lines,
/// timeline and the actions its state still allows, each form with a fresh idempotency key.
struct Live {
    store: String,
    csrf: String,
    order: OrderView,
    events: Vec<Entry>,
    refundable: Vec<Refundable>,
    /// Whether the order is in a state cancelling may still apply to (the API decides).
    cancellable: bool,
    refund_key: String,
    refund_all_key: String,
    cancel_key: String,
    /// Shipments and returns (`after_sale`), with a refused form's message.
    after: AfterSale,
}

impl Live {
    fn of(staff: &Staff, data: &OrderData, events: &[EventData], problem: Option<&Problem>) -> Live {
        let settled = matches!(data.status.as_str(), "refunded" | "cancelled" | "failed");
        let refundable = data
            .lines
            .iter()
            .filter(|l| l.quantity > l.refunded_quantity)
            .map(|l| Refundable {
                sku: l.sku.clone(),
                title: l.title.clone(),
                remaining: l.quantity - l.refunded_quantity,
            })
            .collect();
        Live {
            store: staff.store.clone(),
            csrf: staff.csrf(),
            order: OrderView::from(data),
            events: entries(events, &data.currency),
            // A pending order has taken no money yet; a settled one has none left to give.
            refundable: if settled || data.status == "pending" {
                Vec::new()
            } else {
                refundable
            },
            cancellable: !settled,
            refund_key: key(),
            refund_all_key: key(),
            cancel_key: key(),
            after: AfterSale::of(data, problem),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/order.html")]
struct OrderPage {
    store: String,
    csrf: String,
    nav: Section,
    live: Live,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/order_summary.html")]
struct Summary {
    live: Live,
}

#[derive(Deserialize)]
struct History {
    events: Vec<EventData>,
}

/// The order and its history.
async fn load(staff: &Staff, order: &str) -> Result<(OrderData, Vec<EventData>), ApiError> {
    let path = staff.api_path(&format!("/orders/{order}"));
    let events_path = format!("{path}/events");
    let (data, history) = tokio::join!(
        staff.session.get(&path).send::<OrderData>(),
        staff.session.get(&events_path).send::<History>(),
    );
    Ok((data?, history?.events))
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: String,
}

/// What a finished action says (the query names it; no text travels in the URL).
fn notice(done: &str) -> Option<&'static str> {
    match done {
        "cancelled" => Some("The order is cancelled."),
        "refunded" => Some("The refund is made."),
        other => super::after_sale_actions::notice(other),
    }
}

async fn show(staff: Staff, Path((_, order)): Path<(String, String)>, Query(done): Query<Done>) -> Response {
    if !plain_segment(&order) {
        return staff.not_found("orders");
    }
    page(staff, &order, notice(&done.done), None).await
}

/// The order page with an after-sale form's refusal next to that form.
pub(crate) async fn page_with_problem(staff: Staff, order: &str, problem: Problem) -> Response {
    full_page(staff, order, None, None, Some(problem)).await
}

/// The order page, with a notice or an error above its forms.
async fn page(
    staff: Staff,
    order: &str,
    notice: Option<&'static str>,
    error: Option<(ApiError, &str)>,
) -> Response {
    full_page(staff, order, notice, error, None).await
}

async fn full_page(
    staff: Staff,
    order: &str,
    notice: Option<&'static str>,
    error: Option<(ApiError, &str)>,
    problem: Option<Problem>,
) -> Response {
    let (data, events) = match load(&staff, order).await {
        Ok(loaded) => loaded,
        Err(e) => return staff.failure("orders", &e),
    };
    let status = (error.as_ref().map(|(e, _)| e.status)).or(problem.as_ref().map(|p| p.error.status));
    let page = OrderPage {
        store: staff.store.clone(),
        csrf: staff.csrf(),
        nav: "orders",
        live: Live::of(&staff, &data, &events, problem.as_ref()),
        notice,
        error: error.map(|(e, what)| format!("The order could not be {what}: {}", e.plain_message())),
    };
    match status {
        Some(status) => render_status(status, &page),
        None => render(&page),
    }
}

/// A fresh idempotency key for one form.
fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The figures, lines and timeline alone, for the live refresh.
async fn summary(staff: Staff, Path((_, order)): Path<(String, String)>) -> Response {
    if !plain_segment(&order) {
        return staff.not_found("orders");
    }
    match load(&staff, &order).await {
        Ok((data, events)) => render(&Summary {
            live: Live::of(&staff, &data, &events, None),
        }),
        Err(e) => staff.failure("orders", &e),
    }
}

/// The posted fields, in order (a refund form repeats `sku` and `quantity` per line).
pub(crate) fn fields(body: &Bytes) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

async fn cancel(staff: Staff, Path((_, order)): Path<(String, String)>, body: Bytes) -> Response {
    if !plain_segment(&order) {
        return staff.not_found("orders");
    }
    let fields = fields(&body);
    let path = staff.api_path(&format!("/orders/{order}/cancel"));
    let result = staff
        .session
        .post(&path)
        .header_str("idempotency-key", field(&fields, "key"))
        .send_empty()
        .await;
    after(staff, &order, result, "cancelled").await
}

/// The refund's lines: each `sku` with the `quantity` that follows it, above zero; `None` when
/// a quantity is not a whole number.
fn refund_lines(fields: &[(String, String)]) -> Option<Vec<serde_json::Value>> {
    let skus = fields.iter().filter(|(k, _)| k == "sku").map(|(_, v)| v);
    let quantities = fields.iter().filter(|(k, _)| k == "quantity").map(|(_, v)| v);
    let mut lines = Vec::new();
    for (sku, quantity) in skus.zip(quantities) {
        let quantity = match quantity.trim() {
            "" => 0,
            q => q.parse::<i64>().ok().filter(|q| *q >= 0)?,
        };
        if quantity > 0 {
            lines.push(serde_json::json!({"sku": sku, "quantity": quantity}));
        }
    }
    Some(lines)
}

async fn refund(staff: Staff, Path((_, order)): Path<(String, String)>, body: Bytes) -> Response {
    if !plain_segment(&order) {
        return staff.not_found("orders");
    }
    let fields = fields(&body);
    let all = field(&fields, "all") == "1";
    let lines = if all {
        Some(Vec::new())
    } else {
        refund_lines(&fields)
    };
    let lines = match lines {
        Some(lines) if all || !lines.is_empty() => lines,
        _ => {
            let error = ApiError {
                status: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                code: "validation_failed".to_owned(),
                detail: "enter how many units of which items to refund, in whole numbers".to_owned(),
                fields: Vec::new(),
            };
            return page(staff, &order, None, Some((error, "refunded"))).await;
        }
    };
    let path = staff.api_path(&format!("/orders/{order}/refunds"));
    let result = staff
        .session
        .post(&path)
        .header_str("idempotency-key", field(&fields, "key"))
        .json(&serde_json::json!({ "lines": lines }))
        .send_empty()
        .await;
    after(staff, &order, result, "refunded").await
}

/// After an action: back to the order page (303) with its notice, or the page with the
/// refusal in words.
async fn after(staff: Staff, order: &str, result: Result<(), ApiError>, done: &'static str) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/admin/{}/orders/{order}?done={done}", staff.store)).into_response(),
        Err(e) if e.is_unauthenticated() || e.is_not_found() => staff.failure("orders", &e),
        Err(e) => page(staff, order, None, Some((e, done))).await,
    }
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
    fn refund_lines_pair_each_sku_with_its_quantity_and_skip_zeros() {
        let lines = refund_lines(&pairs(&[
            ("sku", "A"),
            ("quantity", "0"),
            ("sku", "B"),
            ("quantity", "2"),
        ]))
        .unwrap();
        assert_eq!(lines, [serde_json::json!({"sku": "B", "quantity": 2})]);
        assert!(refund_lines(&pairs(&[("sku", "A"), ("quantity", "-1")])).is_none());
        assert!(refund_lines(&pairs(&[("sku", "A"), ("quantity", "x")])).is_none());
    }
}
