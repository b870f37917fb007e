//! Authorization: test cards, idempotency, concurrency, provider outages and crashes.

use crate::support::*;
use mercato_proto::payments::payments_server::Payments;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;
use std::time::Instant;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        every_test_card_gets_its_documented_outcome,
        authorizing_twice_with_the_same_key_replays_the_first_intent_and_writes_one_ledger_row,
        reusing_a_key_with_different_parameters_is_409_idempotency_key_reused,
        twenty_concurrent_authorizations_with_one_key_make_one_intent_and_one_provider_authorization,
        a_network_error_records_nothing_and_a_retry_after_recovery_authorizes_exactly_once,
        a_pending_intent_left_by_an_interrupted_call_is_completed_by_a_retry,
        invalid_authorizations_are_refused_with_every_bad_field,
    ],
}

async fn every_test_card_gets_its_documented_outcome(env: Env) {
    let store = StoreId::new();
    assert!(env.service.ready().await);

    let ok = env
        .authorize(auth(&store, "approve", APPROVE, 1000))
        .await
        .unwrap();
    assert_eq!((ok.status_name(), ok.failure_name()), ("authorized", ""));
    assert_eq!(ok.card_last4, "4242");
    assert_eq!(ok.fraud.as_ref().unwrap().decision_name(), "allow");

    let declined = env
        .authorize(auth(&store, "decline", DECLINE, 1000))
        .await
        .unwrap();
    assert_eq!(
        (declined.status_name(), declined.failure_name()),
        ("declined", "card_declined")
    );
    let poor = env
        .authorize(auth(&store, "poor", INSUFFICIENT, 1000))
        .await
        .unwrap();
    assert_eq!(
        (poor.status_name(), poor.failure_name()),
        ("declined", "insufficient_funds")
    );

    let started = Instant::now();
    let slow = env.authorize(auth(&store, "slow", SLOW, 1000)).await.unwrap();
    assert_eq!(slow.status_name(), "authorized");
    assert!(
        started.elapsed() >= SLOW_DELAY,
        "the slow card answers after its delay"
    );

    let other = env
        .authorize(auth(&store, "other", &card(7), 1000))
        .await
        .unwrap();
    assert_eq!(
        other.status_name(),
        "authorized",
        "any other Luhn-valid card approves"
    );

    let invalid = env
        .authorize(auth(&store, "invalid", "4242424242424241", 1000))
        .await
        .unwrap_err();
    assert_eq!(invalid.code, ErrorCode::ValidationFailed);
    assert_eq!(invalid.code.http_status(), 422);
    assert_eq!(
        invalid.fields[0].field, "card_number",
        "an invalid number is refused when it is tokenized"
    );

    // The network-error card: gRPC Unavailable, a failed intent, and nothing in the ledger.
    let network = env.tokenize(&store.to_string(), NETWORK).await.unwrap();
    let status = Payments::authorize(
        env.service.as_ref(),
        tonic::Request::new(auth(&store, "network", &network.id, 1000)),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_eq!(
        env.row("network").await,
        ("failed".to_owned(), "provider_unavailable".to_owned())
    );
    assert_eq!(
        env.ledger("authorize").await,
        5,
        "one ledger row per reached authorization"
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM provider_ledger WHERE card_last4 = '0119'")
            .await,
        0
    );
    assert_eq!(
        env.count(
            "SELECT COUNT(*) FROM payment_intents \
             WHERE card_fingerprint LIKE '%4242424242424242%' OR card_last4 = '4242424242424242'"
        )
        .await,
        0,
        "no card number is stored"
    );
}

async fn authorizing_twice_with_the_same_key_replays_the_first_intent_and_writes_one_ledger_row(env: Env) {
    let store = StoreId::new();
    let first = env.authorize(auth(&store, "k1", APPROVE, 2500)).await.unwrap();
    let again = env.authorize(auth(&store, "k1", APPROVE, 2500)).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(env.ledger("authorize").await, 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM payment_intents").await, 1);
    assert_eq!(
        env.subjects().await,
        ["mercato.payments.payment_authorized"],
        "one event for one authorization"
    );
    // A declined intent is replayed as declined, not retried.
    let declined = env.authorize(auth(&store, "k2", DECLINE, 100)).await.unwrap();
    assert_eq!(
        env.authorize(auth(&store, "k2", DECLINE, 100)).await.unwrap(),
        declined
    );
    assert_eq!(env.ledger("authorize").await, 2);
}

async fn reusing_a_key_with_different_parameters_is_409_idempotency_key_reused(env: Env) {
    let store = StoreId::new();
    env.authorize(auth(&store, "k", APPROVE, 100)).await.unwrap();
    let mut other_amount = auth(&store, "k", APPROVE, 101);
    assert_eq!(
        code(env.authorize(other_amount.clone()).await),
        ErrorCode::IdempotencyKeyReused
    );
    other_amount.amount_minor = 100;
    other_amount.order_id = "another-order".into();
    assert_eq!(
        code(env.authorize(other_amount.clone()).await),
        ErrorCode::IdempotencyKeyReused
    );
    other_amount.order_id = "order-k".into();
    other_amount.currency = "USD".into();
    assert_eq!(
        code(env.authorize(other_amount).await),
        ErrorCode::IdempotencyKeyReused
    );
    assert_eq!(
        code(env.authorize(auth(&store, "k", &card(1), 100)).await),
        ErrorCode::IdempotencyKeyReused
    );
    assert_eq!(env.ledger("authorize").await, 1);
}

async fn twenty_concurrent_authorizations_with_one_key_make_one_intent_and_one_provider_authorization(
    env: Env,
) {
    let store = StoreId::new();
    let method = env.tokenize(&store.to_string(), APPROVE).await.unwrap();
    let calls = (0..20).map(|_| {
        let client = env.client.clone();
        let r = auth(&store, "same", &method.id, 4200);
        tokio::spawn(async move { client.authorize(r).await })
    });
    let mut ids = std::collections::HashSet::new();
    for call in calls.collect::<Vec<_>>() {
        let intent = call.await.unwrap().unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(intent.status_name(), "authorized");
        ids.insert(intent.id);
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM payment_intents").await, 1);
    assert_eq!(env.ledger("authorize").await, 1);
    assert_eq!(env.subjects().await.len(), 1, "one authorized event");
}

async fn a_network_error_records_nothing_and_a_retry_after_recovery_authorizes_exactly_once(env: Env) {
    let store = StoreId::new();
    let method = env.tokenize(&store.to_string(), APPROVE).await.unwrap();
    env.provider.fail_next(2);
    for _ in 0..2 {
        let e = env
            .authorize(auth(&store, "k", &method.id, 900))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Unavailable);
        assert_eq!(
            env.row("k").await,
            ("failed".into(), "provider_unavailable".into())
        );
        assert_eq!(env.ledger("authorize").await, 0);
    }
    assert!(
        env.subjects().await.is_empty(),
        "a failure is not final, so no event"
    );
    // The network recovers.
    let ok = env.authorize(auth(&store, "k", APPROVE, 900)).await.unwrap();
    assert_eq!((ok.status_name(), ok.failure_name()), ("authorized", ""));
    let replay = env.authorize(auth(&store, "k", APPROVE, 900)).await.unwrap();
    assert_eq!(replay, ok);
    assert_eq!(env.ledger("authorize").await, 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM payment_intents").await, 1);
    // The network-error card never recovers: every retry fails the same way.
    let e = env.authorize(auth(&store, "n", NETWORK, 900)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unavailable);
    assert_eq!(
        code(env.authorize(auth(&store, "n", NETWORK, 900)).await),
        ErrorCode::Unavailable
    );
    assert_eq!(env.ledger("authorize").await, 1);
}

async fn a_pending_intent_left_by_an_interrupted_call_is_completed_by_a_retry(env: Env) {
    let store = StoreId::new();
    // The caller goes away while the provider is still thinking: the intent stays pending.
    let method = env.tokenize(&store.to_string(), SLOW).await.unwrap();
    let client = env.client.clone();
    let r = auth(&store, "crash", &method.id, 700);
    let call = tokio::spawn(async move { client.authorize(r).await });
    let deadline = Instant::now() + SLOW_DELAY / 2;
    while env.try_row("crash").await.is_none() {
        assert!(
            Instant::now() < deadline,
            "the pending intent was not written in time"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    call.abort();
    let _ = call.await;
    assert_eq!(env.row("crash").await.0, "pending");
    assert_eq!(env.ledger("authorize").await, 0);

    let done = env.authorize(auth(&store, "crash", SLOW, 700)).await.unwrap();
    assert_eq!(done.status_name(), "authorized");
    assert_eq!(env.ledger("authorize").await, 1);
    assert_eq!(
        env.authorize(auth(&store, "crash", SLOW, 700)).await.unwrap(),
        done
    );
    assert_eq!(env.ledger("authorize").await, 1);
}

async fn invalid_authorizations_are_refused_with_every_bad_field(env: Env) {
    let store = StoreId::new();
    let mut r = auth(&store, "", APPROVE, 0);
    r.order_id = String::new();
    r.currency = "EURO".into();
    let e = env.authorize(r).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ValidationFailed);
    let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        ["order_id", "idempotency_key", "amount_minor", "currency"]
    );
    let too_much = env
        .authorize(auth(&store, "big", APPROVE, 1_000_000_000_001))
        .await;
    assert_eq!(code(too_much), ErrorCode::ValidationFailed);
    let max = env
        .authorize(auth(&store, "max", APPROVE, 1_000_000_000_000))
        .await
        .unwrap();
    assert_eq!(max.status_name(), "authorized");
}
