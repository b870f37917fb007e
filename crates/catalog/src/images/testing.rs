//! Test originals made in memory: JPEGs (with an EXIF orientation segment written by hand),
//! PNGs, and a PNG whose header claims more pixels than it has.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};

/// A `width`×`height` picture whose left half is dark and right half light.
fn halves(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            image::Rgb([20, 30, 40])
        } else {
            image::Rgb([230, 220, 210])
        }
    })
}

/// A JPEG of [`halves`], with an EXIF APP1 segment holding `orientation` when given.
pub fn jpeg(width: u32, height: u32, orientation: Option<u16>) -> Vec<u8> {
    let pixels = halves(width, height);
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(pixels.as_raw(), width, height, ExtendedColorType::Rgb8)
        .unwrap();
    match orientation {
        Some(o) => {
            // Right after SOI (FF D8).
            let mut with_exif = out[..2].to_vec();
            with_exif.extend(exif_segment(o));
            with_exif.extend(&out[2..]);
            with_exif
        }
        None => out,
    }
}

/// APP1 `Exif\0\0` with a big-endian TIFF header and one IFD entry: Orientation (0x0112),
/// SHORT, one value.
pub fn exif_segment(orientation: u16) -> Vec<u8> {
    let mut body = b"Exif\0\0".to_vec();
    body.extend(b"MM\0\x2a\0\0\0\x08"); // TIFF header; the first IFD at offset 8
    body.extend(1u16.to_be_bytes()); // one entry
    body.extend(0x0112u16.to_be_bytes()); // Orientation
    body.extend(3u16.to_be_bytes()); // SHORT
    body.extend(1u32.to_be_bytes()); // one value
    body.extend(orientation.to_be_bytes());
    body.extend([0, 0]); // padding of the 4-byte value field
    body.extend(0u32.to_be_bytes()); // no next IFD
    let mut segment = vec![0xff, 0xe1];
    segment.extend(u16::try_from(body.len() + 2).unwrap().to_be_bytes());
    segment.extend(body);
    segment
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let pixels = halves(width, height);
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(pixels.as_raw(), width, height, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// A small PNG whose IHDR is rewritten to claim `width`×`height` (with a correct CRC): what a
/// decompression bomb looks like to a header reader.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(8, 8);
    // Signature (8), chunk length (4), "IHDR" (4), then width and height.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// A 1×1 PNG with an iCCP chunk (a colour profile) that inflates to `inflated` zero bytes,
/// compressed in pieces so the test itself never holds them.
pub fn png_with_profile_bomb(inflated: usize) -> Vec<u8> {
    use std::io::Write;
    let mut deflater = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..inflated / zeros.len() {
        deflater.write_all(&zeros).unwrap();
    }
    let mut profile = b"bomb\0\0".to_vec();
    profile.extend(deflater.finish().unwrap());
    let plain = png(1, 1);
    // After the signature (8) and IHDR (4 + 4 + 13 + 4).
    let mut out = plain[..33].to_vec();
    out.extend(chunk(b"iCCP", &profile));
    out.extend(&plain[33..]);
    out
}

/// A real 8×8 16-bit RGBA PNG whose header then claims `width`×`height` (only the header is read).
pub fn png16_claiming(width: u32, height: u32) -> Vec<u8> {
    let pixels = vec![0u8; 8 * 8 * 8];
    let mut bytes = Vec::new();
    PngEncoder::new(&mut bytes)
        .write_image(&pixels, 8, 8, ExtendedColorType::Rgba16)
        .unwrap();
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// A PNG chunk: length, type, data, CRC of type and data.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend(kind);
    out.extend(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend(data);
    out.extend(crc32(&crc_input).to_be_bytes());
    out
}

/// CRC-32 (IEEE), as PNG chunks carry it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
