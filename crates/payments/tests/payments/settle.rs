//! Capture, void and refund: amounts, idempotency, concurrency, illegal transitions, tenants.

use crate::support::*;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        a_full_capture_then_partial_and_full_refunds_add_up_and_an_over_refund_is_refused,
        a_partial_capture_takes_less_than_authorized_and_more_is_refused,
        capture_happens_once_even_when_called_concurrently_with_different_keys,
        a_capture_interrupted_by_a_provider_outage_completes_on_retry_with_the_same_key_only,
        void_releases_an_authorization_and_is_idempotent,
        illegal_transitions_are_409_payment_status_conflict_with_a_clear_message,
        refunds_are_idempotent_by_key,
        a_capture_the_provider_refuses_is_409_provider_refused,
        concurrent_refunds_never_exceed_the_captured_amount,
        one_store_cannot_see_or_move_another_stores_payments,
    ],
}

async fn a_full_capture_then_partial_and_full_refunds_add_up_and_an_over_refund_is_refused(env: Env) {
    let store = StoreId::new();
    let captured = env.captured(&store, "p", 1000).await;
    assert_eq!(
        (captured.status_name(), captured.captured_minor),
        ("captured", 1000)
    );

    let part = env.refund(&store, &captured.id, "r1", 300).await.unwrap();
    assert_eq!(
        (part.status_name(), part.refunded_minor),
        ("partially_refunded", 300)
    );
    let over = env.refund(&store, &captured.id, "r2", 701).await.unwrap_err();
    assert_eq!(over.code, ErrorCode::ValidationFailed);
    assert_eq!(over.fields[0].field, "amount_minor");
    let part = env.refund(&store, &captured.id, "r3", 200).await.unwrap();
    assert_eq!(part.refunded_minor, 500);
    let full = env.refund(&store, &captured.id, "r4", 0).await.unwrap();
    assert_eq!((full.status_name(), full.refunded_minor), ("refunded", 1000));
    assert_eq!(
        code(env.refund(&store, &captured.id, "r5", 1).await),
        ErrorCode::PaymentStatusConflict,
        "a refunded payment refunds no more"
    );
    assert_eq!(env.ledger("refund").await, 3);
    let subjects = env.subjects().await;
    assert_eq!(
        subjects,
        [
            "mercato.payments.payment_authorized",
            "mercato.payments.payment_captured",
            "mercato.payments.payment_refunded",
            "mercato.payments.payment_refunded",
            "mercato.payments.payment_refunded",
        ]
    );
}

async fn a_partial_capture_takes_less_than_authorized_and_more_is_refused(env: Env) {
    let store = StoreId::new();
    let intent = env.authorize(auth(&store, "a", APPROVE, 1000)).await.unwrap();
    let e = env.capture(&store, &intent.id, "c", 1001).await.unwrap_err();
    assert_eq!(
        (e.code, e.fields[0].field.as_str()),
        (ErrorCode::ValidationFailed, "amount_minor")
    );
    let c = env.capture(&store, &intent.id, "c", 600).await.unwrap();
    assert_eq!(
        (c.status_name(), c.amount_minor, c.captured_minor),
        ("captured", 1000, 600)
    );
    assert_eq!(
        code(env.refund(&store, &intent.id, "r", 601).await),
        ErrorCode::ValidationFailed
    );
    assert_eq!(
        env.refund(&store, &intent.id, "r", 600)
            .await
            .unwrap()
            .status_name(),
        "refunded"
    );
}

async fn capture_happens_once_even_when_called_concurrently_with_different_keys(env: Env) {
    let store = StoreId::new();
    let intent = env.authorize(auth(&store, "a", APPROVE, 5000)).await.unwrap();
    let calls: Vec<_> = (0..10)
        .map(|i| {
            let client = env.client.clone();
            let r = mercato_proto::payments::CaptureRequest {
                store_id: store.to_string(),
                intent_id: intent.id.clone(),
                idempotency_key: format!("capture-{i}"),
                amount_minor: 1000 + i,
            };
            tokio::spawn(async move { client.capture(r).await })
        })
        .collect();
    let mut won = Vec::new();
    for call in calls {
        match call.await.unwrap() {
            Ok(c) => won.push(c),
            Err(e) => assert_eq!(e.code, ErrorCode::PaymentAlreadyCaptured, "{e:?}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one capture succeeds");
    assert_eq!(env.ledger("capture").await, 1);
    let now = env.get(&store, &intent.id).await.unwrap();
    assert_eq!(now.captured_minor, won[0].captured_minor);
    assert_eq!(
        env.subjects()
            .await
            .iter()
            .filter(|s| s.ends_with("payment_captured"))
            .count(),
        1
    );
    // The winner's key replays; the same key concurrently replays too.
    let winner_key = format!("capture-{}", won[0].captured_minor - 1000);
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let client = env.client.clone();
            let r = mercato_proto::payments::CaptureRequest {
                store_id: store.to_string(),
                intent_id: intent.id.clone(),
                idempotency_key: winner_key.clone(),
                amount_minor: won[0].captured_minor,
            };
            tokio::spawn(async move { client.capture(r).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), now);
    }
    assert_eq!(env.ledger("capture").await, 1);
}

async fn a_capture_interrupted_by_a_provider_outage_completes_on_retry_with_the_same_key_only(env: Env) {
    let store = StoreId::new();
    let intent = env.authorize(auth(&store, "a", APPROVE, 800)).await.unwrap();
    env.provider.fail_next(1);
    assert_eq!(
        code(env.capture(&store, &intent.id, "c1", 0).await),
        ErrorCode::Unavailable
    );
    assert_eq!(env.ledger("capture").await, 0);
    assert_eq!(
        env.get(&store, &intent.id).await.unwrap().status_name(),
        "authorized"
    );
    assert_eq!(
        code(env.capture(&store, &intent.id, "c2", 0).await),
        ErrorCode::PaymentAlreadyCaptured,
        "another key cannot start a second capture"
    );
    assert_eq!(
        code(env.void(&store, &intent.id, "v").await),
        ErrorCode::PaymentStatusConflict,
        "nor can a void"
    );
    let done = env.capture(&store, &intent.id, "c1", 0).await.unwrap();
    assert_eq!((done.status_name(), done.captured_minor), ("captured", 800));
    assert_eq!(env.ledger("capture").await, 1);
}

async fn void_releases_an_authorization_and_is_idempotent(env: Env) {
    let store = StoreId::new();
    let intent = env.authorize(auth(&store, "a", APPROVE, 300)).await.unwrap();
    let voided = env.void(&store, &intent.id, "v1").await.unwrap();
    assert_eq!(voided.status_name(), "voided");
    assert_eq!(env.void(&store, &intent.id, "v1").await.unwrap(), voided);
    assert_eq!(env.void(&store, &intent.id, "v2").await.unwrap(), voided);
    assert_eq!(env.ledger("void").await, 1);
    assert_eq!(
        env.subjects().await,
        [
            "mercato.payments.payment_authorized",
            "mercato.payments.payment_voided"
        ]
    );
}

async fn illegal_transitions_are_409_payment_status_conflict_with_a_clear_message(env: Env) {
    let store = StoreId::new();
    let declined = env.authorize(auth(&store, "d", DECLINE, 100)).await.unwrap();
    let e = env.capture(&store, &declined.id, "c", 0).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::PaymentStatusConflict);
    assert_eq!(e.message, "cannot capture a payment that is declined");
    assert_eq!(
        code(env.void(&store, &declined.id, "v").await),
        ErrorCode::PaymentStatusConflict
    );

    let authorized = env.authorize(auth(&store, "a", APPROVE, 100)).await.unwrap();
    let e = env.refund(&store, &authorized.id, "r", 10).await.unwrap_err();
    assert_eq!(e.message, "cannot refund a payment that is authorized");

    let voided = env.authorize(auth(&store, "v", APPROVE, 100)).await.unwrap();
    env.void(&store, &voided.id, "v").await.unwrap();
    let e = env.capture(&store, &voided.id, "c", 0).await.unwrap_err();
    assert_eq!(e.message, "cannot capture a payment that is voided");
    assert_eq!(
        code(env.refund(&store, &voided.id, "r", 0).await),
        ErrorCode::PaymentStatusConflict
    );

    let captured = env.captured(&store, "c", 100).await;
    let e = env.void(&store, &captured.id, "v").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::PaymentStatusConflict);
    assert_eq!(
        code(env.capture(&store, &captured.id, "other", 0).await),
        ErrorCode::PaymentAlreadyCaptured
    );
    assert_eq!(env.ledger("capture").await, 1);
    assert_eq!(env.ledger("void").await, 1);
}

async fn a_capture_the_provider_refuses_is_409_provider_refused(env: Env) {
    use mercato_payments::provider::PaymentProvider;
    let store = StoreId::new();
    let intent = env.authorize(auth(&store, "a", APPROVE, 500)).await.unwrap();
    // Someone settles the authorization at the provider behind the service's back.
    let (reference,): (String,) = env
        .db
        .query_one(
            "SELECT provider_reference FROM payment_intents WHERE idempotency_key = $1",
            &[&"a"],
        )
        .await
        .unwrap();
    let elsewhere = env.provider.void("void:elsewhere", &reference).await.unwrap();
    assert!(elsewhere.approved(), "{elsewhere:?}");

    let e = env.capture(&store, &intent.id, "c", 0).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ProviderRefused, "{e:?}");
    assert_eq!(e.message, "the provider refused the capture: already_settled");
    assert_eq!(
        env.ledger("capture").await,
        1,
        "the refusal is booked, nothing captured"
    );
}

async fn refunds_are_idempotent_by_key(env: Env) {
    let store = StoreId::new();
    let captured = env.captured(&store, "p", 1000).await;
    let first = env.refund(&store, &captured.id, "r", 400).await.unwrap();
    assert_eq!(env.refund(&store, &captured.id, "r", 400).await.unwrap(), first);
    assert_eq!(env.refund(&store, &captured.id, "r", 0).await.unwrap(), first);
    assert_eq!(
        code(env.refund(&store, &captured.id, "r", 500).await),
        ErrorCode::IdempotencyKeyReused
    );
    assert_eq!(env.ledger("refund").await, 1);
    assert_eq!(first.refunded_minor, 400);
}

async fn concurrent_refunds_never_exceed_the_captured_amount(env: Env) {
    let store = StoreId::new();
    let captured = env.captured(&store, "p", 1000).await;
    let calls: Vec<_> = (0..6)
        .map(|i| {
            let client = env.client.clone();
            let r = mercato_proto::payments::RefundRequest {
                store_id: store.to_string(),
                intent_id: captured.id.clone(),
                idempotency_key: format!("r{i}"),
                amount_minor: 300,
            };
            tokio::spawn(async move { client.refund(r).await })
        })
        .collect();
    let mut ok = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert!(
                matches!(e.code, ErrorCode::ValidationFailed | ErrorCode::Unavailable),
                "{e:?}"
            ),
        }
    }
    let now = env.get(&store, &captured.id).await.unwrap();
    assert_eq!(now.refunded_minor, 300 * ok);
    assert!(now.refunded_minor <= 1000);
    assert_eq!(ok, 3, "three refunds of 300 fit in 1000");
    assert_eq!(env.ledger("refund").await, ok);
}

async fn one_store_cannot_see_or_move_another_stores_payments(env: Env) {
    let (a, b) = (StoreId::new(), StoreId::new());
    let intent = env.authorize(auth(&a, "same-key", APPROVE, 100)).await.unwrap();
    assert_eq!(code(env.get(&b, &intent.id).await), ErrorCode::NotFound);
    assert_eq!(
        code(env.capture(&b, &intent.id, "c", 0).await),
        ErrorCode::NotFound
    );
    assert_eq!(code(env.void(&b, &intent.id, "v").await), ErrorCode::NotFound);
    assert_eq!(
        code(env.refund(&b, &intent.id, "r", 0).await),
        ErrorCode::NotFound
    );
    // The same idempotency key in another store is another payment.
    let other = env.authorize(auth(&b, "same-key", APPROVE, 100)).await.unwrap();
    assert_ne!(other.id, intent.id);
    assert_eq!(other.store_id, b.to_string());
    assert_eq!(env.get(&a, &intent.id).await.unwrap().status_name(), "authorized");
    // A block list entry in one store does not block in another.
    env.service.block_card(&a.to_string(), &card(5)).await.unwrap();
    let blocked = env.authorize(auth(&a, "x", &card(5), 100)).await.unwrap();
    assert_eq!(blocked.failure_name(), "fraud_blocked");
    let fine = env.authorize(auth(&b, "x", &card(5), 100)).await.unwrap();
    assert_eq!(fine.status_name(), "authorized");
}
