//! Subjects of the events the realtime service publishes.

/// A conversation message was stored (`MessagePosted`).
pub const MESSAGE_POSTED: &str = "mercato.realtime.message_posted";
/// A member's read marker moved (`ReadMarked`).
pub const READ_MARKED: &str = "mercato.realtime.read_marked";
