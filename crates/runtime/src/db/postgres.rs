//! PostgreSQL through sqlx's native driver. A transaction's closure runs on a blocking thread
//! holding one pooled connection, each statement driven by the runtime (`Handle::block_on`):
//! every statement is a network round trip anyway, and this keeps one synchronous transaction
//! API for both engines. Single-statement reads and writes skip the blocking thread (writes
//! run in autocommit).

use super::DbError;
use super::stats::Stats;
use super::tx::{Conn, Tx};
use super::value::{FromRow, Kind, Param, RowAccess, Value, ValueRef};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Column, Executor, PgConnection, PgPool, Postgres, Row, TypeInfo};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;

pub(super) struct PgDb {
    pool: PgPool,
    stats: Arc<Stats>,
}

impl PgDb {
    pub(super) async fn connect(url: &str, max_connections: u32, stats: Arc<Stats>) -> Result<PgDb, DbError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(PgDb { pool, stats })
    }

    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs `f` in a transaction on a blocking thread: committed if it returns `Ok`, rolled
    /// back otherwise (and when it panics).
    pub(super) async fn write<T, E, F>(&self, op: &'static str, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let conn = self.pool.acquire().await.map_err(DbError::from)?;
        let stats = self.stats.clone();
        let joined = tokio::task::spawn_blocking(move || in_transaction(conn, op, &stats, f)).await;
        joined.unwrap_or_else(|_| Err(E::from(DbError::Panicked)))
    }

    /// Runs `f` outside a transaction (each statement sees the latest commits).
    pub(super) async fn read<T, F>(&self, op: &'static str, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut Tx<'_>) -> T + Send + 'static,
        T: Send + 'static,
    {
        let mut conn = self.pool.acquire().await?;
        let stats = self.stats.clone();
        tokio::task::spawn_blocking(move || {
            let rt = Handle::current();
            let mut tx = Tx::new(Conn::Postgres(Blocking {
                conn: &mut conn,
                rt: &rt,
            }));
            let out = f(&mut tx);
            stats.read(op, tx.statements());
            out
        })
        .await
        .map_err(|_| DbError::Panicked)
    }

    /// One write statement in autocommit, run without leaving the calling task.
    pub(super) async fn execute(
        &self,
        op: &'static str,
        sql: &str,
        params: &[&dyn Param],
    ) -> Result<u64, DbError> {
        let done = bind(sql, params).execute(&self.pool).await;
        self.stats.write(op, 1, done.is_ok());
        Ok(done?.rows_affected())
    }

    /// One statement's rows, read without leaving the calling task.
    pub(super) async fn query_all<R: FromRow>(
        &self,
        op: &'static str,
        sql: &str,
        params: &[&dyn Param],
    ) -> Result<Vec<R>, DbError> {
        let rows = bind(sql, params).fetch_all(&self.pool).await?;
        self.stats.read(op, 1);
        rows.iter().map(|row| R::from_row(&PgRowAccess(row))).collect()
    }
}

fn in_transaction<T, E, F>(
    mut conn: PoolConnection<Postgres>,
    op: &'static str,
    stats: &Stats,
    f: F,
) -> Result<T, E>
where
    F: FnOnce(&mut Tx<'_>) -> Result<T, E>,
    E: From<DbError>,
{
    let rt = Handle::current();
    rt.block_on(conn.execute("BEGIN"))
        .map_err(|e| E::from(DbError::from(e)))?;
    let (outcome, statements, statement_failed) = {
        let mut tx = Tx::new(Conn::Postgres(Blocking {
            conn: &mut conn,
            rt: &rt,
        }));
        let outcome = catch_unwind(AssertUnwindSafe(|| f(&mut tx)));
        (outcome, tx.statements(), tx.failed())
    };
    // After a failed statement PostgreSQL has aborted the transaction whatever the closure
    // returns; it is rolled back and reported as failed, never as committed.
    let swallowed = statement_failed && matches!(outcome, Ok(Ok(_)));
    let committed = matches!(outcome, Ok(Ok(_))) && !swallowed;
    stats.write(op, statements, committed);
    let end = if committed { "COMMIT" } else { "ROLLBACK" };
    if let Err(e) = rt.block_on(conn.execute(end)) {
        // A connection whose transaction state is unknown must not go back to the pool.
        conn.close_on_drop();
        if committed {
            return Err(E::from(DbError::from(e)));
        }
    }
    match outcome {
        Ok(_) if swallowed => Err(E::from(DbError::Other(
            "a statement failed inside the transaction; it was rolled back".to_owned(),
        ))),
        Ok(result) => result,
        Err(_) => Err(E::from(DbError::Panicked)),
    }
}

/// A connection used from a blocking thread: each statement is driven to completion by the
/// runtime before the next one starts.
pub(super) struct Blocking<'c> {
    conn: &'c mut PgConnection,
    rt: &'c Handle,
}

impl Blocking<'_> {
    pub(super) fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64, DbError> {
        let done = self.rt.block_on(bind(sql, params).execute(&mut *self.conn))?;
        Ok(done.rows_affected())
    }

    pub(super) fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        let script = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()));
        self.rt.block_on(script.execute(&mut *self.conn))?;
        Ok(())
    }

    pub(super) fn each_row(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        f: &mut dyn FnMut(&dyn RowAccess) -> Result<bool, DbError>,
    ) -> Result<(), DbError> {
        use futures::TryStreamExt;
        let query = bind(sql, params);
        self.rt.block_on(async {
            let mut rows = query.fetch(&mut *self.conn);
            while let Some(row) = rows.try_next().await? {
                if !f(&PgRowAccess(&row))? {
                    break;
                }
            }
            Ok(())
        })
    }
}

/// A statement with its parameters bound, typed NULLs included.
fn bind<'q>(sql: &str, params: &[&dyn Param]) -> Query<'q, Postgres, PgArguments> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    for param in params {
        query = match param.value() {
            Value::Null(Kind::Int) => query.bind(None::<i64>),
            Value::Null(Kind::Text) => query.bind(None::<String>),
            Value::Null(Kind::Bytes) => query.bind(None::<Vec<u8>>),
            Value::Int(i) => query.bind(i),
            Value::Text(t) => query.bind(t.into_owned()),
            Value::Bytes(b) => query.bind(b.into_owned()),
        };
    }
    query
}

struct PgRowAccess<'r>(&'r PgRow);

impl RowAccess for PgRowAccess<'_> {
    fn column(&self, index: usize) -> Result<ValueRef<'_>, DbError> {
        let row = self.0;
        let column = row
            .columns()
            .get(index)
            .ok_or_else(|| DbError::Decode(format!("no column {index}")))?;
        let get = |e: sqlx::Error| DbError::Decode(format!("column {index}: {e}"));
        let value = match column.type_info().name() {
            "INT8" => row
                .try_get::<Option<i64>, _>(index)
                .map_err(get)?
                .map(ValueRef::Int),
            "INT4" => row
                .try_get::<Option<i32>, _>(index)
                .map_err(get)?
                .map(|i| ValueRef::Int(i.into())),
            "INT2" => row
                .try_get::<Option<i16>, _>(index)
                .map_err(get)?
                .map(|i| ValueRef::Int(i.into())),
            "BOOL" => row
                .try_get::<Option<bool>, _>(index)
                .map_err(get)?
                .map(|b| ValueRef::Int(b.into())),
            "FLOAT8" => row
                .try_get::<Option<f64>, _>(index)
                .map_err(get)?
                .map(ValueRef::Real),
            "FLOAT4" => row
                .try_get::<Option<f32>, _>(index)
                .map_err(get)?
                .map(|f| ValueRef::Real(f.into())),
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => row
                .try_get::<Option<&str>, _>(index)
                .map_err(get)?
                .map(ValueRef::Text),
            "BYTEA" => row
                .try_get::<Option<&[u8]>, _>(index)
                .map_err(get)?
                .map(ValueRef::Bytes),
            "VOID" => None,
            other => {
                return Err(DbError::Decode(format!(
                    "column {index} has type {other}; cast it to BIGINT or TEXT in the query"
                )));
            }
        };
        Ok(value.unwrap_or(ValueRef::Null))
    }

    fn width(&self) -> usize {
        self.0.len()
    }
}
