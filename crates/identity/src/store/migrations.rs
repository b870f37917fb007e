//! The identity schema, applied in order by `Db::migrate("identity", MIGRATIONS)`.
//!
//! Portable types only (see `mercato_runtime::db`): ids are UUID text, times epoch milliseconds,
//! secrets are stored as SHA-256 hex and never in clear, signing keys sealed (AES-256-GCM).

use mercato_runtime::db::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_identity",
        sql: "CREATE TABLE stores (
                id TEXT PRIMARY KEY,
                slug TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                currency TEXT NOT NULL,
                created_at BIGINT NOT NULL
              );
              CREATE TABLE users (
                id TEXT PRIMARY KEY,
                store_id TEXT NOT NULL REFERENCES stores (id),
                email TEXT NOT NULL,
                role TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                UNIQUE (store_id, email)
              );
              CREATE TABLE api_clients (
                client_id TEXT PRIMARY KEY,
                store_id TEXT NOT NULL REFERENCES stores (id),
                secret_hash TEXT NOT NULL,
                role TEXT NOT NULL,
                created_at BIGINT NOT NULL
              );
              CREATE INDEX api_clients_store ON api_clients (store_id);
              CREATE TABLE refresh_tokens (
                id TEXT PRIMARY KEY,
                family_id TEXT NOT NULL,
                store_id TEXT NOT NULL REFERENCES stores (id),
                subject TEXT NOT NULL,
                role TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                expires_at BIGINT NOT NULL,
                used_at BIGINT,
                revoked_at BIGINT,
                created_at BIGINT NOT NULL
              );
              CREATE INDEX refresh_tokens_family ON refresh_tokens (store_id, family_id);
              CREATE TABLE signing_keys (
                kid TEXT PRIMARY KEY,
                generation BIGINT NOT NULL UNIQUE,
                private_pkcs8 {{BYTES}} NOT NULL,
                public_x TEXT NOT NULL,
                created_at BIGINT NOT NULL
              );",
    },
    // Failed sign-ins per key (a SHA-256 of an account or a client address): shared by every
    // replica, so a lock holds whichever replica a guess reaches.
    Migration {
        name: "0002_sign_in_failures",
        sql: "CREATE TABLE sign_in_failures (
                failure_key TEXT PRIMARY KEY,
                failures BIGINT NOT NULL,
                last_failure_at BIGINT NOT NULL,
                locked_until BIGINT NOT NULL
              );
              CREATE INDEX sign_in_failures_last ON sign_in_failures (last_failure_at);",
    },
    // Signing keys sealed under the key-encryption key (crate::kek): the nonce, the KEK's id and
    // the ciphertext. `private_pkcs8` is left empty for every key; rows from before this
    // migration are sealed and emptied at the first start (crate::keyring), once.
    Migration {
        name: "0003_sealed_signing_keys",
        sql: "ALTER TABLE signing_keys ADD COLUMN kek_id TEXT;
              ALTER TABLE signing_keys ADD COLUMN key_nonce {{BYTES}};
              ALTER TABLE signing_keys ADD COLUMN sealed_pkcs8 {{BYTES}};",
    },
    // Disabled accounts (NULL while enabled), and the index disabling one uses to revoke every
    // refresh token issued to it.
    Migration {
        name: "0004_disabled_users",
        sql: "ALTER TABLE users ADD COLUMN disabled_at BIGINT;
              CREATE INDEX refresh_tokens_subject ON refresh_tokens (store_id, subject);",
    },
    // Customers (issue 12): the profile on the user's row (the name also lower-cased for
    // case-insensitive search, consent as 0/1 with when it last changed, the default addresses,
    // and a version guarding read-modify-write), the address book, and each confirmed order's
    // figures as learnt from the orders service's events (the order's version keeps a late,
    // older event from undoing a newer one).
    Migration {
        name: "0005_customers",
        sql: "ALTER TABLE users ADD COLUMN first_name TEXT NOT NULL DEFAULT '';
              ALTER TABLE users ADD COLUMN last_name TEXT NOT NULL DEFAULT '';
              ALTER TABLE users ADD COLUMN name_search TEXT NOT NULL DEFAULT '';
              ALTER TABLE users ADD COLUMN phone TEXT;
              ALTER TABLE users ADD COLUMN marketing_consent BIGINT NOT NULL DEFAULT 0;
              ALTER TABLE users ADD COLUMN marketing_consent_at BIGINT;
              ALTER TABLE users ADD COLUMN default_shipping_address_id TEXT;
              ALTER TABLE users ADD COLUMN default_billing_address_id TEXT;
              ALTER TABLE users ADD COLUMN profile_version BIGINT NOT NULL DEFAULT 0;
              CREATE INDEX users_store_role_created ON users (store_id, role, created_at, id);
              CREATE TABLE customer_addresses (
                id TEXT PRIMARY KEY,
                store_id TEXT NOT NULL REFERENCES stores (id),
                customer_id TEXT NOT NULL REFERENCES users (id),
                name TEXT NOT NULL,
                company TEXT NOT NULL,
                line1 TEXT NOT NULL,
                line2 TEXT NOT NULL,
                city TEXT NOT NULL,
                region TEXT NOT NULL,
                postal_code TEXT NOT NULL,
                country TEXT NOT NULL,
                phone TEXT NOT NULL,
                version BIGINT NOT NULL,
                created_at BIGINT NOT NULL
              );
              CREATE INDEX customer_addresses_customer ON customer_addresses (store_id, customer_id, created_at);
              CREATE TABLE customer_orders (
                store_id TEXT NOT NULL,
                order_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                total_minor BIGINT NOT NULL,
                refunded_minor BIGINT NOT NULL,
                version BIGINT NOT NULL,
                PRIMARY KEY (store_id, order_id)
              );
              CREATE INDEX customer_orders_customer ON customer_orders (store_id, customer_id);",
    },
    // API clients an owner manages (issue 13): a name, when the secret was last replaced, and
    // when the client was revoked (NULL while active). Clients made before are the store's
    // provisioned one, named "Default".
    Migration {
        name: "0006_api_client_lifecycle",
        sql: "ALTER TABLE api_clients ADD COLUMN name TEXT NOT NULL DEFAULT 'Default';
              ALTER TABLE api_clients ADD COLUMN secret_rotated_at BIGINT;
              ALTER TABLE api_clients ADD COLUMN revoked_at BIGINT;",
    },
    // Store time zones (issue 14): an IANA name the store's days and hours are counted in
    // (analytics); stores made before are in UTC.
    Migration {
        name: "0007_store_time_zone",
        sql: "ALTER TABLE stores ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';",
    },
    // Customers imported from a legacy shop (ADR 0016): the source and its key (sorted as bytes,
    // the order reconciliation walks), and when the source last changed the customer. NULL for
    // accounts made here. Their imported addresses are address-book rows with derived ids.
    Migration {
        name: "0008_imported_customers",
        sql: "ALTER TABLE users ADD COLUMN legacy_source TEXT;
              ALTER TABLE users ADD COLUMN legacy_key {{SORTED_TEXT}};
              ALTER TABLE users ADD COLUMN legacy_modified_at BIGINT;
              CREATE UNIQUE INDEX users_legacy_key ON users (store_id, legacy_source, legacy_key);",
    },
    // Where `--follow` starts for each store and source (ADR 0016): the watermark, and the
    // earliest start of the import passes under way since it (0: none).
    Migration {
        name: "0009_import_passes",
        sql: "CREATE TABLE import_passes (
                store_id TEXT NOT NULL,
                source TEXT NOT NULL,
                watermark_ms BIGINT NOT NULL DEFAULT 0,
                pass_began_ms BIGINT NOT NULL DEFAULT 0,
                PRIMARY KEY (store_id, source)
              );",
    },
];
