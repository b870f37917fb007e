//! The identity domain: input newtypes, password hashing, token rules, who may disable whom,
//! and customers' profiles, free of storage.

pub mod disabling;
pub mod passwords;
pub mod profile;
pub mod throttle;
pub mod tokens;
pub mod validate;
