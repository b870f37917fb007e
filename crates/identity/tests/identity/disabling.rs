//! Disabled accounts: who may disable whom, and what a disabled user can no longer do — sign
//! in (`account_disabled` only after the right password) or refresh — until enabled again.

use crate::support::{Env, PASSWORD};
use mercato_proto::common::Role;
use mercato_proto::identity::identity_server::Identity;
use mercato_proto::identity::{CreateStaffRequest, RegisterCustomerRequest, SetUserDisabledRequest, User};
use mercato_runtime::error::{ErrorCode, ServiceError};
use tonic::Request;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        a_disabled_user_is_told_so_only_after_the_right_password_and_signs_in_again_once_enabled,
        disabling_revokes_the_users_refresh_tokens,
        a_refresh_token_of_a_user_disabled_behind_its_back_is_refused_and_its_family_revoked,
        the_owner_disables_staff_and_staff_disable_customers_but_not_staff,
        nobody_disables_themselves_and_staff_not_the_owner,
        an_unknown_user_or_another_stores_user_is_404,
    ],
}

const SHOP: &str = "tea-house";
const OWNER: &str = "owner@tea-house.example";

/// A store with its owner, a staff member and a customer.
struct Shop {
    store_id: String,
    owner: User,
    staff: User,
    customer: User,
}

async fn shop(env: &Env) -> Shop {
    let p = env.provision(SHOP).await;
    let store_id = p.store.unwrap().id;
    let staff = env
        .service
        .create_staff(Request::new(CreateStaffRequest {
            store_id: store_id.clone(),
            email: "bob@tea-house.example".to_owned(),
            password: PASSWORD.to_owned(),
        }))
        .await
        .unwrap()
        .into_inner();
    let customer = env
        .service
        .register_customer(Request::new(RegisterCustomerRequest {
            store_id: store_id.clone(),
            email: "ann@example.com".to_owned(),
            password: PASSWORD.to_owned(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    Shop {
        store_id,
        owner: p.owner.unwrap(),
        staff,
        customer,
    }
}

/// `actor` sets `target`'s account to `disabled`.
async fn set(
    env: &Env,
    store_id: &str,
    actor: &User,
    target: &str,
    disabled: bool,
) -> Result<User, ServiceError> {
    env.service
        .set_user_disabled(Request::new(SetUserDisabledRequest {
            store_id: store_id.to_owned(),
            user_id: target.to_owned(),
            disabled,
            actor_user_id: actor.id.clone(),
            actor_role: actor.role,
        }))
        .await
        .map(tonic::Response::into_inner)
        .map_err(ServiceError::from)
}

async fn a_disabled_user_is_told_so_only_after_the_right_password_and_signs_in_again_once_enabled(env: Env) {
    let s = shop(&env).await;
    let disabled = set(&env, &s.store_id, &s.owner, &s.customer.id, true)
        .await
        .unwrap();
    assert!(disabled.disabled_at_ms > 0);

    let right = env.login(SHOP, "ann@example.com", PASSWORD).await.unwrap_err();
    assert_eq!(right.code, ErrorCode::AccountDisabled);
    assert_eq!(right.message, "the account is disabled");
    let wrong = env
        .login(SHOP, "ann@example.com", "not the password")
        .await
        .unwrap_err();
    assert_eq!(
        (wrong.code, wrong.message.as_str()),
        (ErrorCode::InvalidGrant, "invalid username or password"),
        "a wrong password learns nothing of the account's state"
    );

    let enabled = set(&env, &s.store_id, &s.owner, &s.customer.id, false)
        .await
        .unwrap();
    assert_eq!(enabled.disabled_at_ms, 0);
    env.login(SHOP, "ann@example.com", PASSWORD)
        .await
        .unwrap_or_else(|e| panic!("enabled again: {e:?}"));
}

async fn disabling_revokes_the_users_refresh_tokens(env: Env) {
    let s = shop(&env).await;
    let staff_tokens = env.login(SHOP, "bob@tea-house.example", PASSWORD).await.unwrap();
    let owner_tokens = env.login(SHOP, OWNER, PASSWORD).await.unwrap();
    set(&env, &s.store_id, &s.owner, &s.staff.id, true).await.unwrap();

    let refused = env.refresh(&staff_tokens.refresh_token).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidGrant);
    let revoked = env
        .count("SELECT COUNT(*) FROM refresh_tokens WHERE revoked_at IS NOT NULL")
        .await;
    assert_eq!(revoked, 1, "only the staff member's token");
    env.refresh(&owner_tokens.refresh_token)
        .await
        .unwrap_or_else(|e| panic!("the owner's tokens still work: {e:?}"));

    // Enabled again, the old token stays revoked: the user signs in anew.
    set(&env, &s.store_id, &s.owner, &s.staff.id, false)
        .await
        .unwrap();
    assert!(env.refresh(&staff_tokens.refresh_token).await.is_err());
    env.login(SHOP, "bob@tea-house.example", PASSWORD).await.unwrap();
}

async fn a_refresh_token_of_a_user_disabled_behind_its_back_is_refused_and_its_family_revoked(env: Env) {
    shop(&env).await;
    let tokens = env.login(SHOP, "ann@example.com", PASSWORD).await.unwrap();
    // As if a refresh racing the disabling had rotated a token in after the revocation.
    env.db
        .execute(
            "disable_behind_its_back",
            "UPDATE users SET disabled_at = 1 WHERE email = $1",
            &[&"ann@example.com"],
        )
        .await
        .unwrap();
    let refused = env.refresh(&tokens.refresh_token).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidGrant);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM refresh_tokens WHERE revoked_at IS NULL")
            .await,
        0,
        "the family is revoked"
    );
}

async fn the_owner_disables_staff_and_staff_disable_customers_but_not_staff(env: Env) {
    let s = shop(&env).await;
    let customer = set(&env, &s.store_id, &s.staff, &s.customer.id, true)
        .await
        .unwrap();
    assert_eq!(customer.role(), Role::Customer);
    assert!(customer.disabled_at_ms > 0);
    // Disabling twice keeps the first time.
    let again = set(&env, &s.store_id, &s.owner, &s.customer.id, true)
        .await
        .unwrap();
    assert_eq!(again.disabled_at_ms, customer.disabled_at_ms);

    let other_staff = env
        .service
        .create_staff(Request::new(CreateStaffRequest {
            store_id: s.store_id.clone(),
            email: "carl@tea-house.example".to_owned(),
            password: PASSWORD.to_owned(),
        }))
        .await
        .unwrap()
        .into_inner();
    let refused = set(&env, &s.store_id, &s.staff, &other_staff.id, true)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    let staff = set(&env, &s.store_id, &s.owner, &other_staff.id, true)
        .await
        .unwrap();
    assert!(staff.disabled_at_ms > 0);
    let refused = set(&env, &s.store_id, &s.customer, &s.staff.id, true)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden, "a customer changes nobody");
}

async fn nobody_disables_themselves_and_staff_not_the_owner(env: Env) {
    let s = shop(&env).await;
    for (actor, disabled) in [(&s.owner, true), (&s.staff, true), (&s.staff, false)] {
        let e = set(&env, &s.store_id, actor, &actor.id, disabled)
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::CannotDisableSelf, "{}", actor.email);
        assert_eq!(e.code.http_status(), 409);
    }
    // Staff may not touch the owner, and learn nothing of how many owners there are; the last
    // owner rule itself (reached by two owners disabling each other) is the store's test.
    let e = set(&env, &s.store_id, &s.staff, &s.owner.id, true)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM users WHERE disabled_at IS NOT NULL")
            .await,
        0,
        "nothing changed"
    );
    env.login(SHOP, OWNER, PASSWORD).await.unwrap();
}

async fn an_unknown_user_or_another_stores_user_is_404(env: Env) {
    let s = shop(&env).await;
    for unknown in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".to_owned()] {
        let e = set(&env, &s.store_id, &s.owner, &unknown, true)
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound, "{unknown}");
    }
    let other = env.provision("coffee-house").await.owner.unwrap();
    let e = set(&env, &s.store_id, &s.owner, &other.id, true)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
}
