//! The built site's static files: `server assets` writes image variants under content-hashed names
//! and brotli/gzip copies; the server sends the copy the browser accepts with immutable caching,
//! while pages are compressed on the fly and never cached as immutable.

mod support;

use std::path::{Path, PathBuf};

use app::images::{spec, ALL};
use reqwest::StatusCode;

const WASM: &str = "pkg/mosaic.Q2hlY2tzdW1PZlRoZVdhc20.wasm";

/// A site root as cargo-leptos leaves it (a hashed wasm, an unhashed CSS), then `server assets`.
fn built_site() -> PathBuf {
    let root = std::env::temp_dir().join(format!("mosaic-site-test-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(root.join("pkg")).expect("mkdir");
    std::fs::write(root.join(WASM), b"\0asm pretend module ".repeat(4000)).expect("write");
    std::fs::write(root.join("pkg/dev.css"), "body { margin: 0 }\n".repeat(100)).expect("write");
    let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/images");
    let mut lines = Vec::new();
    assert!(!server::site::images_present(&root), "a fresh site has no variants (the server would make them)");
    server::site::prepare(&root, &images, |l| lines.push(l.to_string())).expect("assets");
    assert!(server::site::images_present(&root));
    assert!(lines.iter().any(|l| l.starts_with("images:")), "progress is reported: {lines:?}");
    root
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_precompressed_hashed_and_immutable_and_pages_are_not() {
    let root = built_site();
    let site = root.display().to_string();
    let s = support::start(mosaic_test_support::Engine::Sqlite, &[("LEPTOS_SITE_ROOT", site.as_str())]).await;
    let c = s.user("assets@example.com").await;

    // The wasm: the brotli copy for br, the gzip copy for gzip, the file otherwise; cached forever.
    for (accept, encoding, file) in [
        ("br, gzip", Some("br"), format!("{WASM}.br")),
        ("gzip", Some("gzip"), format!("{WASM}.gz")),
        ("identity", None, WASM.to_string()),
    ] {
        let res = c.get(s.url(&format!("/{WASM}"))).header("accept-encoding", accept).send().await.expect("get");
        assert_eq!(res.status(), StatusCode::OK, "{accept}");
        let h = res.headers().clone();
        assert_eq!(h.get("content-encoding").map(|v| v.to_str().unwrap_or("")), encoding, "{accept}");
        assert_eq!(h["content-type"], "application/wasm");
        assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
        let body = res.bytes().await.expect("body");
        assert_eq!(&body[..], &std::fs::read(root.join(&file)).expect("read")[..], "{accept} gets {file}");
    }
    assert!(std::fs::metadata(root.join(format!("{WASM}.br"))).expect("br").len() < 2_000, "brotli shrinks it");
    // A name without a hash (a development build) is revalidated, never immutable.
    let res = c.get(s.url("/pkg/dev.css")).header("accept-encoding", "br").send().await.expect("get");
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert_eq!(res.headers()["content-encoding"], "br");

    // Every image variant the pages can ask for exists, in both formats, at its size.
    let mut checked = 0;
    for set in ALL {
        if set.widths.is_empty() {
            let res = c.get(s.url(&set.svg_url())).send().await.expect("svg");
            assert_eq!(res.status(), StatusCode::OK, "{}", set.svg_url());
            assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
            continue;
        }
        for width in spec::pixel_widths(set.widths) {
            for (ext, mime) in spec::FORMATS {
                let url = set.url(width, ext);
                let res = c.get(s.url(&url)).header("accept-encoding", "br, gzip").send().await.expect("get");
                assert_eq!(res.status(), StatusCode::OK, "{url}");
                assert_eq!(res.headers()["content-type"], *mime, "{url}");
                assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable", "{url}");
                assert!(res.headers().get("content-encoding").is_none(), "{url}: images are not recompressed");
                let bytes = res.bytes().await.expect("bytes");
                if *ext == "webp" {
                    let img = image::load_from_memory(&bytes).expect("decodes");
                    assert_eq!((img.width(), img.height()), (width, set.height_at(width)), "{url}");
                } else {
                    assert_eq!(&bytes[4..12], b"ftypavif", "{url}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "{checked} variants");

    // A second run keeps what is current (the names say so) and writes nothing.
    let summary = server::site::prepare(&root, &Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/images"), |_| {})
        .expect("again");
    assert_eq!(summary.images_written, 0);

    // Pages: compressed on the fly, never stored when signed in (personal data).
    let res = c.get(s.url("/")).header("accept-encoding", "br").send().await.expect("page");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["content-encoding"], "br");
    let res = c.get(s.url("/")).send().await.expect("page");
    let html = res.text().await.expect("html");
    let logo = app::images::LOGO;
    assert!(
        html.contains(&format!(
            r#"<source type="image/avif" srcset="{} 1x, {} 2x""#,
            logo.url(28, "avif"),
            logo.url(56, "avif")
        )),
        "the logo is a <picture> offering AVIF: {html}"
    );
    assert!(html.contains(&format!(r#"src="{}""#, logo.url(28, "webp"))) && html.contains(r#"width="28" height="28""#));
    assert!(html.contains(&app::images::FAVICON.svg_url()));
    std::fs::remove_dir_all(&root).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_source_image_is_caught_before_it_is_served_under_an_old_name() {
    let root = std::env::temp_dir().join(format!("mosaic-stale-{}", uuid::Uuid::now_v7().simple()));
    let sources = root.join("images");
    std::fs::create_dir_all(&sources).expect("mkdir");
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/images");
    for set in ALL {
        std::fs::copy(real.join(set.file), sources.join(set.file)).expect("copy");
    }
    let mut logo = std::fs::read(sources.join("logo.png")).expect("read");
    logo.extend_from_slice(b"changed");
    std::fs::write(sources.join("logo.png"), logo).expect("write");
    let err = server::site::prepare(&root.join("site"), &sources, |_| {}).expect_err("stale");
    assert!(err.to_string().contains("logo.png changed since the server was built"), "{err}");
    std::fs::remove_dir_all(&root).ok();
}
