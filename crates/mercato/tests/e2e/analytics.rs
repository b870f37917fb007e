//! A store's figures through the edge, in both topologies: a scripted set of checkouts (two
//! confirmed, one refunded, one declined) reaches the summary, time series, top products and
//! funnel within seconds and equals the hand-computed values; bad ranges and names are 422
//! problems naming the field; another store's staff get 404, customers 403, staff may not
//! verify; the owner's verify finds no difference, after a cancellation too; and the staff feed
//! hears `figures.changed`.

use crate::checkout::{APPROVE, cart_with, payment_method, store_with_stock};
use crate::harness::{Platform, Reply, platforms, platforms_with};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const DECLINE: &str = "4000000000000002";
const PASSWORD: &str = "correct horse battery";

/// Checks out `quantity` of `sku` as the guest `email`, paying with `card`; the reply.
pub(crate) async fn order(
    p: &Platform,
    store: &str,
    sku: &str,
    quantity: i64,
    email: &str,
    card: &str,
) -> Reply {
    let cart = cart_with(p, 0, store, sku, quantity).await;
    let method = payment_method(p, 1, store, card).await;
    let body = json!({"cart_id": cart.0, "payment": {"payment_method": method, "email": email},
        "shipping_address": crate::harness::shipping_address()});
    let request = p
        .http
        .post(format!("{}/v1/stores/{store}/checkout", p.gateway(0)))
        .header("x-cart-token", &cart.1)
        .header("idempotency-key", format!("analytics-{email}"))
        .json(&body);
    p.send(0, request).await
}

/// The store's summary (`query` after `?`) once `done` holds of it, within 10 s.
pub(crate) async fn summary_until(
    p: &Platform,
    store: &str,
    owner: &str,
    query: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let path = format!("/v1/stores/{store}/analytics/summary?{query}");
    let started = Instant::now();
    loop {
        let reply = p.get(1, &path, Some(owner)).await;
        assert_eq!(reply.status, 200, "{}: {}", p.name, reply.body);
        if done(&reply.body) {
            return reply.body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}: the figures never included the orders: {}",
            p.name,
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ok(p: &Platform, reply: Reply) -> Value {
    assert_eq!(reply.status, 200, "{}: {}", p.name, reply.body);
    reply.body
}

/// Two confirmed orders (Ann 2 × 15.00, Bob 1 × 15.00), Bob's refunded whole, and Cid's card
/// declined: gross 45.00, refunds 15.00, net 30.00, 2 orders, 3 units, AOV 22.50, 2 new
/// customers, 1 decline.
pub(crate) async fn scripted_orders(p: &Platform, store: &str, owner: &str, sku: &str) {
    let ann = order(p, store, sku, 2, "ann@example.com", APPROVE).await;
    assert_eq!(ann.status, 201, "{}: {}", p.name, ann.body);
    let bob = order(p, store, sku, 1, "bob@example.com", APPROVE).await;
    assert_eq!(bob.status, 201, "{}: {}", p.name, bob.body);
    let cid = order(p, store, sku, 3, "cid@example.com", DECLINE).await;
    assert_eq!(cid.status, 402, "{}: {}", p.name, cid.body);
    let bob_id = bob.body["id"].as_str().unwrap();
    let refund = p
        .post_keyed(
            1,
            &format!("/v1/stores/{store}/orders/{bob_id}/refunds"),
            owner,
            "refund-bob",
            &json!({}),
        )
        .await;
    assert_eq!(refund.status, 200, "{}: {}", p.name, refund.body);
}

/// Views of the product page by two anonymous visitors (told apart by their user agent), one
/// of them twice, on both gateways.
async fn two_visitors_view(p: &Platform, store: &str) {
    for (n, agent) in [(0, "shopper-a"), (1, "shopper-a"), (1, "shopper-b")] {
        let request = p
            .http
            .get(format!("{}/v1/stores/{store}/products/tee", p.gateway(n)))
            .header("user-agent", agent);
        assert_eq!(p.send(n, request).await.status, 200, "{}", p.name);
    }
}

#[tokio::test]
async fn scripted_orders_reach_the_figures_as_computed_by_hand() {
    // Product views are counted in memory and flushed as one event per store and minute;
    // here every 200 ms.
    for p in platforms_with(|s| s.http.product_views_flush = Duration::from_millis(200)).await {
        let (store, owner, sku) = store_with_stock(&p, 20).await;
        two_visitors_view(&p, &store).await;
        scripted_orders(&p, &store, &owner, &sku).await;
        let counted = |s: &Value| {
            let f = &s["figures"];
            f["orders"] == 2
                && f["refunds_minor"] == 1500
                && f["payment_declines"] == 1
                && f["product_views"] == 3
        };
        // The last 30 days by default (today included), against the 30 before.
        let started = Instant::now();
        let s = summary_until(&p, &store, &owner, "compare=previous_period", counted).await;
        println!("{}: figures complete after {:?}", p.name, started.elapsed());
        assert_eq!(s["currency"], "EUR");
        assert_eq!(s["range"]["time_zone"], "UTC", "{}: the default zone", p.name);
        let f = &s["figures"];
        for (figure, expected) in [
            ("gross_sales_minor", 4500),
            ("discounts_minor", 0),
            ("refunds_minor", 1500),
            ("net_sales_minor", 3000),
            ("total_sales_minor", 3000),
            ("orders", 2),
            ("units", 3),
            ("average_order_value_minor", 2250),
            ("new_customers", 2),
            ("returning_customers", 0),
            ("returning_customer_rate_bp", 0),
            ("payment_declines", 1),
            ("product_views", 3),
            // Two orders ÷ two distinct viewers.
            ("conversion_rate_bp", 10000),
        ] {
            assert_eq!(f[figure], expected, "{}: {figure} in {f}", p.name);
        }
        assert_eq!(f["orders_by_status"]["confirmed"], 1, "{}: {f}", p.name);
        assert_eq!(f["orders_by_status"]["refunded"], 1, "{}: {f}", p.name);
        assert_eq!(s["previous"]["orders"], 0, "{}: {s}", p.name);
        assert!(s["previous_range"]["to"] == s["range"]["from"], "{}: {s}", p.name);

        let today = s["range"]["to_date"].as_str().unwrap().to_owned();
        let base = format!("/v1/stores/{store}/analytics");
        let hourly = ok(
            &p,
            p.get(
                0,
                &format!("{base}/timeseries?metric=net_sales&interval=hour&from={today}&to={today}"),
                Some(&owner),
            )
            .await,
        );
        let points = hourly["points"].as_array().unwrap();
        assert_eq!(points.len(), 24, "{}: every hour of a UTC day", p.name);
        let sum: i64 = points.iter().map(|pt| pt["value"].as_i64().unwrap()).sum();
        assert_eq!(sum, 3000, "{}: {hourly}", p.name);
        assert_eq!(hourly["metric"], "net_sales");
        let daily = ok(
            &p,
            p.get(1, &format!("{base}/timeseries?metric=orders"), Some(&owner))
                .await,
        );
        let days = daily["points"].as_array().unwrap();
        assert_eq!(days.len(), 30, "{}: the default 30 days", p.name);
        assert_eq!(days.last().unwrap()["label"], today.as_str());
        assert_eq!(days.last().unwrap()["value"], 2, "{}: {daily}", p.name);

        let top = ok(
            &p,
            p.get(0, &format!("{base}/top-products?by=units"), Some(&owner))
                .await,
        );
        assert_eq!(top["products"][0]["title"], "Tee", "{}: {top}", p.name);
        assert_eq!(top["products"][0]["units"], 3, "{}: {top}", p.name);
        assert_eq!(top["products"][0]["net_sales_minor"], 3000, "{}: {top}", p.name);
        assert_eq!(top["variants"][0]["sku"], sku.as_str(), "{}: {top}", p.name);

        let funnel = ok(&p, p.get(1, &format!("{base}/funnel"), Some(&owner)).await);
        let steps: Vec<(&str, i64)> = funnel["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].as_str().unwrap(), s["count"].as_i64().unwrap()))
            .collect();
        // Two distinct viewers (the gateways' counters); three carts, three checkouts (one
        // declined) and two orders (the orders service's events).
        assert_eq!(
            steps,
            [
                ("product_views", 2),
                ("carts", 3),
                ("checkouts_started", 3),
                ("orders_confirmed", 2)
            ],
            "{}: {funnel}",
            p.name
        );
        let from_start = |i: usize| funnel["steps"][i]["rate_from_start_bp"].as_i64().unwrap();
        assert_eq!(
            (from_start(0), from_start(3)),
            (10000, 10000),
            "{}: {funnel}",
            p.name
        );

        let low = ok(&p, p.get(0, &format!("{base}/low-stock"), Some(&owner)).await);
        assert!(low["items"].is_array(), "{}: {low}", p.name);

        let verify = verify_until_clean(&p, 1, &store, &owner).await;
        assert!(
            verify["orders_checked"].as_i64().unwrap() >= 2,
            "{}: {verify}",
            p.name
        );
    }
}

#[tokio::test]
async fn bad_ranges_and_names_are_422_problems_naming_the_field() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let (owner, _) = p.sign_in(1, &store, "owner@example.com", PASSWORD).await;
        let base = format!("/v1/stores/{store}/analytics");
        for (query, field) in [
            ("summary?from=2025-01-01&to=2026-06-30", None),
            ("summary?from=2026-12-06&to=2026-12-01", None),
            ("summary?from=yesterday", Some("from")),
            ("summary?compare=last_year", Some("compare")),
            ("timeseries?metric=profit", Some("metric")),
            ("timeseries?interval=hour", Some("metric")),
            ("timeseries?metric=orders&interval=week", Some("interval")),
            ("top-products?by=margin", Some("by")),
            ("top-products?limit=101", Some("limit")),
            ("funnel?from=2026-12-06&to=2026-12-01", None),
        ] {
            let reply = p.get(0, &format!("{base}/{query}"), Some(&owner)).await;
            assert_eq!(reply.status, 422, "{}: {query}: {}", p.name, reply.body);
            assert_eq!(
                reply.headers["content-type"], "application/problem+json",
                "{}: {query}",
                p.name
            );
            let fields = reply.error_fields();
            match field {
                Some(field) => assert_eq!(fields, [field], "{}: {query}: {}", p.name, reply.body),
                // A range refused as a whole names `from` or `to`.
                None => assert!(
                    fields.iter().any(|f| *f == "from" || *f == "to"),
                    "{}: {query}: {}",
                    p.name,
                    reply.body
                ),
            }
        }
    }
}

#[tokio::test]
async fn other_stores_staff_get_404_customers_403_and_only_the_owner_verifies() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let (owner, _) = p.sign_in(1, &store, "owner@example.com", PASSWORD).await;
        let staff = json!({"email": "sam@example.com", "password": PASSWORD});
        let made = p
            .post(0, &format!("/v1/stores/{store}/staff"), Some(&owner), &staff)
            .await;
        assert_eq!(made.status, 201, "{}: {}", p.name, made.body);
        let (sam, _) = p.sign_in(0, &store, "sam@example.com", PASSWORD).await;
        let customer = json!({"email": "ann@example.com", "password": PASSWORD});
        let registered = p
            .post(1, &format!("/v1/stores/{store}/customers"), None, &customer)
            .await;
        assert_eq!(registered.status, 201, "{}: {}", p.name, registered.body);
        let (ann, _) = p.sign_in(1, &store, "ann@example.com", PASSWORD).await;
        let (other, _) = p.provision(1).await;
        let (stranger, _) = p.sign_in(0, &other, "owner@example.com", PASSWORD).await;

        let base = format!("/v1/stores/{store}/analytics");
        for path in [
            "summary",
            "timeseries?metric=orders",
            "top-products",
            "funnel",
            "low-stock",
        ] {
            let path = format!("{base}/{path}");
            assert_eq!(
                p.get(0, &path, Some(&sam)).await.status,
                200,
                "{}: staff {path}",
                p.name
            );
            assert_eq!(
                p.get(1, &path, Some(&ann)).await.status,
                403,
                "{}: customer {path}",
                p.name
            );
            let foreign = p.get(0, &path, Some(&stranger)).await;
            assert_eq!(foreign.status, 404, "{}: another store's {path}", p.name);
            assert_eq!(p.get(1, &path, None).await.status, 401, "{}: {path}", p.name);
        }
        let verify = format!("{base}/verify");
        assert_eq!(p.get(0, &verify, Some(&sam)).await.status, 403, "{}", p.name);
        assert_eq!(p.get(1, &verify, Some(&owner)).await.status, 200, "{}", p.name);
    }
}

#[tokio::test]
async fn the_staff_feed_hears_the_changed_figures_of_today_after_a_checkout() {
    for p in platforms().await {
        let (store, owner, sku) = store_with_stock(&p, 20).await;
        let store_id = p.get(0, &format!("/v1/stores/{store}"), None).await.body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut staff = p.ws(1, Some(&owner)).await;
        staff
            .request(json!({"type": "subscribe", "channel": format!("staff:{store_id}")}))
            .await;
        let ann = order(&p, &store, &sku, 2, "ann@example.com", APPROVE).await;
        assert_eq!(ann.status, 201, "{}: {}", p.name, ann.body);
        // Order events come first; the figures follow once analytics has counted the order.
        loop {
            let (event, _) = staff.recv_kind("event").await;
            if event["event"] != "figures.changed" || event["data"]["figures"]["orders"] != 1 {
                continue;
            }
            let data = &event["data"];
            assert_eq!(data["currency"], "EUR", "{}: {event}", p.name);
            assert_eq!(data["figures"]["net_sales_minor"], 3000, "{}: {event}", p.name);
            assert_eq!(data["figures"]["units"], 2, "{}: {event}", p.name);
            assert_eq!(data["date"].as_str().unwrap().len(), 10, "{}: {event}", p.name);
            break;
        }
    }
}

/// A confirmed order that staff cancel: its money comes back as a refund, it is counted under
/// `cancelled` (still one order confirmed in the period: sales are before returns), and verify
/// finds no difference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_order_is_refunded_in_the_figures_and_verify_agrees() {
    for p in platforms().await {
        let (store, owner, sku) = store_with_stock(&p, 10).await;
        let dee = order(&p, &store, &sku, 2, "dee@example.com", APPROVE).await;
        assert_eq!(dee.status, 201, "{}: {}", p.name, dee.body);
        let (id, total) = (dee.body["id"].as_str().unwrap(), dee.body["total_minor"].clone());
        let path = format!("/v1/stores/{store}/orders/{id}/cancel");
        let cancelled = p.post_keyed(1, &path, &owner, "cancel-dee", &json!({})).await;
        assert_eq!(cancelled.status, 200, "{}: {}", p.name, cancelled.body);
        assert_eq!(cancelled.body["status"], "cancelled", "{}", p.name);
        // The cancellation's snapshot and the refund in it may still be in flight: wait for the
        // whole expected state, so a wrong one fails with the figures it settled on.
        let expected = |f: &Value| {
            (
                &f["orders"],
                &f["units"],
                &f["refunds_minor"],
                &f["orders_by_status"],
            ) == (&json!(1), &json!(2), &total, &json!({"cancelled": 1}))
        };
        summary_until(&p, &store, &owner, "", |s| expected(&s["figures"])).await;
        let report = verify_until_clean(&p, 0, &store, &owner).await;
        assert_eq!(report["orders_checked"], 1, "{}: {report}", p.name);
    }
}

/// The owner's verify report through gateway `n` once it finds no difference, within 10 s:
/// events still in flight show as differences until they land (see `analytics::verify`).
async fn verify_until_clean(p: &Platform, n: usize, store: &str, owner: &str) -> Value {
    let path = format!("/v1/stores/{store}/analytics/verify");
    let started = Instant::now();
    loop {
        let report = ok(p, p.get(n, &path, Some(owner)).await);
        if report["differences"] == json!([]) {
            return report;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}: verify kept finding differences: {report}",
            p.name
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
