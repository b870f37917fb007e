//! Customers imported from a legacy shop (ADR 0016): written in batches keyed by legacy key,
//! read back as the canonical records reconciliation compares, and the one write a sign-in
//! makes to replace a verified legacy hash with argon2id; behind [`ImportStore`], which
//! [`super::sql::SqlIdentityStore`] implements in `imports_sql`.
//!
//! An imported customer is a customer account (role customer) whose row also holds its source,
//! legacy key and the source's modification time; its billing and shipping addresses are rows
//! of its address book with ids derived from its key ([`address_id`]), made its defaults.

use super::StoreError;
use async_trait::async_trait;
use mercato_proto::imports::{Entity, ImportedCustomer};
use mercato_runtime::ids::{StoreId, UserId};
use mercato_runtime::imports::target_id;

/// One validated record of a batch: its derived id and the record (e-mail normalised).
#[derive(Clone, Debug)]
pub struct CustomerImport {
    pub id: UserId,
    pub record: ImportedCustomer,
}

/// What the write did with one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Created,
    Updated,
    Unchanged,
    /// Another account of the store (made here, or imported under another key) has the e-mail.
    EmailTaken,
}

/// Which of an imported customer's addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressKind {
    Billing,
    Shipping,
}

/// The address-book id of an imported customer's billing or shipping address: derived like the
/// customer's own id, so a re-import finds it again.
pub fn address_id(store_id: StoreId, source: &str, legacy_key: &str, kind: AddressKind) -> String {
    let prefix = match kind {
        AddressKind::Billing => "billing",
        AddressKind::Shipping => "shipping",
    };
    let key = format!("{prefix}:{legacy_key}");
    target_id(&store_id.to_string(), source, Entity::Customer, &key).to_string()
}

/// How far imports of a source got: records, greatest key, newest source modification time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub count: u64,
    pub last_key: String,
    pub last_modified_ms: i64,
}

/// Where `--follow` stands for a store and source: the watermark (the source's clock when the
/// last pass that finished began, or the earliest start of those before it that did not) and
/// the earliest start of the passes under way since (0 for none of either).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Watermark {
    pub watermark_ms: i64,
    pub pass_began_ms: i64,
}

/// What the importer says of a pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassEvent {
    /// A pass or round began with the source's clock at this time (epoch ms).
    Began(i64),
    /// A pass or round that began at this time finished.
    Finished(i64),
}

/// The imported customers' storage. Every method takes the store id first.
#[async_trait]
pub trait ImportStore: Send + Sync + 'static {
    /// Writes a batch in one transaction: each record created, updated, left `Unchanged` (its
    /// canonical form and password hash equal what is stored) or refused with `EmailTaken`;
    /// an `account_changed` event for each created or updated one. A stored hash that is no
    /// longer a legacy one (the customer signed in since) is kept. One answer per record, in
    /// order.
    async fn import_customers(
        &self,
        store_id: StoreId,
        source: &str,
        batch: Vec<CustomerImport>,
    ) -> Result<Vec<Written>, StoreError>;

    /// The imported customers with keys in `[from_key, to_key)` (an empty `to_key`: no upper
    /// bound), in key order, at most `limit`, built from what is stored (the password hash
    /// left out).
    async fn imported_customers(
        &self,
        store_id: StoreId,
        source: &str,
        from_key: &str,
        to_key: &str,
        limit: Option<u32>,
    ) -> Result<Vec<ImportedCustomer>, StoreError>;

    /// How far imports of `source` got in the store.
    async fn customer_import_progress(&self, store_id: StoreId, source: &str)
    -> Result<Progress, StoreError>;

    /// Records that an import pass of `source` began or finished: a start is kept when it is
    /// the earliest pending; a finish moves the watermark to the earlier of its own start and
    /// the one pending (never back), and clears the pending one unless it is later (another
    /// pass's). Answers where `--follow` then stands.
    async fn record_import_pass(
        &self,
        store_id: StoreId,
        source: &str,
        event: PassEvent,
    ) -> Result<Watermark, StoreError>;

    /// Where `--follow` stands for `source` in the store.
    async fn import_watermark(&self, store_id: StoreId, source: &str) -> Result<Watermark, StoreError>;

    /// Replaces a user's password hash if it is still `legacy_hash`; whether it was.
    async fn upgrade_password(
        &self,
        store_id: StoreId,
        user_id: UserId,
        legacy_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError>;
}
