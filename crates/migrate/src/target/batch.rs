//! Records in the REST shape (`mercato_gateway::dto_imports`) both ways: a batch to send, and
//! the records a range holds coming back.

use crate::source::SourceRecord;
use mercato_gateway::dto_imports::{ImportBatch, ImportedRecordsView};

/// The body that imports `records` (each goes into its entity's list).
pub fn batch_of(records: Vec<SourceRecord>) -> ImportBatch {
    let mut batch = ImportBatch::default();
    for record in records {
        match record {
            SourceRecord::Category(c) => batch.categories.push(c.into()),
            SourceRecord::Product(p) => batch.products.push(p.into()),
            SourceRecord::Stock(s) => batch.stock.push(s.into()),
            SourceRecord::Customer(c) => batch.customers.push(c.into()),
            SourceRecord::Order(o) => batch.orders.push(o.into()),
        }
    }
    batch
}

/// The records of an answer, in its order (only one list is filled).
pub fn records_of(view: ImportedRecordsView) -> Vec<SourceRecord> {
    let ImportedRecordsView {
        categories,
        products,
        stock,
        customers,
        orders,
    } = view;
    let categories = categories.into_iter().map(|c| SourceRecord::Category(c.into()));
    let products = products.into_iter().map(|p| SourceRecord::Product(p.into()));
    let stock = stock.into_iter().map(|s| SourceRecord::Stock(s.into()));
    let customers = customers.into_iter().map(|c| SourceRecord::Customer(c.into()));
    let orders = orders.into_iter().map(|o| SourceRecord::Order(o.into()));
    categories
        .chain(products)
        .chain(stock)
        .chain(customers)
        .chain(orders)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mercato_proto::imports::{ImportedOrder, ImportedStock};

    #[test]
    fn records_cross_the_rest_shape_with_their_checksums() {
        let records = vec![
            SourceRecord::Stock(ImportedStock {
                sku: "A-1".into(),
                on_hand: 4,
                modified_at_ms: 9,
            }),
            SourceRecord::Order(ImportedOrder {
                legacy_key: "00000000000000000007".into(),
                number: 7,
                total_minor: 1250,
                ..ImportedOrder::default()
            }),
        ];
        let batch = batch_of(records.clone());
        assert_eq!((batch.stock.len(), batch.orders.len()), (1, 1));
        let back = records_of(ImportedRecordsView {
            stock: batch.stock,
            orders: batch.orders,
            ..ImportedRecordsView::default()
        });
        assert_eq!(back, records);
    }
}
