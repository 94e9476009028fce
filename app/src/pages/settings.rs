//! The settings page: the signed-in account, its password, its sessions (each revocable, or all
//! but this one), its personal API tokens, and its preferences (those the platform enforces shown
//! locked).

use leptos::prelude::*;
use leptos_meta::Title;

use super::flash_error;
use crate::api::account::account;
use crate::api::error_text;
use crate::components::{format_time, BusyButton, ErrorBanner};
use crate::images::Avatar;
use mosaic_db::model::{ApiToken, Preference};

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
                                    {acc.is_admin.then(|| view! { <p><a href="/admin">"Open the admin area"</a></p> })}
                                    <AvatarForm key=acc.avatar name=acc.name/>
                                    <form method="post" action="/_fn/sign_out" class="inline">
                                        <button type="submit">"Sign out"</button>
                                    </form>
                                </section>
                                {acc.has_password.then(|| view! { <PasswordForm/> })}
                                <Tokens tokens=acc.tokens is_admin=acc.is_admin new_secret=acc.new_secret/>
                                <Composing preferences=acc.preferences.clone()/>
                                <YourData imports=acc.imports/>
                                <Preferences preferences=acc.preferences/>
                                <section class="card">
                                    <h2>"Active sessions"</h2>
                                    <form method="post" action="/api/sessions/revoke-others" class="inline">
                                        <button type="submit">"Sign out everywhere else"</button>
                                    </form>
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

/// Changing the password: the current one first; the other sessions end.
#[component]
fn PasswordForm() -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Password"</h2>
            <form method="post" action="/api/me/password" class="stacked" aria-label="Change password">
                <label>"Current password"<input type="password" name="currentPassword" autocomplete="current-password" required/></label>
                <label>
                    "New password"
                    <input type="password" name="newPassword" autocomplete="new-password" minlength="8" required/>
                    <small class="muted">"At least 8 characters. Your other sessions are signed out."</small>
                </label>
                <BusyButton label="Change password".to_string() busy="Changing…".to_string()/>
            </form>
        </section>
    }
}

/// Personal API tokens: the new one's secret (once), the list with last use, and the form.
#[component]
fn Tokens(tokens: Vec<ApiToken>, is_admin: bool, new_secret: Option<String>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"API tokens"</h2>
            <p class="muted">"A token lets a script use the API as you: send it as "<code>"Authorization: Bearer <token>"</code>"."</p>
            {new_secret.map(|secret| view! {
                <div class="new-secret" role="status">
                    <p><strong>"Your new token. Copy it now: it will not be shown again."</strong></p>
                    <input type="text" readonly value=secret aria-label="The new token" class="secret"/>
                </div>
            })}
            {(!tokens.is_empty()).then(|| view! {
                <table class="tokens">
                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Scope"</th><th scope="col">"Created"</th><th scope="col">"Last used"</th><th scope="col">"Expires"</th><th></th></tr></thead>
                    <tbody>
                        {tokens.into_iter().map(|t| {
                            let label = format!("Revoke {}", t.name);
                            view! {
                                <tr>
                                    <td>{t.name}</td>
                                    <td>{t.scope.as_str()}</td>
                                    <td>{format_time(t.created_at)}</td>
                                    <td>{t.last_used_at.map(format_time).unwrap_or_else(|| "never".into())}</td>
                                    <td>{t.expires_at.map(format_time).unwrap_or_else(|| "never".into())}</td>
                                    <td>
                                        <form method="post" action=format!("/api/tokens/{}/revoke", t.id) class="inline">
                                            <button type="submit" aria-label=label>"Revoke"</button>
                                        </form>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            <form method="post" action="/api/tokens" class="stacked" aria-label="Create a token">
                <label>"Name"<input type="text" name="name" required maxlength="100" placeholder="e.g. laptop script"/></label>
                <label>
                    "Scope"
                    <select name="scope">
                        <option value="read">"Read only"</option>
                        <option value="write" selected>"Read and write"</option>
                        {is_admin.then(|| view! { <option value="admin">"Admin (includes the admin API)"</option> })}
                    </select>
                </label>
                <label>"Expires in days (empty: never)"<input type="number" name="expiresInDays" min="1" max="3650" value="90"/></label>
                <button type="submit">"Create token"</button>
            </form>
        </section>
    }
}

/// The effective preferences; those the platform enforces are shown locked with their value.
/// Taking everything out (one archive) and bringing history in (a Mosaic archive, ChatGPT's
/// `conversations.json`, Open WebUI's export): plain links and a plain upload form.
#[component]
fn YourData(imports: Vec<mosaic_db::model::ImportJob>) -> impl IntoView {
    use crate::api::portability::describe;
    view! {
        <section class="card" id="import" aria-labelledby="data-heading">
            <h2 id="data-heading">"Your data"</h2>
            <p>
                <a class="button" href="/api/export" download>"Download everything"</a>
                " "<span class="muted">"One file (JSON Lines) with your conversations, messages, preferences and agent logs; it imports back here or into another Mosaic."</span>
            </p>
            <form method="post" action="/api/import" enctype="multipart/form-data" class="stack">
                <label for="import-file">"Import conversations from a Mosaic archive, ChatGPT (conversations.json from its data export) or Open WebUI (its chat export)"</label>
                <input id="import-file" type="file" name="file" accept=".json,.jsonl,application/json" required/>
                <label class="check"><input type="checkbox" name="skip_bad"/>" Skip entries that cannot be read (otherwise a bad entry stops the import before anything is added)"</label>
                <button type="submit">"Import"</button>
                <span class="muted">"Importing the same file again adds nothing twice. Imported conversations keep their dates."</span>
            </form>
            {(!imports.is_empty()).then(|| view! {
                <h3>"Recent imports"</h3>
                <ul class="imports">
                    {imports.into_iter().map(|job| view! {
                        <li><a href=format!("/imports/{}", job.id)>{format_time(job.created_at)}</a>" · "{describe(&job)}</li>
                    }).collect_view()}
                </ul>
            })}
        </section>
    }
}

/// How the composer sends: the `chat.sendOnEnter` preference as a checkbox (a plain form).
#[component]
fn Composing(preferences: Vec<Preference>) -> impl IntoView {
    let setting = preferences.into_iter().find(|p| p.key == mosaic_db::model::SEND_ON_ENTER);
    let on = setting.as_ref().is_none_or(|p| p.value != serde_json::json!(false));
    let locked = setting.is_some_and(|p| !p.mutable);
    view! {
        <section class="card" aria-labelledby="composing-heading">
            <h2 id="composing-heading">"Writing messages"</h2>
            <form method="post" action="/_fn/set_enter_sends" class="stack">
                <label class="check">
                    <input type="checkbox" name="enter_sends" checked=on disabled=locked/>
                    " Enter sends the message (Shift+Enter makes a new line). Off: Enter makes a new line and Ctrl+Enter (⌘+Enter) sends."
                </label>
                {locked.then(|| view! { <span class="locked">"Locked: set by your administrator"</span> })}
                <button type="submit" disabled=locked>"Save"</button>
            </form>
            <p class="muted">"Press ? on the conversations page for every keyboard shortcut."</p>
        </section>
    }
}

#[component]
fn Preferences(preferences: Vec<Preference>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="preferences-heading">
            <h2 id="preferences-heading">"Preferences"</h2>
            <table class="preferences">
                <thead><tr><th scope="col">"Key"</th><th scope="col">"Value"</th><th scope="col"></th></tr></thead>
                <tbody>
                    {preferences.into_iter().map(|p| {
                        let note = if !p.mutable {
                            view! { <span class="locked">"Locked: set by your administrator"</span> }.into_any()
                        } else if p.is_default {
                            view! { <span class="muted">"Default"</span> }.into_any()
                        } else {
                            view! { <span class="muted">"Your choice"</span> }.into_any()
                        };
                        view! { <tr><td><code>{p.key}</code></td><td><code>{p.value.to_string()}</code></td><td>{note}</td></tr> }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
