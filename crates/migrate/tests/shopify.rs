//! The Shopify reader on exports as Shopify writes them (`tests/data/`): the published
//! template's column order, and an older export (no `Linked To` or unit-price columns, Google
//! Shopping columns, `Type` before `Product Category`, a BOM and CR LF line ends) holding the
//! same shop — both read to the same records.

use mercato_migrate::shopify::ShopifyCsv;
use mercato_migrate::source::{Row, ScanFrom, Source, SourceRecord};
use mercato_proto::imports::{Entity, ImportedProduct};
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn open(name: &str) -> ShopifyCsv {
    ShopifyCsv::open(&data(name), "EUR").expect("the export reads")
}

fn products(csv: &ShopifyCsv) -> Vec<ImportedProduct> {
    csv.rows(Entity::Product)
        .iter()
        .map(|r| match r {
            Row::Good(SourceRecord::Product(p)) => p.clone(),
            other => panic!("not a product: {other:?}"),
        })
        .collect()
}

#[test]
fn the_template_export_gives_every_product_in_handle_order() {
    let csv = open("shopify-products.csv");
    let all = products(&csv);
    let handles: Vec<&str> = all.iter().map(|p| p.legacy_key.as_str()).collect();
    assert_eq!(
        handles,
        [
            "archived-socks",
            "ceramic-mug",
            "classic-tee",
            "gift-card",
            "winter-scarf"
        ]
    );
    let statuses: Vec<&str> = all.iter().map(|p| p.status.as_str()).collect();
    assert_eq!(statuses, ["archived", "active", "active", "active", "draft"]);

    let tee = &all[2];
    assert!(
        tee.description
            .starts_with("<p>Our \"classic\" tee, in organic cotton.</p>\n<ul>")
    );
    assert_eq!(
        tee.category_legacy_key,
        "Apparel & Accessories > Clothing > Clothing Tops > T-Shirts"
    );
    assert_eq!(tee.options[0].values, ["S", "M", "L"]);
    assert_eq!(tee.options[1].values, ["Black", "White"]);
    let variants: Vec<(&str, &str, i64, i64)> = tee
        .variants
        .iter()
        .map(|v| {
            (
                v.legacy_key.as_str(),
                v.sku.as_str(),
                v.price_minor,
                v.weight_grams,
            )
        })
        .collect();
    assert_eq!(
        variants,
        [
            ("classic-tee/S/Black", "TEE-S-BLK", 2500, 180),
            ("classic-tee/M/Black", "TEE-M-BLK", 2500, 200),
            ("classic-tee/L/Black", "TEE-L-BLK", 2750, 220),
            ("classic-tee/S/White", "TEE-S-WHT", 2500, 180),
        ]
    );
    let images: Vec<&str> = tee
        .image_urls
        .iter()
        .map(|u| u.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(images, ["tee-black.jpg", "tee-back.jpg", "tee-white.jpg"]);

    let socks = &all[0];
    assert_eq!(
        socks.variants[0].sku,
        mercato_migrate::shopify::synthetic_sku("archived-socks"),
        "a variant without a SKU is given one"
    );

    let mug = &all[1];
    assert!(mug.options.is_empty());
    assert_eq!(mug.variants[0].legacy_key, "ceramic-mug");
    let card = &all[3];
    assert_eq!(card.category_legacy_key, "Gift Cards");
    assert!(card.variants.iter().all(|v| !v.requires_shipping));
    let scarf = &all[4];
    let images: Vec<&str> = scarf
        .image_urls
        .iter()
        .map(|u| u.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(images, ["scarf-red.jpg", "scarf-detail.jpg", "scarf-navy.jpg"]);
}

#[test]
fn stock_is_the_tracked_variants_and_categories_every_path_prefix() {
    let csv = open("shopify-products.csv");
    let stock: Vec<(String, i64)> = csv
        .rows(Entity::Stock)
        .iter()
        .map(|r| match r {
            Row::Good(SourceRecord::Stock(s)) => (s.sku.clone(), s.on_hand),
            other => panic!("not a level: {other:?}"),
        })
        .collect();
    let expected = [
        ("MUG-350", 40),
        ("SCARF-NVY", 7),
        ("SCARF-RED", 3),
        ("TEE-L-BLK", 0),
        ("TEE-M-BLK", 8),
        ("TEE-S-BLK", 12),
        ("TEE-S-WHT", 5),
    ];
    assert_eq!(stock, expected.map(|(s, n)| (s.to_owned(), n)));
    let categories = csv.rows(Entity::Category);
    assert_eq!(categories.len(), 13);
    let Row::Good(SourceRecord::Category(mugs)) = categories
        .iter()
        .find(|r| r.legacy_key().ends_with("> Mugs"))
        .unwrap()
    else {
        panic!("a category")
    };
    assert_eq!(mugs.name, "Mugs");
    assert_eq!(
        mugs.parent_legacy_key,
        "Home & Garden > Kitchen & Dining > Tableware > Drinkware"
    );
    assert_eq!(
        mugs.slug,
        "home-and-garden-kitchen-and-dining-tableware-drinkware-mugs"
    );
}

#[tokio::test]
async fn an_older_export_reads_to_the_same_records() {
    let (new, old) = (open("shopify-products.csv"), open("shopify-products-older.csv"));
    for entity in new.entities() {
        assert_eq!(new.rows(entity), old.rows(entity), "{entity:?}");
        let all = old.scan(entity, &ScanFrom::default(), 1000).await.unwrap();
        assert!(all.iter().all(|r| matches!(r, Row::Good(_))), "{all:?}");
    }
    assert_eq!(old.currency().await.unwrap(), "EUR");
}
