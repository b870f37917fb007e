//! The WooCommerce source: a WordPress site's tables in MariaDB/MySQL, read-only, page by page
//! in id order (keyset paging: a query per table per page, or per 100 of the page's ids for
//! the tables read by id, never one per row).
//!
//! - categories: `product_cat` terms (`terms` + `term_taxonomy`); no modification time.
//!   Slugs (terms' and products') are made ones the catalog takes
//!   (`mercato_runtime::legacy_slugs`: percent-encoded UTF-8 decoded, accents dropped).
//! - products: `product` posts with their `product_variation` children and `postmeta`
//!   (`_sku`, `_regular_price` — the price; `_price` only when there is no regular price —,
//!   `_weight`, `_virtual`, `_thumbnail_id`, `_product_image_gallery`, `_product_attributes`,
//!   `attribute_*`); statuses publish → active, draft/pending → draft, private/trash →
//!   archived; changed when the product's or a variation's `post_modified_gmt` is.
//! - stock: `_stock` of every product and variation with `_manage_stock = yes`, keyed by SKU.
//! - customers: users whose `{prefix}capabilities` hold `customer`, with `usermeta`; changed at
//!   `user_registered` or `last_update`.
//! - orders: from the storage the shop uses — HPOS (`wc_orders`, `wc_order_addresses`,
//!   `wc_order_operational_data`) when `woocommerce_custom_orders_table_enabled` is `yes` and
//!   the table exists, else `shop_order` posts and their `postmeta` — with
//!   `woocommerce_order_items` and their meta; the same order reads as the same record from
//!   either. Orders still pending or on hold are left until they settle; changed at
//!   `date_updated_gmt` (HPOS) or `post_modified_gmt` (posts).
//!
//! A product or variation without a SKU, and an order line whose product has none or is gone,
//! get [`synthetic_sku`] (`WC-<post id>`). A row that cannot become a whole record (text that is
//! not UTF-8, a negative price, a variation without its parent, a synthesised SKU that a real
//! one already is) is a `BadRow` with the reason.

mod catalog;
mod customers;
mod meta;
mod orders;
mod orders_hpos;
mod orders_posts;
mod php;
mod products;
mod skus;
mod stock;
mod tables;
mod values;

pub(crate) use customers::ADDRESS_FIELDS;
pub use tables::Tables;

use crate::source::{Row, ScanFrom, Source};
use anyhow::{Context, bail};
use mercato_proto::imports::Entity;
use mercato_runtime::money::Currency;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{MySqlPool, Row as _};
use std::str::FromStr;
use tokio::sync::{Mutex, OnceCell};

/// A WooCommerce shop's database.
pub struct WooCommerce {
    pool: MySqlPool,
    tables: Tables,
    shop: OnceCell<Shop>,
    stock: Mutex<stock::Cache>,
}

/// Shop-wide settings from `options`.
#[derive(Clone, Debug)]
pub(crate) struct Shop {
    pub currency: String,
    /// Minor-unit digits of the currency.
    pub digits: u8,
    /// `woocommerce_weight_unit`: kg, g, lbs or oz.
    pub weight_unit: String,
    /// Where its orders are.
    pub orders: OrderStorage,
}

/// Where a shop keeps its orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStorage {
    /// WooCommerce's own tables (High-Performance Order Storage, `wc_orders` and beside it).
    Hpos,
    /// `shop_order` posts with their fields in `postmeta`, as before HPOS.
    Posts,
}

impl WooCommerce {
    /// Connects to `mysql_url` (with the database) and reads tables under `prefix`.
    pub async fn connect(mysql_url: &str, prefix: &str) -> anyhow::Result<Self> {
        let options = MySqlConnectOptions::from_str(mysql_url).context("not a MySQL URL")?;
        let pool = MySqlPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .context("connecting to the WooCommerce database")?;
        Self::new(pool, prefix)
    }

    /// Reads tables under `prefix` through `pool`.
    pub fn new(pool: MySqlPool, prefix: &str) -> anyhow::Result<Self> {
        Ok(Self {
            pool,
            tables: Tables::new(prefix)?,
            shop: OnceCell::new(),
            stock: Mutex::new(stock::Cache::default()),
        })
    }

    /// The pool it reads through.
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    pub(crate) async fn shop(&self) -> anyhow::Result<&Shop> {
        self.shop.get_or_try_init(|| self.load_shop()).await
    }

    async fn load_shop(&self) -> anyhow::Result<Shop> {
        let currency = self.option("woocommerce_currency").await?.unwrap_or_default();
        let parsed = Currency::parse(&currency)
            .map_err(|_| anyhow::anyhow!("woocommerce_currency {currency:?} is not supported"))?;
        let weight_unit = self
            .option("woocommerce_weight_unit")
            .await?
            .unwrap_or_else(|| "kg".into());
        Ok(Shop {
            currency,
            digits: parsed.minor_digits(),
            weight_unit,
            orders: self.order_storage().await?,
        })
    }

    /// HPOS when WooCommerce says its tables are authoritative and they exist; otherwise
    /// posts (an option of `no`, or none: shops from before HPOS, which lack the tables too).
    /// In compatibility mode both hold the orders and the option names the one WooCommerce
    /// reads, which is the one read here.
    async fn order_storage(&self) -> anyhow::Result<OrderStorage> {
        let enabled = self.option("woocommerce_custom_orders_table_enabled").await?;
        if enabled.as_deref() != Some("yes") {
            return Ok(OrderStorage::Posts);
        }
        let sql = "SELECT COUNT(*) FROM information_schema.tables \
                   WHERE table_schema = DATABASE() AND table_name = ?";
        let exists = sqlx::query(sql)
            .bind(self.tables.orders.trim_matches('`'))
            .fetch_one(&self.pool)
            .await?
            .try_get::<i64, _>(0)?
            > 0;
        Ok(if exists {
            OrderStorage::Hpos
        } else {
            OrderStorage::Posts
        })
    }

    /// Where the shop keeps its orders.
    pub async fn order_storage_in_use(&self) -> anyhow::Result<OrderStorage> {
        Ok(self.shop().await?.orders)
    }

    async fn option(&self, name: &'static str) -> anyhow::Result<Option<String>> {
        let sql = format!(
            "SELECT CAST(option_value AS BINARY) FROM {} WHERE option_name = ?",
            self.tables.options
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(
                String::from_utf8_lossy(&row.try_get::<Vec<u8>, _>(0)?)
                    .trim()
                    .to_owned(),
            ),
            None => None,
        })
    }

    async fn count(&self, sql: String) -> anyhow::Result<u64> {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
    }
}

/// The platform's product status for a post status: publish → active, private and trash →
/// archived, anything else (draft, pending, future: scheduled) → draft.
pub fn product_status(post_status: &str) -> &'static str {
    match post_status {
        "publish" => "active",
        "private" | "trash" => "archived",
        _ => "draft",
    }
}

/// The SKU a product, variation or order line without one is given: `WC-<post id>` (the post
/// the line named, for a line whose product is gone). Stable across reads, and within the
/// catalog's SKU rules; a shop whose real SKU equals one reports the product as a bad row.
pub fn synthetic_sku(post_id: u64) -> String {
    format!("WC-{post_id}")
}

/// The id after which a scan starts (0 from the beginning).
pub(crate) fn after_id(from: &ScanFrom) -> anyhow::Result<u64> {
    match from.after_key.as_deref() {
        None | Some("") => Ok(0),
        Some(key) => match key.parse() {
            Ok(id) => Ok(id),
            Err(_) => bail!("{key:?} is not a WooCommerce key"),
        },
    }
}

/// `modified_since_ms` in whole seconds (rounded down, so nothing at the boundary is missed).
pub(crate) fn since_s(from: &ScanFrom) -> Option<i64> {
    from.modified_since_ms.map(|ms| ms.div_euclid(1000))
}

#[async_trait::async_trait]
impl Source for WooCommerce {
    fn name(&self) -> &'static str {
        "woocommerce"
    }

    fn entities(&self) -> Vec<Entity> {
        vec![
            Entity::Category,
            Entity::Product,
            Entity::Stock,
            Entity::Customer,
            Entity::Order,
        ]
    }

    async fn currency(&self) -> anyhow::Result<String> {
        Ok(self.shop().await?.currency.clone())
    }

    async fn scan(&self, entity: Entity, from: &ScanFrom, limit: usize) -> anyhow::Result<Vec<Row>> {
        let limit = limit.max(1);
        match entity {
            Entity::Category => self.scan_categories(from, limit).await,
            Entity::Product => self.scan_products(from, limit).await,
            Entity::Stock => self.scan_stock(from, limit).await,
            Entity::Customer => self.scan_customers(from, limit).await,
            Entity::Order => self.scan_orders(from, limit).await,
            Entity::Unspecified => bail!("no such entity"),
        }
    }

    /// The database's clock in UTC, the scale of WordPress's `*_gmt` columns (which PHP writes:
    /// the overlap covers a little skew between the two).
    async fn now_ms(&self) -> anyhow::Result<Option<i64>> {
        let sql = "SELECT CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) \
                   DIV 1000 AS SIGNED)";
        let row = sqlx::query(sql).fetch_one(&self.pool).await?;
        Ok(Some(row.try_get::<i64, _>(0)?))
    }

    async fn estimate(&self, entity: Entity) -> anyhow::Result<u64> {
        let t = &self.tables;
        let sql = match entity {
            Entity::Category => format!(
                "SELECT COUNT(*) FROM {} WHERE taxonomy = 'product_cat'",
                t.term_taxonomy
            ),
            Entity::Product => format!("SELECT COUNT(*) FROM {} WHERE post_type = 'product'", t.posts),
            Entity::Stock => format!(
                "SELECT COUNT(*) FROM {} WHERE meta_key = '_manage_stock' AND meta_value = 'yes'",
                t.postmeta
            ),
            Entity::Customer => format!(
                "SELECT COUNT(*) FROM {} WHERE meta_key = '{}' AND meta_value LIKE '%\"customer\"%'",
                t.usermeta,
                t.capabilities_key()
            ),
            Entity::Order => match self.shop().await?.orders {
                OrderStorage::Hpos => format!("SELECT COUNT(*) FROM {} WHERE type = 'shop_order'", t.orders),
                OrderStorage::Posts => {
                    format!("SELECT COUNT(*) FROM {} WHERE post_type = 'shop_order'", t.posts)
                }
            },
            Entity::Unspecified => return Ok(0),
        };
        self.count(sql).await
    }
}
