//! The site's images by name, with content-hashed URLs for every variant (generated at build time
//! from `public/images/`, see `app/build.rs`), and the `<picture>` element that offers them.

pub mod spec;

use leptos::prelude::*;

/// One source image and what the build produced from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageSet {
    pub name: &'static str,
    pub file: &'static str,
    /// Hash of the source bytes and encoder settings, part of every variant's name.
    pub hash: &'static str,
    /// Source size in pixels (0 for SVG).
    pub width: u32,
    pub height: u32,
    /// The CSS widths pages show it at (each also produced at 2x).
    pub widths: &'static [u32],
}

impl ImageSet {
    /// URL of the variant `width` pixels wide in format `ext` (`avif` or `webp`).
    pub fn url(&self, width: u32, ext: &str) -> String {
        spec::variant_path(self.name, self.hash, Some(width), ext)
    }

    /// URL of an SVG source, copied under its hashed name.
    pub fn svg_url(&self) -> String {
        spec::variant_path(self.name, self.hash, None, "svg")
    }

    /// The height that keeps the source's aspect ratio at `width`.
    pub fn height_at(&self, width: u32) -> u32 {
        if self.width == 0 {
            return width;
        }
        ((u64::from(width) * u64::from(self.height) + u64::from(self.width) / 2) / u64::from(self.width)) as u32
    }
}

include!(concat!(env!("OUT_DIR"), "/images.rs"));

/// An image at one of its listed CSS widths, as AVIF then WebP at 1x and 2x, with its width and
/// height set so the layout does not shift while it loads.
#[component]
pub fn Picture(
    image: ImageSet,
    /// One of `image.widths`.
    width: u32,
    /// Alternative text; empty for decoration.
    alt: &'static str,
    #[prop(optional)] class: &'static str,
    /// Load at once (above the fold) instead of lazily.
    #[prop(optional)]
    eager: bool,
) -> impl IntoView {
    debug_assert!(image.widths.contains(&width), "{} is not produced at width {width}", image.name);
    let srcset = move |ext: &str| format!("{} 1x, {} 2x", image.url(width, ext), image.url(width * 2, ext));
    view! {
        <picture class=class>
            <source type="image/avif" srcset=srcset("avif")/>
            <img
                src=image.url(width, "webp")
                srcset=srcset("webp")
                width=width
                height=image.height_at(width)
                alt=alt
                loading=if eager { "eager" } else { "lazy" }
                decoding="async"
            />
        </picture>
    }
}

/// The pixel sizes every avatar is stored at (square).
pub const AVATAR_SIZES: [u32; 2] = [64, 128];

/// URL of one stored avatar file: `key` is the content hash the upload was stored under.
pub fn avatar_url(key: &str, size: u32, ext: &str) -> String {
    format!("/media/avatars/{key}-{size}.{ext}")
}

/// A user's avatar at `size` CSS pixels (at most 64), AVIF or WebP; their initial when they have none.
#[component]
pub fn Avatar(key: Option<String>, name: String, size: u32) -> impl IntoView {
    let initial = name.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default();
    match key {
        Some(key) => {
            let srcset = move |ext: &str| {
                if size <= 32 {
                    avatar_url(&key, 64, ext)
                } else {
                    format!("{} 1x, {} 2x", avatar_url(&key, 64, ext), avatar_url(&key, 128, ext))
                }
            };
            view! {
                <picture class="avatar">
                    <source type="image/avif" srcset=srcset("avif")/>
                    <img src=srcset("webp").split(' ').next().unwrap_or_default().to_string() srcset=srcset("webp")
                        width=size height=size alt=format!("{name}'s avatar") decoding="async"/>
                </picture>
            }
            .into_any()
        }
        None => view! {
            // Sized by class, not a style attribute: the CSP allows no inline styles.
            <span class=format!("avatar initial size-{size}") aria-hidden="true">{initial}</span>
        }
        .into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_has_a_hash_and_its_size() {
        for set in ALL {
            assert_eq!(set.hash.len(), 12, "{}", set.name);
            if set.file.ends_with(".png") {
                assert!(set.width > 0 && set.height > 0, "{}", set.name);
            }
        }
        assert_eq!(LOGO.height_at(28), 28);
        assert_eq!(WELCOME.height_at(360), 225);
        assert_eq!(LOGO.url(56, "avif"), format!("/img/logo-56.{}.avif", LOGO.hash));
        assert_eq!(spec::pixel_widths(&[28, 56, 72]), vec![28, 56, 72, 112, 144]);
    }
}
