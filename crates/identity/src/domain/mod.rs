//! The identity domain: input newtypes, password hashing, token rules and who may disable
//! whom, free of storage.

pub mod disabling;
pub mod passwords;
pub mod throttle;
pub mod tokens;
pub mod validate;
