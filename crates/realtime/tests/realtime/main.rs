//! The realtime service's integration tests, in one binary to cut link time: every conversation
//! test runs on each configured database (SQLite always, PostgreSQL when
//! `MERCATO_TEST_POSTGRES_URL` is set), and the presence suite on Redis when
//! `MERCATO_TEST_REDIS_URL` is set; `live` drives the WebSocket endpoint over real sockets.

mod conversations;
mod live;
mod presence;
mod support;
