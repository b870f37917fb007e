//! The realtime service's integration tests, in one binary to cut link time: every conversation
//! case is one test per database (`case::sqlite`, `case::postgres`; see
//! `mercato_runtime::backend_tests!`), and the presence suite runs on Redis when
//! `MERCATO_TEST_REDIS_URL` is set; `live` drives the WebSocket endpoint over real sockets.

mod conversations;
mod live;
mod presence;
mod support;
