//! The orders schema, in portable SQL (TEXT ids, BIGINT money and epoch milliseconds).

use mercato_runtime::db::Migration;

/// Applied in order by `db.migrate("orders", MIGRATIONS)`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_orders",
        sql: "CREATE TABLE catalog_products (
                store_id TEXT NOT NULL,
                product_id TEXT NOT NULL,
                version BIGINT NOT NULL,
                deleted BIGINT NOT NULL,
                PRIMARY KEY (store_id, product_id)
              );
              CREATE TABLE catalog_skus (
                store_id TEXT NOT NULL,
                sku TEXT NOT NULL,
                product_id TEXT NOT NULL,
                title TEXT NOT NULL,
                price_minor BIGINT NOT NULL,
                currency TEXT NOT NULL,
                PRIMARY KEY (store_id, sku)
              );
              CREATE INDEX catalog_skus_product ON catalog_skus (store_id, product_id);
              CREATE TABLE carts (
                store_id TEXT NOT NULL,
                id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                token_hash TEXT NOT NULL,
                currency TEXT NOT NULL,
                lines_json TEXT NOT NULL,
                status TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                version BIGINT NOT NULL,
                PRIMARY KEY (store_id, id)
              );
              CREATE INDEX carts_customer ON carts (store_id, customer_id, status, updated_at);
              CREATE TABLE orders (
                store_id TEXT NOT NULL,
                id {{SORTED_TEXT}} NOT NULL,
                customer_id TEXT NOT NULL,
                cart_id TEXT NOT NULL,
                status TEXT NOT NULL,
                saga_state TEXT NOT NULL,
                state_json TEXT NOT NULL,
                payment_json TEXT NOT NULL,
                locked_until BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, id)
              );
              CREATE INDEX orders_customer ON orders (store_id, customer_id, id);
              CREATE INDEX orders_running ON orders (saga_state, locked_until);
              CREATE TABLE order_events (
                order_id TEXT NOT NULL,
                store_id TEXT NOT NULL,
                sequence BIGINT NOT NULL,
                kind TEXT NOT NULL,
                at_ms BIGINT NOT NULL,
                data_json TEXT NOT NULL,
                UNIQUE (order_id, sequence)
              );
              CREATE TABLE idempotency_keys (
                store_id TEXT NOT NULL,
                scope TEXT NOT NULL,
                idem_key TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                order_id TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, scope, idem_key)
              );",
    },
    Migration {
        name: "0002_orders_state_from_history",
        // An order's state is the fold of its history, listings included; a second copy of it
        // as JSON of the domain types was a storage format the domain had to keep stable.
        sql: "ALTER TABLE orders DROP COLUMN state_json;",
    },
    Migration {
        name: "0003_pricing",
        // Shipping zones and methods, tax rates and settings, promotions and their uses
        // (`pricing`); each cart's choices (addresses, shipping method, promotion code); and what
        // pricing needs of a SKU, kept by the catalog projection.
        sql: "CREATE TABLE shipping_zones (
                store_id TEXT NOT NULL,
                id TEXT NOT NULL,
                name TEXT NOT NULL,
                countries_json TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, id)
              );
              CREATE TABLE shipping_methods (
                store_id TEXT NOT NULL,
                id TEXT NOT NULL,
                zone_id TEXT NOT NULL,
                name TEXT NOT NULL,
                rate_json TEXT NOT NULL,
                free_above_minor BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, id)
              );
              CREATE TABLE tax_rates (
                store_id TEXT NOT NULL,
                zone_id TEXT NOT NULL,
                category TEXT NOT NULL,
                rate_bps BIGINT NOT NULL,
                PRIMARY KEY (store_id, zone_id, category)
              );
              CREATE TABLE tax_settings (
                store_id TEXT NOT NULL PRIMARY KEY,
                prices_include_tax BIGINT NOT NULL,
                rounding TEXT NOT NULL
              );
              CREATE TABLE promotions (
                store_id TEXT NOT NULL,
                id TEXT NOT NULL,
                code TEXT NOT NULL,
                name TEXT NOT NULL,
                rule_json TEXT NOT NULL,
                min_subtotal_minor BIGINT NOT NULL,
                starts_at BIGINT NOT NULL,
                ends_at BIGINT NOT NULL,
                usage_limit BIGINT NOT NULL,
                per_customer_limit BIGINT NOT NULL,
                used BIGINT NOT NULL,
                active BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, id)
              );
              CREATE UNIQUE INDEX promotions_active_code ON promotions (store_id, code)
                WHERE active = 1 AND code <> '';
              CREATE TABLE promotion_customer_uses (
                store_id TEXT NOT NULL,
                promotion_id TEXT NOT NULL,
                customer_key TEXT NOT NULL,
                used BIGINT NOT NULL,
                PRIMARY KEY (store_id, promotion_id, customer_key)
              );
              CREATE TABLE promotion_redemptions (
                store_id TEXT NOT NULL,
                order_id TEXT NOT NULL,
                promotion_id TEXT NOT NULL,
                customer_key TEXT NOT NULL,
                released BIGINT NOT NULL,
                PRIMARY KEY (store_id, order_id, promotion_id)
              );
              CREATE TABLE cart_choices (
                store_id TEXT NOT NULL,
                cart_id TEXT NOT NULL,
                choices_json TEXT NOT NULL,
                PRIMARY KEY (store_id, cart_id)
              );
              ALTER TABLE catalog_skus ADD COLUMN weight_grams BIGINT NOT NULL DEFAULT 0;
              ALTER TABLE catalog_skus ADD COLUMN requires_shipping BIGINT NOT NULL DEFAULT 1;
              ALTER TABLE catalog_skus ADD COLUMN tax_category TEXT NOT NULL DEFAULT 'standard';",
    },
    Migration {
        name: "0004_order_numbers_and_fulfilment",
        // Per-store order numbers (the counter row is bumped in the transaction that places the
        // order, so numbers are unique and gapless whatever the concurrency), the checkout
        // e-mail and the fulfilment status as columns to filter and search on, and the index
        // keyset paging walks (newest first by created_at, id). Orders placed before this keep
        // number 0.
        sql: "CREATE TABLE order_numbers (
                store_id TEXT NOT NULL PRIMARY KEY,
                last_number BIGINT NOT NULL
              );
              ALTER TABLE orders ADD COLUMN number BIGINT NOT NULL DEFAULT 0;
              ALTER TABLE orders ADD COLUMN email TEXT NOT NULL DEFAULT '';
              ALTER TABLE orders ADD COLUMN fulfilment_status TEXT NOT NULL DEFAULT 'unfulfilled';
              CREATE INDEX orders_created ON orders (store_id, created_at, id);
              CREATE INDEX orders_number ON orders (store_id, number);
              CREATE INDEX orders_email ON orders (store_id, email);",
    },
    Migration {
        name: "0005_analytics_producers",
        // Whether a cart has ever held a line (its `cart_started` event is written once, with
        // the write that gives it one; carts that hold lines already count as started), and
        // the index `ListOrderHistories` walks across every store, oldest first.
        sql: "ALTER TABLE carts ADD COLUMN started BIGINT NOT NULL DEFAULT 0;
              UPDATE carts SET started = 1 WHERE lines_json <> '[]';
              CREATE INDEX orders_created_all ON orders (created_at, id);",
    },
    Migration {
        name: "0006_imported_orders",
        // Orders imported from a legacy shop (ADR 0016), by source and legacy key: where a
        // resumed import starts (the greatest key) and where `--follow` looks for changes (the
        // newest source modification time); the order itself is its history, as any other.
        sql: "CREATE TABLE imported_orders (
                store_id TEXT NOT NULL,
                source TEXT NOT NULL,
                legacy_key {{SORTED_TEXT}} NOT NULL,
                order_id TEXT NOT NULL,
                modified_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, source, legacy_key)
              );",
    },
];
