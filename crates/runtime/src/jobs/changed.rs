//! `JobChanged`: every state change (and throttled progress) of a job, written to the service's
//! outbox in the transaction that made it, so listeners see exactly the committed changes.

use super::row::JobRow;
use crate::db::{DbError, Tx};
use mercato_proto::events::JobChanged;

/// The subject a service's job changes go out on: `mercato.<service>.job_changed`.
pub fn subject(service: &str) -> String {
    format!("mercato.{service}.job_changed")
}

/// Appends the job as it now is to the outbox, in `tx`.
pub(crate) fn publish(tx: &mut Tx<'_>, service: &str, row: &JobRow) -> Result<(), DbError> {
    let event = JobChanged {
        job: Some(row.to_proto(service)),
    };
    let envelope = crate::outbox::envelope(&row.store_id, &subject(service), 1, &event);
    crate::outbox::append(tx, &envelope)
}

/// Reads the job back after a change in `tx` and publishes it; returns it.
pub(crate) fn reload_and_publish(tx: &mut Tx<'_>, service: &str, id: &str) -> Result<JobRow, DbError> {
    let row = super::row::load(tx, id)?
        .ok_or_else(|| DbError::Decode(format!("job {id} vanished inside its transaction")))?;
    publish(tx, service, &row)?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use mercato_proto::subjects;

    #[test]
    fn each_service_publishes_on_its_contract_subject() {
        assert_eq!(super::subject("catalog"), subjects::catalog::JOB_CHANGED);
        assert_eq!(super::subject("orders"), subjects::orders::JOB_CHANGED);
        assert_eq!(super::subject("identity"), subjects::identity::JOB_CHANGED);
    }
}
