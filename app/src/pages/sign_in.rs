//! The sign-in and sign-up pages.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::flash_error;
use crate::api::account::{SignIn as SignInFn, SignUp as SignUpFn};
use crate::components::ErrorBanner;
use crate::images::{Picture, LOGO};

/// Email + password sign-in.
#[component]
pub fn SignIn() -> impl IntoView {
    let action = ServerAction::<SignInFn>::new();
    let flash = flash_error();
    let error = move || action.value().get().and_then(|r| r.err()).map(|e| crate::api::error_text(&e)).or_else(flash);
    view! {
        <Title text="Sign in · Mosaic"/>
        <main class="auth">
            <h1 class="brand"><Picture image=LOGO width=72 alt="" eager=true/>"Mosaic"</h1>
            <ActionForm action=action attr:class="card" attr:aria-label="Sign in">
                <h2>"Sign in"</h2>
                <ErrorBanner message=Signal::derive(error)/>
                <label>"Email"<input type="email" name="email" autocomplete="username" required autofocus/></label>
                <label>"Password"<input type="password" name="password" autocomplete="current-password" required/></label>
                <button type="submit" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
                <p class="muted">"No account yet? " <A href="/signup">"Create one"</A></p>
            </ActionForm>
        </main>
    }
}

/// Account creation; the first account of an instance becomes its admin.
#[component]
pub fn SignUp() -> impl IntoView {
    let action = ServerAction::<SignUpFn>::new();
    let flash = flash_error();
    let error = move || action.value().get().and_then(|r| r.err()).map(|e| crate::api::error_text(&e)).or_else(flash);
    view! {
        <Title text="Create an account · Mosaic"/>
        <main class="auth">
            <h1 class="brand"><Picture image=LOGO width=72 alt="" eager=true/>"Mosaic"</h1>
            <ActionForm action=action attr:class="card" attr:aria-label="Create an account">
                <h2>"Create an account"</h2>
                <ErrorBanner message=Signal::derive(error)/>
                <label>"Name"<input type="text" name="name" autocomplete="name" maxlength="100" required autofocus/></label>
                <label>"Email"<input type="email" name="email" autocomplete="username" required/></label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="new-password" minlength="8" required/>
                    <small class="muted">"At least 8 characters."</small>
                </label>
                <button type="submit" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Creating…" } else { "Create account" }}
                </button>
                <p class="muted">"Already have an account? " <A href="/login">"Sign in"</A></p>
            </ActionForm>
        </main>
    }
}
