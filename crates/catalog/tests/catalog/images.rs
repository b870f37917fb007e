//! Product images in the catalog on both databases: images keep positions without gaps as they
//! are added, moved and deleted; a refused upload stores no file and no row; every change bumps
//! the product's version. (Deriving the sizes is the e2e test's and the unit tests'.)

use crate::support::Catalog;
use image::{ExtendedColorType, ImageEncoder};
use mercato_proto::catalog::*;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::files::FileStore;
use mercato_runtime::ids::StoreId;

mercato_runtime::backend_tests! {
    setup: Catalog::on,
    cases: [
        images_keep_their_order_as_they_are_added_moved_and_deleted,
        a_refused_upload_stores_no_file_and_no_image,
    ],
}

fn png() -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&[200u8; 4 * 3 * 3], 4, 3, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// The catalog with a file store in a fresh directory; the directory.
fn with_files(c: &Catalog) -> std::path::PathBuf {
    let dir = std::env::temp_dir()
        .join("mercato-tests")
        .join(uuid::Uuid::now_v7().to_string());
    std::fs::create_dir_all(&dir).unwrap();
    c.service.attach_files(FileStore::in_directory(&dir).unwrap());
    dir
}

fn files_under(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                files_under(&e.path())
            } else {
                1
            }
        })
        .sum()
}

fn add(
    store: &StoreId,
    product: &str,
    alt: &str,
    data: Vec<u8>,
    content_type: &str,
) -> AddProductImageRequest {
    AddProductImageRequest {
        store_id: store.to_string(),
        product_id: product.to_owned(),
        content_type: content_type.into(),
        data,
        alt: alt.into(),
        position: None,
        requested_by: "test".into(),
    }
}

async fn alts(c: &Catalog, store: &StoreId, product: &str) -> Vec<(u32, String)> {
    let p = c
        .client
        .get_product(GetProductRequest {
            store_id: store.to_string(),
            key: product.to_owned(),
            include_hidden: true,
        })
        .await
        .unwrap();
    p.images.into_iter().map(|i| (i.position, i.alt)).collect()
}

async fn images_keep_their_order_as_they_are_added_moved_and_deleted(c: Catalog) {
    with_files(&c);
    let store = StoreId::new();
    let product = c.product(&store, "lamp", "Lamp", "", &[("LAMP-1", 1000)]).await;
    let mut ids = Vec::new();
    for alt in ["a", "b", "c"] {
        let image = c
            .client
            .add_product_image(add(&store, &product.id, alt, png(), "image/png"))
            .await
            .unwrap();
        assert_eq!(image.status, "processing");
        ids.push(image.id);
    }
    let at_front = AddProductImageRequest {
        position: Some(0),
        ..add(&store, &product.id, "first", png(), "image/png")
    };
    c.client.add_product_image(at_front).await.unwrap();
    let expect = |v: &[&str]| {
        v.iter()
            .enumerate()
            .map(|(i, a)| (i as u32, (*a).to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        alts(&c, &store, &product.id).await,
        expect(&["first", "a", "b", "c"])
    );

    let moved = UpdateProductImageRequest {
        store_id: store.to_string(),
        product_id: product.id.clone(),
        image_id: ids[2].clone(),
        alt: Some("c, moved".into()),
        position: Some(1),
    };
    c.client.update_product_image(moved).await.unwrap();
    assert_eq!(
        alts(&c, &store, &product.id).await,
        expect(&["first", "c, moved", "a", "b"])
    );

    let back = UpdateProductImageRequest {
        store_id: store.to_string(),
        product_id: product.id.clone(),
        image_id: ids[0].clone(),
        alt: None,
        position: Some(99),
    };
    c.client.update_product_image(back).await.unwrap();
    assert_eq!(
        alts(&c, &store, &product.id).await,
        expect(&["first", "c, moved", "b", "a"])
    );

    let delete = DeleteProductImageRequest {
        store_id: store.to_string(),
        product_id: product.id.clone(),
        image_id: ids[2].clone(),
    };
    c.client.delete_product_image(delete).await.unwrap();
    assert_eq!(alts(&c, &store, &product.id).await, expect(&["first", "b", "a"]));

    let now = c
        .client
        .get_product(GetProductRequest {
            store_id: store.to_string(),
            key: product.id.clone(),
            include_hidden: true,
        })
        .await
        .unwrap();
    assert_eq!(
        now.version,
        product.version + 7,
        "each of the seven image changes bumps the product"
    );
}

async fn a_refused_upload_stores_no_file_and_no_image(c: Catalog) {
    let dir = with_files(&c);
    let store = StoreId::new();
    let product = c.product(&store, "mug", "Mug", "", &[("MUG-1", 900)]).await;
    let refused = c
        .client
        .add_product_image(add(&store, &product.id, "", png(), "image/jpeg"))
        .await;
    assert_eq!(refused.unwrap_err().code, ErrorCode::ValidationFailed);
    let long_alt = "x".repeat(501);
    let refused = c
        .client
        .add_product_image(add(&store, &product.id, &long_alt, png(), "image/png"))
        .await;
    assert_eq!(refused.unwrap_err().code, ErrorCode::ValidationFailed);
    let elsewhere = c
        .client
        .add_product_image(add(&StoreId::new(), &product.id, "", png(), "image/png"))
        .await;
    assert_eq!(
        elsewhere.unwrap_err().code,
        ErrorCode::NotFound,
        "another store's product"
    );
    assert_eq!(files_under(&dir), 0, "no original was kept");
    assert!(alts(&c, &store, &product.id).await.is_empty());
    assert_eq!(c.count("SELECT COUNT(*) FROM product_images").await, 0);
}
