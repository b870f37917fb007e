//! The events the analytics benchmarks feed in, built as the services publish them: the store's
//! `StoreProvisioned`, then per order its shopper's journey — `cart_started`, `checkout_started`,
//! an `OrderChanged` under `order_placed` (pending) and `order_confirmed` (its next version) —
//! spread over the last `days` days, with one or two lines from a fixed catalog and customers
//! drawn from a pool, so new and returning customers, top products, the funnel and every bucket
//! get real work; every [`VIEWS_EVERY`]th order also brings a minute of product views from
//! [`VISITORS_PER_VIEWS`] visitors. Deterministic for a given seed.

use mercato_proto::events::{
    CartStarted, CheckoutStarted, EventEnvelope, OrderChanged, ProductViews, ProductViewsCounted,
    StoreProvisioned,
};
use mercato_proto::orders::{Charges, LineCharges, Order, OrderLine, OrderStatus};
use mercato_proto::subjects;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Products in the generated catalog; each has one SKU.
pub const PRODUCTS: u64 = 500;
/// Customers orders are drawn from (so most of them come back).
pub const CUSTOMERS: u64 = 50_000;
const DAY_MS: i64 = 86_400_000;
/// One `ProductViewsCounted` per this many orders.
pub const VIEWS_EVERY: u64 = 10;
/// Distinct visitors in each of those minutes.
pub const VISITORS_PER_VIEWS: u64 = 20;

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

/// The `n`th order of the plan as its shopper's journey, in the order the services publish it:
/// (product views,) cart started, checkout started, placed, confirmed a few seconds later.
pub fn order_events(plan: &Plan, n: u64) -> Vec<EventEnvelope> {
    let mut rng = StdRng::seed_from_u64(plan.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let placed_at = plan.now_ms - rng.gen_range(120_000..plan.days.max(1) * DAY_MS);
    let mut order = order(plan, n, &mut rng, placed_at);
    let mut events = Vec::with_capacity(5);
    if n.is_multiple_of(VIEWS_EVERY) {
        events.push(views(plan, n, &order, placed_at - 120_000));
    }
    let (cart_id, customer_id) = (order.cart_id.clone(), order.customer_id.clone());
    let cart = CartStarted {
        cart_id: cart_id.clone(),
        customer_id: customer_id.clone(),
    };
    events.push(envelope(
        plan,
        subjects::orders::CART_STARTED,
        &cart,
        placed_at - 60_000,
    ));
    let checkout = CheckoutStarted {
        cart_id,
        order_id: order.id.clone(),
        customer_id,
    };
    events.push(envelope(
        plan,
        subjects::orders::CHECKOUT_STARTED,
        &checkout,
        placed_at,
    ));
    events.push(order_changed(
        plan,
        subjects::orders::ORDER_PLACED,
        &order,
        placed_at,
    ));
    order.status = OrderStatus::Confirmed as i32;
    order.version = 2;
    order.updated_at_ms = placed_at + 2_000;
    let confirmed_at = order.updated_at_ms;
    events.push(order_changed(
        plan,
        subjects::orders::ORDER_CONFIRMED,
        &order,
        confirmed_at,
    ));
    events
}

/// A minute of views of the order's products (and two others) by its visitors.
fn views(plan: &Plan, n: u64, order: &Order, at_ms: i64) -> EventEnvelope {
    let mut products: Vec<ProductViews> = order
        .lines
        .iter()
        .map(|l| ProductViews {
            product_id: l.product_id.clone(),
            views: 12,
        })
        .collect();
    products.extend((1..=2).map(|k| ProductViews {
        product_id: format!("prod_bench_{:04}", (n + k * 97) % PRODUCTS),
        views: 5,
    }));
    let event = ProductViewsCounted {
        minute_start_ms: at_ms - at_ms.rem_euclid(60_000),
        products,
        visitor_keys: (0..VISITORS_PER_VIEWS)
            .map(|v| format!("visitor_{n}_{v}"))
            .collect(),
    };
    envelope(plan, subjects::gateway::PRODUCT_VIEWS_COUNTED, &event, at_ms)
}

fn order_changed(plan: &Plan, subject: &str, order: &Order, at_ms: i64) -> EventEnvelope {
    let event = OrderChanged {
        order: Some(order.clone()),
    };
    envelope(plan, subject, &event, at_ms)
}

fn envelope(plan: &Plan, subject: &str, event: &impl prost::Message, at_ms: i64) -> EventEnvelope {
    let mut envelope = mercato_runtime::outbox::envelope(&plan.store_id, subject, 1, event);
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

    fn confirmed(plan: &Plan, n: u64) -> Order {
        decode(order_events(plan, n).last().expect("events"))
    }

    fn decode(envelope: &EventEnvelope) -> Order {
        OrderChanged::decode(envelope.payload.as_slice())
            .expect("an OrderChanged")
            .order
            .expect("an order")
    }

    #[test]
    fn a_journey_starts_a_cart_and_a_checkout_then_places_and_confirms_the_order() {
        let events = order_events(&plan(), 3);
        let subjects: Vec<&str> = events.iter().map(|e| e.subject.as_str()).collect();
        assert_eq!(
            subjects,
            [
                subjects::orders::CART_STARTED,
                subjects::orders::CHECKOUT_STARTED,
                subjects::orders::ORDER_PLACED,
                subjects::orders::ORDER_CONFIRMED
            ]
        );
        let (placed, confirmed) = (decode(&events[2]), decode(&events[3]));
        assert_eq!((placed.version, confirmed.version), (1, 2));
        assert_eq!(confirmed.status, OrderStatus::Confirmed as i32);
        assert_eq!(placed.id, confirmed.id);
        assert!(confirmed.updated_at_ms > placed.updated_at_ms);
    }

    #[test]
    fn orders_are_deterministic_and_fall_in_the_planned_days() {
        let p = plan();
        for n in 0..50 {
            let (a, b) = (confirmed(&p, n), confirmed(&p, n));
            assert_eq!(a, b);
            assert!(a.created_at_ms < p.now_ms && a.created_at_ms >= p.now_ms - 30 * DAY_MS);
            let charges = a.charges.expect("charges");
            assert_eq!(charges.total_minor, a.total_minor);
        }
    }

    #[test]
    fn every_tenth_journey_begins_with_a_minute_of_views() {
        let events = order_events(&plan(), 20);
        assert_eq!(events[0].subject, subjects::gateway::PRODUCT_VIEWS_COUNTED);
        let views = ProductViewsCounted::decode(events[0].payload.as_slice()).expect("views");
        assert_eq!(views.visitor_keys.len() as u64, VISITORS_PER_VIEWS);
        assert_eq!(views.minute_start_ms % 60_000, 0);
        assert_eq!(order_events(&plan(), 21).len(), 4);
    }
}
