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
];
