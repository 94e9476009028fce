//! The browser entry point: hydrates the server-rendered page so its controls work in place.
#![recursion_limit = "512"]

use wasm_bindgen::prelude::wasm_bindgen;

/// Called by the script Leptos puts in every page once the wasm has loaded.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
