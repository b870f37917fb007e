//! The web pages against a real embedded platform, over HTTP: one test binary.

mod harness;
mod live;
mod skeleton;
mod storefront;
