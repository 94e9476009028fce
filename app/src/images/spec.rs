//! Which source images the site has and at which sizes its pages show them. Shared by the build
//! script (which names every variant after its source's content) and by `server assets` (which
//! encodes the variants under those names), so the two cannot disagree.

/// A source image in `public/images/`.
pub struct Source {
    /// The name pages use and the start of every variant's file name.
    pub name: &'static str,
    /// The file in `public/images/`.
    pub file: &'static str,
    /// CSS pixel widths the pages show it at; each is produced at 1x and 2x. Empty for SVG, which
    /// is copied as is under its hashed name.
    pub widths: &'static [u32],
}

/// Every source image; a page can only show what is listed here.
pub const SOURCES: &[Source] = &[
    Source { name: "favicon", file: "favicon.svg", widths: &[] },
    Source { name: "logo", file: "logo.png", widths: &[28, 72] },
    Source { name: "welcome", file: "welcome.png", widths: &[360] },
];

/// The encoders' settings; part of every variant's hash, so changing them renames every file and
/// no browser keeps an old encoding from its immutable cache.
pub const ENCODING: &str = "avif q70 speed 6; webp q82 or lossless if smaller; lanczos3; v1";

/// The image formats produced for raster sources, best first (the order of `<source>` elements).
pub const FORMATS: &[(&str, &str)] = &[("avif", "image/avif"), ("webp", "image/webp")];

/// The site path of one variant: `/img/<name>-<width>.<hash>.<ext>`, or `/img/<name>.<hash>.svg`.
pub fn variant_path(name: &str, hash: &str, width: Option<u32>, ext: &str) -> String {
    match width {
        Some(w) => format!("/img/{name}-{w}.{hash}.{ext}"),
        None => format!("/img/{name}.{hash}.{ext}"),
    }
}

/// Every pixel width produced for `widths` (1x and 2x), ascending, without repeats.
pub fn pixel_widths(widths: &[u32]) -> Vec<u32> {
    let mut all: Vec<u32> = widths.iter().flat_map(|w| [*w, w * 2]).collect();
    all.sort_unstable();
    all.dedup();
    all
}
