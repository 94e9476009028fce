//! Images: re-encoding to AVIF and WebP (shared by the site build and uploads) and users' avatars.

pub mod avatar;
pub mod encode;
