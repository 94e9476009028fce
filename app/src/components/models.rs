//! The composer's model picker and the notice shown when no model is configured.

use leptos::prelude::*;

/// The `<option>`s of a model picker: `selected` if it is on offer, else the first model.
#[component]
pub fn ModelOptions(models: Vec<String>, selected: Option<String>) -> impl IntoView {
    let selected = selected.filter(|s| models.contains(s)).or_else(|| models.first().cloned());
    models
        .into_iter()
        .map(|m| {
            let is_selected = Some(&m) == selected.as_ref();
            view! { <option value=m.clone() selected=is_selected>{m.clone()}</option> }
        })
        .collect_view()
}

/// Tells the user plainly that replies need a model, and how to configure one.
#[component]
pub fn NoModelNotice(show: bool) -> impl IntoView {
    show.then(|| {
        view! {
            <p class="notice" role="note">
                "No model is configured, so messages are saved without a reply. Set MOSAIC_PROVIDERS and its "
                "MOSAIC_PROVIDER_<NAME>_URL (see the README), or start Mosaic with MOSAIC_DEMO_PROVIDER=1 to try the built-in stand-in model."
            </p>
        }
    })
}
