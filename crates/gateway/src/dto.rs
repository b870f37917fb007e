//! REST shapes: request bodies (unknown fields refused) and responses, with their OpenAPI
//! schemas and conversions from the service contracts.

use mercato_proto::{catalog, identity, names};
use mercato_runtime::time::to_rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The `If-None-Match` header of the public catalog reads, which answer 304 when it names the
/// current `ETag`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfNoneMatch {
    /// `*` or entity tags from earlier answers.
    #[param(rename = "If-None-Match")]
    #[allow(dead_code)]
    pub if_none_match: Option<String>,
}

// ---- identity ----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"slug": "acme", "name": "Acme", "currency": "EUR",
    "owner": {"email": "me@acme.test", "password": "a long password"}})))]
pub struct ProvisionStoreBody {
    /// Lower-case letters, digits and dashes; 3–40 characters; part of every store URL.
    #[schema(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", min_length = 3, max_length = 40)]
    pub slug: String,
    /// 1–100 characters, no control characters.
    #[schema(
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 100
    )]
    pub name: String,
    /// ISO 4217 code, e.g. `EUR`.
    #[schema(schema_with = currency_schema)]
    pub currency: String,
    pub owner: CredentialsBody,
    /// IANA time zone name (`Europe/Berlin`) the store's days and hours are counted in;
    /// `UTC` when absent.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: Option<String>,
}

/// What an owner changes of a store; an absent field stays as it is. The slug and currency
/// never change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"name": "Acme Coffee", "time_zone": "Europe/Berlin"})))]
pub struct UpdateStoreBody {
    /// 1–100 characters, no control characters.
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// IANA time zone name; an unknown one is 422 naming `time_zone`.
    pub time_zone: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"email": "ann@example.com", "password": "another long password"})))]
pub struct CredentialsBody {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 8–128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct StoreView {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub currency: String,
    pub created_at: String,
    /// IANA time zone name the store's days and hours are counted in (`UTC` unless set).
    pub time_zone: String,
}

impl From<identity::Store> for StoreView {
    fn from(s: identity::Store) -> Self {
        StoreView {
            id: s.id,
            slug: s.slug,
            name: s.name,
            currency: s.currency,
            created_at: to_rfc3339(s.created_at_ms),
            time_zone: s.time_zone,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    /// `owner`, `staff` or `customer`.
    pub role: String,
    pub created_at: String,
    /// When the account was disabled; null while it is enabled.
    pub disabled_at: Option<String>,
}

impl From<identity::User> for UserView {
    fn from(u: identity::User) -> Self {
        UserView {
            id: u.id,
            email: u.email,
            role: names::role_value(u.role).to_owned(),
            created_at: to_rfc3339(u.created_at_ms),
            disabled_at: (u.disabled_at_ms != 0).then(|| to_rfc3339(u.disabled_at_ms)),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ApiClientView {
    pub client_id: String,
    /// Shown once, in the response that created the client.
    pub client_secret: String,
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProvisionedStoreView {
    pub store: StoreView,
    pub owner: UserView,
    pub api_client: ApiClientView,
}

/// RFC 6749 token request parameters (form-encoded). Unknown parameters are ignored, as the RFC
/// requires.
#[derive(Deserialize, Default, ToSchema)]
#[schema(examples(json!({"grant_type": "password", "store": "acme", "username": "me@acme.test",
    "password": "a long password"})))]
pub struct TokenForm {
    /// `password`, `refresh_token` or `client_credentials`.
    pub grant_type: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The store slug, for the password grant.
    pub store: Option<String>,
    pub refresh_token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// RFC 6749 section 5.2 error response.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({"error": "invalid_grant", "error_description": "wrong username or password"})))]
pub struct OAuthErrorView {
    #[schema(pattern = "^(invalid_request|invalid_client|invalid_grant|unsupported_grant_type)$")]
    pub error: String,
    pub error_description: String,
    /// Mercato's machine code, where it says more than `error`: `account_disabled` (with
    /// `invalid_grant`) for the right password of a disabled account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct JwkView {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

#[derive(Serialize, ToSchema)]
pub struct JwksView {
    pub keys: Vec<JwkView>,
}

impl From<identity::Jwks> for JwksView {
    fn from(j: identity::Jwks) -> Self {
        JwksView {
            keys: j
                .keys
                .into_iter()
                .map(|k| JwkView {
                    kty: k.kty,
                    crv: k.crv,
                    x: k.x,
                    kid: k.kid,
                    alg: k.alg,
                    use_: k.r#use,
                })
                .collect(),
        }
    }
}

/// A supported ISO 4217 code: the list is the one `Currency::parse` accepts.
fn currency_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some("A supported ISO 4217 code, such as `EUR`."))
        .enum_values(Some(mercato_runtime::money::Currency::supported_codes()))
        .build()
}

/// [`currency_schema`], or `null` for the default.
fn optional_currency_schema() -> utoipa::openapi::Object {
    let mut schema = currency_schema();
    schema.schema_type = utoipa::openapi::schema::SchemaType::from_iter([
        utoipa::openapi::schema::Type::String,
        utoipa::openapi::schema::Type::Null,
    ]);
    if let Some(values) = &mut schema.enum_values {
        values.push(serde_json::Value::Null);
    }
    schema
}

/// Integers as JSON Schema counts them, `2` and `2.0` alike: serde refuses `2.0` for an `i64`,
/// yet the document's `type: integer` admits it, and so do clients whose JSON has one number type.
pub(crate) mod whole {
    use serde::de::{Deserialize, Deserializer, Error};
    use serde_json::Number;

    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let n = Number::deserialize(d)?;
        exact(&n).ok_or_else(|| D::Error::custom(format!("invalid value: {n}, expected an integer")))
    }

    pub fn option_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<Number>::deserialize(d)?
            .map(|n| {
                exact(&n).ok_or_else(|| D::Error::custom(format!("invalid value: {n}, expected an integer")))
            })
            .transpose()
    }

    /// The number as an `i64` when it is whole and in range.
    fn exact(n: &Number) -> Option<i64> {
        const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
        n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (-LIMIT..LIMIT).contains(f))
                .map(|f| f as i64)
        })
    }
}

// ---- catalog ----

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyView {
    /// Integer minor units (cents): 1999 is 19.99 EUR.
    pub amount_minor: i64,
    pub currency: String,
}

impl From<catalog::Money> for MoneyView {
    fn from(m: catalog::Money) -> Self {
        MoneyView {
            amount_minor: m.amount_minor,
            currency: m.currency,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceBody {
    /// Integer minor units, 0 to 10^12.
    #[serde(deserialize_with = "crate::dto::whole::i64")]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub amount_minor: i64,
    /// Defaults to the store's currency.
    #[serde(default)]
    #[schema(schema_with = optional_currency_schema)]
    pub currency: Option<String>,
}

pub use crate::dto_catalog::{CreateProductBody, ProductPageView, ProductView, UpdateProductBody};

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListProductsQuery {
    /// 1-based page number; 0 counts as 1.
    #[param(value_type = Option<u64>, maximum = 4294967295.0)]
    pub page: Option<u32>,
    /// Items per page: 20 when absent or 0, at most 100 (larger values count as 100).
    #[param(value_type = Option<u64>, maximum = 4294967295.0)]
    pub per_page: Option<u32>,
    /// A category id or slug; includes its sub-categories.
    pub category: Option<String>,
    /// `newest` (default), `price_asc`, `price_desc` or `title`.
    #[param(pattern = "^(newest|price_asc|price_desc|title)?$")]
    pub sort: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"slug": "shirts", "name": "Shirts"})))]
pub struct CreateCategoryBody {
    /// 1–80 characters of `a-z 0-9 -`, unique in the store.
    #[schema(pattern = "^[a-z0-9-]{1,80}$")]
    pub slug: String,
    /// 1–200 characters, not blank.
    #[schema(pattern = r"\S", max_length = 200)]
    pub name: String,
    /// The parent's id or slug; absent for a top-level category.
    #[serde(default)]
    pub parent: Option<String>,
}

#[derive(Serialize, ToSchema, Clone)]
pub struct CategoryView {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub parent_id: Option<String>,
    #[schema(no_recursion)]
    pub children: Vec<CategoryView>,
}

impl From<catalog::Category> for CategoryView {
    fn from(c: catalog::Category) -> Self {
        CategoryView {
            id: c.id,
            slug: c.slug,
            name: c.name,
            parent_id: Some(c.parent_id).filter(|p| !p.is_empty()),
            children: Vec::new(),
        }
    }
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words to look for; typos are tolerated. Empty lists everything.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// A category slug.
    pub category: Option<String>,
    /// Lowest price, in minor units.
    #[param(minimum = 0)]
    pub min_price: Option<i64>,
    /// Highest price, in minor units.
    #[param(minimum = 0)]
    pub max_price: Option<i64>,
    /// Hits per page: 20 when absent or 0, at most 100 (larger values count as 100).
    #[param(value_type = Option<u64>, maximum = 4294967295.0)]
    pub limit: Option<u32>,
    /// Hits to skip; results are ranked, so deep pages are refused: narrow the search instead.
    #[param(value_type = Option<u64>, maximum = 9900)]
    pub offset: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchHitView {
    pub product_id: String,
    pub slug: String,
    pub title: String,
    pub category: Option<String>,
    pub min_price: Option<MoneyView>,
    pub score: f32,
}

#[derive(Serialize, ToSchema)]
pub struct FacetCountView {
    pub value: String,
    pub count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct PriceRangeView {
    pub from_minor: i64,
    /// Absent for the open-ended top range.
    pub to_minor: Option<i64>,
    pub count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct FacetsView {
    pub categories: Vec<FacetCountView>,
    pub price_ranges: Vec<PriceRangeView>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchView {
    pub hits: Vec<SearchHitView>,
    pub total: u64,
    pub facets: FacetsView,
}

impl From<catalog::SearchResponse> for SearchView {
    fn from(r: catalog::SearchResponse) -> Self {
        SearchView {
            hits: r
                .hits
                .into_iter()
                .map(|h| SearchHitView {
                    product_id: h.product_id,
                    slug: h.slug,
                    title: h.title,
                    category: Some(h.category).filter(|c| !c.is_empty()),
                    min_price: h.min_price.map(Into::into),
                    score: h.score,
                })
                .collect(),
            total: r.total,
            facets: FacetsView {
                categories: r
                    .categories
                    .into_iter()
                    .map(|f| FacetCountView {
                        value: f.value,
                        count: f.count,
                    })
                    .collect(),
                price_ranges: r
                    .price_ranges
                    .into_iter()
                    .map(|b| PriceRangeView {
                        from_minor: b.from_minor,
                        to_minor: Some(b.to_minor).filter(|t| *t >= 0),
                        count: b.count,
                    })
                    .collect(),
            },
        }
    }
}

// ---- inventory ----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"on_hand": 25, "low_stock_threshold": 5})))]
pub struct SetStockBody {
    /// The location, 1–40 characters of `a-z 0-9 -`; the store's default location when absent.
    #[serde(default)]
    #[schema(pattern = "^([a-z0-9-]{1,40})?$")]
    pub location: Option<String>,
    /// 0 to 10^9.
    #[serde(deserialize_with = "crate::dto::whole::i64")]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub on_hand: i64,
    /// A low-stock event is published when availability falls to or below this; 0 to 10^9.
    #[serde(default, deserialize_with = "crate::dto::whole::option_i64")]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub low_stock_threshold: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct StockLevelView {
    pub location: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    pub low_stock_threshold: i64,
}

#[derive(Serialize, ToSchema)]
pub struct StockLevelsView {
    pub sku: String,
    pub available_total: i64,
    pub locations: Vec<StockLevelView>,
}

impl From<mercato_proto::inventory::StockLevels> for StockLevelsView {
    fn from(s: mercato_proto::inventory::StockLevels) -> Self {
        StockLevelsView {
            sku: s.sku,
            available_total: s.available_total,
            locations: s
                .locations
                .into_iter()
                .map(|l| StockLevelView {
                    location: l.location,
                    on_hand: l.on_hand,
                    reserved: l.reserved,
                    available: l.available,
                    low_stock_threshold: l.low_stock_threshold,
                })
                .collect(),
        }
    }
}
