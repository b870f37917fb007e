//! The one error type of every service's storage: the service's own refusals (a taken key, a
//! missing row, too little stock), plus what any store can run into — a row changed since it was
//! read, a row that no longer reads, a value that does not serialize, the database itself — and
//! the one conversion of all of it into a [`ServiceError`].
//!
//! A service names its refusals and aliases the rest:
//! `pub type StoreError = mercato_runtime::store_error::StoreError<Refusal>;`

use crate::db::DbError;
use crate::error::ServiceError;

/// What can go wrong in a service's storage; `R` is the service's own refusals.
#[derive(Debug, thiserror::Error)]
pub enum StoreError<R> {
    /// The service's own refusal; it becomes the [`ServiceError`] the refusal converts to.
    #[error(transparent)]
    Refused(R),
    /// A guarded write found the row changed (or gone) since it was read; re-read and decide
    /// again.
    #[error("changed concurrently")]
    Stale,
    /// A stored value could not be read back (a bug or a hand-edited row).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A value meant for a stored column did not serialize; nothing was written.
    #[error("not serializable: {0}")]
    Unserializable(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl<R: Into<ServiceError>> From<StoreError<R>> for ServiceError {
    fn from(e: StoreError<R>) -> Self {
        match e {
            StoreError::Refused(refusal) => refusal.into(),
            StoreError::Stale => ServiceError::changed_concurrently("changed concurrently; retry"),
            StoreError::Corrupt(m) | StoreError::Unserializable(m) => ServiceError::internal(m),
            StoreError::Db(e) => ServiceError::from(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[derive(Debug, thiserror::Error)]
    enum Refusal {
        #[error("taken")]
        Taken,
    }

    impl From<Refusal> for ServiceError {
        fn from(r: Refusal) -> Self {
            ServiceError::conflict(r.to_string())
        }
    }

    #[test]
    fn a_refusal_keeps_its_own_answer_and_the_rest_have_one() {
        let code = |e: StoreError<Refusal>| ServiceError::from(e).code;
        assert_eq!(code(StoreError::Refused(Refusal::Taken)), ErrorCode::Conflict);
        assert_eq!(code(StoreError::Stale), ErrorCode::ChangedConcurrently);
        assert_eq!(code(StoreError::Corrupt("x".into())), ErrorCode::Internal);
        assert_eq!(code(StoreError::Unserializable("x".into())), ErrorCode::Internal);
        assert_eq!(StoreError::Refused(Refusal::Taken).to_string(), "taken");
    }
}
