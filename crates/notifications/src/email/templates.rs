//! The built-in templates, compiled into the binary from `crates/notifications/templates/`:
//! their names, what each is for, which variables it may use, and the sample data a store's
//! override is checked and previewed against.

use serde_json::{Value, json};

/// One built-in template.
pub(crate) struct Builtin {
    pub name: &'static str,
    pub description: &'static str,
    /// Transactional mail (orders, refunds, staff notices) is sent whatever the customer's
    /// opt-out; the rest carries `List-Unsubscribe` and is skipped for opted-out addresses.
    pub transactional: bool,
    pub subject: &'static str,
    pub html: &'static str,
    pub text: &'static str,
    pub variables: &'static [&'static str],
}

macro_rules! builtin {
    ($name:literal, $transactional:expr, $description:literal, $variables:expr) => {
        Builtin {
            name: $name,
            description: $description,
            transactional: $transactional,
            subject: include_str!(concat!("../../templates/", $name, ".subject")),
            html: include_str!(concat!("../../templates/", $name, ".html")),
            text: include_str!(concat!("../../templates/", $name, ".txt")),
            variables: $variables,
        }
    };
}

const COMMON: [&str; 7] = [
    "store.name",
    "store.slug",
    "store.url",
    "recipient.email",
    "recipient.first_name",
    "preferences_url",
    "unsubscribe_url",
];

/// Every built-in template; their names are the only ones a store may override.
pub(crate) const BUILTINS: [Builtin; 7] = [
    builtin!(
        "order_confirmed",
        true,
        "To the customer when their order is confirmed (paid).",
        &[
            "order.number",
            "order.url",
            "order.lines (title, sku, quantity, unit_price, total)",
            "order.subtotal",
            "order.discount",
            "order.has_discount",
            "order.shipping",
            "order.shipping_method",
            "order.tax",
            "order.total",
            "order.shipping_address (name, company, line1, line2, city, region, postal_code, country)",
        ]
    ),
    builtin!(
        "order_cancelled",
        true,
        "To the customer when their order is cancelled.",
        &["order.number", "order.url", "order.total"]
    ),
    builtin!(
        "refund_issued",
        true,
        "To the customer for each refund of their order.",
        &[
            "refund.amount",
            "refund.total_refunded",
            "order.number",
            "order.url",
            "order.total",
        ]
    ),
    builtin!(
        "welcome",
        false,
        "To a customer who signed up (not sent to addresses that opted out).",
        &[]
    ),
    builtin!(
        "staff_new_order",
        true,
        "To owners and staff who opted in, for each confirmed order.",
        &[
            "order.number",
            "order.admin_url",
            "order.customer_email",
            "order.lines (title, sku, quantity, unit_price, total)",
            "order.total",
        ]
    ),
    builtin!(
        "staff_payment_declined",
        true,
        "To owners and staff who opted in, for each declined payment.",
        &[
            "payment.amount",
            "payment.reason",
            "payment.card_last4",
            "payment.order_id",
            "payment.admin_url",
        ]
    ),
    builtin!(
        "webhook_endpoint_disabled",
        true,
        "To the owners when a webhook endpoint is disabled because its deliveries kept failing.",
        &["endpoint.url", "endpoint.reason", "endpoint.admin_url"]
    ),
];

/// The built-in template named `name`.
pub(crate) fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The variables `b` may use: the common ones and its own.
pub(crate) fn variables(b: &Builtin) -> Vec<String> {
    COMMON
        .iter()
        .chain(b.variables.iter())
        .map(|v| (*v).to_owned())
        .collect()
}

/// Data of the shape `b` is rendered with, for checking and previewing overrides.
pub(crate) fn sample(b: &Builtin) -> Value {
    let mut data = json!({
        "currency": "EUR",
        "store": {"name": "Demo Shop", "slug": "demo", "url": "https://shop.example.com/s/demo/"},
        "recipient": {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
        "preferences_url": "https://shop.example.com/s/demo/account",
        "unsubscribe_url": "https://shop.example.com/s/demo/unsubscribe?token=sample",
        "order": sample_order(),
        "refund": {"amount": "€5.00", "amount_minor": 500, "total_refunded": "€5.00", "total_refunded_minor": 500},
        "payment": {
            "amount": "€42.00", "amount_minor": 4200, "reason": "the card was declined",
            "card_last4": "4242", "order_id": "0190f0a0-0000-7000-8000-000000000001",
            "intent_id": "0190f0a0-0000-7000-8000-000000000002",
            "admin_url": "https://shop.example.com/admin/demo/orders/0190f0a0-0000-7000-8000-000000000001",
        },
        "endpoint": {
            "url": "https://erp.example.com/hooks", "reason": "every delivery failed for 3 days",
            "admin_url": "https://shop.example.com/admin/demo/webhooks/0190f0a0-0000-7000-8000-000000000003",
        },
    });
    if b.name.starts_with("staff_") || b.name == "webhook_endpoint_disabled" {
        data["preferences_url"] = json!("https://shop.example.com/admin/demo/notifications");
    }
    data
}

fn sample_order() -> Value {
    json!({
        "id": "0190f0a0-0000-7000-8000-000000000001",
        "number": "#1001",
        "url": "https://shop.example.com/s/demo/orders/0190f0a0-0000-7000-8000-000000000001",
        "admin_url": "https://shop.example.com/admin/demo/orders/0190f0a0-0000-7000-8000-000000000001",
        "customer_email": "ada@example.com",
        "lines": [
            {"title": "Linen shirt", "sku": "SHIRT-M", "quantity": 2, "unit_price": "€15.00", "total": "€30.00"},
            {"title": "Canvas tote", "sku": "TOTE", "quantity": 1, "unit_price": "€7.50", "total": "€7.50"},
        ],
        "subtotal": "€37.50", "discount": "€0.00", "has_discount": false,
        "shipping": "€4.50", "shipping_method": "Standard", "tax": "€7.98", "total": "€42.00",
        "total_minor": 4200,
        "shipping_address": {
            "name": "Ada Lovelace", "company": "", "line1": "1 Main Street", "line2": "",
            "city": "Dublin", "region": "", "postal_code": "D01 F5P2", "country": "IE",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::render::{Mode, Source, render};

    #[test]
    fn every_builtin_renders_strictly_against_its_sample() {
        for b in &BUILTINS {
            let source = Source {
                subject: b.subject,
                html: b.html,
                text: b.text,
            };
            let out = render(&source, &sample(b), Mode::Check).unwrap_or_else(|e| panic!("{}: {e}", b.name));
            assert!(
                !out.subject.is_empty() && !out.subject.contains('\n'),
                "{}",
                b.name
            );
            assert!(out.html.contains("Demo Shop"), "{}: names the store", b.name);
            assert!(!out.text.contains('<'), "{}: the text part has no markup", b.name);
        }
    }
}
