//! The sign-in and sign-up pages.

use leptos::prelude::*;
use leptos_meta::Title;

use super::flash_error;
use crate::components::{BusyButton, ErrorBanner};
use crate::images::{Picture, LOGO};

/// The configured OpenID Connect providers, (id, label); the page renders on the server only.
fn providers() -> Vec<(String, String)> {
    #[cfg(feature = "ssr")]
    {
        crate::state::app_state().map(|s| s.auth.providers.clone()).unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        Vec::new()
    }
}

/// Email + password sign-in, and a button per OpenID Connect provider.
#[component]
pub fn SignIn() -> impl IntoView {
    let error = flash_error();
    let providers = providers();
    let sso = (!providers.is_empty()).then(|| {
        view! {
            <div class="sso" role="group" aria-label="Sign in with a provider">
                <p class="muted">"Or continue with"</p>
                {providers.into_iter().map(|(id, name)| view! {
                    <a class="button sso-button" href=format!("/auth/oidc/{id}")>{format!("Sign in with {name}")}</a>
                }).collect_view()}
            </div>
        }
    });
    view! {
        <Title text="Sign in · Mosaic"/>
        <main class="auth">
            <h1 class="brand"><Picture image=LOGO width=72 alt="" eager=true/>"Mosaic"</h1>
            <form method="post" action="/_fn/sign_in" class="card" aria-label="Sign in">
                <h2>"Sign in"</h2>
                <ErrorBanner message=Signal::derive(error)/>
                <label>"Email"<input type="email" name="email" autocomplete="username" required autofocus/></label>
                <label>"Password"<input type="password" name="password" autocomplete="current-password" required/></label>
                <BusyButton label="Sign in".to_string() busy="Signing in…".to_string()/>
                {sso}
                <p class="muted">"No account yet? " <a href="/signup">"Create one"</a></p>
            </form>
        </main>
    }
}

/// Account creation; the first account of an instance becomes its admin.
#[component]
pub fn SignUp() -> impl IntoView {
    let error = flash_error();
    view! {
        <Title text="Create an account · Mosaic"/>
        <main class="auth">
            <h1 class="brand"><Picture image=LOGO width=72 alt="" eager=true/>"Mosaic"</h1>
            <form method="post" action="/_fn/sign_up" class="card" aria-label="Create an account">
                <h2>"Create an account"</h2>
                <ErrorBanner message=Signal::derive(error)/>
                <label>"Name"<input type="text" name="name" autocomplete="name" maxlength="100" required autofocus/></label>
                <label>"Email"<input type="email" name="email" autocomplete="username" required/></label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="new-password" minlength="8" required/>
                    <small class="muted">"At least 8 characters."</small>
                </label>
                <BusyButton label="Create account".to_string() busy="Creating…".to_string()/>
                <p class="muted">"Already have an account? " <a href="/login">"Sign in"</a></p>
            </form>
        </main>
    }
}
