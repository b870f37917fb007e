//! Identifiers: UUIDv7 newtypes, so that a product id can never be passed where a store id belongs.

/// Defines a UUIDv7 identifier newtype with parsing, display and serde as a string.
#[macro_export]
macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            /// Parses an id, naming the field in the error.
            pub fn parse(field: &str, s: &str) -> Result<Self, $crate::error::ServiceError> {
                uuid::Uuid::parse_str(s.trim()).map(Self).map_err(|_| {
                    $crate::error::ServiceError::invalid_field(field, "must be a UUID")
                })
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl $crate::db::Param for $name {
            fn value(&self) -> $crate::db::Value<'_> {
                $crate::db::Value::Text(std::borrow::Cow::Owned(self.0.to_string()))
            }
        }

        impl $crate::db::Typed for $name {
            fn kind() -> $crate::db::Kind {
                $crate::db::Kind::Text
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }
    };
}

define_id!(
    /// A store (tenant). The first parameter of every store-scoped call.
    StoreId
);
define_id!(
    /// A user of one store: owner, staff or customer.
    UserId
);
define_id!(
    /// An event; what consumers deduplicate on.
    EventId
);
