//! A page of orders from classic storage, as WooCommerce kept them before HPOS (and still does
//! where HPOS is off): `shop_order` posts with their fields in `postmeta` (`_order_currency`,
//! `_order_total`, `_order_tax` and `_order_shipping_tax`, `_order_shipping`, `_cart_discount`,
//! `_customer_user`, `_billing_*`, `_shipping_*`), refunds as `shop_order_refund` posts under
//! the order with a negative `_order_total`.

use super::customers::ADDRESS_FIELDS;
use super::meta::{self, AT_SECONDS, Meta, key_list};
use super::orders::{OrderRow, Page, SETTLED};
use super::values::decimal_sum;
use super::{WooCommerce, after_id, since_s};
use crate::source::ScanFrom;
use sqlx::Row as _;
use std::collections::HashMap;

/// The order meta a page reads besides the addresses.
const ORDER_KEYS: [&str; 8] = [
    "_order_currency",
    "_order_total",
    "_order_tax",
    "_order_shipping_tax",
    "_order_shipping",
    "_cart_discount",
    "_customer_user",
    "_billing_email",
];

/// A `shop_order` post's own columns.
struct OrderPost {
    id: u64,
    status: String,
    created_s: Option<i64>,
    updated_s: Option<i64>,
}

impl WooCommerce {
    /// Up to `limit` settled `shop_order` posts from `from`, and their addresses, totals and
    /// refunds.
    pub(super) async fn post_orders(
        &self,
        from: &ScanFrom,
        limit: usize,
    ) -> anyhow::Result<(Vec<OrderRow>, Page)> {
        let posts = self.order_posts(from, limit).await?;
        let ids: Vec<u64> = posts.iter().map(|p| p.id).collect();
        let mut keys: Vec<String> = ORDER_KEYS.iter().map(|k| (*k).to_owned()).collect();
        for kind in ["billing", "shipping"] {
            keys.extend(ADDRESS_FIELDS.iter().map(|f| format!("_{kind}_{f}")));
        }
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let filter = format!("meta_key IN ({})", key_list(&keys));
        let meta = meta::load(&self.pool, &self.tables.postmeta, "post_id", &ids, &filter).await?;
        let mut page = Page::default();
        for id in &ids {
            add_addresses(&mut page, &meta, *id);
            let field = |key: &str| Some(meta.str(*id, key)).filter(|v| !v.trim().is_empty());
            page.totals
                .insert(*id, (field("_order_shipping"), field("_cart_discount")));
        }
        if !ids.is_empty() {
            self.post_refunds(&ids, &mut page).await?;
        }
        let orders = posts.into_iter().map(|p| order_row(p, &meta)).collect();
        Ok((orders, page))
    }

    async fn order_posts(&self, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<OrderPost>> {
        let since = since_s(from);
        let changed = if since.is_some() {
            format!("AND p.post_modified_gmt >= {AT_SECONDS}")
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT p.ID, p.post_status, \
               TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', p.post_date_gmt), \
               TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', p.post_modified_gmt) \
             FROM {} p WHERE p.ID > ? AND p.post_type = 'shop_order' AND p.post_status IN ({SETTLED}) \
             {changed} ORDER BY p.ID LIMIT ?",
            self.tables.posts
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after_id(from)?);
        if let Some(s) = since {
            query = query.bind(s);
        }
        let rows = query.bind(limit as u64).fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(OrderPost {
                id: row.try_get(0)?,
                status: row.try_get(1)?,
                created_s: row.try_get(2)?,
                updated_s: row.try_get(3)?,
            });
        }
        Ok(out)
    }

    /// Each order's refunds' `_order_total`s (the first row of each, as `get_post_meta`),
    /// summed as decimals in Rust as HPOS sums its column: a total that is not a number is kept
    /// as it is, so that its order becomes a bad row with the value named, not a refund of 0.
    async fn post_refunds(&self, ids: &[u64], page: &mut Page) -> anyhow::Result<()> {
        let t = &self.tables;
        let rows = meta::fetch_in(&self.pool, ids, |list| {
            format!(
                "SELECT ID, post_parent FROM {} WHERE post_type = 'shop_order_refund' \
                 AND post_parent IN ({list})",
                t.posts
            )
        })
        .await?;
        let mut parents: Vec<(u64, u64)> = Vec::new();
        for row in rows {
            parents.push((row.try_get(0)?, row.try_get(1)?));
        }
        // Each order's refunds in the order they were made, whichever chunk found them.
        parents.sort_unstable();
        let ids: Vec<u64> = parents.iter().map(|(id, _)| *id).collect();
        let totals = meta::load(
            &self.pool,
            &t.postmeta,
            "post_id",
            &ids,
            "meta_key = '_order_total'",
        )
        .await?;
        let mut by_order: HashMap<u64, Vec<String>> = HashMap::new();
        for (refund, order) in parents {
            by_order
                .entry(order)
                .or_default()
                .push(totals.str(refund, "_order_total"));
        }
        for (order, values) in by_order {
            let sum = decimal_sum(values.iter().map(String::as_str)).unwrap_or_else(|bad| bad.to_owned());
            page.refunds.insert(order, sum);
        }
        Ok(())
    }
}

/// The order's `_billing_*` and `_shipping_*` addresses, each when any of its fields is set
/// (as HPOS has a row for it).
fn add_addresses(page: &mut Page, meta: &Meta, id: u64) {
    for kind in ["billing", "shipping"] {
        let raw: [Option<Vec<u8>>; 10] =
            ADDRESS_FIELDS.map(|f| meta.get(id, &format!("_{kind}_{f}")).map(<[u8]>::to_vec));
        if raw.iter().any(Option::is_some) {
            page.add_address(id, kind, raw);
        }
    }
}

fn order_row(p: OrderPost, meta: &Meta) -> OrderRow {
    let field = |key: &str| Some(meta.str(p.id, key)).filter(|v| !v.trim().is_empty());
    OrderRow {
        id: p.id,
        status: p.status,
        currency: meta.get(p.id, "_order_currency").unwrap_or_default().to_vec(),
        cart_tax: field("_order_tax"),
        shipping_tax: field("_order_shipping_tax"),
        total: field("_order_total"),
        customer_id: meta.str(p.id, "_customer_user").trim().parse().unwrap_or(0),
        email: meta.get(p.id, "_billing_email").unwrap_or_default().to_vec(),
        created_s: p.created_s,
        updated_s: p.updated_s,
    }
}
