//! What the import cases share: legacy orders as a WooCommerce source would send them, and the
//! four import calls through the gRPC trait.

use crate::support::*;
use mercato_proto::imports::*;
use mercato_proto::orders::orders_server::Orders;
use mercato_runtime::error::ServiceError;
use mercato_runtime::imports::numeric_key;

pub const SOURCE: &str = "woocommerce";
/// 2021-03-04T05:06:07Z: when the legacy orders were placed, long before the test runs.
pub const LONG_AGO_MS: i64 = 1_614_834_367_000;

/// Legacy order `n`: number `n`, customer `n % 3` (0: a guest), two lines.
pub fn legacy(n: u64) -> ImportedOrder {
    let customer = n % 3;
    ImportedOrder {
        legacy_key: numeric_key(n),
        number: n as i64,
        customer_legacy_key: if customer == 0 {
            String::new()
        } else {
            numeric_key(customer)
        },
        email: format!("buyer{n}@example.com"),
        status: "confirmed".into(),
        legacy_status: "wc-completed".into(),
        currency: "EUR".into(),
        lines: vec![
            ImportedOrderLine {
                sku: format!("SKU-{n}"),
                title: format!("Thing {n}"),
                quantity: 2,
                subtotal_minor: 2000,
                total_minor: 1800,
                tax_minor: 342,
            },
            ImportedOrderLine {
                sku: "MUG".into(),
                title: "Mug".into(),
                quantity: 1,
                subtotal_minor: 900,
                total_minor: 900,
                tax_minor: 171,
            },
        ],
        shipping_minor: 495,
        discount_minor: 200,
        tax_minor: 513,
        total_minor: 3708,
        refunded_minor: 0,
        created_at_ms: LONG_AGO_MS + n as i64 * 60_000,
        modified_at_ms: LONG_AGO_MS + n as i64 * 60_000 + 1,
        billing_address: Some(mercato_proto::common::Address {
            name: format!("Buyer {n}"),
            line1: "1 Main St".into(),
            city: "Dublin".into(),
            country: "IE".into(),
            ..Default::default()
        }),
        shipping_address: None,
    }
}

impl Env {
    pub async fn import(&self, orders: Vec<ImportedOrder>) -> Result<Vec<RecordOutcome>, ServiceError> {
        let req = ImportOrdersRequest {
            store_id: self.store.to_string(),
            source: SOURCE.into(),
            orders,
        };
        self.call(|o| async move { o.import_orders(tonic::Request::new(req)).await })
            .await
            .map(|r| r.outcomes)
    }

    pub fn range(&self, from_key: &str, to_key: &str) -> KeyRange {
        KeyRange {
            store_id: self.store.to_string(),
            source: SOURCE.into(),
            entity: Entity::Order as i32,
            from_key: from_key.into(),
            to_key: to_key.into(),
        }
    }

    pub async fn checksums(&self, range: KeyRange, segments: u32) -> Result<Vec<Segment>, ServiceError> {
        let req = ChecksumsRequest {
            range: Some(range),
            segments,
        };
        self.call(|o| async move { o.import_checksums(tonic::Request::new(req)).await })
            .await
            .map(|r| r.segments)
    }

    pub async fn records(&self, range: KeyRange, limit: u32) -> Result<Vec<ImportedOrder>, ServiceError> {
        let req = RecordsRequest {
            range: Some(range),
            limit,
        };
        self.call(|o| async move { o.imported_records(tonic::Request::new(req)).await })
            .await
            .map(|r| r.orders)
    }

    pub async fn progress(&self) -> EntityProgress {
        let req = ImportProgressRequest {
            store_id: self.store.to_string(),
            source: SOURCE.into(),
        };
        let reply = self
            .call(|o| async move { o.get_import_progress(tonic::Request::new(req)).await })
            .await
            .unwrap();
        assert_eq!(reply.entities.len(), 1);
        reply.entities[0].clone()
    }
}

/// Each outcome by name, in order.
pub fn outcomes(got: &[RecordOutcome]) -> Vec<&'static str> {
    got.iter()
        .map(|o| match o.outcome() {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Rejected => "rejected",
            Outcome::Unspecified => "unspecified",
        })
        .collect()
}
