//! A page of orders from WooCommerce's HPOS tables: `wc_orders` (the order, and its refunds as
//! `shop_order_refund` rows), `wc_order_addresses` and `wc_order_operational_data`.

use super::meta::{AT_SECONDS, fetch_in};
use super::orders::{OrderRow, Page, SETTLED};
use super::{WooCommerce, after_id, since_s};
use crate::source::ScanFrom;
use sqlx::Row as _;

impl WooCommerce {
    /// Up to `limit` settled orders from `from`, and their addresses, totals and refunds.
    pub(super) async fn hpos_orders(
        &self,
        from: &ScanFrom,
        limit: usize,
    ) -> anyhow::Result<(Vec<OrderRow>, Page)> {
        let orders = self.hpos_order_rows(from, limit).await?;
        let ids: Vec<u64> = orders.iter().map(|o| o.id).collect();
        let mut page = Page::default();
        if !ids.is_empty() {
            self.hpos_order_page(&ids, &mut page).await?;
        }
        Ok((orders, page))
    }

    async fn hpos_order_rows(&self, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<OrderRow>> {
        let since = since_s(from);
        let changed = if since.is_some() {
            format!("AND o.date_updated_gmt >= {AT_SECONDS}")
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT o.id, o.status, CAST(o.currency AS BINARY), CAST(o.tax_amount AS CHAR), \
               CAST(o.total_amount AS CHAR), CAST(COALESCE(o.customer_id, 0) AS UNSIGNED), \
               CAST(COALESCE(o.billing_email, '') AS BINARY), \
               TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', o.date_created_gmt), \
               TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', o.date_updated_gmt) \
             FROM {} o WHERE o.id > ? AND o.type = 'shop_order' AND o.status IN ({SETTLED}) \
             {changed} ORDER BY o.id LIMIT ?",
            self.tables.orders
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after_id(from)?);
        if let Some(s) = since {
            query = query.bind(s);
        }
        let rows = query.bind(limit as u64).fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(OrderRow {
                id: row.try_get(0)?,
                status: row.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                currency: row.try_get::<Option<Vec<u8>>, _>(2)?.unwrap_or_default(),
                cart_tax: row.try_get(3)?,
                shipping_tax: None,
                total: row.try_get(4)?,
                customer_id: row.try_get(5)?,
                email: row.try_get(6)?,
                created_s: row.try_get(7)?,
                updated_s: row.try_get(8)?,
            });
        }
        Ok(out)
    }

    async fn hpos_order_page(&self, ids: &[u64], page: &mut Page) -> anyhow::Result<()> {
        let t = &self.tables;
        let addresses = fetch_in(&self.pool, ids, |list| {
            format!(
                "SELECT order_id, address_type, CAST(first_name AS BINARY), CAST(last_name AS BINARY), \
                   CAST(company AS BINARY), CAST(address_1 AS BINARY), CAST(address_2 AS BINARY), \
                   CAST(city AS BINARY), CAST(state AS BINARY), CAST(postcode AS BINARY), \
                   CAST(country AS BINARY), CAST(phone AS BINARY) \
                 FROM {} WHERE order_id IN ({list})",
                t.order_addresses
            )
        })
        .await?;
        for row in addresses {
            let id: u64 = row.try_get(0)?;
            let kind: Option<String> = row.try_get(1)?;
            let mut raw: [Option<Vec<u8>>; 10] = Default::default();
            for (n, field) in raw.iter_mut().enumerate() {
                *field = row.try_get(n + 2)?;
            }
            page.add_address(id, &kind.unwrap_or_default(), raw);
        }
        let totals = fetch_in(&self.pool, ids, |list| {
            format!(
                "SELECT order_id, CAST(shipping_total_amount AS CHAR), CAST(discount_total_amount AS CHAR) \
                 FROM {} WHERE order_id IN ({list})",
                t.order_operational_data
            )
        })
        .await?;
        for row in totals {
            page.totals
                .insert(row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?));
        }
        let refunds = fetch_in(&self.pool, ids, |list| {
            format!(
                "SELECT parent_order_id, CAST(SUM(total_amount) AS CHAR) FROM {} \
                 WHERE type = 'shop_order_refund' AND parent_order_id IN ({list}) GROUP BY parent_order_id",
                t.orders
            )
        })
        .await?;
        for row in refunds {
            let sum: Option<String> = row.try_get(1)?;
            page.refunds.insert(row.try_get(0)?, sum.unwrap_or_default());
        }
        Ok(())
    }
}
