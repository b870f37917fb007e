//! The reader on small hand-written exports: what each kind of line becomes, and each kind of
//! bad line skipping its product whole, located to its physical line.

use super::ShopifyCsv;
use crate::source::{BadRow, Row, ScanFrom, Source, SourceRecord};
use mercato_proto::imports::{Entity, ImportedCategory, ImportedProduct, ImportedStock};

const HEADER: [&str; 26] = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Product Category",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Price",
    "Variant Requires Shipping",
    "Image Src",
    "Image Position",
    "Variant Image",
    "Variant Weight Unit",
    "Status",
    "SEO Title",
];

/// An export with `HEADER`'s columns, each line given as (column, value) pairs.
pub(super) fn export(lines: &[&[(&str, &str)]]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER).unwrap();
    for cells in lines {
        let row: Vec<&str> = HEADER
            .iter()
            .map(|h| cells.iter().find(|(c, _)| c == h).map_or("", |(_, v)| *v))
            .collect();
        w.write_record(row).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

pub(super) fn read(text: impl AsRef<[u8]>) -> ShopifyCsv {
    ShopifyCsv::read("products.csv", text.as_ref(), "EUR").expect("the export reads")
}

pub(super) fn products(csv: &ShopifyCsv) -> Vec<ImportedProduct> {
    good(csv, Entity::Product, |r| match r {
        SourceRecord::Product(p) => Some(p),
        _ => None,
    })
}

fn categories(csv: &ShopifyCsv) -> Vec<ImportedCategory> {
    good(csv, Entity::Category, |r| match r {
        SourceRecord::Category(c) => Some(c),
        _ => None,
    })
}

fn stock(csv: &ShopifyCsv) -> Vec<ImportedStock> {
    good(csv, Entity::Stock, |r| match r {
        SourceRecord::Stock(s) => Some(s),
        _ => None,
    })
}

fn good<T>(csv: &ShopifyCsv, entity: Entity, pick: impl Fn(SourceRecord) -> Option<T>) -> Vec<T> {
    csv.rows(entity)
        .iter()
        .filter_map(|r| match r {
            Row::Good(record) => pick(record.clone()),
            Row::Bad(_) => None,
        })
        .collect()
}

pub(super) fn bad_rows(csv: &ShopifyCsv, entity: Entity) -> Vec<BadRow> {
    csv.rows(entity)
        .iter()
        .filter_map(|r| match r {
            Row::Bad(b) => Some(b.clone()),
            Row::Good(_) => None,
        })
        .collect()
}

pub(super) fn simple<'a>(handle: &'a str, sku: &'a str, price: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("Handle", handle),
        ("Title", "Simple"),
        ("Option1 Name", "Title"),
        ("Option1 Value", "Default Title"),
        ("Variant SKU", sku),
        ("Variant Price", price),
        ("Variant Inventory Tracker", "shopify"),
        ("Variant Inventory Qty", "4"),
        ("Status", "active"),
    ]
}

#[test]
fn a_bom_a_multi_line_body_and_crlf_lines_are_read() {
    let text = "\u{feff}Handle,Title,Body (HTML),Variant SKU,Variant Price\r\n\
                mug,Mug,\"<p>Line one,\r\nline \"\"two\"\"</p>\",MUG-1,12.50\r\n\
                cup,Cup,,CUP-1,3\r\n";
    let csv = read(text);
    let all = products(&csv);
    assert_eq!(all.len(), 2, "{:?}", bad_rows(&csv, Entity::Product));
    assert_eq!(all[1].legacy_key, "mug");
    assert_eq!(all[1].description, "<p>Line one,\nline \"two\"</p>");
    assert_eq!(all[1].variants[0].price_minor, 1250);
    assert_eq!(all[0].variants[0].price_minor, 300);
    assert_eq!(all[0].status, "active");
}

#[test]
fn a_default_title_product_has_one_variant_and_no_options() {
    let csv = read(export(&[&simple("plain-mug", "MUG-1", "9.90")]));
    let p = &products(&csv)[0];
    assert!(p.options.is_empty());
    assert_eq!(p.variants.len(), 1);
    assert_eq!(p.variants[0].legacy_key, "plain-mug");
    assert_eq!(p.variants[0].title, "Simple");
    assert!(p.variants[0].option_values.is_empty());
    assert!(p.variants[0].requires_shipping);
    assert_eq!(stock(&csv)[0].on_hand, 4);
}

#[test]
fn variants_images_and_variant_images_come_out_in_order_once_each() {
    let first = [
        ("Handle", "tee"),
        ("Title", "Tee"),
        ("Body (HTML)", "<p>Soft</p>"),
        ("Option1 Name", "Size"),
        ("Option2 Name", "Colour"),
        ("Option1 Value", "S"),
        ("Option2 Value", "Red"),
        ("Variant SKU", "TEE-S-RED"),
        ("Variant Price", "15.00"),
        ("Variant Grams", "200"),
        ("Image Src", "https://cdn.example/b.jpg"),
        ("Image Position", "2"),
        ("Variant Image", "https://cdn.example/b.jpg"),
        ("Status", "active"),
    ];
    let second = [
        ("Handle", "tee"),
        ("Option1 Value", "M"),
        ("Option2 Value", "Red"),
        ("Variant SKU", "TEE-M-RED"),
        ("Variant Price", "15.00"),
        ("Variant Grams", "210"),
        ("Image Src", "https://cdn.example/a.jpg"),
        ("Image Position", "1"),
        ("Variant Image", "https://cdn.example/v.jpg"),
        ("Variant Requires Shipping", "FALSE"),
    ];
    let image_only = [
        ("Handle", "tee"),
        ("Image Src", "https://cdn.example/c.jpg"),
        ("Image Position", "3"),
    ];
    let third = [
        ("Handle", "tee"),
        ("Option1 Value", "S"),
        ("Option2 Value", "Blue"),
        ("Variant SKU", "TEE-S-BLUE"),
        ("Variant Price", "16.5"),
    ];
    let csv = read(export(&[&first, &second, &image_only, &third]));
    let p = &products(&csv)[0];
    assert_eq!(p.options.len(), 2);
    assert_eq!(p.options[0].values, ["S", "M"]);
    assert_eq!(p.options[1].values, ["Red", "Blue"]);
    let keys: Vec<&str> = p.variants.iter().map(|v| v.legacy_key.as_str()).collect();
    assert_eq!(keys, ["tee/S/Red", "tee/M/Red", "tee/S/Blue"]);
    assert_eq!(p.variants[1].title, "M / Red");
    assert_eq!(p.variants[1].weight_grams, 210);
    assert!(!p.variants[1].requires_shipping);
    assert_eq!(p.variants[2].price_minor, 1650);
    assert_eq!(p.variants[2].option_values[1].value, "Blue");
    assert_eq!(
        p.image_urls,
        [
            "https://cdn.example/a.jpg",
            "https://cdn.example/b.jpg",
            "https://cdn.example/c.jpg",
            "https://cdn.example/v.jpg"
        ]
    );
    assert!(bad_rows(&csv, Entity::Product).is_empty());
}

#[tokio::test]
async fn products_come_out_in_handle_order_and_scans_page_by_key_ignoring_modified_since() {
    let csv = read(export(&[
        &simple("zebra", "Z-1", "1"),
        &simple("apple", "A-1", "1"),
        &simple("mango", "M-1", "1"),
    ]));
    let keys: Vec<String> = csv
        .rows(Entity::Product)
        .iter()
        .map(|r| r.legacy_key().to_owned())
        .collect();
    assert_eq!(keys, ["apple", "mango", "zebra"]);
    assert_eq!(scan(&csv, None, 2).await, ["apple", "mango"]);
    assert_eq!(scan(&csv, Some("apple"), 1).await, ["mango"]);
    assert_eq!(scan(&csv, Some("zebra"), 10).await, Vec::<String>::new());
}

async fn scan(csv: &ShopifyCsv, after: Option<&str>, limit: usize) -> Vec<String> {
    let from = ScanFrom {
        after_key: after.map(str::to_owned),
        modified_since_ms: Some(i64::MAX),
    };
    let rows = csv.scan(Entity::Product, &from, limit).await.unwrap();
    rows.iter().map(|r| r.legacy_key().to_owned()).collect()
}

#[test]
fn categories_are_every_prefix_of_the_taxonomy_path_or_the_type() {
    let mut shirt = simple("shirt", "SH-1", "20");
    shirt.push((
        "Product Category",
        "Apparel & Accessories > Clothing > Shirts & Tops",
    ));
    let mut soap = simple("soap", "SO-1", "4");
    soap.push(("Type", "Bath"));
    let mut dress = simple("dress", "DR-1", "40");
    dress.push(("Product Category", "Apparel & Accessories > Clothing"));
    let csv = read(export(&[&shirt, &soap, &dress]));
    let all = categories(&csv);
    let keys: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|c| {
            (
                c.legacy_key.as_str(),
                c.parent_legacy_key.as_str(),
                c.slug.as_str(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("Apparel & Accessories", "", "apparel-and-accessories"),
            (
                "Apparel & Accessories > Clothing",
                "Apparel & Accessories",
                "apparel-and-accessories-clothing"
            ),
            (
                "Apparel & Accessories > Clothing > Shirts & Tops",
                "Apparel & Accessories > Clothing",
                "apparel-and-accessories-clothing-shirts-and-tops"
            ),
            ("Bath", "", "bath"),
        ]
    );
    assert_eq!(all[2].name, "Shirts & Tops");
    let by_key: Vec<(String, String)> = products(&csv)
        .into_iter()
        .map(|p| (p.legacy_key, p.category_legacy_key))
        .collect();
    assert_eq!(
        by_key[0],
        ("dress".into(), "Apparel & Accessories > Clothing".into())
    );
    assert_eq!(by_key[1].1, "Apparel & Accessories > Clothing > Shirts & Tops");
    assert_eq!(by_key[2].1, "Bath");
}

#[test]
fn statuses_follow_status_and_published() {
    let mut draft = simple("a", "A-1", "1");
    draft.retain(|(c, _)| *c != "Status");
    draft.push(("Published", "FALSE"));
    let mut unpublished = simple("b", "B-1", "1");
    unpublished.push(("Published", "false"));
    let mut archived = simple("c", "C-1", "1");
    archived.retain(|(c, _)| *c != "Status");
    archived.push(("Status", "archived"));
    let csv = read(export(&[&draft, &unpublished, &archived]));
    let statuses: Vec<String> = products(&csv).into_iter().map(|p| p.status).collect();
    assert_eq!(statuses, ["draft", "draft", "archived"]);
}

#[test]
fn untracked_variants_have_no_stock_and_a_negative_quantity_is_the_stock_s_bad_row() {
    let mut untracked = simple("a", "A-1", "1");
    untracked.retain(|(c, _)| *c != "Variant Inventory Tracker");
    let mut oversold = simple("b", "B-1", "1");
    oversold.retain(|(c, _)| *c != "Variant Inventory Qty");
    oversold.push(("Variant Inventory Qty", "-2"));
    let csv = read(export(&[&untracked, &oversold]));
    assert_eq!(products(&csv).len(), 2);
    assert!(stock(&csv).is_empty());
    let skipped = bad_rows(&csv, Entity::Stock);
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        (skipped[0].legacy_key.as_str(), skipped[0].location.as_str()),
        ("B-1", "products.csv line 3")
    );
    assert!(skipped[0].reason.contains("negative"), "{}", skipped[0].reason);
}

#[test]
fn a_variant_without_a_sku_is_given_one_made_from_its_key() {
    let mut sized = vec![("Handle", "sized"), ("Title", "Sized"), ("Option1 Name", "Size")];
    sized.extend([("Option1 Value", "S"), ("Variant Price", "1")]);
    let medium = [
        ("Handle", "sized"),
        ("Option1 Value", "M"),
        ("Variant Price", "1"),
    ];
    let csv = read(export(&[&simple("plain", "", "1"), &sized, &medium]));
    let all = products(&csv);
    let skus: Vec<&str> = all
        .iter()
        .flat_map(|p| &p.variants)
        .map(|v| v.sku.as_str())
        .collect();
    assert_eq!(
        skus,
        [
            super::synthetic_sku("plain"),
            super::synthetic_sku("sized/S"),
            super::synthetic_sku("sized/M")
        ]
    );
    assert!(skus[0].starts_with("SH-") && skus[0].len() == 19, "{}", skus[0]);
    assert_ne!(skus[1], skus[2]);
    assert_eq!(
        stock(&csv)[0].sku,
        skus[0],
        "a tracked variant's stock is kept by it"
    );
    assert_eq!(
        read(export(&[&simple("plain", "", "1")])).rows(Entity::Product),
        &csv.rows(Entity::Product)[..1]
    );
}
