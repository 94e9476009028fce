//! Avatar uploads over HTTP, on SQLite and PostgreSQL: re-encoded to AVIF and WebP, named by content
//! hash, served immutable, never the original bytes; oversized files, non-images and decompression
//! bombs refused with a clear message and nothing changed.

mod support;

use mosaic_test_support::Engine;

use std::io::Write as _;

use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use support::TestServer;

mosaic_test_support::both_engines!(
    an_upload_is_reencoded_named_by_hash_and_served_immutable,
    refused_uploads_say_why_and_change_nothing,
    a_plain_form_post_comes_back_to_settings,
    removing_deletes_files_nobody_uses,
    a_signed_out_upload_is_refused_before_its_body_is_read,
);

/// A 300 × 200 photo-like PNG with a text chunk, so the original is easy to recognise.
fn sample_png() -> Vec<u8> {
    let img = image::RgbaImage::from_fn(300, 200, |x, y| {
        image::Rgba([(x % 256) as u8, (y * 3 % 256) as u8, ((x ^ y) % 256) as u8, 255])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

/// A PNG whose header declares `side` × `side` pixels (1-bit grey) with all its rows present and
/// zero: a few dozen kilobytes that would decode to gigabytes of RGBA.
fn bomb_png(side: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc_input);
        out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let row = vec![0u8; 1 + side.div_ceil(8) as usize];
    for _ in 0..side {
        z.write_all(&row).expect("deflate");
    }
    let idat = z.finish().expect("deflate");
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

async fn upload(s: &TestServer, c: &Client, bytes: Vec<u8>, accept: &str) -> reqwest::Response {
    let form = Form::new().part("avatar", Part::bytes(bytes).file_name("me.png").mime_str("image/png").expect("mime"));
    c.post(s.url("/api/me/avatar")).header("accept", accept).multipart(form).send().await.expect("upload")
}

async fn image_key(s: &TestServer, email: &str) -> Option<String> {
    let (user, _) = s.store.find_credentials(email).await.expect("find").expect("user");
    user.image
}

fn stored_files(s: &TestServer) -> Vec<std::path::PathBuf> {
    let dir = s.data_dir.join("media/avatars");
    let mut files: Vec<_> =
        std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    files.sort();
    files
}

async fn an_upload_is_reencoded_named_by_hash_and_served_immutable(engine: Engine) {
    let s = support::start(engine, &[]).await;
    let c = s.user("pic@example.com").await;
    let original = sample_png();
    let res = upload(&s, &c, original.clone(), "application/json").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.expect("json");
    let key = body["avatar"].as_str().expect("key").to_string();
    assert_eq!(key.len(), 64, "a SHA-256 content hash names the files");
    assert_eq!(image_key(&s, "pic@example.com").await.as_deref(), Some(key.as_str()));
    let urls: Vec<String> =
        body["urls"].as_array().expect("urls").iter().map(|u| u.as_str().expect("url").to_string()).collect();
    assert_eq!(urls.len(), 4, "64 and 128 pixels, AVIF and WebP");

    for url in &urls {
        let res = c.get(s.url(url)).send().await.expect("get");
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        let cache = res.headers()["cache-control"].to_str().expect("ascii").to_string();
        assert!(cache.contains("immutable") && cache.contains("max-age=31536000"), "{url}: {cache}");
        let mime = res.headers()["content-type"].to_str().expect("ascii").to_string();
        let bytes = res.bytes().await.expect("bytes");
        assert_ne!(&bytes[..], &original[..], "the original is never served");
        let size: u32 = if url.contains("-128.") { 128 } else { 64 };
        if url.ends_with(".avif") {
            assert_eq!(mime, "image/avif");
            assert_eq!(&bytes[4..12], b"ftypavif");
        } else {
            assert_eq!(mime, "image/webp");
            let decoded = image::load_from_memory(&bytes).expect("webp decodes");
            assert_eq!((decoded.width(), decoded.height()), (size, size), "{url} is cropped square");
        }
    }
    // On disk: exactly the re-encoded files, named by the hash; not the upload.
    let files = stored_files(&s);
    assert_eq!(files.len(), 4, "{files:?}");
    for f in &files {
        let name = f.file_name().expect("name").to_string_lossy().to_string();
        assert!(name.starts_with(&key), "{name}");
        assert_ne!(std::fs::read(f).expect("read"), original);
    }
    // The same picture again is the same name: nothing new is written.
    let again: Value = upload(&s, &c, original.clone(), "application/json").await.json().await.expect("json");
    assert_eq!(again["avatar"].as_str(), Some(key.as_str()));
    assert_eq!(stored_files(&s).len(), 4);

    // Settings and the dashboard show it as <picture> with AVIF first and a fixed size.
    let html = c.get(s.url("/settings")).send().await.expect("settings").text().await.expect("html");
    assert!(
        html.contains(&format!(
            r#"<source type="image/avif" srcset="/media/avatars/{key}-64.avif 1x, /media/avatars/{key}-128.avif 2x""#
        )),
        "{html}"
    );
    assert!(html.contains(r#"width="64" height="64""#));
    let html = c.get(s.url("/")).send().await.expect("dashboard").text().await.expect("html");
    assert!(html.contains(&format!("/media/avatars/{key}-64.webp")));

    // Signed out, avatars are not served; unknown names are 404 without touching the disk.
    let res = support::client().get(s.url(&urls[0])).send().await.expect("get");
    assert!(res.status().is_redirection(), "{}", res.status());
    for bad in
        ["/media/avatars/..%2F..%2Fmosaic.db", "/media/avatars/x-64.avif", &format!("/media/avatars/{key}-64.png")]
    {
        assert_eq!(c.get(s.url(bad)).send().await.expect("get").status(), StatusCode::NOT_FOUND, "{bad}");
    }
}

async fn refused_uploads_say_why_and_change_nothing(engine: Engine) {
    let s = support::start(engine, &[]).await;
    let c = s.user("careful@example.com").await;
    let ok: Value = upload(&s, &c, sample_png(), "application/json").await.json().await.expect("json");
    let key = ok["avatar"].as_str().expect("key").to_string();
    let before = stored_files(&s);

    let too_big = vec![7u8; 6 * 1024 * 1024];
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        ("decompression bomb", bomb_png(20_000), StatusCode::BAD_REQUEST, "20000 × 20000 pixels"),
        ("over 5 MB", too_big, StatusCode::PAYLOAD_TOO_LARGE, "at most 5 MB"),
        (
            "not an image",
            b"<html><script>alert(1)</script></html>".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not a PNG, JPEG, WebP or GIF",
        ),
        ("truncated", sample_png()[..200].to_vec(), StatusCode::BAD_REQUEST, "could not be read"),
    ];
    for (what, bytes, status, message) in cases {
        let res = upload(&s, &c, bytes, "application/json").await;
        assert_eq!(res.status(), status, "{what}");
        let body: Value = res.json().await.expect("json");
        let error = body["error"].as_str().expect("error");
        assert!(error.contains(message), "{what}: {error}");
        assert_eq!(
            image_key(&s, "careful@example.com").await.as_deref(),
            Some(key.as_str()),
            "{what} changed the avatar"
        );
        assert_eq!(stored_files(&s), before, "{what} wrote files");
    }
    // No file at all.
    let res = c.post(s.url("/api/me/avatar")).multipart(Form::new().text("other", "x")).send().await.expect("post");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.expect("text").contains("Choose an image file"));
    // Signed out.
    let res = support::client()
        .post(s.url("/api/me/avatar"))
        .multipart(Form::new().part("avatar", Part::bytes(sample_png())))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn a_plain_form_post_comes_back_to_settings(engine: Engine) {
    let s = support::start(engine, &[]).await;
    let c = s.user("form@example.com").await;
    let html = "text/html,application/xhtml+xml";
    let res = upload(&s, &c, b"just some text, not a picture".to_vec(), html).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/settings");
    assert!(support::flash(&res).is_some_and(|m| m.contains("not a PNG")), "the message travels in a cookie");
    let page = c.get(s.url("/settings")).send().await.expect("get").text().await.expect("html");
    assert!(page.contains("not a PNG, JPEG, WebP or GIF image"), "the error is shown on the form: {page}");

    let res = upload(&s, &c, sample_png(), html).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/settings");
    assert!(image_key(&s, "form@example.com").await.is_some());
}

async fn removing_deletes_files_nobody_uses(engine: Engine) {
    let s = support::start(engine, &[]).await;
    let a = s.user("a@example.com").await;
    let b = s.user("b@example.com").await;
    upload(&s, &a, sample_png(), "application/json").await;
    upload(&s, &b, sample_png(), "application/json").await;
    assert_eq!(stored_files(&s).len(), 4, "one set of files for the same picture");

    let res = a.delete(s.url("/api/me/avatar")).send().await.expect("delete");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(image_key(&s, "a@example.com").await, None);
    assert_eq!(stored_files(&s).len(), 4, "b still uses them");

    let res = b.post(s.url("/api/me/avatar/remove")).header("accept", "text/html").send().await.expect("remove");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(image_key(&s, "b@example.com").await, None);
    assert!(stored_files(&s).is_empty(), "{:?}", stored_files(&s));
}

/// A signed-out client announcing a huge upload is answered 401 at once, from the headers alone:
/// the server does not read (or wait for) megabytes from someone without an account. Before, an
/// upload declared over the limit was read up to 64 MB first, whoever sent it.
async fn a_signed_out_upload_is_refused_before_its_body_is_read(engine: Engine) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = support::start(engine, &[]).await;
    let host = s.base.trim_start_matches("http://").to_string();
    for declared in [50 * 1024 * 1024, 4 * 1024 * 1024] {
        let mut stream = tokio::net::TcpStream::connect(&host).await.expect("connect");
        let head = format!(
            "POST /api/me/avatar HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\
             Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {declared}\r\n\r\n--x\r\n"
        );
        stream.write_all(head.as_bytes()).await.expect("headers");
        // Only the first bytes of the body are ever sent.
        let mut answer = vec![0u8; 4096];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("no answer without the body ({declared} bytes declared): it waited for it"))
            .expect("read");
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(answer.starts_with("HTTP/1.1 401"), "{declared}: {answer}");
    }
}
