//! Shared setup: a fresh service on a new database of the backend under test, and helpers to
//! call it and read its rows.

use mercato_identity::IdentityService;
use mercato_identity::kek::{KekOrigin, KeyEncryptionKey};
use mercato_proto::identity::identity_server::Identity;
use mercato_proto::identity::{
    GetJwksRequest, ProvisionStoreRequest, ProvisionStoreResponse, TokenRequest, TokenResponse,
};
use mercato_runtime::auth::TokenVerifier;
use mercato_runtime::config::AuthSettings;
use mercato_runtime::db::Db;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::testing::Backend;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tonic::Request;

pub const PASSWORD: &str = "correct horse battery";

/// The key-encryption key of the services under test: base64 of 32 bytes.
pub const TEST_KEK: &str = "bWVyY2F0by10ZXN0LWtleS1lbmNyeXB0aW9uLWtleSE=";

/// One service under test, on one backend.
pub struct Env {
    pub db: Db,
    pub service: Arc<IdentityService>,
    pub waker: Arc<Notify>,
}

pub fn auth() -> AuthSettings {
    AuthSettings {
        issuer: "mercato-test".to_owned(),
        audience: "mercato-test-api".to_owned(),
        access_token_ttl: Duration::from_secs(600),
        refresh_token_ttl: Duration::from_secs(3600),
        sign_in: Default::default(),
        key_encryption_key: Some(mercato_runtime::config::Secret::new(TEST_KEK)),
        key_encryption_key_file: None,
        signing_key_rotation: Duration::from_secs(30 * 24 * 3600),
        clock_leeway: Duration::from_secs(30),
    }
}

/// The KEK of [`auth`]'s settings.
pub fn kek() -> KeyEncryptionKey {
    KeyEncryptionKey::from_base64(TEST_KEK, KekOrigin::Configured).unwrap()
}

pub fn provision_request(slug: &str) -> ProvisionStoreRequest {
    ProvisionStoreRequest {
        slug: slug.to_owned(),
        name: format!("The {slug} shop"),
        currency: "EUR".to_owned(),
        owner_email: format!("owner@{slug}.example"),
        owner_password: PASSWORD.to_owned(),
        time_zone: String::new(),
    }
}

impl Env {
    /// A fresh service on a new database of `backend`.
    pub async fn on(backend: Backend) -> Env {
        Env::with(backend, auth()).await
    }

    pub async fn with(backend: Backend, auth: AuthSettings) -> Env {
        mercato_runtime::testing::init_logs();
        let db = backend.database().await;
        let waker = Arc::new(Notify::new());
        let service = IdentityService::new(db.clone(), auth, kek(), waker.clone())
            .await
            .unwrap_or_else(|e| panic!("identity service did not start: {e:#}"));
        Env { db, service, waker }
    }

    pub async fn provision(&self, slug: &str) -> ProvisionStoreResponse {
        self.service
            .provision_store(Request::new(provision_request(slug)))
            .await
            .unwrap_or_else(|s| panic!("provisioning {slug} failed: {s:?}"))
            .into_inner()
    }

    pub async fn token(&self, req: TokenRequest) -> Result<TokenResponse, ServiceError> {
        self.service
            .issue_token(Request::new(req))
            .await
            .map(tonic::Response::into_inner)
            .map_err(ServiceError::from)
    }

    pub async fn login(
        &self,
        store: &str,
        username: &str,
        password: &str,
    ) -> Result<TokenResponse, ServiceError> {
        self.token(TokenRequest {
            grant_type: "password".to_owned(),
            store: store.to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
            ..Default::default()
        })
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse, ServiceError> {
        self.token(TokenRequest {
            grant_type: "refresh_token".to_owned(),
            refresh_token: refresh_token.to_owned(),
            ..Default::default()
        })
        .await
    }

    /// A verifier as the gateway builds one: fed from the service's JWKS.
    pub async fn verifier(&self, audience: &str) -> TokenVerifier {
        let jwks = self
            .service
            .get_jwks(Request::new(GetJwksRequest {}))
            .await
            .unwrap()
            .into_inner();
        let verifier = TokenVerifier::new(&auth().issuer, audience);
        verifier.set_keys(&jwks);
        verifier
    }

    /// Counts the rows a query selects; the query must be `SELECT COUNT(*) …`.
    pub async fn count(&self, sql: &'static str) -> i64 {
        let (n,): (i64,) = self.db.query_one(sql, &[]).await.unwrap();
        n
    }

    /// Row counts of every table provisioning writes to.
    pub async fn provisioned_rows(&self) -> [i64; 4] {
        [
            self.count("SELECT COUNT(*) FROM stores").await,
            self.count("SELECT COUNT(*) FROM users").await,
            self.count("SELECT COUNT(*) FROM api_clients").await,
            self.count("SELECT COUNT(*) FROM outbox").await,
        ]
    }
}

/// The stable error code a gRPC status carries.
pub fn code(status: tonic::Status) -> ErrorCode {
    ServiceError::from(status).code
}
