//! Stores and users: provisioning a store with its owner and API client, registering users,
//! disabling and re-enabling them, listing a store's staff, looking stores up.

use crate::IdentityService;
use crate::domain::disabling::{self, Actor, DisableRefusal, Target};
use crate::domain::profile::ProfileChange;
use crate::domain::tokens::{new_client_id, random_secret, secret_hash};
use crate::domain::validate::{Email, Password, Slug, StoreName, TimeZoneName};
use crate::store::customers::ProfileRecord;
use crate::store::{
    ApiClientRecord, Provisioning, Refusal, StoreChange, StoreError, StoreRecord, UserRecord,
};
use mercato_proto::events::{EventEnvelope, StoreChanged, StoreProvisioned};
use mercato_proto::identity::{ProvisionStoreRequest, SetUserDisabledRequest, UpdateStoreRequest};
use mercato_runtime::auth::Role;
use mercato_runtime::error::{ServiceError, Validator};
use mercato_runtime::ids::{StoreId, UserId};
use mercato_runtime::money::Currency;
use mercato_runtime::outbox;

/// The event subject of a store whose name or time zone changed.
pub use mercato_proto::subjects::identity::STORE_CHANGED;
/// The event subject of a new store.
pub use mercato_proto::subjects::identity::STORE_PROVISIONED;

/// The name of the API client a store is provisioned with.
pub const DEFAULT_CLIENT_NAME: &str = "Default";

/// A new store and what came with it; the client secret exists only here, never in storage.
pub(crate) struct Provisioned {
    pub store: StoreRecord,
    pub owner: UserRecord,
    pub api_client: ApiClientRecord,
    pub client_secret: String,
}

/// Reached only if a `Validator` passed while a check returned nothing, which is a bug.
fn validated<T>(value: Option<T>) -> Result<T, ServiceError> {
    value.ok_or_else(|| ServiceError::internal("validation passed without a value"))
}

/// A store request whose fields all passed validation (the owner's password travels apart,
/// since hashing it consumes it).
struct NewStore {
    slug: Slug,
    name: StoreName,
    currency: Currency,
    owner_email: Email,
    time_zone: TimeZoneName,
}

impl NewStore {
    /// Checks every field of the request, reporting all that fail at once.
    fn parse(req: &ProvisionStoreRequest) -> Result<(NewStore, Password), ServiceError> {
        let mut v = Validator::new();
        let slug = v.check(Slug::parse(&req.slug));
        let name = v.check(StoreName::parse(&req.name));
        let currency = v.check(Currency::parse(&req.currency));
        let email = v.check(Email::parse("owner_email", &req.owner_email));
        let password = v.check(Password::parse("owner_password", &req.owner_password));
        let time_zone = v.check(TimeZoneName::parse(&req.time_zone));
        v.finish()?;
        let new_store = NewStore {
            slug: validated(slug)?,
            name: validated(name)?,
            currency: validated(currency)?,
            owner_email: validated(email)?,
            time_zone: validated(time_zone)?,
        };
        Ok((new_store, validated(password)?))
    }

    /// The store, its owner, its staff API client (holding only the hash of `client_secret`)
    /// and the event announcing them, as one write.
    fn provisioning(&self, password_hash: String, client_secret: &str) -> Provisioning {
        let now = mercato_runtime::time::now_ms();
        let store = StoreRecord {
            id: StoreId::new(),
            slug: self.slug.as_str().to_owned(),
            name: self.name.as_str().to_owned(),
            currency: self.currency.as_str().to_owned(),
            created_at: now,
            time_zone: self.time_zone.as_str().to_owned(),
        };
        let owner = UserRecord {
            id: UserId::new(),
            store_id: store.id,
            email: self.owner_email.as_str().to_owned(),
            role: Role::Owner,
            password_hash,
            created_at: now,
            disabled_at: None,
        };
        let api_client = ApiClientRecord {
            client_id: new_client_id(),
            store_id: store.id,
            name: DEFAULT_CLIENT_NAME.to_owned(),
            secret_hash: secret_hash(client_secret),
            role: Role::Staff,
            created_at: now,
            secret_rotated_at: None,
            revoked_at: None,
        };
        let event = store_provisioned(&store);
        Provisioning {
            store,
            owner,
            api_client,
            event,
        }
    }
}

/// The `store_provisioned` event of a new store, for the outbox.
fn store_provisioned(store: &StoreRecord) -> EventEnvelope {
    outbox::envelope(
        &store.id.to_string(),
        STORE_PROVISIONED,
        1,
        &StoreProvisioned {
            store_id: store.id.to_string(),
            slug: store.slug.clone(),
            name: store.name.clone(),
            currency: store.currency.clone(),
            time_zone: store.time_zone.clone(),
        },
    )
}

/// The `store_changed` event of a renamed or re-zoned store, for the outbox.
fn store_changed(store: &StoreRecord) -> EventEnvelope {
    outbox::envelope(
        &store.id.to_string(),
        STORE_CHANGED,
        1,
        &StoreChanged {
            store_id: store.id.to_string(),
            slug: store.slug.clone(),
            name: store.name.clone(),
            currency: store.currency.clone(),
            time_zone: store.time_zone.clone(),
        },
    )
}

/// The fields of an `UpdateStore` request, each validated (every bad one reported at once).
fn store_change(req: &UpdateStoreRequest) -> Result<StoreChange, ServiceError> {
    let mut v = Validator::new();
    let name = req.name.as_deref().map(|n| v.check(StoreName::parse(n)));
    let time_zone = req.time_zone.as_deref().map(|t| v.check(TimeZoneName::parse(t)));
    v.finish()?;
    Ok(StoreChange {
        name: name.map(validated).transpose()?.map(|n| n.as_str().to_owned()),
        time_zone: time_zone
            .map(validated)
            .transpose()?
            .map(|t| t.as_str().to_owned()),
    })
}

impl IdentityService {
    /// Creates a store, its owner and a staff API client, and records the event, all in one
    /// transaction: either the merchant gets everything or nothing was written.
    pub(crate) async fn provision(&self, req: ProvisionStoreRequest) -> Result<Provisioned, ServiceError> {
        let (new_store, password) = NewStore::parse(&req)?;
        // A cheap early answer for the common case, before spending argon2 time on it; the
        // unique index still decides between concurrent requests for one slug.
        if self.store.store_by_slug(new_store.slug.as_str()).await?.is_some() {
            return Err(StoreError::Refused(Refusal::SlugTaken).into());
        }
        let password_hash = self.hasher.hash(password).await?;
        let client_secret = random_secret();
        let provisioning = new_store.provisioning(password_hash, &client_secret);
        self.store.provision(&provisioning).await?;
        self.outbox_waker.notify_one();
        tracing::info!(store_id = %provisioning.store.id, slug = %provisioning.store.slug, "store provisioned");
        Ok(Provisioned {
            store: provisioning.store,
            owner: provisioning.owner,
            api_client: provisioning.api_client,
            client_secret,
        })
    }

    /// Adds a customer or staff account to a store; a customer's with the `profile` its
    /// sign-up gives, validated with the credentials (every bad field reported at once) and
    /// written in the same transaction.
    pub(crate) async fn register_user(
        &self,
        store_id: &str,
        role: Role,
        email: &str,
        password: &str,
        profile: Option<ProfileChange<'_>>,
    ) -> Result<UserRecord, ServiceError> {
        let mut v = Validator::new();
        let store_id = v.check(StoreId::parse("store_id", store_id));
        let email = v.check(Email::parse("email", email));
        let password = v.check(Password::parse("password", password));
        let now = mercato_runtime::time::now_ms();
        let profile = match profile {
            Some(change) => v.check(change.apply(&ProfileRecord::default(), now)),
            None => None,
        };
        v.finish()?;
        let (store_id, email, password) = (validated(store_id)?, validated(email)?, validated(password)?);

        // Checked before hashing so that requests for unknown stores cost no argon2 time;
        // the insert checks again, in its transaction.
        if self.store.store_by_id(store_id).await?.is_none() {
            return Err(ServiceError::not_found("store"));
        }
        let user = UserRecord {
            id: UserId::new(),
            store_id,
            email: email.as_str().to_owned(),
            role,
            password_hash: self.hasher.hash(password).await?,
            created_at: now,
            disabled_at: None,
        };
        match profile {
            Some(profile) => self.customers.create_customer(store_id, &user, &profile).await?,
            None => self.store.create_user(store_id, &user).await?,
        }
        self.outbox_waker.notify_one();
        tracing::info!(store_id = %store_id, user_id = %user.id, role = role.as_str(), "user registered");
        Ok(user)
    }

    /// Disables or re-enables a user of a store on behalf of the caller the request names, as
    /// [`disabling::check`] allows. Disabling revokes the user's refresh tokens in the same
    /// transaction; its access tokens live until they expire.
    pub(crate) async fn set_account_disabled(
        &self,
        req: &SetUserDisabledRequest,
    ) -> Result<UserRecord, ServiceError> {
        let store_id = StoreId::parse("store_id", &req.store_id)?;
        let actor_role = Role::from_proto(req.actor_role)?
            .ok_or_else(|| ServiceError::forbidden(DisableRefusal::NotStaff.to_string()))?;
        let actor = Actor {
            user_id: &req.actor_user_id,
            role: actor_role,
        };
        // An id that is not a UUID names no user, as an unknown one does.
        let user_id = UserId::parse("user_id", &req.user_id).map_err(|_| ServiceError::not_found("user"))?;
        let user = self
            .store
            .user_by_id(store_id, user_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("user"))?;
        let target_id = user.id.to_string();
        let target = Target {
            user_id: &target_id,
            role: user.role,
            disabled: user.disabled_at.is_some(),
        };
        let enabled_owners = match user.role {
            Role::Owner => self.store.enabled_owners(store_id).await?,
            _ => 0,
        };
        disabling::check(actor, target, req.disabled, enabled_owners)?;

        let disabled_at = req.disabled.then(mercato_runtime::time::now_ms);
        let changed = self
            .store
            .set_user_disabled(store_id, user_id, disabled_at)
            .await?
            .ok_or_else(|| ServiceError::not_found("user"))?;
        self.outbox_waker.notify_one();
        tracing::info!(store_id = %store_id, user_id = %user_id, actor = %req.actor_user_id, disabled = req.disabled, "user account state set");
        Ok(changed)
    }

    /// The accounts that run a store (owners and staff, disabled ones too), oldest first; an
    /// unknown store is not found.
    pub(crate) async fn list_staff_users(&self, store_id: &str) -> Result<Vec<UserRecord>, ServiceError> {
        let store = self.store_by_id(store_id).await?;
        Ok(self.accounts.staff_users(store.id).await?)
    }

    /// Renames a store or changes its time zone (the gateway lets only its owner ask), with the
    /// `store_changed` event in the same transaction; an unknown store is not found.
    pub(crate) async fn update_store(&self, req: &UpdateStoreRequest) -> Result<StoreRecord, ServiceError> {
        let change = store_change(req)?;
        let Ok(store_id) = req.store_id.trim().parse() else {
            return Err(ServiceError::not_found("store"));
        };
        let store = self.store.update_store(store_id, &change, store_changed).await?;
        self.outbox_waker.notify_one();
        tracing::info!(store_id = %store.id, time_zone = %store.time_zone, "store changed");
        Ok(store)
    }

    /// A store by id; an id that is not a UUID names no store.
    pub(crate) async fn store_by_id(&self, id: &str) -> Result<StoreRecord, ServiceError> {
        let Ok(id) = id.trim().parse::<StoreId>() else {
            return Err(ServiceError::not_found("store"));
        };
        self.store
            .store_by_id(id)
            .await?
            .ok_or_else(|| ServiceError::not_found("store"))
    }

    pub(crate) async fn store_by_slug(&self, slug: &str) -> Result<StoreRecord, ServiceError> {
        self.store
            .store_by_slug(slug)
            .await?
            .ok_or_else(|| ServiceError::not_found("store"))
    }
}
