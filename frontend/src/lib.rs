//! The browser entry point. Pages are server HTML; only their islands (the chat composer and live
//! reply, "load more" lists, busy buttons) are hydrated, so the wasm carries just those.
#![recursion_limit = "512"]

// The islands' hydration functions are exported by the app crate; nothing here calls into it, so
// name it, or the linker leaves it (and every island) out of the wasm.
use app as _;
use wasm_bindgen::prelude::wasm_bindgen;

/// Called by the script Leptos puts in every page once the wasm has loaded; the script then
/// hydrates each `<leptos-island>` on the page.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
