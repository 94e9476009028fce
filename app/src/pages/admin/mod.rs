//! The admin area, `/admin`: users, platform preferences, background jobs and the audit trail.
//! Server-rendered pages whose actions are plain forms posted to the admin API, so everything
//! works without JavaScript. Anyone but an admin gets the ordinary "page not found" (status 404),
//! so the area does not reveal that it exists.

mod audit;
mod jobs;
mod preferences;
mod users;

pub use audit::AdminAudit;
pub use jobs::AdminJobs;
pub use preferences::AdminPreferences;
pub use users::{AdminDeleteUser, AdminUsers};

use leptos::prelude::*;

/// Whether the request comes from an admin. The pages render on the server only, where this is
/// read from the request; in the browser build it is never asked.
fn allowed() -> bool {
    #[cfg(feature = "ssr")]
    {
        crate::state::current_user().is_some_and(|me| me.is_admin())
    }
    #[cfg(not(feature = "ssr"))]
    {
        false
    }
}

/// The admin area's own navigation; `current` is marked for screen readers.
#[component]
fn AdminNav(current: &'static str) -> impl IntoView {
    let link = move |href: &'static str, label: &'static str| {
        let here = href == current;
        view! { <a href=href aria-current=here.then_some("page")>{label}</a> }
    };
    view! {
        <p><a href="/">"← Back to conversations"</a></p>
        <nav class="admin-nav" aria-label="Admin">
            {link("/admin", "Users")}
            {link("/admin/preferences", "Preferences")}
            {link("/admin/jobs", "Jobs")}
            {link("/admin/audit", "Audit trail")}
        </nav>
    }
}
