//! Velocity rules under concurrency: concurrent authorizations count each other, so no more get
//! through than the rule allows (the counts are taken in the transaction that records the
//! attempt, serialised per card, customer and address).

use crate::support::*;
use mercato_proto::payments::{AuthorizeRequest, PaymentIntent};
use mercato_runtime::ids::StoreId;
use std::sync::Arc;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        thirty_concurrent_authorizations_with_one_card_approve_only_ten,
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        thirty_concurrent_authorizations_by_one_customer_approve_only_ten,
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        thirty_concurrent_authorizations_from_one_public_address_approve_only_twenty_five,
    ],
}

const CONCURRENT: usize = 30;

/// Sends `requests` all at once and returns every answer.
async fn all_at_once(env: Env, requests: Vec<AuthorizeRequest>) -> Vec<PaymentIntent> {
    let env = Arc::new(env);
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|r| {
            let env = env.clone();
            tokio::spawn(async move { env.authorize(r).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap().expect("every authorization is answered"));
    }
    answers
}

/// Exactly `allowed` approved, and every other one declined as fraud-blocked with `reason` among
/// its reasons.
fn assert_only(answers: &[PaymentIntent], allowed: usize, reason: &str) {
    let approved = answers.iter().filter(|i| i.status_name() == "authorized").count();
    let blocked: Vec<_> = answers
        .iter()
        .filter(|i| i.status_name() != "authorized")
        .collect();
    assert_eq!(approved, allowed, "approved of {CONCURRENT}");
    for intent in blocked {
        assert_eq!(
            (intent.status_name(), intent.failure_name()),
            ("declined", "fraud_blocked"),
            "{intent:?}"
        );
        let fraud = intent.fraud.as_ref().unwrap();
        assert_eq!(fraud.decision_name(), "block");
        assert!(fraud.reasons.iter().any(|r| r == reason), "{fraud:?}");
    }
}

async fn thirty_concurrent_authorizations_with_one_card_approve_only_ten(env: Env) {
    let store = StoreId::new();
    let shared = card(7);
    let requests = (0..CONCURRENT)
        .map(|i| auth(&store, &format!("card{i}"), &shared, 100))
        .collect();
    let answers = all_at_once(env, requests).await;
    assert_only(&answers, 10, "velocity_card");
}

async fn thirty_concurrent_authorizations_by_one_customer_approve_only_ten(env: Env) {
    let store = StoreId::new();
    let requests = (0..CONCURRENT)
        .map(|i| {
            let mut r = auth(&store, &format!("cust{i}"), &card(i as u64), 100);
            r.customer_id = "eager".into();
            r
        })
        .collect();
    let answers = all_at_once(env, requests).await;
    assert_only(&answers, 10, "velocity_customer");
}

async fn thirty_concurrent_authorizations_from_one_public_address_approve_only_twenty_five(env: Env) {
    let store = StoreId::new();
    let requests = (0..CONCURRENT)
        .map(|i| {
            let mut r = auth(&store, &format!("ip{i}"), &card(100 + i as u64), 100);
            r.ip = "203.0.113.7".into();
            r
        })
        .collect();
    let answers = all_at_once(env, requests).await;
    assert_only(&answers, 25, "velocity_ip");
}
