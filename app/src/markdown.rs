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
    let events = Parser::new_ext(source, options).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            let dest_url = if safe_url(&dest_url) { dest_url } else { CowStr::Borrowed("#") };
            Some(Event::Start(Tag::Link { link_type, dest_url, title, id }))
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            in_image = true;
            let dest_url = if safe_url(&dest_url) { dest_url } else { CowStr::Borrowed("#") };
            Some(Event::Start(Tag::Link { link_type, dest_url, title, id }))
        }
        Event::End(TagEnd::Image) if in_image => {
            in_image = false;
            Some(Event::End(TagEnd::Link))
        }
        other => Some(other),
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::render;

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
