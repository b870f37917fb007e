//! Presence in Redis, for the distributed topology: every replica sees every connection.
//!
//! One hash per store, `{prefix}presence:{store}`, with a field `{user}|{connection}` and the
//! value `{status}|{expires_at_ms}`. Fields carry their own expiry (wall clock, which replicas
//! share); the whole key also expires, twice the longest ttl after the write that set it, so a
//! store whose staff all left leaves nothing behind.

use super::{Presence, PresenceEntry, PresenceStatus, Tab, fold};
use std::time::Duration;

/// Writes one field and makes the key live at least `ARGV[3]` more milliseconds: a write with
/// a short ttl never cuts short the fields of longer ones.
const SET_FIELD: &str = r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local keep = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < keep then
  redis.call('PEXPIRE', KEYS[1], keep)
end
return 1
";

/// Deletes the hash's expired fields and returns the live ones as a flat field/value list, in
/// one atomic step, so that a field refreshed by another replica between reading and deleting
/// is never deleted.
const LIVE_FIELDS: &str = r"
local now = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #all, 2 do
  local expires = tonumber(string.match(all[i + 1], '|(%-?%d+)$'))
  if expires == nil or expires <= now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    live[#live + 1] = all[i]
    live[#live + 1] = all[i + 1]
  end
end
return live
";

/// Presence kept in Redis.
#[derive(Clone)]
pub struct RedisPresence {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

impl RedisPresence {
    /// Connects to `url`; every key starts with `key_prefix`, so that several deployments (or
    /// tests) can share a server.
    pub async fn connect(url: &str, key_prefix: &str) -> anyhow::Result<RedisPresence> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_millis(500)));
        let conn = redis::aio::ConnectionManager::new_with_config(client, config).await?;
        Ok(RedisPresence {
            conn,
            prefix: key_prefix.to_owned(),
        })
    }

    fn key(&self, store_id: &str) -> String {
        format!("{}presence:{store_id}", self.prefix)
    }
}

fn field(tab: Tab<'_>) -> String {
    format!("{}|{}", tab.user_id, tab.connection_id)
}

/// The user of a field and the status and expiry of its value; `None` for a malformed pair.
/// Both split at the last `|`, so a user id may contain one (connection ids are ours).
fn parse(field: &str, value: &str) -> Option<(String, PresenceStatus, i64)> {
    let (user_id, _connection) = field.rsplit_once('|')?;
    let (status, expires_at_ms) = value.rsplit_once('|')?;
    Some((
        user_id.to_owned(),
        PresenceStatus::parse(status)?,
        expires_at_ms.parse().ok()?,
    ))
}

#[async_trait::async_trait]
impl Presence for RedisPresence {
    async fn set(&self, tab: Tab<'_>, status: PresenceStatus, ttl: Duration) -> anyhow::Result<()> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 4).max(1);
        let expires_at_ms = mercato_runtime::time::now_ms().saturating_add(ttl_ms);
        let mut conn = self.conn.clone();
        redis::cmd("EVAL")
            .arg(SET_FIELD)
            .arg(1)
            .arg(self.key(tab.store_id))
            .arg(field(tab))
            .arg(format!("{}|{expires_at_ms}", status.as_str()))
            .arg(ttl_ms.saturating_mul(2))
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn clear(&self, tab: Tab<'_>) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        redis::cmd("HDEL")
            .arg(self.key(tab.store_id))
            .arg(field(tab))
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn list(&self, store_id: &str) -> anyhow::Result<Vec<PresenceEntry>> {
        let mut conn = self.conn.clone();
        let live: Vec<String> = redis::cmd("EVAL")
            .arg(LIVE_FIELDS)
            .arg(1)
            .arg(self.key(store_id))
            .arg(mercato_runtime::time::now_ms())
            .query_async(&mut conn)
            .await?;
        let entries = live.chunks_exact(2).filter_map(|pair| {
            let parsed = parse(&pair[0], &pair[1]);
            if parsed.is_none() {
                tracing::warn!(store_id, field = %pair[0], "ignoring a malformed presence entry");
            }
            parsed
        });
        Ok(fold(entries))
    }

    async fn ready(&self) -> bool {
        let mut conn = self.conn.clone();
        redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_values_split_at_their_last_bar() {
        assert_eq!(
            parse("user|with|bar|conn-1", "online|1700000000000"),
            Some((
                "user|with|bar".to_owned(),
                PresenceStatus::Online,
                1_700_000_000_000
            ))
        );
        assert_eq!(parse("no-bar", "away|1"), None);
        assert_eq!(parse("u|c", "busy|1"), None);
        assert_eq!(parse("u|c", "away|soon"), None);
    }
}
