//! The owners' notice of a disabled webhook endpoint (called by the webhooks part, so tested
//! here): one `webhook_endpoint_disabled` mail to each enabled owner, once per failure run.

use super::Email;
use super::directory;
use crate::service::NotificationsConfig;
use base64::Engine;
use mercato_proto::common::Role;
use mercato_proto::events::{AccountChanged, EventEnvelope, StoreProvisioned};
use mercato_proto::identity::User;
use mercato_proto::notifications::Endpoint;
use mercato_proto::subjects::identity;
use mercato_runtime::db::{Db, DbError};
use mercato_runtime::jobs::Jobs;
use mercato_runtime::kek::{KekOrigin, KeyEncryptionKey};
use prost::Message;
use std::sync::Arc;
use tokio::sync::Notify;

const STORE: &str = "s-1";

fn envelope(subject: &str, payload: &impl Message) -> EventEnvelope {
    EventEnvelope {
        id: uuid::Uuid::now_v7().to_string(),
        store_id: STORE.to_owned(),
        subject: subject.to_owned(),
        payload: payload.encode_to_vec(),
        ..Default::default()
    }
}

fn account(id: &str, email: &str, role: Role, disabled_at_ms: i64) -> EventEnvelope {
    let user = User {
        id: id.to_owned(),
        store_id: STORE.to_owned(),
        email: email.to_owned(),
        role: role as i32,
        created_at_ms: 1,
        disabled_at_ms,
    };
    envelope(
        identity::ACCOUNT_CREATED,
        &AccountChanged {
            user: Some(user),
            ..Default::default()
        },
    )
}

async fn email() -> (Arc<Email>, Db) {
    let db = Db::sqlite_temp().await.unwrap();
    db.migrate(crate::service::SERVICE, crate::store::MIGRATIONS)
        .await
        .unwrap();
    let data_dir = std::env::temp_dir()
        .join("mercato-tests")
        .join(format!("email-{}", uuid::Uuid::now_v7()));
    let kek = KeyEncryptionKey::from_base64(
        &base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        KekOrigin::Configured,
    )
    .unwrap();
    let config = NotificationsConfig {
        settings: Default::default(),
        data_dir,
        http_port: 8080,
        kek: Arc::new(kek),
    };
    let outbox = Arc::new(Notify::new());
    let jobs = Jobs::new(crate::service::SERVICE, db.clone(), outbox.clone());
    (Arc::new(Email::new(db.clone(), jobs, &config).unwrap()), db)
}

#[tokio::test]
async fn a_disabled_endpoint_is_told_to_each_enabled_owner_once() {
    let (email, db) = email().await;
    let events = vec![
        envelope(
            identity::STORE_PROVISIONED,
            &StoreProvisioned {
                store_id: STORE.to_owned(),
                slug: "tea".to_owned(),
                name: "Tea".to_owned(),
                currency: "EUR".to_owned(),
                time_zone: "UTC".to_owned(),
            },
        ),
        account("u-1", "owner@tea.example", Role::Owner, 0),
        account("u-2", "former@tea.example", Role::Owner, 5),
        account("u-3", "staff@tea.example", Role::Staff, 0),
    ];
    let endpoint = Endpoint {
        id: "ep-1".to_owned(),
        store_id: STORE.to_owned(),
        url: "https://erp.example.com/<hooks>".to_owned(),
        failing_since_ms: 1_000,
        ..Default::default()
    };
    let e = email.clone();
    db.write("test", move |tx| {
        for event in &events {
            directory::apply(tx, event, 1)?;
        }
        e.endpoint_disabled(tx, &endpoint, 2)?;
        e.endpoint_disabled(tx, &endpoint, 3)?;
        Ok::<_, DbError>(())
    })
    .await
    .unwrap();
    let jobs: Vec<(String,)> = db
        .query_all("SELECT input_json FROM jobs WHERE kind = 'email.send'", &[])
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let input: serde_json::Value = serde_json::from_str(&jobs[0].0).unwrap();
    assert_eq!(input["to"], "owner@tea.example");
    assert_eq!(input["template"], "webhook_endpoint_disabled");
    assert_eq!(
        input["data"]["endpoint"]["url"],
        "https://erp.example.com/<hooks>"
    );
    assert_eq!(
        input["data"]["endpoint"]["admin_url"],
        "http://localhost:8080/admin/tea/webhooks/ep-1"
    );
}
