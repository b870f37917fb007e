//! The identity service: its state, its start-up, and the gRPC contract mapped onto it.
//!
//! The contract methods here only translate between protobuf messages and the operations in
//! [`crate::accounts`] and [`crate::grants`], which return `ServiceError`.

use crate::domain::passwords::Hasher;
use crate::domain::profile::ProfileChange;
use crate::kek::KeyEncryptionKey;
use crate::keyring::{KeyRing, MAINTENANCE_INTERVAL};
use crate::keys;
use crate::store::accounts::AccountStore;
use crate::store::customers::CustomerStore;
use crate::store::imports::ImportStore;
use crate::store::migrations::MIGRATIONS;
use crate::store::sql::SqlIdentityStore;
use crate::store::{IdentityStore, StoreRecord, UserRecord};
use mercato_proto::identity::identity_server::Identity;
use mercato_proto::identity::{
    AddCustomerAddressRequest, ApiClient, CreateApiClientRequest, CreateStaffRequest, Customer,
    CustomerAddress, DeleteCustomerAddressRequest, DeleteCustomerAddressResponse, GetCustomerRequest,
    GetJwksRequest, GetStoreRequest, Jwks, ListApiClientsRequest, ListApiClientsResponse,
    ListCustomersRequest, ListCustomersResponse, ListStaffRequest, ListStaffResponse, ProvisionStoreRequest,
    ProvisionStoreResponse, RegisterCustomerRequest, RevokeApiClientRequest, RevokeTokenRequest,
    RevokeTokenResponse, RotateApiClientSecretRequest, SetUserDisabledRequest, Store, TokenRequest,
    TokenResponse, UpdateCustomerAddressRequest, UpdateCustomerRequest, User, get_store_request,
};
use mercato_proto::jobs::{Job, JobRequest, ListJobsRequest, ListJobsResponse, StartExportRequest};
use mercato_runtime::auth::Role;
use mercato_runtime::config::AuthSettings;
use mercato_runtime::db::Db;
use mercato_runtime::error::ServiceError;
use mercato_runtime::jobs::Jobs;
use mercato_runtime::time::now_ms;
use std::sync::{Arc, Weak};
use tokio::sync::Notify;
use tonic::{Request, Response, Status};

/// Stores, users, tokens and signing keys.
pub struct IdentityService {
    /// Every row the service reads or writes goes through this trait…
    pub(crate) store: Arc<dyn IdentityStore>,
    /// …and the customers' profiles, address books and order figures through this one.
    pub(crate) customers: Arc<dyn CustomerStore>,
    /// …and the staff users and API clients an owner manages through this one.
    pub(crate) accounts: Arc<dyn AccountStore>,
    /// …and the customers imported from a legacy shop through this one.
    pub(crate) imports: Arc<dyn ImportStore>,
    /// Issuer, audience and token lifetimes.
    pub(crate) auth: AuthSettings,
    /// The key new access tokens are signed with and the keys published; rotated on schedule.
    pub(crate) keys: KeyRing,
    /// Woken after a commit that appended an event, so the outbox relay publishes at once
    /// instead of at its next poll.
    pub(crate) outbox_waker: Arc<Notify>,
    /// Every password hash and check goes through it: a fixed number at once, a bounded queue.
    pub(crate) hasher: Hasher,
    /// Identity's background jobs (the customers export).
    pub(crate) jobs: Jobs,
}

impl IdentityService {
    /// Migrates the database, seals keys stored in clear, loads (or creates, or replaces when
    /// due) the signing key, and starts the key maintenance that runs every minute while the
    /// service lives.
    pub async fn new(
        db: Db,
        auth: AuthSettings,
        kek: KeyEncryptionKey,
        outbox_waker: Arc<Notify>,
    ) -> anyhow::Result<Arc<IdentityService>> {
        db.migrate("identity", MIGRATIONS).await?;
        let jobs = Jobs::new("identity", db.clone(), outbox_waker.clone());
        let sql = SqlIdentityStore::new(db);
        let customers: Arc<dyn CustomerStore> = Arc::new(sql.clone());
        let accounts: Arc<dyn AccountStore> = Arc::new(sql.clone());
        let imports: Arc<dyn ImportStore> = Arc::new(sql.clone());
        let store: Arc<dyn IdentityStore> = Arc::new(sql);
        let keys = KeyRing::start(store.as_ref(), kek, &auth, now_ms()).await?;
        crate::domain::passwords::warm_up().await?;
        tracing::info!(kid = keys.kid(), "identity service ready to sign tokens");
        let hasher = Hasher::new(auth.sign_in.hash_concurrency, auth.sign_in.hash_queue);
        let service = Arc::new(IdentityService {
            store,
            customers,
            accounts,
            imports,
            auth,
            keys,
            outbox_waker,
            hasher,
            jobs,
        });
        tokio::spawn(maintain_keys_while_alive(Arc::downgrade(&service)));
        Ok(service)
    }

    /// Rotates a due signing key, switches to the newest one and deletes expired ones, as if
    /// the time were `now_ms`; the maintenance task calls it every minute.
    pub async fn maintain_keys(&self, now_ms: i64) -> anyhow::Result<()> {
        self.keys.maintain(self.store.as_ref(), now_ms).await
    }

    /// The JWKS as published at `now_ms`: the active key and those still retiring.
    pub async fn jwks_at(&self, now_ms: i64) -> Result<Jwks, ServiceError> {
        let keys = self.keys.published(self.store.as_ref(), now_ms).await?;
        Ok(Jwks {
            keys: keys.iter().map(keys::jwk).collect(),
        })
    }

    /// Whether the database answers; for readiness probes.
    /// This service's jobs: its runner and the job RPCs.
    pub fn jobs(&self) -> &mercato_runtime::jobs::Jobs {
        &self.jobs
    }

    pub async fn ready(&self) -> bool {
        self.store.ping().await
    }
}

/// Runs key maintenance every [`MAINTENANCE_INTERVAL`] until the service is dropped.
async fn maintain_keys_while_alive(service: Weak<IdentityService>) {
    let mut ticks = tokio::time::interval(MAINTENANCE_INTERVAL);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(service) = service.upgrade() else {
            return;
        };
        if let Err(e) = service.maintain_keys(now_ms()).await {
            tracing::warn!(
                error = format!("{e:#}"),
                "signing key maintenance failed; retrying at the next interval"
            );
        }
    }
}

pub(crate) fn store_message(s: &StoreRecord) -> Store {
    Store {
        id: s.id.to_string(),
        slug: s.slug.clone(),
        name: s.name.clone(),
        currency: s.currency.clone(),
        created_at_ms: s.created_at,
        time_zone: s.time_zone.clone(),
    }
}

pub(crate) fn user_message(u: &UserRecord) -> User {
    User {
        id: u.id.to_string(),
        store_id: u.store_id.to_string(),
        email: u.email.clone(),
        role: u.role.to_proto(),
        created_at_ms: u.created_at,
        disabled_at_ms: u.disabled_at.unwrap_or(0),
    }
}

fn reply<T>(result: Result<T, ServiceError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl Identity for IdentityService {
    async fn import_customers(
        &self,
        r: Request<mercato_proto::imports::ImportCustomersRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportReply>, Status> {
        Ok(Response::new(self.import_customers(r.into_inner()).await?))
    }

    async fn import_checksums(
        &self,
        r: Request<mercato_proto::imports::ChecksumsRequest>,
    ) -> Result<Response<mercato_proto::imports::ChecksumsReply>, Status> {
        Ok(Response::new(self.import_checksums(r.into_inner()).await?))
    }

    async fn imported_records(
        &self,
        r: Request<mercato_proto::imports::RecordsRequest>,
    ) -> Result<Response<mercato_proto::imports::CustomerRecords>, Status> {
        Ok(Response::new(self.imported_records(r.into_inner()).await?))
    }

    async fn get_import_progress(
        &self,
        r: Request<mercato_proto::imports::ImportProgressRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportProgress>, Status> {
        Ok(Response::new(self.get_import_progress(r.into_inner()).await?))
    }

    async fn record_import_pass(
        &self,
        r: Request<mercato_proto::imports::ImportPass>,
    ) -> Result<Response<mercato_proto::imports::ImportWatermark>, Status> {
        Ok(Response::new(self.record_import_pass(r.into_inner()).await?))
    }

    async fn provision_store(
        &self,
        request: Request<ProvisionStoreRequest>,
    ) -> Result<Response<ProvisionStoreResponse>, Status> {
        let provisioned = self.provision(request.into_inner()).await;
        reply(provisioned.map(|p| ProvisionStoreResponse {
            store: Some(store_message(&p.store)),
            owner: Some(user_message(&p.owner)),
            api_client: Some(crate::api_clients::client_message(
                &p.api_client,
                Some(p.client_secret),
            )),
        }))
    }

    async fn get_store(&self, request: Request<GetStoreRequest>) -> Result<Response<Store>, Status> {
        let found = match request.into_inner().key {
            Some(get_store_request::Key::Id(id)) => self.store_by_id(&id).await,
            Some(get_store_request::Key::Slug(slug)) => self.store_by_slug(&slug).await,
            None => Err(ServiceError::invalid_request("store id or slug is required")),
        };
        reply(found.map(|s| store_message(&s)))
    }

    async fn update_store(
        &self,
        request: Request<mercato_proto::identity::UpdateStoreRequest>,
    ) -> Result<Response<Store>, Status> {
        let store = self.update_store(request.get_ref()).await;
        reply(store.map(|s| store_message(&s)))
    }

    async fn register_customer(
        &self,
        request: Request<RegisterCustomerRequest>,
    ) -> Result<Response<User>, Status> {
        let r = request.into_inner();
        let profile = ProfileChange {
            first_name: Some(&r.first_name),
            last_name: Some(&r.last_name),
            phone: None,
            marketing_consent: Some(r.marketing_consent),
        };
        let user = self
            .register_user(&r.store_id, Role::Customer, &r.email, &r.password, Some(profile))
            .await;
        reply(user.map(|u| user_message(&u)))
    }

    async fn create_staff(&self, request: Request<CreateStaffRequest>) -> Result<Response<User>, Status> {
        let r = request.into_inner();
        let user = self
            .register_user(&r.store_id, Role::Staff, &r.email, &r.password, None)
            .await;
        reply(user.map(|u| user_message(&u)))
    }

    async fn set_user_disabled(
        &self,
        request: Request<SetUserDisabledRequest>,
    ) -> Result<Response<User>, Status> {
        let user = self.set_account_disabled(&request.into_inner()).await;
        reply(user.map(|u| user_message(&u)))
    }

    async fn issue_token(&self, request: Request<TokenRequest>) -> Result<Response<TokenResponse>, Status> {
        reply(self.token(request.into_inner()).await)
    }

    async fn revoke_token(
        &self,
        request: Request<RevokeTokenRequest>,
    ) -> Result<Response<RevokeTokenResponse>, Status> {
        let revoked = self.revoke_refresh_token(&request.get_ref().token).await;
        reply(revoked.map(|()| RevokeTokenResponse {}))
    }

    async fn get_jwks(&self, _request: Request<GetJwksRequest>) -> Result<Response<Jwks>, Status> {
        reply(self.jwks_at(now_ms()).await)
    }

    async fn list_staff(
        &self,
        request: Request<ListStaffRequest>,
    ) -> Result<Response<ListStaffResponse>, Status> {
        let users = self.list_staff_users(&request.get_ref().store_id).await;
        reply(users.map(|users| ListStaffResponse {
            users: users.iter().map(user_message).collect(),
        }))
    }

    async fn create_api_client(
        &self,
        request: Request<CreateApiClientRequest>,
    ) -> Result<Response<ApiClient>, Status> {
        let r = request.get_ref();
        reply(IdentityService::create_api_client(self, &r.store_id, &r.name).await)
    }

    async fn list_api_clients(
        &self,
        request: Request<ListApiClientsRequest>,
    ) -> Result<Response<ListApiClientsResponse>, Status> {
        let clients = IdentityService::list_api_clients(self, &request.get_ref().store_id).await;
        reply(clients.map(|api_clients| ListApiClientsResponse { api_clients }))
    }

    async fn revoke_api_client(
        &self,
        request: Request<RevokeApiClientRequest>,
    ) -> Result<Response<ApiClient>, Status> {
        let r = request.get_ref();
        reply(IdentityService::revoke_api_client(self, &r.store_id, &r.client_id).await)
    }

    async fn rotate_api_client_secret(
        &self,
        request: Request<RotateApiClientSecretRequest>,
    ) -> Result<Response<ApiClient>, Status> {
        let r = request.get_ref();
        reply(IdentityService::rotate_api_client_secret(self, &r.store_id, &r.client_id).await)
    }

    async fn get_customer(&self, request: Request<GetCustomerRequest>) -> Result<Response<Customer>, Status> {
        reply(self.get_customer_profile(request.get_ref()).await)
    }

    async fn update_customer(
        &self,
        request: Request<UpdateCustomerRequest>,
    ) -> Result<Response<Customer>, Status> {
        reply(self.update_customer_profile(request.get_ref()).await)
    }

    async fn list_customers(
        &self,
        request: Request<ListCustomersRequest>,
    ) -> Result<Response<ListCustomersResponse>, Status> {
        reply(self.list_customer_page(request.get_ref()).await)
    }

    async fn add_customer_address(
        &self,
        request: Request<AddCustomerAddressRequest>,
    ) -> Result<Response<CustomerAddress>, Status> {
        reply(self.add_address(request.get_ref()).await)
    }

    async fn update_customer_address(
        &self,
        request: Request<UpdateCustomerAddressRequest>,
    ) -> Result<Response<CustomerAddress>, Status> {
        reply(self.update_address(request.get_ref()).await)
    }

    async fn delete_customer_address(
        &self,
        request: Request<DeleteCustomerAddressRequest>,
    ) -> Result<Response<DeleteCustomerAddressResponse>, Status> {
        let deleted = self.delete_address(request.get_ref()).await;
        reply(deleted.map(|()| DeleteCustomerAddressResponse {}))
    }

    async fn start_export(&self, r: Request<StartExportRequest>) -> Result<Response<Job>, Status> {
        reply(self.start_export(r.into_inner()).await)
    }

    async fn list_jobs(&self, r: Request<ListJobsRequest>) -> Result<Response<ListJobsResponse>, Status> {
        reply(self.jobs.list(r.into_inner()).await)
    }

    async fn get_job(&self, r: Request<JobRequest>) -> Result<Response<Job>, Status> {
        reply(self.jobs.get(r.into_inner()).await)
    }

    async fn cancel_job(&self, r: Request<JobRequest>) -> Result<Response<Job>, Status> {
        reply(self.jobs.cancel(r.into_inner()).await)
    }

    async fn retry_job(&self, r: Request<JobRequest>) -> Result<Response<Job>, Status> {
        reply(self.jobs.retry(r.into_inner()).await)
    }
}
