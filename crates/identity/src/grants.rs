//! The OAuth2 token endpoint (RFC 6749): password, refresh_token with rotation and reuse
//! detection, and client_credentials; and token revocation (RFC 7009).

use crate::IdentityService;
use crate::domain::throttle::{self, FailureKey, Policy};
use crate::domain::tokens::{
    self, Grant, GrantRefusal, RefreshStatus, hashes_match, random_secret, secret_hash,
};
use crate::domain::validate::Email;
use crate::store::{RefreshTokenRecord, Rotation};
use crate::wire;
use mercato_proto::identity::{TokenRequest, TokenResponse};
use mercato_runtime::auth::Role;
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::{StoreId, UserId};
use mercato_runtime::time::now_ms;

impl IdentityService {
    /// Answers a token request, or says which rule it broke.
    pub(crate) async fn token(&self, req: TokenRequest) -> Result<TokenResponse, ServiceError> {
        match wire::grant(&req)? {
            Grant::Password {
                store_slug,
                username,
                password,
                client_ip,
            } => {
                self.password_grant(&store_slug, &username, password, client_ip.as_deref())
                    .await
            }
            Grant::RefreshToken { refresh_token } => self.refresh_grant(&refresh_token).await,
            Grant::ClientCredentials {
                client_id,
                client_secret,
            } => self.client_credentials_grant(&client_id, &client_secret).await,
        }
    }

    /// Logs a user in. Every failure gives the same answer after the same work, so that
    /// neither the message nor the timing tells whether the store or the user exists; a
    /// disabled account is said so only to a caller who gave its right password.
    ///
    /// Failures are counted against the account named (whether it exists or not) and the
    /// client's address; a locked key is refused before any hashing, with the time it stays
    /// locked, and a success clears the account's failures (not the address's: one good
    /// account must not buy an address fresh guesses at others).
    async fn password_grant(
        &self,
        store_slug: &str,
        username: &str,
        password: String,
        client_ip: Option<&str>,
    ) -> Result<TokenResponse, ServiceError> {
        let email = Email::normalise(username);
        let keys = self.failure_keys(store_slug, &email, client_ip);
        self.refuse_if_locked(&keys).await?;

        let user = match self.store.store_by_slug(store_slug).await? {
            Some(store) => self.store.user_by_email(store.id, &email).await?,
            None => None,
        };
        let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
        let checked = self.hasher.check(password, stored_hash).await?;
        let Some(user) = user.filter(|_| checked.matches) else {
            let window = i64::try_from(self.auth.sign_in.failure_window.as_millis()).unwrap_or(i64::MAX);
            let now = now_ms();
            self.store
                .record_sign_in_failure(&keys, now, now.saturating_sub(window))
                .await?;
            return Err(GrantRefusal::BadLogin.into());
        };
        // Guesses that were checked concurrently may have locked a key since the first look:
        // a right password is then refused like any other, so a lock cannot be raced.
        self.refuse_if_locked(&keys).await?;
        // Only now, with the password proved, may the answer say more than "wrong login".
        if user.disabled_at.is_some() {
            return Err(GrantRefusal::AccountDisabled.into());
        }
        // A legacy shop's hash, proved right: argon2id from now on (ADR 0016).
        if let Some(argon2id) = checked.upgrade {
            let (store_id, old) = (user.store_id, &user.password_hash);
            self.imports
                .upgrade_password(store_id, user.id, old, &argon2id)
                .await?;
        }
        if self.auth.sign_in.account_free_failures > 0
            && let Some(account) = keys.first()
        {
            self.store.clear_sign_in_failures(account).await?;
        }

        let now = now_ms();
        let family_id = uuid::Uuid::now_v7().to_string();
        let subject = user.id.to_string();
        let (refresh_token, record) =
            self.new_refresh_token(user.store_id, &family_id, &subject, user.role, now);
        self.store.insert_refresh_token(user.store_id, &record).await?;
        self.respond(user.store_id, &subject, user.role, refresh_token, now)
    }

    /// Refuses a login while any of its keys is locked, saying for how long.
    async fn refuse_if_locked(&self, keys: &[FailureKey]) -> Result<(), ServiceError> {
        let now = now_ms();
        match self.store.sign_in_locked_until(keys).await? {
            Some(until) if until > now => {
                let retry_after_secs = throttle::retry_after_secs(until, now);
                Err(GrantRefusal::Throttled { retry_after_secs }.into())
            }
            _ => Ok(()),
        }
    }

    /// The keys a password login counts against, the account's first (a rule turned off in
    /// the settings has none). Always in this order, so concurrent failures lock rows alike.
    fn failure_keys(&self, store_slug: &str, email: &str, client_ip: Option<&str>) -> Vec<FailureKey> {
        let s = &self.auth.sign_in;
        let account = Policy::new(s.account_free_failures, s.lockout_base, s.lockout_max);
        let address = Policy::new(s.address_free_failures, s.lockout_base, s.lockout_max);
        let mut keys = Vec::with_capacity(2);
        if s.account_free_failures > 0 {
            keys.push(FailureKey::account(store_slug, email, account));
        }
        if let Some(ip) = client_ip.filter(|_| s.address_free_failures > 0) {
            keys.push(FailureKey::address(ip, address));
        }
        keys
    }

    /// Exchanges a refresh token for a new pair. Each token works once; presenting one again
    /// means it leaked (or the client misbehaves), so its whole family is revoked and the
    /// legitimate holder has to log in again.
    async fn refresh_grant(&self, presented: &str) -> Result<TokenResponse, ServiceError> {
        let hash = secret_hash(presented);
        let Some(old) = self.store.refresh_token_by_hash(&hash).await? else {
            return Err(GrantRefusal::BadRefreshToken.into());
        };
        let now = now_ms();
        match tokens::refresh_status(old.used_at, old.revoked_at, old.expires_at, now) {
            RefreshStatus::Active => {}
            RefreshStatus::Replayed => {
                let revoked = self
                    .store
                    .revoke_refresh_family(old.store_id, &old.family_id, now)
                    .await?;
                tracing::warn!(store_id = %old.store_id, family_id = %old.family_id, revoked, "refresh token replayed; family revoked");
                return Err(GrantRefusal::BadRefreshToken.into());
            }
            RefreshStatus::Revoked | RefreshStatus::Expired => {
                return Err(GrantRefusal::BadRefreshToken.into());
            }
        }
        // Disabling a user revokes its tokens, but a refresh racing the disabling may have
        // rotated one in meanwhile; this check refuses that one at its first use.
        if !self.subject_active(&old).await? {
            self.store
                .revoke_refresh_family(old.store_id, &old.family_id, now)
                .await?;
            tracing::info!(store_id = %old.store_id, family_id = %old.family_id, "refresh token of a deleted or disabled user; family revoked");
            return Err(GrantRefusal::BadRefreshToken.into());
        }

        let (refresh_token, next) =
            self.new_refresh_token(old.store_id, &old.family_id, &old.subject, old.role, now);
        match self
            .store
            .rotate_refresh_token(old.store_id, &hash, &next, now)
            .await?
        {
            Rotation::Rotated => self.respond(old.store_id, &old.subject, old.role, refresh_token, now),
            Rotation::FamilyRevoked => {
                tracing::warn!(store_id = %old.store_id, family_id = %old.family_id, "refresh token used concurrently; family revoked");
                Err(GrantRefusal::BadRefreshToken.into())
            }
        }
    }

    /// Whether the user a refresh token was issued to still exists in its store, enabled.
    async fn subject_active(&self, token: &RefreshTokenRecord) -> Result<bool, ServiceError> {
        let Ok(user_id) = token.subject.parse() else {
            return Ok(false);
        };
        let user = self.store.user_by_id(token.store_id, UserId(user_id)).await?;
        Ok(user.is_some_and(|u| u.disabled_at.is_none()))
    }

    /// Revokes the family of a refresh token (RFC 7009): the token, and whatever was or will be
    /// rotated from it, refreshes no more. Anything that is not a stored refresh token changes
    /// nothing and answers the same, as RFC 7009 section 2.2 asks, so the answer reveals
    /// nothing; an access token (a JWT) cannot be revoked and lives until it expires.
    pub(crate) async fn revoke_refresh_token(&self, presented: &str) -> Result<(), ServiceError> {
        if presented.is_empty() {
            return Err(ServiceError::invalid_request("missing parameter token"));
        }
        let Some(token) = self.store.refresh_token_by_hash(&secret_hash(presented)).await? else {
            return Ok(());
        };
        let revoked = self
            .store
            .revoke_refresh_family(token.store_id, &token.family_id, now_ms())
            .await?;
        tracing::info!(store_id = %token.store_id, family_id = %token.family_id, revoked, "refresh token family revoked on request");
        Ok(())
    }

    /// Authenticates an API client by its secret; the token's subject is the client and no
    /// refresh token is issued (RFC 6749 section 4.4.3): the client can always ask again.
    async fn client_credentials_grant(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<TokenResponse, ServiceError> {
        let client = self
            .store
            .api_client(client_id)
            .await?
            .ok_or(GrantRefusal::BadClient)?;
        // A revoked client is refused like a wrong secret, after the same work.
        let secret_ok = hashes_match(&secret_hash(client_secret), &client.secret_hash);
        if !secret_ok || client.revoked_at.is_some() {
            return Err(GrantRefusal::BadClient.into());
        }
        self.respond(
            client.store_id,
            &client.client_id,
            client.role,
            String::new(),
            now_ms(),
        )
    }

    /// A refresh token in clear, for the client, and its row, for storage.
    fn new_refresh_token(
        &self,
        store_id: StoreId,
        family_id: &str,
        subject: &str,
        role: Role,
        now: i64,
    ) -> (String, RefreshTokenRecord) {
        let token = random_secret();
        let record = RefreshTokenRecord {
            id: uuid::Uuid::now_v7().to_string(),
            family_id: family_id.to_owned(),
            store_id,
            subject: subject.to_owned(),
            role,
            token_hash: secret_hash(&token),
            expires_at: tokens::refresh_expiry(&self.auth, now),
            used_at: None,
            revoked_at: None,
            created_at: now,
        };
        (token, record)
    }

    /// Signs an access token and wraps it in the token endpoint's answer.
    fn respond(
        &self,
        store_id: StoreId,
        subject: &str,
        role: Role,
        refresh_token: String,
        now: i64,
    ) -> Result<TokenResponse, ServiceError> {
        let claims = tokens::access_claims(&self.auth, &store_id.to_string(), subject, role, now);
        Ok(TokenResponse {
            access_token: self.keys.sign(&claims)?,
            token_type: "Bearer".to_owned(),
            expires_in: tokens::ttl_seconds(&self.auth),
            refresh_token,
        })
    }
}
