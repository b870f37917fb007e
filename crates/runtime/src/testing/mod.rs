//! Test support shared by every crate's suites: one fresh database per backend under test.
//!
//! Conformance suites list their cases in [`backend_tests!`], which makes each case one test per
//! backend (`case::sqlite`, `case::postgres`), so a failure names the backend it failed on.
//! SQLite always runs. PostgreSQL runs when `MERCATO_TEST_POSTGRES_URL` is set; otherwise its
//! tests pass without running and the test binary says so once on standard error — unless
//! `MERCATO_TEST_REQUIRE_POSTGRES=1` (CI sets it), which makes them fail instead. Each test gets
//! new, empty databases, so tests never see each other's rows.
//!
//! The bus, cache and rate-limiter suites use the same macro with [`Facility`] variants: in
//! process, or on the NATS or Redis test server when its URL is set.

use crate::db::Db;
use crate::env;
use std::io::Write;
use std::sync::Once;

pub mod smtp;
pub mod webhook_receiver;

/// A database backend the conformance suites run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Whether this backend's tests run in this environment. PostgreSQL without a URL is
    /// skipped, said once per test binary on the real standard error (the test harness would
    /// swallow a `println!` of a passing test), or a failure under `MERCATO_TEST_REQUIRE_POSTGRES=1`.
    pub fn runs_here(self) -> bool {
        match self {
            Backend::Sqlite => true,
            Backend::Postgres if env::test_url(env::TEST_POSTGRES_URL).is_some() => true,
            Backend::Postgres => {
                let required = std::env::var(env::TEST_REQUIRE_POSTGRES).is_ok_and(|v| v.trim() == "1");
                assert!(
                    !required,
                    "{} is 1 but {} is not set, so this PostgreSQL test cannot run",
                    env::TEST_REQUIRE_POSTGRES,
                    env::TEST_POSTGRES_URL
                );
                static SAID: Once = Once::new();
                SAID.call_once(|| {
                    let _ = writeln!(
                        std::io::stderr(),
                        "note: the PostgreSQL variants of this binary's tests pass without running: \
                         {} is not set ({}=1 makes that a failure)",
                        env::TEST_POSTGRES_URL,
                        env::TEST_REQUIRE_POSTGRES
                    );
                });
                false
            }
        }
    }

    /// A fresh, empty database on this backend. Call it only when [`Backend::runs_here`].
    pub async fn database(self) -> Db {
        match self {
            Backend::Sqlite => Db::sqlite_temp().await.expect("sqlite test database"),
            Backend::Postgres => {
                let url = env::test_url(env::TEST_POSTGRES_URL).expect("a PostgreSQL test server");
                postgres_temp(&url).await
            }
        }
    }
}

/// What a [`backend_tests!`] variant is: a backend, a [`Facility`], or a suite's own richer
/// value (the orders suite's topology) that knows whether it can run here.
pub trait Variant {
    /// Whether this variant's tests run in this environment; one that cannot passes without
    /// running.
    fn runs_here(&self) -> bool;
}

impl Variant for Backend {
    fn runs_here(&self) -> bool {
        Backend::runs_here(*self)
    }
}

/// Where a shared facility under test (the bus, a cache, a rate limiter) lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Facility {
    /// In this process, as embedded.
    InProcess,
    /// On the test server whose URL this environment variable holds ([`env::TEST_NATS_URL`],
    /// [`env::TEST_REDIS_URL`]), as distributed.
    Server(&'static str),
}

impl Facility {
    /// The test server's URL; `None` in process or when the variable is unset.
    pub fn url(self) -> Option<String> {
        match self {
            Facility::InProcess => None,
            Facility::Server(variable) => env::test_url(variable),
        }
    }
}

impl Variant for Facility {
    /// In process always; on a server when its URL is set, else skipped (said once per binary).
    fn runs_here(&self) -> bool {
        if *self == Facility::InProcess || self.url().is_some() {
            return true;
        }
        static SAID: Once = Once::new();
        SAID.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "note: this binary's tests on a test server whose URL is unset ({self:?}) pass \
                 without running"
            );
        });
        false
    }
}

/// Makes each listed case one test per variant, in a module named after the case, so that a
/// failure names its backend: `stock_is_never_negative::sqlite`, `…::postgres`. After quickwit's
/// `metastore_test_suite!`.
///
/// A case is an ordinary `async fn` of the file taking the value `setup` builds from a variant,
/// so rustfmt and the IDE see it as code; a case written but not listed is dead code, which the
/// lints refuse.
///
/// ```ignore
/// mercato_runtime::backend_tests! {
///     // Builds each case's argument from the variant (here a `Backend`).
///     setup: Inventory::on,
///     cases: [
///         stock_is_never_negative,
///         #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
///         concurrent_reservations_never_oversell,
///     ],
/// }
///
/// async fn stock_is_never_negative(inv: Inventory) { /* … */ }
/// ```
///
/// A case without attributes is a `#[tokio::test]`; one with attributes gets exactly those on
/// each of its tests. The variants are `sqlite: Backend::Sqlite, postgres: Backend::Postgres`
/// unless a `variants: { name: value, … },` line follows `setup`; a value is any [`Variant`].
/// A variant that cannot run here passes without running ([`Variant::runs_here`]).
#[macro_export]
macro_rules! backend_tests {
    (
        setup: $setup:expr,
        cases: [ $( $(#[$meta:meta])* $name:ident ),* $(,)? ] $(,)?
    ) => {
        $crate::backend_tests! {
            setup: $setup,
            variants: {
                sqlite: $crate::testing::Backend::Sqlite,
                postgres: $crate::testing::Backend::Postgres,
            },
            cases: [ $( $(#[$meta])* $name ),* ],
        }
    };
    (
        setup: $setup:expr,
        variants: $variants:tt,
        cases: [ $( $(#[$meta:meta])* $name:ident ),* $(,)? ] $(,)?
    ) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                $crate::backend_tests!(@variants ($setup) $name [$(#[$meta])*] $variants);
            }
        )*
    };
    (@variants ($setup:expr) $name:ident [] $variants:tt) => {
        $crate::backend_tests!(@variants ($setup) $name [#[tokio::test]] $variants);
    };
    (@variants ($setup:expr) $name:ident [$(#[$meta:meta])+] { $(,)? }) => {};
    (
        @variants ($setup:expr) $name:ident [$(#[$meta:meta])+]
        { $variant:ident : $value:expr $(, $($rest:tt)*)? }
    ) => {
        $(#[$meta])+
        async fn $variant() {
            let variant = $value;
            if $crate::testing::Variant::runs_here(&variant) {
                super::$name(($setup)(variant).await).await;
            }
        }

        $crate::backend_tests!(@variants ($setup) $name [$(#[$meta])+] { $($($rest)*)? });
    };
}

/// A new, uniquely named PostgreSQL database on the test server.
pub async fn postgres_temp(server_url: &str) -> Db {
    let name = format!("mercato_test_{}", uuid::Uuid::now_v7().simple());
    Db::postgres(server_url, &name, 8)
        .await
        .expect("postgres test database")
}

/// Every event in `db`'s outbox, in the order it was written.
pub async fn outbox_events(db: &Db) -> Vec<mercato_proto::events::EventEnvelope> {
    let rows: Vec<(Vec<u8>,)> = db
        .query_all("SELECT payload FROM outbox ORDER BY id", &[])
        .await
        .expect("the outbox reads");
    let decode =
        |(payload,): (Vec<u8>,)| prost::Message::decode(payload.as_slice()).expect("an event envelope");
    rows.into_iter().map(decode).collect()
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

/// The log lines written on this thread while the guard lives, for tests of what is logged.
pub struct CapturedLogs {
    lines: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl CapturedLogs {
    /// Captures lines of `level` and above as plain text (fields as `name=value`).
    pub fn start(level: tracing::Level) -> Self {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .finish();
        CapturedLogs {
            lines,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lines.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

struct LogSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
