//! Customers imported from a legacy shop (ADR 0016): upserts by legacy key with derived ids,
//! `unchanged` re-imports, per-record refusals, checksums and records rebuilt from what is
//! stored, progress and the `--follow` watermark, tenancy, and the first sign-in with a legacy password replacing its hash
//! with argon2id.

use crate::support::{Env, code};
use mercato_proto::common::Address;
use mercato_proto::identity::identity_server::Identity;
use mercato_proto::imports::*;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::imports::{Canonical, numeric_key, sum_range, target_id};
use mercato_runtime::legacy_passwords::{phpass_hash, wp_bcrypt_hash};
use mercato_runtime::testing::outbox_events;
use tonic::Request;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        imported_customers_are_created_then_unchanged_then_updated,
        checksums_and_records_are_rebuilt_from_what_is_stored,
        bad_records_are_rejected_alone_and_the_rest_is_written,
        a_legacy_password_signs_in_once_and_is_then_argon2id,
        another_store_sees_nothing_and_progress_counts_per_store,
        the_follow_watermark_is_the_earliest_start_of_a_pass_once_it_finishes,
    ],
}

const SOURCE: &str = "woocommerce";

fn customer(id: u64, email: &str) -> ImportedCustomer {
    ImportedCustomer {
        legacy_key: numeric_key(id),
        email: email.to_owned(),
        first_name: "Ada".to_owned(),
        last_name: format!("Lovelace {id}"),
        phone: "+44 20 7946 0000".to_owned(),
        password_hash: String::new(),
        created_at_ms: 1_600_000_000_000 + id as i64,
        modified_at_ms: 1_700_000_000_000 + id as i64,
        billing_address: Some(Address {
            name: "Ada Lovelace".to_owned(),
            line1: format!("{id} St James's Square"),
            city: "London".to_owned(),
            postal_code: "SW1Y 4JH".to_owned(),
            country: "GB".to_owned(),
            ..Address::default()
        }),
        shipping_address: None,
    }
}

async fn import(env: &Env, store_id: &str, customers: Vec<ImportedCustomer>) -> Vec<RecordOutcome> {
    let request = ImportCustomersRequest {
        store_id: store_id.to_owned(),
        source: SOURCE.to_owned(),
        customers,
    };
    Identity::import_customers(env.service.as_ref(), Request::new(request))
        .await
        .unwrap_or_else(|s| panic!("import failed: {s:?}"))
        .into_inner()
        .outcomes
}

fn outcomes(replies: &[RecordOutcome]) -> Vec<Outcome> {
    replies.iter().map(|r| r.outcome()).collect()
}

fn range(store_id: &str, from: &str, to: &str) -> KeyRange {
    KeyRange {
        store_id: store_id.to_owned(),
        source: SOURCE.to_owned(),
        entity: Entity::Customer as i32,
        from_key: from.to_owned(),
        to_key: to.to_owned(),
    }
}

async fn records(env: &Env, range: KeyRange, limit: u32) -> Vec<ImportedCustomer> {
    let request = RecordsRequest {
        range: Some(range),
        limit,
    };
    Identity::imported_records(env.service.as_ref(), Request::new(request))
        .await
        .unwrap()
        .into_inner()
        .customers
}

async fn segments(env: &Env, range: KeyRange, parts: u32) -> Vec<Segment> {
    let request = ChecksumsRequest {
        range: Some(range),
        segments: parts,
    };
    Identity::import_checksums(env.service.as_ref(), Request::new(request))
        .await
        .unwrap()
        .into_inner()
        .segments
}

async fn progress(env: &Env, store_id: &str) -> EntityProgress {
    let request = ImportProgressRequest {
        store_id: store_id.to_owned(),
        source: SOURCE.to_owned(),
    };
    let reply = Identity::get_import_progress(env.service.as_ref(), Request::new(request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.entities.len(), 1);
    reply.entities[0].clone()
}

async fn stored_hash(env: &Env, email: &str) -> String {
    let (hash,): (String,) = env
        .db
        .query_one("SELECT password_hash FROM users WHERE email = $1", &[&email])
        .await
        .unwrap();
    hash
}

async fn imported_customers_are_created_then_unchanged_then_updated(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap();
    let batch = vec![customer(1, "ada@example.com"), customer(2, "bob@example.com")];
    let first = import(&env, &store.id, batch.clone()).await;
    assert_eq!(outcomes(&first), [Outcome::Created, Outcome::Created]);
    let id = target_id(&store.id, SOURCE, Entity::Customer, &numeric_key(1));
    assert_eq!(first[0].target_id, id.to_string());
    let events_after_create = outbox_events(&env.db).await;

    let again = import(&env, &store.id, batch.clone()).await;
    assert_eq!(outcomes(&again), [Outcome::Unchanged, Outcome::Unchanged]);
    assert_eq!(
        outbox_events(&env.db).await.len(),
        events_after_create.len(),
        "no event for unchanged"
    );

    let mut renamed = batch[1].clone();
    renamed.first_name = "Robert".to_owned();
    renamed.shipping_address = renamed.billing_address.clone();
    let third = import(&env, &store.id, vec![batch[0].clone(), renamed.clone()]).await;
    assert_eq!(outcomes(&third), [Outcome::Unchanged, Outcome::Updated]);
    let stored = records(&env, range(&store.id, "", ""), 0).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].canonical(), renamed.canonical());
    assert_eq!(
        env.count("SELECT COUNT(*) FROM users WHERE role = 'customer'")
            .await,
        2
    );

    let subjects: Vec<String> = outbox_events(&env.db)
        .await
        .into_iter()
        .map(|e| e.subject)
        .collect();
    let changed = subjects
        .iter()
        .filter(|s| *s == "mercato.identity.account_changed")
        .count();
    assert_eq!(
        changed, 3,
        "two created and one updated customer announced: {subjects:?}"
    );
    assert_eq!(
        subjects
            .iter()
            .filter(|s| *s == "mercato.identity.account_created")
            .count(),
        1,
        "only the owner's account_created, no welcome mail for imports"
    );
}

async fn checksums_and_records_are_rebuilt_from_what_is_stored(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap();
    let sent: Vec<ImportedCustomer> = (1..=10)
        .map(|i| customer(i, &format!("c{i}@example.com")))
        .collect();
    import(&env, &store.id, sent.clone()).await;
    let sums: Vec<(String, u64)> = sent
        .iter()
        .map(|c| (c.legacy_key.clone(), c.checksum()))
        .collect();

    let parts = segments(&env, range(&store.id, "", ""), 3).await;
    assert_eq!(parts.len(), 3);
    for s in &parts {
        assert_eq!(
            (s.count, s.checksum),
            sum_range(&sums, &s.from_key, &s.to_key),
            "{s:?}"
        );
    }
    let middle = range(&store.id, &numeric_key(3), &numeric_key(6));
    let listed = records(&env, middle.clone(), 0).await;
    let keys: Vec<&str> = listed.iter().map(|c| c.legacy_key.as_str()).collect();
    assert_eq!(keys, [numeric_key(3), numeric_key(4), numeric_key(5)]);
    assert!(
        listed.iter().all(|c| c.password_hash.is_empty()),
        "no hash leaves the service"
    );
    assert_eq!(listed[0].checksum(), sent[2].checksum());
    assert_eq!(records(&env, range(&store.id, "", ""), 4).await.len(), 4);

    // A customer changed in the platform since (their own profile edit) shows up.
    env.db
        .execute(
            "test",
            "UPDATE users SET last_name = 'Byron' WHERE email = 'c4@example.com'",
            &[],
        )
        .await
        .unwrap();
    let after = segments(&env, middle.clone(), 1).await;
    assert_eq!(after[0].count, 3);
    assert_ne!(
        after[0].checksum,
        sum_range(&sums, &middle.from_key, &middle.to_key).1
    );
    let outside = range(&store.id, &numeric_key(5), "");
    assert_eq!(
        segments(&env, outside.clone(), 1).await[0].checksum,
        sum_range(&sums, &outside.from_key, "").1
    );
}

async fn bad_records_are_rejected_alone_and_the_rest_is_written(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap();
    let owner_email = "owner@tea-house.example";
    let mut costly = customer(4, "d@example.com");
    costly.password_hash = "$P$SIQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0".to_owned();
    let batch = vec![
        customer(1, owner_email),
        customer(2, "not an e-mail"),
        customer(3, "fine@example.com"),
        costly,
        customer(3, "twice@example.com"),
        customer(5, "fine@example.com"),
    ];
    let replies = import(&env, &store.id, batch).await;
    let expected = [
        Outcome::Rejected,
        Outcome::Rejected,
        Outcome::Created,
        Outcome::Rejected,
        Outcome::Rejected,
        Outcome::Rejected,
    ];
    assert_eq!(outcomes(&replies), expected, "{replies:?}");
    assert_eq!(replies[0].reason, "e-mail already has an account");
    assert!(replies[1].reason.starts_with("email"), "{}", replies[1].reason);
    assert!(
        replies[3].reason.contains("hashing work"),
        "{}",
        replies[3].reason
    );
    assert!(replies[4].reason.contains("twice"), "{}", replies[4].reason);
    assert_eq!(replies[5].reason, "e-mail already has an account");
    assert!(
        replies
            .iter()
            .filter(|r| r.outcome() == Outcome::Rejected)
            .all(|r| r.target_id.is_empty())
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM users WHERE legacy_key IS NOT NULL")
            .await,
        1
    );

    let too_many = ImportCustomersRequest {
        store_id: store.id.clone(),
        source: SOURCE.to_owned(),
        customers: vec![ImportedCustomer::default(); 1001],
    };
    let status = Identity::import_customers(env.service.as_ref(), Request::new(too_many))
        .await
        .unwrap_err();
    assert_eq!(code(status), ErrorCode::ValidationFailed);
    let wrong_source = ImportCustomersRequest {
        store_id: store.id,
        source: "magento".to_owned(),
        customers: vec![],
    };
    let status = Identity::import_customers(env.service.as_ref(), Request::new(wrong_source))
        .await
        .unwrap_err();
    assert_eq!(code(status), ErrorCode::ValidationFailed);
}

async fn a_legacy_password_signs_in_once_and_is_then_argon2id(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap();
    let mut phpass = customer(1, "old@example.com");
    phpass.password_hash = phpass_hash("w0rdpress", "saltsalt", 8).unwrap();
    let mut bcrypt = customer(2, "new@example.com");
    bcrypt.password_hash = wp_bcrypt_hash("six-point-eight", 4).unwrap();
    import(&env, &store.id, vec![phpass.clone(), bcrypt.clone()]).await;

    let wrong = env
        .login("tea-house", "old@example.com", "wordpress")
        .await
        .unwrap_err();
    assert_eq!(wrong.code, ErrorCode::InvalidGrant);
    assert_eq!(
        stored_hash(&env, "old@example.com").await,
        phpass.password_hash,
        "a failure upgrades nothing"
    );

    for (email, password) in [
        ("old@example.com", "w0rdpress"),
        ("new@example.com", "six-point-eight"),
    ] {
        let token = env.login("tea-house", email, password).await.unwrap();
        assert!(!token.access_token.is_empty());
        let hash = stored_hash(&env, email).await;
        assert!(hash.starts_with("$argon2id$"), "{email}: {hash}");
        env.login("tea-house", email, password)
            .await
            .expect("signs in again with argon2id");
        let again = env.login("tea-house", email, "not it").await.unwrap_err();
        assert_eq!(again.code, ErrorCode::InvalidGrant);
    }

    // A re-import (the source still has the old hash) keeps the upgraded one.
    let replies = import(&env, &store.id, vec![phpass.clone()]).await;
    assert_eq!(outcomes(&replies), [Outcome::Unchanged]);
    assert!(
        stored_hash(&env, "old@example.com")
            .await
            .starts_with("$argon2id$")
    );
    // A changed hash in the source, before any sign-in, is taken.
    let mut changed = bcrypt.clone();
    changed.legacy_key = numeric_key(3);
    changed.email = "third@example.com".to_owned();
    import(&env, &store.id, vec![changed.clone()]).await;
    changed.password_hash = phpass_hash("another", "saltsal2", 8).unwrap();
    assert_eq!(
        outcomes(&import(&env, &store.id, vec![changed.clone()]).await),
        [Outcome::Updated]
    );
    env.login("tea-house", "third@example.com", "another")
        .await
        .expect("the new hash is used");
}

async fn another_store_sees_nothing_and_progress_counts_per_store(env: Env) {
    let tea = env.provision("tea-house").await.store.unwrap();
    let coffee = env.provision("coffee-house").await.store.unwrap();
    import(
        &env,
        &tea.id,
        (1..=3)
            .map(|i| customer(i, &format!("c{i}@example.com")))
            .collect(),
    )
    .await;
    // The same e-mail and key in another store is another customer.
    let replies = import(&env, &coffee.id, vec![customer(1, "c1@example.com")]).await;
    assert_eq!(outcomes(&replies), [Outcome::Created]);
    assert_ne!(
        replies[0].target_id,
        target_id(&tea.id, SOURCE, Entity::Customer, &numeric_key(1)).to_string()
    );

    let tea_progress = progress(&env, &tea.id).await;
    assert_eq!(
        (tea_progress.count, tea_progress.last_key.as_str()),
        (3, numeric_key(3).as_str())
    );
    assert_eq!(tea_progress.last_modified_ms, 1_700_000_000_003);
    assert_eq!(progress(&env, &coffee.id).await.count, 1);
    assert_eq!(records(&env, range(&coffee.id, "", ""), 0).await.len(), 1);
    let shopify = ImportProgressRequest {
        store_id: tea.id.clone(),
        source: "shopify".to_owned(),
    };
    let none = Identity::get_import_progress(env.service.as_ref(), Request::new(shopify))
        .await
        .unwrap();
    assert_eq!(none.into_inner().entities[0].count, 0);

    // A newer source time on an unchanged record still moves the progress on.
    let mut touched = customer(3, "c3@example.com");
    touched.modified_at_ms += 1000;
    assert_eq!(
        outcomes(&import(&env, &tea.id, vec![touched]).await),
        [Outcome::Unchanged]
    );
    assert_eq!(progress(&env, &tea.id).await.last_modified_ms, 1_700_000_001_003);

    let products = KeyRange {
        entity: Entity::Product as i32,
        ..range(&tea.id, "", "")
    };
    let request = RecordsRequest {
        range: Some(products),
        limit: 1,
    };
    let status = Identity::imported_records(env.service.as_ref(), Request::new(request))
        .await
        .unwrap_err();
    assert_eq!(code(status), ErrorCode::ValidationFailed);
}

async fn pass(
    env: &Env,
    store_id: &str,
    event: PassEvent,
    clock: i64,
) -> Result<ImportWatermark, tonic::Status> {
    let pass = ImportPass {
        store_id: store_id.to_owned(),
        source: SOURCE.to_owned(),
        event: event as i32,
        source_clock_ms: clock,
    };
    let reply = Identity::record_import_pass(env.service.as_ref(), Request::new(pass)).await;
    reply.map(tonic::Response::into_inner)
}

fn marks(w: &ImportWatermark) -> (i64, i64) {
    (w.watermark_ms, w.pass_began_ms)
}

async fn the_follow_watermark_is_the_earliest_start_of_a_pass_once_it_finishes(env: Env) {
    let tea = env.provision("tea-house").await.store.unwrap();
    let coffee = env.provision("coffee-house").await.store.unwrap();
    let began = |clock| pass(&env, &tea.id, PassEvent::Began, clock);
    let finished = |clock| pass(&env, &tea.id, PassEvent::Finished, clock);
    assert_eq!(marks(&began(5_000).await.unwrap()), (0, 5_000));
    // Killed and begun again: the first start holds, and the finish moves the mark to it.
    assert_eq!(marks(&began(9_000).await.unwrap()), (0, 5_000));
    assert_eq!(marks(&finished(5_000).await.unwrap()), (5_000, 0));
    // A finish said twice changes nothing; a pass that began before the mark never moves it
    // back.
    assert_eq!(marks(&finished(5_000).await.unwrap()), (5_000, 0));
    began(3_000).await.unwrap();
    assert_eq!(marks(&finished(3_000).await.unwrap()), (5_000, 0));
    // A late finish of a pass begun at 8 s while another, begun at 20 s, runs: the mark goes
    // no further than 8 s, and the other's start stays pending.
    began(20_000).await.unwrap();
    assert_eq!(marks(&finished(8_000).await.unwrap()), (8_000, 20_000));
    let request = ImportProgressRequest {
        store_id: tea.id.clone(),
        source: SOURCE.to_owned(),
    };
    let progress = Identity::get_import_progress(env.service.as_ref(), Request::new(request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((progress.watermark_ms, progress.pass_began_ms), (8_000, 20_000));

    // Per store; an event without a clock, or left unsaid, is refused.
    let other = pass(&env, &coffee.id, PassEvent::Began, 1_000).await.unwrap();
    assert_eq!(marks(&other), (0, 1_000));
    for (event, clock) in [
        (PassEvent::Began, 0),
        (PassEvent::Finished, 0),
        (PassEvent::Unspecified, 1),
    ] {
        let refused = pass(&env, &tea.id, event, clock).await.unwrap_err();
        assert_eq!(code(refused), ErrorCode::ValidationFailed, "{event:?}");
    }
}
