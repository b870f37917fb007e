//! The identity domain: input newtypes, password hashing and token rules, free of storage.

pub mod passwords;
pub mod throttle;
pub mod tokens;
pub mod validate;
