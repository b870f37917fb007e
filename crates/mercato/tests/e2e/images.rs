//! Product images through the edge, in both topologies: an upload answered at once, the sizes
//! made by the `images.derive` job (orientation applied, no EXIF), served with their content
//! hash, `ETag` and a year of immutable caching, and a refused upload that stores nothing.

use crate::harness::{Platform, Reply, platforms};
use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A `width`×`height` JPEG carrying EXIF orientation 6 (shown turned a quarter clockwise).
fn turned_jpeg(width: u32, height: u32) -> Vec<u8> {
    let pixels = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut plain = Vec::new();
    JpegEncoder::new_with_quality(&mut plain, 85)
        .write_image(pixels.as_raw(), width, height, ExtendedColorType::Rgb8)
        .unwrap();
    // APP1: "Exif\0\0", a big-endian TIFF header, one IFD entry: Orientation = 6.
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0".to_vec();
    let mut segment = vec![0xff, 0xe1];
    segment.extend(u16::try_from(exif.len() + 2).unwrap().to_be_bytes());
    segment.append(&mut exif);
    let mut jpeg = plain[..2].to_vec();
    jpeg.extend(segment);
    jpeg.extend(&plain[2..]);
    jpeg
}

/// Posts a `multipart/form-data` upload of `bytes` declared as `content_type`.
async fn upload(p: &Platform, path: &str, token: &str, content_type: &str, bytes: &[u8], alt: &str) -> Reply {
    let boundary = "mercato-test-boundary-7f3a";
    let mut body = Vec::new();
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"alt\"\r\n\r\n{alt}\r\n").as_bytes(),
    );
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let request = p
        .http
        .post(format!("{}{path}", p.gateway(0)))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body);
    p.send(0, request).await
}

/// The product as shoppers read it, once its first image is no longer processing.
async fn product_once_derived(p: &Platform, store: &str, product: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = p
            .get(1, &format!("/v1/stores/{store}/products/{product}"), None)
            .await;
        assert_eq!(reply.status, 200, "{}: {}", p.name, reply.body);
        if reply.body["images"][0]["status"] != "processing" {
            return reply.body;
        }
        assert!(
            Instant::now() < deadline,
            "{}: the image stayed processing",
            p.name
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_uploaded_image_is_derived_served_immutably_and_deleted() {
    for p in platforms().await {
        let (store, _) = p.provision(0).await;
        let (owner, _) = p
            .sign_in(0, &store, "owner@example.com", "correct horse battery")
            .await;
        let body = json!({"slug": "linen-shirt", "title": "Linen shirt",
            "variants": [{"sku": "LIN-1", "price": {"amount_minor": 4900, "currency": "EUR"}}]});
        let created = p
            .post(0, &format!("/v1/stores/{store}/products"), Some(&owner), &body)
            .await;
        assert_eq!(created.status, 201, "{}: {}", p.name, created.body);
        let product = created.body["id"].as_str().unwrap().to_owned();
        let images = format!("/v1/stores/{store}/products/{product}/images");

        // Bytes of a PNG declared as a JPEG: refused, and the product has no image.
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&[0u8; 12], 2, 2, ExtendedColorType::Rgb8)
            .unwrap();
        let refused = upload(&p, &images, &owner, "image/jpeg", &png, "").await;
        assert_eq!(refused.status, 422, "{}: {}", p.name, refused.body);
        assert_eq!(refused.error_fields(), ["file"], "{}", p.name);

        // 1200×800 as stored, shown 800×1200.
        let accepted = upload(
            &p,
            &images,
            &owner,
            "image/jpeg",
            &turned_jpeg(1200, 800),
            "A linen shirt",
        )
        .await;
        assert_eq!(accepted.status, 202, "{}: {}", p.name, accepted.body);
        assert_eq!(accepted.body["status"], "processing", "{}", p.name);
        assert_eq!(
            (accepted.body["width"].clone(), accepted.body["height"].clone()),
            (json!(800), json!(1200))
        );

        let shown = product_once_derived(&p, &store, &product).await;
        assert_eq!(
            shown["images"].as_array().unwrap().len(),
            1,
            "{}: {shown}",
            p.name
        );
        let image = &shown["images"][0];
        assert_eq!(image["status"], "ready", "{}: {image}", p.name);
        assert_eq!(image["alt"], "A linen shirt");
        for (size, dims) in [
            ("thumbnail", (107, 160)),
            ("card", (320, 480)),
            ("large", (800, 1200)),
        ] {
            for (format, content_type) in [("webp", "image/webp"), ("jpeg", "image/jpeg")] {
                let url = image["urls"][size][format].as_str().unwrap();
                let reply = p.http.get(format!("{}{url}", p.gateway(1))).send().await.unwrap();
                assert_eq!(reply.status(), 200, "{}: {url}", p.name);
                let headers = reply.headers().clone();
                assert_eq!(headers["content-type"], content_type, "{url}");
                assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
                let etag = headers["etag"].to_str().unwrap().to_owned();
                let bytes = reply.bytes().await.unwrap();
                let decoded = image::load_from_memory(&bytes).unwrap();
                assert_eq!(
                    (decoded.width(), decoded.height()),
                    dims,
                    "{}: {size} {format}",
                    p.name
                );
                assert!(
                    !bytes.windows(4).any(|w| w == b"Exif"),
                    "{size} {format} carries EXIF"
                );
                let again = p
                    .http
                    .get(format!("{}{url}", p.gateway(0)))
                    .header("if-none-match", &etag);
                let again = again.send().await.unwrap();
                assert_eq!(again.status(), 304, "{}: {url}", p.name);
                assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
            }
        }
        let large = image["urls"]["large"]["jpeg"].as_str().unwrap().to_owned();
        let unknown = large.replace("/large.jpg", "/huge.jpg");
        assert_eq!(p.get(0, &unknown, None).await.status, 404, "{}", p.name);

        let image_id = image["id"].as_str().unwrap();
        let gone = p
            .http
            .delete(format!("{}{images}/{image_id}", p.gateway(0)))
            .bearer_auth(&owner);
        assert_eq!(p.send(0, gone).await.status, 204, "{}", p.name);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let shown = p
                .get(1, &format!("/v1/stores/{store}/products/{product}"), None)
                .await;
            if shown.body["images"].as_array().is_some_and(Vec::is_empty) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{}: the deleted image is still shown",
                p.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            p.get(0, &large, None).await.status,
            404,
            "{}: its files are gone",
            p.name
        );
    }
}
