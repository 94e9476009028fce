//! The users page: search, a keyset-paged list (newest first), and per user: role, ban with a
//! reason or unban, and deletion behind a confirmation page that asks for the email again.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use mosaic_db::model::{AdminUser, Role};

use super::{allowed, AdminNav};
use crate::api::admin::{admin_users, user_to_delete, DeleteView, UsersView};
use crate::api::with_query;
use crate::components::{format_time, ErrorBanner, LoadFailed};
use crate::pages::{flash_error, NotFound};

/// `/admin`: the users.
#[component]
pub fn AdminUsers() -> impl IntoView {
    if !allowed() {
        return view! { <NotFound/> }.into_any();
    }
    let query = use_query_map();
    let data = Resource::new(
        move || (query.read().get("search").unwrap_or_default(), query.read().get("cursor")),
        |(search, cursor)| admin_users(search, cursor),
    );
    let error = Signal::derive(flash_error());
    let search = query.read_untracked().get("search").unwrap_or_default();
    view! {
        <Title text="Users · Admin · Mosaic"/>
        <main class="admin">
            <AdminNav current="/admin"/>
            <h1>"Users"</h1>
            <ErrorBanner message=error/>
            <form method="get" action="/admin" class="inline search" role="search">
                <label>"Search by email or name "<input type="search" name="search" value=search.clone() maxlength="100"/></label>
                <button type="submit">"Search"</button>
                {(!search.is_empty()).then(|| view! { <a href="/admin">"Clear"</a> })}
            </form>
            <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(view) => view! { <UsersTable view/> }.into_any(),
                        Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
    .into_any()
}

#[component]
fn UsersTable(view: UsersView) -> impl IntoView {
    let UsersView { users, me } = view;
    let search = use_query_map().read_untracked().get("search").unwrap_or_default();
    let first = with_query("/admin", "search", &search);
    let next = users.next.map(|cursor| with_query(&first, "cursor", &cursor));
    if users.items.is_empty() {
        return view! { <p>"No user matches that search."</p> }.into_any();
    }
    view! {
        <table class="admin-users">
            <thead>
                <tr>
                    <th scope="col">"User"</th><th scope="col">"Role"</th><th scope="col">"Status"</th>
                    <th scope="col">"Last seen"</th><th scope="col">"Sessions"</th><th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>{users.items.into_iter().map(|u| view! { <UserRow user=u me/> }).collect_view()}</tbody>
        </table>
        <nav class="pager" aria-label="User pages">
            {use_query_map().read_untracked().get("cursor").is_some().then(|| view! { <a href=first.clone()>"← Newest"</a> })}
            {next.map(|href| view! { <a href=href rel="next">"Older users →"</a> })}
        </nav>
    }
    .into_any()
}

#[component]
fn UserRow(user: AdminUser, me: uuid::Uuid) -> impl IntoView {
    let id = user.id;
    let own = id == me;
    let status = match (&user.banned, &user.ban_reason) {
        (true, Some(reason)) => format!("Banned: {reason}"),
        (true, None) => "Banned".to_string(),
        (false, _) => "Active".to_string(),
    };
    let other_role = if user.role == Role::Admin { Role::Member } else { Role::Admin };
    let role_label = if other_role == Role::Admin { "Make admin" } else { "Make member" };
    let label = format!("{} ({})", user.name, user.email);
    view! {
        <tr class:banned=user.banned>
            <td><strong>{user.name.clone()}</strong><br/><span class="muted">{user.email.clone()}</span></td>
            <td>{user.role.as_str()}</td>
            <td>{status}</td>
            <td>{user.last_seen_at.map(format_time).unwrap_or_else(|| "—".into())}</td>
            <td>{user.session_count}</td>
            <td class="actions">
                <form method="post" action=format!("/api/admin/users/{id}/role") class="inline">
                    <input type="hidden" name="role" value=other_role.as_str()/>
                    <button type="submit" aria-label=format!("{role_label}: {label}")>{role_label}</button>
                </form>
                {(!own).then(|| if user.banned {
                    view! {
                        <form method="post" action=format!("/api/admin/users/{id}/unban") class="inline">
                            <button type="submit" aria-label=format!("Unban {label}")>"Unban"</button>
                        </form>
                    }.into_any()
                } else {
                    view! {
                        <form method="post" action=format!("/api/admin/users/{id}/ban") class="inline">
                            <input type="text" name="reason" placeholder="Reason (optional)" maxlength="500" aria-label=format!("Reason to ban {label}")/>
                            <button type="submit" class="danger" aria-label=format!("Ban {label}")>"Ban"</button>
                        </form>
                    }.into_any()
                })}
                {(!own).then(|| view! { <a class="button-link" href=format!("/admin/users/{id}/delete")>"Delete…"</a> })}
            </td>
        </tr>
    }
}

/// `/admin/users/:id/delete`: what deleting the user removes, and the confirmation.
#[component]
pub fn AdminDeleteUser() -> impl IntoView {
    if !allowed() {
        return view! { <NotFound/> }.into_any();
    }
    let params = use_params_map();
    let data = Resource::new(move || params.read().get("id").unwrap_or_default(), user_to_delete);
    let error = Signal::derive(flash_error());
    view! {
        <Title text="Delete a user · Admin · Mosaic"/>
        <main class="admin">
            <AdminNav current=""/>
            <ErrorBanner message=error/>
            <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(user) => view! { <DeleteForm user/> }.into_any(),
                        Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
    .into_any()
}

#[component]
fn DeleteForm(user: DeleteView) -> impl IntoView {
    let DeleteView { id, name, email } = user;
    view! {
        <section class="card danger-zone">
            <h1>{format!("Delete {name}?")}</h1>
            <p>
                "This deletes "<strong>{email.clone()}</strong>" and everything they own: conversations, messages, "
                "agent logs, preferences, API tokens and sessions. Their open pages are signed out at once. "
                "This cannot be undone."
            </p>
            <form method="post" action=format!("/api/admin/users/{id}/delete")>
                <label>
                    {format!("Type {email} to confirm")}
                    <input type="text" name="confirmEmail" required autocomplete="off" autofocus/>
                </label>
                <button type="submit" class="danger">"Delete for good"</button>
                " "<a href="/admin">"Cancel"</a>
            </form>
        </section>
    }
}
