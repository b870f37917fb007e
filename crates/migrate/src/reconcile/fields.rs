//! What a located difference is made of: the canonical fields that differ between the source's
//! record and the store's (by comparing their canonical JSON), and each record's share of the
//! store's totals.

use crate::report::{Money, Totals};
use crate::source::SourceRecord;
use mercato_gateway::dto_imports::{ImportCategory, ImportCustomer, ImportOrder, ImportProduct, ImportStock};
use mercato_runtime::imports::Canonical;
use serde_json::Value;

/// A record's canonical form as JSON (the REST shape, the non-canonical fields cleared).
pub fn canonical_json(record: &SourceRecord) -> Value {
    let value = match record {
        SourceRecord::Category(r) => serde_json::to_value(ImportCategory::from(r.canonical())),
        SourceRecord::Product(r) => serde_json::to_value(ImportProduct::from(r.canonical())),
        SourceRecord::Stock(r) => serde_json::to_value(ImportStock::from(r.canonical())),
        SourceRecord::Customer(r) => serde_json::to_value(ImportCustomer::from(r.canonical())),
        SourceRecord::Order(r) => serde_json::to_value(ImportOrder::from(r.canonical())),
    };
    value.unwrap_or(Value::Null)
}

/// The paths of the canonical fields that differ (`title`, `variants[0].price_minor`,
/// `lines[2]` when one side has a line the other has not).
pub fn differing_fields(source: &SourceRecord, store: &SourceRecord) -> Vec<String> {
    let mut out = Vec::new();
    diff(
        &canonical_json(source),
        &canonical_json(store),
        String::new(),
        &mut out,
    );
    if out.is_empty() {
        // Equal JSON but different checksums: only the encoding differs (e.g. a field the REST
        // shape does not carry); still a difference, named as the whole record.
        out.push("(record)".to_owned());
    }
    out
}

fn diff(a: &Value, b: &Value, path: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let next = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    next,
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(p, q, format!("{path}[{i}]"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            out.push(format!(
                "{path} ({} in the source, {} in the store)",
                x.len(),
                y.len()
            ));
        }
        _ if a != b => out.push(path),
        _ => {}
    }
}

/// Adds (or with `add == false` takes away) one record's share of the store's totals: an
/// order's money in its currency, a SKU's units on hand.
pub fn apply(totals: &mut Totals, record: &SourceRecord, add: bool) {
    let sign = if add { 1 } else { -1 };
    match record {
        SourceRecord::Order(o) => {
            let money = totals.orders.entry(o.currency.clone()).or_default();
            money.orders = if add {
                money.orders + 1
            } else {
                money.orders.saturating_sub(1)
            };
            money.total_minor += sign * o.total_minor;
            money.refunded_minor += sign * o.refunded_minor;
            if *money == Money::default() {
                totals.orders.remove(&o.currency);
            }
        }
        SourceRecord::Stock(s) => {
            totals.stock_skus = if add {
                totals.stock_skus + 1
            } else {
                totals.stock_skus.saturating_sub(1)
            };
            totals.stock_units += sign * s.on_hand;
        }
        SourceRecord::Category(_) | SourceRecord::Product(_) | SourceRecord::Customer(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mercato_proto::imports::{ImportedProduct, ImportedVariant};

    fn product(price: i64, title: &str) -> SourceRecord {
        SourceRecord::Product(ImportedProduct {
            legacy_key: "00000000000000000001".into(),
            title: title.into(),
            variants: vec![ImportedVariant {
                sku: "A".into(),
                price_minor: price,
                ..ImportedVariant::default()
            }],
            modified_at_ms: price,
            ..ImportedProduct::default()
        })
    }

    #[test]
    fn the_differing_fields_are_named_by_path() {
        assert_eq!(
            differing_fields(&product(100, "Tea"), &product(150, "Tea")),
            ["variants[0].price_minor"]
        );
        assert_eq!(
            differing_fields(&product(100, "Tea"), &product(150, "Tee")),
            ["title", "variants[0].price_minor"]
        );
    }
}
