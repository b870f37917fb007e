//! The analytics schema, in portable SQL (TEXT ids, BIGINT money and epoch ms). Every table is
//! keyed by the store first; the bucket tables by (store, bucket), so every read is an index
//! range over buckets, never a scan of orders.

use mercato_runtime::db::Migration;

// The bucket tables share their columns (`domain::counts::Field::column`).
macro_rules! bucket_table {
    ($name:literal, $key:literal) => {
        concat!(
            "CREATE TABLE ",
            $name,
            " (store_id TEXT NOT NULL, ",
            $key,
            ",
                gross_minor BIGINT NOT NULL DEFAULT 0,
                discounts_minor BIGINT NOT NULL DEFAULT 0,
                refunds_minor BIGINT NOT NULL DEFAULT 0,
                shipping_minor BIGINT NOT NULL DEFAULT 0,
                taxes_minor BIGINT NOT NULL DEFAULT 0,
                orders BIGINT NOT NULL DEFAULT 0,
                units BIGINT NOT NULL DEFAULT 0,
                new_customers BIGINT NOT NULL DEFAULT 0,
                returning_customers BIGINT NOT NULL DEFAULT 0,
                payment_declines BIGINT NOT NULL DEFAULT 0,
                product_views BIGINT NOT NULL DEFAULT 0,
                visitors BIGINT NOT NULL DEFAULT 0,
                carts BIGINT NOT NULL DEFAULT 0,
                checkouts BIGINT NOT NULL DEFAULT 0,
                PRIMARY KEY (store_id, bucket));"
        )
    };
}

/// Applied in order by `db.migrate("analytics", MIGRATIONS)`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_analytics_buckets",
        // `bucket` is the UTC epoch ms of the local hour's start (hourly) or the local date
        // (daily).
        sql: concat!(
            bucket_table!("hourly", "bucket BIGINT NOT NULL"),
            bucket_table!("daily", "bucket {{SORTED_TEXT}} NOT NULL"),
            "CREATE TABLE product_days (
                store_id TEXT NOT NULL,
                day {{SORTED_TEXT}} NOT NULL,
                product_id TEXT NOT NULL,
                sku TEXT NOT NULL,
                title TEXT NOT NULL,
                units BIGINT NOT NULL DEFAULT 0,
                net_minor BIGINT NOT NULL DEFAULT 0,
                refunded_units BIGINT NOT NULL DEFAULT 0,
                refunds_minor BIGINT NOT NULL DEFAULT 0,
                PRIMARY KEY (store_id, day, product_id, sku)
              );
              CREATE TABLE status_hours (
                store_id TEXT NOT NULL, bucket BIGINT NOT NULL, status TEXT NOT NULL,
                orders BIGINT NOT NULL,
                PRIMARY KEY (store_id, bucket, status)
              );
              CREATE TABLE status_days (
                store_id TEXT NOT NULL, bucket {{SORTED_TEXT}} NOT NULL, status TEXT NOT NULL,
                orders BIGINT NOT NULL,
                PRIMARY KEY (store_id, bucket, status)
              );"
        ),
    },
    Migration {
        name: "0002_analytics_facts",
        sql: "CREATE TABLE stores (
                store_id TEXT PRIMARY KEY,
                time_zone TEXT NOT NULL,
                currency TEXT NOT NULL,
                changed_at BIGINT NOT NULL
              );
              CREATE TABLE orders (
                store_id TEXT NOT NULL,
                order_id TEXT NOT NULL,
                version BIGINT NOT NULL,
                status TEXT NOT NULL,
                placed_hour BIGINT NOT NULL,
                placed_day TEXT NOT NULL,
                confirmed_at BIGINT NOT NULL,
                customer_key TEXT NOT NULL,
                gross_minor BIGINT NOT NULL,
                discounts_minor BIGINT NOT NULL,
                shipping_minor BIGINT NOT NULL,
                taxes_minor BIGINT NOT NULL,
                units BIGINT NOT NULL,
                refunded_minor BIGINT NOT NULL,
                refunded_lines TEXT NOT NULL,
                PRIMARY KEY (store_id, order_id)
              );
              CREATE TABLE customers (
                store_id TEXT NOT NULL,
                customer_key TEXT NOT NULL,
                first_order_id TEXT NOT NULL,
                first_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, customer_key)
              );
              CREATE TABLE customer_days (
                store_id TEXT NOT NULL,
                day {{SORTED_TEXT}} NOT NULL,
                customer_key TEXT NOT NULL,
                PRIMARY KEY (store_id, day, customer_key)
              );
              CREATE TABLE funnel_keys (
                store_id TEXT NOT NULL,
                step TEXT NOT NULL,
                day {{SORTED_TEXT}} NOT NULL,
                shopper TEXT NOT NULL,
                PRIMARY KEY (store_id, step, day, shopper)
              );
              CREATE TABLE low_stock (
                store_id TEXT NOT NULL,
                sku {{SORTED_TEXT}} NOT NULL,
                location {{SORTED_TEXT}} NOT NULL,
                available BIGINT NOT NULL,
                threshold BIGINT NOT NULL,
                since_ms BIGINT NOT NULL,
                version BIGINT NOT NULL,
                PRIMARY KEY (store_id, sku, location)
              );
              CREATE TABLE backfill (
                id TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                cursor TEXT NOT NULL,
                orders_done BIGINT NOT NULL,
                orders_total BIGINT NOT NULL,
                started_at BIGINT NOT NULL,
                finished_at BIGINT NOT NULL
              );",
    },
    Migration {
        name: "0003_analytics_funnel_first",
        // Carts and checkouts count once each, on the day first seen (a cart starts once; a
        // checkout retried the next day is the same cart), so a range's count is a sum of days.
        sql: "CREATE TABLE funnel_first (
                store_id TEXT NOT NULL,
                step TEXT NOT NULL,
                shopper TEXT NOT NULL,
                day TEXT NOT NULL,
                PRIMARY KEY (store_id, step, shopper)
              );",
    },
    Migration {
        name: "0004_analytics_top_products",
        // Top products read SKUs' figures over days from this index alone (no table lookups),
        // and their titles from `product_titles` (the last one sold under).
        sql: "CREATE INDEX product_days_figures
                ON product_days (store_id, day, product_id, sku, units, net_minor, refunds_minor);
              CREATE TABLE product_titles (
                store_id TEXT NOT NULL,
                product_id TEXT NOT NULL,
                sku TEXT NOT NULL,
                title TEXT NOT NULL,
                PRIMARY KEY (store_id, product_id, sku)
              );
              INSERT INTO product_titles (store_id, product_id, sku, title)
                SELECT store_id, product_id, sku, MAX(title) FROM product_days
                GROUP BY store_id, product_id, sku;",
    },
    Migration {
        name: "0005_analytics_product_weeks",
        // Products per local week (its Monday), beside per day: top products over a month reads
        // whole weeks (`store::weeks`). Filled from `product_days` once at start-up.
        sql: "CREATE TABLE product_weeks (
                store_id TEXT NOT NULL,
                week {{SORTED_TEXT}} NOT NULL,
                product_id TEXT NOT NULL,
                sku TEXT NOT NULL,
                units BIGINT NOT NULL DEFAULT 0,
                net_minor BIGINT NOT NULL DEFAULT 0,
                refunded_units BIGINT NOT NULL DEFAULT 0,
                refunds_minor BIGINT NOT NULL DEFAULT 0,
                PRIMARY KEY (store_id, week, product_id, sku)
              );",
    },
    Migration {
        name: "0006_analytics_visitor_sketches",
        // Distinct visitors over several days from the days' HyperLogLog sketches
        // (`domain::sketch`) instead of every key of `funnel_keys`.
        sql: "CREATE TABLE visitor_sketches (
                store_id TEXT NOT NULL,
                day {{SORTED_TEXT}} NOT NULL,
                registers {{BYTES}} NOT NULL,
                PRIMARY KEY (store_id, day)
              );",
    },
    Migration {
        name: "0007_analytics_customer_day_kinds",
        // A customer counts once per day as new and once as returning (`analytics.proto`: new =
        // first confirmed order in the period; returning = an order in the period and an
        // earlier one), so a first and a second order on one day make them both.
        sql: "CREATE TABLE customer_day_kinds (
                store_id TEXT NOT NULL,
                day {{SORTED_TEXT}} NOT NULL,
                customer_key TEXT NOT NULL,
                kind TEXT NOT NULL,
                PRIMARY KEY (store_id, day, customer_key, kind)
              );",
    },
    Migration {
        name: "0008_analytics_rebuilds",
        // Stores whose time zone changed, waiting for their figures to be folded again in it.
        // Live order snapshots of such a store wait in `deferred_orders` until its history has
        // been folded again, then are folded after it.
        sql: "CREATE TABLE rebuilds (store_id TEXT PRIMARY KEY, requested_at BIGINT NOT NULL);
              CREATE TABLE deferred_orders (
                store_id TEXT NOT NULL,
                order_id TEXT NOT NULL,
                version BIGINT NOT NULL,
                snapshot {{BYTES}} NOT NULL,
                PRIMARY KEY (store_id, order_id, version)
              );",
    },
];
