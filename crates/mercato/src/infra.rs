//! The infrastructure configuration selects: SQLite or PostgreSQL, the in-process bus or NATS
//! JetStream, and whether Redis backs a shared cache.

use mercato_runtime::bus::{MemoryBus, NatsBus, SharedBus};
use mercato_runtime::cache::{Cache, RedisCache};
use mercato_runtime::config::Settings;
use mercato_runtime::db::Db;
use mercato_runtime::files::{FileAccess, FileLinks, FileStore};
use mercato_runtime::ratelimit::{MemoryRateLimiter, RateLimiter, RedisRateLimiter};
use std::sync::Arc;

/// Connections shared by the services of one process.
pub struct Infra {
    pub bus: SharedBus,
    /// The shared L2 cache, when Redis is configured.
    pub l2: Option<Arc<dyn Cache>>,
    /// Request counters for rate limits: in Redis when configured, so replicas share them.
    pub limiter: Arc<dyn RateLimiter>,
    /// Where exports and product images are kept, shared by every process of a deployment.
    pub files: FileAccess,
}

impl Infra {
    pub async fn connect(settings: &Settings) -> anyhow::Result<Infra> {
        let bus: SharedBus = match &settings.nats.url {
            Some(url) => Arc::new(NatsBus::connect_namespaced(url.expose(), &settings.nats.namespace).await?),
            None => Arc::new(MemoryBus::new()),
        };
        let l2: Option<Arc<dyn Cache>> = match &settings.redis.url {
            Some(url) => Some(Arc::new(
                RedisCache::connect(url.expose(), &settings.redis.key_prefix).await?,
            )),
            None => None,
        };
        let limiter: Arc<dyn RateLimiter> = match &settings.redis.url {
            Some(url) => Arc::new(RedisRateLimiter::connect(url.expose(), &settings.redis.key_prefix).await?),
            None => Arc::new(MemoryRateLimiter::default()),
        };
        let files = FileAccess {
            store: FileStore::from_settings(&settings.files, &settings.data_dir)?,
            links: FileLinks::from_settings(&settings.files, &settings.data_dir)?,
            link_ttl: settings.files.link_ttl,
        };
        Ok(Infra {
            bus,
            l2,
            limiter,
            files,
        })
    }

    /// The database of one service: `<data_dir>/<service>.db`, or `<prefix><service>` on the
    /// PostgreSQL server (created if missing).
    pub async fn database(settings: &Settings, service: &str) -> anyhow::Result<Db> {
        match &settings.postgres.url {
            Some(url) => {
                let name = format!("{}{}", settings.postgres.database_prefix, service);
                Db::postgres(url.expose(), &name, settings.postgres.max_connections).await
            }
            None => Db::sqlite(&settings.data_dir.join(format!("{service}.db"))).await,
        }
    }
}
