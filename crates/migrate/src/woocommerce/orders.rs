//! Orders from WooCommerce's HPOS tables: `wc_orders` (settled statuses only), their billing and
//! shipping rows in `wc_order_addresses`, shipping and discount totals in
//! `wc_order_operational_data`, refunds (`shop_order_refund` rows, negative totals), and line
//! items with their meta, each line's SKU from the product or variation it names.

use super::catalog::ms;
use super::customers::address;
use super::meta::{self, AT_SECONDS, Meta, id_list};
use super::values::{money, text, whole};
use super::{WooCommerce, after_id, since_s};
use crate::source::{BadRow, Row, ScanFrom, SourceRecord};
use mercato_proto::common::Address;
use mercato_proto::imports::{Entity, ImportedOrder, ImportedOrderLine};
use mercato_runtime::imports::{numeric_key, order_status};
use mercato_runtime::money::Currency;
use sqlx::Row as _;
use std::collections::HashMap;

/// WooCommerce statuses that are history (see `order_status`), with and without the prefix.
const SETTLED: &str = "'wc-completed','wc-processing','wc-cancelled','wc-refunded','wc-failed',\
    'completed','processing','cancelled','refunded','failed'";

/// A `wc_orders` row.
struct OrderRow {
    id: u64,
    status: String,
    currency: Vec<u8>,
    tax: Option<String>,
    total: Option<String>,
    customer_id: u64,
    email: Vec<u8>,
    created_s: Option<i64>,
    updated_s: Option<i64>,
}

/// A line item.
struct Item {
    id: u64,
    name: Vec<u8>,
}

/// Everything a page of orders was read with.
#[derive(Default)]
struct Page {
    addresses: HashMap<(u64, String), [String; 10]>,
    bad_addresses: HashMap<u64, String>,
    totals: HashMap<u64, (Option<String>, Option<String>)>,
    refunds: HashMap<u64, String>,
    items: HashMap<u64, Vec<Item>>,
    item_meta: Meta,
    skus: Meta,
}

impl WooCommerce {
    pub(super) async fn scan_orders(&self, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<Row>> {
        let orders = self.order_rows(from, limit).await?;
        let ids: Vec<u64> = orders.iter().map(|o| o.id).collect();
        let page = self.order_page(&ids).await?;
        let table = self.tables.orders.trim_matches('`');
        Ok(orders
            .iter()
            .map(|o| match order(o, &page) {
                Ok(order) => Row::Good(SourceRecord::Order(order)),
                Err(reason) => Row::Bad(BadRow {
                    entity: Entity::Order,
                    legacy_key: numeric_key(o.id),
                    location: format!("{table}.id={}", o.id),
                    reason,
                }),
            })
            .collect())
    }

    async fn order_rows(&self, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<OrderRow>> {
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
                tax: row.try_get(3)?,
                total: row.try_get(4)?,
                customer_id: row.try_get(5)?,
                email: row.try_get(6)?,
                created_s: row.try_get(7)?,
                updated_s: row.try_get(8)?,
            });
        }
        Ok(out)
    }

    async fn order_page(&self, ids: &[u64]) -> anyhow::Result<Page> {
        let mut page = Page::default();
        if ids.is_empty() {
            return Ok(page);
        }
        let t = &self.tables;
        let list = id_list(ids);
        let sql = format!(
            "SELECT order_id, address_type, CAST(first_name AS BINARY), CAST(last_name AS BINARY), \
               CAST(company AS BINARY), CAST(address_1 AS BINARY), CAST(address_2 AS BINARY), \
               CAST(city AS BINARY), CAST(state AS BINARY), CAST(postcode AS BINARY), \
               CAST(country AS BINARY), CAST(phone AS BINARY) \
             FROM {} WHERE order_id IN ({list})",
            t.order_addresses
        );
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
        {
            let id: u64 = row.try_get(0)?;
            let kind: Option<String> = row.try_get(1)?;
            let mut fields: [String; 10] = Default::default();
            for (n, field) in fields.iter_mut().enumerate() {
                let bytes: Option<Vec<u8>> = row.try_get(n + 2)?;
                match text("address", &bytes.unwrap_or_default()) {
                    Ok(s) => *field = s.trim().to_owned(),
                    Err(reason) => {
                        page.bad_addresses.insert(id, reason);
                    }
                }
            }
            page.addresses.insert((id, kind.unwrap_or_default()), fields);
        }
        let sql = format!(
            "SELECT order_id, CAST(shipping_total_amount AS CHAR), CAST(discount_total_amount AS CHAR) \
             FROM {} WHERE order_id IN ({list})",
            t.order_operational_data
        );
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
        {
            page.totals
                .insert(row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?));
        }
        let sql = format!(
            "SELECT parent_order_id, CAST(SUM(total_amount) AS CHAR) FROM {} \
             WHERE type = 'shop_order_refund' AND parent_order_id IN ({list}) GROUP BY parent_order_id",
            t.orders
        );
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
        {
            let sum: Option<String> = row.try_get(1)?;
            page.refunds.insert(row.try_get(0)?, sum.unwrap_or_default());
        }
        self.order_items(&list, &mut page).await?;
        Ok(page)
    }

    async fn order_items(&self, list: &str, page: &mut Page) -> anyhow::Result<()> {
        let t = &self.tables;
        let sql = format!(
            "SELECT order_item_id, order_id, CAST(order_item_name AS BINARY) FROM {} \
             WHERE order_id IN ({list}) AND order_item_type = 'line_item' \
             ORDER BY order_id, order_item_id",
            t.order_items
        );
        let mut item_ids = Vec::new();
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
        {
            let item = Item {
                id: row.try_get(0)?,
                name: row.try_get(2)?,
            };
            item_ids.push(item.id);
            page.items.entry(row.try_get(1)?).or_default().push(item);
        }
        page.item_meta = meta::load(
            &self.pool,
            &t.order_itemmeta,
            "order_item_id",
            &item_ids,
            "meta_key IN ('_qty','_line_subtotal','_line_total','_line_tax','_product_id','_variation_id')",
        )
        .await?;
        let mut posts: Vec<u64> = Vec::new();
        for id in &item_ids {
            for key in ["_product_id", "_variation_id"] {
                if let Ok(post) = page.item_meta.str(*id, key).trim().parse::<u64>()
                    && post != 0
                {
                    posts.push(post);
                }
            }
        }
        posts.sort_unstable();
        posts.dedup();
        page.skus = meta::load(&self.pool, &t.postmeta, "post_id", &posts, "meta_key = '_sku'").await?;
        Ok(())
    }
}

fn order(o: &OrderRow, page: &Page) -> Result<ImportedOrder, String> {
    let currency = text("currency", &o.currency)?;
    let digits = Currency::parse(&currency)
        .map_err(|_| format!("currency {currency:?} is not supported"))?
        .minor_digits();
    let amount = |field: &str, v: &Option<String>| match v.as_deref() {
        None | Some("") => Ok(0),
        Some(v) => money(field, v, digits),
    };
    if let Some(reason) = page.bad_addresses.get(&o.id) {
        return Err(reason.clone());
    }
    let (shipping, discount) = page.totals.get(&o.id).cloned().unwrap_or_default();
    let refunded = -amount("refund total_amount", &page.refunds.get(&o.id).cloned())?;
    let mut status =
        order_status(&o.status).ok_or_else(|| format!("status {:?} is not settled", o.status))?;
    if status == "confirmed" && refunded > 0 {
        status = "partially_refunded";
    }
    let lines = page
        .items
        .get(&o.id)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|item| line(item, page, digits))
        .collect::<Result<Vec<_>, _>>()?;
    let address_of = |kind: &str| -> Result<Option<Address>, String> {
        match page.addresses.get(&(o.id, kind.to_owned())) {
            Some(fields) => address(fields.clone()),
            None => Ok(None),
        }
    };
    Ok(ImportedOrder {
        legacy_key: numeric_key(o.id),
        number: i64::try_from(o.id).map_err(|_| "id out of range".to_owned())?,
        customer_legacy_key: if o.customer_id == 0 {
            String::new()
        } else {
            numeric_key(o.customer_id)
        },
        email: text("billing_email", &o.email)?.trim().to_lowercase(),
        status: status.into(),
        legacy_status: o.status.clone(),
        currency,
        lines,
        shipping_minor: amount("shipping_total_amount", &shipping)?,
        discount_minor: amount("discount_total_amount", &discount)?,
        tax_minor: amount("tax_amount", &o.tax)?,
        total_minor: amount("total_amount", &o.total)?,
        refunded_minor: refunded,
        created_at_ms: ms(o.created_s),
        modified_at_ms: ms(o.updated_s.or(o.created_s)),
        billing_address: address_of("billing")?,
        shipping_address: address_of("shipping")?,
    })
}

fn line(item: &Item, page: &Page, digits: u8) -> Result<ImportedOrderLine, String> {
    let m = &page.item_meta;
    let title = text("order_item_name", &item.name)?;
    let product = m.str(item.id, "_product_id").trim().parse::<u64>().unwrap_or(0);
    let variation = m.str(item.id, "_variation_id").trim().parse::<u64>().unwrap_or(0);
    let post = if variation != 0 { variation } else { product };
    let sku = text("_sku", page.skus.get(post, "_sku").unwrap_or_default())?
        .trim()
        .to_owned();
    if sku.is_empty() {
        return Err(format!(
            "line {} ({title:?}) has no SKU: product {product}, variation {variation} has none",
            item.id
        ));
    }
    let amount = |key: &str| {
        let v = m.str(item.id, key);
        if v.trim().is_empty() {
            Ok(0)
        } else {
            money(key, &v, digits)
        }
    };
    Ok(ImportedOrderLine {
        sku,
        title,
        quantity: whole("_qty", &m.str(item.id, "_qty"))?,
        subtotal_minor: amount("_line_subtotal")?,
        total_minor: amount("_line_total")?,
        tax_minor: amount("_line_tax")?,
    })
}
