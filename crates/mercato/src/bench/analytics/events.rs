//! The events the analytics benchmarks feed in, built as the services publish them: the store's
//! `StoreProvisioned`, then per order an `OrderChanged` under `order_placed` (pending) and
//! `order_confirmed` (its next version), spread over the last `days` days, with one or two lines
//! from a fixed catalog and customers drawn from a pool, so new and returning customers, top
//! products and every bucket get real work. Deterministic for a given seed.

use mercato_proto::events::{EventEnvelope, OrderChanged, StoreProvisioned};
use mercato_proto::orders::{Charges, LineCharges, Order, OrderLine, OrderStatus};
use mercato_proto::subjects;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Products in the generated catalog; each has one SKU.
pub const PRODUCTS: u64 = 500;
/// Customers orders are drawn from (so most of them come back).
pub const CUSTOMERS: u64 = 50_000;
const DAY_MS: i64 = 86_400_000;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Plan {
    pub store_id: String,
    pub orders: u64,
    /// The orders' confirmations fall in the `days` days before `now_ms`.
    pub days: i64,
    pub now_ms: i64,
    pub seed: u64,
}

/// The store's provisioning event (currency EUR, time zone Europe/Paris).
pub fn store_provisioned(store_id: &str) -> EventEnvelope {
    let event = StoreProvisioned {
        store_id: store_id.to_owned(),
        slug: format!("bench-{store_id}"),
        name: "Analytics bench".to_owned(),
        currency: "EUR".to_owned(),
        time_zone: "Europe/Paris".to_owned(),
    };
    mercato_runtime::outbox::envelope(store_id, subjects::identity::STORE_PROVISIONED, 1, &event)
}

/// The `n`th order of the plan: placed, then confirmed a few seconds later.
pub fn order_events(plan: &Plan, n: u64) -> [EventEnvelope; 2] {
    let mut rng = StdRng::seed_from_u64(plan.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let placed_at = plan.now_ms - rng.gen_range(1..plan.days.max(1) * DAY_MS);
    let mut order = order(plan, n, &mut rng, placed_at);
    let placed = envelope(plan, subjects::orders::ORDER_PLACED, &order, placed_at);
    order.status = OrderStatus::Confirmed as i32;
    order.version = 2;
    order.updated_at_ms = placed_at + 2_000;
    let confirmed = envelope(
        plan,
        subjects::orders::ORDER_CONFIRMED,
        &order,
        order.updated_at_ms,
    );
    [placed, confirmed]
}

fn envelope(plan: &Plan, subject: &str, order: &Order, at_ms: i64) -> EventEnvelope {
    let event = OrderChanged {
        order: Some(order.clone()),
    };
    let mut envelope = mercato_runtime::outbox::envelope(&plan.store_id, subject, 1, &event);
    envelope.occurred_at_ms = at_ms;
    envelope
}

/// A pending order of one or two lines at `placed_at`.
fn order(plan: &Plan, n: u64, rng: &mut StdRng, placed_at: i64) -> Order {
    let lines: Vec<OrderLine> = (0..rng.gen_range(1..=2)).map(|_| line(rng)).collect();
    let subtotal: i64 = lines.iter().map(|l| l.quantity * l.unit_price_minor).sum();
    let (shipping, tax) = (490, subtotal / 5);
    let total = subtotal + shipping + tax;
    Order {
        id: format!("ord_bench_{n:09}"),
        store_id: plan.store_id.clone(),
        customer_id: format!("cus_bench_{:06}", rng.gen_range(0..CUSTOMERS)),
        lines,
        currency: "EUR".to_owned(),
        total_minor: total,
        status: OrderStatus::Pending as i32,
        created_at_ms: placed_at,
        updated_at_ms: placed_at,
        version: 1,
        charges: Some(Charges {
            subtotal_minor: subtotal,
            shipping_minor: shipping,
            tax_minor: tax,
            total_minor: total,
            ..Charges::default()
        }),
        number: 1000 + i64::try_from(n).unwrap_or(i64::MAX - 1000),
        cart_id: format!("cart_bench_{n:09}"),
        ..Order::default()
    }
}

fn line(rng: &mut StdRng) -> OrderLine {
    let product = rng.gen_range(0..PRODUCTS);
    let quantity = rng.gen_range(1..=3);
    let unit_price_minor = 500 + i64::try_from(product).unwrap_or(0) * 7;
    let subtotal = quantity * unit_price_minor;
    OrderLine {
        sku: format!("BENCH-{product:04}"),
        product_id: format!("prod_bench_{product:04}"),
        title: format!("Bench product {product}"),
        quantity,
        unit_price_minor,
        charges: Some(LineCharges {
            subtotal_minor: subtotal,
            tax_minor: subtotal / 5,
            total_minor: subtotal + subtotal / 5,
            ..LineCharges::default()
        }),
        ..OrderLine::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn plan() -> Plan {
        Plan {
            store_id: "st_bench".into(),
            orders: 10,
            days: 30,
            now_ms: 1_765_000_000_000,
            seed: 7,
        }
    }

    fn decode(envelope: &EventEnvelope) -> Order {
        OrderChanged::decode(envelope.payload.as_slice())
            .expect("an OrderChanged")
            .order
            .expect("an order")
    }

    #[test]
    fn an_order_is_placed_then_confirmed_at_its_next_version() {
        let [placed, confirmed] = order_events(&plan(), 3);
        assert_eq!(placed.subject, subjects::orders::ORDER_PLACED);
        assert_eq!(confirmed.subject, subjects::orders::ORDER_CONFIRMED);
        let (placed, confirmed) = (decode(&placed), decode(&confirmed));
        assert_eq!((placed.version, confirmed.version), (1, 2));
        assert_eq!(confirmed.status, OrderStatus::Confirmed as i32);
        assert_eq!(placed.id, confirmed.id);
        assert!(confirmed.updated_at_ms > placed.updated_at_ms);
    }

    #[test]
    fn orders_are_deterministic_and_fall_in_the_planned_days() {
        let p = plan();
        for n in 0..50 {
            let a = decode(&order_events(&p, n)[1]);
            let b = decode(&order_events(&p, n)[1]);
            assert_eq!(a, b);
            assert!(a.created_at_ms < p.now_ms && a.created_at_ms >= p.now_ms - 30 * DAY_MS);
            let charges = a.charges.expect("charges");
            assert_eq!(charges.total_minor, a.total_minor);
        }
    }
}
