//! The settings page: the signed-in account and its sessions, each revocable.

use leptos::prelude::*;
use leptos_meta::Title;

use super::flash_error;
use crate::api::account::account;
use crate::api::error_text;
use crate::components::{format_time, BusyButton, ErrorBanner};
use crate::images::Avatar;

/// Account details and active sessions. Every action is a plain form post that comes back here.
#[component]
pub fn Settings() -> impl IntoView {
    let data = Resource::new(|| (), |_| account());
    let error = Signal::derive(flash_error());
    view! {
        <Title text="Settings · Mosaic"/>
        <main class="settings">
            <p><a href="/">"← Back to conversations"</a></p>
            <h1>"Settings"</h1>
            <ErrorBanner message=error/>
            <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(acc) => {
                            let current = acc.current_session;
                            view! {
                                <section class="card">
                                    <h2>"Account"</h2>
                                    <p>{acc.name.clone()}" · "{acc.email}" · "{acc.role}</p>
                                    <AvatarForm key=acc.avatar name=acc.name/>
                                    <form method="post" action="/_fn/sign_out" class="inline">
                                        <button type="submit">"Sign out"</button>
                                    </form>
                                </section>
                                <section class="card">
                                    <h2>"Active sessions"</h2>
                                    <table class="sessions">
                                        <thead><tr><th>"Device"</th><th>"Address"</th><th>"Signed in"</th><th>"Last active"</th><th></th></tr></thead>
                                        <tbody>
                                            {acc.sessions.into_iter().map(|s| {
                                                let this = s.id == current;
                                                view! {
                                                    <tr>
                                                        <td>{s.user_agent.unwrap_or_else(|| "Unknown".into())}{this.then_some(" (this browser)")}</td>
                                                        <td>{s.ip_address.unwrap_or_default()}</td>
                                                        <td>{format_time(s.created_at)}</td>
                                                        <td>{format_time(s.last_seen_at)}</td>
                                                        <td>
                                                            <form method="post" action="/_fn/revoke_session" class="inline">
                                                                <input type="hidden" name="id" value=s.id.to_string()/>
                                                                <button type="submit">{if this { "Sign out here" } else { "Revoke" }}</button>
                                                            </form>
                                                        </td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </section>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{error_text(&e)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

/// The avatar and the form that replaces or removes it. A plain multipart form (the server re-encodes
/// the picture and redirects back), so it works the same with JavaScript off.
#[component]
fn AvatarForm(key: Option<String>, name: String) -> impl IntoView {
    let has_avatar = key.is_some();
    view! {
        <div class="avatar-row">
            <Avatar key name size=64/>
            <form method="post" action="/api/me/avatar" enctype="multipart/form-data" class="inline" aria-label="Avatar">
                <label>
                    "New avatar "
                    <input type="file" name="avatar" accept="image/png,image/jpeg,image/webp,image/gif" required/>
                </label>
                <small class="muted">"PNG, JPEG, WebP or GIF, up to 5 MB and 16 megapixels."</small>
                <BusyButton label="Upload".to_string() busy="Uploading…".to_string()/>
            </form>
            {has_avatar.then(|| view! {
                <form method="post" action="/api/me/avatar/remove" class="inline">
                    <button type="submit">"Remove avatar"</button>
                </form>
            })}
        </div>
    }
}
