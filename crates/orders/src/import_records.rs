//! Imported orders between the contract's record (`mercato.imports.v1.ImportedOrder`) and the
//! domain's `LegacyOrder`, both ways: a record sent is checked and turned into the snapshot an
//! `imported` event stores, and a stored order is turned back into the record reconciliation
//! compares (ADR 0016: built from what is stored, never from what was sent).

use crate::domain::charges::{OrderCharges, PaidLine, PostalAddress};
use crate::domain::imported::{ImportOrigin, LegacyOrder};
use crate::domain::order::{OrderLine, OrderStatus};
use crate::pricing_wire::address_message;
use mercato_proto::common::Address;
use mercato_proto::imports::{Entity, ImportedOrder, ImportedOrderLine};
use mercato_runtime::imports::{check_key, target_id};

/// A text field's length, at most (titles, SKUs, e-mails, legacy statuses).
const MAX_TEXT: usize = 1000;
/// Lines of one order, at most.
const MAX_LINES: usize = 500;

fn status_named(name: &str) -> Option<OrderStatus> {
    match name {
        "confirmed" => Some(OrderStatus::Confirmed),
        "failed" => Some(OrderStatus::Failed),
        "cancelled" => Some(OrderStatus::Cancelled),
        "refunded" => Some(OrderStatus::Refunded),
        "partially_refunded" => Some(OrderStatus::PartiallyRefunded),
        _ => None,
    }
}

fn postal(a: &Address) -> PostalAddress {
    PostalAddress {
        name: a.name.clone(),
        company: a.company.clone(),
        line1: a.line1.clone(),
        line2: a.line2.clone(),
        city: a.city.clone(),
        region: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
        phone: a.phone.clone(),
    }
}

/// Why a record cannot be imported, naming its field; `None` when it can.
pub fn refusal(o: &ImportedOrder) -> Option<String> {
    const KEY_RULE: &str = "must be 1 to 255 characters without control characters";
    if check_key("legacy_key", &o.legacy_key).is_err() {
        return Some(format!("legacy_key {KEY_RULE}"));
    }
    if !o.customer_legacy_key.is_empty() && check_key("customer_legacy_key", &o.customer_legacy_key).is_err()
    {
        return Some(format!("customer_legacy_key {KEY_RULE}"));
    }
    let money = [
        o.shipping_minor,
        o.discount_minor,
        o.tax_minor,
        o.total_minor,
        o.refunded_minor,
    ];
    let checks: [(bool, &str); 9] = [
        (o.number >= 1, "number must be at least 1"),
        (
            status_named(&o.status).is_some(),
            "status must be confirmed, cancelled, refunded, partially_refunded or failed",
        ),
        (
            o.currency.len() == 3 && o.currency.bytes().all(|b| b.is_ascii_uppercase()),
            "currency must be three upper-case letters",
        ),
        (money.iter().all(|m| *m >= 0), "amounts must not be negative"),
        (
            o.refunded_minor <= o.total_minor,
            "refunded_minor must not exceed total_minor",
        ),
        (o.created_at_ms > 0, "created_at_ms must be given"),
        (o.lines.len() <= MAX_LINES, "an order has at most 500 lines"),
        (
            [&o.email, &o.legacy_status].iter().all(|t| t.len() <= MAX_TEXT),
            "email and legacy_status must be at most 1000 characters",
        ),
        (
            o.lines.iter().all(line_is_valid),
            "each line needs a quantity of at least 1, amounts not negative and sku and title of at most 1000 characters",
        ),
    ];
    checks
        .iter()
        .find(|(ok, _)| !ok)
        .map(|(_, why)| (*why).to_owned())
}

fn line_is_valid(l: &ImportedOrderLine) -> bool {
    l.quantity >= 1
        && [l.subtotal_minor, l.total_minor, l.tax_minor]
            .iter()
            .all(|m| *m >= 0)
        && l.sku.len() <= MAX_TEXT
        && l.title.len() <= MAX_TEXT
}

/// The snapshot an `imported` event stores for a record [`refusal`] accepted.
pub fn legacy_order(store_id: &str, source: &str, o: &ImportedOrder) -> LegacyOrder {
    let status = status_named(&o.status).unwrap_or(OrderStatus::Confirmed);
    let customer_id = if o.customer_legacy_key.is_empty() {
        String::new()
    } else {
        target_id(store_id, source, Entity::Customer, &o.customer_legacy_key).to_string()
    };
    let lines = o
        .lines
        .iter()
        .map(|l| OrderLine {
            sku: l.sku.clone(),
            product_id: String::new(),
            title: l.title.clone(),
            quantity: l.quantity,
            unit_price_minor: l.subtotal_minor / l.quantity.max(1),
            refunded_quantity: if status == OrderStatus::Refunded {
                l.quantity
            } else {
                0
            },
        })
        .collect();
    let paid = o
        .lines
        .iter()
        .map(|l| PaidLine {
            sku: l.sku.clone(),
            subtotal_minor: l.subtotal_minor,
            discount_minor: l.subtotal_minor - l.total_minor,
            tax_minor: l.tax_minor,
            total_minor: l.total_minor + l.tax_minor,
        })
        .collect();
    LegacyOrder {
        origin: ImportOrigin {
            source: source.to_owned(),
            legacy_key: o.legacy_key.clone(),
            legacy_status: o.legacy_status.clone(),
            customer_legacy_key: o.customer_legacy_key.clone(),
            modified_at_ms: o.modified_at_ms,
        },
        customer_id,
        email: o.email.clone(),
        number: o.number,
        status,
        currency: o.currency.clone(),
        lines,
        charges: OrderCharges {
            lines: paid,
            subtotal_minor: o.lines.iter().map(|l| l.subtotal_minor).sum(),
            discount_minor: o.discount_minor,
            shipping_minor: o.shipping_minor,
            tax_minor: o.tax_minor,
            billing_address: o.billing_address.as_ref().map(postal),
            shipping_address: o.shipping_address.as_ref().map(postal),
            ..OrderCharges::default()
        },
        total_minor: o.total_minor,
        refunded_minor: o.refunded_minor,
        created_at_ms: o.created_at_ms,
    }
}

/// The record of a stored snapshot (the modification time included; `Canonical` clears it).
pub fn record_of(l: &LegacyOrder) -> ImportedOrder {
    let lines = l
        .lines
        .iter()
        .zip(&l.charges.lines)
        .map(|(line, paid)| ImportedOrderLine {
            sku: line.sku.clone(),
            title: line.title.clone(),
            quantity: line.quantity,
            subtotal_minor: paid.subtotal_minor,
            total_minor: paid.total_minor - paid.tax_minor,
            tax_minor: paid.tax_minor,
        })
        .collect();
    ImportedOrder {
        legacy_key: l.origin.legacy_key.clone(),
        number: l.number,
        customer_legacy_key: l.origin.customer_legacy_key.clone(),
        email: l.email.clone(),
        status: l.status.as_str().to_owned(),
        legacy_status: l.origin.legacy_status.clone(),
        currency: l.currency.clone(),
        lines,
        shipping_minor: l.charges.shipping_minor,
        discount_minor: l.charges.discount_minor,
        tax_minor: l.charges.tax_minor,
        total_minor: l.total_minor,
        refunded_minor: l.refunded_minor,
        created_at_ms: l.created_at_ms,
        modified_at_ms: l.origin.modified_at_ms,
        billing_address: l.charges.billing_address.as_ref().map(address_message),
        shipping_address: l.charges.shipping_address.as_ref().map(address_message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mercato_runtime::imports::Canonical;

    fn record() -> ImportedOrder {
        ImportedOrder {
            legacy_key: "00000000000000000009".into(),
            number: 9,
            customer_legacy_key: "00000000000000000003".into(),
            email: "Ann@Example.com".into(),
            status: "partially_refunded".into(),
            legacy_status: "wc-completed".into(),
            currency: "EUR".into(),
            lines: vec![ImportedOrderLine {
                sku: "A".into(),
                title: "A thing".into(),
                quantity: 3,
                subtotal_minor: 1000,
                total_minor: 900,
                tax_minor: 171,
            }],
            shipping_minor: 500,
            discount_minor: 100,
            tax_minor: 266,
            total_minor: 1666,
            refunded_minor: 300,
            created_at_ms: 1_600_000_000_000,
            modified_at_ms: 1_600_000_500_000,
            billing_address: Some(Address {
                name: "Ann".into(),
                country: "DE".into(),
                ..Address::default()
            }),
            shipping_address: None,
        }
    }

    #[test]
    fn a_record_survives_the_round_trip_through_the_snapshot() {
        let sent = record();
        assert_eq!(refusal(&sent), None);
        let back = record_of(&legacy_order("s", "woocommerce", &sent));
        assert_eq!(back, sent);
        assert_eq!(back.checksum(), sent.checksum());
    }

    #[test]
    fn bad_values_are_refused_with_the_field_named() {
        type Spoil = fn(&mut ImportedOrder);
        let cases: [(Spoil, &str); 5] = [
            (|o| o.number = 0, "number"),
            (|o| o.status = "pending".into(), "status"),
            (|o| o.currency = "eur".into(), "currency"),
            (|o| o.refunded_minor = 99_999, "refunded_minor"),
            (|o| o.lines[0].quantity = 0, "quantity"),
        ];
        for (spoil, field) in cases {
            let mut o = record();
            spoil(&mut o);
            let why = refusal(&o).unwrap_or_default();
            assert!(why.contains(field), "{field}: {why}");
        }
        let mut o = record();
        o.legacy_key = String::new();
        assert!(refusal(&o).unwrap_or_default().contains("legacy_key"));
    }

    #[test]
    fn the_customer_is_the_derived_id_and_a_guest_has_none() {
        let mine = legacy_order("s", "woocommerce", &record());
        let expected = target_id("s", "woocommerce", Entity::Customer, "00000000000000000003");
        assert_eq!(mine.customer_id, expected.to_string());
        let guest = ImportedOrder {
            customer_legacy_key: String::new(),
            ..record()
        };
        assert_eq!(legacy_order("s", "woocommerce", &guest).customer_id, "");
    }
}
