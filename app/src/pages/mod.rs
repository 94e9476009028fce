//! The pages, one module each.

mod activity;
mod admin;
mod chat_panel;
mod dashboard;
mod imports;
mod search;
mod settings;
mod shortcuts;
mod sign_in;

pub use activity::ActivityPage;
pub use admin::{AdminAudit, AdminDeleteUser, AdminJobs, AdminPreferences, AdminUsers};
pub use dashboard::Dashboard;
pub use imports::ImportPage;
pub use settings::Settings;
pub use sign_in::{SignIn, SignUp};

use leptos::prelude::*;

/// The message a plain form post (JavaScript off) was sent back with, from its one-time cookie
/// (cleared by this response). Never from the URL: a link cannot put words on our pages.
pub fn flash_error() -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static {
    #[cfg(feature = "ssr")]
    let message = crate::state::request_parts().and_then(|p| crate::auth::flash(&p.headers));
    #[cfg(feature = "ssr")]
    if message.is_some() {
        if let (Some(res), Ok(v)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::HeaderValue::from_str(&crate::auth::clear_flash_cookie()),
        ) {
            res.append_header(http::header::SET_COOKIE, v);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let message: Option<String> = None;
    let message = StoredValue::new(message);
    move || message.get_value()
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
