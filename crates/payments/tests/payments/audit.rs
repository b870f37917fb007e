//! The provider's ledger against the intents table: what an auditor would check.

use crate::support::*;
use mercato_runtime::ids::StoreId;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        the_provider_ledger_equals_the_intents_table,
    ],
}

async fn the_provider_ledger_equals_the_intents_table(env: Env) {
    let store = StoreId::new();
    for i in 0..6u64 {
        let key = format!("k{i}");
        let intent = env
            .authorize(auth(&store, &key, &card(i), 1000 + i as i64))
            .await
            .unwrap();
        match i % 3 {
            0 => {
                env.capture(&store, &intent.id, "c", 700).await.unwrap();
                env.refund(&store, &intent.id, "r1", 100).await.unwrap();
                env.refund(&store, &intent.id, "r1", 100).await.unwrap();
            }
            1 => {
                env.capture(&store, &intent.id, "c", 0).await.unwrap();
                env.refund(&store, &intent.id, "r1", 0).await.unwrap();
            }
            _ => {
                env.void(&store, &intent.id, "v").await.unwrap();
            }
        }
    }
    env.authorize(auth(&store, "declined", DECLINE, 500))
        .await
        .unwrap();
    env.authorize(auth(&store, "network", NETWORK, 500))
        .await
        .unwrap_err();

    let sum = |sql: &'static str| {
        let database = env.db.clone();
        async move {
            let (n,): (i64,) = database.query_one(sql, &[]).await.unwrap();
            n
        }
    };
    let captured_ledger = sum(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM provider_ledger \
         WHERE kind = 'capture' AND outcome = 'approved'",
    )
    .await;
    let captured_intents =
        sum("SELECT CAST(COALESCE(SUM(captured_minor), 0) AS BIGINT) FROM payment_intents").await;
    assert_eq!(captured_ledger, captured_intents);
    assert_eq!(captured_intents, 700 + 1001 + 700 + 1004);

    let refunded_ledger = sum(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM provider_ledger \
         WHERE kind = 'refund' AND outcome = 'approved'",
    )
    .await;
    let refunded_intents =
        sum("SELECT CAST(COALESCE(SUM(refunded_minor), 0) AS BIGINT) FROM payment_intents").await;
    assert_eq!(refunded_ledger, refunded_intents);
    assert_eq!(refunded_intents, 100 + 1001 + 100 + 1004);

    let approved =
        sum("SELECT COUNT(*) FROM provider_ledger WHERE kind = 'authorize' AND outcome = 'approved'").await;
    let authorized_intents = sum("SELECT COUNT(*) FROM payment_intents WHERE provider_reference <> ''").await;
    assert_eq!(approved, authorized_intents);
    assert_eq!(approved, 6);
    let voids = sum("SELECT COUNT(*) FROM provider_ledger WHERE kind = 'void'").await;
    let voided = sum("SELECT COUNT(*) FROM payment_intents WHERE status = 'voided'").await;
    assert_eq!((voids, voided), (2, 2));
    let declined = sum("SELECT COUNT(*) FROM provider_ledger WHERE outcome = 'card_declined'").await;
    assert_eq!(declined, 1);
}
