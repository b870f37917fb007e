//! Test support shared by every crate's suites: one fresh database per backend under test.
//!
//! Conformance suites call [`databases`] and run the same checks on each: SQLite always,
//! PostgreSQL when `MERCATO_TEST_POSTGRES_URL` is set. Each call gets new, empty databases, so
//! tests never see each other's rows.

use crate::db::Db;
use crate::env;

/// A fresh SQLite database, and a fresh PostgreSQL database when one is configured.
pub async fn databases() -> Vec<(&'static str, Db)> {
    let mut dbs = vec![("sqlite", Db::sqlite_temp().await.expect("sqlite test database"))];
    if let Some(url) = env::test_url(env::TEST_POSTGRES_URL) {
        dbs.push(("postgres", postgres_temp(&url).await));
    }
    dbs
}

/// A new, uniquely named PostgreSQL database on the test server.
pub async fn postgres_temp(server_url: &str) -> Db {
    let name = format!("mercato_test_{}", uuid::Uuid::now_v7().simple());
    Db::postgres(server_url, &name, 8)
        .await
        .expect("postgres test database")
}

/// Installs a quiet log subscriber once, so failing tests show warnings.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_test_writer()
        .try_init();
}
