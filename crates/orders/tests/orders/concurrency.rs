//! Concurrency: one key sent fifty times at once, and a flash sale.

use crate::support::*;
use mercato_runtime::error::ErrorCode;
use std::sync::Arc;

local_and_grpc_tests! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    fifty_concurrent_identical_checkouts_with_one_key_place_one_order_and_capture_once,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    a_flash_sale_of_twenty_units_to_two_hundred_buyers_confirms_exactly_what_stock_and_cards_allow,
}

async fn fifty_concurrent_identical_checkouts_with_one_key_place_one_order_and_capture_once(env: Env) {
    let env = Arc::new(env);
    env.sku("A", 700, 10).await;
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 1)]).await;
    let request = env.checkout_request(&ann, &cart.id, "same-key", APPROVE);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let env = env.clone();
            let request = request.clone();
            tokio::spawn(async move { env.checkout(request).await })
        })
        .collect();
    let mut fresh = 0;
    let mut order_ids = std::collections::HashSet::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(answer) => {
                if !answer.replayed {
                    fresh += 1;
                }
                order_ids.insert(answer.order.unwrap().id);
            }
            // Never "the cart is checked out": the winner's answer, or "in progress" with the
            // seconds to wait.
            Err(e) => {
                assert_eq!(e.code, ErrorCode::CheckoutInProgress, "{e:?}");
                assert!(e.retry_after().is_some_and(|s| s >= 1), "{e:?}");
            }
        }
    }
    assert_eq!(fresh, 1);
    assert_eq!(order_ids.len(), 1);
    assert_eq!(env.orders_count("SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(
        env.payments_count("SELECT COUNT(*) FROM payment_intents").await,
        1
    );
    assert_eq!(
        env.payments_count("SELECT COUNT(*) FROM provider_ledger WHERE kind = 'capture'")
            .await,
        1
    );
    assert_eq!(env.stock("A").await, (9, 0));
}

/// How one flash-sale buyer ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Bought,
    Failed(String),
}

async fn a_flash_sale_of_twenty_units_to_two_hundred_buyers_confirms_exactly_what_stock_and_cards_allow(
    env: Env,
) {
    const UNITS: i64 = 20;
    const BUYERS: u64 = 200;
    let env = Arc::new(env);
    env.sku("HOT", 4999, UNITS).await;
    let tasks: Vec<_> = (0..BUYERS)
        .map(|n| {
            let env = env.clone();
            tokio::spawn(async move {
                // Every tenth buyer's card is declined; the others each have their own card.
                let card = if n % 10 == 0 { DECLINE.to_owned() } else { card(n) };
                let buyer = customer(&format!("buyer-{n}"));
                let cart = env.cart_for(&buyer, &[("HOT", 1)]).await;
                // A shopper told "out of stock" retries while units remain unsold (some
                // may be held by a checkout whose card is about to be declined).
                for attempt in 0..400 {
                    let request = env.checkout_request(&buyer, &cart.id, &format!("k{attempt}"), &card);
                    match env.checkout(request).await {
                        Ok(a) => {
                            let order = a.order.unwrap();
                            match (order.status_name(), order.failure_name()) {
                                ("confirmed", _) => return Outcome::Bought,
                                ("failed", "out_of_stock") if env.stock("HOT").await.0 > 0 => {}
                                ("failed", code) => return Outcome::Failed(code.to_owned()),
                                other => panic!("unexpected answer {other:?}"),
                            }
                        }
                        Err(e) => assert_eq!(e.code.http_status(), 409, "{e:?}"),
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Outcome::Failed("gave_up".to_owned())
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let approved = (0..BUYERS).filter(|n| n % 10 != 0).count() as i64;
    let bought = outcomes.iter().filter(|o| **o == Outcome::Bought).count() as i64;
    assert_eq!(bought, UNITS.min(approved));
    for o in &outcomes {
        if let Outcome::Failed(code) = o {
            assert!(
                ["out_of_stock", "payment_declined", "fraud_blocked"].contains(&code.as_str()),
                "{code}"
            );
        }
    }
    // Never negative, nothing left held, and what left the shelf is what was confirmed.
    assert_eq!(env.stock("HOT").await, (UNITS - bought, 0));
    let committed: (i64,) = env
        .inventory_db
        .query_one(
            "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM reservation_lines l
             JOIN reservations r ON r.store_id = l.store_id AND r.id = l.reservation_id
             WHERE r.status = 'committed'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(committed.0, bought);
    assert_eq!(
        env.payments_count("SELECT COUNT(*) FROM payment_intents WHERE status = 'captured'")
            .await,
        bought
    );
    assert_eq!(
        env.orders_count("SELECT COUNT(*) FROM orders WHERE status = 'confirmed'")
            .await,
        bought
    );
}
