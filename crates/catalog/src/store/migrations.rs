//! The catalog schema, in portable SQL (TEXT ids, BIGINT money and epoch milliseconds).

use mercato_runtime::db::Migration;

/// Applied in order by `db.migrate("catalog", MIGRATIONS)`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_catalog",
        sql: "CREATE TABLE catalog_stores (
                store_id TEXT PRIMARY KEY,
                slug TEXT NOT NULL,
                currency TEXT NOT NULL,
                provisioned_at BIGINT NOT NULL
              );
              CREATE TABLE categories (
                id TEXT PRIMARY KEY,
                store_id TEXT NOT NULL,
                slug TEXT NOT NULL,
                name {{SORTED_TEXT}} NOT NULL,
                parent_id TEXT,
                created_at BIGINT NOT NULL,
                UNIQUE (store_id, slug)
              );
              CREATE TABLE products (
                id TEXT PRIMARY KEY,
                store_id TEXT NOT NULL,
                slug TEXT NOT NULL,
                title TEXT NOT NULL,
                title_key {{SORTED_TEXT}} NOT NULL,
                description TEXT NOT NULL,
                category_id TEXT,
                min_price_minor BIGINT NOT NULL,
                currency TEXT NOT NULL,
                version BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (store_id, slug)
              );
              CREATE INDEX products_by_created ON products (store_id, created_at);
              CREATE INDEX products_by_price ON products (store_id, min_price_minor);
              CREATE INDEX products_by_title ON products (store_id, title_key);
              CREATE INDEX products_by_category ON products (store_id, category_id);
              CREATE TABLE variants (
                id TEXT PRIMARY KEY,
                product_id TEXT NOT NULL,
                store_id TEXT NOT NULL,
                sku TEXT NOT NULL,
                title TEXT NOT NULL,
                price_minor BIGINT NOT NULL,
                currency TEXT NOT NULL,
                position BIGINT NOT NULL,
                UNIQUE (store_id, sku)
              );
              CREATE INDEX variants_by_product ON variants (store_id, product_id, position);",
    },
    Migration {
        name: "0002_shipping_and_tax",
        sql: "ALTER TABLE products ADD COLUMN tax_category TEXT NOT NULL DEFAULT 'standard';
              ALTER TABLE variants ADD COLUMN weight_grams BIGINT NOT NULL DEFAULT 0;
              ALTER TABLE variants ADD COLUMN requires_shipping BIGINT NOT NULL DEFAULT 1;",
    },
    Migration {
        name: "0003_product_status",
        sql: "ALTER TABLE products ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
              CREATE INDEX products_by_status ON products (store_id, status, created_at);",
    },
    Migration {
        name: "0004_search_synonyms",
        sql: "CREATE TABLE search_synonyms (
                store_id TEXT NOT NULL,
                position BIGINT NOT NULL,
                words TEXT NOT NULL,
                PRIMARY KEY (store_id, position)
              );",
    },
    Migration {
        name: "0005_variant_options",
        sql: "ALTER TABLE products ADD COLUMN options TEXT NOT NULL DEFAULT '';
              ALTER TABLE variants ADD COLUMN option_values TEXT NOT NULL DEFAULT '';",
    },
    Migration {
        name: "0006_product_images",
        // `renditions` is a JSON array (written once, when the sizes are made, and read whole).
        sql: "CREATE TABLE product_images (
                id TEXT PRIMARY KEY,
                store_id TEXT NOT NULL,
                product_id TEXT NOT NULL,
                position BIGINT NOT NULL,
                alt TEXT NOT NULL,
                status TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                width BIGINT NOT NULL,
                height BIGINT NOT NULL,
                content_type TEXT NOT NULL,
                renditions TEXT NOT NULL,
                job_id TEXT NOT NULL,
                created_at BIGINT NOT NULL
              );
              CREATE INDEX product_images_by_product ON product_images (store_id, product_id, position);",
    },
    Migration {
        name: "0007_imported_records",
        // One row per record imported from a legacy shop (ADR 0016): its legacy key, the id it
        // got, when the source last changed it, and what the catalog's own tables do not hold
        // (`details`: JSON of the variants' legacy keys and the image URLs, for products).
        sql: "CREATE TABLE imported_records (
                store_id TEXT NOT NULL,
                source TEXT NOT NULL,
                entity TEXT NOT NULL,
                legacy_key {{SORTED_TEXT}} NOT NULL,
                target_id TEXT NOT NULL,
                modified_at BIGINT NOT NULL,
                details TEXT NOT NULL,
                PRIMARY KEY (store_id, source, entity, legacy_key)
              );
              CREATE INDEX imported_records_by_target ON imported_records (store_id, target_id);",
    },
    Migration {
        name: "0008_imported_records_by_target",
        // A batch finds its records' import rows by target id within (store, source, entity);
        // with the target id behind `store_id` alone, SQLite's planner took the primary key's
        // (store, source, entity) prefix instead and read every row of the entity each batch:
        // product imports slowed with the catalog's size (1,787/s at 20,000 products, 292/s at
        // 100,000).
        sql: "DROP INDEX imported_records_by_target;
              CREATE INDEX imported_records_by_target ON imported_records (store_id, source, entity, target_id);",
    },
];
