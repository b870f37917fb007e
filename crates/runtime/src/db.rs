//! One SQL pool per service: a SQLite file when embedded, a PostgreSQL database when distributed.
//!
//! Services write their SQL once against sqlx's `Any` driver, with portable types only: `TEXT`
//! (ids are UUID strings), `BIGINT` (money in minor units, times in epoch milliseconds, flags as
//! 0/1), `{{BYTES}}` in migrations for binary columns and `{{SORTED_TEXT}}` for text columns
//! that results are ordered by (byte order on both backends). Placeholders are `$1, $2…`, which both
//! backends accept. This keeps one implementation per store trait, tested on both backends.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::time::Duration;

/// Which SQL engine a pool talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A service's database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// One schema change: a name recorded once applied, and the SQL it runs.
pub struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

impl Db {
    /// Opens (creating if needed) a SQLite file in WAL mode.
    pub async fn sqlite(path: &Path) -> anyhow::Result<Db> {
        install_default_drivers();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::sqlite_url(&url, 4).await
    }

    /// A fresh SQLite file under the system temp directory; for tests, so that they run on the
    /// same WAL-mode file database as production rather than an in-memory variant.
    pub async fn sqlite_temp() -> anyhow::Result<Db> {
        let path = std::env::temp_dir()
            .join("mercato-tests")
            .join(format!("{}.db", uuid::Uuid::now_v7()));
        Self::sqlite(&path).await
    }

    async fn sqlite_url(url: &str, max_connections: u32) -> anyhow::Result<Db> {
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers run beside the single writer; busy_timeout makes writers
                    // queue instead of failing; NORMAL sync is durable across process crashes.
                    conn.execute(
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                         PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        Ok(Db {
            pool,
            backend: Backend::Sqlite,
        })
    }

    /// Connects to `database` on the PostgreSQL server at `server_url`, creating it if needed.
    pub async fn postgres(server_url: &str, database: &str, max_connections: u32) -> anyhow::Result<Db> {
        install_default_drivers();
        create_postgres_database(server_url, database).await?;
        let url = with_database(server_url, database)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url)
            .await?;
        Ok(Db {
            pool,
            backend: Backend::Postgres,
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so two transactions that read before writing queue instead of failing with "busy".
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Applies the migrations not yet applied, in order, each in its own transaction.
    /// On PostgreSQL an advisory lock keeps replicas that start together from racing.
    pub async fn migrate(&self, service: &str, migrations: &[Migration]) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT pg_advisory_lock(727274)").await?;
        }
        let result = async {
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .await?;
            for m in migrations {
                let applied: Option<(String,)> =
                    sqlx::query_as("SELECT name FROM schema_migrations WHERE name = $1")
                        .bind(m.name)
                        .fetch_optional(&mut *conn)
                        .await?;
                if applied.is_some() {
                    continue;
                }
                // Columns that are sorted on compare bytes on both backends, so that pages come
                // out in the same order whatever the PostgreSQL server's locale.
                let (bytes, sorted_text) = match self.backend {
                    Backend::Sqlite => ("BLOB", "TEXT"),
                    Backend::Postgres => ("BYTEA", "TEXT COLLATE \"C\""),
                };
                let sql = m.sql.replace("{{BYTES}}", bytes).replace("{{SORTED_TEXT}}", sorted_text);
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                tx.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await?;
                sqlx::query("INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)")
                    .bind(m.name)
                    .bind(crate::time::now_ms())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                tracing::info!(service, migration = m.name, "migration applied");
            }
            anyhow::Ok(())
        }
        .await;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT pg_advisory_unlock(727274)").await?;
        }
        result
    }

    /// Reports `db_pool_connections{service,state}` (idle, in_use, max) at every scrape.
    pub fn pool_metrics(&self, service: &'static str) -> crate::http::Collector {
        let pool = self.pool.clone();
        std::sync::Arc::new(move || {
            let size = f64::from(pool.size());
            let idle = pool.num_idle() as f64;
            let max = f64::from(pool.options().get_max_connections());
            metrics::gauge!("db_pool_connections", "service" => service, "state" => "idle").set(idle);
            metrics::gauge!("db_pool_connections", "service" => service, "state" => "in_use")
                .set(size - idle);
            metrics::gauge!("db_pool_connections", "service" => service, "state" => "max").set(max);
        })
    }

    /// Checks that the database answers; for readiness probes.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// Whether an error is a unique-constraint violation, in either backend.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db
                    .code()
                    .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
    }
}

fn with_database(server_url: &str, database: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(server_url)?;
    url.set_path(&format!("/{database}"));
    Ok(url.to_string())
}

async fn create_postgres_database(server_url: &str, database: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "database name {database:?} must be alphanumeric"
    );
    let admin = with_database(server_url, "postgres")?;
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await?;
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(database)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        let sql = format!("CREATE DATABASE \"{database}\"");
        // Another replica may create it between the check and here; that is fine.
        if let Err(e) = conn.execute(sqlx::AssertSqlSafe(sql)).await {
            let duplicate = matches!(&e, sqlx::Error::Database(d) if d.code().is_some_and(|c| c == "42P04" || c == "23505"));
            if !duplicate {
                return Err(e.into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_replaces_the_path_of_the_server_url() {
        assert_eq!(
            with_database("postgres://u@127.0.0.1:5432/", "mercato_catalog").unwrap(),
            "postgres://u@127.0.0.1:5432/mercato_catalog"
        );
        assert_eq!(
            with_database("postgres://127.0.0.1/test?sslmode=disable", "x").unwrap(),
            "postgres://127.0.0.1/x?sslmode=disable"
        );
    }
}
