//! The reads: each an index range over one store's buckets (hours by their start, days by
//! their date), never a scan of orders.

use super::AnalyticsStore;
use crate::domain::counts::{Counts, FIELDS, Field};
use crate::domain::memory::ProductCounts;
use crate::domain::sketch::Sketch;
use mercato_proto::analytics::LowStockItem;
use mercato_runtime::db::{DbError, FromRow, FromValue, RowAccess};
use std::collections::BTreeMap;

/// A row of counts after `KEY` leading columns.
struct Row<K>(K, Counts);

impl<K: FromValue> FromRow for Row<K> {
    fn from_row(row: &dyn RowAccess) -> Result<Self, DbError> {
        let key = K::from_value(row.column(0)?)?;
        let mut counts = Counts::default();
        for i in 0..FIELDS {
            counts.0[i] = Option::<i64>::from_value(row.column(i + 1)?)?.unwrap_or(0);
        }
        Ok(Row(key, counts))
    }
}

fn sums() -> String {
    let cols: Vec<String> = Field::ALL
        .iter()
        .map(|f| format!("CAST(COALESCE(SUM({0}), 0) AS BIGINT)", f.column()))
        .collect();
    cols.join(", ")
}

fn columns() -> String {
    let cols: Vec<&str> = Field::ALL.iter().map(|f| f.column()).collect();
    cols.join(", ")
}

/// Which bucket table a read goes to: `Days` between two dates (included), `Hours` between two
/// instants (half-open).
#[derive(Clone, Debug)]
pub enum Span {
    Days(String, String),
    Hours(i64, i64),
}

impl AnalyticsStore {
    /// The sum of the span's buckets.
    pub async fn counts(&self, store: &str, span: &Span) -> Result<Counts, DbError> {
        let row: Row<i64> = match span {
            Span::Days(from, to) => {
                let sql = format!(
                    "SELECT COUNT(*), {} FROM daily WHERE store_id = $1 AND bucket >= $2 AND bucket <= $3",
                    sums()
                );
                self.db.query_one(&sql, &[&store, from, to]).await?
            }
            Span::Hours(from, to) => {
                let sql = format!(
                    "SELECT COUNT(*), {} FROM hourly WHERE store_id = $1 AND bucket >= $2 AND bucket < $3",
                    sums()
                );
                self.db.query_one(&sql, &[&store, from, to]).await?
            }
        };
        Ok(row.1)
    }

    /// The days of `from`–`to` (included) that have figures.
    pub async fn days(&self, store: &str, from: &str, to: &str) -> Result<BTreeMap<String, Counts>, DbError> {
        let sql = format!(
            "SELECT bucket, {} FROM daily WHERE store_id = $1 AND bucket >= $2 AND bucket <= $3",
            columns()
        );
        let rows: Vec<Row<String>> = self.db.query_all(&sql, &[&store, &from, &to]).await?;
        Ok(rows.into_iter().map(|r| (r.0, r.1)).collect())
    }

    /// The hours in `[from, to)` that have figures.
    pub async fn hours(&self, store: &str, from: i64, to: i64) -> Result<BTreeMap<i64, Counts>, DbError> {
        let sql = format!(
            "SELECT bucket, {} FROM hourly WHERE store_id = $1 AND bucket >= $2 AND bucket < $3",
            columns()
        );
        let rows: Vec<Row<i64>> = self.db.query_all(&sql, &[&store, &from, &to]).await?;
        Ok(rows.into_iter().map(|r| (r.0, r.1)).collect())
    }

    /// Orders placed in the span, by their status now.
    pub async fn statuses(&self, store: &str, span: &Span) -> Result<BTreeMap<String, i64>, DbError> {
        let rows: Vec<(String, i64)> = match span {
            Span::Days(from, to) => {
                self.db
                    .query_all(
                        "SELECT status, CAST(SUM(orders) AS BIGINT) FROM status_days
                         WHERE store_id = $1 AND bucket >= $2 AND bucket <= $3 GROUP BY status",
                        &[&store, from, to],
                    )
                    .await?
            }
            Span::Hours(from, to) => {
                self.db
                    .query_all(
                        "SELECT status, CAST(SUM(orders) AS BIGINT) FROM status_hours
                         WHERE store_id = $1 AND bucket >= $2 AND bucket < $3 GROUP BY status",
                        &[&store, from, to],
                    )
                    .await?
            }
        };
        Ok(rows.into_iter().filter(|(_, n)| *n != 0).collect())
    }

    /// Distinct visitors over the days `from`–`to` (included), estimated from the days'
    /// sketches (exact in practice for small counts, about 1.6 % off for large ones).
    pub async fn visitors(&self, store: &str, from: &str, to: &str) -> Result<i64, DbError> {
        let rows: Vec<(Vec<u8>,)> = self
            .db
            .query_all(
                "SELECT registers FROM visitor_sketches WHERE store_id = $1 AND day >= $2 AND day <= $3",
                &[&store, &from, &to],
            )
            .await?;
        let mut all = Sketch::default();
        for (bytes,) in rows {
            all.merge(&Sketch::from_bytes(bytes));
        }
        Ok(all.estimate())
    }

    /// Every product row of the days `from`–`to`, by (day, product, SKU) (for `verify`).
    pub async fn product_days(
        &self,
        store: &str,
        from: &str,
        to: &str,
    ) -> Result<BTreeMap<(String, String, String), ProductCounts>, DbError> {
        let rows: Vec<(String, String, String, i64, i64, i64, i64)> = self
            .db
            .query_all(
                "SELECT day, product_id, sku, units, net_minor, refunded_units, refunds_minor FROM product_days
                 WHERE store_id = $1 AND day >= $2 AND day <= $3",
                &[&store, &from, &to],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let counts = ProductCounts {
                    units: r.3,
                    net_minor: r.4,
                    refunded_units: r.5,
                    refunds_minor: r.6,
                };
                ((r.0, r.1, r.2), counts)
            })
            .collect())
    }

    /// SKUs at or below their threshold now, lowest first.
    pub async fn low_stock(&self, store: &str) -> Result<Vec<LowStockItem>, DbError> {
        let rows: Vec<(String, String, i64, i64, i64)> = self
            .db
            .query_all(
                "SELECT sku, location, available, threshold, since_ms FROM low_stock
                 WHERE store_id = $1 AND available <= threshold ORDER BY available, sku, location LIMIT 500",
                &[&store],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| LowStockItem {
                sku: r.0,
                location: r.1,
                available: r.2,
                threshold: r.3,
                since_ms: r.4,
            })
            .collect())
    }
}
