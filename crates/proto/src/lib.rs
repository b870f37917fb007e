//! Service contracts, generated from the protobuf files under `/proto`.
//!
//! Each module is one protobuf package: its messages, its tonic client and its server trait.
//! Services implement the server traits; callers reach them through `mercato_runtime::clients`,
//! which call the implementation directly when it runs in the same process and over gRPC otherwise.

/// The generated packages, nested as their protobuf names so cross-package references resolve.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod mercato {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("mercato.common.v1");
        }
    }
    pub mod identity {
        pub mod v1 {
            tonic::include_proto!("mercato.identity.v1");
        }
    }
    pub mod catalog {
        pub mod v1 {
            tonic::include_proto!("mercato.catalog.v1");
        }
    }
    pub mod inventory {
        pub mod v1 {
            tonic::include_proto!("mercato.inventory.v1");
        }
    }
    pub mod payments {
        pub mod v1 {
            tonic::include_proto!("mercato.payments.v1");
        }
    }
    pub mod orders {
        pub mod v1 {
            tonic::include_proto!("mercato.orders.v1");
        }
    }
    pub mod realtime {
        pub mod v1 {
            tonic::include_proto!("mercato.realtime.v1");
        }
    }
    pub mod analytics {
        pub mod v1 {
            tonic::include_proto!("mercato.analytics.v1");
        }
    }
    pub mod notifications {
        pub mod v1 {
            tonic::include_proto!("mercato.notifications.v1");
        }
    }
    pub mod jobs {
        pub mod v1 {
            tonic::include_proto!("mercato.jobs.v1");
        }
    }
    pub mod imports {
        pub mod v1 {
            tonic::include_proto!("mercato.imports.v1");
        }
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("mercato.events.v1");
        }
    }
}

pub mod names;

pub use mercato::analytics::v1 as analytics;
pub use mercato::catalog::v1 as catalog;
pub use mercato::common::v1 as common;
pub use mercato::events::v1 as events;
pub use mercato::identity::v1 as identity;
pub use mercato::imports::v1 as imports;
pub use mercato::inventory::v1 as inventory;
pub use mercato::jobs::v1 as jobs;
pub use mercato::notifications::v1 as notifications;
pub use mercato::orders::v1 as orders;
pub use mercato::payments::v1 as payments;
pub use mercato::realtime::v1 as realtime;

/// Event subjects, defined once next to the event messages; publishers and consumers use these
/// (a subject retyped elsewhere could drift, and a typo drops deliveries without an error).
pub mod subjects {
    /// What identity publishes.
    pub mod identity {
        /// A new store (`StoreProvisioned`).
        pub const STORE_PROVISIONED: &str = "mercato.identity.store_provisioned";
        /// A store's name or time zone changed (`StoreChanged`).
        pub const STORE_CHANGED: &str = "mercato.identity.store_changed";
        /// One of identity's jobs changed (`JobChanged`).
        pub const JOB_CHANGED: &str = "mercato.identity.job_changed";
        /// An account was made: sign-up, staff created, a store's first owner (`AccountChanged`).
        pub const ACCOUNT_CREATED: &str = "mercato.identity.account_created";
        /// An account was disabled or enabled (`AccountChanged`).
        pub const ACCOUNT_CHANGED: &str = "mercato.identity.account_changed";
        /// Every identity event.
        pub const ALL: &str = "mercato.identity.>";
    }

    /// What the catalog publishes.
    pub mod catalog {
        pub const PRODUCT_CREATED: &str = "mercato.catalog.product_created";
        pub const PRODUCT_UPDATED: &str = "mercato.catalog.product_updated";
        pub const PRODUCT_DELETED: &str = "mercato.catalog.product_deleted";
        pub const CATEGORY_CREATED: &str = "mercato.catalog.category_created";
        /// One of the catalog's jobs changed (`JobChanged`).
        pub const JOB_CHANGED: &str = "mercato.catalog.job_changed";
        /// Every replica rebuilds the store's search index (`SearchReindexRequested`), published
        /// by the `search.reindex` job.
        pub const SEARCH_REINDEX_REQUESTED: &str = "mercato.catalog.search_reindex_requested";
        /// Every catalog event.
        pub const ALL: &str = "mercato.catalog.>";
    }

    /// What the inventory publishes.
    pub mod inventory {
        /// Any change of a stock row: on hand, reserved or the threshold.
        pub const STOCK_CHANGED: &str = "mercato.inventory.stock_changed";
        /// Available fell to or below the threshold (and was above it before).
        pub const LOW_STOCK: &str = "mercato.inventory.low_stock";
        pub const STOCK_RESERVED: &str = "mercato.inventory.stock_reserved";
        pub const STOCK_COMMITTED: &str = "mercato.inventory.stock_committed";
        pub const STOCK_RELEASED: &str = "mercato.inventory.stock_released";
        pub const RESERVATION_EXPIRED: &str = "mercato.inventory.reservation_expired";
        pub const STOCK_RESTOCKED: &str = "mercato.inventory.stock_restocked";
    }

    /// What the orders service publishes (an `OrderChanged` each, but for the cart and checkout
    /// events).
    pub mod orders {
        pub const ORDER_PLACED: &str = "mercato.orders.order_placed";
        pub const ORDER_CONFIRMED: &str = "mercato.orders.order_confirmed";
        pub const ORDER_FAILED: &str = "mercato.orders.order_failed";
        pub const ORDER_CANCELLED: &str = "mercato.orders.order_cancelled";
        pub const ORDER_REFUNDED: &str = "mercato.orders.order_refunded";
        /// An order imported from a legacy shop (`OrderChanged`): history, so it is counted
        /// (analytics, a customer's order count) but nobody is e-mailed and no webhook fires.
        pub const ORDER_IMPORTED: &str = "mercato.orders.order_imported";
        /// After the sale: a fulfilment was created, shipped or delivered; a return was
        /// requested, approved, rejected or received (its refund is an `order_refunded`).
        pub const FULFILMENT_CREATED: &str = "mercato.orders.fulfilment_created";
        pub const FULFILMENT_SHIPPED: &str = "mercato.orders.fulfilment_shipped";
        pub const FULFILMENT_DELIVERED: &str = "mercato.orders.fulfilment_delivered";
        pub const RETURN_REQUESTED: &str = "mercato.orders.return_requested";
        pub const RETURN_APPROVED: &str = "mercato.orders.return_approved";
        pub const RETURN_REJECTED: &str = "mercato.orders.return_rejected";
        pub const RETURN_RECEIVED: &str = "mercato.orders.return_received";
        /// A cart got its first line (`CartStarted`).
        pub const CART_STARTED: &str = "mercato.orders.cart_started";
        /// A checkout placed an order from a cart (`CheckoutStarted`).
        pub const CHECKOUT_STARTED: &str = "mercato.orders.checkout_started";
        /// One of the orders service's jobs changed (`JobChanged`).
        pub const JOB_CHANGED: &str = "mercato.orders.job_changed";
        /// Every orders event.
        pub const ALL: &str = "mercato.orders.>";
    }

    /// What the payments service publishes (each a `PaymentChanged`).
    pub mod payments {
        pub const PAYMENT_AUTHORIZED: &str = "mercato.payments.payment_authorized";
        pub const PAYMENT_DECLINED: &str = "mercato.payments.payment_declined";
        pub const PAYMENT_FLAGGED: &str = "mercato.payments.payment_flagged";
        pub const PAYMENT_CAPTURED: &str = "mercato.payments.payment_captured";
        pub const PAYMENT_VOIDED: &str = "mercato.payments.payment_voided";
        pub const PAYMENT_REFUNDED: &str = "mercato.payments.payment_refunded";
        /// Every payments event.
        pub const ALL: &str = "mercato.payments.>";
    }

    /// What the realtime service publishes.
    pub mod realtime {
        /// A conversation message was stored (`MessagePosted`).
        pub const MESSAGE_POSTED: &str = "mercato.realtime.message_posted";
        /// A member's read marker moved (`ReadMarked`).
        pub const READ_MARKED: &str = "mercato.realtime.read_marked";
        /// Typing indicators and presence changes between replicas (not stored).
        pub const SIGNAL: &str = "mercato.realtime.signal";
        /// Every realtime event.
        pub const ALL: &str = "mercato.realtime.>";
    }

    /// What gateways publish (straight on the bus, not through an outbox).
    pub mod gateway {
        /// A store's product views over a minute (`ProductViewsCounted`).
        pub const PRODUCT_VIEWS_COUNTED: &str = "mercato.gateway.product_views_counted";
    }

    /// What the analytics service publishes.
    pub mod analytics {
        /// A store's figures for today changed (`FiguresChanged`).
        pub const FIGURES_CHANGED: &str = "mercato.analytics.figures_changed";
    }

    /// What the notifications service publishes.
    pub mod notifications {
        /// An endpoint was disabled because its deliveries kept failing (`WebhookEndpointDisabled`).
        pub const WEBHOOK_ENDPOINT_DISABLED: &str = "mercato.notifications.webhook_endpoint_disabled";
        /// One of its jobs (`email.send`) changed (`JobChanged`).
        pub const JOB_CHANGED: &str = "mercato.notifications.job_changed";
    }
}
