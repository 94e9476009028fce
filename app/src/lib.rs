//! Mosaic's UI: the routes, pages and components, rendered on the server, and the server functions
//! they call.
//!
//! Pages are plain server HTML; only the parts that must react in the browser are Leptos islands
//! (`#[island]`): the chat panel (composer, live reply, Stop), "load more" / "load earlier" lists and
//! busy buttons. The rest never ships to the browser, and pages carry no hydration copy of their data.
//! Every page works with JavaScript off: forms are real `<form method="post">` elements that post to
//! the server functions, which redirect back.

#![recursion_limit = "512"]

pub mod api;
pub mod components;
pub mod images;
#[cfg(feature = "ssr")]
pub mod markdown;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod error;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around the app, rendered on the server. The stylesheet, script and wasm names
/// carry their content hash when the build wrote one (`hash-files`), so they can be cached forever.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href=images::FAVICON.svg_url() type="image/svg+xml"/>
                <HashedStylesheet id="leptos" options=options.clone()/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: its routes. Pages wait for their data on the server (`SsrMode::Async`), so the
/// HTML is complete without JavaScript.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Mosaic"/>
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/login") view=pages::SignIn ssr=SsrMode::Async/>
                <Route path=path!("/signup") view=pages::SignUp ssr=SsrMode::Async/>
                <Route path=path!("/settings") view=pages::Settings ssr=SsrMode::Async/>
                <Route path=path!("/imports/:id") view=pages::ImportPage ssr=SsrMode::Async/>
                <Route path=path!("/admin") view=pages::AdminUsers ssr=SsrMode::Async/>
                <Route path=path!("/admin/users/:id/delete") view=pages::AdminDeleteUser ssr=SsrMode::Async/>
                <Route path=path!("/admin/preferences") view=pages::AdminPreferences ssr=SsrMode::Async/>
                <Route path=path!("/admin/jobs") view=pages::AdminJobs ssr=SsrMode::Async/>
                <Route path=path!("/admin/audit") view=pages::AdminAudit ssr=SsrMode::Async/>
                <Route path=path!("/c/:id/activity") view=pages::ActivityPage ssr=SsrMode::Async/>
                <Route path=path!("/c/:id") view=pages::Dashboard ssr=SsrMode::Async/>
                <Route path=path!("/search") view=pages::Dashboard ssr=SsrMode::Async/>
                <Route path=path!("/") view=pages::Dashboard ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
