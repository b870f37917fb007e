//! The orders domain: carts, the checkout saga as one pure function, and orders folded from
//! their event history. No IO.

pub mod cart;
pub mod charges;
pub mod fulfilment;
pub mod imported;
pub mod order;
pub mod saga;

pub use cart::{Cart, CartLine, CartRefusal, CartStatus, SkuInfo};
pub use order::{EventData, FailureCode, Order, OrderEvent, OrderStatus};
pub use saga::{Command, Saga, Terminal};

mercato_runtime::define_id!(
    /// A cart.
    CartId
);
mercato_runtime::define_id!(
    /// An order; also the inventory reservation id and the root of every payment key.
    OrderId
);

/// The caller as the contract describes it, normalised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    /// Empty for an anonymous shopper.
    pub user_id: String,
    pub role: Role,
    pub cart_token: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Role {
    #[default]
    Anonymous,
    Customer,
    Staff,
    Owner,
}

impl Caller {
    /// Owners and staff see every order of their store.
    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Owner | Role::Staff)
    }
}

/// SHA-256 of a secret, lower-case hex; what is stored instead of cart tokens.
pub use mercato_runtime::digest::sha256_hex;
