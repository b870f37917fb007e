//! [`Tx`]: the handle a transaction's (or a read's) code runs statements on, the same for both
//! engines. It is synchronous on purpose: the whole closure runs in one place (on SQLite, the
//! caller's thread or the writer thread; on PostgreSQL, one blocking thread holding a
//! connection), so a transaction costs at most one thread hop, not one per statement.

use super::value::{FromRow, Param, RowAccess};
use super::{Backend, DbError, postgres, sqlite};

/// Runs statements inside one transaction (from [`super::Db::write`]) or one read
/// ([`super::Db::read`]). Placeholders are `$1, $2…` on both engines.
pub struct Tx<'c> {
    conn: Conn<'c>,
    statements: u32,
    /// Whether a statement failed: PostgreSQL then refuses the rest of the transaction and
    /// answers its `COMMIT` with a rollback, so a closure that swallowed the error must not be
    /// reported as committed.
    failed: bool,
}

pub(super) enum Conn<'c> {
    Sqlite(&'c rusqlite::Connection),
    Postgres(postgres::Blocking<'c>),
}

impl<'c> Tx<'c> {
    pub(super) fn new(conn: Conn<'c>) -> Self {
        Tx {
            conn,
            statements: 0,
            failed: false,
        }
    }

    /// Statements run so far; reported per use case on `/metrics`.
    pub(super) fn statements(&self) -> u32 {
        self.statements
    }

    /// Whether any statement failed.
    pub(super) fn failed(&self) -> bool {
        self.failed
    }

    /// Notes a failed statement, passing its result on.
    fn track<T>(&mut self, result: Result<T, DbError>) -> Result<T, DbError> {
        self.failed |= result.is_err();
        result
    }

    /// Which engine runs these statements, for the rare statement that must differ.
    pub fn backend(&self) -> Backend {
        match self.conn {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// ` FOR UPDATE` on PostgreSQL, to append to a read that decides a write so that what it read
    /// cannot change before the commit; nothing on SQLite, whose one write connection already
    /// excludes every other writer.
    pub fn lock_rows(&self) -> &'static str {
        match self.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// What to write before a column that only filters the rows of a look-up by key, so that
    /// the planner does not walk an index on it instead: `+` on SQLite (which, without
    /// statistics, prefers walking every row of a store through an index that begins with
    /// `store_id` to looking up each of many keys: `store_id = $1 AND id IN (…)` read a whole
    /// catalog per batch of an import), nothing on PostgreSQL, whose planner has statistics.
    /// Only for a column no index is wanted on in that statement.
    pub fn filter_only(&self) -> &'static str {
        match self.backend() {
            Backend::Postgres => "",
            Backend::Sqlite => "+",
        }
    }

    /// Runs one statement; returns how many rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64, DbError> {
        self.statements += 1;
        let result = match &mut self.conn {
            Conn::Sqlite(c) => sqlite::execute(c, sql, params),
            Conn::Postgres(c) => c.execute(sql, params),
        };
        self.track(result)
    }

    /// Runs a statement built beforehand; returns how many rows it changed.
    pub fn run(&mut self, statement: &super::Statement) -> Result<u64, DbError> {
        self.execute(statement.sql(), &statement.params())
    }

    /// Runs several statements separated by `;`, without parameters (schema changes).
    pub fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        self.statements += 1;
        let result = match &mut self.conn {
            Conn::Sqlite(c) => c.execute_batch(sql).map_err(DbError::from),
            Conn::Postgres(c) => c.execute_script(sql),
        };
        self.track(result)
    }

    /// The first row, if any.
    pub fn query_opt<R: FromRow>(&mut self, sql: &str, params: &[&dyn Param]) -> Result<Option<R>, DbError> {
        let mut first = None;
        self.each_row(sql, params, &mut |row| {
            first = Some(R::from_row(row)?);
            Ok(false)
        })?;
        Ok(first)
    }

    /// Exactly one row; none is an error.
    pub fn query_one<R: FromRow>(&mut self, sql: &str, params: &[&dyn Param]) -> Result<R, DbError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| DbError::Decode("expected a row, found none".to_owned()))
    }

    /// Every row.
    pub fn query_all<R: FromRow>(&mut self, sql: &str, params: &[&dyn Param]) -> Result<Vec<R>, DbError> {
        let mut rows = Vec::new();
        self.each_row(sql, params, &mut |row| {
            rows.push(R::from_row(row)?);
            Ok(true)
        })?;
        Ok(rows)
    }

    /// Calls `f` for each row until it returns `false`.
    pub fn each_row(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        f: &mut dyn FnMut(&dyn RowAccess) -> Result<bool, DbError>,
    ) -> Result<(), DbError> {
        self.statements += 1;
        let result = match &mut self.conn {
            Conn::Sqlite(c) => sqlite::each_row(c, sql, params, f),
            Conn::Postgres(c) => c.each_row(sql, params, f),
        };
        self.track(result)
    }
}
