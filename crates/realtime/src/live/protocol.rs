//! The WebSocket protocol, version 1: JSON text frames with a `type`, described for clients in
//! `docs/realtime-protocol.md`. Requests may carry an `id`, echoed by the reply or error.

use serde::{Deserialize, Serialize};

/// The protocol version this server speaks.
pub const VERSION: u32 = 1;
/// The WebSocket subprotocol naming that version.
pub const SUBPROTOCOL: &str = "mercato.v1";
/// The largest frame a client may send.
pub const MAX_CLIENT_FRAME_BYTES: usize = 16 * 1024;

/// A frame from the client.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Authenticates (or re-authenticates with a fresh token) and states the version.
    Connect {
        #[serde(default)]
        id: Option<u64>,
        #[serde(default)]
        v: Option<u32>,
        #[serde(default)]
        token: Option<String>,
    },
    /// Starts receiving a channel; for conversations, first everything after `after_seq`
    /// (default: the caller's read marker).
    Subscribe {
        #[serde(default)]
        id: Option<u64>,
        channel: String,
        #[serde(default)]
        after_seq: Option<i64>,
    },
    Unsubscribe {
        #[serde(default)]
        id: Option<u64>,
        channel: String,
    },
    /// Sends a conversation message; acknowledged with `published` once stored.
    Publish {
        #[serde(default)]
        id: Option<u64>,
        channel: String,
        client_msg_id: String,
        body: String,
    },
    /// Marks a conversation read up to `seq`.
    Ack {
        #[serde(default)]
        id: Option<u64>,
        channel: String,
        seq: i64,
    },
    /// Tells the conversation's other members that the caller is typing.
    Typing { channel: String },
    /// Staff only: online or away.
    Presence {
        #[serde(default)]
        id: Option<u64>,
        status: String,
    },
    Ping {
        #[serde(default)]
        id: Option<u64>,
    },
}

impl ClientFrame {
    /// The request id to echo in the answer.
    pub fn id(&self) -> Option<u64> {
        match self {
            ClientFrame::Connect { id, .. }
            | ClientFrame::Subscribe { id, .. }
            | ClientFrame::Unsubscribe { id, .. }
            | ClientFrame::Publish { id, .. }
            | ClientFrame::Ack { id, .. }
            | ClientFrame::Presence { id, .. }
            | ClientFrame::Ping { id } => *id,
            ClientFrame::Typing { .. } => None,
        }
    }
}

/// A frame to the client.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Connected {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        v: u32,
        connection_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        store_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        role: Option<&'a str>,
        heartbeat_ms: u64,
    },
    Subscribed {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        channel: &'a str,
        /// Conversations: the newest seq when subscribing; backlog after `from_seq` follows.
        #[serde(skip_serializing_if = "Option::is_none")]
        last_seq: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        from_seq: Option<i64>,
    },
    Unsubscribed {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        channel: &'a str,
    },
    Published {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        channel: &'a str,
        seq: i64,
        message_id: &'a str,
        duplicate: bool,
    },
    Acked {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        channel: &'a str,
        read_seq: i64,
    },
    PresenceSet {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        status: &'a str,
    },
    Pong {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        code: &'a str,
        message: &'a str,
    },
    /// Sent before the server closes for a restart: reconnect (to any replica) and resume.
    Reconnect { reason: &'a str },
}

impl ServerFrame<'_> {
    pub fn to_json(&self) -> String {
        // Serializing these plain structs cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Error codes of `error` frames.
pub mod codes {
    pub const INVALID_FRAME: &str = "invalid_frame";
    pub const UNSUPPORTED_VERSION: &str = "unsupported_version";
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    pub const TOKEN_EXPIRED: &str = "token_expired";
    pub const INVALID_CHANNEL: &str = "invalid_channel";
    /// The channel does not exist or the caller may not see it; the two are not distinguished.
    pub const FORBIDDEN: &str = "forbidden";
    pub const NOT_SUBSCRIBED: &str = "not_subscribed";
    pub const TOO_MANY_SUBSCRIPTIONS: &str = "too_many_subscriptions";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const VALIDATION_FAILED: &str = "validation_failed";
    pub const UNAVAILABLE: &str = "unavailable";
}

/// Close codes, beyond RFC 6455's (1000 normal, 1001 going away, 1011 internal error).
pub mod close {
    /// A frame above the size limit (RFC 6455 1009).
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The server is restarting: reconnect, to any replica, and resume (RFC 6455 1012).
    pub const SERVICE_RESTART: u16 = 1012;
    /// The client asked for a protocol version this server does not speak.
    pub const UNSUPPORTED_VERSION: u16 = 4000;
    /// The token was refused or has expired; reconnect with a fresh one.
    pub const UNAUTHENTICATED: u16 = 4001;
    /// Nothing was heard from the client for three heartbeat intervals.
    pub const HEARTBEAT_TIMEOUT: u16 = 4002;
    /// The client read too slowly and its queue overflowed; reconnect and resume.
    pub const SLOW_CONSUMER: u16 = 4008;
    /// The client kept sending far beyond its rate limit.
    pub const FLOODING: u16 = 4029;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_parse_and_unknown_shapes_are_refused() {
        let f: ClientFrame =
            serde_json::from_str(r#"{"type":"subscribe","id":7,"channel":"staff:s1"}"#).unwrap();
        assert_eq!(f.id(), Some(7));
        let f: ClientFrame = serde_json::from_str(
            r#"{"type":"publish","channel":"conversation:c","client_msg_id":"m1","body":"hi"}"#,
        )
        .unwrap();
        assert!(matches!(f, ClientFrame::Publish { .. }));
        for bad in [
            r#"{"type":"subscribe"}"#,
            r#"{"type":"explode"}"#,
            r#"{"channel":"x"}"#,
            r#"{"type":"ping","extra":1}"#,
            r#"[1,2]"#,
            "not json",
        ] {
            assert!(serde_json::from_str::<ClientFrame>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_frames_serialize_with_their_type() {
        let json = ServerFrame::Error {
            id: Some(3),
            code: codes::FORBIDDEN,
            message: "no",
        }
        .to_json();
        assert_eq!(
            json,
            r#"{"type":"error","id":3,"code":"forbidden","message":"no"}"#
        );
        assert_eq!(ServerFrame::Pong { id: None }.to_json(), r#"{"type":"pong"}"#);
    }
}
