//! Product images as stored: the original's facts, the image's status and its derived sizes,
//! and the pure rules of uploads (which types, how large) and of positions.

use super::values::ProductId;
use mercato_runtime::error::FieldError;
use mercato_runtime::text::{Lines, refuse_controls};

mercato_runtime::define_id!(
    /// An image of one product.
    ImageId
);

/// The largest original accepted, in bytes.
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
/// The most pixels an original may have: more is refused as a likely decompression bomb.
pub const MAX_IMAGE_PIXELS: u64 = 50_000_000;
/// Alt text is at most this many characters.
pub const MAX_ALT_CHARS: usize = 500;
/// Images one product may have.
pub const MAX_IMAGES_PER_PRODUCT: usize = 50;

/// Where an image is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageStatus {
    /// Stored; its sizes are being made.
    Processing,
    /// Its sizes exist and are served.
    Ready,
    /// Its sizes could not be made (the original does not decode).
    Failed,
}

impl ImageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageStatus::Processing => "processing",
            ImageStatus::Ready => "ready",
            ImageStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<ImageStatus> {
        match s {
            "processing" => Some(ImageStatus::Processing),
            "ready" => Some(ImageStatus::Ready),
            "failed" => Some(ImageStatus::Failed),
            _ => None,
        }
    }
}

/// An accepted original's type: what the uploader declared and the bytes agree with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Png,
    Webp,
}

impl ImageType {
    /// The type an uploader declared; anything but the three accepted is refused.
    pub fn parse_declared(field: &str, content_type: &str) -> Result<ImageType, FieldError> {
        match content_type.trim().to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" => Ok(ImageType::Jpeg),
            "image/png" => Ok(ImageType::Png),
            "image/webp" => Ok(ImageType::Webp),
            _ => Err(FieldError::new(
                field,
                "must be image/jpeg, image/png or image/webp",
            )),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
            ImageType::Webp => "image/webp",
        }
    }

    /// The original's file extension in the store.
    pub fn extension(self) -> &'static str {
        match self {
            ImageType::Jpeg => "jpg",
            ImageType::Png => "png",
            ImageType::Webp => "webp",
        }
    }

    pub fn from_content_type(s: &str) -> Option<ImageType> {
        Self::parse_declared("content_type", s).ok()
    }
}

/// Checked alt text: at most [`MAX_ALT_CHARS`] characters on one line.
pub fn parse_alt(field: &str, alt: &str) -> Result<String, FieldError> {
    let alt = alt.trim();
    if alt.chars().count() > MAX_ALT_CHARS {
        return Err(FieldError::new(field, "must be at most 500 characters"));
    }
    refuse_controls(field, alt, Lines::One)?;
    Ok(alt.to_owned())
}

/// One derived size in one format.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rendition {
    /// `thumbnail`, `card` or `large`.
    pub size: String,
    /// `webp` or `jpeg`.
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// Its key in the file store.
    pub key: String,
}

/// An image as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRecord {
    pub id: ImageId,
    pub product_id: ProductId,
    /// 0 first; a product's images are numbered 0…n-1 without gaps.
    pub position: u32,
    pub alt: String,
    pub status: ImageStatus,
    /// Hex SHA-256 of the original's bytes.
    pub content_hash: String,
    /// The original's, orientation applied.
    pub width: u32,
    pub height: u32,
    pub content_type: String,
    /// Empty until ready.
    pub renditions: Vec<Rendition>,
    /// The `images.derive` job making its sizes.
    pub job_id: String,
    pub created_at_ms: i64,
}

/// The file-store folder of all of an image's files (originals and sizes of every content).
pub fn image_prefix(store_id: &str, image: &ImageId) -> String {
    format!("images/{store_id}/{image}/")
}

/// The key of one file of an image's content: `original.<ext>` or `<size>.<ext>`.
pub fn image_key(store_id: &str, image: &ImageId, hash: &str, file: &str) -> String {
    format!("images/{store_id}/{image}/{hash}/{file}")
}

/// Where an image asked for at `wanted` goes among `count` others: absent or past the end is
/// last.
pub fn insertion_position(wanted: Option<u32>, count: usize) -> u32 {
    let last = u32::try_from(count).unwrap_or(u32::MAX);
    wanted.map_or(last, |p| p.min(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_other_than_jpeg_png_and_webp_are_refused() {
        assert_eq!(
            ImageType::parse_declared("f", "image/PNG").unwrap(),
            ImageType::Png
        );
        assert!(ImageType::parse_declared("f", "image/gif").is_err());
        assert!(ImageType::parse_declared("f", "").is_err());
    }

    #[test]
    fn alt_text_is_limited_in_length_and_to_one_line() {
        assert_eq!(parse_alt("alt", "  A blue shirt ").unwrap(), "A blue shirt");
        assert!(parse_alt("alt", &"x".repeat(501)).is_err());
        assert!(parse_alt("alt", &"é".repeat(500)).is_ok());
        assert!(parse_alt("alt", "two\nlines").is_err());
    }

    #[test]
    fn an_image_goes_last_unless_placed_within_the_others() {
        assert_eq!(insertion_position(None, 3), 3);
        assert_eq!(insertion_position(Some(9), 3), 3);
        assert_eq!(insertion_position(Some(1), 3), 1);
    }
}
