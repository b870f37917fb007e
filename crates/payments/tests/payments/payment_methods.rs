//! Tokenized cards: a card becomes a store's payment method once, authorizations name it and
//! behave as its test card does, another store's payment method is unknown, and what is stored
//! is brand, last four, keyed fingerprint and token, never the number.

use crate::support::*;
use mercato_payments::provider::test::{CARD_DECLINE, CARD_INSUFFICIENT_FUNDS};
use mercato_proto::payments::{AuthorizeRequest, CreatePaymentMethodRequest};
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        a_tokenized_card_authorizes_by_its_payment_method_as_its_test_card_does,
        a_payment_method_belongs_to_its_store,
        tokenizing_stores_no_number_and_a_keyed_fingerprint,
        a_provider_outage_while_tokenizing_is_unavailable_and_stores_nothing,
    ],
}

async fn a_tokenized_card_authorizes_by_its_payment_method_as_its_test_card_does(env: Env) {
    let store = StoreId::new();
    let s = store.to_string();
    let method = env.tokenize(&s, "4242 4242 4242 4242").await.unwrap();
    assert!(method.id.starts_with("pm_"), "{}", method.id);
    assert_eq!((method.brand.as_str(), method.last4.as_str()), ("visa", "4242"));
    let intent = env.authorize(auth(&store, "ok", &method.id, 1000)).await.unwrap();
    assert_eq!(intent.status_name(), "authorized");
    assert_eq!(intent.card_last4, "4242");
    for (card, failure) in [
        (CARD_DECLINE, "card_declined"),
        (CARD_INSUFFICIENT_FUNDS, "insufficient_funds"),
    ] {
        let declined = env.tokenize(&s, card).await.unwrap();
        let intent = env
            .authorize(auth(&store, card, &declined.id, 1000))
            .await
            .unwrap();
        assert_eq!(
            (intent.status_name(), intent.failure_name()),
            ("declined", failure)
        );
    }
    let again = env.tokenize(&s, "4242424242424242").await.unwrap();
    assert_ne!(again.id, method.id);
    assert_eq!(again.fingerprint, method.fingerprint, "one card, one fingerprint");
}

async fn a_payment_method_belongs_to_its_store(env: Env) {
    let (mine, other) = (StoreId::new(), StoreId::new());
    let method = env.tokenize(&mine.to_string(), "4242424242424242").await.unwrap();
    let refused = env
        .authorize(auth(&other, "k", &method.id, 1000))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::ValidationFailed);
    assert_eq!(refused.fields[0].field, "payment_method");
    let unknown = AuthorizeRequest {
        payment_method: "4242424242424242".into(),
        ..auth(&mine, "n", "", 1000)
    };
    let refused = env.client.authorize(unknown).await.unwrap_err();
    assert_eq!(
        refused.fields[0].field, "payment_method",
        "a number is no payment method"
    );
}

async fn tokenizing_stores_no_number_and_a_keyed_fingerprint(env: Env) {
    let store = StoreId::new().to_string();
    let bad = env
        .client
        .create_payment_method(CreatePaymentMethodRequest {
            store_id: store.clone(),
            card_number: "4242424242424241".into(),
            cvc: "1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let fields: Vec<&str> = bad.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["card_number", "cvc"]);
    let method = env.tokenize(&store, "4000000000000077").await.unwrap();
    let sha256 = mercato_runtime::digest::sha256_hex(b"4000000000000077");
    assert_ne!(method.fingerprint, sha256, "the fingerprint is keyed");
    let rows: Vec<(String, String, String, String)> = env
        .db
        .query_all(
            "SELECT id, last4, fingerprint, provider_token FROM payment_methods",
            &[],
        )
        .await
        .unwrap();
    let row = &rows[0];
    assert_eq!(
        (row.0.as_str(), row.1.as_str(), row.2.as_str()),
        (method.id.as_str(), "0077", method.fingerprint.as_str())
    );
    assert!(!format!("{rows:?}").contains("4000000000000077"));
    let tokens: Vec<(String, String)> = env
        .db
        .query_all("SELECT behaviour, card_last4 FROM provider_tokens", &[])
        .await
        .unwrap();
    assert_eq!(tokens, [("slow".to_owned(), "0077".to_owned())]);
}

async fn a_provider_outage_while_tokenizing_is_unavailable_and_stores_nothing(env: Env) {
    let store = StoreId::new().to_string();
    env.provider.fail_next(1);
    let e = env.tokenize(&store, APPROVE).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unavailable);
    assert_eq!(env.count("SELECT COUNT(*) FROM payment_methods").await, 0);
    assert_eq!(env.count("SELECT COUNT(*) FROM provider_tokens").await, 0);
    let method = env.tokenize(&store, APPROVE).await.unwrap();
    assert_eq!(method.last4, "4242", "the provider is back");
}
