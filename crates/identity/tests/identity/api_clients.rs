//! What an owner manages beside products: the store's staff list, its API clients (create,
//! list, revoke, rotate) and the revocation of a signed-in session's refresh tokens.

use crate::support::{Env, PASSWORD, code};
use mercato_proto::common::Role;
use mercato_proto::identity::identity_server::Identity;
use mercato_proto::identity::{
    ApiClient, CreateApiClientRequest, CreateStaffRequest, ListApiClientsRequest, ListStaffRequest,
    RegisterCustomerRequest, RevokeApiClientRequest, RevokeTokenRequest, RotateApiClientSecretRequest,
    SetUserDisabledRequest, TokenRequest,
};
use mercato_runtime::error::{ErrorCode, ServiceError};
use tonic::Request;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        the_staff_list_holds_owners_and_staff_oldest_first_with_disabled_ones_but_no_customers,
        a_created_client_gets_a_secret_that_works_once_shown_and_is_listed_without_it,
        a_client_name_is_validated_and_an_unknown_store_is_404,
        a_revoked_client_is_refused_and_revoking_it_again_changes_nothing,
        rotating_a_secret_refuses_the_old_one_at_once_and_a_revoked_client_cannot_rotate,
        another_stores_client_is_not_found,
        revoking_a_refresh_token_revokes_its_family_and_anything_else_is_accepted_silently,
    ],
}

const SHOP: &str = "tea-house";

fn client_credentials(client: &ApiClient, secret: &str) -> TokenRequest {
    TokenRequest {
        grant_type: "client_credentials".to_owned(),
        client_id: client.client_id.clone(),
        client_secret: secret.to_owned(),
        ..Default::default()
    }
}

async fn create(env: &Env, store_id: &str, name: &str) -> Result<ApiClient, ServiceError> {
    env.service
        .create_api_client(Request::new(CreateApiClientRequest {
            store_id: store_id.to_owned(),
            name: name.to_owned(),
        }))
        .await
        .map(tonic::Response::into_inner)
        .map_err(ServiceError::from)
}

async fn list(env: &Env, store_id: &str) -> Vec<ApiClient> {
    env.service
        .list_api_clients(Request::new(ListApiClientsRequest {
            store_id: store_id.to_owned(),
        }))
        .await
        .unwrap()
        .into_inner()
        .api_clients
}

async fn revoke(env: &Env, store_id: &str, client_id: &str) -> Result<ApiClient, ServiceError> {
    env.service
        .revoke_api_client(Request::new(RevokeApiClientRequest {
            store_id: store_id.to_owned(),
            client_id: client_id.to_owned(),
        }))
        .await
        .map(tonic::Response::into_inner)
        .map_err(ServiceError::from)
}

async fn rotate(env: &Env, store_id: &str, client_id: &str) -> Result<ApiClient, ServiceError> {
    env.service
        .rotate_api_client_secret(Request::new(RotateApiClientSecretRequest {
            store_id: store_id.to_owned(),
            client_id: client_id.to_owned(),
        }))
        .await
        .map(tonic::Response::into_inner)
        .map_err(ServiceError::from)
}

async fn the_staff_list_holds_owners_and_staff_oldest_first_with_disabled_ones_but_no_customers(env: Env) {
    let p = env.provision(SHOP).await;
    let (store_id, owner) = (p.store.unwrap().id, p.owner.unwrap());
    let mut staff = Vec::new();
    for email in ["bob@tea-house.example", "cy@tea-house.example"] {
        let user = env
            .service
            .create_staff(Request::new(CreateStaffRequest {
                store_id: store_id.clone(),
                email: email.to_owned(),
                password: PASSWORD.to_owned(),
            }))
            .await
            .unwrap()
            .into_inner();
        staff.push(user);
    }
    env.service
        .register_customer(Request::new(RegisterCustomerRequest {
            store_id: store_id.clone(),
            email: "ann@example.com".to_owned(),
            password: PASSWORD.to_owned(),
            ..Default::default()
        }))
        .await
        .unwrap();
    env.service
        .set_user_disabled(Request::new(SetUserDisabledRequest {
            store_id: store_id.clone(),
            user_id: staff[1].id.clone(),
            disabled: true,
            actor_user_id: owner.id.clone(),
            actor_role: owner.role,
        }))
        .await
        .unwrap();

    let listed = env
        .service
        .list_staff(Request::new(ListStaffRequest {
            store_id: store_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .users;
    let seen: Vec<(&str, Role, bool)> = listed
        .iter()
        .map(|u| (u.email.as_str(), u.role(), u.disabled_at_ms != 0))
        .collect();
    assert_eq!(
        seen,
        [
            ("owner@tea-house.example", Role::Owner, false),
            ("bob@tea-house.example", Role::Staff, false),
            ("cy@tea-house.example", Role::Staff, true),
        ]
    );

    let missing = uuid::Uuid::now_v7().to_string();
    let err = env
        .service
        .list_staff(Request::new(ListStaffRequest { store_id: missing }))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::NotFound);
}

async fn a_created_client_gets_a_secret_that_works_once_shown_and_is_listed_without_it(env: Env) {
    let p = env.provision(SHOP).await;
    let store_id = p.store.unwrap().id;
    // Newest first is by creation millisecond (ties by client id): the store's default client
    // and this one must not share one.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let created = create(&env, &store_id, "  Warehouse sync ").await.unwrap();
    assert_eq!(created.name, "Warehouse sync");
    assert_eq!(created.role(), Role::Staff);
    assert!(created.client_id.starts_with("mc_"), "{}", created.client_id);
    assert_eq!(created.client_secret.len(), 43, "256 bits, base64url");
    assert_eq!((created.revoked_at_ms, created.secret_rotated_at_ms), (0, 0));
    let token = env
        .token(client_credentials(&created, &created.client_secret))
        .await
        .unwrap();
    assert!(!token.access_token.is_empty());

    let listed = list(&env, &store_id).await;
    let names: Vec<&str> = listed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Warehouse sync", "Default"], "newest first");
    assert!(listed.iter().all(|c| c.client_secret.is_empty()));
    assert_eq!(listed[1].client_id, p.api_client.unwrap().client_id);
    let (stored,): (String,) = env
        .db
        .query_one(
            "SELECT secret_hash FROM api_clients WHERE client_id = $1",
            &[&created.client_id],
        )
        .await
        .unwrap();
    assert!(!stored.contains(&created.client_secret));
}

async fn a_client_name_is_validated_and_an_unknown_store_is_404(env: Env) {
    let store_id = env.provision(SHOP).await.store.unwrap().id;
    for bad in ["", "   ", "tab\there", &"x".repeat(101)] {
        let err = create(&env, &store_id, bad).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationFailed, "{bad:?}");
        assert_eq!(err.fields[0].field, "name");
    }
    for store in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".to_owned()] {
        let err = create(&env, &store, "Sync").await.unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound, "{store}");
    }
    assert_eq!(env.count("SELECT COUNT(*) FROM api_clients").await, 1);
}

async fn a_revoked_client_is_refused_and_revoking_it_again_changes_nothing(env: Env) {
    let p = env.provision(SHOP).await;
    let (store_id, client) = (p.store.unwrap().id, p.api_client.unwrap());
    let revoked = revoke(&env, &store_id, &client.client_id).await.unwrap();
    assert_ne!(revoked.revoked_at_ms, 0);
    assert!(revoked.client_secret.is_empty());
    let err = env
        .token(client_credentials(&client, &client.client_secret))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidClient);

    let again = revoke(&env, &store_id, &client.client_id).await.unwrap();
    assert_eq!(again.revoked_at_ms, revoked.revoked_at_ms);
    let listed = list(&env, &store_id).await;
    assert_eq!(listed[0].revoked_at_ms, revoked.revoked_at_ms);
}

async fn rotating_a_secret_refuses_the_old_one_at_once_and_a_revoked_client_cannot_rotate(env: Env) {
    let p = env.provision(SHOP).await;
    let (store_id, client) = (p.store.unwrap().id, p.api_client.unwrap());
    let rotated = rotate(&env, &store_id, &client.client_id).await.unwrap();
    assert_ne!(rotated.client_secret, client.client_secret);
    assert_ne!(rotated.secret_rotated_at_ms, 0);
    assert_eq!(rotated.client_id, client.client_id);
    let old = env
        .token(client_credentials(&client, &client.client_secret))
        .await
        .unwrap_err();
    assert_eq!(old.code, ErrorCode::InvalidClient);
    env.token(client_credentials(&client, &rotated.client_secret))
        .await
        .unwrap();

    revoke(&env, &store_id, &client.client_id).await.unwrap();
    let err = rotate(&env, &store_id, &client.client_id).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    let err = env
        .token(client_credentials(&client, &rotated.client_secret))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidClient);
}

async fn another_stores_client_is_not_found(env: Env) {
    let first = env.provision(SHOP).await.api_client.unwrap();
    let other = env.provision("coffee-house").await.store.unwrap().id;
    let err = revoke(&env, &other, &first.client_id).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    let err = rotate(&env, &other, &first.client_id).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    let err = rotate(&env, &other, "mc_unknown").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    env.token(client_credentials(&first, &first.client_secret))
        .await
        .unwrap();
}

async fn revoke_token(env: &Env, token: &str) -> Result<(), ServiceError> {
    env.service
        .revoke_token(Request::new(RevokeTokenRequest {
            token: token.to_owned(),
        }))
        .await
        .map(|_| ())
        .map_err(ServiceError::from)
}

async fn revoking_a_refresh_token_revokes_its_family_and_anything_else_is_accepted_silently(env: Env) {
    env.provision(SHOP).await;
    let owner = "owner@tea-house.example";
    let first = env.login(SHOP, owner, PASSWORD).await.unwrap();
    let second = env.refresh(&first.refresh_token).await.unwrap();
    let other_session = env.login(SHOP, owner, PASSWORD).await.unwrap();

    // Signing out with the token the client holds ends that session only.
    revoke_token(&env, &second.refresh_token).await.unwrap();
    let err = env.refresh(&second.refresh_token).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidGrant);
    env.refresh(&other_session.refresh_token).await.unwrap();

    // Revoking again, or revoking what is no refresh token, answers alike.
    for token in [second.refresh_token.as_str(), "nonsense", &second.access_token] {
        revoke_token(&env, token).await.unwrap();
    }
    let err = revoke_token(&env, "").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidRequest);
}
