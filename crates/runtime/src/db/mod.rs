//! One database per service: a SQLite file when embedded, a PostgreSQL database when distributed,
//! behind one API so that each store trait has one implementation, tested on both.
//!
//! # How a service talks to it
//!
//! - [`Db::write`] runs a closure as one transaction: committed if it returns `Ok`, rolled back
//!   if it returns `Err` or panics. [`Db::read`] runs a closure on a read connection. Both
//!   closures are synchronous and receive a [`Tx`]: the whole closure runs in one place, so a
//!   transaction costs at most one thread hop however many statements it has (ADR 0001).
//! - [`Db::query_all`], [`Db::query_opt`] and [`Db::query_one`] are single-statement reads.
//! - Every call names its use case (`op`), which labels `db_statements_total` and
//!   `db_transactions_total` on `/metrics`.
//!
//! # Engines
//!
//! - SQLite ([`sqlite`], [`group_commit`]): one write connection per file. A transaction
//!   commits on the caller's thread when the connection is idle; otherwise it queues, and a
//!   writer thread commits what is queued together, each transaction in its own savepoint
//!   (but one alone in its group).
//!   Reads run inline on pooled connections (WAL mode lets them run beside the writer).
//! - PostgreSQL ([`postgres`]): sqlx's native driver; a transaction's closure runs on a blocking
//!   thread holding one pooled connection.
//!
//! # Portable SQL
//!
//! Services write their SQL once, with portable types only: `TEXT` (ids are UUID strings),
//! `BIGINT` (money in minor units, times in epoch milliseconds, flags as 0/1), `{{BYTES}}` in
//! migrations for binary columns and `{{SORTED_TEXT}}` for text columns that results are ordered
//! by (byte order on both engines). Placeholders are `$1, $2…` on both. Parameters are
//! [`Param`]s and rows are read into tuples of [`FromValue`] types.

mod checkpoint;
mod error;
mod files;
mod group_commit;
mod placeholders;
mod postgres;
mod sqlite;
mod statement;
mod stats;
mod tx;
mod value;

pub use error::DbError;
pub use files::{create_private_dir, create_private_file};
pub use statement::Statement;
pub use tx::Tx;
pub use value::{FromRow, FromValue, Kind, Param, RowAccess, Typed, Value, ValueRef};

use group_commit::{Deliver, Job, Outcome};
use postgres::PgDb;
use sqlite::SqliteDb;
use stats::Stats;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

/// Describes the metrics of every database: the pool's, sampled at each scrape by
/// [`Db::pool_metrics`], and the statement and transaction counts.
pub(crate) fn describe_metrics() {
    crate::metric_family::Family::describe_all(&[DB_POOL_CONNECTIONS, DB_WRITE_QUEUE]);
    stats::describe_metrics();
}

crate::metric_families! {
    /// Database connections by service and state: idle, in_use and max (PostgreSQL), or idle
    /// readers (SQLite).
    pub(crate) const DB_POOL_CONNECTIONS: Gauge(Count) = "db_pool_connections";
    /// Write transactions waiting for SQLite's single writer, by service.
    pub(crate) const DB_WRITE_QUEUE: Gauge(Count) = "db_write_queue";
}

/// Which SQL engine a database is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A service's database. Cheap to clone; clones share the connections (and, on SQLite, the
/// writer thread, which stops when the last clone is dropped).
#[derive(Clone)]
pub struct Db {
    engine: Arc<Engine>,
}

enum Engine {
    Sqlite(SqliteDb),
    Postgres(PgDb),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("backend", &self.backend()).finish()
    }
}

/// One schema change: a name recorded once applied, and the SQL it runs.
pub struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

/// The runtime's tables, applied to every service database before its own schema.
const RUNTIME_MIGRATIONS: &[Migration] = &[
    crate::outbox::MIGRATION,
    crate::outbox::PENDING_INDEX,
    crate::inbox::MIGRATION,
    crate::jobs::MIGRATION,
];

impl Db {
    /// Opens (creating if needed) a SQLite file in WAL mode. Its file stem names it in metrics.
    /// Its directory is made 0700 and the file, `-wal` and `-shm` 0600 (see [`files`]).
    pub async fn sqlite(path: &Path) -> anyhow::Result<Db> {
        files::prepare_database_file(path)?;
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("sqlite");
        let db = SqliteDb::open(path, Arc::new(Stats::new(name)))?;
        Ok(Db {
            engine: Arc::new(Engine::Sqlite(db)),
        })
    }

    /// A fresh SQLite file under the system temp directory; for tests, so that they run on the
    /// same WAL-mode file database as production rather than an in-memory variant.
    pub async fn sqlite_temp() -> anyhow::Result<Db> {
        let path = std::env::temp_dir()
            .join("mercato-tests")
            .join(format!("{}.db", uuid::Uuid::now_v7()));
        Self::sqlite(&path).await
    }

    /// Connects to `database` on the PostgreSQL server at `server_url`, creating it if needed.
    /// The database's name labels its metrics.
    pub async fn postgres(server_url: &str, database: &str, max_connections: u32) -> anyhow::Result<Db> {
        create_postgres_database(server_url, database).await?;
        let url = with_database(server_url, database)?;
        let db = PgDb::connect(&url, max_connections, Arc::new(Stats::new(database))).await?;
        Ok(Db {
            engine: Arc::new(Engine::Postgres(db)),
        })
    }

    pub fn backend(&self) -> Backend {
        match &*self.engine {
            Engine::Sqlite(_) => Backend::Sqlite,
            Engine::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs `f` as one transaction: committed when it returns `Ok` (and only then is the result
    /// returned), rolled back when it returns `Err` or panics. On SQLite it commits on this
    /// thread if the write connection is idle, or with the writer thread's next group; on
    /// PostgreSQL a blocking thread runs it.
    pub async fn write<T, E, F>(&self, op: &'static str, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match &*self.engine {
            Engine::Postgres(pg) => pg.write(op, f).await,
            Engine::Sqlite(db) => {
                let (reply, answer) = tokio::sync::oneshot::channel::<Result<T, E>>();
                let job = Job {
                    op,
                    run: Box::new(move |tx| run_job(tx, f, reply)),
                };
                db.submit(job);
                answer.await.unwrap_or_else(|_| {
                    Err(E::from(DbError::Unavailable(
                        "the database writer stopped".into(),
                    )))
                })
            }
        }
    }

    /// Runs `f` on a read connection, outside any write transaction: each statement sees what
    /// was committed before it started.
    pub async fn read<T, E, F>(&self, op: &'static str, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match &*self.engine {
            Engine::Sqlite(db) => db.read(op, f)?,
            Engine::Postgres(pg) => pg.read(op, f).await?,
        }
    }

    /// Every row of one read statement.
    pub async fn query_all<R: FromRow>(&self, sql: &str, params: &[&dyn Param]) -> Result<Vec<R>, DbError> {
        match &*self.engine {
            Engine::Sqlite(db) => db.read("query", |tx| tx.query_all(sql, params))?,
            Engine::Postgres(pg) => pg.query_all("query", sql, params).await,
        }
    }

    /// The first row of one read statement, if any.
    pub async fn query_opt<R: FromRow>(
        &self,
        sql: &str,
        params: &[&dyn Param],
    ) -> Result<Option<R>, DbError> {
        Ok(self.query_all(sql, params).await?.into_iter().next())
    }

    /// Exactly one row of one read statement.
    pub async fn query_one<R: FromRow>(&self, sql: &str, params: &[&dyn Param]) -> Result<R, DbError> {
        self.query_opt(sql, params)
            .await?
            .ok_or_else(|| DbError::Decode("expected a row, found none".to_owned()))
    }

    /// One write statement, atomic on its own; returns how many rows it changed. On PostgreSQL
    /// it runs in autocommit from the calling task: no `BEGIN` and `COMMIT` round trips and no
    /// blocking thread, against three round trips and a thread hop for the same statement in
    /// [`Db::write`]. On SQLite it joins the writer's group commit like any transaction.
    pub async fn execute(&self, op: &'static str, sql: &str, params: &[&dyn Param]) -> Result<u64, DbError> {
        match &*self.engine {
            Engine::Postgres(pg) => pg.execute(op, sql, params).await,
            Engine::Sqlite(_) => self.write_alone(op, Statement::new(sql, params)).await,
        }
    }

    /// [`Db::execute`] for a statement built beforehand (one that transactions run too).
    pub async fn run(&self, op: &'static str, statement: &Statement) -> Result<u64, DbError> {
        match &*self.engine {
            Engine::Postgres(pg) => pg.execute(op, statement.sql(), &statement.params()).await,
            Engine::Sqlite(_) => self.write_alone(op, statement.clone()).await,
        }
    }

    /// One statement as its own transaction, through the SQLite writer's group commit.
    async fn write_alone(&self, op: &'static str, statement: Statement) -> Result<u64, DbError> {
        self.write(op, move |tx| tx.run(&statement)).await
    }

    /// Applies the migrations not yet applied, in order, each in its own transaction: first the
    /// runtime's own tables (the outbox and the inbox, which every service database holds, so
    /// no service lists them), then the service's. On PostgreSQL a transaction-scoped advisory
    /// lock keeps replicas that start together from racing.
    pub async fn migrate(&self, service: &str, migrations: &[Migration]) -> anyhow::Result<()> {
        let (bytes, sorted_text) = match self.backend() {
            Backend::Sqlite => ("BLOB", "TEXT"),
            // Columns that are sorted on compare bytes on both engines, so that pages come out
            // in the same order whatever the PostgreSQL server's locale.
            Backend::Postgres => ("BYTEA", "TEXT COLLATE \"C\""),
        };
        self.write("migrate", |tx| {
            lock_migrations(tx)?;
            tx.execute_script(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
        })
        .await?;
        for m in RUNTIME_MIGRATIONS.iter().chain(migrations) {
            let name = m.name;
            let sql = m
                .sql
                .replace("{{BYTES}}", bytes)
                .replace("{{SORTED_TEXT}}", sorted_text);
            let applied = self
                .write("migrate", move |tx| {
                    lock_migrations(tx)?;
                    let done: Option<(String,)> =
                        tx.query_opt("SELECT name FROM schema_migrations WHERE name = $1", &[&name])?;
                    if done.is_some() {
                        return Ok::<_, DbError>(false);
                    }
                    tx.execute_script(&sql)?;
                    tx.execute(
                        "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)",
                        &[&name, &crate::time::now_ms()],
                    )?;
                    Ok(true)
                })
                .await?;
            if applied {
                tracing::info!(service, migration = name, "migration applied");
            }
        }
        Ok(())
    }

    /// Reports the connections at every scrape: `db_pool_connections{service,state}` (idle,
    /// in_use, max) and, on SQLite, `db_write_queue{service}` (transactions waiting for the
    /// writer).
    pub fn pool_metrics(&self, service: &'static str) -> crate::http::Collector {
        let engine = self.engine.clone();
        Arc::new(move || match &*engine {
            Engine::Postgres(pg) => {
                let pool = pg.pool();
                let size = f64::from(pool.size());
                let idle = pool.num_idle() as f64;
                let max = f64::from(pool.options().get_max_connections());
                metrics::gauge!(DB_POOL_CONNECTIONS.name, "service" => service, "state" => "idle").set(idle);
                metrics::gauge!(DB_POOL_CONNECTIONS.name, "service" => service, "state" => "in_use")
                    .set(size - idle);
                metrics::gauge!(DB_POOL_CONNECTIONS.name, "service" => service, "state" => "max").set(max);
            }
            Engine::Sqlite(db) => {
                metrics::gauge!(DB_POOL_CONNECTIONS.name, "service" => service, "state" => "idle")
                    .set(db.idle_readers() as f64);
                metrics::gauge!(DB_WRITE_QUEUE.name, "service" => service).set(db.queued_writes() as f64);
            }
        })
    }

    /// Checks that the database answers; for readiness.
    pub async fn ping(&self) -> bool {
        let answers = self.query_one::<(i64,)>("SELECT 1", &[]).await.is_ok();
        match &*self.engine {
            Engine::Sqlite(_) | Engine::Postgres(_) => answers,
        }
    }
}

/// Runs a write (on the caller's thread or the writer thread) and answers its caller once its
/// group's fate is known: a success only if the group committed, and a failure only then too,
/// since the failure may have come from seeing another job's uncommitted writes (a duplicate
/// key, stock another job held) that a failed commit would undo.
fn run_job<T, E, F>(
    tx: Result<&mut Tx<'_>, DbError>,
    f: F,
    reply: tokio::sync::oneshot::Sender<Result<T, E>>,
) -> Outcome
where
    F: FnOnce(&mut Tx<'_>) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    // A failure is answered as itself if the group committed, as the commit's error otherwise.
    let failed = |error: E, reply: tokio::sync::oneshot::Sender<Result<T, E>>| -> Deliver {
        Box::new(move |committed: Result<(), DbError>| {
            let _ = reply.send(Err(committed.err().map_or(error, E::from)));
        })
    };
    let tx = match tx {
        Ok(tx) => tx,
        Err(e) => return Outcome::Failed(failed(E::from(e), reply)),
    };
    match catch_unwind(AssertUnwindSafe(|| f(tx))) {
        Ok(Ok(value)) => Outcome::Pending(Box::new(move |committed: Result<(), DbError>| {
            let _ = reply.send(committed.map(|()| value).map_err(E::from));
        })),
        Ok(Err(e)) => Outcome::Failed(failed(e, reply)),
        Err(_) => {
            tracing::error!("a database transaction panicked; it was rolled back");
            Outcome::Failed(failed(E::from(DbError::Panicked), reply))
        }
    }
}

fn lock_migrations(tx: &mut Tx<'_>) -> Result<(), DbError> {
    if tx.backend() == Backend::Postgres {
        tx.execute("SELECT pg_advisory_xact_lock(727274)", &[])?;
    }
    Ok(())
}

/// Whether an error is a unique-constraint violation, on either engine.
pub fn is_unique_violation(e: &DbError) -> bool {
    e.is_unique_violation()
}

fn with_database(server_url: &str, database: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(server_url)?;
    url.set_path(&format!("/{database}"));
    Ok(url.to_string())
}

async fn create_postgres_database(server_url: &str, database: &str) -> anyhow::Result<()> {
    use sqlx::{Connection, Executor};
    anyhow::ensure!(
        database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "database name {database:?} must be alphanumeric"
    );
    let admin = with_database(server_url, "postgres")?;
    let mut conn = sqlx::PgConnection::connect(&admin).await?;
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
