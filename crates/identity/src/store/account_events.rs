//! The `account_created` and `account_changed` events (`AccountChanged`): who a notification
//! e-mail goes to, appended to the outbox in the transaction that makes or changes the
//! account. They carry the account as its public message, never its password or hash.

use super::UserRecord;
use mercato_proto::events::AccountChanged;
use mercato_proto::subjects::identity::{ACCOUNT_CHANGED, ACCOUNT_CREATED};
use mercato_runtime::db::{DbError, Tx};
use mercato_runtime::outbox;

/// The names a customer gave at sign-up, for greetings; empty for staff and owners.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Names<'a> {
    pub first: &'a str,
    pub last: &'a str,
}

/// Appends `account_created` for a new account.
pub(crate) fn append_created(tx: &mut Tx<'_>, user: &UserRecord, names: Names<'_>) -> Result<(), DbError> {
    append(tx, ACCOUNT_CREATED, user, names)
}

/// Appends `account_changed` for an account disabled or enabled again.
pub(crate) fn append_changed(tx: &mut Tx<'_>, user: &UserRecord) -> Result<(), DbError> {
    append(tx, ACCOUNT_CHANGED, user, Names::default())
}

/// Appends `account_changed` for an account an import created or changed: notifications learn
/// the customer's e-mail and names, and send no welcome mail for an account made elsewhere.
pub(crate) fn append_imported(tx: &mut Tx<'_>, user: &UserRecord, names: Names<'_>) -> Result<(), DbError> {
    append(tx, ACCOUNT_CHANGED, user, names)
}

fn append(tx: &mut Tx<'_>, subject: &str, user: &UserRecord, names: Names<'_>) -> Result<(), DbError> {
    let event = AccountChanged {
        user: Some(crate::service::user_message(user)),
        first_name: names.first.to_owned(),
        last_name: names.last.to_owned(),
    };
    outbox::append(
        tx,
        &outbox::envelope(&user.store_id.to_string(), subject, 1, &event),
    )
}
