//! The e-mail tables. TODO(e-mail helper): stores, accounts, staff opt-ins, opt-outs, template
//! overrides.

use mercato_runtime::db::Migration;

pub(crate) const MIGRATION: Migration = Migration {
    name: "0001_email",
    sql: "CREATE TABLE stores (store_id TEXT PRIMARY KEY);",
};
