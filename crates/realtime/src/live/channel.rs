//! Channel names and who may subscribe to them (pure; conversations are checked by the service).
//!
//! | channel | carries | who may subscribe |
//! |---|---|---|
//! | `orders:{store_id}:{customer_id}` | that customer's order status changes | the customer |
//! | `staff:{store_id}` | new orders, payment problems, low stock, new conversation messages | owner and staff of the store |
//! | `stock:{store_id}:{sku}` | the SKU's available stock per location | anyone, even unauthenticated |
//! | `presence:{store_id}` | staff going online, away, offline | any signed-in user of the store |
//! | `conversation:{conversation_id}` | messages, read markers, typing | the customer and the store's staff |

use mercato_runtime::auth::{Claims, Role};

/// The longest channel name accepted.
pub const MAX_CHANNEL_LEN: usize = 200;

/// A parsed channel name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Channel {
    CustomerOrders { store_id: String, customer_id: String },
    StaffFeed { store_id: String },
    Stock { store_id: String, sku: String },
    Presence { store_id: String },
    Conversation { conversation_id: String },
}

/// Whether a caller may subscribe, as far as the name alone tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    Allowed,
    Denied,
    /// A conversation: the service decides from its membership.
    AskConversation,
}

impl Channel {
    /// Parses a channel name; `None` for anything malformed.
    pub fn parse(name: &str) -> Option<Channel> {
        if name.len() > MAX_CHANNEL_LEN {
            return None;
        }
        let mut parts = name.splitn(3, ':');
        let kind = parts.next()?;
        let a = parts.next().filter(|p| valid_part(p))?;
        let b = parts.next();
        let two = |b: Option<&str>| b.filter(|p| valid_part(p)).map(str::to_owned);
        match (kind, b) {
            ("orders", b) => Some(Channel::CustomerOrders {
                store_id: a.to_owned(),
                customer_id: two(b)?,
            }),
            ("stock", b) => Some(Channel::Stock {
                store_id: a.to_owned(),
                sku: two(b)?,
            }),
            ("staff", None) => Some(Channel::StaffFeed {
                store_id: a.to_owned(),
            }),
            ("presence", None) => Some(Channel::Presence {
                store_id: a.to_owned(),
            }),
            ("conversation", None) => Some(Channel::Conversation {
                conversation_id: a.to_owned(),
            }),
            _ => None,
        }
    }

    /// The canonical name.
    pub fn name(&self) -> String {
        match self {
            Channel::CustomerOrders {
                store_id,
                customer_id,
            } => format!("orders:{store_id}:{customer_id}"),
            Channel::StaffFeed { store_id } => format!("staff:{store_id}"),
            Channel::Stock { store_id, sku } => format!("stock:{store_id}:{sku}"),
            Channel::Presence { store_id } => format!("presence:{store_id}"),
            Channel::Conversation { conversation_id } => format!("conversation:{conversation_id}"),
        }
    }

    /// The store a subscription counts against, when the name says it.
    pub fn store_id(&self) -> Option<&str> {
        match self {
            Channel::CustomerOrders { store_id, .. }
            | Channel::StaffFeed { store_id }
            | Channel::Stock { store_id, .. }
            | Channel::Presence { store_id } => Some(store_id),
            Channel::Conversation { .. } => None,
        }
    }

    /// Who may subscribe: `claims` is `None` for an unauthenticated connection.
    pub fn access(&self, claims: Option<&Claims>) -> Access {
        let allowed = |ok: bool| if ok { Access::Allowed } else { Access::Denied };
        match (self, claims) {
            (Channel::Stock { .. }, _) => Access::Allowed,
            (_, None) => Access::Denied,
            (
                Channel::CustomerOrders {
                    store_id,
                    customer_id,
                },
                Some(c),
            ) => allowed(c.role == Role::Customer && &c.store == store_id && &c.sub == customer_id),
            (Channel::StaffFeed { store_id }, Some(c)) => {
                allowed(c.role.is_store_staff() && &c.store == store_id)
            }
            (Channel::Presence { store_id }, Some(c)) => allowed(&c.store == store_id),
            (Channel::Conversation { .. }, Some(_)) => Access::AskConversation,
        }
    }
}

/// Ids and SKUs: printable ASCII without separators or whitespace.
fn valid_part(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 100
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(store: &str, sub: &str, role: Role) -> Claims {
        Claims {
            iss: "mercato".into(),
            aud: "mercato-api".into(),
            sub: sub.into(),
            exp: i64::MAX,
            iat: 0,
            jti: "j".into(),
            store: store.into(),
            role,
        }
    }

    #[test]
    fn names_round_trip_and_malformed_ones_are_refused() {
        for name in [
            "orders:s1:u1",
            "staff:s1",
            "stock:s1:TEE-RED-M",
            "presence:s1",
            "conversation:c1",
        ] {
            assert_eq!(Channel::parse(name).unwrap().name(), name);
        }
        for bad in [
            "",
            "orders",
            "orders:s1",
            "staff:",
            "staff:s1:x",
            "stock:s1:a b",
            "chat:x",
            "conversation:a:b",
            "orders:s1:u1:extra",
            "stock:s1:a*",
        ] {
            assert_eq!(Channel::parse(bad), None, "{bad}");
        }
        assert_eq!(Channel::parse(&format!("staff:{}", "a".repeat(300))), None);
    }

    #[test]
    fn the_authorization_matrix_holds() {
        let customer = claims("s1", "u1", Role::Customer);
        let other_customer = claims("s1", "u2", Role::Customer);
        let staff = claims("s1", "u9", Role::Staff);
        let other_store_staff = claims("s2", "u8", Role::Owner);
        let orders = Channel::parse("orders:s1:u1").unwrap();
        assert_eq!(orders.access(Some(&customer)), Access::Allowed);
        assert_eq!(orders.access(Some(&other_customer)), Access::Denied);
        assert_eq!(orders.access(Some(&staff)), Access::Denied);
        assert_eq!(orders.access(None), Access::Denied);
        let feed = Channel::parse("staff:s1").unwrap();
        assert_eq!(feed.access(Some(&staff)), Access::Allowed);
        assert_eq!(feed.access(Some(&customer)), Access::Denied);
        assert_eq!(feed.access(Some(&other_store_staff)), Access::Denied);
        let stock = Channel::parse("stock:s1:SKU-1").unwrap();
        assert_eq!(stock.access(None), Access::Allowed);
        let presence = Channel::parse("presence:s1").unwrap();
        assert_eq!(presence.access(Some(&customer)), Access::Allowed);
        assert_eq!(presence.access(Some(&other_store_staff)), Access::Denied);
        let conversation = Channel::parse("conversation:c1").unwrap();
        assert_eq!(conversation.access(Some(&customer)), Access::AskConversation);
        assert_eq!(conversation.access(None), Access::Denied);
    }
}
