//! The realtime service: customer–store conversations with gapless per-conversation sequence
//! numbers, their history and read markers, the presence of store staff, and live delivery of
//! all of it (and of order, payment and stock events) over WebSocket.
//!
//! # Layout
//!
//! - [`service`]: [`RealtimeService`], its construction (migrations) and readiness; `grpc`
//!   implements the `Realtime` contract on it by calling the use cases in [`conversations`].
//! - [`domain`]: conversations and messages as values, and who may see them
//!   ([`domain::can_see`]); no IO, no wire format.
//! - `requests`: the caller and fields of a request checked into the domain's values (every
//!   bad field at once); `wire`: the domain's values and refusals as the contract's answers.
//! - [`store`]: the [`store::ConversationStore`] trait and its SQL implementation (SQLite and
//!   PostgreSQL), which appends each write's events to the outbox in the same transaction.
//! - [`presence`]: the [`Presence`] trait, in process ([`MemoryPresence`]) or in Redis
//!   ([`RedisPresence`]).
//! - [`events`]: subjects and envelopes of the events the realtime service publishes.
//! - [`live`]: delivery over WebSocket — `GET /v1/realtime`, one session per connection, the
//!   hub of this replica's subscriptions, and the bus listeners that feed it events from every
//!   service and messages, typing and presence from every replica.
//!
//! # Invariants
//!
//! - Within a conversation, messages are numbered 1, 2, 3, … without gaps or repeats under any
//!   concurrency, on both backends; a resend of a sender's `client_msg_id` takes no number.
//! - A conversation the caller may not see (another customer's, another store's) answers
//!   exactly as a missing one.
//! - Read markers only move forward.
//! - A connection receives a conversation's messages exactly once and in seq order: it drops
//!   seqs it has delivered and fills any gap from history before going on.
//! - Nothing reaches the hub's queues without bound: a connection whose queue is full is
//!   closed as a slow consumer (4008) rather than making publishers wait or memory grow.
//! - A write commits its events in the same transaction, then wakes the outbox relay.

pub mod conversations;
pub mod domain;
pub mod events;
mod grpc;
pub mod live;
pub mod presence;
mod requests;
pub mod service;
pub mod store;
mod wire;

pub use presence::{MemoryPresence, Presence, PresenceEntry, PresenceStatus, RedisPresence, Tab};
pub use service::RealtimeService;
