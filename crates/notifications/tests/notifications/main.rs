//! The notifications service's tests: each case against SQLite and, when configured, PostgreSQL.

mod support;
