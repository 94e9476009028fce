//! Markdown to HTML, safely: for model replies and user messages alike.
//!
//! Text is escaped by the renderer; raw HTML in the source is shown as text, never passed through;
//! link and image targets other than http(s), mailto and relative paths become inert; images are
//! shown as links (no requests to third parties from a page view). So neither a model nor a user can
//! inject script, event handlers or styles.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag, TagEnd};

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    match lower.split_once(':') {
        // A scheme: only these. (A colon after a '/', '?' or '#' is not a scheme.)
        Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => matches!(scheme, "http" | "https" | "mailto"),
        _ => true,
    }
}

/// Renders `source` as HTML that is safe to insert into the page.
pub fn render(source: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut in_image = false;
    let events = Parser::new_ext(source, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            let dest_url = if safe_url(&dest_url) { dest_url } else { CowStr::Borrowed("#") };
            Event::Start(Tag::Link { link_type, dest_url, title, id })
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            in_image = true;
            let dest_url = if safe_url(&dest_url) { dest_url } else { CowStr::Borrowed("#") };
            Event::Start(Tag::Link { link_type, dest_url, title, id })
        }
        Event::End(TagEnd::Image) if in_image => {
            in_image = false;
            Event::End(TagEnd::Link)
        }
        other => other,
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// The HTML of settled messages, kept between page views: a finished message never changes, and
/// every dashboard view renders the same fifty of them again otherwise. Two generations bound the
/// memory: when the newer one holds [`CACHE_BYTES`] of HTML it becomes the older one, and the older
/// one is dropped.
mod cache {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex};

    /// HTML held per generation.
    pub const CACHE_BYTES: usize = 8 << 20;

    /// A message id and the length of the text its HTML was made from (a changed text is a miss).
    pub type Key = (uuid::Uuid, usize);

    #[derive(Default)]
    struct Generations {
        current: HashMap<Key, Arc<str>>,
        previous: HashMap<Key, Arc<str>>,
        bytes: usize,
    }

    static CACHE: LazyLock<Mutex<Generations>> = LazyLock::new(Mutex::default);

    fn lock() -> std::sync::MutexGuard<'static, Generations> {
        CACHE.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(key: &Key) -> Option<Arc<str>> {
        let mut g = lock();
        if let Some(html) = g.current.get(key) {
            return Some(html.clone());
        }
        let html = g.previous.remove(key)?;
        insert_locked(&mut g, *key, html.clone());
        Some(html)
    }

    pub fn insert(key: Key, html: Arc<str>) {
        insert_locked(&mut lock(), key, html);
    }

    fn insert_locked(g: &mut Generations, key: Key, html: Arc<str>) {
        if g.bytes + html.len() > CACHE_BYTES {
            g.previous = std::mem::take(&mut g.current);
            g.bytes = 0;
        }
        g.bytes += html.len();
        g.current.insert(key, html);
    }

    #[cfg(test)]
    pub fn len() -> usize {
        let g = lock();
        g.current.len() + g.previous.len()
    }
}

/// [`render`] for a stored message: a settled one (`settled`: complete or ended with an error) is
/// rendered once and then served from memory; one still being written is always rendered afresh.
pub fn render_message(id: uuid::Uuid, source: &str, settled: bool) -> String {
    if !settled {
        return render(source);
    }
    let key = (id, source.len());
    if let Some(html) = cache::get(&key) {
        return html.to_string();
    }
    let html = render(source);
    cache::insert(key, std::sync::Arc::from(html.as_str()));
    html
}

#[cfg(test)]
mod tests {
    use super::render;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any message renders, and no markup a user typed becomes an element that runs or loads
        /// something.
        #[test]
        fn any_text_renders_without_live_markup(text in "(.|\\n|<script>|<img src=x onerror=y>|<iframe>|\\[a\\]\\(javascript:b\\)|```|\\*\\*){0,60}") {
            let html = render(&text);
            proptest::prop_assert!(!html.contains("<script") && !html.contains("<iframe") && !html.contains("<img"), "{}", html);
            proptest::prop_assert!(!html.contains("href=\"javascript:"), "{}", html);
        }
    }

    #[test]
    fn settled_messages_are_rendered_once_and_changed_text_is_not_served_stale() {
        let id = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef);
        let first = super::render_message(id, "**one**", true);
        assert_eq!(first, "<p><strong>one</strong></p>\n");
        let before = super::cache::len();
        assert!(super::cache::get(&(id, "**one**".len())).is_some(), "kept after the first render");
        assert_eq!(super::render_message(id, "**one**", true), first, "served from the cache");
        assert_eq!(super::cache::len(), before, "no second entry");
        // A reply still being written is never cached; a different text is a different entry.
        assert_eq!(super::render_message(id, "*growing", false), "<p>*growing</p>\n");
        assert_eq!(super::render_message(id, "**one, two**", true), "<p><strong>one, two</strong></p>\n");
    }

    #[test]
    fn renders_markdown_and_code_blocks() {
        let html = render("**bold** and `code`\n\n```rust\nfn main() {}\n```\n");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(html.contains("<code>code</code>"));
        assert!(html.contains("<pre><code class=\"language-rust\">fn main() {}\n</code></pre>"), "{html}");
    }

    #[test]
    fn raw_html_and_scripts_stay_text() {
        for attack in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "hello <b onclick=\"x()\">there</b>",
            "<iframe src=\"https://evil.example\"></iframe>",
        ] {
            let html = render(attack);
            assert!(
                !html.contains("<script")
                    && !html.contains("<img")
                    && !html.contains("<b ")
                    && !html.contains("<iframe"),
                "{html}"
            );
        }
    }

    #[test]
    fn dangerous_links_become_inert() {
        for link in
            ["[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "[x](data:text/html,<script>)", "![x](vbscript:y)"]
        {
            let html = render(link);
            assert!(html.contains("href=\"#\""), "{link} -> {html}");
        }
        assert!(render("[ok](https://example.com/a?b=c:d)").contains("href=\"https://example.com/a?b=c:d\""));
        assert!(render("[rel](/c/1)").contains("href=\"/c/1\""));
        assert!(!render("![pic](https://example.com/p.png)").contains("<img"), "images are links");
    }
}
