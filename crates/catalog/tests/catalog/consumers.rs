//! The `store_provisioned` consumer: an exactly-once effect from at-least-once delivery.

use crate::support::{Catalog, create};
use mercato_proto::events::StoreProvisioned;
use mercato_runtime::ids::StoreId;
use prost::Message;

mercato_runtime::backend_tests! {
    setup: Catalog::on,
    cases: [
        a_store_provisioned_event_delivered_twice_takes_effect_once,
    ],
}

async fn a_store_provisioned_event_delivered_twice_takes_effect_once(c: Catalog) {
    let store = StoreId::new();
    let provisioned = |currency: &str| {
        let event = StoreProvisioned {
            time_zone: "UTC".to_owned(),
            store_id: store.to_string(),
            slug: "shop".into(),
            name: "Shop".into(),
            currency: currency.into(),
        };
        mercato_runtime::outbox::envelope(
            &store.to_string(),
            "mercato.identity.store_provisioned",
            1,
            &event,
        )
    };
    let (first, correction) = (provisioned("EUR"), provisioned("SEK"));
    for event in [&first, &correction, &first] {
        // The in-process bus returns once the group has processed (and acknowledged) it.
        c.bus
            .publish(&event.subject, &event.id, event.encode_to_vec().into())
            .await
            .unwrap();
    }
    // Had the redelivered first event been applied again, the store would be back to EUR.
    let mut req = create(&store, "herring", "Herring", "", &[("H-1", 2_000)]);
    req.variants[0].currency = String::new();
    let p = c.client.create_product(req).await.unwrap();
    assert_eq!(p.variants[0].price.as_ref().unwrap().currency, "SEK");
    assert_eq!(c.count("SELECT COUNT(*) FROM catalog_stores").await, 1);
    assert_eq!(c.count("SELECT COUNT(*) FROM processed_events").await, 2);
}
