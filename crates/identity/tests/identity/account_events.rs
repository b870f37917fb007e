//! The account events notifications learn who mail goes to from: `account_created` for every
//! new account (a customer's names included) and `account_changed` when one is disabled or
//! enabled, each in the change's transaction, never with password material.

use crate::support::{Env, PASSWORD};
use mercato_proto::common::Role;
use mercato_proto::events::{AccountChanged, EventEnvelope};
use mercato_proto::identity::identity_server::Identity;
use mercato_proto::identity::{CreateStaffRequest, RegisterCustomerRequest, SetUserDisabledRequest};
use mercato_proto::subjects::identity::{ACCOUNT_CHANGED, ACCOUNT_CREATED};
use mercato_runtime::testing::outbox_events;
use prost::Message;
use tonic::Request;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [every_account_is_announced_when_made_and_when_disabled_or_enabled],
}

fn accounts(events: &[EventEnvelope], subject: &str) -> Vec<AccountChanged> {
    events
        .iter()
        .filter(|e| e.subject == subject)
        .map(|e| AccountChanged::decode(e.payload.as_slice()).expect("an AccountChanged"))
        .collect()
}

async fn every_account_is_announced_when_made_and_when_disabled_or_enabled(env: Env) {
    let p = env.provision("tea-house").await;
    let store_id = p.store.unwrap().id;
    let owner = p.owner.unwrap();
    env.service
        .create_staff(Request::new(CreateStaffRequest {
            store_id: store_id.clone(),
            email: "bob@tea-house.example".to_owned(),
            password: PASSWORD.to_owned(),
        }))
        .await
        .unwrap();
    let customer = env
        .service
        .register_customer(Request::new(RegisterCustomerRequest {
            store_id: store_id.clone(),
            email: "Ann@Example.com".to_owned(),
            password: PASSWORD.to_owned(),
            first_name: "Ann".to_owned(),
            last_name: "Lee".to_owned(),
            marketing_consent: false,
        }))
        .await
        .unwrap()
        .into_inner();
    for disabled in [true, false] {
        env.service
            .set_user_disabled(Request::new(SetUserDisabledRequest {
                store_id: store_id.clone(),
                user_id: customer.id.clone(),
                disabled,
                actor_user_id: owner.id.clone(),
                actor_role: Role::Owner as i32,
            }))
            .await
            .unwrap();
    }

    let events = outbox_events(&env.db).await;
    for e in &events {
        assert!(
            !String::from_utf8_lossy(&e.payload).contains("argon2"),
            "{}",
            e.subject
        );
    }
    let created = accounts(&events, ACCOUNT_CREATED);
    let who: Vec<_> = created
        .iter()
        .map(|a| {
            let u = a.user.as_ref().unwrap();
            (
                u.email.as_str(),
                u.role(),
                a.first_name.as_str(),
                a.last_name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("owner@tea-house.example", Role::Owner, "", ""),
            ("bob@tea-house.example", Role::Staff, "", ""),
            ("ann@example.com", Role::Customer, "Ann", "Lee"),
        ]
    );
    let changed = accounts(&events, ACCOUNT_CHANGED);
    let states: Vec<_> = changed
        .iter()
        .map(|a| {
            let u = a.user.as_ref().unwrap();
            (u.id.as_str(), u.disabled_at_ms > 0)
        })
        .collect();
    assert_eq!(
        states,
        [(customer.id.as_str(), true), (customer.id.as_str(), false)]
    );
    assert!(events.iter().all(|e| e.store_id == store_id));
}
