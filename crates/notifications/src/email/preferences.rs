//! E-mail preferences of a signed-in user. Customers: whether non-transactional mail is sent
//! (kept as an opt-out of their address in the store, which an unsubscribe link also records).
//! Owners and staff: opt-ins to new-order and declined-payment mail (none by default).

use super::decide::{NEW_ORDERS, PAYMENT_DECLINES};
use super::directory;
use super::unsubscribe;
use mercato_proto::notifications::{EmailPreferences, SetEmailPreferencesRequest};
use mercato_runtime::auth::Role;
use mercato_runtime::db::{DbError, Tx};
use mercato_runtime::error::ServiceError;

/// Who asks: their store, id and role (the gateway's word).
pub(crate) struct Member {
    pub store_id: String,
    pub user_id: String,
    pub role: Role,
}

impl Member {
    pub(crate) fn parse(store_id: &str, user_id: &str, role: i32) -> Result<Member, ServiceError> {
        let role = Role::from_proto(role)?
            .ok_or_else(|| ServiceError::forbidden("sign in to manage e-mail preferences"))?;
        if store_id.trim().is_empty() || user_id.trim().is_empty() {
            return Err(ServiceError::invalid_request("store_id and user_id are required"));
        }
        Ok(Member {
            store_id: store_id.trim().to_owned(),
            user_id: user_id.trim().to_owned(),
            role,
        })
    }

    fn is_staff(&self) -> bool {
        matches!(self.role, Role::Owner | Role::Staff)
    }
}

/// A customer may not set the staff topics (staff setting `non_transactional` is ignored:
/// staff mail is all transactional).
pub(crate) fn check(m: &Member, r: &SetEmailPreferencesRequest) -> Result<(), ServiceError> {
    if !m.is_staff() {
        for (field, set) in [
            ("new_orders", r.new_orders.is_some()),
            ("payment_declines", r.payment_declines.is_some()),
        ] {
            if set {
                return Err(ServiceError::invalid_field(field, "is for owners and staff only"));
            }
        }
    }
    Ok(())
}

/// The member's preferences as stored.
pub(crate) fn read(tx: &mut Tx<'_>, m: &Member) -> Result<EmailPreferences, DbError> {
    let email = directory::account(tx, &m.store_id, &m.user_id)?
        .map(|a| a.email)
        .unwrap_or_default();
    let (mut new_orders, mut payment_declines, mut non_transactional) = (false, false, true);
    if m.is_staff() {
        new_orders = opted_in(tx, m, NEW_ORDERS)?;
        payment_declines = opted_in(tx, m, PAYMENT_DECLINES)?;
    } else if !email.is_empty() {
        non_transactional = !unsubscribe::opted_out(tx, &m.store_id, &email)?;
    }
    Ok(EmailPreferences {
        store_id: m.store_id.clone(),
        user_id: m.user_id.clone(),
        email,
        non_transactional,
        new_orders,
        payment_declines,
    })
}

/// Applies the fields `r` sets; a customer whose address is not known yet cannot opt out.
pub(crate) fn write(
    tx: &mut Tx<'_>,
    m: &Member,
    r: &SetEmailPreferencesRequest,
    now: i64,
) -> Result<Result<(), ServiceError>, DbError> {
    if let Some(wanted) = r.non_transactional.filter(|_| !m.is_staff()) {
        let Some(account) = directory::account(tx, &m.store_id, &m.user_id)? else {
            return Ok(Err(ServiceError::unavailable(
                "the account is not known to notifications yet; try again in a moment",
            )));
        };
        if wanted {
            unsubscribe::opt_in(tx, &m.store_id, &account.email)?;
        } else {
            unsubscribe::opt_out(tx, &m.store_id, &account.email, now)?;
        }
    }
    for (topic, wanted) in [(NEW_ORDERS, r.new_orders), (PAYMENT_DECLINES, r.payment_declines)] {
        match wanted {
            Some(true) => {
                tx.execute(
                    "INSERT INTO email_staff_opt_ins (store_id, user_id, topic, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (store_id, user_id, topic) DO NOTHING",
                    &[&m.store_id, &m.user_id, &topic, &now],
                )?;
            }
            Some(false) => {
                tx.execute(
                    "DELETE FROM email_staff_opt_ins WHERE store_id = $1 AND user_id = $2 AND topic = $3",
                    &[&m.store_id, &m.user_id, &topic],
                )?;
            }
            None => {}
        }
    }
    Ok(Ok(()))
}

fn opted_in(tx: &mut Tx<'_>, m: &Member, topic: &str) -> Result<bool, DbError> {
    let row: Option<(i64,)> = tx.query_opt(
        "SELECT created_at FROM email_staff_opt_ins WHERE store_id = $1 AND user_id = $2 AND topic = $3",
        &[&m.store_id, &m.user_id, &topic],
    )?;
    Ok(row.is_some())
}
