//! Everyday keyboard use, in one place for every page of the dashboard: Enter sends in a composer
//! (Shift+Enter makes a new line; with `chat.sendOnEnter` off, Ctrl/Cmd+Enter sends and Enter makes
//! a new line), Escape stops the reply being written, Ctrl/Cmd+K goes to search, and `?` lists
//! these on a dialog.
//!
//! One listener on the window reads what the page marks: a composer's `data-enter-sends`, the Stop
//! button's `data-shortcut="stop"`, the search box's id. Sending goes through the form's own submit
//! (`requestSubmit`), so the chat panel's handler (or, on the start page, the plain post) runs
//! exactly as for a click.

use leptos::prelude::*;

/// The shortcuts button (in the sidebar's footer), its dialog, and the listener.
#[island]
pub fn Shortcuts() -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        std::mem::forget(window_event_listener(leptos::ev::keydown, move |ev| keys::on_key(&ev, dialog)));
    });
    let open = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(d) = dialog.get() {
            let _ = d.show_modal();
        }
    };
    view! {
        <button type="button" class="link" on:click=open aria-keyshortcuts="Shift+?" aria-haspopup="dialog">"Shortcuts"</button>
        <dialog node_ref=dialog class="shortcuts" aria-labelledby="shortcuts-title">
            <h2 id="shortcuts-title">"Keyboard shortcuts"</h2>
            <dl>
                <dt><kbd>"Enter"</kbd></dt>
                <dd>"Send the message (unless you turned “Enter sends” off in Settings)"</dd>
                <dt><kbd>"Shift"</kbd>" + "<kbd>"Enter"</kbd></dt>
                <dd>"New line in the message"</dd>
                <dt><kbd>"Ctrl"</kbd>" / "<kbd>"⌘"</kbd>" + "<kbd>"Enter"</kbd></dt>
                <dd>"Send the message, always"</dd>
                <dt><kbd>"Esc"</kbd></dt>
                <dd>"Stop the reply being written"</dd>
                <dt><kbd>"Ctrl"</kbd>" / "<kbd>"⌘"</kbd>" + "<kbd>"K"</kbd></dt>
                <dd>"Search your conversations"</dd>
                <dt><kbd>"?"</kbd></dt>
                <dd>"This list"</dd>
            </dl>
            <form method="dialog"><button type="submit" autofocus>"Close"</button></form>
        </dialog>
    }
}

#[cfg(feature = "hydrate")]
mod keys {
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlTextAreaElement, KeyboardEvent};

    /// What one key press does, if anything.
    pub(super) fn on_key(ev: &KeyboardEvent, dialog: NodeRef<leptos::html::Dialog>) {
        if ev.is_composing() || ev.default_prevented() {
            return;
        }
        let dialog_open = dialog.get_untracked().is_some_and(|d| d.open());
        let target = ev.target().and_then(|t| t.dyn_into::<Element>().ok());
        let editing = target.as_ref().is_some_and(|t| {
            matches!(t.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                || t.dyn_ref::<HtmlElement>().is_some_and(HtmlElement::is_content_editable)
        });
        let command = ev.ctrl_key() || ev.meta_key();
        let key = ev.key();
        let document = document();
        if command && key.eq_ignore_ascii_case("k") {
            if let Some(input) =
                document.get_element_by_id("search-input").and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
            {
                ev.prevent_default();
                if let Some(d) = dialog.get_untracked() {
                    d.close();
                }
                let _ = input.focus();
                input.select();
            }
        } else if key == "Enter" {
            let Some(area) = target.and_then(|t| t.dyn_into::<HtmlTextAreaElement>().ok()) else { return };
            let Some(enter_sends) = area.get_attribute("data-enter-sends") else { return };
            let send = if enter_sends == "true" { !ev.shift_key() && !ev.alt_key() } else { command };
            if let (true, Some(form)) = (send, area.form()) {
                ev.prevent_default();
                let _ = form.request_submit();
            }
        } else if key == "Escape" && !dialog_open {
            if let Some(stop) = document
                .query_selector("[data-shortcut=\"stop\"]")
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<HtmlElement>().ok())
            {
                ev.prevent_default();
                stop.click();
            }
        } else if key == "?" && !editing && !command && !dialog_open {
            if let Some(d) = dialog.get_untracked() {
                ev.prevent_default();
                let _ = d.show_modal();
            }
        }
    }
}
