//! The platform preferences page: the defaults every user starts from and the keys the platform
//! enforces ("enforcement wins": an enforced value overrides every user's own, and users cannot
//! change it), with a form to set one and a button to remove each.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{allowed, AdminNav};
use crate::api::admin::{admin_preferences, PreferencesView};
use crate::components::{format_time, ErrorBanner, LoadFailed};
use crate::pages::{flash_error, NotFound};

/// `/admin/preferences`.
#[component]
pub fn AdminPreferences() -> impl IntoView {
    if !allowed() {
        return view! { <NotFound/> }.into_any();
    }
    let data = Resource::new(|| (), |_| admin_preferences());
    let error = Signal::derive(flash_error());
    view! {
        <Title text="Preferences · Admin · Mosaic"/>
        <main class="admin">
            <AdminNav current="/admin/preferences"/>
            <h1>"Platform preferences"</h1>
            <p class="muted">
                "A default is what every user starts from until they choose otherwise. An enforced value "
                "wins over every user's own choice, and users see it locked in their settings."
            </p>
            <ErrorBanner message=error/>
            <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(view) => view! { <PreferencesTables view/> }.into_any(),
                        Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
    .into_any()
}

#[component]
fn PreferencesTables(view: PreferencesView) -> impl IntoView {
    let PreferencesView { platform, built_in } = view;
    let keys: Vec<String> = built_in.iter().map(|(k, _)| k.clone()).collect();
    view! {
        <section class="card">
            <h2>"Set by the platform"</h2>
            {if platform.is_empty() {
                view! { <p>"Nothing yet: users start from the built-in defaults below."</p> }.into_any()
            } else {
                view! {
                    <table>
                        <thead><tr><th scope="col">"Key"</th><th scope="col">"Value"</th><th scope="col">"Kind"</th><th scope="col">"Changed"</th><th></th></tr></thead>
                        <tbody>
                            {platform.into_iter().map(|p| {
                                let key = p.key.clone();
                                view! {
                                    <tr>
                                        <td><code>{p.key}</code></td>
                                        <td><code>{p.value.to_string()}</code></td>
                                        <td>{if p.enforced { "Enforced" } else { "Default" }}</td>
                                        <td>{format_time(p.updated_at)}</td>
                                        <td>
                                            <form method="post" action=format!("/api/admin/preferences/{key}/delete") class="inline">
                                                <button type="submit" aria-label=format!("Remove {key}")>"Remove"</button>
                                            </form>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <section class="card">
            <h2>"Set a preference"</h2>
            <form method="post" action="/api/admin/preferences" class="stacked" aria-label="Set a platform preference">
                <label>"Key"<input type="text" name="key" list="preference-keys" required maxlength="64" pattern="[A-Za-z0-9._\\-]+"/></label>
                <datalist id="preference-keys">{keys.into_iter().map(|k| view! { <option value=k/> }).collect_view()}</datalist>
                <label>
                    "Value (JSON)"
                    <input type="text" name="value" required placeholder="\"dark\", 8000, true"/>
                    <small class="muted">"Text goes in double quotes: \"dark\". Numbers and true/false as they are."</small>
                </label>
                <label class="check"><input type="checkbox" name="enforced"/>" Enforce it (users cannot change it)"</label>
                <button type="submit">"Save"</button>
            </form>
        </section>
        <section class="card">
            <h2>"Built-in defaults"</h2>
            <table>
                <thead><tr><th scope="col">"Key"</th><th scope="col">"Default"</th></tr></thead>
                <tbody>
                    {built_in.into_iter().map(|(k, v)| view! { <tr><td><code>{k}</code></td><td><code>{v.to_string()}</code></td></tr> }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
