//! Legacy order imports (ADR 0016): orders kept as history under their legacy numbers, upserted
//! by legacy key (created, unchanged, updated as a new `imported` event), published as
//! `order_imported` only, with the store's counter moved past them; and read back for
//! reconciliation from what is stored.

use crate::imports_support::*;
use crate::support::*;
use mercato_proto::events::OrderChanged;
use mercato_proto::imports::*;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::imports::{Canonical, numeric_key, sum_range, target_id};
use prost::Message;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        orders_are_created_then_unchanged_then_updated_as_appended_history,
        imported_orders_are_published_as_imported_on_their_own_dates_only,
        the_counter_moves_past_imported_numbers_and_numbers_never_clash,
        bad_records_are_rejected_one_by_one_and_bad_calls_name_their_field,
        checksums_and_records_are_built_from_what_is_stored,
        another_store_sees_none_of_it,
        a_batch_of_a_thousand_orders_is_one_quick_call,
    ],
}

async fn orders_are_created_then_unchanged_then_updated_as_appended_history(env: Env) {
    let sent: Vec<ImportedOrder> = (1..=3).map(legacy).collect();
    let got = env.import(sent.clone()).await.unwrap();
    assert_eq!(outcomes(&got), ["created"; 3]);
    let store = env.store.to_string();
    let id = target_id(&store, SOURCE, Entity::Order, &numeric_key(2)).to_string();
    assert_eq!(got[1].target_id, id);
    let order = env.get_order(&staff(), &id).await.unwrap();
    assert_eq!((order.number, order.status_name()), (2, "confirmed"));
    assert_eq!(order.created_at_ms, sent[1].created_at_ms);
    assert_eq!(order.email, "buyer2@example.com");
    let customer = target_id(&store, SOURCE, Entity::Customer, &numeric_key(2));
    assert_eq!(order.customer_id, customer.to_string());
    assert_eq!(order.total_minor, 3708);
    assert_eq!(order.lines.len(), 2);
    let guest = env.get_order(&staff(), &got[2].target_id).await.unwrap();
    assert_eq!(guest.customer_id, "", "order 3 is a guest's");
    assert_eq!(env.kinds(&id).await, ["imported"]);

    let again = env.import(sent.clone()).await.unwrap();
    assert_eq!(outcomes(&again), ["unchanged"; 3]);
    assert_eq!(env.kinds(&id).await, ["imported"], "nothing written");

    let mut refunded = sent[1].clone();
    refunded.status = "refunded".into();
    refunded.legacy_status = "wc-refunded".into();
    refunded.refunded_minor = refunded.total_minor;
    refunded.modified_at_ms += 86_400_000;
    let mut touched_only = sent[0].clone();
    touched_only.modified_at_ms += 5;
    let got = env.import(vec![touched_only, refunded.clone()]).await.unwrap();
    assert_eq!(outcomes(&got), ["unchanged", "updated"]);
    assert_eq!(env.kinds(&id).await, ["imported", "imported"]);
    let order = env.get_order(&staff(), &id).await.unwrap();
    assert_eq!((order.status_name(), order.refunded_minor), ("refunded", 3708));
    assert_eq!(order.created_at_ms, sent[1].created_at_ms, "still placed then");
    assert_eq!(order.updated_at_ms, refunded.modified_at_ms);
    assert_eq!(
        env.records(env.range(&numeric_key(2), &numeric_key(3)), 0)
            .await
            .unwrap(),
        [refunded]
    );
}

async fn imported_orders_are_published_as_imported_on_their_own_dates_only(env: Env) {
    env.import((1..=2).map(legacy).collect()).await.unwrap();
    let subjects = env.outbox_subjects().await;
    assert_eq!(subjects, [mercato_proto::subjects::orders::ORDER_IMPORTED; 2]);
    let envelopes = mercato_runtime::testing::outbox_events(&env.orders_db).await;
    let order = OrderChanged::decode(envelopes[0].payload.as_slice())
        .unwrap()
        .order
        .unwrap();
    // Analytics buckets an order at its snapshot's `updated_at_ms`: the legacy date.
    assert_eq!(
        (order.created_at_ms, order.updated_at_ms),
        (legacy(1).created_at_ms, legacy(1).created_at_ms)
    );
    assert_eq!(order.status_name(), "confirmed", "counted as a sale");
    assert_eq!(envelopes[0].store_id, env.store.to_string());
    let charges = order.charges.unwrap();
    assert_eq!(
        (charges.subtotal_minor, charges.shipping_minor, charges.tax_minor),
        (2900, 495, 513)
    );
    let unpaid = env
        .orders_count("SELECT COUNT(*) FROM orders WHERE saga_state <> 'done' OR payment_json <> ''")
        .await;
    assert_eq!(unpaid, 0, "no saga, no payment");
}

async fn the_counter_moves_past_imported_numbers_and_numbers_never_clash(env: Env) {
    env.sku("MUG", 900, 50).await;
    let placed = env.buy("u1", &[("MUG", 1)], APPROVE).await;
    assert_eq!(placed.number, 1001);
    let mut clash = legacy(7);
    clash.number = 1001;
    let mut high = legacy(8);
    high.number = 5000;
    let mut twice = legacy(9);
    twice.number = 5000;
    let got = env.import(vec![clash, high, twice, legacy(8)]).await.unwrap();
    assert_eq!(outcomes(&got), ["rejected", "created", "rejected", "rejected"]);
    assert!(
        got[0].reason.contains("number 1001 is taken"),
        "{}",
        got[0].reason
    );
    assert!(got[2].reason.contains("number 5000"), "{}", got[2].reason);
    assert!(got[3].reason.contains("twice"), "{}", got[3].reason);
    assert_eq!(got[0].target_id, "");
    let next = env.buy("u2", &[("MUG", 1)], APPROVE).await;
    assert_eq!(
        next.number, 5001,
        "new orders come after the greatest imported number"
    );
    let mut renumbered = legacy(8);
    renumbered.number = 5001;
    let got = env.import(vec![renumbered]).await.unwrap();
    assert_eq!(outcomes(&got), ["rejected"], "5001 is a new order's now");
}

async fn bad_records_are_rejected_one_by_one_and_bad_calls_name_their_field(env: Env) {
    let mut negative = legacy(2);
    negative.lines[0].total_minor = -1;
    let mut pending = legacy(3);
    pending.status = "pending".into();
    let mut keyless = legacy(4);
    keyless.legacy_key = String::new();
    let got = env
        .import(vec![legacy(1), negative, pending, keyless, legacy(5)])
        .await
        .unwrap();
    assert_eq!(
        outcomes(&got),
        ["created", "rejected", "rejected", "rejected", "created"]
    );
    assert!(got[1].reason.contains("negative"), "{}", got[1].reason);
    assert!(got[2].reason.contains("status"), "{}", got[2].reason);
    assert!(got[3].reason.contains("legacy_key"), "{}", got[3].reason);
    assert_eq!(
        env.progress().await.count,
        2,
        "the batch's good records are written"
    );

    let too_many: Vec<ImportedOrder> = (1..=1001).map(legacy).collect();
    let e = env.import(too_many).await.unwrap_err();
    assert_eq!(
        (e.code, e.fields[0].field.as_str()),
        (ErrorCode::ValidationFailed, "orders")
    );
    let mut magento = env.range("", "");
    magento.source = "magento".into();
    assert_eq!(
        env.checksums(magento, 4).await.unwrap_err().fields[0].field,
        "source"
    );
    let mut products = env.range("", "");
    products.entity = Entity::Product as i32;
    assert_eq!(
        env.records(products, 10).await.unwrap_err().fields[0].field,
        "entity"
    );
    let backwards = env.range(&numeric_key(9), &numeric_key(1));
    assert_eq!(
        env.checksums(backwards, 4).await.unwrap_err().fields[0].field,
        "to_key"
    );
    assert_eq!(
        env.checksums(env.range("", ""), 257).await.unwrap_err().fields[0].field,
        "segments"
    );
    assert_eq!(
        env.records(env.range("", ""), 1001).await.unwrap_err().fields[0].field,
        "limit"
    );
}

async fn checksums_and_records_are_built_from_what_is_stored(env: Env) {
    let sent: Vec<ImportedOrder> = (1..=20).map(legacy).collect();
    env.import(sent.clone()).await.unwrap();
    let sums: Vec<(String, u64)> = sent
        .iter()
        .map(|o| (o.legacy_key.clone(), o.checksum()))
        .collect();
    let range = env.range(&numeric_key(3), &numeric_key(18));
    let segments = env.checksums(range.clone(), 4).await.unwrap();
    assert_eq!(segments.len(), 4);
    assert_eq!(segments[0].from_key, numeric_key(3));
    assert_eq!(segments.last().unwrap().to_key, numeric_key(18));
    for s in &segments {
        assert_eq!(
            (s.count, s.checksum),
            sum_range(&sums, &s.from_key, &s.to_key),
            "{s:?}"
        );
    }
    assert_eq!(segments.iter().map(|s| s.count).sum::<u64>(), 15);
    let records = env.records(range.clone(), 5).await.unwrap();
    assert_eq!(records, sent[2..7], "in key order, at most the limit");
    let progress = env.progress().await;
    assert_eq!(
        (progress.count, progress.last_key.as_str()),
        (20, numeric_key(20).as_str())
    );
    assert_eq!(progress.last_modified_ms, sent[19].modified_at_ms);

    // The stored order changes behind the import's back: the checksums show it.
    let id = target_id(&env.store.to_string(), SOURCE, Entity::Order, &numeric_key(5)).to_string();
    env.orders_db
        .execute(
            "test",
            "UPDATE order_events SET data_json = REPLACE(data_json, 'buyer5@', 'seller5@') WHERE order_id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let after = env.checksums(range.clone(), 4).await.unwrap();
    let differing: Vec<usize> = (0..4).filter(|i| after[*i] != segments[*i]).collect();
    let holder = segments
        .iter()
        .position(|s| s.from_key <= numeric_key(5) && numeric_key(5) < s.to_key)
        .unwrap();
    assert_eq!(differing, [holder]);
    let stored = env
        .records(env.range(&numeric_key(5), &numeric_key(6)), 0)
        .await
        .unwrap();
    assert_eq!(stored[0].email, "seller5@example.com");
    assert_ne!(stored[0].checksum(), sent[4].checksum());
}

async fn another_store_sees_none_of_it(env: Env) {
    let sent: Vec<ImportedOrder> = (1..=4).map(legacy).collect();
    env.import(sent.clone()).await.unwrap();
    let other = Env {
        store: mercato_runtime::ids::StoreId::new(),
        orders: env.orders.clone(),
        orders_db: env.orders_db.clone(),
        inventory: env.inventory.clone(),
        payments: env.payments.clone(),
        payments_db: env.payments_db.clone(),
        inventory_db: env.inventory_db.clone(),
    };
    assert_eq!(other.progress().await.count, 0);
    assert!(other.records(other.range("", ""), 0).await.unwrap().is_empty());
    let segments = other.checksums(other.range("", ""), 8).await.unwrap();
    assert_eq!((segments.len(), segments[0].count), (1, 0));
    let mine = env.records(env.range("", ""), 0).await.unwrap();
    let got = other.import(sent).await.unwrap();
    assert_eq!(outcomes(&got), ["created"; 4], "its own orders, numbers and ids");
    assert!(env.get_order(&staff(), &got[0].target_id).await.is_err());
    assert_eq!(env.records(env.range("", ""), 0).await.unwrap(), mine);
}

async fn a_batch_of_a_thousand_orders_is_one_quick_call(env: Env) {
    let mut rates = Vec::new();
    for batch in 0..3u64 {
        let sent: Vec<ImportedOrder> = (1..=1000).map(|n| legacy(batch * 1000 + n)).collect();
        let started = std::time::Instant::now();
        let got = env.import(sent).await.unwrap();
        let took = started.elapsed();
        assert_eq!(outcomes(&got), ["created"; 1000]);
        rates.push(1000.0 / took.as_secs_f64());
    }
    let sent: Vec<ImportedOrder> = (1..=1000).map(legacy).collect();
    let started = std::time::Instant::now();
    let again = env.import(sent).await.unwrap();
    let unchanged_rate = 1000.0 / started.elapsed().as_secs_f64();
    assert_eq!(outcomes(&again), ["unchanged"; 1000]);
    let started = std::time::Instant::now();
    let segments = env.checksums(env.range("", ""), 16).await.unwrap();
    let checksum_rate = 3000.0 / started.elapsed().as_secs_f64();
    assert_eq!(segments.iter().map(|s| s.count).sum::<u64>(), 3000);
    eprintln!(
        "imports: {:?} orders/s created per 1,000-order batch, {unchanged_rate:.0}/s unchanged, {checksum_rate:.0}/s checksummed",
        rates.iter().map(|r| r.round()).collect::<Vec<_>>()
    );
    assert_eq!(env.progress().await.count, 3000);
}
