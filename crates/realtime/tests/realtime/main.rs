//! The realtime service's integration tests, in one binary to cut link time.
