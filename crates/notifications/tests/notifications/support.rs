//! What the notifications tests share: a service on a fresh database of the backend under
//! test, built with the settings a case needs. Owner: webhooks (W1); ask in the status file for
//! more.
#![allow(dead_code)]

use base64::Engine;
use mercato_notifications::{NotificationsConfig, NotificationsService};
use mercato_proto::events::EventEnvelope;
use mercato_runtime::bus::{MemoryBus, SharedBus};
use mercato_runtime::config::{NotificationsSettings, WebhookSettings};
use mercato_runtime::kek::{KekOrigin, KeyEncryptionKey};
use mercato_runtime::shutdown::Shutdown;
use mercato_runtime::testing::Backend;
use prost::Message;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Notify;

/// A service under test and what it was built with.
pub struct Harness {
    pub service: Arc<NotificationsService>,
    pub backend: Backend,
    pub settings: NotificationsSettings,
    pub data_dir: PathBuf,
    /// Rung when the service appended to its outbox.
    pub outbox: Arc<Notify>,
    pub bus: SharedBus,
    /// Cancelled when the harness is dropped.
    pub shutdown: Shutdown,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Builds a [`Harness`].
pub struct Builder {
    backend: Backend,
    settings: NotificationsSettings,
    start_webhooks: bool,
    start_consumer: bool,
}

impl Builder {
    pub fn new(backend: Backend) -> Builder {
        Builder {
            backend,
            settings: NotificationsSettings::default(),
            start_webhooks: true,
            start_consumer: false,
        }
    }

    /// Changes the notifications settings.
    pub fn settings(mut self, change: impl FnOnce(&mut NotificationsSettings)) -> Builder {
        change(&mut self.settings);
        self
    }

    /// Changes the webhook settings.
    pub fn webhooks(mut self, change: impl FnOnce(&mut WebhookSettings)) -> Builder {
        change(&mut self.settings.webhooks);
        self
    }

    /// Local receivers allowed: `http` and 127.0.0.0/8, and quick retries.
    pub fn local_receivers(self) -> Builder {
        self.webhooks(|w| {
            w.allow_http = true;
            w.allowed_ranges = vec!["127.0.0.0/8".parse().expect("a range")];
            w.retry_base = std::time::Duration::from_millis(50);
            w.retry_max = std::time::Duration::from_millis(500);
            w.timeout = std::time::Duration::from_secs(2);
            w.connect_timeout = std::time::Duration::from_secs(1);
        })
    }

    /// Whether the webhook dispatcher runs (it does unless told otherwise).
    pub fn dispatcher(mut self, on: bool) -> Builder {
        self.start_webhooks = on;
        self
    }

    /// Subscribes the consumer to an in-memory bus (`Harness::bus`); off by default, cases
    /// call `service.apply`.
    pub fn consumer(mut self, on: bool) -> Builder {
        self.start_consumer = on;
        self
    }

    pub async fn build(self) -> Harness {
        let db = self.backend.database().await;
        let data_dir = std::env::temp_dir()
            .join("mercato-tests")
            .join(format!("notifications-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let kek = KeyEncryptionKey::from_base64(
            &base64::engine::general_purpose::STANDARD.encode([42u8; 32]),
            KekOrigin::Configured,
        )
        .expect("kek");
        let outbox = Arc::new(Notify::new());
        let config = NotificationsConfig {
            settings: self.settings.clone(),
            data_dir: data_dir.clone(),
            http_port: 0,
            kek: Arc::new(kek),
        };
        let service = NotificationsService::new(db, outbox.clone(), config)
            .await
            .expect("notifications service");
        let shutdown = Shutdown::new();
        let bus: SharedBus = Arc::new(MemoryBus::new());
        if self.start_consumer {
            service.start(bus.clone(), shutdown.clone()).await.expect("start");
        } else if self.start_webhooks {
            service.webhooks.start(shutdown.clone());
        }
        Harness {
            service,
            backend: self.backend,
            settings: self.settings,
            data_dir,
            outbox,
            bus,
            shutdown,
        }
    }
}

/// An event envelope of `store` under `subject` carrying `payload`.
pub fn event(store: &str, subject: &str, payload: &impl Message) -> EventEnvelope {
    EventEnvelope {
        id: uuid::Uuid::now_v7().to_string(),
        store_id: store.to_owned(),
        occurred_at_ms: mercato_runtime::time::now_ms(),
        subject: subject.to_owned(),
        version: 1,
        payload: payload.encode_to_vec(),
        traceparent: String::new(),
    }
}

/// Waits up to `secs` for `check` to hold, polling.
pub async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}
