//! The test provider's ledger on its own: a repeated key answers with its first outcome and
//! books nothing, and captures, voids and refunds are checked against the ledger, also when
//! they race.

use crate::support::*;
use mercato_payments::domain::CardNumber;
use mercato_payments::provider::PaymentProvider;
use mercato_payments::provider::test::TestProvider;
use mercato_runtime::money::Currency;
use std::sync::Arc;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        a_repeated_provider_key_answers_with_its_first_outcome_and_books_nothing,
        racing_settlements_of_one_authorization_are_checked_one_after_another,
    ],
}

async fn authorized(p: &TestProvider, key: &str, amount: i64) -> String {
    let card = CardNumber::parse("card_number", APPROVE).unwrap();
    let eur = Currency::parse("EUR").unwrap();
    let token = p.tokenize(&card).await.unwrap();
    let reply = p.authorize(key, &token, amount, &eur).await.unwrap();
    assert!(reply.approved(), "{reply:?}");
    reply.entry_id
}

async fn a_repeated_provider_key_answers_with_its_first_outcome_and_books_nothing(env: Env) {
    let p = &env.provider;
    let card = CardNumber::parse("card_number", DECLINE).unwrap();
    let eur = Currency::parse("EUR").unwrap();
    let token = p.tokenize(&card).await.unwrap();
    let first = p.authorize("auth:d", &token, 500, &eur).await.unwrap();
    let again = p.authorize("auth:d", &token, 900, &eur).await.unwrap();
    assert_eq!(first.decline.as_deref(), Some("card_declined"));
    assert_eq!(again, first);

    let auth = authorized(p, "auth:a", 1000).await;
    assert_eq!(authorized(p, "auth:a", 1000).await, auth);
    let capture = p.capture("capture:a", &auth, 600).await.unwrap();
    assert!(capture.approved());
    // The same key again: the first outcome, even though the ledger would now refuse it.
    assert_eq!(p.capture("capture:a", &auth, 900).await.unwrap(), capture);
    let other = p.capture("capture:b", &auth, 600).await.unwrap();
    assert_eq!(other.decline.as_deref(), Some("already_settled"));
    assert_eq!(p.capture("capture:b", &auth, 600).await.unwrap(), other);
    let void = p.void("void:a", &auth).await.unwrap();
    assert_eq!(void.decline.as_deref(), Some("already_settled"));

    let refund = p.refund("refund:a:1", &auth, 600).await.unwrap();
    assert!(refund.approved());
    assert_eq!(p.refund("refund:a:1", &auth, 600).await.unwrap(), refund);
    let over = p.refund("refund:a:2", &auth, 1).await.unwrap();
    assert_eq!(over.decline.as_deref(), Some("amount_exceeds_capture"));

    // Only an approved authorization can be settled.
    for reference in [
        "no-such-entry",
        capture.entry_id.as_str(),
        first.entry_id.as_str(),
    ] {
        let unknown = p.void(&format!("void:{reference}"), reference).await.unwrap();
        assert_eq!(unknown.decline.as_deref(), Some("unknown_authorization"));
    }

    assert_eq!(env.ledger("authorize").await, 2);
    assert_eq!(env.ledger("capture").await, 2);
    assert_eq!(env.ledger("void").await, 4);
    assert_eq!(env.ledger("refund").await, 2);
}

async fn racing_settlements_of_one_authorization_are_checked_one_after_another(env: Env) {
    let p: Arc<TestProvider> = env.provider.clone();

    // Twenty captures and voids under different keys: exactly one settles.
    let auth = authorized(&p, "auth:race", 1000).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (p, auth) = (p.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                p.capture(&format!("capture:{i}"), &auth, 1000).await.unwrap()
            } else {
                p.void(&format!("void:{i}"), &auth).await.unwrap()
            }
        }));
    }
    let mut approved = 0;
    for t in tasks {
        approved += usize::from(t.await.unwrap().approved());
    }
    assert_eq!(approved, 1);

    // Twenty captures under one key: one booking, one answer.
    let auth = authorized(&p, "auth:same", 1000).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (p, auth) = (p.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            p.capture("capture:same", &auth, 1000).await.unwrap()
        }));
    }
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    assert!(replies[0].approved());
    assert!(replies.iter().all(|r| *r == replies[0]), "{replies:?}");

    // Ten refunds of 150 on a capture of 1000: six fit.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (p, auth) = (p.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            p.refund(&format!("refund:same:{i}"), &auth, 150).await.unwrap()
        }));
    }
    let mut refunded = 0;
    for t in tasks {
        let r = t.await.unwrap();
        if r.approved() {
            refunded += r.amount_minor;
        } else {
            assert_eq!(r.decline.as_deref(), Some("amount_exceeds_capture"));
        }
    }
    assert_eq!(refunded, 900);
    assert_eq!(env.ledger("capture").await, 11);
}
