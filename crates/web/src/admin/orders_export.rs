//! `/admin/{store}/orders.csv`: the orders the list's filters select, as a CSV file for a
//! spreadsheet, newest first, read page by page through the API's stable cursor.

use super::access::Staff;
use super::format::price_input;
use super::orders::{Filter, OrderPage, words};
use crate::WebState;
use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub(crate) fn routes() -> Router<WebState> {
    Router::new().route("/admin/{store}/orders.csv", get(export))
}

/// The most orders one file holds (100 API pages of 100); a larger export needs narrower dates.
const MAX_PAGES: usize = 100;

const HEADER: &str = "number,placed_at,email,payment_status,fulfilment_status,currency,total,refunded,id\r\n";

/// One CSV field: quoted when it holds a comma, quote or line break; a text a spreadsheet would
/// run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) is prefixed with `'`.
fn field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

async fn export(staff: Staff, Query(mut filter): Query<Filter>) -> Response {
    filter.cursor.clear();
    let mut query = match filter.api_query() {
        Ok(query) => query,
        Err(_) => return (StatusCode::UNPROCESSABLE_ENTITY, "these filters cannot be used").into_response(),
    };
    query.retain(|(name, _)| *name != "per_page" && *name != "cursor");
    query.push(("per_page", "100".to_owned()));
    let mut csv = String::from(HEADER);
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut page_query = query.clone();
        if let Some(c) = cursor.take() {
            page_query.push(("cursor", c));
        }
        let path = format!(
            "{}?{}",
            staff.api_path("/orders"),
            serde_urlencoded::to_string(&page_query).unwrap_or_default()
        );
        let page = match staff.session.get(&path).send::<OrderPage>().await {
            Ok(page) => page,
            Err(e) => return staff.failure("orders", &e),
        };
        for o in &page.items {
            let row = [
                o.number.map(|n| n.to_string()).unwrap_or_default(),
                o.created_at.clone(),
                o.email.clone().unwrap_or_default(),
                words(&o.status),
                words(&o.fulfilment_status),
                o.currency.clone(),
                price_input(o.total_minor, &o.currency),
                price_input(o.refunded_minor, &o.currency),
                o.id.clone(),
            ];
            csv.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
            csv.push_str("\r\n");
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let disposition = format!("attachment; filename=\"orders-{}.csv\"", staff.store);
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        csv,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_when_needed_and_never_run_as_formulas() {
        assert_eq!(field("ann@shop.test"), "ann@shop.test");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
    }
}
