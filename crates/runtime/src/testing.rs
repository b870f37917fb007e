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

/// Installs a quiet log subscriber once, so failing tests show warnings (coloured only on a
/// terminal, not in a CI log).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_test_writer()
        .try_init();
}

/// Deletes a test's NATS namespace (its stream and consumers) when dropped, so test runs do not
/// accumulate streams on a shared server.
pub struct NatsNamespaceGuard {
    url: String,
    namespace: String,
}

impl NatsNamespaceGuard {
    pub fn new(url: &str, namespace: &str) -> Self {
        NatsNamespaceGuard {
            url: url.to_owned(),
            namespace: namespace.to_owned(),
        }
    }
}

impl Drop for NatsNamespaceGuard {
    fn drop(&mut self) {
        let (url, namespace) = (self.url.clone(), self.namespace.clone());
        // Drop cannot await; a short-lived thread with its own runtime does the deletion.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async {
                if let Ok(bus) = crate::bus::NatsBus::connect_namespaced(&url, &namespace).await {
                    let _ = bus.delete_stream().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}
