//! The directory: the stores (slug, name, currency, time zone) and accounts (e-mail, role,
//! names, disabled) learnt from identity's events, so that deciding who gets a mail needs no
//! other service. Applied inside the consumer's transaction.

use mercato_proto::events::{AccountChanged, EventEnvelope, StoreChanged, StoreProvisioned};
use mercato_proto::subjects::identity;
use mercato_runtime::auth::Role;
use mercato_runtime::db::{DbError, Tx};
use prost::Message;

/// A store as mail needs it.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub(crate) struct StoreInfo {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
}

/// An account as mail needs it.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

/// Updates the directory from `event` when it is a store or account event.
pub(crate) fn apply(tx: &mut Tx<'_>, event: &EventEnvelope, now: i64) -> Result<(), DbError> {
    match event.subject.as_str() {
        identity::STORE_PROVISIONED => {
            let Some(e) = decode::<StoreProvisioned>(event) else {
                return Ok(());
            };
            upsert_store(
                tx,
                &StoreInfo {
                    id: e.store_id,
                    slug: e.slug,
                    name: e.name,
                    currency: e.currency,
                    time_zone: e.time_zone,
                },
                now,
            )
        }
        identity::STORE_CHANGED => {
            let Some(e) = decode::<StoreChanged>(event) else {
                return Ok(());
            };
            upsert_store(
                tx,
                &StoreInfo {
                    id: e.store_id,
                    slug: e.slug,
                    name: e.name,
                    currency: e.currency,
                    time_zone: e.time_zone,
                },
                now,
            )
        }
        identity::ACCOUNT_CREATED | identity::ACCOUNT_CHANGED => match decode::<AccountChanged>(event) {
            Some(e) => upsert_account(tx, &e, now),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The event's message; a malformed one is logged and skipped (it can never apply).
pub(crate) fn decode<M: Message + Default>(event: &EventEnvelope) -> Option<M> {
    match M::decode(event.payload.as_slice()) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(subject = %event.subject, event_id = %event.id, error = %e, "undecodable event skipped by e-mail");
            None
        }
    }
}

fn upsert_store(tx: &mut Tx<'_>, s: &StoreInfo, now: i64) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO email_stores (store_id, slug, name, currency, time_zone, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (store_id) DO UPDATE SET slug = excluded.slug, name = excluded.name, \
         currency = excluded.currency, time_zone = excluded.time_zone, updated_at = excluded.updated_at",
        &[&s.id, &s.slug, &s.name, &s.currency, &s.time_zone, &now],
    )?;
    Ok(())
}

/// Names are kept when a later event (a disable) carries none.
fn upsert_account(tx: &mut Tx<'_>, e: &AccountChanged, now: i64) -> Result<(), DbError> {
    let Some(user) = &e.user else { return Ok(()) };
    let role = Role::from_proto(user.role)
        .ok()
        .flatten()
        .map_or("customer", Role::as_str);
    let disabled = user.disabled_at_ms > 0;
    tx.execute(
        "INSERT INTO email_accounts \
         (store_id, user_id, email, role, first_name, last_name, disabled, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (store_id, user_id) DO UPDATE SET email = excluded.email, role = excluded.role, \
         first_name = CASE WHEN excluded.first_name = '' THEN email_accounts.first_name ELSE excluded.first_name END, \
         last_name = CASE WHEN excluded.last_name = '' THEN email_accounts.last_name ELSE excluded.last_name END, \
         disabled = excluded.disabled, updated_at = excluded.updated_at",
        &[
            &user.store_id,
            &user.id,
            &user.email.to_lowercase(),
            &role,
            &e.first_name,
            &e.last_name,
            &disabled,
            &now,
        ],
    )?;
    Ok(())
}

/// The store, if its `store_provisioned` has been seen.
pub(crate) fn store(tx: &mut Tx<'_>, store_id: &str) -> Result<Option<StoreInfo>, DbError> {
    let row: Option<(String, String, String, String)> = tx.query_opt(
        "SELECT slug, name, currency, time_zone FROM email_stores WHERE store_id = $1",
        &[&store_id],
    )?;
    Ok(row.map(|(slug, name, currency, time_zone)| StoreInfo {
        id: store_id.to_owned(),
        slug,
        name,
        currency,
        time_zone,
    }))
}

const ACCOUNT_COLUMNS: &str = "SELECT email, first_name, last_name FROM email_accounts";

type AccountRow = (String, String, String);

fn account_of(row: AccountRow) -> Account {
    let (email, first_name, last_name) = row;
    Account {
        email,
        first_name,
        last_name,
    }
}

/// One account of the store, if known.
pub(crate) fn account(tx: &mut Tx<'_>, store_id: &str, user_id: &str) -> Result<Option<Account>, DbError> {
    let row: Option<AccountRow> = tx.query_opt(
        &format!("{ACCOUNT_COLUMNS} WHERE store_id = $1 AND user_id = $2"),
        &[&store_id, &user_id],
    )?;
    Ok(row.map(account_of))
}

/// The enabled owners and staff of the store opted in to `topic`, by e-mail.
pub(crate) fn opted_in_staff(tx: &mut Tx<'_>, store_id: &str, topic: &str) -> Result<Vec<Account>, DbError> {
    let rows: Vec<AccountRow> = tx.query_all(
        "SELECT a.email, a.first_name, a.last_name \
         FROM email_accounts a JOIN email_staff_opt_ins o \
           ON o.store_id = a.store_id AND o.user_id = a.user_id AND o.topic = $2 \
         WHERE a.store_id = $1 AND a.role IN ('owner', 'staff') AND a.disabled = 0 \
         ORDER BY a.email",
        &[&store_id, &topic],
    )?;
    Ok(rows.into_iter().map(account_of).collect())
}

/// The enabled owners of the store.
pub(crate) fn owners(tx: &mut Tx<'_>, store_id: &str) -> Result<Vec<Account>, DbError> {
    let rows: Vec<AccountRow> = tx.query_all(
        &format!("{ACCOUNT_COLUMNS} WHERE store_id = $1 AND role = 'owner' AND disabled = 0 ORDER BY email"),
        &[&store_id],
    )?;
    Ok(rows.into_iter().map(account_of).collect())
}
