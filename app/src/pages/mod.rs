//! The pages, one module each.

mod activity;
mod admin;
mod chat_panel;
mod dashboard;
mod settings;
mod sign_in;

pub use activity::ActivityPage;
pub use admin::{AdminAudit, AdminDeleteUser, AdminJobs, AdminPreferences, AdminUsers};
pub use dashboard::Dashboard;
pub use settings::Settings;
pub use sign_in::{SignIn, SignUp};

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The message a plain form post (JavaScript off) was sent back with, from `?error=`.
pub fn flash_error() -> impl Fn() -> Option<String> + Copy {
    let query = use_query_map();
    move || query.read().get("error").filter(|e| !e.is_empty())
}

/// Shown for any path without a page.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="centered">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to your conversations"</a></p>
        </main>
    }
}
