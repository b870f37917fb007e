//! Fraud scoring throughput: run with
//! `cargo test -p mercato-payments --test payments -- --ignored --nocapture fraud_scores_per_second`.
//! Prints numbers; asserts none (machines differ).

use crate::support::*;
use mercato_payments::domain::fraud::{FraudInput, FraudStats, score};
use mercato_runtime::ids::StoreId;
use std::hint::black_box;
use std::time::Instant;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        #[tokio::test]
        #[ignore = "benchmark; prints calls per second"]
        fraud_scores_per_second_through_the_score_fraud_call,
    ],
}

#[tokio::test]
#[ignore = "benchmark; prints scores per second"]
async fn fraud_scores_per_second() {
    let emails = ["ann@example.com", "bob@mailinator.com", "carl@shop.example"];
    let countries = [("DE", "DE"), ("DE", "FR"), ("US", "us")];
    let n: u32 = 2_000_000;
    let started = Instant::now();
    let mut blocked = 0u32;
    for i in 0..n {
        let (billing, shipping) = countries[(i % 3) as usize];
        let input = FraudInput {
            amount_minor: i64::from(i % 10_000),
            email: emails[(i % 3) as usize],
            billing_country: billing,
            shipping_country: shipping,
        };
        let stats = FraudStats {
            customer_attempts: i % 12,
            card_attempts: i % 7,
            ip_attempts: i % 13,
            history_count: 100,
            history_median: 1500,
            card_blocked: i % 101 == 0,
            email_blocked: false,
        };
        let a = score(black_box(&input), black_box(&stats));
        blocked += u32::from(a.decision == mercato_payments::domain::fraud::Decision::Block);
    }
    let pure = f64::from(n) / started.elapsed().as_secs_f64();
    println!("pure scoring function: {pure:.0} scores/s on one core ({blocked} blocked)");
}

/// The whole ScoreFraud call, including its two queries, on each database.
async fn fraud_scores_per_second_through_the_score_fraud_call(env: Env) {
    let store = StoreId::new();
    for i in 0..100u64 {
        env.authorize(auth(&store, &format!("k{i}"), &card(i), 1000))
            .await
            .unwrap();
    }
    let mut methods = Vec::new();
    for i in 0..100u64 {
        methods.push(env.tokenize(&store.to_string(), &card(i)).await.unwrap().id);
    }
    let calls = 2000u32;
    let started = Instant::now();
    for i in 0..calls {
        let r = mercato_proto::payments::FraudRequest {
            store_id: store.to_string(),
            customer_id: format!("customer-k{}", i % 100),
            email: "ann@example.com".into(),
            payment_method: methods[(i % 100) as usize].clone(),
            amount_minor: 1000,
            currency: "EUR".into(),
            billing_country: "DE".into(),
            shipping_country: "DE".into(),
            ip: String::new(),
        };
        env.client.score_fraud(r).await.unwrap();
    }
    let rate = f64::from(calls) / started.elapsed().as_secs_f64();
    println!(
        "{}: ScoreFraud end to end: {rate:.0} calls/s (one task)",
        env.backend.name()
    );
}
