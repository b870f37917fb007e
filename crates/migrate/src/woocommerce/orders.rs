//! Orders, from whichever storage the shop uses (`Shop::orders`): WooCommerce's HPOS tables
//! (`orders_hpos`) or the classic `shop_order` posts with their fields in `postmeta`
//! (`orders_posts`). Either gives the same [`OrderRow`]s and [`Page`], so one order reads as the
//! same record from both: settled statuses only, billing and shipping addresses, shipping and
//! discount totals, refunds (`shop_order_refund`, negative totals), and line items with their
//! meta (`woocommerce_order_items`, shared by both storages), each line's SKU from the product
//! or variation it names (see `line_sku` for one that is gone).

use super::catalog::ms;
use super::customers::address;
use super::meta::{self, Meta};
use super::values::{money, money_sum, text, whole};
use super::{OrderStorage, WooCommerce, synthetic_sku};
use crate::source::{BadRow, Row, ScanFrom, SourceRecord};
use mercato_proto::common::Address;
use mercato_proto::imports::{Entity, ImportedOrder, ImportedOrderLine};
use mercato_runtime::imports::{numeric_key, order_status};
use mercato_runtime::money::Currency;
use sqlx::Row as _;
use std::collections::HashMap;

/// WooCommerce statuses that are history (see `order_status`), with and without the prefix.
pub(super) const SETTLED: &str = "'wc-completed','wc-processing','wc-cancelled','wc-refunded','wc-failed',\
    'completed','processing','cancelled','refunded','failed'";

/// An order's own fields, from a `wc_orders` row or a `shop_order` post and its meta.
pub(super) struct OrderRow {
    pub id: u64,
    pub status: String,
    pub currency: Vec<u8>,
    /// The items' tax; with HPOS the order's whole tax (`tax_amount`).
    pub cart_tax: Option<String>,
    /// The shipping's tax, which posts keep apart (`_order_shipping_tax`); `None` with HPOS,
    /// whose `tax_amount` includes it.
    pub shipping_tax: Option<String>,
    pub total: Option<String>,
    pub customer_id: u64,
    pub email: Vec<u8>,
    pub created_s: Option<i64>,
    pub updated_s: Option<i64>,
}

/// A line item.
pub(super) struct Item {
    id: u64,
    name: Vec<u8>,
}

/// Everything a page of orders was read with.
#[derive(Default)]
pub(super) struct Page {
    /// The ten address fields (customers' `ADDRESS_FIELDS` order) by order and `billing` or
    /// `shipping`.
    pub addresses: HashMap<(u64, String), [String; 10]>,
    pub bad_addresses: HashMap<u64, String>,
    /// Shipping and discount totals.
    pub totals: HashMap<u64, (Option<String>, Option<String>)>,
    /// The sum of each order's refunds' (negative) totals.
    pub refunds: HashMap<u64, String>,
    items: HashMap<u64, Vec<Item>>,
    item_meta: Meta,
    skus: Meta,
}

impl Page {
    /// Keeps an address's fields, or the reason one is not text.
    pub(super) fn add_address(&mut self, id: u64, kind: &str, raw: [Option<Vec<u8>>; 10]) {
        let mut fields: [String; 10] = Default::default();
        for (field, bytes) in fields.iter_mut().zip(raw) {
            match text("address", &bytes.unwrap_or_default()) {
                Ok(s) => *field = s.trim().to_owned(),
                Err(reason) => {
                    self.bad_addresses.insert(id, reason);
                }
            }
        }
        self.addresses.insert((id, kind.to_owned()), fields);
    }
}

impl WooCommerce {
    pub(super) async fn scan_orders(&self, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<Row>> {
        let storage = self.shop().await?.orders;
        let (orders, mut page) = match storage {
            OrderStorage::Hpos => self.hpos_orders(from, limit).await?,
            OrderStorage::Posts => self.post_orders(from, limit).await?,
        };
        let ids: Vec<u64> = orders.iter().map(|o| o.id).collect();
        if !ids.is_empty() {
            self.order_items(&ids, &mut page).await?;
        }
        let (table, column) = match storage {
            OrderStorage::Hpos => (&self.tables.orders, "id"),
            OrderStorage::Posts => (&self.tables.posts, "ID"),
        };
        let table = table.trim_matches('`');
        Ok(orders
            .iter()
            .map(|o| match order(o, &page) {
                Ok(order) => Row::Good(SourceRecord::Order(order)),
                Err(reason) => Row::Bad(BadRow {
                    entity: Entity::Order,
                    legacy_key: numeric_key(o.id),
                    location: format!("{table}.{column}={}", o.id),
                    reason,
                }),
            })
            .collect())
    }

    /// The line items of the orders `ids` (ascending), their meta and the SKUs of the posts
    /// they name.
    async fn order_items(&self, ids: &[u64], page: &mut Page) -> anyhow::Result<()> {
        let t = &self.tables;
        let rows = meta::fetch_in(&self.pool, ids, |list| {
            format!(
                "SELECT order_item_id, order_id, CAST(order_item_name AS BINARY) FROM {} \
                 WHERE order_id IN ({list}) AND order_item_type = 'line_item' \
                 ORDER BY order_id, order_item_id",
                t.order_items
            )
        })
        .await?;
        let mut item_ids = Vec::new();
        for row in rows {
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
            "meta_key IN ('_qty','_line_subtotal','_line_total','_line_tax','_product_id','_variation_id','_sku')",
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
        tax_minor: money_sum(
            &[
                ("tax_amount", o.cart_tax.as_deref().unwrap_or_default()),
                (
                    "_order_shipping_tax",
                    o.shipping_tax.as_deref().unwrap_or_default(),
                ),
            ],
            digits,
        )?,
        total_minor: amount("total_amount", &o.total)?,
        refunded_minor: refunded,
        created_at_ms: ms(o.created_s),
        modified_at_ms: ms(o.updated_s.or(o.created_s)),
        billing_address: address_of("billing")?,
        shipping_address: address_of("shipping")?,
    })
}

/// A line's SKU: its product's (or variation's); else, the product being gone or without one,
/// a `_sku` the line kept, else the one the product was or would be given (`synthetic_sku`;
/// `WC-ITEM-<item id>` for a line that names no product). Imported orders are history: a line
/// needs no live product.
fn line_sku(item: u64, post: u64, page: &Page) -> Result<String, String> {
    let of_product = text("_sku", page.skus.get(post, "_sku").unwrap_or_default())?;
    if !of_product.trim().is_empty() {
        return Ok(of_product.trim().to_owned());
    }
    let kept = text("_sku", page.item_meta.get(item, "_sku").unwrap_or_default())?;
    if !kept.trim().is_empty() {
        return Ok(kept.trim().to_owned());
    }
    Ok(if post != 0 {
        synthetic_sku(post)
    } else {
        format!("WC-ITEM-{item}")
    })
}

fn line(item: &Item, page: &Page, digits: u8) -> Result<ImportedOrderLine, String> {
    let m = &page.item_meta;
    let title = text("order_item_name", &item.name)?;
    let product = m.str(item.id, "_product_id").trim().parse::<u64>().unwrap_or(0);
    let variation = m.str(item.id, "_variation_id").trim().parse::<u64>().unwrap_or(0);
    let post = if variation != 0 { variation } else { product };
    let sku = line_sku(item.id, post, page)?;
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
