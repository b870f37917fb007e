//! Search synonyms: stored per store on both backends, applied at query time.

use crate::support::Catalog;
use mercato_proto::catalog::*;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::ids::StoreId;

mercato_runtime::backend_tests! {
    setup: Catalog::on,
    cases: [
        synonyms_are_stored_per_store_and_found_at_query_time,
        bad_synonyms_are_refused_and_change_nothing,
    ],
}

fn set(store: &StoreId, groups: &[&[&str]]) -> SetSynonymsRequest {
    SetSynonymsRequest {
        store_id: store.to_string(),
        groups: groups
            .iter()
            .map(|g| SynonymGroup {
                words: g.iter().map(|w| w.to_string()).collect(),
            })
            .collect(),
    }
}

async fn groups(c: &Catalog, store: &StoreId) -> Vec<Vec<String>> {
    let got = c
        .client
        .get_synonyms(GetSynonymsRequest {
            store_id: store.to_string(),
        })
        .await
        .unwrap();
    got.groups.into_iter().map(|g| g.words).collect()
}

async fn synonyms_are_stored_per_store_and_found_at_query_time(c: Catalog) {
    let (a, b) = (StoreId::new(), StoreId::new());
    for store in [&a, &b] {
        c.product(
            store,
            "runner",
            "Running Sneakers",
            "",
            &[(&format!("RUN-{}", &store.to_string()[..8]), 5000)],
        )
        .await;
        c.search_until(store, "sneakers", |r| r.total == 1).await;
    }
    assert_eq!(c.search(&a, "trainers").await.total, 0, "no synonyms yet");

    let stored = c
        .client
        .set_synonyms(set(&a, &[&["Sneakers", "trainers", "kicks"], &["sofa", "couch"]]))
        .await
        .unwrap();
    assert_eq!(stored.groups[0].words, ["sneakers", "trainers", "kicks"]);
    assert_eq!(
        groups(&c, &a).await,
        [vec!["sneakers", "trainers", "kicks"], vec!["sofa", "couch"]]
    );
    assert!(groups(&c, &b).await.is_empty(), "another store's are its own");
    assert_eq!(c.search(&a, "trainers").await.total, 1);
    assert_eq!(c.search(&a, "kick").await.total, 1, "stemmed like any word");
    assert_eq!(c.search(&b, "trainers").await.total, 0);

    c.client.set_synonyms(set(&a, &[])).await.unwrap();
    assert!(groups(&c, &a).await.is_empty());
    assert_eq!(
        c.search(&a, "trainers").await.total,
        0,
        "the writer drops its copy"
    );
}

async fn bad_synonyms_are_refused_and_change_nothing(c: Catalog) {
    let store = StoreId::new();
    c.client
        .set_synonyms(set(&store, &[&["sofa", "couch"]]))
        .await
        .unwrap();
    let e = c
        .client
        .set_synonyms(set(&store, &[&["ok", "fine"], &["two words", "one"]]))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::ValidationFailed);
    assert_eq!(e.fields[0].field, "groups[1].words[0]");
    assert_eq!(groups(&c, &store).await, [vec!["sofa", "couch"]]);
}
