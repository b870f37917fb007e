//! [`ImportStore`] in portable SQL, on the identity database (SQLite and PostgreSQL alike).
//!
//! A batch is one transaction with two reads up front (the batch's stored customers with their
//! imported addresses, and the accounts holding the batch's e-mails), then one insert or update
//! per changed customer and one per changed address: nothing for an unchanged one.

use super::account_events::{self, Names};
use super::imports::{
    AddressKind, CustomerImport, ImportStore, PassEvent, Progress, Watermark, Written, address_id,
};
use super::sql::SqlIdentityStore;
use super::{StoreError, UserRecord};
use async_trait::async_trait;
use mercato_proto::common::Address;
use mercato_proto::imports::ImportedCustomer;
use mercato_runtime::auth::Role;
use mercato_runtime::db::{DbError, Param, Tx};
use mercato_runtime::ids::{StoreId, UserId};
use mercato_runtime::imports::Canonical;
use std::collections::HashMap;

/// An imported customer's row: the columns of [`CUSTOMER_COLUMNS`].
type CustomerRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<i64>,
);

const CUSTOMER_COLUMNS: &str = "SELECT id, legacy_key, email, first_name, last_name, phone, \
     password_hash, created_at, legacy_modified_at FROM users";

/// An address row: its id and the nine fields of [`Address`].
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
);

const ADDRESS_COLUMNS: &str = "SELECT a.id, a.name, a.company, a.line1, a.line2, a.city, a.region, \
     a.postal_code, a.country, a.phone FROM customer_addresses a";

/// `$first, $first+1, …` for `n` parameters.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn customer(row: CustomerRow) -> (String, ImportedCustomer) {
    let (id, legacy_key, email, first_name, last_name, phone, password_hash, created_at, modified) = row;
    let record = ImportedCustomer {
        legacy_key,
        email,
        first_name,
        last_name,
        phone: phone.unwrap_or_default(),
        password_hash,
        created_at_ms: created_at,
        modified_at_ms: modified.unwrap_or(0),
        billing_address: None,
        shipping_address: None,
    };
    (id, record)
}

fn address(r: AddressRow) -> (String, Address) {
    let address = Address {
        name: r.1,
        company: r.2,
        line1: r.3,
        line2: r.4,
        city: r.5,
        region: r.6,
        postal_code: r.7,
        country: r.8,
        phone: r.9,
    };
    (r.0, address)
}

/// Fills each customer's imported addresses from `addresses` (by derived id).
fn attach_addresses(
    store_id: StoreId,
    source: &str,
    customers: &mut [ImportedCustomer],
    mut addresses: HashMap<String, Address>,
) {
    for c in customers {
        let id = |kind| address_id(store_id, source, &c.legacy_key, kind);
        c.billing_address = addresses.remove(&id(AddressKind::Billing));
        c.shipping_address = addresses.remove(&id(AddressKind::Shipping));
    }
}

/// The batch's customers as stored, by user id, with their imported addresses.
fn stored_customers(
    tx: &mut Tx<'_>,
    store_id: StoreId,
    source: &str,
    ids: &[String],
) -> Result<HashMap<String, ImportedCustomer>, DbError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let lock = tx.lock_rows();
    let mut params: Vec<&dyn Param> = vec![&store_id];
    params.extend(ids.iter().map(|id| id as &dyn Param));
    // By primary key, the store only filtering (see `Tx::filter_only`).
    let sql = format!(
        "{CUSTOMER_COLUMNS} WHERE {}store_id = $1 AND id IN ({}){lock}",
        tx.filter_only(),
        placeholders(2, ids.len())
    );
    let rows: Vec<CustomerRow> = tx.query_all(&sql, &params)?;
    let (ids, mut records): (Vec<String>, Vec<ImportedCustomer>) = rows.into_iter().map(customer).unzip();
    let sql = format!(
        "{ADDRESS_COLUMNS} WHERE a.store_id = $1 AND a.customer_id IN ({})",
        placeholders(2, ids.len())
    );
    let mut params: Vec<&dyn Param> = vec![&store_id];
    params.extend(ids.iter().map(|id| id as &dyn Param));
    let addresses: Vec<AddressRow> = if ids.is_empty() {
        Vec::new()
    } else {
        tx.query_all(&sql, &params)?
    };
    attach_addresses(
        store_id,
        source,
        &mut records,
        addresses.into_iter().map(address).collect(),
    );
    Ok(ids.into_iter().zip(records).collect())
}

/// Which account holds each of `emails` in the store.
fn email_owners(
    tx: &mut Tx<'_>,
    store_id: StoreId,
    emails: &[&str],
) -> Result<HashMap<String, String>, DbError> {
    if emails.is_empty() {
        return Ok(HashMap::new());
    }
    let mut params: Vec<&dyn Param> = vec![&store_id];
    params.extend(emails.iter().map(|e| e as &dyn Param));
    let sql = format!(
        "SELECT email, id FROM users WHERE store_id = $1 AND email IN ({})",
        placeholders(2, emails.len())
    );
    let rows: Vec<(String, String)> = tx.query_all(&sql, &params)?;
    Ok(rows.into_iter().collect())
}

/// Whether a stored hash is still the one an import brought (legacy or none): only then may a
/// re-import replace it.
fn replaceable(stored_hash: &str) -> bool {
    stored_hash.is_empty() || mercato_runtime::legacy_passwords::scheme(stored_hash).is_some()
}

/// What a batch writes for one customer.
struct Change<'a> {
    store_id: StoreId,
    source: &'a str,
    id: &'a str,
    new: &'a ImportedCustomer,
    old: Option<&'a ImportedCustomer>,
}

impl Change<'_> {
    fn address_id(&self, kind: AddressKind) -> String {
        address_id(self.store_id, self.source, &self.new.legacy_key, kind)
    }

    /// The hash to store: the imported one, unless a sign-in has replaced the old one.
    fn password_hash(&self) -> &str {
        match self.old {
            Some(old) if !replaceable(&old.password_hash) => &old.password_hash,
            _ => &self.new.password_hash,
        }
    }

    /// Its canonical form and password hash equal what is stored (the source's modification
    /// time may still have moved: see [`Change::touch`]).
    fn unchanged(&self) -> bool {
        self.old.is_some_and(|old| {
            old.canonical() == self.new.canonical() && self.password_hash() == old.password_hash
        })
    }

    /// Records a newer source modification time of an unchanged customer (no event, nothing
    /// else written), so `--follow` does not fetch it again and again.
    fn touch(&self, tx: &mut Tx<'_>) -> Result<(), DbError> {
        if self
            .old
            .is_some_and(|old| old.modified_at_ms != self.new.modified_at_ms)
        {
            tx.execute(
                "UPDATE users SET legacy_modified_at = $1 WHERE store_id = $2 AND id = $3",
                &[&self.new.modified_at_ms, &self.store_id, &self.id],
            )?;
        }
        Ok(())
    }

    fn default_ids(&self) -> (Option<String>, Option<String>) {
        let shipping = self
            .new
            .shipping_address
            .as_ref()
            .map(|_| self.address_id(AddressKind::Shipping));
        let billing = self
            .new
            .billing_address
            .as_ref()
            .map(|_| self.address_id(AddressKind::Billing));
        (shipping, billing)
    }

    fn insert(&self, tx: &mut Tx<'_>) -> Result<(), DbError> {
        let c = self.new;
        let (shipping, billing) = self.default_ids();
        tx.execute(
            "INSERT INTO users (id, store_id, email, role, password_hash, created_at, first_name, \
             last_name, name_search, phone, default_shipping_address_id, default_billing_address_id, \
             legacy_source, legacy_key, legacy_modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                &self.id,
                &self.store_id,
                &c.email,
                &Role::Customer.as_str(),
                &c.password_hash,
                &c.created_at_ms,
                &c.first_name,
                &c.last_name,
                &self.name_search(),
                &self.phone(),
                &shipping,
                &billing,
                &self.source,
                &c.legacy_key,
                &c.modified_at_ms,
            ],
        )?;
        Ok(())
    }

    fn update(&self, tx: &mut Tx<'_>) -> Result<(), DbError> {
        let c = self.new;
        let (shipping, billing) = self.default_ids();
        tx.execute(
            "UPDATE users SET email = $1, password_hash = $2, created_at = $3, first_name = $4, \
             last_name = $5, name_search = $6, phone = $7, default_shipping_address_id = $8, \
             default_billing_address_id = $9, legacy_modified_at = $10, \
             profile_version = profile_version + 1 WHERE store_id = $11 AND id = $12",
            &[
                &c.email,
                &self.password_hash(),
                &c.created_at_ms,
                &c.first_name,
                &c.last_name,
                &self.name_search(),
                &self.phone(),
                &shipping,
                &billing,
                &c.modified_at_ms,
                &self.store_id,
                &self.id,
            ],
        )?;
        Ok(())
    }

    fn name_search(&self) -> String {
        format!("{} {}", self.new.first_name, self.new.last_name)
            .trim()
            .to_lowercase()
    }

    fn phone(&self) -> Option<&str> {
        Some(self.new.phone.as_str()).filter(|p| !p.is_empty())
    }

    /// Inserts, replaces or deletes each imported address as the record has it.
    fn write_addresses(&self, tx: &mut Tx<'_>, now: i64) -> Result<(), DbError> {
        for kind in [AddressKind::Billing, AddressKind::Shipping] {
            let pick = |c: &ImportedCustomer| match kind {
                AddressKind::Billing => c.billing_address.clone(),
                AddressKind::Shipping => c.shipping_address.clone(),
            };
            let (old, new) = (self.old.and_then(pick), pick(self.new));
            if old == new {
                continue;
            }
            let id = self.address_id(kind);
            tx.execute(
                "DELETE FROM customer_addresses WHERE store_id = $1 AND id = $2",
                &[&self.store_id, &id],
            )?;
            if let Some(a) = new {
                insert_address(tx, self.store_id, self.id, &id, &a, now)?;
            }
        }
        Ok(())
    }

    /// `account_changed`, so notifications know the customer (no welcome mail).
    fn announce(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        let user = UserRecord {
            id: UserId(
                self.id
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("user id {:?}", self.id)))?,
            ),
            store_id: self.store_id,
            email: self.new.email.clone(),
            role: Role::Customer,
            password_hash: String::new(),
            created_at: self.new.created_at_ms,
            disabled_at: None,
        };
        let names = Names {
            first: &self.new.first_name,
            last: &self.new.last_name,
        };
        Ok(account_events::append_imported(tx, &user, names)?)
    }
}

fn insert_address(
    tx: &mut Tx<'_>,
    store_id: StoreId,
    customer: &str,
    id: &str,
    a: &Address,
    now: i64,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO customer_addresses (id, store_id, customer_id, name, company, line1, line2, \
         city, region, postal_code, country, phone, version, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13)",
        &[
            &id,
            &store_id,
            &customer,
            &a.name,
            &a.company,
            &a.line1,
            &a.line2,
            &a.city,
            &a.region,
            &a.postal_code,
            &a.country,
            &a.phone,
            &now,
        ],
    )?;
    Ok(())
}

/// The whole batch, in one transaction.
fn write_batch(
    tx: &mut Tx<'_>,
    store_id: StoreId,
    source: &str,
    batch: &[CustomerImport],
) -> Result<Vec<Written>, StoreError> {
    let ids: Vec<String> = batch.iter().map(|c| c.id.to_string()).collect();
    let stored = stored_customers(tx, store_id, source, &ids)?;
    let emails: Vec<&str> = batch.iter().map(|c| c.record.email.as_str()).collect();
    let mut owners = email_owners(tx, store_id, &emails)?;
    let now = mercato_runtime::time::now_ms();
    let mut written = Vec::with_capacity(batch.len());
    for (c, id) in batch.iter().zip(&ids) {
        if owners.get(&c.record.email).is_some_and(|owner| owner != id) {
            written.push(Written::EmailTaken);
            continue;
        }
        let change = Change {
            store_id,
            source,
            id,
            new: &c.record,
            old: stored.get(id),
        };
        if change.unchanged() {
            change.touch(tx)?;
            written.push(Written::Unchanged);
            continue;
        }
        match change.old {
            None => change.insert(tx)?,
            Some(old) => {
                owners.remove(&old.email);
                change.update(tx)?;
            }
        }
        change.write_addresses(tx, now)?;
        change.announce(tx)?;
        owners.insert(c.record.email.clone(), id.clone());
        written.push(if change.old.is_some() {
            Written::Updated
        } else {
            Written::Created
        });
    }
    Ok(written)
}

#[async_trait]
impl ImportStore for SqlIdentityStore {
    async fn import_customers(
        &self,
        store_id: StoreId,
        source: &str,
        batch: Vec<CustomerImport>,
    ) -> Result<Vec<Written>, StoreError> {
        let source = source.to_owned();
        self.db
            .write("import_customers", move |tx| {
                write_batch(tx, store_id, &source, &batch)
            })
            .await
    }

    async fn imported_customers(
        &self,
        store_id: StoreId,
        source: &str,
        from_key: &str,
        to_key: &str,
        limit: Option<u32>,
    ) -> Result<Vec<ImportedCustomer>, StoreError> {
        let (source, from, to) = (source.to_owned(), from_key.to_owned(), to_key.to_owned());
        let limit = i64::from(limit.unwrap_or(u32::MAX));
        self.db
            .read("imported_customers", move |tx| {
                read_range(tx, store_id, &source, &from, &to, limit)
            })
            .await
    }

    async fn customer_import_progress(
        &self,
        store_id: StoreId,
        source: &str,
    ) -> Result<Progress, StoreError> {
        let (count, last_key, last_modified): (i64, Option<String>, Option<i64>) = self
            .db
            .query_one(
                "SELECT COUNT(*), MAX(legacy_key), MAX(legacy_modified_at) FROM users \
                 WHERE store_id = $1 AND legacy_source = $2",
                &[&store_id, &source],
            )
            .await?;
        Ok(Progress {
            count: u64::try_from(count).unwrap_or(0),
            last_key: last_key.unwrap_or_default(),
            last_modified_ms: last_modified.unwrap_or(0),
        })
    }

    async fn record_import_pass(
        &self,
        store_id: StoreId,
        source: &str,
        event: PassEvent,
    ) -> Result<Watermark, StoreError> {
        let source = source.to_owned();
        self.db
            .write("record_import_pass", move |tx| {
                match event {
                    PassEvent::Began(clock_ms) => tx.execute(
                        "INSERT INTO import_passes (store_id, source, pass_began_ms) VALUES ($1, $2, $3)
                         ON CONFLICT (store_id, source) DO UPDATE SET pass_began_ms = CASE
                           WHEN import_passes.pass_began_ms = 0
                             OR import_passes.pass_began_ms > excluded.pass_began_ms
                           THEN excluded.pass_began_ms ELSE import_passes.pass_began_ms END",
                        &[&store_id, &source, &clock_ms],
                    )?,
                    // The finished pass covered what changed before its start: the mark moves
                    // to that start, or to an earlier one still pending (the same pass killed
                    // and resumed), never back. A later start pending is another pass's, kept.
                    PassEvent::Finished(began_ms) => tx.execute(
                        "INSERT INTO import_passes (store_id, source, watermark_ms) VALUES ($1, $2, $3)
                         ON CONFLICT (store_id, source) DO UPDATE SET
                           watermark_ms = CASE
                             WHEN import_passes.pass_began_ms > 0
                                  AND import_passes.pass_began_ms < excluded.watermark_ms
                             THEN CASE WHEN import_passes.pass_began_ms > import_passes.watermark_ms
                                       THEN import_passes.pass_began_ms ELSE import_passes.watermark_ms END
                             ELSE CASE WHEN excluded.watermark_ms > import_passes.watermark_ms
                                       THEN excluded.watermark_ms ELSE import_passes.watermark_ms END
                           END,
                           pass_began_ms = CASE WHEN import_passes.pass_began_ms > excluded.watermark_ms
                                                THEN import_passes.pass_began_ms ELSE 0 END",
                        &[&store_id, &source, &began_ms],
                    )?,
                };
                Ok(watermark_in(tx, store_id, &source)?)
            })
            .await
    }

    async fn import_watermark(&self, store_id: StoreId, source: &str) -> Result<Watermark, StoreError> {
        let source = source.to_owned();
        self.db
            .read("import_watermark", move |tx| {
                Ok(watermark_in(tx, store_id, &source)?)
            })
            .await
    }

    async fn upgrade_password(
        &self,
        store_id: StoreId,
        user_id: UserId,
        legacy_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let changed = self
            .db
            .execute(
                "upgrade_password",
                "UPDATE users SET password_hash = $1 WHERE store_id = $2 AND id = $3 AND password_hash = $4",
                &[&new_hash, &store_id, &user_id.to_string(), &legacy_hash],
            )
            .await?;
        Ok(changed == 1)
    }
}

fn watermark_in(tx: &mut Tx<'_>, store_id: StoreId, source: &str) -> Result<Watermark, DbError> {
    let row: Option<(i64, i64)> = tx.query_opt(
        "SELECT watermark_ms, pass_began_ms FROM import_passes WHERE store_id = $1 AND source = $2",
        &[&store_id, &source],
    )?;
    Ok(
        row.map_or_else(Watermark::default, |(watermark_ms, pass_began_ms)| Watermark {
            watermark_ms,
            pass_began_ms,
        }),
    )
}

/// The range's customers in key order with their imported addresses, the hash left out.
fn read_range(
    tx: &mut Tx<'_>,
    store_id: StoreId,
    source: &str,
    from: &str,
    to: &str,
    limit: i64,
) -> Result<Vec<ImportedCustomer>, StoreError> {
    let rows: Vec<CustomerRow> = tx.query_all(
        &format!(
            "{CUSTOMER_COLUMNS} WHERE store_id = $1 AND legacy_source = $2 AND legacy_key >= $3 \
             AND ($4 = '' OR legacy_key < $4) ORDER BY legacy_key LIMIT $5"
        ),
        &[&store_id, &source, &from, &to, &limit],
    )?;
    let mut records: Vec<ImportedCustomer> = rows.into_iter().map(|r| customer(r).1).collect();
    let Some(last) = records.last().map(|c| c.legacy_key.clone()) else {
        return Ok(records);
    };
    let addresses: Vec<AddressRow> = tx.query_all(
        &format!(
            "{ADDRESS_COLUMNS} JOIN users u ON u.id = a.customer_id WHERE a.store_id = $1 \
             AND u.store_id = $1 AND u.legacy_source = $2 AND u.legacy_key >= $3 AND u.legacy_key <= $4"
        ),
        &[&store_id, &source, &from, &last],
    )?;
    attach_addresses(
        store_id,
        source,
        &mut records,
        addresses.into_iter().map(address).collect(),
    );
    for r in &mut records {
        r.password_hash.clear();
    }
    Ok(records)
}
