//! The realtime service's integration tests, in one binary to cut link time: every conversation
//! test runs on each configured database (SQLite always, PostgreSQL when
//! `MERCATO_TEST_POSTGRES_URL` is set), and the presence suite on Redis when
//! `MERCATO_TEST_REDIS_URL` is set.

mod conversations;
mod presence;
mod support;
