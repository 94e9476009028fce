//! Re-encoding images to the formats we serve: AVIF first, WebP for browsers without it. Shared by
//! the build step that turns `public/images/` into variants and by avatar uploads.

use image::codecs::avif::AvifEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ExtendedColorType, ImageEncoder, RgbaImage};

/// AVIF quality (0–100) and rav1e speed (1 slow … 10 fast); part of `app::images::spec::ENCODING`.
const AVIF_QUALITY: u8 = 70;
const AVIF_SPEED: u8 = 6;
/// Lossy WebP quality; lossless is kept instead when it comes out smaller (flat artwork).
const WEBP_QUALITY: f32 = 82.0;

/// An encoder failed (it never should on a decoded image; reported rather than unwrapped).
#[derive(Debug, thiserror::Error)]
#[error("could not encode the image as {format}: {reason}")]
pub struct EncodeError {
    pub format: &'static str,
    pub reason: String,
}

/// Scales `image` to exactly `width` × `height` (Lanczos3), as 8-bit RGBA.
pub fn resize(image: &DynamicImage, width: u32, height: u32) -> RgbaImage {
    if image.width() == width && image.height() == height {
        return image.to_rgba8();
    }
    image.resize_exact(width, height, FilterType::Lanczos3).to_rgba8()
}

/// The square centre of `image`, scaled to `side` × `side`.
pub fn square(image: &DynamicImage, side: u32) -> RgbaImage {
    let edge = image.width().min(image.height());
    let cropped = image.crop_imm((image.width() - edge) / 2, (image.height() - edge) / 2, edge, edge);
    resize(&cropped, side, side)
}

/// AVIF bytes of `pixels`.
pub fn avif(pixels: &RgbaImage) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    AvifEncoder::new_with_speed_quality(&mut out, AVIF_SPEED, AVIF_QUALITY)
        .write_image(pixels.as_raw(), pixels.width(), pixels.height(), ExtendedColorType::Rgba8)
        .map_err(|e| EncodeError { format: "AVIF", reason: e.to_string() })?;
    Ok(out)
}

/// WebP bytes of `pixels`: lossy, or lossless when that is smaller.
pub fn webp(pixels: &RgbaImage) -> Result<Vec<u8>, EncodeError> {
    let encoder = webp::Encoder::from_rgba(pixels.as_raw(), pixels.width(), pixels.height());
    let lossy = encoder
        .encode_simple(false, WEBP_QUALITY)
        .map_err(|e| EncodeError { format: "WebP", reason: format!("{e:?}") })?;
    let lossless =
        encoder.encode_simple(true, 100.0).map_err(|e| EncodeError { format: "WebP", reason: format!("{e:?}") })?;
    Ok(if lossless.len() < lossy.len() { lossless.to_vec() } else { lossy.to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgba8(RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([(x * 255 / w) as u8, (y * 255 / h) as u8, 128, 255])
        }))
    }

    #[test]
    fn encodes_both_formats_with_their_signatures() {
        let pixels = square(&gradient(300, 200), 64);
        assert_eq!((pixels.width(), pixels.height()), (64, 64));
        let a = avif(&pixels).expect("avif");
        assert_eq!(&a[4..12], b"ftypavif", "an AVIF file starts with its ftyp box");
        let w = webp(&pixels).expect("webp");
        assert!(w.starts_with(b"RIFF") && &w[8..12] == b"WEBP");
        let back = image::load_from_memory(&w).expect("the WebP decodes");
        assert_eq!((back.width(), back.height()), (64, 64));
    }

    #[test]
    fn flat_artwork_keeps_lossless_webp_when_smaller() {
        let flat = DynamicImage::ImageRgba8(RgbaImage::from_pixel(64, 64, image::Rgba([79, 70, 229, 255])));
        let pixels = resize(&flat, 64, 64);
        let chosen = webp(&pixels).expect("webp");
        let lossy =
            webp::Encoder::from_rgba(pixels.as_raw(), 64, 64).encode_simple(false, WEBP_QUALITY).expect("lossy");
        assert!(chosen.len() <= lossy.len());
    }
}
