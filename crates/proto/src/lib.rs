//! Service contracts, generated from the protobuf files under `/proto`.
//!
//! Each module is one protobuf package: its messages, its tonic client and its server trait.
//! Services implement the server traits; callers reach them through `mercato_runtime::clients`,
//! which call the implementation directly when it runs in the same process and over gRPC otherwise.

/// The generated packages, nested as their protobuf names so cross-package references resolve.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod mercato {
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
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("mercato.events.v1");
        }
    }
}

pub use mercato::catalog::v1 as catalog;
pub use mercato::events::v1 as events;
pub use mercato::identity::v1 as identity;
pub use mercato::inventory::v1 as inventory;
pub use mercato::orders::v1 as orders;
pub use mercato::payments::v1 as payments;
pub use mercato::realtime::v1 as realtime;

/// Event subjects, defined once next to the event messages; publishers and consumers use these.
pub mod subjects {
    /// What the catalog publishes.
    pub mod catalog {
        pub const PRODUCT_CREATED: &str = "mercato.catalog.product_created";
        pub const PRODUCT_UPDATED: &str = "mercato.catalog.product_updated";
        pub const PRODUCT_DELETED: &str = "mercato.catalog.product_deleted";
        pub const CATEGORY_CREATED: &str = "mercato.catalog.category_created";
        /// Every catalog event.
        pub const ALL: &str = "mercato.catalog.>";
    }
}
