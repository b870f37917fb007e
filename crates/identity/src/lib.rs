//! The identity service: stores (tenants) and their provisioning, users and roles, customers'
//! profiles and address books, the OAuth2 token endpoint, and the Ed25519 keys access tokens
//! are signed with.
//!
//! # Layout
//!
//! - [`service`]: [`IdentityService`], its start-up, and the gRPC contract
//!   (`mercato.identity.v1.Identity`) mapped onto the operations below.
//! - [`accounts`]: provisioning a store (store, owner, API client and the
//!   `mercato.identity.store_provisioned` event in one transaction), changing a store's name or
//!   time zone (`UpdateStore`, with `mercato.identity.store_changed` in the same transaction;
//!   the gateway admits only the owner), registering users, disabling (revoking their refresh
//!   tokens) and re-enabling them. A store's time zone is an IANA name checked against the tz
//!   database bundled with `jiff` (kept in its canonical spelling; "UTC" unless given).
//! - [`api_clients`]: the API clients an owner manages: create (the secret shown once),
//!   list, revoke, and rotate the secret (the old one refused at once).
//! - [`grants`]: the token endpoint: password (failures counted per account and client
//!   address, doubling locks; see `docs/adr/0003-sign-in-throttling.md`), refresh_token (single
//!   use, rotation, reuse revokes the family) and client_credentials (active clients only); and
//!   RFC 7009 revocation of a refresh token's family (sign-out).
//! - [`kek`]: the key-encryption key that seals signing keys at rest (AES-256-GCM; see
//!   `docs/adr/0006-signing-keys-at-rest.md`).
//! - [`keys`]: a signing key (generated sealed, shared by replicas through the database) and
//!   its JWK; [`keyring`]: which key signs, scheduled and on-demand rotation, and which keys
//!   the JWKS publishes (replaced keys until every token they signed has expired).
//! - [`customers`]: customers' profiles and address books, read and changed for the caller
//!   the gateway admitted (only customer accounts are customers; any other id is not found),
//!   and the staff's search with keyset pages; [`customer_orders`]: each customer's order count
//!   and total spent, from the orders service's `OrderChanged` events (consumer group
//!   `identity-customer-orders`, the inbox in the same transaction, newest order version wins).
//! - `imports`: customers imported from a legacy shop (ADR 0016): upserted by legacy key with
//!   derived ids, the legacy password hash kept until the first sign-in replaces it with
//!   argon2id (`grants`), checksums and records rebuilt from what is stored.
//! - [`domain`]: input newtypes, argon2id hashing (a bounded pool of slots and queue), the
//!   sign-in throttle's rules, token rules, who may disable whom, and profile changes (names,
//!   phone, when consent changed); no wire format. Addresses are `mercato_runtime::address`'s.
//! - `wire`: the edge — a token request as a domain `Grant`, the domain's refusals as
//!   `ServiceError`s.
//! - [`store`]: the [`store::IdentityStore`], [`store::customers::CustomerStore`] and
//!   [`store::accounts::AccountStore`] (staff users, API clients) traits, their SQL
//!   implementation and the migrations.
//!
//! # Invariants
//!
//! Passwords, client secrets and refresh tokens are never stored in clear: passwords as
//! argon2id hashes, secrets and refresh tokens (256 random bits each) as SHA-256, signing keys
//! sealed under the KEK. Every store-scoped storage call takes the store id first.

pub mod accounts;
pub mod api_clients;
pub mod customer_orders;
pub mod customers;
pub mod domain;
mod exports;
pub mod grants;
pub use mercato_runtime::kek;
mod imports;
pub mod keyring;
pub mod keys;
pub mod service;
pub mod store;
mod wire;

pub use service::IdentityService;
