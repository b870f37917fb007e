//! Every environment variable Mercato reads, in one place.

/// Prefix of configuration overrides; `__` separates nesting levels (`MERCATO__HTTP__LISTEN`).
pub const CONFIG_PREFIX: &str = "MERCATO__";
/// Path of an optional TOML configuration file.
pub const CONFIG_FILE: &str = "MERCATO_CONFIG";
/// Log filter in `tracing_subscriber::EnvFilter` syntax.
pub const LOG_FILTER: &str = "RUST_LOG";

/// PostgreSQL server URL for tests; when set, conformance suites also run on PostgreSQL.
pub const TEST_POSTGRES_URL: &str = "MERCATO_TEST_POSTGRES_URL";
/// `1` makes a PostgreSQL test fail, instead of passing without running, when
/// `MERCATO_TEST_POSTGRES_URL` is unset; CI sets it so that a lost URL cannot go unnoticed.
pub const TEST_REQUIRE_POSTGRES: &str = "MERCATO_TEST_REQUIRE_POSTGRES";
/// NATS URL for tests; when set, bus suites also run on NATS JetStream.
pub const TEST_NATS_URL: &str = "MERCATO_TEST_NATS_URL";
/// Redis URL for tests; when set, cache suites also run on Redis.
pub const TEST_REDIS_URL: &str = "MERCATO_TEST_REDIS_URL";
/// An S3 bucket for tests (`s3://bucket/prefix`, with the usual `AWS_*` variables); when set, a
/// build with the `s3` feature also tests the file store against it.
pub const TEST_S3_URL: &str = "MERCATO_TEST_S3_URL";

/// Most SQLite transactions committed together (default 256); `1` turns group commit off, for
/// the storage benchmark's comparison (`benchmarks/README.md`). Not a tuning knob.
pub const SQLITE_MAX_GROUP: &str = "MERCATO_SQLITE_MAX_GROUP";

/// `0` sends every SQLite transaction to the writer thread, even when the connection is idle;
/// for the storage benchmark's comparison only.
pub const SQLITE_COMMIT_INLINE: &str = "MERCATO_SQLITE_COMMIT_INLINE";

/// The work lane's niceness (default [`crate::lanes::WORK_NICENESS`]); for the overload
/// benchmark's comparison only.
pub const WORK_NICENESS: &str = "MERCATO_WORK_NICENESS";

/// Reads an optional test URL, treating an empty value as unset.
pub fn test_url(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
