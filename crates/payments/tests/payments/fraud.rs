//! Fraud scoring on authorizations and through `ScoreFraud`.

use crate::support::*;
use mercato_proto::payments::{FraudAssessment, FraudRequest};
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        one_public_address_authorizing_too_often_is_flagged_then_blocked_but_a_private_one_is_not,
        a_customer_authorizing_too_often_is_flagged_and_then_blocked_without_reaching_the_provider,
        anonymous_shoppers_are_not_one_customer_authorizing_too_often,
        a_card_used_by_many_customers_within_the_hour_is_flagged,
        an_amount_far_above_the_store_median_is_flagged_once_there_is_enough_history,
        a_country_mismatch_is_a_signal_and_with_a_disposable_email_it_is_flagged,
        block_listed_cards_and_emails_are_blocked,
        score_fraud_validates_its_input_and_needs_no_card,
    ],
}

fn score_request(store: &StoreId, card: &str, amount: i64) -> FraudRequest {
    FraudRequest {
        store_id: store.to_string(),
        customer_id: "c".into(),
        email: "ann@example.com".into(),
        // A card number, which [`Env::score`] tokenizes before sending.
        payment_method: card.into(),
        amount_minor: amount,
        currency: "EUR".into(),
        billing_country: "DE".into(),
        shipping_country: "DE".into(),
        ip: String::new(),
    }
}

fn decision(a: &FraudAssessment) -> (&str, Vec<&str>) {
    (a.decision_name(), a.reasons.iter().map(String::as_str).collect())
}

/// Many customers and cards from one public address: flagged from the tenth earlier attempt,
/// blocked from the twenty-fifth; the same from a private address (a proxy) counts for nothing,
/// and an address that is not one is refused.
async fn one_public_address_authorizing_too_often_is_flagged_then_blocked_but_a_private_one_is_not(env: Env) {
    let store = StoreId::new();
    let mut reasons = Vec::new();
    for i in 0..26u64 {
        let mut r = auth(&store, &format!("ip{i}"), &card(100 + i), 100);
        r.ip = " 203.0.113.7 ".into();
        let fraud = env.authorize(r).await.unwrap().fraud.unwrap();
        reasons.push((
            fraud.decision_name(),
            fraud.reasons.contains(&"velocity_ip".to_owned()),
        ));
    }
    assert_eq!(reasons[9], ("allow", false), "nine earlier attempts");
    assert_eq!(reasons[10], ("flag", true), "ten earlier attempts");
    assert_eq!(reasons[25], ("block", true), "twenty-five earlier attempts");
    for i in 0..12u64 {
        let mut r = auth(&store, &format!("proxy{i}"), &card(200 + i), 100);
        r.ip = "192.168.1.20".into();
        let fraud = env.authorize(r).await.unwrap().fraud.unwrap();
        assert_eq!(fraud.decision_name(), "allow", "attempt {i} behind a proxy");
    }
    let mut bad = auth(&store, "bad-ip", &card(300), 100);
    bad.ip = "not-an-address".into();
    let refused = env.authorize(bad).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::ValidationFailed);
    assert_eq!(refused.fields[0].field, "ip");
}

async fn a_customer_authorizing_too_often_is_flagged_and_then_blocked_without_reaching_the_provider(
    env: Env,
) {
    let store = StoreId::new();
    let mut decisions = Vec::new();
    for i in 0..11u64 {
        let mut r = auth(&store, &format!("k{i}"), &card(i), 100);
        r.customer_id = "eager".into();
        let intent = env.authorize(r).await.unwrap();
        decisions.push(intent.fraud.unwrap().decision_name());
    }
    assert_eq!(decisions[..5], ["allow"; 5]);
    assert_eq!(decisions[5..10], ["flag"; 5]);
    assert_eq!(decisions[10], "block");
    let (status, failure) = env.row("k10").await;
    assert_eq!((status.as_str(), failure.as_str()), ("declined", "fraud_blocked"));
    assert_eq!(
        env.ledger("authorize").await,
        10,
        "a blocked payment never reaches the provider"
    );
    let subjects = env.subjects().await;
    let count = |s: &str| subjects.iter().filter(|x| x.ends_with(s)).count();
    assert_eq!(count("payment_authorized"), 10);
    assert_eq!(count("payment_flagged"), 5);
    assert_eq!(count("payment_declined"), 1);
}

async fn anonymous_shoppers_are_not_one_customer_authorizing_too_often(env: Env) {
    let store = StoreId::new();
    for i in 0..11u64 {
        let mut r = auth(&store, &format!("k{i}"), &card(i), 100);
        r.customer_id = String::new();
        let intent = env.authorize(r).await.unwrap();
        assert_eq!(intent.fraud.unwrap().decision_name(), "allow", "attempt {i}");
    }
}

async fn a_card_used_by_many_customers_within_the_hour_is_flagged(env: Env) {
    let store = StoreId::new();
    let shared = card(99);
    for i in 0..5 {
        let intent = env
            .authorize(auth(&store, &format!("k{i}"), &shared, 100))
            .await
            .unwrap();
        assert_eq!(intent.fraud.unwrap().decision_name(), "allow");
    }
    let a = env.score(score_request(&store, &shared, 100)).await.unwrap();
    assert_eq!(decision(&a), ("flag", vec!["velocity_card"]));
    assert_eq!(a.score, 50);
    let other = env.score(score_request(&store, &card(98), 100)).await.unwrap();
    assert_eq!(decision(&other), ("allow", vec![]));
}

async fn an_amount_far_above_the_store_median_is_flagged_once_there_is_enough_history(env: Env) {
    let store = StoreId::new();
    for i in 0..19u64 {
        env.authorize(auth(&store, &format!("k{i}"), &card(i), 1000))
            .await
            .unwrap();
    }
    let early = env.score(score_request(&store, APPROVE, 50_000)).await.unwrap();
    assert_eq!(
        decision(&early),
        ("allow", vec![]),
        "19 authorizations are too few"
    );
    env.authorize(auth(&store, "k19", &card(19), 1000)).await.unwrap();
    let at_limit = env.score(score_request(&store, APPROVE, 5000)).await.unwrap();
    assert_eq!(decision(&at_limit), ("allow", vec![]));
    let high = env.score(score_request(&store, APPROVE, 5001)).await.unwrap();
    assert_eq!(decision(&high), ("flag", vec!["amount_anomaly"]));
    let mut usd = score_request(&store, APPROVE, 5001);
    usd.currency = "USD".into();
    let usd = env.score(usd).await.unwrap();
    assert_eq!(decision(&usd), ("allow", vec![]), "the baseline is per currency");
    // Flagged payments still authorize, and say so in an event.
    let intent = env.authorize(auth(&store, "big", APPROVE, 9000)).await.unwrap();
    assert_eq!(intent.status_name(), "authorized");
    assert_eq!(intent.fraud.unwrap().decision_name(), "flag");
    assert_eq!(
        env.subjects().await.last().unwrap(),
        "mercato.payments.payment_flagged"
    );
}

async fn a_country_mismatch_is_a_signal_and_with_a_disposable_email_it_is_flagged(env: Env) {
    let store = StoreId::new();
    let mut r = score_request(&store, APPROVE, 100);
    r.shipping_country = "fr".into();
    let a = env.score(r.clone()).await.unwrap();
    assert_eq!(decision(&a), ("allow", vec!["country_mismatch"]));
    assert_eq!(a.score, 25);
    r.email = "someone@MAILINATOR.com".into();
    let a = env.score(r).await.unwrap();
    assert_eq!(
        decision(&a),
        ("flag", vec!["email_domain_disposable", "country_mismatch"])
    );
}

async fn block_listed_cards_and_emails_are_blocked(env: Env) {
    let store = StoreId::new();
    let s = store.to_string();
    env.service.block_card(&s, &card(13)).await.unwrap();
    env.service.block_card(&s, &card(13)).await.unwrap();
    env.service.block_email(&s, "Fraud@Example.com").await.unwrap();
    let a = env.score(score_request(&store, &card(13), 100)).await.unwrap();
    assert_eq!(
        (a.score, decision(&a)),
        (100, ("block", vec!["blocklisted_card"]))
    );
    let mut r = auth(&store, "e", APPROVE, 100);
    r.email = "fraud@example.com".into();
    let intent = env.authorize(r).await.unwrap();
    assert_eq!(
        (intent.status_name(), intent.failure_name()),
        ("declined", "fraud_blocked")
    );
    assert_eq!(intent.fraud.unwrap().reasons, ["blocklisted_email"]);
    assert_eq!(env.ledger("authorize").await, 0);
    let stored: (String,) = env
        .db
        .query_one("SELECT value FROM fraud_blocklist WHERE kind = 'card'", &[])
        .await
        .unwrap();
    assert_eq!(stored.0.len(), 64, "only the card's keyed fingerprint is stored");
}

async fn score_fraud_validates_its_input_and_needs_no_card(env: Env) {
    let store = StoreId::new();
    let a = env.score(score_request(&store, "", 100)).await.unwrap();
    assert_eq!(a.decision_name(), "allow");
    let bad = env
        .client
        .score_fraud(score_request(&store, "pm_1234", -1))
        .await
        .unwrap_err();
    assert_eq!(bad.code, ErrorCode::ValidationFailed);
    let fields: Vec<&str> = bad.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["amount_minor", "payment_method"]);
}
