//! Making an image's sizes (pure CPU work, no IO): decode within limits, apply the EXIF
//! orientation, scale to each size without ever enlarging, and encode each as WebP and JPEG.
//!
//! The encoders write pixels only, so the sizes carry no EXIF (nor any other metadata of the
//! original: a photo's GPS position does not leak). The `image` crate's WebP encoder is
//! lossless only: WebP sizes are exact but larger than a lossy encoder's would be — the JPEG
//! (quality 82) is the small one, and browsers pick the first source they support.

use crate::domain::image::MAX_IMAGE_PIXELS;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageReader, Limits, RgbImage};
use std::io::Cursor;

/// The sizes made of every image: its name and the square it fits in.
pub const SIZES: [(&str, u32); 3] = [("thumbnail", 160), ("card", 480), ("large", 1600)];
/// JPEG quality of every size.
pub const JPEG_QUALITY: u8 = 82;
/// The widest or tallest original decoded.
const MAX_SIDE: u32 = 50_000;
/// The most the decoder may allocate: a 50-megapixel original in RGBA, and some room.
const MAX_ALLOC: u64 = MAX_IMAGE_PIXELS * 4 + 64 * 1024 * 1024;

/// One size in one format, encoded.
#[derive(Clone, Debug)]
pub struct SizeFile {
    /// `thumbnail`, `card` or `large`.
    pub size: &'static str,
    /// `webp` or `jpeg`.
    pub format: &'static str,
    /// `webp` or `jpg`: the file's extension.
    pub extension: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

/// What deriving made: the original's dimensions as shown (orientation applied) and the files.
#[derive(Clone, Debug)]
pub struct Derivatives {
    pub width: u32,
    pub height: u32,
    pub files: Vec<SizeFile>,
}

/// Why an original gives no sizes; never worth another attempt.
#[derive(Debug, thiserror::Error)]
#[error("the original cannot be decoded: {0}")]
pub struct Undecodable(String);

/// Decodes `original` (within limits), orients it and makes every size in both formats.
pub fn derive(original: &[u8]) -> Result<Derivatives, Undecodable> {
    let image = decode_oriented(original)?;
    let (width, height) = (image.width(), image.height());
    let mut files = Vec::with_capacity(SIZES.len() * 2);
    // Largest first, each made from the one before: scaling 1600 px down to 480 costs a tenth
    // of scaling the original, and looks the same.
    let mut source = image;
    for (size, max) in SIZES.iter().rev() {
        let (w, h) = fit(source.width(), source.height(), *max);
        if (w, h) != (source.width(), source.height()) {
            source = source.resize_exact(w, h, FilterType::CatmullRom);
        }
        files.push(encode_webp(size, &source)?);
        files.push(encode_jpeg(size, &source)?);
    }
    files.reverse();
    Ok(Derivatives { width, height, files })
}

/// The original's pixels, its EXIF orientation applied.
fn decode_oriented(original: &[u8]) -> Result<DynamicImage, Undecodable> {
    let fail = |e: image::ImageError| Undecodable(e.to_string());
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let mut reader = ImageReader::new(Cursor::new(original))
        .with_guessed_format()
        .map_err(|e| Undecodable(e.to_string()))?;
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(fail)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_IMAGE_PIXELS {
        return Err(Undecodable(format!("{w}×{h} is over 50 megapixels")));
    }
    let orientation = decoder.orientation().map_err(fail)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(fail)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// The dimensions of `width`×`height` scaled to fit `max`×`max`; never larger than they are.
pub fn fit(width: u32, height: u32, max: u32) -> (u32, u32) {
    if width <= max && height <= max {
        return (width, height);
    }
    let scale = f64::from(max) / f64::from(width.max(height));
    let side = |n: u32| ((f64::from(n) * scale).round() as u32).clamp(1, max);
    (side(width), side(height))
}

fn encode_webp(size: &'static str, image: &DynamicImage) -> Result<SizeFile, Undecodable> {
    let mut bytes = Vec::new();
    let (w, h) = (image.width(), image.height());
    let encoder = WebPEncoder::new_lossless(&mut bytes);
    let result = if image.color().has_alpha() {
        encoder.write_image(image.to_rgba8().as_raw(), w, h, ExtendedColorType::Rgba8)
    } else {
        encoder.write_image(image.to_rgb8().as_raw(), w, h, ExtendedColorType::Rgb8)
    };
    result.map_err(|e| Undecodable(e.to_string()))?;
    Ok(SizeFile {
        size,
        format: "webp",
        extension: "webp",
        width: w,
        height: h,
        bytes,
    })
}

fn encode_jpeg(size: &'static str, image: &DynamicImage) -> Result<SizeFile, Undecodable> {
    let mut bytes = Vec::new();
    let rgb = on_white(image);
    JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
        .write_image(rgb.as_raw(), rgb.width(), rgb.height(), ExtendedColorType::Rgb8)
        .map_err(|e| Undecodable(e.to_string()))?;
    Ok(SizeFile {
        size,
        format: "jpeg",
        extension: "jpg",
        width: rgb.width(),
        height: rgb.height(),
        bytes,
    })
}

/// The image without transparency, for JPEG: transparent parts become white (a product shot on
/// a transparent background would otherwise turn black).
fn on_white(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::testing::{jpeg, png};

    fn decoded(file: &SizeFile) -> DynamicImage {
        image::load_from_memory(&file.bytes).unwrap()
    }

    #[test]
    fn sizes_fit_their_square_and_are_never_enlarged() {
        assert_eq!(fit(3000, 2000, 1600), (1600, 1067));
        assert_eq!(fit(2000, 3000, 480), (320, 480));
        assert_eq!(fit(100, 50, 160), (100, 50));
        assert_eq!(fit(10_000, 1, 160), (160, 1));
    }

    #[test]
    fn an_exif_orientation_6_jpeg_is_turned_and_its_sizes_carry_no_exif() {
        // 2000×1000 as stored; orientation 6 shows it turned a quarter clockwise: 1000×2000.
        let original = jpeg(2000, 1000, Some(6));
        assert!(
            contains(&original, b"Exif\0\0"),
            "the test original must carry EXIF"
        );
        let made = derive(&original).unwrap();
        assert_eq!((made.width, made.height), (1000, 2000));
        let expected = [
            ("thumbnail", (80, 160)),
            ("card", (240, 480)),
            ("large", (800, 1600)),
        ];
        assert_eq!(made.files.len(), 6);
        for file in &made.files {
            let (_, dims) = expected.iter().find(|(s, _)| *s == file.size).unwrap();
            let image = decoded(file);
            assert_eq!(
                (image.width(), image.height()),
                *dims,
                "{} {}",
                file.size,
                file.format
            );
            assert_eq!((file.width, file.height), *dims);
            assert!(
                !contains(&file.bytes, b"Exif"),
                "{} {} has EXIF",
                file.size,
                file.format
            );
        }
        // The test original's left half is dark and its right half light; turned clockwise, the
        // dark half is on top.
        let large = decoded(
            made.files
                .iter()
                .find(|f| f.size == "large" && f.format == "jpeg")
                .unwrap(),
        );
        let top = large.to_luma8().get_pixel(400, 100).0[0];
        let bottom = large.to_luma8().get_pixel(400, 1500).0[0];
        assert!(top < 100 && bottom > 150, "top {top}, bottom {bottom}");
    }

    #[test]
    fn a_small_png_keeps_its_size_in_every_format() {
        let made = derive(&png(120, 90)).unwrap();
        for file in &made.files {
            assert_eq!((file.width, file.height), (120, 90));
            let format = image::guess_format(&file.bytes).unwrap();
            let want = if file.format == "webp" {
                image::ImageFormat::WebP
            } else {
                image::ImageFormat::Jpeg
            };
            assert_eq!(format, want);
        }
    }

    #[test]
    fn bytes_that_do_not_decode_are_undecodable() {
        let mut broken = jpeg(64, 64, None);
        broken.truncate(200);
        assert!(derive(&broken).is_err());
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }
}
