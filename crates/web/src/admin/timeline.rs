//! An order's event history as the admin's timeline: each event of `GET …/orders/{id}/events`
//! in plain words, with its details (units, amounts, tracking) in one line.

use super::format::{money, when};
use serde::Deserialize;
use serde_json::Value;

/// One history entry as the API gives it.
#[derive(Deserialize)]
pub(crate) struct EventData {
    pub kind: String,
    pub at: String,
    #[serde(default)]
    pub data: Value,
}

/// One line of the timeline.
pub(crate) struct Entry {
    /// RFC 3339, for `<time datetime>`.
    pub at: String,
    /// The same time as people read it.
    pub when: String,
    pub title: String,
    pub detail: String,
}

/// The timeline of an order's events, oldest first, amounts in the order's currency.
pub(crate) fn entries(events: &[EventData], currency: &str) -> Vec<Entry> {
    events
        .iter()
        .map(|e| {
            let (title, detail) = describe(&e.kind, &e.data, currency);
            Entry {
                at: e.at.clone(),
                when: when(&e.at),
                title,
                detail,
            }
        })
        .collect()
}

fn describe(kind: &str, data: &Value, currency: &str) -> (String, String) {
    let amount = |field: &str| data[field].as_i64().map(|m| money(m, currency));
    let units = || units(&data["lines"]);
    let text = |field: &str| data[field].as_str().unwrap_or_default().to_owned();
    let (title, detail) = match kind {
        "placed" => (
            "Order placed",
            join([units(), amount("total_minor").map(|t| format!("total {t}"))]),
        ),
        "stock_reserved" => ("Stock reserved", units().unwrap_or_default()),
        "stock_unavailable" => ("Not enough stock", text("message")),
        "payment_authorized" => ("Payment authorised", String::new()),
        "payment_declined" => ("Payment declined", words(&text("code"))),
        "stock_committed" => ("Stock taken", String::new()),
        "stock_commit_failed" => ("Stock could not be taken", text("message")),
        "payment_captured" => ("Payment captured", amount("amount_minor").unwrap_or_default()),
        "payment_capture_failed" => ("Payment capture failed", text("message")),
        "stock_released" => ("Reserved stock released", String::new()),
        "payment_voided" => ("Payment voided", String::new()),
        "stock_restocked" => ("Back in stock", units().unwrap_or_default()),
        "payment_refunded" => ("Money refunded", amount("amount_minor").unwrap_or_default()),
        "confirmed" => ("Order confirmed", String::new()),
        "failed" => ("Order failed", words(&text("code"))),
        "cancel_requested" => ("Cancellation requested", String::new()),
        "cancelled" => ("Order cancelled", String::new()),
        "refund_requested" => (
            "Refund requested",
            join([
                units().or_else(|| Some("every unit".to_owned())),
                amount("amount_minor"),
            ]),
        ),
        "refunded" => ("Refunded", join([units(), amount("amount_minor")])),
        "fulfilment_created" => (
            "Fulfilment prepared",
            join([units(), tracking(data), location(data)]),
        ),
        "fulfilment_shipped" => ("Shipped", tracking(data).unwrap_or_default()),
        "fulfilment_delivered" => ("Delivered", String::new()),
        "return_requested" => (
            if data["by_customer"].as_bool() == Some(true) {
                "Return requested by the customer"
            } else {
                "Return requested by staff"
            },
            join([
                units(),
                Some(text("reason"))
                    .filter(|r| !r.is_empty())
                    .map(|r| format!("reason: {r}")),
            ]),
        ),
        "return_approved" => ("Return approved", String::new()),
        "return_rejected" => ("Return rejected", String::new()),
        "return_received" => (
            "Return received",
            join([units(), amount("amount_minor").map(|a| format!("{a} to refund"))]),
        ),
        "return_completed" => ("Return completed", join([units(), amount("amount_minor")])),
        other => return (words(other), String::new()),
    };
    (title.to_owned(), detail)
}

/// `[{"sku":"A","quantity":2}, …]` → `2 × A, 1 × B`; `None` for no lines.
fn units(lines: &Value) -> Option<String> {
    let parts: Vec<String> = lines
        .as_array()?
        .iter()
        .filter_map(|l| Some(format!("{} × {}", l["quantity"].as_i64()?, l["sku"].as_str()?)))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn tracking(data: &Value) -> Option<String> {
    let carrier = data["carrier"].as_str().unwrap_or_default();
    let number = data["tracking_number"].as_str().unwrap_or_default();
    match (carrier.is_empty(), number.is_empty()) {
        (true, true) => None,
        (false, true) => Some(format!("by {carrier}")),
        (true, false) => Some(format!("tracking {number}")),
        (false, false) => Some(format!("by {carrier}, tracking {number}")),
    }
}

fn location(data: &Value) -> Option<String> {
    data["location"]
        .as_str()
        .filter(|l| !l.is_empty())
        .map(|l| format!("from {l}"))
}

fn join<const N: usize>(parts: [Option<String>; N]) -> String {
    parts.into_iter().flatten().collect::<Vec<_>>().join("; ")
}

/// `payment_declined` → `payment declined`.
fn words(name: &str) -> String {
    name.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_read_as_plain_words_with_their_details() {
        let placed = describe(
            "placed",
            &json!({"lines": [{"sku": "BS-M", "quantity": 2}], "total_minor": 3998}),
            "EUR",
        );
        assert_eq!(
            placed,
            ("Order placed".to_owned(), "2 × BS-M; total 39.98 EUR".to_owned())
        );
        let refund = describe(
            "refund_requested",
            &json!({"lines": [], "amount_minor": 100}),
            "EUR",
        );
        assert_eq!(refund.1, "every unit; 1.00 EUR");
        let shipped = describe(
            "fulfilment_shipped",
            &json!({"carrier": "DHL", "tracking_number": ""}),
            "EUR",
        );
        assert_eq!(shipped.1, "by DHL");
        assert_eq!(describe("something_new", &json!({}), "EUR").0, "something new");
    }
}
