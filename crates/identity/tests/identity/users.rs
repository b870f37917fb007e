//! Customers and staff: registration rules, duplicates, unknown stores, stored hashes.

use crate::support::{Env, PASSWORD, code};
use mercato_proto::common::Role;
use mercato_proto::identity::identity_server::Identity;
use mercato_proto::identity::{CreateStaffRequest, RegisterCustomerRequest};
use mercato_runtime::error::{ErrorCode, ServiceError};
use tonic::Request;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        customers_register_and_a_duplicate_email_is_409_email_taken,
        registering_in_an_unknown_store_is_404,
        registration_reports_a_bad_email_and_a_short_password_together,
        staff_accounts_get_the_staff_role_and_can_log_in,
        passwords_are_stored_as_argon2id_with_19_mib_two_passes_and_one_lane,
    ],
}

fn customer(store_id: &str, email: &str) -> Request<RegisterCustomerRequest> {
    Request::new(RegisterCustomerRequest {
        store_id: store_id.to_owned(),
        email: email.to_owned(),
        password: PASSWORD.to_owned(),
        ..Default::default()
    })
}

async fn customers_register_and_a_duplicate_email_is_409_email_taken(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap();
    let user = env
        .service
        .register_customer(customer(&store.id, " Ann@Example.com"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(user.role(), Role::Customer);
    assert_eq!(user.email, "ann@example.com");
    assert_eq!(user.store_id, store.id);

    let again = env
        .service
        .register_customer(customer(&store.id, "ANN@example.com"))
        .await
        .unwrap_err();
    assert_eq!(code(again), ErrorCode::EmailTaken);
    assert_eq!(env.count("SELECT COUNT(*) FROM users").await, 2);

    // Emails are unique per store, not across stores.
    let other = env.provision("coffee-house").await.store.unwrap();
    env.service
        .register_customer(customer(&other.id, "ann@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
}

async fn registering_in_an_unknown_store_is_404(env: Env) {
    let missing = uuid::Uuid::now_v7().to_string();
    let err = env
        .service
        .register_customer(customer(&missing, "ann@example.com"))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::NotFound);
}

async fn registration_reports_a_bad_email_and_a_short_password_together(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap();
    let err = env
        .service
        .register_customer(Request::new(RegisterCustomerRequest {
            store_id: store.id,
            email: "ann@".to_owned(),
            password: "1234567".to_owned(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    let err = ServiceError::from(err);
    assert_eq!(err.code, ErrorCode::ValidationFailed);
    let fields: Vec<&str> = err.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["email", "password"]);
}

async fn staff_accounts_get_the_staff_role_and_can_log_in(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap();
    let staff = env
        .service
        .create_staff(Request::new(CreateStaffRequest {
            store_id: store.id.clone(),
            email: "bob@tea-house.example".to_owned(),
            password: PASSWORD.to_owned(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(staff.role(), Role::Staff);
    let token = env
        .login("tea-house", "bob@tea-house.example", PASSWORD)
        .await
        .unwrap();
    let claims = env
        .verifier(&crate::support::auth().audience)
        .await
        .verify(&token.access_token)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(claims.role, mercato_runtime::auth::Role::Staff);
    assert_eq!(claims.sub, staff.id);
}

async fn passwords_are_stored_as_argon2id_with_19_mib_two_passes_and_one_lane(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap();
    env.service
        .register_customer(customer(&store.id, "ann@example.com"))
        .await
        .unwrap();
    let hashes: Vec<(String,)> = env
        .db
        .query_all("SELECT password_hash FROM users", &[])
        .await
        .unwrap();
    assert_eq!(hashes.len(), 2);
    for (hash,) in hashes {
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(hash.contains("m=19456,t=2,p=1"), "{hash}");
        assert!(!hash.contains(PASSWORD));
    }
}
