//! The shared L2 cache on Redis, used when distributed.

use super::Cache;
use bytes::Bytes;
use redis::AsyncCommands;
use std::time::Duration;

/// A Redis-backed cache; every key is prefixed so that several deployments can share a server.
#[derive(Clone)]
pub struct RedisCache {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

impl RedisCache {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<RedisCache> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_millis(500)));
        let conn = redis::aio::ConnectionManager::new_with_config(client, config).await?;
        Ok(RedisCache {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }
}

#[async_trait::async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Option<Bytes> {
        let mut conn = self.conn.clone();
        match conn.get::<_, Option<Vec<u8>>>(self.key(key)).await {
            Ok(v) => v.map(Bytes::from),
            Err(e) => {
                tracing::warn!(error = %e, "redis get failed; treating as a miss");
                None
            }
        }
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) {
        let mut conn = self.conn.clone();
        let secs = ttl.as_secs().max(1);
        if let Err(e) = conn.set_ex::<_, _, ()>(self.key(key), value.as_ref(), secs).await {
            tracing::warn!(error = %e, "redis set failed");
        }
    }

    async fn delete(&self, key: &str) {
        let mut conn = self.conn.clone();
        if let Err(e) = conn.del::<_, ()>(self.key(key)).await {
            tracing::warn!(error = %e, "redis delete failed");
        }
    }

    async fn ready(&self) -> bool {
        let mut conn = self.conn.clone();
        redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
    }
}
