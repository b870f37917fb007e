//! The demo store created on first start: an owner, a category tree and hundreds of products
//! with variants, prices and stock, so that a newcomer has something to browse and search at once,
//! and ([`pricing`]) shipping zones, tax rates and a promotion code, and ([`orders`]) customers
//! with orders in every after-sale state.
//!
//! It runs only when no store with the slug `demo` exists, so restarts never duplicate it.

use mercato_proto::catalog::{
    CreateCategoryRequest, CreateProductRequest, OptionType, OptionValue, VariantInput,
};
use mercato_proto::identity::{ApiClient, GetStoreRequest, ProvisionStoreRequest, get_store_request};
use mercato_proto::inventory::SetStockRequest;
use mercato_runtime::clients::{
    catalog::CatalogClient, identity::IdentityClient, inventory::InventoryClient, orders::OrdersClient,
};
use mercato_runtime::error::ErrorCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const DEMO_SLUG: &str = "demo";
const OWNER_EMAIL: &str = "owner@demo.example";

/// One category of the demo store and what its products look like.
struct DemoCategory {
    slug: &'static str,
    name: &'static str,
    parent: Option<&'static str>,
    /// Product nouns; empty for a category that only groups sub-categories.
    nouns: &'static [&'static str],
    /// Typical price in cents.
    base_price: i64,
    variants: Variants,
}

const fn category(
    slug: &'static str,
    name: &'static str,
    parent: Option<&'static str>,
    nouns: &'static [&'static str],
    base_price: i64,
    variants: Variants,
) -> DemoCategory {
    DemoCategory {
        slug,
        name,
        parent,
        nouns,
        base_price,
        variants,
    }
}

const CATEGORIES: &[DemoCategory] = &[
    category("apparel", "Apparel", None, &[], 0, Variants::Sizes),
    category(
        "shirts",
        "Shirts",
        Some("apparel"),
        &["Shirt", "T-Shirt", "Polo", "Blouse"],
        2500,
        Variants::Sizes,
    ),
    category(
        "trousers",
        "Trousers",
        Some("apparel"),
        &["Chinos", "Jeans", "Shorts", "Joggers"],
        4500,
        Variants::Sizes,
    ),
    category(
        "shoes",
        "Shoes",
        Some("apparel"),
        &["Sneakers", "Boots", "Loafers", "Sandals"],
        7000,
        Variants::Sizes,
    ),
    category("home", "Home", None, &[], 0, Variants::Colors),
    category(
        "kitchen",
        "Kitchen",
        Some("home"),
        &["Mug", "Teapot", "Skillet", "Bowl", "Knife"],
        1800,
        Variants::Colors,
    ),
    category(
        "decor",
        "Decor",
        Some("home"),
        &["Lamp", "Vase", "Cushion", "Rug", "Clock"],
        3500,
        Variants::Colors,
    ),
    category("electronics", "Electronics", None, &[], 0, Variants::Single),
    category(
        "audio",
        "Audio",
        Some("electronics"),
        &["Headphones", "Speaker", "Earbuds", "Turntable"],
        9000,
        Variants::Colors,
    ),
    category(
        "accessories",
        "Accessories",
        Some("electronics"),
        &["Charger", "Cable", "Power Bank", "Stand"],
        1500,
        Variants::Single,
    ),
    category(
        "outdoors",
        "Outdoors",
        None,
        &["Tent", "Backpack", "Lantern", "Sleeping Bag", "Bottle"],
        5500,
        Variants::Colors,
    ),
    category(
        "books",
        "Books",
        None,
        &["Cookbook", "Novel", "Atlas", "Field Guide"],
        1900,
        Variants::Single,
    ),
];

#[derive(Clone, Copy)]
enum Variants {
    Sizes,
    Colors,
    Single,
}

/// The sizes of sized products, the values of their option type Size.
const SIZES: [&str; 3] = ["S", "M", "L"];

const ADJECTIVES: &[&str] = &[
    "Classic", "Modern", "Vintage", "Everyday", "Premium", "Rugged", "Minimal", "Cozy", "Coastal", "Urban",
    "Nordic", "Heritage",
];
const COLORS: &[&str] = &[
    "Blue", "Red", "Green", "Black", "White", "Grey", "Olive", "Navy", "Sand", "Rust",
];
const MATERIALS: &[&str] = &[
    "Cotton", "Linen", "Wool", "Leather", "Oak", "Ceramic", "Steel", "Bamboo", "Canvas",
];

/// Creates the demo store unless it exists; prints the owner's credentials once.
pub async fn demo_store(
    identity: &IdentityClient,
    catalog: &CatalogClient,
    inventory: Option<&InventoryClient>,
    orders: Option<&OrdersClient>,
    products: u32,
) -> anyhow::Result<()> {
    if demo_exists(identity).await? {
        return Ok(());
    }
    let password = random_password();
    let created = identity
        .provision_store(ProvisionStoreRequest {
            slug: DEMO_SLUG.to_owned(),
            name: "Mercato Demo Store".to_owned(),
            currency: "EUR".to_owned(),
            owner_email: OWNER_EMAIL.to_owned(),
            owner_password: password.clone(),
            time_zone: "Europe/Berlin".to_owned(),
        })
        .await?;
    let store = created
        .store
        .ok_or_else(|| anyhow::anyhow!("provisioning returned no store"))?;
    create_categories(catalog, &store.id).await?;
    create_products(catalog, inventory, &store.id, products).await?;
    // Shipping zones and methods, tax rates and a promotion code ([`pricing`]), then
    // customers and their orders in every after-sale state ([`orders`]), when orders is in
    // reach.
    if let Some(orders) = orders {
        let owner = created.owner.as_ref().map(|u| u.id.as_str()).unwrap_or_default();
        pricing::demo_pricing(orders, &store.id, owner).await?;
        let customer_password = random_password();
        let history = orders::DemoHistory {
            identity,
            orders,
            store_id: &store.id,
            owner_id: owner,
            password: &customer_password,
        };
        history.seed().await?;
        print_credentials(products, &password, &created.api_client.unwrap_or_default());
        let emails = orders::customer_emails().collect::<Vec<_>>().join(", ");
        println!("  Customers with orders (shown once): {emails} password={customer_password}");
        println!();
    } else {
        print_credentials(products, &password, &created.api_client.unwrap_or_default());
    }
    Ok(())
}

async fn demo_exists(identity: &IdentityClient) -> anyhow::Result<bool> {
    let existing = identity
        .get_store(GetStoreRequest {
            key: Some(get_store_request::Key::Slug(DEMO_SLUG.to_owned())),
        })
        .await;
    match existing {
        Ok(_) => Ok(true),
        Err(e) if e.code == ErrorCode::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn create_categories(catalog: &CatalogClient, store_id: &str) -> anyhow::Result<()> {
    for c in CATEGORIES {
        catalog
            .create_category(CreateCategoryRequest {
                store_id: store_id.to_owned(),
                slug: c.slug.to_owned(),
                name: c.name.to_owned(),
                parent: c.parent.unwrap_or_default().to_owned(),
            })
            .await?;
    }
    Ok(())
}

/// The demo catalog's `count` products, spread over the leaf categories: the same for the same
/// `count` on every run (a seeded generator), so that the search relevance set
/// (`seed/relevance.rs`) can name what each query should find.
pub fn demo_catalog(store_id: &str, count: u32) -> Vec<CreateProductRequest> {
    let leaves: Vec<_> = CATEGORIES.iter().filter(|c| !c.nouns.is_empty()).collect();
    let mut rng = StdRng::seed_from_u64(42);
    (0..count)
        .map(|i| {
            let c = leaves[i as usize % leaves.len()];
            demo_product(&mut rng, store_id, i, c.slug, c.nouns, c.base_price, c.variants)
        })
        .collect()
}

/// The display name of a demo category.
pub fn demo_category_name(slug: &str) -> Option<&'static str> {
    CATEGORIES.iter().find(|c| c.slug == slug).map(|c| c.name)
}

/// The [`demo_catalog`], each variant stocked when this process runs inventory.
async fn create_products(
    catalog: &CatalogClient,
    inventory: Option<&InventoryClient>,
    store_id: &str,
    count: u32,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(43);
    for request in demo_catalog(store_id, count) {
        let product = catalog.create_product(request).await?;
        let Some(inventory) = inventory else { continue };
        for variant in &product.variants {
            inventory
                .set_stock(SetStockRequest {
                    store_id: store_id.to_owned(),
                    sku: variant.sku.clone(),
                    location: String::new(),
                    on_hand: demo_on_hand(&mut rng),
                    low_stock_threshold: Some(5),
                })
                .await?;
        }
    }
    Ok(())
}

/// Mostly in stock, some low, a few sold out: something for every stock state.
fn demo_on_hand(rng: &mut StdRng) -> i64 {
    match rng.gen_range(0..20) {
        0 => 0,
        1..=3 => rng.gen_range(1..5),
        _ => rng.gen_range(10..120),
    }
}

/// Sixteen random letters and digits.
fn random_password() -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

fn print_credentials(products: u32, password: &str, client: &ApiClient) {
    println!();
    println!("  Demo store \"{DEMO_SLUG}\" created with {products} products.");
    println!("  Owner sign-in (shown once): store={DEMO_SLUG} username={OWNER_EMAIL} password={password}");
    println!(
        "  API client (shown once):    client_id={} client_secret={}",
        client.client_id, client.client_secret
    );
    println!();
}

fn demo_product(
    rng: &mut StdRng,
    store_id: &str,
    i: u32,
    category: &str,
    nouns: &[&str],
    base: i64,
    kind: Variants,
) -> CreateProductRequest {
    let pick = |rng: &mut StdRng, list: &[&'static str]| list[rng.gen_range(0..list.len())];
    let adjective = pick(rng, ADJECTIVES);
    let color = pick(rng, COLORS);
    let material = pick(rng, MATERIALS);
    let noun = nouns[rng.gen_range(0..nouns.len())];
    let title = format!("{adjective} {color} {material} {noun}");
    // Prices end in 99 cents and spread from about half to twice the category's base.
    let price = (base * rng.gen_range(50..200) / 100) / 100 * 100 + 99;
    let sku_base = format!("DEMO-{i:04}");
    let variants = match kind {
        Variants::Sizes => SIZES
            .iter()
            .enumerate()
            .map(|(n, size)| VariantInput {
                option_values: vec![OptionValue {
                    option: "Size".to_owned(),
                    value: (*size).to_owned(),
                }],
                ..variant(format!("{sku_base}-{size}"), size, price + n as i64 * 200)
            })
            .collect(),
        Variants::Colors => [color, pick(rng, COLORS)]
            .iter()
            .enumerate()
            .map(|(n, c)| variant(format!("{sku_base}-{n}"), c, price))
            .collect(),
        Variants::Single => vec![variant(sku_base, "Standard", price)],
    };
    let variants = variants
        .into_iter()
        .enumerate()
        .map(|(n, v)| VariantInput {
            // Larger sizes weigh a little more.
            weight_grams: Some(typical_weight_grams(category) + n as i64 * 50),
            ..v
        })
        .collect();
    CreateProductRequest {
        store_id: store_id.to_owned(),
        slug: format!("{}-{i}", slugify(&title)),
        title: title.clone(),
        description: format!(
            "The {} {} is made of {} and built to last. A {} favourite from our {} range.",
            color.to_lowercase(),
            noun.to_lowercase(),
            material.to_lowercase(),
            adjective.to_lowercase(),
            category
        ),
        category: category.to_owned(),
        tax_category: tax_category(category).to_owned(),
        // Sized products have the option type Size; the colour variants may repeat a colour,
        // so they stay without options.
        options: match kind {
            Variants::Sizes => vec![OptionType {
                name: "Size".to_owned(),
                values: SIZES.map(str::to_owned).to_vec(),
            }],
            Variants::Colors | Variants::Single => Vec::new(),
        },
        variants,
        ..Default::default()
    }
}

/// What a demo product of `category` weighs packed, which prices the weight-banded shipping.
fn typical_weight_grams(category: &str) -> i64 {
    match category {
        "shirts" | "accessories" => 200,
        "trousers" => 500,
        "shoes" => 900,
        "kitchen" => 700,
        "decor" => 1_200,
        "audio" => 400,
        "outdoors" => 2_500,
        "books" => 450,
        _ => 300,
    }
}

/// Books are taxed at the reduced rate, as in most of the EU; everything else at the standard.
fn tax_category(category: &str) -> &'static str {
    if category == "books" {
        "reduced"
    } else {
        "standard"
    }
}

fn variant(sku: String, title: &str, price_minor: i64) -> VariantInput {
    VariantInput {
        sku,
        title: title.to_owned(),
        price_minor,
        currency: "EUR".to_owned(),
        ..Default::default()
    }
}

fn slugify(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

pub mod orders;
pub mod pricing;
#[cfg(test)]
mod relevance;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_products_have_valid_slugs_and_skus() {
        let mut rng = StdRng::seed_from_u64(1);
        let p = demo_product(&mut rng, "s", 7, "shirts", &["T-Shirt"], 2500, Variants::Sizes);
        assert!(
            p.slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert_eq!(p.variants.len(), 3);
        assert_eq!(p.options[0].values, SIZES);
        assert_eq!(p.variants[2].option_values[0].value, "L");
        assert!(p.variants.iter().all(|v| v.price_minor % 100 == 99));
    }
}
