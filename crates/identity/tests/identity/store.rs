//! The `IdentityStore` conformance suite: the guarantees the service builds on, checked on the
//! SQL implementation directly, on every backend.

use crate::support::kek;
use mercato_identity::store::migrations::MIGRATIONS;
use mercato_identity::store::sql::SqlIdentityStore;
use mercato_identity::store::{
    ApiClientRecord, IdentityStore, Provisioning, RefreshTokenRecord, Refusal, Rotation, StoreError,
    StoreRecord, UserRecord,
};
use mercato_proto::events::StoreProvisioned;
use mercato_runtime::auth::Role;
use mercato_runtime::ids::{StoreId, UserId};
use mercato_runtime::testing::Backend;

mercato_runtime::backend_tests! {
    setup: sql_store,
    cases: [
        a_second_store_with_a_taken_slug_is_refused_by_the_unique_index_and_rolled_back,
        a_failure_after_the_store_row_rolls_back_the_store_and_its_owner,
        a_duplicate_email_is_email_taken_and_an_unknown_store_is_unknown_store,
        a_refresh_token_rotates_once_and_a_second_rotation_revokes_its_family,
        a_signing_key_generation_is_inserted_once,
        disabling_a_user_revokes_its_refresh_tokens_and_enabling_keeps_them_revoked,
        the_last_enabled_owner_is_refused_and_changes_nothing,
        two_owners_disabling_each_other_at_once_leave_one_enabled,
    ],
}

/// The SQL store on a fresh, migrated database of `backend`.
async fn sql_store(backend: Backend) -> SqlIdentityStore {
    let db = backend.database().await;
    db.migrate("identity", MIGRATIONS).await.unwrap();
    SqlIdentityStore::new(db)
}

fn provisioning(slug: &str) -> Provisioning {
    let id = StoreId::new();
    let event = mercato_runtime::outbox::envelope(
        &id.to_string(),
        "mercato.identity.store_provisioned",
        1,
        &StoreProvisioned::default(),
    );
    Provisioning {
        store: StoreRecord {
            id,
            slug: slug.to_owned(),
            name: slug.to_owned(),
            currency: "EUR".to_owned(),
            created_at: 1,
            time_zone: "UTC".to_owned(),
        },
        owner: UserRecord {
            id: UserId::new(),
            store_id: id,
            email: format!("owner@{slug}.example"),
            role: Role::Owner,
            password_hash: "$argon2id$…".to_owned(),
            created_at: 1,
            disabled_at: None,
        },
        api_client: ApiClientRecord {
            client_id: format!("mc_{}", uuid::Uuid::now_v7().simple()),
            store_id: id,
            name: "Default".to_owned(),
            secret_hash: "00".repeat(32),
            role: Role::Staff,
            created_at: 1,
            secret_rotated_at: None,
            revoked_at: None,
        },
        event,
    }
}

fn token(store_id: StoreId, family_id: &str, hash: &str) -> RefreshTokenRecord {
    RefreshTokenRecord {
        id: uuid::Uuid::now_v7().to_string(),
        family_id: family_id.to_owned(),
        store_id,
        subject: "user".to_owned(),
        role: Role::Customer,
        token_hash: hash.to_owned(),
        expires_at: i64::MAX,
        used_at: None,
        revoked_at: None,
        created_at: 1,
    }
}

async fn a_second_store_with_a_taken_slug_is_refused_by_the_unique_index_and_rolled_back(
    store: SqlIdentityStore,
) {
    store.provision(&provisioning("tea-house")).await.unwrap();
    let second = provisioning("tea-house");
    let err = store.provision(&second).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(Refusal::SlugTaken)), "{err:?}");
    // Nothing of the loser remains: not its client, not its owner.
    assert!(
        store
            .api_client(&second.api_client.client_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.store_by_id(second.store.id).await.unwrap().is_none());
}

async fn a_failure_after_the_store_row_rolls_back_the_store_and_its_owner(store: SqlIdentityStore) {
    let first = provisioning("tea-house");
    store.provision(&first).await.unwrap();
    // The client id collides, so the third insert of the transaction fails.
    let mut second = provisioning("coffee-house");
    second.api_client.client_id = first.api_client.client_id.clone();
    let err = store.provision(&second).await.unwrap_err();
    assert!(matches!(err, StoreError::Db(_)), "{err:?}");
    assert!(store.store_by_slug("coffee-house").await.unwrap().is_none());
    let owner = store.user_by_email(second.store.id, &second.owner.email).await;
    assert!(owner.unwrap().is_none());
}

async fn a_duplicate_email_is_email_taken_and_an_unknown_store_is_unknown_store(store: SqlIdentityStore) {
    let p = provisioning("tea-house");
    store.provision(&p).await.unwrap();
    let mut dup = p.owner.clone();
    dup.id = UserId::new();
    let err = store.create_user(p.store.id, &dup).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(Refusal::EmailTaken)), "{err:?}");

    let nowhere = StoreId::new();
    dup.store_id = nowhere;
    let err = store.create_user(nowhere, &dup).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Refused(Refusal::UnknownStore)),
        "{err:?}"
    );
}

async fn a_refresh_token_rotates_once_and_a_second_rotation_revokes_its_family(store: SqlIdentityStore) {
    let p = provisioning("tea-house");
    store.provision(&p).await.unwrap();
    let sid = p.store.id;
    store
        .insert_refresh_token(sid, &token(sid, "f1", "h1"))
        .await
        .unwrap();
    store
        .insert_refresh_token(sid, &token(sid, "f2", "other"))
        .await
        .unwrap();

    let first = store
        .rotate_refresh_token(sid, "h1", &token(sid, "f1", "h2"), 5)
        .await;
    assert_eq!(first.unwrap(), Rotation::Rotated);
    let used = store.refresh_token_by_hash("h1").await.unwrap().unwrap();
    assert_eq!(used.used_at, Some(5));

    let again = store
        .rotate_refresh_token(sid, "h1", &token(sid, "f1", "h3"), 6)
        .await;
    assert_eq!(again.unwrap(), Rotation::FamilyRevoked);
    for hash in ["h1", "h2"] {
        let t = store.refresh_token_by_hash(hash).await.unwrap().unwrap();
        assert_eq!(t.revoked_at, Some(6), "{hash}");
    }
    assert!(store.refresh_token_by_hash("h3").await.unwrap().is_none());
    let other = store.refresh_token_by_hash("other").await.unwrap().unwrap();
    assert_eq!(other.revoked_at, None, "another family is untouched");
}

async fn a_signing_key_generation_is_inserted_once(store: SqlIdentityStore) {
    let first = mercato_identity::keys::generate(1, 1, &kek()).unwrap();
    let rival = mercato_identity::keys::generate(1, 2, &kek()).unwrap();
    assert!(store.insert_signing_key(&first).await.unwrap());
    assert!(!store.insert_signing_key(&rival).await.unwrap());
    let newest = store.newest_signing_key().await.unwrap().unwrap();
    assert_eq!(newest, first);

    let next = mercato_identity::keys::generate(2, 3, &kek()).unwrap();
    assert!(store.insert_signing_key(&next).await.unwrap());
    assert_eq!(store.newest_signing_key().await.unwrap().unwrap(), next);
    let kids: Vec<String> = store
        .public_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, [next.kid, first.kid]);
}

/// A user of `p`'s store with `role`, stored.
async fn add_user(store: &SqlIdentityStore, p: &Provisioning, role: Role) -> UserRecord {
    let user = UserRecord {
        id: UserId::new(),
        email: format!("{}-{}@example.com", role.as_str(), uuid::Uuid::now_v7().simple()),
        role,
        ..p.owner.clone()
    };
    store.create_user(p.store.id, &user).await.unwrap();
    user
}

async fn disabling_a_user_revokes_its_refresh_tokens_and_enabling_keeps_them_revoked(
    store: SqlIdentityStore,
) {
    let p = provisioning("tea-house");
    store.provision(&p).await.unwrap();
    let sid = p.store.id;
    let staff = add_user(&store, &p, Role::Staff).await;
    let mut own = token(sid, "f1", "h1");
    own.subject = staff.id.to_string();
    let mut also_own = token(sid, "f2", "h2");
    also_own.subject = staff.id.to_string();
    for t in [&own, &also_own, &token(sid, "f3", "someone-else")] {
        store.insert_refresh_token(sid, t).await.unwrap();
    }

    let disabled = store.set_user_disabled(sid, staff.id, Some(7)).await.unwrap();
    assert_eq!(disabled.unwrap().disabled_at, Some(7));
    for hash in ["h1", "h2"] {
        let t = store.refresh_token_by_hash(hash).await.unwrap().unwrap();
        assert_eq!(t.revoked_at, Some(7), "{hash}");
    }
    let other = store
        .refresh_token_by_hash("someone-else")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.revoked_at, None, "another user's tokens are untouched");
    let stored = store.user_by_id(sid, staff.id).await.unwrap().unwrap();
    assert_eq!(stored.disabled_at, Some(7));

    // Disabling again keeps the first time; another store's id finds no user.
    let again = store.set_user_disabled(sid, staff.id, Some(9)).await.unwrap();
    assert_eq!(again.unwrap().disabled_at, Some(7));
    let elsewhere = store.set_user_disabled(StoreId::new(), staff.id, Some(9)).await;
    assert_eq!(elsewhere.unwrap(), None);

    let enabled = store.set_user_disabled(sid, staff.id, None).await.unwrap();
    assert_eq!(enabled.unwrap().disabled_at, None);
    assert_eq!(
        store
            .user_by_email(sid, &staff.email)
            .await
            .unwrap()
            .unwrap()
            .disabled_at,
        None
    );
    let t = store.refresh_token_by_hash("h1").await.unwrap().unwrap();
    assert_eq!(
        t.revoked_at,
        Some(7),
        "enabling does not bring revoked tokens back"
    );
}

async fn the_last_enabled_owner_is_refused_and_changes_nothing(store: SqlIdentityStore) {
    let p = provisioning("tea-house");
    store.provision(&p).await.unwrap();
    let sid = p.store.id;
    assert_eq!(store.enabled_owners(sid).await.unwrap(), 1);
    let err = store
        .set_user_disabled(sid, p.owner.id, Some(5))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Refused(Refusal::LastOwner)), "{err:?}");
    let owner = store.user_by_id(sid, p.owner.id).await.unwrap().unwrap();
    assert_eq!(owner.disabled_at, None);

    // With a second owner, one of them can go; then the other is the last.
    let second = add_user(&store, &p, Role::Owner).await;
    assert_eq!(store.enabled_owners(sid).await.unwrap(), 2);
    let gone = store.set_user_disabled(sid, p.owner.id, Some(5)).await.unwrap();
    assert_eq!(gone.unwrap().disabled_at, Some(5));
    assert_eq!(store.enabled_owners(sid).await.unwrap(), 1);
    let err = store
        .set_user_disabled(sid, second.id, Some(6))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Refused(Refusal::LastOwner)), "{err:?}");
}

async fn two_owners_disabling_each_other_at_once_leave_one_enabled(store: SqlIdentityStore) {
    for round in 0..5 {
        let p = provisioning(&format!("tea-house-{round}"));
        store.provision(&p).await.unwrap();
        let sid = p.store.id;
        let second = add_user(&store, &p, Role::Owner).await;
        let (a, b) = tokio::join!(
            store.set_user_disabled(sid, p.owner.id, Some(5)),
            store.set_user_disabled(sid, second.id, Some(5)),
        );
        let won = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "round {round}: {a:?} {b:?}");
        for lost in [a, b].into_iter().filter_map(Result::err) {
            assert!(
                matches!(lost, StoreError::Refused(Refusal::LastOwner)),
                "{lost:?}"
            );
        }
        assert_eq!(store.enabled_owners(sid).await.unwrap(), 1, "round {round}");
    }
}
