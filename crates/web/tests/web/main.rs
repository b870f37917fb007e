//! The web pages against a real embedded platform, over HTTP: one test binary.

mod admin;
mod harness;
mod live;
mod people;
mod session;
mod skeleton;
mod storefront;
mod storefront_email;
