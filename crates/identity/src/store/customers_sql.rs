//! [`CustomerStore`] in portable SQL, on the identity database (SQLite and PostgreSQL alike).
//!
//! A customer's order figures are summed from `customer_orders` when read (one row per
//! order, so a refund event replaces its order's row rather than adding to a counter).

use super::customers::{
    AddressRecord, CarriedFigures, CustomerCursor, CustomerRecord, CustomerStore, DefaultChange, Defaults,
    ProfileRecord,
};
use super::sql::SqlIdentityStore;
use super::{Refusal, StoreError, UserRecord};
use async_trait::async_trait;
use mercato_proto::common;
use mercato_runtime::auth::Role;
use mercato_runtime::db::{DbError, Tx};
use mercato_runtime::ids::{StoreId, UserId};

type CustomerRow = (
    String,
    String,
    String,
    i64,
    Option<i64>,
    String,
    String,
    Option<String>,
    bool,
    Option<i64>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
);
/// A customer with its figures; `{where}` is replaced by the conditions after the store's
/// (`$1`) and the role's (`$2`).
const CUSTOMER_SELECT: &str = "SELECT u.id, u.store_id, u.email, u.created_at, u.disabled_at, \
     u.first_name, u.last_name, u.phone, u.marketing_consent, u.marketing_consent_at, \
     u.default_shipping_address_id, u.default_billing_address_id, u.profile_version, \
     COALESCE(f.orders, 0), COALESCE(f.spent, 0) \
     FROM users u LEFT JOIN (SELECT customer_id, COUNT(*) AS orders, \
        CAST(SUM(total_minor - refunded_minor) AS BIGINT) AS spent \
        FROM customer_orders WHERE store_id = $1 GROUP BY customer_id) f ON f.customer_id = u.id \
     WHERE u.store_id = $1 AND u.role = $2";

const ADDRESS_SELECT: &str = "SELECT id, customer_id, name, company, line1, line2, city, region, \
     postal_code, country, phone, version, created_at FROM customer_addresses";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

fn user_id(s: &str) -> Result<UserId, StoreError> {
    Ok(UserId(s.parse().map_err(|_| corrupt("user id", s))?))
}

fn customer_record(row: CustomerRow) -> Result<CustomerRecord, StoreError> {
    let (id, store, email, created_at, disabled_at, first_name, last_name, phone, consent, consent_at) = (
        row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9,
    );
    Ok(CustomerRecord {
        id: user_id(&id)?,
        store_id: store.parse().map_err(|_| corrupt("store id", &store))?,
        email,
        created_at,
        disabled_at,
        profile: ProfileRecord {
            first_name,
            last_name,
            phone,
            marketing_consent: consent,
            marketing_consent_at: consent_at,
        },
        default_shipping_address_id: row.10,
        default_billing_address_id: row.11,
        profile_version: row.12,
        order_count: row.13,
        total_spent_minor: row.14,
    })
}

/// An address row: the 13 columns of [`ADDRESS_SELECT`].
type AddressRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
);

fn address_record(r: AddressRow) -> Result<AddressRecord, StoreError> {
    Ok(AddressRecord {
        id: r.0,
        customer_id: user_id(&r.1)?,
        address: common::Address {
            name: r.2,
            company: r.3,
            line1: r.4,
            line2: r.5,
            city: r.6,
            region: r.7,
            postal_code: r.8,
            country: r.9,
            phone: r.10,
        },
        version: r.11,
        created_at: r.12,
    })
}

/// The name as searched: first and last, lower case.
pub(crate) fn name_search(p: &ProfileRecord) -> String {
    format!("{} {}", p.first_name, p.last_name).trim().to_lowercase()
}

/// `%query%` for LIKE, with the query's own `%`, `_` and `\` taken literally.
fn contains_pattern(query: &str) -> String {
    let escaped: String = query
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// Whether the store has this customer; locks its row on PostgreSQL, so that the address
/// book's writes for one customer take turns.
fn customer_exists(tx: &mut Tx<'_>, store_id: StoreId, id: &str) -> Result<bool, DbError> {
    let lock = tx.lock_rows();
    let row: Option<(String,)> = tx.query_opt(
        &format!("SELECT id FROM users WHERE store_id = $1 AND id = $2 AND role = $3{lock}"),
        &[&store_id, &id, &Role::Customer.as_str()],
    )?;
    Ok(row.is_some())
}

/// Writes a new customer's profile (its version stays 0: nobody has read it yet).
fn write_profile(tx: &mut Tx<'_>, store_id: StoreId, id: &str, p: &ProfileRecord) -> Result<(), DbError> {
    tx.execute(
        "UPDATE users SET first_name = $1, last_name = $2, name_search = $3, phone = $4, \
         marketing_consent = $5, marketing_consent_at = $6 WHERE store_id = $7 AND id = $8",
        &[
            &p.first_name,
            &p.last_name,
            &name_search(p),
            &p.phone,
            &p.marketing_consent,
            &p.marketing_consent_at,
            &store_id,
            &id,
        ],
    )?;
    Ok(())
}

/// Applies `defaults` for `address_id` to the customer's row.
fn apply_defaults(
    tx: &mut Tx<'_>,
    store_id: StoreId,
    customer: &str,
    address_id: &str,
    defaults: Defaults,
) -> Result<(), DbError> {
    for (column, change) in [
        ("default_shipping_address_id", defaults.shipping),
        ("default_billing_address_id", defaults.billing),
    ] {
        let sql = match change {
            DefaultChange::Keep => continue,
            DefaultChange::Set => format!("UPDATE users SET {column} = $3 WHERE store_id = $1 AND id = $2"),
            DefaultChange::Unset => {
                format!("UPDATE users SET {column} = NULL WHERE store_id = $1 AND id = $2 AND {column} = $3")
            }
        };
        tx.execute(&sql, &[&store_id, &customer, &address_id])?;
    }
    Ok(())
}

fn address_params(a: &common::Address) -> [&String; 9] {
    [
        &a.name,
        &a.company,
        &a.line1,
        &a.line2,
        &a.city,
        &a.region,
        &a.postal_code,
        &a.country,
        &a.phone,
    ]
}

#[async_trait]
impl CustomerStore for SqlIdentityStore {
    async fn create_customer(
        &self,
        store_id: StoreId,
        user: &UserRecord,
        profile: &ProfileRecord,
    ) -> Result<(), StoreError> {
        let (user, p) = (user.clone(), profile.clone());
        self.db
            .write("create_customer", move |tx| {
                let names = super::account_events::Names {
                    first: &p.first_name,
                    last: &p.last_name,
                };
                super::sql::insert_new_user(tx, store_id, &user, names)?;
                write_profile(tx, store_id, &user.id.to_string(), &p)?;
                Ok(())
            })
            .await
    }

    async fn customer(&self, store_id: StoreId, id: UserId) -> Result<Option<CustomerRecord>, StoreError> {
        let row: Option<CustomerRow> = self
            .db
            .query_opt(
                &format!("{CUSTOMER_SELECT} AND u.id = $3"),
                &[&store_id, &Role::Customer.as_str(), &id.to_string()],
            )
            .await?;
        row.map(customer_record).transpose()
    }

    async fn customers(
        &self,
        store_id: StoreId,
        query: Option<&str>,
        after: Option<&CustomerCursor>,
        limit: u32,
    ) -> Result<Vec<CustomerRecord>, StoreError> {
        let pattern = query.map(contains_pattern).unwrap_or_else(|| "%".to_owned());
        let (after_at, after_id) = match after {
            Some(c) => (c.created_at, c.id.clone()),
            // After the end of time: every row.
            None => (i64::MAX, String::new()),
        };
        let sql = format!(
            "{CUSTOMER_SELECT} AND (u.email LIKE $3 ESCAPE '\\' OR u.name_search LIKE $3 ESCAPE '\\') \
             AND (u.created_at < $4 OR (u.created_at = $4 AND u.id < $5)) \
             ORDER BY u.created_at DESC, u.id DESC LIMIT $6"
        );
        let rows: Vec<CustomerRow> = self
            .db
            .query_all(
                &sql,
                &[
                    &store_id,
                    &Role::Customer.as_str(),
                    &pattern,
                    &after_at,
                    &after_id,
                    &i64::from(limit),
                ],
            )
            .await?;
        rows.into_iter().map(customer_record).collect()
    }

    async fn set_profile(
        &self,
        store_id: StoreId,
        id: UserId,
        expected_version: i64,
        profile: &ProfileRecord,
    ) -> Result<Option<()>, StoreError> {
        let (id, p) = (id.to_string(), profile.clone());
        self.db
            .write("set_customer_profile", move |tx| {
                if !customer_exists(tx, store_id, &id)? {
                    return Ok(None);
                }
                let changed = tx.execute(
                    "UPDATE users SET first_name = $1, last_name = $2, name_search = $3, phone = $4, \
                     marketing_consent = $5, marketing_consent_at = $6, profile_version = profile_version + 1 \
                     WHERE store_id = $7 AND id = $8 AND profile_version = $9",
                    &[
                        &p.first_name,
                        &p.last_name,
                        &name_search(&p),
                        &p.phone,
                        &p.marketing_consent,
                        &p.marketing_consent_at,
                        &store_id,
                        &id,
                        &expected_version,
                    ],
                )?;
                if changed == 0 {
                    return Err(StoreError::Refused(Refusal::ChangedConcurrently));
                }
                Ok(Some(()))
            })
            .await
    }

    async fn addresses(&self, store_id: StoreId, customer: UserId) -> Result<Vec<AddressRecord>, StoreError> {
        let rows: Vec<AddressRow> = self
            .db
            .query_all(
                &format!("{ADDRESS_SELECT} WHERE store_id = $1 AND customer_id = $2 ORDER BY created_at, id"),
                &[&store_id, &customer.to_string()],
            )
            .await?;
        rows.into_iter().map(address_record).collect()
    }

    async fn add_address(
        &self,
        store_id: StoreId,
        address: &AddressRecord,
        defaults: Defaults,
        max: i64,
    ) -> Result<Option<()>, StoreError> {
        let a = address.clone();
        self.db
            .write("add_customer_address", move |tx| {
                let customer = a.customer_id.to_string();
                if !customer_exists(tx, store_id, &customer)? {
                    return Ok(None);
                }
                let (held,): (i64,) = tx.query_one(
                    "SELECT COUNT(*) FROM customer_addresses WHERE store_id = $1 AND customer_id = $2",
                    &[&store_id, &customer],
                )?;
                if held >= max {
                    return Err(StoreError::Refused(Refusal::AddressBookFull));
                }
                let f = address_params(&a.address);
                tx.execute(
                    "INSERT INTO customer_addresses (id, store_id, customer_id, name, company, line1, \
                     line2, city, region, postal_code, country, phone, version, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    &[
                        &a.id,
                        &store_id,
                        &customer,
                        f[0],
                        f[1],
                        f[2],
                        f[3],
                        f[4],
                        f[5],
                        f[6],
                        f[7],
                        f[8],
                        &a.version,
                        &a.created_at,
                    ],
                )?;
                // A book without a default gets this address as that default.
                let (shipping, billing): (Option<String>, Option<String>) = tx.query_one(
                    "SELECT default_shipping_address_id, default_billing_address_id FROM users \
                     WHERE store_id = $1 AND id = $2",
                    &[&store_id, &customer],
                )?;
                let first = |d: DefaultChange, current: &Option<String>| match (d, current) {
                    (DefaultChange::Keep, None) => DefaultChange::Set,
                    (d, _) => d,
                };
                let defaults = Defaults {
                    shipping: first(defaults.shipping, &shipping),
                    billing: first(defaults.billing, &billing),
                };
                apply_defaults(tx, store_id, &customer, &a.id, defaults)?;
                Ok(Some(()))
            })
            .await
    }

    async fn replace_address(
        &self,
        store_id: StoreId,
        address: &AddressRecord,
        expected_version: i64,
        defaults: Defaults,
    ) -> Result<Option<()>, StoreError> {
        let a = address.clone();
        self.db
            .write("replace_customer_address", move |tx| {
                let customer = a.customer_id.to_string();
                let existing: Option<(i64,)> = tx.query_opt(
                    "SELECT version FROM customer_addresses WHERE store_id = $1 AND customer_id = $2 AND id = $3",
                    &[&store_id, &customer, &a.id],
                )?;
                if existing.is_none() {
                    return Ok(None);
                }
                let f = address_params(&a.address);
                let changed = tx.execute(
                    "UPDATE customer_addresses SET name = $1, company = $2, line1 = $3, line2 = $4, \
                     city = $5, region = $6, postal_code = $7, country = $8, phone = $9, version = $10 \
                     WHERE store_id = $11 AND customer_id = $12 AND id = $13 AND version = $14",
                    &[
                        f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], &a.version, &store_id, &customer,
                        &a.id, &expected_version,
                    ],
                )?;
                if changed == 0 {
                    return Err(StoreError::Refused(Refusal::ChangedConcurrently));
                }
                apply_defaults(tx, store_id, &customer, &a.id, defaults)?;
                Ok(Some(()))
            })
            .await
    }

    async fn delete_address(
        &self,
        store_id: StoreId,
        customer: UserId,
        address_id: &str,
    ) -> Result<bool, StoreError> {
        let (customer, address_id) = (customer.to_string(), address_id.to_owned());
        self.db
            .write("delete_customer_address", move |tx| {
                let deleted = tx.execute(
                    "DELETE FROM customer_addresses WHERE store_id = $1 AND customer_id = $2 AND id = $3",
                    &[&store_id, &customer, &address_id],
                )?;
                let unset = Defaults {
                    shipping: DefaultChange::Unset,
                    billing: DefaultChange::Unset,
                };
                apply_defaults(tx, store_id, &customer, &address_id, unset)?;
                Ok(deleted == 1)
            })
            .await
    }

    async fn record_orders(
        &self,
        consumer: &str,
        mut batch: Vec<CarriedFigures>,
    ) -> Result<usize, StoreError> {
        // Rows locked in one order by every replica, so that two batches cannot deadlock on
        // PostgreSQL; the version guard makes the order of application irrelevant.
        batch.sort_by(|a, b| {
            (a.store_id, &a.figures.order_id, &a.event_id).cmp(&(
                b.store_id,
                &b.figures.order_id,
                &b.event_id,
            ))
        });
        let consumer = consumer.to_owned();
        self.db
            .write("record_customer_orders", move |tx| {
                let mut applied = 0;
                for carried in &batch {
                    if record_one(tx, &consumer, carried)? {
                        applied += 1;
                    }
                }
                Ok(applied)
            })
            .await
    }
}

/// One order's figures, unless its event was seen; whether they were applied.
fn record_one(tx: &mut Tx<'_>, consumer: &str, carried: &CarriedFigures) -> Result<bool, DbError> {
    if !mercato_runtime::inbox::first_delivery(tx, consumer, &carried.event_id)? {
        return Ok(false);
    }
    let f = &carried.figures;
    // The newest version of the order wins, whichever event arrives first.
    let applied = tx.execute(
        "INSERT INTO customer_orders (store_id, order_id, customer_id, total_minor, \
         refunded_minor, version) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (store_id, order_id) DO UPDATE SET total_minor = excluded.total_minor, \
         refunded_minor = excluded.refunded_minor, version = excluded.version \
         WHERE customer_orders.version < excluded.version",
        &[
            &carried.store_id,
            &f.order_id,
            &f.customer_id,
            &f.total_minor,
            &f.refunded_minor,
            &f.version,
        ],
    )?;
    Ok(applied == 1)
}
