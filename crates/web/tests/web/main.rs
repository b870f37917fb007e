//! The web pages against a real embedded platform, over HTTP: one test binary.

mod harness;
mod skeleton;
mod storefront;
