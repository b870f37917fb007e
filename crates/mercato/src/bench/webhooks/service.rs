//! The notifications service the bench drives: embedded on a fresh database, with the webhook
//! settings of the run, and one endpoint per store.

use super::WebhooksArgs;
use mercato_notifications::{NotificationsConfig, NotificationsService};
use mercato_proto::notifications::CreateEndpointRequest;
use mercato_runtime::config::{NotificationsSettings, WebhookSettings};
use mercato_runtime::db::Db;
use mercato_runtime::kek::{KekOrigin, KeyEncryptionKey};
use std::sync::Arc;
use tokio::sync::Notify;

/// A fixed key-encryption key (32 bytes of 0x2a): the bench's secrets are thrown away.
const BENCH_KEK: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

/// Builds the service (migrated, nothing started) and names the database engine.
pub async fn start(args: &WebhooksArgs) -> anyhow::Result<(Arc<NotificationsService>, &'static str)> {
    let (db, engine) = database(args).await?;
    let data_dir = std::env::temp_dir().join(format!("mercato-bench-webhooks-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir)?;
    let settings = NotificationsSettings {
        webhooks: WebhookSettings {
            allow_http: true,
            allowed_ranges: vec!["127.0.0.0/8".parse()?],
            concurrency: args.concurrency,
            per_store_concurrency: args.per_store,
            retry_base: args.retry_base,
            retry_max: args.retry_max,
            timeout: args.timeout,
            ..WebhookSettings::default()
        },
        ..NotificationsSettings::default()
    };
    let config = NotificationsConfig {
        settings,
        data_dir,
        http_port: 0,
        kek: Arc::new(KeyEncryptionKey::from_base64(BENCH_KEK, KekOrigin::Configured)?),
    };
    let service = NotificationsService::new(db, Arc::new(Notify::new()), config).await?;
    Ok((service, engine))
}

async fn database(args: &WebhooksArgs) -> anyhow::Result<(Db, &'static str)> {
    match &args.postgres_url {
        Some(url) => {
            let name = format!("mercato_bench_webhooks_{}", std::process::id());
            Ok((Db::postgres(url, &name, 16).await?, "PostgreSQL"))
        }
        None => Ok((Db::sqlite_temp().await?, "SQLite")),
    }
}

/// Registers `store`'s endpoint at `url` for `order.confirmed`, through the service's API.
pub async fn register(service: &NotificationsService, store: &str, url: &str) -> anyhow::Result<()> {
    service
        .webhooks
        .create_endpoint(CreateEndpointRequest {
            store_id: store.to_owned(),
            url: url.to_owned(),
            event_types: vec!["order.confirmed".to_owned()],
            description: "bench receiver".to_owned(),
        })
        .await
        .map_err(|e| anyhow::anyhow!("registering {store}'s endpoint failed: {e}"))?;
    Ok(())
}
