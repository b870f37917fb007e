//! The webhooks tables. TODO(webhooks helper): endpoints, messages, deliveries, attempts.

use mercato_runtime::db::Migration;

pub(crate) const MIGRATION: Migration = Migration {
    name: "0002_webhooks",
    sql: "CREATE TABLE webhook_endpoints (id TEXT PRIMARY KEY, store_id TEXT NOT NULL);",
};
