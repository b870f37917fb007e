//! The stored record of an `imported` event (`order_events.data_json`, kind `imported`): the
//! order as a legacy shop had it (ADR 0016), tagged by `kind` like the rest of the history
//! (`history.rs`) and converted at this edge so the domain's `LegacyOrder` can change without
//! changing the disk. The charges are `domain::charges::OrderCharges` as they are, like
//! `placed`'s (every field it gains is `#[serde(default)]`).

use crate::domain::charges::OrderCharges;
use crate::domain::imported::{ImportOrigin, LegacyOrder};
use crate::domain::order::{OrderLine, OrderStatus};
use serde::{Deserialize, Serialize};

/// One imported line: what the order shows; its money is in the charges, index for index.
#[derive(Serialize, Deserialize)]
struct StoredLine {
    sku: String,
    title: String,
    quantity: i64,
    unit_price_minor: i64,
    #[serde(default)]
    refunded_quantity: i64,
}

/// The `imported` record.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredImport {
    source: String,
    legacy_key: String,
    legacy_status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    customer_legacy_key: String,
    #[serde(default)]
    modified_at_ms: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    customer_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    email: String,
    number: i64,
    /// `confirmed`, `failed`, `cancelled`, `refunded` or `partially_refunded`.
    status: String,
    currency: String,
    lines: Vec<StoredLine>,
    charges: OrderCharges,
    total_minor: i64,
    refunded_minor: i64,
    created_at_ms: i64,
}

fn status_named(name: &str) -> OrderStatus {
    match name {
        "failed" => OrderStatus::Failed,
        "cancelled" => OrderStatus::Cancelled,
        "refunded" => OrderStatus::Refunded,
        "partially_refunded" => OrderStatus::PartiallyRefunded,
        // Imports write the five names only; anything else is read as a sale.
        _ => OrderStatus::Confirmed,
    }
}

impl From<&LegacyOrder> for StoredImport {
    fn from(l: &LegacyOrder) -> Self {
        StoredImport {
            source: l.origin.source.clone(),
            legacy_key: l.origin.legacy_key.clone(),
            legacy_status: l.origin.legacy_status.clone(),
            customer_legacy_key: l.origin.customer_legacy_key.clone(),
            modified_at_ms: l.origin.modified_at_ms,
            customer_id: l.customer_id.clone(),
            email: l.email.clone(),
            number: l.number,
            status: l.status.as_str().to_owned(),
            currency: l.currency.clone(),
            lines: l
                .lines
                .iter()
                .map(|line| StoredLine {
                    sku: line.sku.clone(),
                    title: line.title.clone(),
                    quantity: line.quantity,
                    unit_price_minor: line.unit_price_minor,
                    refunded_quantity: line.refunded_quantity,
                })
                .collect(),
            charges: l.charges.clone(),
            total_minor: l.total_minor,
            refunded_minor: l.refunded_minor,
            created_at_ms: l.created_at_ms,
        }
    }
}

impl From<StoredImport> for LegacyOrder {
    fn from(r: StoredImport) -> Self {
        LegacyOrder {
            origin: ImportOrigin {
                source: r.source,
                legacy_key: r.legacy_key,
                legacy_status: r.legacy_status,
                customer_legacy_key: r.customer_legacy_key,
                modified_at_ms: r.modified_at_ms,
            },
            customer_id: r.customer_id,
            email: r.email,
            number: r.number,
            status: status_named(&r.status),
            currency: r.currency,
            lines: r
                .lines
                .into_iter()
                .map(|line| OrderLine {
                    sku: line.sku,
                    product_id: String::new(),
                    title: line.title,
                    quantity: line.quantity,
                    unit_price_minor: line.unit_price_minor,
                    refunded_quantity: line.refunded_quantity,
                })
                .collect(),
            charges: r.charges,
            total_minor: r.total_minor,
            refunded_minor: r.refunded_minor,
            created_at_ms: r.created_at_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::EventData;
    use crate::domain::imported::LegacyOrder;
    use crate::store::history::{from_json, to_json};

    /// An `imported` record as version 1 writes it; it must keep reading.
    const STORED: &str = r#"{"kind":"imported","source":"woocommerce","legacy_key":"00000000000000000042","legacy_status":"wc-refunded","customer_legacy_key":"00000000000000000007","modified_at_ms":5,"customer_id":"c","email":"a@example.com","number":42,"status":"refunded","currency":"EUR","lines":[{"sku":"A","title":"A thing","quantity":2,"unit_price_minor":500,"refunded_quantity":2}],"charges":{"lines":[{"sku":"A","subtotal_minor":1000,"discount_minor":0,"tax_minor":190,"total_minor":1190}],"subtotal_minor":1000,"discount_minor":0,"shipping_minor":0,"shipping_discount_minor":0,"shipping_tax_minor":0,"tax_minor":190,"prices_include_tax":false,"shipping_method_id":"","shipping_method_name":"","shipping_address":null,"billing_address":null,"promotions":[]},"total_minor":1190,"refunded_minor":1190,"created_at_ms":1600000000000}"#;

    #[test]
    fn an_imported_record_reads_back_and_is_written_again_byte_for_byte() {
        let data = from_json(1, STORED).unwrap();
        let EventData::Imported(legacy) = &data else {
            panic!("read as {}", data.kind());
        };
        let legacy: &LegacyOrder = legacy;
        assert_eq!((legacy.number, legacy.status.as_str()), (42, "refunded"));
        assert_eq!(legacy.origin.customer_legacy_key, "00000000000000000007");
        assert_eq!(legacy.charges.lines[0].tax_minor, 190);
        assert_eq!(to_json(&data).unwrap(), STORED);
    }
}
