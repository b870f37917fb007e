//! SQLite through rusqlite: one write connection per database file, committed on the caller's
//! thread when idle and in groups by a writer thread when busy (see [`super::group_commit`]),
//! and reads on a small pool of connections, run where they are called.
//!
//! Reads run inline on the calling task's thread: a read of a few rows costs microseconds,
//! less than handing it to another thread and back. WAL mode lets them run beside the writer
//! without waiting for it. The price is that a slow read holds a runtime worker; the services'
//! reads are bounded (pages, capped offsets), which is what makes that acceptable.

use super::DbError;
use super::checkpoint::Checkpointer;
use super::group_commit::{Job, Writer};
use super::stats::Stats;
use super::tx::{Conn, Tx};
use super::value::{Param, RowAccess, Value, ValueRef};
use rusqlite::types::{ToSql, ToSqlOutput};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Idle read connections kept open.
const IDLE_READERS: usize = 8;
/// Prepared statements kept per connection; every service's statements fit.
const STATEMENT_CACHE: usize = 256;

pub(super) struct SqliteDb {
    path: PathBuf,
    writer: Arc<Writer>,
    checkpointer: Arc<Checkpointer>,
    readers: Mutex<Vec<Connection>>,
    stats: Arc<Stats>,
}

impl Drop for SqliteDb {
    fn drop(&mut self) {
        self.writer.close();
        self.checkpointer.close();
    }
}

impl SqliteDb {
    pub(super) fn open(path: &Path, stats: Arc<Stats>) -> Result<SqliteDb, DbError> {
        let mut conn = connect(path)?;
        let checkpointer = Checkpointer::start(connect(path)?, &mut conn, stats.service())?;
        let writer = Writer::start(conn, stats.clone())?;
        Ok(SqliteDb {
            path: path.to_owned(),
            writer,
            checkpointer,
            readers: Mutex::new(Vec::new()),
            stats,
        })
    }

    /// Commits a transaction now, or queues it for the writer thread's next group.
    pub(super) fn submit(&self, job: Job) {
        self.writer.submit(job);
    }

    /// Runs `f` on a read connection, on this thread.
    pub(super) fn read<T>(&self, op: &'static str, f: impl FnOnce(&mut Tx<'_>) -> T) -> Result<T, DbError> {
        let conn = self.take_reader()?;
        let (out, statements) = {
            let mut tx = Tx::new(Conn::Sqlite(&conn));
            let out = f(&mut tx);
            (out, tx.statements())
        };
        self.stats.read(op, statements);
        self.put_reader(conn);
        Ok(out)
    }

    fn take_reader(&self) -> Result<Connection, DbError> {
        let idle = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => {
                let conn = connect(&self.path)?;
                // Reads must not write; the write connection makes every change.
                conn.execute_batch("PRAGMA query_only = 1")?;
                Ok(conn)
            }
        }
    }

    fn put_reader(&self, conn: Connection) {
        let mut idle = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_READERS && conn.is_autocommit() {
            idle.push(conn);
        }
    }

    /// Idle read connections, for the pool gauge.
    pub(super) fn idle_readers(&self) -> usize {
        self.readers.lock().map(|r| r.len()).unwrap_or(0)
    }
}

/// Opens a connection in WAL mode. NORMAL sync is durable across process crashes (a power
/// loss may lose the last commits, never corrupt the file); busy_timeout covers the rare
/// moments another process (a backup, the CLI) holds the file. No memory map: the file grows
/// with every few commits, and remapping it cost more (TLB shootdowns) than the reads saved.
///
/// Temporary storage is memory: each job of a group commit runs in a savepoint whose sub-journal
/// otherwise spills to a freshly opened temporary file after 64 KiB. The writer's WAL is
/// checkpointed by a thread of its own (see [`super::checkpoint`]).
///
/// The query planner's stability guarantee is on: without it SQLite re-plans a statement whose
/// plan used a bound value (any `LIMIT $n`) every time a new value is bound, and re-parsing the
/// outbox relay's poll, listing pages and history queries cost 7 % of a checkout's CPU.
fn connect(path: &Path) -> Result<Connection, DbError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;",
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::ValueRef as Raw;
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null(_) => Raw::Null,
            Value::Int(i) => Raw::Integer(*i),
            Value::Text(t) => Raw::Text(t.as_bytes()),
            Value::Bytes(b) => Raw::Blob(b),
        }))
    }
}

/// Prepares (from the connection's cache) and binds `$n` parameters by name: SQLite numbers
/// `$n` placeholders in order of appearance, not by `n`, so binding by position would be wrong
/// for a statement that names `$2` before `$1`.
fn prepare<'c>(
    conn: &'c Connection,
    sql: &str,
    params: &[&dyn Param],
) -> Result<rusqlite::CachedStatement<'c>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let remembered = super::placeholders::remembered(sql, &stmt)?;
    for index in 1..=stmt.parameter_count() {
        let n = match &remembered {
            Some(numbers) => numbers[index - 1],
            None => super::placeholders::number(&stmt, index)?,
        };
        let param = params
            .get(n as usize - 1)
            .ok_or_else(|| DbError::Other(format!("no value for placeholder ${n}")))?;
        stmt.raw_bind_parameter(index, param.value())?;
    }
    Ok(stmt)
}

pub(super) fn execute(conn: &Connection, sql: &str, params: &[&dyn Param]) -> Result<u64, DbError> {
    let mut stmt = prepare(conn, sql, params)?;
    // Stepping through rows (rather than `execute`) also accepts statements that return some,
    // such as `INSERT … RETURNING` whose rows the caller does not want.
    let mut rows = stmt.raw_query();
    while rows.next()?.is_some() {}
    Ok(conn.changes())
}

pub(super) fn each_row(
    conn: &Connection,
    sql: &str,
    params: &[&dyn Param],
    f: &mut dyn FnMut(&dyn RowAccess) -> Result<bool, DbError>,
) -> Result<(), DbError> {
    let mut stmt = prepare(conn, sql, params)?;
    let width = stmt.column_count();
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next()? {
        if !f(&SqliteRow { row, width })? {
            break;
        }
    }
    Ok(())
}

struct SqliteRow<'r, 's> {
    row: &'r rusqlite::Row<'s>,
    width: usize,
}

impl RowAccess for SqliteRow<'_, '_> {
    fn column(&self, index: usize) -> Result<ValueRef<'_>, DbError> {
        use rusqlite::types::ValueRef as Raw;
        Ok(match self.row.get_ref(index)? {
            Raw::Null => ValueRef::Null,
            Raw::Integer(i) => ValueRef::Int(i),
            Raw::Real(r) => ValueRef::Real(r),
            Raw::Text(t) => ValueRef::Text(
                std::str::from_utf8(t).map_err(|e| DbError::Decode(format!("column {index}: {e}")))?,
            ),
            Raw::Blob(b) => ValueRef::Bytes(b),
        })
    }

    fn width(&self) -> usize {
        self.width
    }
}

impl SqliteDb {
    /// Transactions waiting for the writer.
    pub(super) fn queued_writes(&self) -> usize {
        self.writer.queued()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_limit_does_not_make_the_statement_prepare_again() {
        let conn = connect(Path::new(":memory:")).unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3);")
            .unwrap();
        let sql = "SELECT id FROM t ORDER BY id LIMIT $1";
        let mut seen = Vec::new();
        for limit in [1_i64, 2, 3, 2] {
            let mut rows = 0;
            each_row(&conn, sql, &[&limit], &mut |_| {
                rows += 1;
                Ok(true)
            })
            .unwrap();
            seen.push(rows);
        }
        assert_eq!(seen, [1, 2, 3, 2]);
        let reprepared = conn
            .prepare_cached(sql)
            .unwrap()
            .get_status(rusqlite::StatementStatus::RePrepare);
        assert_eq!(reprepared, 0);
    }
}
