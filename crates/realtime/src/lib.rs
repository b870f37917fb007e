//! The realtime service (being built).

pub mod conversations;
pub mod events;
pub mod live;
pub mod presence;
pub mod service;
pub mod store;

pub use service::RealtimeService;
