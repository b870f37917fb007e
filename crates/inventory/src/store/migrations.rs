//! The inventory schema, in portable SQL (TEXT ids, BIGINT quantities and epoch milliseconds).

use mercato_runtime::db::Migration;

/// Applied in order by `db.migrate("inventory", MIGRATIONS)`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_inventory",
        // The CHECK is a last line of defence: every update is already guarded so that it never
        // fails, but should one slip through, the database refuses it rather than store it.
        sql: "CREATE TABLE stock (
                store_id TEXT NOT NULL,
                sku {{SORTED_TEXT}} NOT NULL,
                location {{SORTED_TEXT}} NOT NULL,
                on_hand BIGINT NOT NULL,
                reserved BIGINT NOT NULL,
                low_stock_threshold BIGINT NOT NULL,
                version BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, sku, location),
                CHECK (reserved >= 0 AND on_hand >= reserved AND on_hand <= 1000000000)
              );
              CREATE TABLE reservations (
                store_id TEXT NOT NULL,
                id TEXT NOT NULL,
                status TEXT NOT NULL,
                expires_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, id)
              );
              CREATE INDEX reservations_due ON reservations (status, expires_at);
              CREATE TABLE reservation_lines (
                store_id TEXT NOT NULL,
                reservation_id TEXT NOT NULL,
                sku {{SORTED_TEXT}} NOT NULL,
                location {{SORTED_TEXT}} NOT NULL,
                quantity BIGINT NOT NULL,
                PRIMARY KEY (store_id, reservation_id, sku, location),
                CHECK (quantity > 0)
              );",
    },
    Migration {
        name: "0002_stock_adjustment_keys",
        // Adjustments made under an idempotency key (a return's restock), so that a retry of one
        // is recognised and not applied twice; the row commits with the stock change.
        sql: "CREATE TABLE stock_adjustments (
                store_id TEXT NOT NULL,
                idem_key TEXT NOT NULL,
                sku TEXT NOT NULL,
                location TEXT NOT NULL,
                delta BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, idem_key)
              );",
    },
    Migration {
        name: "0003_imported_stock",
        // The SKUs whose stock was imported from a legacy shop (ADR 0016), keyed as the source
        // knows them, and when the source last changed each: what reconciliation walks (the
        // level itself is the SKU's row at the default location) and where `--follow` resumes.
        sql: "CREATE TABLE imported_stock (
                store_id TEXT NOT NULL,
                source TEXT NOT NULL,
                sku {{SORTED_TEXT}} NOT NULL,
                modified_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, source, sku)
              );",
    },
];
