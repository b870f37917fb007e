//! The notifications schema. Each part owns its tables' migration next to its code
//! (`email::schema`, `webhooks::schema`); this is their order.

use mercato_runtime::db::Migration;

pub(crate) const MIGRATIONS: &[Migration] = &[
    crate::email::schema::MIGRATION,
    crate::webhooks::schema::MIGRATION,
];
