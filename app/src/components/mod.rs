//! Pieces the pages share. Shared pieces live here, not in a page, so pages never import each
//! other.

mod messages;
mod models;

use leptos::prelude::*;
pub use messages::MessageItem;
pub use models::{ModelOptions, NoModelNotice};

/// What a page shows instead of itself when its data could not be loaded (not found, signed out,
/// the database away): the reason, and the way back.
#[component]
pub fn LoadFailed(error: ServerFnError) -> impl IntoView {
    view! {
        <main class="centered">
            <h1>"Something is not right"</h1>
            <p class="error" role="alert">{crate::api::error_text(&error)}</p>
            <p><a href="/">"Back to your conversations"</a></p>
        </main>
    }
}

/// A red message box, shown only when there is a message; announced to screen readers.
#[component]
pub fn ErrorBanner(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <p class="error" role="alert">{move || message.get().unwrap_or_default()}</p>
        </Show>
    }
}

/// A form's submit button that says it is working once the form is sent (sign-in hashing and
/// avatar encoding take a moment), and ignores further clicks meanwhile. Without JavaScript it is a
/// plain submit button.
#[island]
pub fn BusyButton(label: String, busy: String) -> impl IntoView {
    let sent = RwSignal::new(false);
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if sent.get_untracked() {
            ev.prevent_default();
        }
    };
    // Submitting (after the browser's own validation passed) is what counts, not the click.
    let node = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(form) = node.get().and_then(|b| b.form()) {
            use wasm_bindgen::JsCast;
            let cb = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || sent.set(true));
            let _ = form.add_event_listener_with_callback("submit", cb.as_ref().unchecked_ref());
            cb.forget();
        }
    });
    view! {
        <button type="submit" node_ref=node on:click=on_click aria-busy=move || sent.get().to_string()>
            {move || if sent.get() { busy.clone() } else { label.clone() }}
        </button>
    }
}

/// A JSON detail (a job run's, an audit entry's) as `key: value` pairs, nested keys joined with
/// dots: easier to read than JSON.
pub fn plain_detail(detail: &serde_json::Value) -> String {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::String(s) => out.push(format!("{prefix}: {s}")),
            other => out.push(format!("{prefix}: {other}")),
        }
    }
    let mut out = Vec::new();
    walk("", detail, &mut out);
    out.join(" · ")
}

/// A timestamp (microseconds since the epoch) as a short UTC date and time.
pub fn format_time(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn details_read_as_key_value_pairs() {
        let detail = serde_json::json!({ "cleaned": { "logsDemoted": 3 }, "reason": "spam", "ok": true });
        assert_eq!(super::plain_detail(&detail), "cleaned.logsDemoted: 3 · ok: true · reason: spam");
        assert_eq!(super::plain_detail(&serde_json::json!({})), "");
    }

    #[test]
    fn formats_known_dates() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::format_time(1_764_288_000_000_000), "2025-11-28 00:00 UTC");
    }
}
