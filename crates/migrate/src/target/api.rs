//! [`ApiTarget`]: a store's imports through a running platform's REST API, as its owner. Every
//! call is idempotent (records land on ids derived from their legacy keys), so a call that fails
//! on the way (connection refused or reset, 429, 502–504) is tried again after a pause; an
//! expired token (401) is granted again, so an import of hours outlives its first token.

use super::Target;
use super::batch::{batch_of, records_of};
use crate::source::SourceRecord;
use anyhow::Context as _;
use mercato_gateway::dto_imports::{
    ChecksumsView, ImportPassEvent, ImportProgressView, ImportReplyView, ImportWatermarkView,
    ImportedRecordsView, PassEventName, checksum_from_hex, entity_from_path, entity_path_name,
};
use mercato_proto::imports::{
    Entity, EntityProgress, ImportProgress, Outcome, PassEvent, RecordOutcome, Segment,
};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// How the importer signs in.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// A bearer token used as it is (never granted again).
    Token(String),
    /// The store owner's password grant.
    Password { email: String, password: String },
    /// An API client's credentials grant.
    Client { id: String, secret: String },
}

/// Attempts of one call before its error is the import's.
const ATTEMPTS: u32 = 6;

/// A store's import API on one gateway, for one source.
pub struct ApiTarget {
    http: reqwest::Client,
    /// The gateway's base URL, without a trailing slash.
    base: String,
    /// The store's slug (or id), as paths take it.
    store: String,
    source: String,
    credentials: Credentials,
    /// The current bearer token; replaced when the API answers 401.
    token: tokio::sync::Mutex<Option<String>>,
}

impl ApiTarget {
    /// The import API of `store` at `base`, for records from `source`.
    pub fn new(base: &str, store: &str, source: &str, credentials: Credentials) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            store: store.to_owned(),
            source: source.to_owned(),
            credentials: credentials.clone(),
            token: tokio::sync::Mutex::new(match credentials {
                Credentials::Token(token) => Some(token),
                _ => None,
            }),
        })
    }

    /// The store's currency (ISO 4217), which a source's must equal: prices are imported as
    /// minor units of it.
    pub async fn store_currency(&self) -> anyhow::Result<String> {
        let url = format!("{}/v1/stores/{}", self.base, self.store);
        let store: serde_json::Value = self.call(reqwest::Method::GET, &url, &[], None).await?;
        store["currency"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("GET {url}: no currency in the answer"))
    }

    fn url(&self, tail: &str) -> String {
        format!(
            "{}/v1/stores/{}/imports/{}{tail}",
            self.base, self.store, self.source
        )
    }

    /// A token: the current one, or a new grant when there is none or `stale` is the one refused.
    async fn bearer(&self, stale: Option<&str>) -> anyhow::Result<String> {
        let mut held = self.token.lock().await;
        if let Some(token) = held.as_deref()
            && (stale != Some(token) || matches!(self.credentials, Credentials::Token(_)))
        {
            return Ok(token.to_owned());
        }
        let token = self.grant().await?;
        *held = Some(token.clone());
        Ok(token)
    }

    async fn grant(&self) -> anyhow::Result<String> {
        let form: Vec<(&str, &str)> = match &self.credentials {
            Credentials::Token(token) => return Ok(token.clone()),
            Credentials::Password { email, password } => vec![
                ("grant_type", "password"),
                ("store", &self.store),
                ("username", email),
                ("password", password),
            ],
            Credentials::Client { id, secret } => vec![
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ],
        };
        let url = format!("{}/v1/oauth/token", self.base);
        let response = self.http.post(&url).form(&form).send().await?;
        let status = response.status();
        let body = response.text().await?;
        if !status.is_success() {
            anyhow::bail!("POST {url}: {status}: {}", problem_text(&body));
        }
        let parsed: serde_json::Value = serde_json::from_str(&body)?;
        parsed["access_token"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("POST {url}: no access_token in the answer"))
    }

    /// One call, tried again while it fails on the way; the answer's JSON.
    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<T> {
        let url =
            url::Url::parse_with_params(url, query).with_context(|| format!("the API address {url}"))?;
        let mut token = self.bearer(None).await?;
        let mut regranted = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.http.request(method.clone(), url.clone()).bearer_auth(&token);
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let (status, text) = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    match response.text().await {
                        Ok(text) => (status, text),
                        Err(e) if attempt < ATTEMPTS => {
                            pause(attempt, &format!("{method} {url}: {e}")).await;
                            continue;
                        }
                        Err(e) => return Err(e).with_context(|| format!("{method} {url}")),
                    }
                }
                Err(e) if attempt < ATTEMPTS && (e.is_connect() || e.is_timeout() || e.is_request()) => {
                    pause(attempt, &format!("{method} {url}: {e}")).await;
                    continue;
                }
                Err(e) => return Err(e).with_context(|| format!("{method} {url}")),
            };
            if status == reqwest::StatusCode::UNAUTHORIZED && !regranted {
                regranted = true;
                token = self.bearer(Some(&token)).await?;
                continue;
            }
            if is_transient(status) && attempt < ATTEMPTS {
                pause(attempt, &format!("{method} {url}: {status}")).await;
                continue;
            }
            if !status.is_success() {
                anyhow::bail!("{method} {url}: {status}: {}", problem_text(&text));
            }
            return serde_json::from_str(&text).with_context(|| format!("{method} {url}: the answer"));
        }
    }
}

fn is_transient(status: reqwest::StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// Waits before attempt `attempt + 1`: 200 ms doubling, at most 5 s.
async fn pause(attempt: u32, what: &str) {
    let wait = Duration::from_millis(200 * 2u64.pow(attempt.min(5))).min(Duration::from_secs(5));
    tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, "{what}; trying again");
    tokio::time::sleep(wait).await;
}

/// What an error answer says: a problem document's detail (or title), or the body.
fn problem_text(body: &str) -> String {
    let parsed: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    ["detail", "title", "error_description", "error"]
        .iter()
        .find_map(|k| parsed[k].as_str())
        .map_or_else(|| body.trim().chars().take(500).collect(), str::to_owned)
}

fn range_query(from_key: &str, to_key: &str) -> Vec<(&'static str, String)> {
    let mut query = vec![("from_key", from_key.to_owned())];
    if !to_key.is_empty() {
        query.push(("to_key", to_key.to_owned()));
    }
    query
}

#[async_trait::async_trait]
impl Target for ApiTarget {
    async fn progress(&self) -> anyhow::Result<ImportProgress> {
        let view: ImportProgressView = self.call(reqwest::Method::GET, &self.url(""), &[], None).await?;
        let mut all = Vec::new();
        for e in view.entities {
            let entity = entity_from_path(&e.entity)
                .with_context(|| format!("the import progress names an unknown entity {:?}", e.entity))?;
            all.push(EntityProgress {
                entity: entity as i32,
                count: e.count,
                last_key: e.last_key,
                last_modified_ms: e.last_modified_ms,
            });
        }
        Ok(ImportProgress {
            entities: all,
            watermark_ms: view.watermark_ms,
            pass_began_ms: view.pass_began_ms,
        })
    }

    async fn record_pass(&self, event: PassEvent, source_clock_ms: i64) -> anyhow::Result<()> {
        let event = match event {
            PassEvent::Began => PassEventName::Began,
            PassEvent::Finished | PassEvent::Unspecified => PassEventName::Finished,
        };
        let pass = ImportPassEvent {
            event,
            source_clock_ms,
        };
        let body = serde_json::to_vec(&pass)?;
        let _: ImportWatermarkView = self
            .call(reqwest::Method::POST, &self.url("/passes"), &[], Some(body))
            .await?;
        Ok(())
    }

    async fn import(&self, entity: Entity, records: Vec<SourceRecord>) -> anyhow::Result<Vec<RecordOutcome>> {
        let body = serde_json::to_vec(&batch_of(records))?;
        let url = self.url(&format!("/{}", entity_path_name(entity)));
        let reply: ImportReplyView = self.call(reqwest::Method::POST, &url, &[], Some(body)).await?;
        Ok(reply
            .outcomes
            .into_iter()
            .map(|o| RecordOutcome {
                outcome: match o.outcome.as_str() {
                    "created" => Outcome::Created,
                    "updated" => Outcome::Updated,
                    "unchanged" => Outcome::Unchanged,
                    _ => Outcome::Rejected,
                } as i32,
                legacy_key: o.legacy_key,
                reason: o.reason.unwrap_or_default(),
                target_id: o.target_id.unwrap_or_default(),
            })
            .collect())
    }

    async fn checksums(
        &self,
        entity: Entity,
        from_key: &str,
        to_key: &str,
        segments: u32,
    ) -> anyhow::Result<Vec<Segment>> {
        let url = self.url(&format!("/{}/checksums", entity_path_name(entity)));
        let mut query = range_query(from_key, to_key);
        query.push(("segments", segments.to_string()));
        let view: ChecksumsView = self.call(reqwest::Method::GET, &url, &query, None).await?;
        view.segments
            .into_iter()
            .map(|s| {
                let checksum = checksum_from_hex(&s.checksum).with_context(|| {
                    format!(
                        "GET {url}: a checksum that is not 16 hex digits: {:?}",
                        s.checksum
                    )
                })?;
                Ok(Segment {
                    from_key: s.from_key,
                    to_key: s.to_key,
                    count: s.count,
                    checksum,
                })
            })
            .collect()
    }

    async fn records(
        &self,
        entity: Entity,
        from_key: &str,
        to_key: &str,
        limit: u32,
    ) -> anyhow::Result<Vec<SourceRecord>> {
        let url = self.url(&format!("/{}/records", entity_path_name(entity)));
        let mut query = range_query(from_key, to_key);
        query.push(("limit", limit.to_string()));
        let view: ImportedRecordsView = self.call(reqwest::Method::GET, &url, &query, None).await?;
        Ok(records_of(view))
    }
}
