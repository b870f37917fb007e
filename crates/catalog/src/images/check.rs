//! An upload checked before anything is stored: the declared type, the size, the bytes' real
//! format, and the dimensions read from the header alone — a decompression bomb is refused
//! before a single pixel is decoded.

use crate::domain::image::{ImageType, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS};
use image::{ImageDecoder, ImageFormat, ImageReader};
use mercato_runtime::error::{ErrorCode, FieldError, ServiceError};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// The form field the original arrives in, named in every refusal of its bytes.
pub const FILE_FIELD: &str = "file";

/// An original that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedUpload {
    pub kind: ImageType,
    /// Its dimensions with its orientation (EXIF) applied.
    pub width: u32,
    pub height: u32,
    /// Hex SHA-256 of the bytes.
    pub content_hash: String,
}

/// Checks an original against its declared type; the refusal names the field (`content_type`
/// or `file`): 413 over [`MAX_IMAGE_BYTES`], 422 otherwise.
pub fn check_upload(declared: &str, data: &[u8]) -> Result<CheckedUpload, ServiceError> {
    let kind = ImageType::parse_declared("content_type", declared)?;
    if data.is_empty() {
        return Err(refuse("is empty"));
    }
    if data.len() > MAX_IMAGE_BYTES {
        return Err(ServiceError {
            code: ErrorCode::PayloadTooLarge,
            message: "the image is larger than 20 MB".to_owned(),
            fields: vec![FieldError::new(FILE_FIELD, "must be at most 20 MB")],
        });
    }
    let actual = image::guess_format(data).ok().and_then(accepted);
    match actual {
        None => return Err(refuse("is not a JPEG, PNG or WebP image")),
        Some(actual) if actual != kind => {
            return Err(refuse(&format!(
                "is a {} image, not {}",
                name(actual),
                kind.content_type()
            )));
        }
        Some(_) => {}
    }
    let (width, height) = oriented_dimensions(data)?;
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(refuse(&format!(
            "is {width}×{height} pixels; at most 50 megapixels are accepted"
        )));
    }
    Ok(CheckedUpload {
        kind,
        width,
        height,
        content_hash: mercato_runtime::digest::hex(&Sha256::digest(data)),
    })
}

/// What reading a header may allocate. PNG decoders inflate an embedded colour profile (iCCP)
/// while reading the header: without a small bound, a 20 MB upload whose profile is a deflate
/// bomb allocates gigabytes before any check runs. A profile over the bound is skipped, not fatal.
const HEADER_ALLOC: u64 = 16 * 1024 * 1024;
/// The most the decoded pixels may take: 50 megapixels of 8-bit RGBA. A 16-bit image of fewer
/// pixels can need more, and the derive job's decoder would refuse it, so it is refused here.
pub const MAX_DECODED_BYTES: u64 = MAX_IMAGE_PIXELS * 4;

/// The dimensions from the header (no pixel is decoded), swapped when the orientation turns
/// the image a quarter.
fn oriented_dimensions(data: &[u8]) -> Result<(u32, u32), ServiceError> {
    let unreadable = |_| refuse("cannot be read as an image (its header is damaged)");
    let mut reader = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(|_| refuse("cannot be read"))?;
    // Dimensions are checked against our own limit below, with our own message; only what the
    // header read may allocate is bounded here.
    let mut limits = image::Limits::no_limits();
    limits.max_alloc = Some(HEADER_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) <= MAX_IMAGE_PIXELS && decoder.total_bytes() > MAX_DECODED_BYTES {
        return Err(refuse(&format!(
            "is {width}×{height} pixels of more than 8 bits per channel; it would take more than 200 MB to decode"
        )));
    }
    let turned = decoder.orientation().is_ok_and(|o| {
        use image::metadata::Orientation::*;
        matches!(o, Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH)
    });
    Ok(if turned { (height, width) } else { (width, height) })
}

fn accepted(format: ImageFormat) -> Option<ImageType> {
    match format {
        ImageFormat::Jpeg => Some(ImageType::Jpeg),
        ImageFormat::Png => Some(ImageType::Png),
        ImageFormat::WebP => Some(ImageType::Webp),
        _ => None,
    }
}

fn name(kind: ImageType) -> &'static str {
    match kind {
        ImageType::Jpeg => "JPEG",
        ImageType::Png => "PNG",
        ImageType::Webp => "WebP",
    }
}

fn refuse(why: &str) -> ServiceError {
    ServiceError::invalid_field(FILE_FIELD, why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::testing::{jpeg, png, png_claiming};

    #[test]
    fn a_png_whose_header_claims_ten_gigapixels_is_refused_before_decoding() {
        let bomb = png_claiming(100_000, 100_000);
        let e = check_upload("image/png", &bomb).unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationFailed);
        assert_eq!(e.fields[0].field, "file");
        assert!(e.fields[0].message.contains("50 megapixels"), "{e:?}");
    }

    /// A 1×1 PNG whose colour profile inflates to 512 MiB: reading its header must not inflate
    /// it (peak memory of the process grows by far less than the profile).
    #[test]
    fn a_png_whose_colour_profile_is_a_deflate_bomb_is_read_without_inflating_it() {
        let bomb = crate::images::testing::png_with_profile_bomb(512 * 1024 * 1024);
        assert!(bomb.len() < 4 * 1024 * 1024, "the bomb is {} bytes", bomb.len());
        let before = peak_rss_kib();
        let checked = check_upload("image/png", &bomb).expect("a 1×1 PNG is accepted");
        assert_eq!((checked.width, checked.height), (1, 1));
        let grown_mib = (peak_rss_kib() - before) / 1024;
        assert!(
            grown_mib < 128,
            "reading the header raised peak memory by {grown_mib} MiB"
        );
    }

    /// The process's peak resident memory (VmHWM), in KiB.
    fn peak_rss_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn a_sixteen_bit_png_too_large_to_decode_is_refused_though_under_50_megapixels() {
        // 6,000 × 6,000 = 36 MP of 16-bit RGBA: 288 MB decoded.
        let e = check_upload("image/png", &crate::images::testing::png16_claiming(6_000, 6_000)).unwrap_err();
        assert_eq!(e.fields[0].field, "file");
        assert!(e.fields[0].message.contains("200 MB"), "{e:?}");
    }

    #[test]
    fn a_png_declared_as_jpeg_is_refused() {
        let e = check_upload("image/jpeg", &png(20, 10)).unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationFailed);
        assert_eq!(e.fields[0].message, "is a PNG image, not image/jpeg");
    }

    #[test]
    fn an_original_over_20_mb_is_refused_as_too_large() {
        let mut big = jpeg(8, 8, None);
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        let e = check_upload("image/jpeg", &big).unwrap_err();
        assert_eq!(e.code, ErrorCode::PayloadTooLarge);
        assert_eq!(e.fields[0].field, "file");
    }

    #[test]
    fn types_other_than_jpeg_png_and_webp_and_bytes_of_no_image_are_refused() {
        let e = check_upload("image/gif", &png(4, 4)).unwrap_err();
        assert_eq!(e.fields[0].field, "content_type");
        let e = check_upload("image/png", b"GIF89a and so on").unwrap_err();
        assert_eq!(e.fields[0].message, "is not a JPEG, PNG or WebP image");
    }

    #[test]
    fn a_good_upload_has_its_dimensions_turned_by_its_orientation_and_its_hash() {
        let checked = check_upload("image/jpeg", &jpeg(40, 20, Some(6))).unwrap();
        assert_eq!((checked.width, checked.height), (20, 40));
        assert_eq!(checked.content_hash.len(), 64);
        let checked = check_upload("image/png", &png(40, 20)).unwrap();
        assert_eq!((checked.width, checked.height), (40, 20));
    }
}
