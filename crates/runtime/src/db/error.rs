//! What can go wrong talking to a database, in terms callers act on rather than driver codes.

/// A storage failure. Callers branch on the variant; the message is for logs only.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    /// A unique or primary-key constraint refused the write.
    #[error("unique constraint violated: {0}")]
    UniqueViolation(String),
    /// A transient conflict (a PostgreSQL deadlock or serialization failure, a locked SQLite
    /// file); the same request may succeed if retried.
    #[error("transient conflict: {0}")]
    Busy(String),
    /// The database cannot be reached, or no connection came free in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A column did not hold what the caller asked for.
    #[error("cannot decode: {0}")]
    Decode(String),
    /// The transaction's code panicked; its changes were rolled back.
    #[error("transaction panicked")]
    Panicked,
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Other(String),
}

impl DbError {
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::UniqueViolation(_))
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                ErrorCode::ConstraintViolation
                    if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
                {
                    DbError::UniqueViolation(e.to_string())
                }
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => DbError::Busy(e.to_string()),
                _ => DbError::Other(e.to_string()),
            },
            _ => DbError::Other(e.to_string()),
        }
    }
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        // Deadlocks and serialization failures are the client's to retry.
        const TRANSIENT: &[&str] = &["40P01", "40001"];
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => DbError::UniqueViolation(e.to_string()),
            sqlx::Error::Database(db) if db.code().is_some_and(|c| TRANSIENT.contains(&c.as_ref())) => {
                DbError::Busy(e.to_string())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                DbError::Unavailable(e.to_string())
            }
            _ => DbError::Other(e.to_string()),
        }
    }
}
