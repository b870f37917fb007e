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
            sqlx::Error::Database(db) if db.code().is_some_and(|c| server_unavailable(&c)) => {
                DbError::Unavailable(e.to_string())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                DbError::Unavailable(e.to_string())
            }
            _ => DbError::Other(e.to_string()),
        }
    }
}

/// SQLSTATEs of a server that is going away or cannot take the connection: a connection
/// exception (class 08), a shutdown or restart (57P01–57P03), too many connections (53300).
/// The transaction did not commit (or its commit is unknown and the request idempotent), so
/// the caller may come back.
fn server_unavailable(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

#[cfg(test)]
mod tests {
    use super::server_unavailable;

    #[test]
    fn a_restarting_or_unreachable_server_is_unavailable_and_a_bad_statement_is_not() {
        for code in ["57P01", "57P03", "08006", "08001", "53300"] {
            assert!(server_unavailable(code), "{code}");
        }
        for code in ["42601", "23505", "40001", "57014"] {
            assert!(!server_unavailable(code), "{code}");
        }
    }
}
