//! The fold's ledger on the tables, inside one write transaction: customer and order facts are
//! read and written as the fold goes; bucket, product and status additions are gathered in
//! memory ([`Pending`]) and written once per row at the end of the batch.

use super::rows::Rows;
use crate::domain::counts::{Counts, FIELDS, Field};
use crate::domain::fold::OrderFacts;
use crate::domain::ledger::{Bucket, Ledger, ProductDelta};
use crate::domain::memory::ProductCounts;
use mercato_runtime::db::{DbError, Param, Tx};
use std::collections::BTreeMap;

/// Additions gathered over a batch, by store.
#[derive(Default)]
pub struct Pending {
    buckets: BTreeMap<(String, Bucket), Counts>,
    products: BTreeMap<(String, String, String, String), (String, ProductCounts)>,
    statuses: BTreeMap<(String, Bucket, String), i64>,
}

/// The ledger of one store over a transaction.
pub struct SqlLedger<'a, 't> {
    pub tx: &'a mut Tx<'t>,
    pub store: &'a str,
    pub pending: &'a mut Pending,
}

impl Ledger for SqlLedger<'_, '_> {
    type Error = DbError;

    fn customer_order(&mut self, key: &str, order_id: &str, at_ms: i64) -> Result<bool, DbError> {
        let inserted = self.tx.execute(
            "INSERT INTO customers (store_id, customer_key, first_order_id, first_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (store_id, customer_key) DO NOTHING",
            &[&self.store, &key, &order_id, &at_ms],
        )?;
        Ok(inserted == 1)
    }

    fn customer_on_day(&mut self, day: &str, key: &str, kind: &str) -> Result<bool, DbError> {
        let inserted = self.tx.execute(
            "INSERT INTO customer_day_kinds (store_id, day, customer_key, kind) VALUES ($1, $2, $3, $4)
             ON CONFLICT (store_id, day, customer_key, kind) DO NOTHING",
            &[&self.store, &day, &key, &kind],
        )?;
        Ok(inserted == 1)
    }

    fn add(&mut self, bucket: Bucket, counts: &Counts) -> Result<(), DbError> {
        let key = (self.store.to_owned(), bucket);
        self.pending.buckets.entry(key).or_default().add(counts);
        Ok(())
    }

    fn add_product(&mut self, day: &str, d: &ProductDelta) -> Result<(), DbError> {
        let key = (
            self.store.to_owned(),
            day.to_owned(),
            d.product_id.clone(),
            d.sku.clone(),
        );
        let entry = self.pending.products.entry(key).or_default();
        if !d.title.is_empty() {
            entry.0 = d.title.clone();
        }
        entry.1.add(d);
        Ok(())
    }

    fn add_status(&mut self, bucket: Bucket, status: &str, delta: i64) -> Result<(), DbError> {
        let key = (self.store.to_owned(), bucket, status.to_owned());
        *self.pending.statuses.entry(key).or_default() += delta;
        Ok(())
    }
}

/// The rows of `hourly` or `daily` adding `counts` to each bucket.
fn bucket_rows(table: &str) -> Rows<'_> {
    let columns: Vec<&str> = Field::ALL.iter().map(|f| f.column()).collect();
    let updates: Vec<String> = columns
        .iter()
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect();
    Rows::new(
        format!("INSERT INTO {table} (store_id, bucket, {})", columns.join(", ")),
        2 + FIELDS,
        format!(
            "ON CONFLICT (store_id, bucket) DO UPDATE SET {}",
            updates.join(", ")
        ),
    )
}

impl Pending {
    /// Writes what was gathered, a few multi-row statements per table.
    pub fn flush(self, tx: &mut Tx<'_>) -> Result<(), DbError> {
        self.write_buckets(tx)?;
        self.write_products(tx)?;
        let days = self
            .products
            .iter()
            .map(|(k, (_, p))| (k.clone(), p.clone()))
            .collect();
        super::weeks::add_weeks(tx, &days)?;
        self.write_statuses(tx)
    }

    fn write_buckets(&self, tx: &mut Tx<'_>) -> Result<(), DbError> {
        let (mut hourly, mut daily) = (bucket_rows("hourly"), bucket_rows("daily"));
        for ((store, bucket), counts) in &self.buckets {
            let mut row: Vec<&dyn Param> = Vec::with_capacity(2 + FIELDS);
            row.push(store);
            let rows = match bucket {
                Bucket::Hour(h) => {
                    row.push(h);
                    &mut hourly
                }
                Bucket::Day(d) => {
                    row.push(d);
                    &mut daily
                }
            };
            row.extend(counts.0.iter().map(|v| v as &dyn Param));
            rows.push(&row);
        }
        hourly.write(tx)?;
        daily.write(tx)
    }

    /// Each product's day, and its title (the latest day's that has one) once per product.
    fn write_products(&self, tx: &mut Tx<'_>) -> Result<(), DbError> {
        let mut days = Rows::new(
            "INSERT INTO product_days (store_id, day, product_id, sku, title, units, net_minor, refunded_units, refunds_minor)",
            9,
            "ON CONFLICT (store_id, day, product_id, sku) DO UPDATE SET
               title = CASE WHEN excluded.title = '' THEN product_days.title ELSE excluded.title END,
               units = product_days.units + excluded.units,
               net_minor = product_days.net_minor + excluded.net_minor,
               refunded_units = product_days.refunded_units + excluded.refunded_units,
               refunds_minor = product_days.refunds_minor + excluded.refunds_minor",
        );
        let mut titles: BTreeMap<(&String, &String, &String), &String> = BTreeMap::new();
        for ((store, day, product, sku), (title, p)) in &self.products {
            days.push(&[
                store,
                day,
                product,
                sku,
                title,
                &p.units,
                &p.net_minor,
                &p.refunded_units,
                &p.refunds_minor,
            ]);
            if !title.is_empty() {
                titles.insert((store, product, sku), title);
            }
        }
        days.write(tx)?;
        let mut rows = Rows::new(
            "INSERT INTO product_titles (store_id, product_id, sku, title)",
            4,
            // A title seen again unchanged writes nothing.
            "ON CONFLICT (store_id, product_id, sku) DO UPDATE SET title = excluded.title
             WHERE product_titles.title <> excluded.title",
        );
        for ((store, product, sku), title) in &titles {
            rows.push(&[*store, *product, *sku, *title]);
        }
        rows.write(tx)
    }

    fn write_statuses(&self, tx: &mut Tx<'_>) -> Result<(), DbError> {
        let tail = |table: &str| {
            format!(
                "ON CONFLICT (store_id, bucket, status) DO UPDATE SET orders = {table}.orders + excluded.orders"
            )
        };
        let mut hours = Rows::new(
            "INSERT INTO status_hours (store_id, bucket, status, orders)",
            4,
            tail("status_hours"),
        );
        let mut days = Rows::new(
            "INSERT INTO status_days (store_id, bucket, status, orders)",
            4,
            tail("status_days"),
        );
        for ((store, bucket, status), n) in self.statuses.iter().filter(|(_, n)| **n != 0) {
            match bucket {
                Bucket::Hour(h) => hours.push(&[store, h, status, n]),
                Bucket::Day(d) => days.push(&[store, d, status, n]),
            }
        }
        hours.write(tx)?;
        days.write(tx)
    }
}

type FactsRow = (
    i64,
    String,
    i64,
    String,
    i64,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    String,
);

/// What is held of an order.
pub fn order_facts(tx: &mut Tx<'_>, store: &str, order_id: &str) -> Result<Option<OrderFacts>, DbError> {
    // Locked (PostgreSQL) until the commit: another replica folding a snapshot of the same
    // order waits, then reads what this one wrote.
    let sql = format!(
        "SELECT version, status, placed_hour, placed_day, confirmed_at, customer_key, gross_minor,
                discounts_minor, shipping_minor, taxes_minor, units, refunded_minor, refunded_lines
         FROM orders WHERE store_id = $1 AND order_id = $2{}",
        tx.lock_rows()
    );
    let row: Option<FactsRow> = tx.query_opt(&sql, &[&store, &order_id])?;
    Ok(row.map(|r| OrderFacts {
        order_id: order_id.to_owned(),
        version: r.0,
        status: r.1,
        placed_hour: r.2,
        placed_day: r.3,
        confirmed_at_ms: r.4,
        customer_key: r.5,
        gross_minor: r.6,
        discounts_minor: r.7,
        shipping_minor: r.8,
        taxes_minor: r.9,
        units: r.10,
        refunded_minor: r.11,
        refunded_lines: r.12.split(',').filter_map(|q| q.parse().ok()).collect(),
    }))
}

/// Keeps what is now held of an order; `first` when nothing was held. Two replicas folding the
/// first snapshots of one order at once: the second insert finds the row and fails the batch,
/// which is retried (its events come back) and then folds against what the first wrote.
pub fn put_order_facts(tx: &mut Tx<'_>, store: &str, f: &OrderFacts, first: bool) -> Result<(), DbError> {
    let lines: Vec<String> = f.refunded_lines.iter().map(i64::to_string).collect();
    let lines = lines.join(",");
    let changed = tx.execute(
        "INSERT INTO orders (store_id, order_id, version, status, placed_hour, placed_day, confirmed_at,
            customer_key, gross_minor, discounts_minor, shipping_minor, taxes_minor, units, refunded_minor,
            refunded_lines)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (store_id, order_id) DO UPDATE SET version = excluded.version, status = excluded.status,
            confirmed_at = excluded.confirmed_at, customer_key = excluded.customer_key,
            gross_minor = excluded.gross_minor, discounts_minor = excluded.discounts_minor,
            shipping_minor = excluded.shipping_minor, taxes_minor = excluded.taxes_minor,
            units = excluded.units, refunded_minor = excluded.refunded_minor,
            refunded_lines = excluded.refunded_lines
         WHERE $16 = 0",
        &[
            &store,
            &f.order_id,
            &f.version,
            &f.status,
            &f.placed_hour,
            &f.placed_day,
            &f.confirmed_at_ms,
            &f.customer_key,
            &f.gross_minor,
            &f.discounts_minor,
            &f.shipping_minor,
            &f.taxes_minor,
            &f.units,
            &f.refunded_minor,
            &lines,
            &i64::from(first),
        ],
    )?;
    if changed != 1 {
        return Err(DbError::Busy(format!(
            "order {} folded concurrently; retrying",
            f.order_id
        )));
    }
    Ok(())
}
