//! What the notifications tests share: a service on a fresh database.
