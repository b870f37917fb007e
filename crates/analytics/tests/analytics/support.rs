//! A running analytics service on a fresh database, a builder of order histories (and the
//! live events they publish), and a history source standing in for the orders service.

use mercato_analytics::{AnalyticsDeps, AnalyticsService, Histories};
use mercato_proto::analytics::*;
use mercato_proto::events::{EventEnvelope, OrderChanged};
use mercato_proto::orders::order_event::{self, Data};
use mercato_proto::orders::*;
use mercato_proto::subjects;
use mercato_runtime::db::Db;
use mercato_runtime::error::ServiceError;
use mercato_runtime::testing::Backend;
use std::sync::{Arc, Mutex};

pub const STORE: &str = "0190aaaa-0000-7000-8000-000000000001";

/// Epoch ms of an RFC 3339 instant.
pub fn ms(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// The histories the fake orders service pages through.
#[derive(Default)]
pub struct FakeOrders {
    pub histories: Mutex<Vec<OrderEvents>>,
}

#[async_trait::async_trait]
impl Histories for FakeOrders {
    async fn page(&self, r: ListOrderHistoriesRequest) -> Result<ListOrderHistoriesResponse, ServiceError> {
        let all = self.histories.lock().unwrap().clone();
        let matching: Vec<OrderEvents> = all
            .into_iter()
            .filter(|h| {
                let o = h.state.as_ref().unwrap();
                (r.store_id.is_empty() || o.store_id == r.store_id)
                    && (r.created_to_ms == 0 || o.created_at_ms < r.created_to_ms)
            })
            .collect();
        let start: usize = r.after.parse().unwrap_or(0);
        let limit = if r.limit == 0 { 100 } else { r.limit as usize };
        let end = (start + limit).min(matching.len());
        Ok(ListOrderHistoriesResponse {
            orders: matching[start..end].to_vec(),
            next_cursor: if end < matching.len() {
                end.to_string()
            } else {
                String::new()
            },
            total: if start == 0 { matching.len() as i64 } else { 0 },
        })
    }
}

pub struct Analytics {
    pub service: Arc<AnalyticsService>,
    pub db: Db,
    pub orders: Arc<FakeOrders>,
}

impl Analytics {
    pub async fn on(backend: Backend) -> Analytics {
        mercato_runtime::testing::init_logs();
        let db = backend.database().await;
        let orders = Arc::new(FakeOrders::default());
        let deps = AnalyticsDeps {
            orders: Some(orders.clone()),
            identity: None,
        };
        let service = AnalyticsService::new(db.clone(), deps)
            .await
            .expect("analytics starts");
        Analytics { service, db, orders }
    }

    /// Tells analytics the store's zone (as `StoreProvisioned` would).
    pub async fn store_in(&self, zone: &str) {
        let provisioned = mercato_proto::events::StoreProvisioned {
            store_id: STORE.into(),
            slug: "s".into(),
            name: "S".into(),
            currency: "EUR".into(),
            time_zone: zone.into(),
        };
        let mut e =
            mercato_runtime::outbox::envelope(STORE, subjects::identity::STORE_PROVISIONED, 1, &provisioned);
        e.occurred_at_ms = 1;
        self.ingest(vec![e]).await;
    }

    pub async fn ingest(&self, events: Vec<EventEnvelope>) {
        self.service.ingest(events).await.expect("ingest");
    }

    /// Publishes every live event of `h` and keeps its history for the orders service.
    pub async fn order(&self, h: &History) {
        self.ingest(h.live_events()).await;
        self.orders.histories.lock().unwrap().push(h.history());
    }

    pub async fn summary(&self, from: &str, to: &str) -> Summary {
        self.service
            .summary(SummaryRequest {
                store_id: STORE.into(),
                range: Some(range(from, to)),
                compare_previous: true,
                ..SummaryRequest::default()
            })
            .await
            .expect("summary")
    }

    pub async fn figures(&self, from: &str, to: &str) -> Figures {
        self.summary(from, to).await.figures.unwrap()
    }
}

pub fn range(from: &str, to: &str) -> Range {
    Range {
        from: from.into(),
        to: to.into(),
    }
}

/// A line: SKU, product, quantity, unit price; `discount` off its subtotal.
pub fn line(sku: &str, product: &str, quantity: i64, unit: i64, discount: i64, priced: bool) -> OrderLine {
    OrderLine {
        sku: sku.into(),
        product_id: product.into(),
        title: format!("{product} title"),
        quantity,
        unit_price_minor: unit,
        charges: priced.then(|| LineCharges {
            subtotal_minor: unit * quantity,
            discount_minor: discount,
            tax_minor: 0,
            total_minor: unit * quantity - discount,
        }),
        ..OrderLine::default()
    }
}

/// An order's history as the orders service would keep it, and the snapshots it publishes.
pub struct History {
    order: Order,
    events: Vec<OrderEvent>,
    published: Vec<Order>,
}

impl History {
    /// Placed at `at` by `customer` (empty for a guest with `email`).
    pub fn placed(
        id: &str,
        customer: &str,
        email: &str,
        lines: Vec<OrderLine>,
        charges: Option<Charges>,
        at: &str,
    ) -> History {
        let order = Order {
            id: id.into(),
            store_id: STORE.into(),
            customer_id: customer.into(),
            email: email.to_lowercase(),
            lines: lines.clone(),
            currency: "EUR".into(),
            charges,
            status: OrderStatus::Pending as i32,
            created_at_ms: ms(at),
            ..Order::default()
        };
        let mut h = History {
            order,
            events: Vec::new(),
            published: Vec::new(),
        };
        let placed = order_event::Placed {
            customer_id: customer.into(),
            lines,
            ..Default::default()
        };
        h.push(Data::Placed(placed), at, true);
        h
    }

    fn push(&mut self, data: Data, at: &str, published: bool) {
        let sequence = self.events.len() as i64 + 1;
        self.order.version = sequence;
        self.order.updated_at_ms = ms(at);
        self.events.push(OrderEvent {
            sequence,
            at_ms: ms(at),
            data: Some(data),
        });
        if published {
            self.published.push(self.order.clone());
        }
    }

    pub fn confirm(mut self, at: &str) -> History {
        self.push(Data::StockCommitted(order_event::Nothing {}), at, false);
        self.order.status = OrderStatus::Confirmed as i32;
        self.push(Data::Confirmed(order_event::Nothing {}), at, true);
        self
    }

    pub fn fail(mut self, code: FailureCode, at: &str) -> History {
        self.order.status = OrderStatus::Failed as i32;
        self.order.failure_code = code as i32;
        self.push(Data::Failed(order_event::Failed { code: code as i32 }), at, true);
        self
    }

    /// Refunds `amount` and `units` of `sku`.
    pub fn refund(mut self, amount: i64, sku: &str, units: i64, at: &str) -> History {
        self.order.refunded_minor += amount;
        let refunded = order_event::KeyedAmount {
            key: "k".into(),
            amount_minor: amount,
        };
        self.push(Data::PaymentRefunded(refunded), at, false);
        for l in &mut self.order.lines {
            if l.sku == sku {
                l.refunded_quantity += units;
            }
        }
        let all = self.order.lines.iter().all(|l| l.refunded_quantity >= l.quantity);
        self.order.status = if all {
            OrderStatus::Refunded
        } else {
            OrderStatus::PartiallyRefunded
        } as i32;
        let lines = vec![RefundLine {
            sku: sku.into(),
            quantity: units,
        }];
        self.push(
            Data::Refunded(order_event::Refunded {
                lines,
                amount_minor: amount,
            }),
            at,
            true,
        );
        self
    }

    pub fn history(&self) -> OrderEvents {
        OrderEvents {
            events: self.events.clone(),
            state: Some(self.order.clone()),
        }
    }

    pub fn live_events(&self) -> Vec<EventEnvelope> {
        self.published.iter().map(order_changed).collect()
    }
}

pub fn order_changed(order: &Order) -> EventEnvelope {
    let changed = OrderChanged {
        order: Some(order.clone()),
    };
    let mut e = mercato_runtime::outbox::envelope(STORE, subjects::orders::ORDER_CONFIRMED, 1, &changed);
    e.occurred_at_ms = order.updated_at_ms;
    e
}
