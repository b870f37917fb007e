//! REST shapes of products: the create and update bodies and the product views, with their
//! OpenAPI schemas and conversions from `catalog.proto`.

use crate::dto::{MoneyView, PriceBody};
use mercato_proto::catalog;
use mercato_runtime::time::to_rfc3339;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantBody {
    /// 1–64 characters of `A-Z a-z 0-9 . _ -`.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub title: Option<String>,
    pub price: PriceBody,
    /// Shipping weight in grams, 0 to 1,000,000; 0 when absent.
    #[serde(default, deserialize_with = "crate::dto::whole::option_i64")]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub weight_grams: Option<i64>,
    /// `false` for goods that are never shipped (digital); `true` when absent.
    #[serde(default)]
    pub requires_shipping: Option<bool>,
    /// The variant's value of each of the product's option types, e.g. `{"Size": "M"}`.
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
}

/// An option type the variants of a product differ by, and its values.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionTypeBody {
    /// 1–40 characters, distinct within the product (any case).
    #[schema(max_length = 40)]
    pub name: String,
    /// 1–50 distinct values of 1–60 characters.
    #[schema(min_items = 1, max_items = 50)]
    pub values: Vec<String>,
}

impl From<OptionTypeBody> for catalog::OptionType {
    fn from(o: OptionTypeBody) -> Self {
        catalog::OptionType {
            name: o.name,
            values: o.values,
        }
    }
}

impl From<VariantBody> for catalog::VariantInput {
    fn from(v: VariantBody) -> Self {
        catalog::VariantInput {
            sku: v.sku,
            title: v.title.unwrap_or_default(),
            price_minor: v.price.amount_minor,
            currency: v.price.currency.unwrap_or_default(),
            weight_grams: v.weight_grams,
            requires_shipping: v.requires_shipping,
            option_values: v
                .options
                .unwrap_or_default()
                .into_iter()
                .map(|(option, value)| catalog::OptionValue { option, value })
                .collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"slug": "blue-shirt", "title": "Blue shirt", "description": "Cotton.",
    "variants": [{"sku": "BS-M", "title": "M", "price": {"amount_minor": 1999, "currency": "EUR"}}]})))]
pub struct CreateProductBody {
    /// 1–80 characters of `a-z 0-9 -`, unique in the store.
    #[schema(pattern = "^[a-z0-9-]{1,80}$")]
    pub slug: String,
    /// 1–200 characters, not blank.
    #[schema(pattern = r"\S", max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// A category id or slug.
    #[serde(default)]
    pub category: Option<String>,
    /// The tax category (1–32 characters of `a-z 0-9 -`, such as `standard`, `reduced`, `zero`);
    /// `standard` when absent or empty.
    #[serde(default)]
    #[schema(pattern = "^([a-z0-9-]{1,32})?$")]
    pub tax_category: Option<String>,
    /// `draft`, `active` or `archived`; only active products are public. `active` when absent
    /// at creation; an empty string sets `active`.
    #[serde(default)]
    #[schema(pattern = "^(draft|active|archived)?$")]
    pub status: Option<String>,
    /// Up to 3 option types (e.g. Size, Colour); each variant then names one value of each in
    /// its `options`, and no two variants the same combination.
    #[serde(default)]
    #[schema(max_items = 3)]
    pub options: Option<Vec<OptionTypeBody>>,
    /// 1–100 variants with distinct SKUs, all priced in one currency.
    #[schema(min_items = 1, max_items = 100)]
    pub variants: Vec<VariantBody>,
}

/// A partial update: absent fields stay as they are; `variants`, when present, replaces all.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"title": "Blue shirt, organic cotton"})))]
pub struct UpdateProductBody {
    #[serde(default)]
    #[schema(pattern = "^[a-z0-9-]{1,80}$")]
    pub slug: Option<String>,
    #[serde(default)]
    #[schema(pattern = r"\S", max_length = 200)]
    pub title: Option<String>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// A category id or slug; an empty string removes the category.
    #[serde(default)]
    pub category: Option<String>,
    /// The tax category (1–32 characters of `a-z 0-9 -`); an empty string sets `standard`.
    #[serde(default)]
    #[schema(pattern = "^([a-z0-9-]{1,32})?$")]
    pub tax_category: Option<String>,
    /// `draft`, `active` or `archived`; only active products are public. `active` when absent
    /// at creation; an empty string sets `active`.
    #[serde(default)]
    #[schema(pattern = "^(draft|active|archived)?$")]
    pub status: Option<String>,
    /// With `variants` only: the option types of the new variants (none when absent).
    #[serde(default)]
    #[schema(max_items = 3)]
    pub options: Option<Vec<OptionTypeBody>>,
    /// 1–100 variants with distinct SKUs, all priced in one currency.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 100)]
    pub variants: Option<Vec<VariantBody>>,
}

#[derive(Serialize, ToSchema)]
pub struct VariantView {
    pub id: String,
    pub sku: String,
    pub title: String,
    pub price: Option<MoneyView>,
    pub weight_grams: i64,
    pub requires_shipping: bool,
    /// The variant's value of each of the product's option types.
    pub options: BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductView {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub category_id: Option<String>,
    pub tax_category: String,
    /// `draft`, `active` or `archived`.
    pub status: String,
    /// The option types its variants differ by.
    pub options: Vec<OptionTypeBody>,
    pub variants: Vec<VariantView>,
    /// Its images in order, those whose sizes are still being made included (without URLs).
    pub images: Vec<ImageView>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<catalog::Product> for ProductView {
    fn from(p: catalog::Product) -> Self {
        ProductView {
            id: p.id,
            slug: p.slug,
            title: p.title,
            description: p.description,
            category_id: Some(p.category_id).filter(|c| !c.is_empty()),
            tax_category: p.tax_category,
            status: if p.status.is_empty() {
                "active".to_owned()
            } else {
                p.status
            },
            options: p
                .options
                .into_iter()
                .map(|o| OptionTypeBody {
                    name: o.name,
                    values: o.values,
                })
                .collect(),
            variants: p
                .variants
                .into_iter()
                .map(|v| VariantView {
                    id: v.id,
                    sku: v.sku,
                    title: v.title,
                    price: v.price.map(Into::into),
                    weight_grams: v.weight_grams,
                    requires_shipping: v.requires_shipping.unwrap_or(true),
                    options: v.option_values.into_iter().map(|o| (o.option, o.value)).collect(),
                })
                .collect(),
            images: p
                .images
                .into_iter()
                .map(|i| ImageView::new(&p.store_id, i))
                .collect(),
            version: p.version,
            created_at: to_rfc3339(p.created_at_ms),
            updated_at: to_rfc3339(p.updated_at_ms),
        }
    }
}

/// A product image.
#[derive(Serialize, ToSchema)]
pub struct ImageView {
    pub id: String,
    /// 0 first.
    pub position: u32,
    pub alt: String,
    /// `processing` until its sizes exist, then `ready`; `failed` when the file could not be
    /// decoded.
    pub status: String,
    /// The original's, orientation applied.
    pub width: u32,
    pub height: u32,
    /// Its sizes' URLs, once `ready`. They name the content, so their answers never change
    /// and are cached for a year.
    pub urls: Option<ImageUrlsView>,
}

/// An image's sizes: fitting 160×160, 480×480 and 1600×1600 (never enlarged).
#[derive(Serialize, ToSchema)]
pub struct ImageUrlsView {
    pub thumbnail: ImageFormatsView,
    pub card: ImageFormatsView,
    pub large: ImageFormatsView,
}

/// One size in both formats: WebP (lossless) and JPEG.
#[derive(Serialize, ToSchema)]
pub struct ImageFormatsView {
    pub webp: String,
    pub jpeg: String,
}

impl ImageView {
    /// The view of an image of a product of `store_id`.
    pub fn new(store_id: &str, i: catalog::ProductImage) -> ImageView {
        let ready = i.status == "ready";
        let url = |size: &str, ext: &str| image_url(store_id, &i.id, &i.content_hash, size, ext);
        let formats = |size: &str| ImageFormatsView {
            webp: url(size, "webp"),
            jpeg: url(size, "jpg"),
        };
        let urls = ready.then(|| ImageUrlsView {
            thumbnail: formats("thumbnail"),
            card: formats("card"),
            large: formats("large"),
        });
        ImageView {
            id: i.id,
            position: i.position,
            alt: i.alt,
            status: i.status,
            width: i.width,
            height: i.height,
            urls,
        }
    }
}

/// Where a size of an image is served. The store is named by its id, not its slug: the URL is
/// cached for a year as immutable, and a slug may change.
pub fn image_url(store_id: &str, image_id: &str, hash: &str, size: &str, ext: &str) -> String {
    format!("/v1/stores/{store_id}/images/{image_id}/{hash}/{size}.{ext}")
}

/// A change to an image: absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"alt": "The blue shirt, folded", "position": 0})))]
pub struct UpdateImageBody {
    /// At most 500 characters on one line; empty removes it.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub alt: Option<String>,
    /// Its new place, 0 first; the others move to make room.
    #[serde(default)]
    pub position: Option<u32>,
}

/// The upload form (`multipart/form-data`).
#[derive(ToSchema)]
#[schema(examples(json!({"file": "(the image's bytes)", "alt": "The blue shirt, folded", "position": "0"})))]
#[allow(dead_code)] // Documents the form; the route reads it part by part.
pub struct UploadImageForm {
    /// The image: `image/jpeg`, `image/png` or `image/webp` (the part's type, which its bytes
    /// must agree with), at most 20 MB and 50 megapixels.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// At most 500 characters on one line.
    #[schema(max_length = 500)]
    pub alt: Option<String>,
    /// Its place among the product's images, 0 first; last when absent.
    pub position: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductPageView {
    pub items: Vec<ProductView>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

/// The store's search synonyms: any word of a group also finds the others.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"groups": [["sneakers", "trainers"], ["sofa", "couch"]]})))]
pub struct SynonymsBody {
    /// At most 200 groups of 2–20 distinct words; a word is 1–40 letters, digits or dashes (kept
    /// lower-cased). Replaces every group the store had.
    #[schema(schema_with = synonym_groups_schema)]
    pub groups: Vec<Vec<String>>,
}

/// At most 200 groups, each an array of 2–20 words (what a word may be is checked by the
/// catalog: letters, digits and dashes, distinct in any case, which JSON Schema cannot state).
fn synonym_groups_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let words = ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String))
        .min_items(Some(2))
        .max_items(Some(20));
    ArrayBuilder::new()
        .items(words)
        .max_items(Some(200))
        .description(Some(
            "At most 200 groups of 2–20 distinct words; a word is 1–40 letters, digits or dashes \
             (kept lower-cased). Replaces every group the store had.",
        ))
        .build()
}

#[derive(Serialize, ToSchema)]
pub struct SynonymsView {
    pub groups: Vec<Vec<String>>,
}

impl From<catalog::Synonyms> for SynonymsView {
    fn from(s: catalog::Synonyms) -> Self {
        SynonymsView {
            groups: s.groups.into_iter().map(|g| g.words).collect(),
        }
    }
}
