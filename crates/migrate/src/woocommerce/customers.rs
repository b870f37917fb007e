//! Customers: users whose `{prefix}capabilities` give them the `customer` role, with their
//! names, billing and shipping addresses from `usermeta` and their password hash as it is.

use super::catalog::ms;
use super::meta::{self, AT_SECONDS, Meta, key_list};
use super::php::{Php, unserialize};
use super::values::text;
use super::{WooCommerce, after_id, since_s};
use crate::source::{BadRow, Row, ScanFrom, SourceRecord};
use mercato_proto::common::Address;
use mercato_proto::imports::{Entity, ImportedCustomer};
use mercato_runtime::imports::numeric_key;
use sqlx::Row as _;

pub(crate) const ADDRESS_FIELDS: [&str; 10] = [
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
    "phone",
];

struct UserRow {
    id: u64,
    email: Vec<u8>,
    pass: Vec<u8>,
    registered_s: Option<i64>,
}

impl WooCommerce {
    pub(super) async fn scan_customers(&self, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<Row>> {
        let users = self.customer_users(from, limit).await?;
        let ids: Vec<u64> = users.iter().map(|u| u.id).collect();
        let mut keys = vec!["first_name".to_owned(), "last_name".into(), "last_update".into()];
        for kind in ["billing", "shipping"] {
            keys.extend(ADDRESS_FIELDS.iter().map(|f| format!("{kind}_{f}")));
        }
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let filter = format!("meta_key IN ({})", key_list(&keys));
        let meta = meta::load(&self.pool, &self.tables.usermeta, "user_id", &ids, &filter).await?;
        let table = self.tables.users.trim_matches('`');
        Ok(users
            .iter()
            .map(|u| match customer(u, &meta) {
                Ok(c) => Row::Good(SourceRecord::Customer(c)),
                Err(reason) => Row::Bad(BadRow {
                    entity: Entity::Customer,
                    legacy_key: numeric_key(u.id),
                    location: format!("{table}.ID={}", u.id),
                    reason,
                }),
            })
            .collect())
    }

    async fn customer_users(&self, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<UserRow>> {
        let t = &self.tables;
        let since = since_s(from);
        let changed = if since.is_some() {
            format!(
                "AND (u.user_registered >= {AT_SECONDS} OR EXISTS (SELECT 1 FROM {} lu \
                 WHERE lu.user_id = u.ID AND lu.meta_key = 'last_update' \
                 AND CAST(lu.meta_value AS SIGNED) >= ?))",
                t.usermeta
            )
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT u.ID, CAST(u.user_email AS BINARY), CAST(u.user_pass AS BINARY), \
               TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', u.user_registered), \
               CAST(c.meta_value AS BINARY) \
             FROM {} u JOIN {} c ON c.user_id = u.ID AND c.meta_key = ? \
             WHERE u.ID > ? AND c.meta_value LIKE '%\"customer\"%' {changed} \
             ORDER BY u.ID LIMIT ?",
            t.users, t.usermeta
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(t.capabilities_key())
            .bind(after_id(from)?);
        if let Some(s) = since {
            query = query.bind(s).bind(s);
        }
        let rows = query.bind(limit as u64).fetch_all(&self.pool).await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in rows {
            let roles: Vec<u8> = row.try_get(4)?;
            let is_customer = unserialize(&roles)
                .ok()
                .and_then(|r| r.get("customer").cloned())
                .is_some_and(|v| v != Php::Bool(false));
            if is_customer {
                users.push(UserRow {
                    id: row.try_get(0)?,
                    email: row.try_get(1)?,
                    pass: row.try_get(2)?,
                    registered_s: row.try_get(3)?,
                });
            }
        }
        Ok(users)
    }
}

fn customer(u: &UserRow, meta: &Meta) -> Result<ImportedCustomer, String> {
    let email = text("user_email", &u.email)?.trim().to_lowercase();
    if email.is_empty() {
        return Err("no e-mail address".into());
    }
    let field = |key: &str| text(key, meta.get(u.id, key).unwrap_or_default());
    let last_update = meta.str(u.id, "last_update").trim().parse::<i64>().ok();
    let modified = match (u.registered_s, last_update) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    Ok(ImportedCustomer {
        legacy_key: numeric_key(u.id),
        email,
        first_name: field("first_name")?,
        last_name: field("last_name")?,
        phone: field("billing_phone")?,
        password_hash: text("user_pass", &u.pass)?,
        created_at_ms: ms(u.registered_s),
        modified_at_ms: ms(modified),
        billing_address: user_address(meta, u.id, "billing")?,
        shipping_address: user_address(meta, u.id, "shipping")?,
    })
}

/// A `billing_*`/`shipping_*` address, `None` when it has neither a street nor a country.
fn user_address(meta: &Meta, id: u64, kind: &str) -> Result<Option<Address>, String> {
    let get = |f: &str| {
        let key = format!("{kind}_{f}");
        text(&key, meta.get(id, &key).unwrap_or_default()).map(|s| s.trim().to_owned())
    };
    address([
        get("first_name")?,
        get("last_name")?,
        get("company")?,
        get("address_1")?,
        get("address_2")?,
        get("city")?,
        get("state")?,
        get("postcode")?,
        get("country")?,
        get("phone")?,
    ])
}

/// An address from its WooCommerce fields in [`ADDRESS_FIELDS`] order; `None` without a street
/// and a country.
pub(super) fn address(f: [String; 10]) -> Result<Option<Address>, String> {
    let [
        first,
        last,
        company,
        line1,
        line2,
        city,
        region,
        postal_code,
        country,
        phone,
    ] = f;
    if line1.is_empty() && country.is_empty() {
        return Ok(None);
    }
    Ok(Some(Address {
        name: format!("{first} {last}").trim().to_owned(),
        company,
        line1,
        line2,
        city,
        region,
        postal_code,
        country: country.to_uppercase(),
        phone,
    }))
}
