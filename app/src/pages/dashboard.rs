//! The conversation dashboard: the sidebar of conversations and the open conversation.
//!
//! Rendered on the server as plain HTML. Islands make it live in the browser: the chat panel (see
//! [`super::chat_panel`], which this page contains), "load more" / "load earlier", which add pages
//! in place, and the archived section, which loads when first opened.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use mosaic_db::model::{Conversation, MessageRole, Page};
use uuid::Uuid;

use super::chat_panel::ChatPanel;
use super::flash_error;
use super::search::{SearchBox, SearchMain};
use super::shortcuts::Shortcuts;
use crate::api::conversations::*;
use crate::api::error_text;
use crate::components::{ErrorBanner, LoadFailed, MessageItem, ModelOptions, NoModelNotice};
use crate::images::{Avatar, Picture, LOGO, WELCOME};

/// The dashboard page, at `/` (no conversation open) and `/c/:id`.
#[component]
pub fn Dashboard() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let data = Resource::new(
        move || {
            let q = query.read();
            let show_archived = q.get("archived").is_some();
            let window = Window { earlier: q.get("earlier"), later: q.get("later"), at: q.get("at") };
            let search = (q.get("q"), q.get("from"));
            (params.read().get("id"), q.get("more"), show_archived, q.get("archived_more"), window, search)
        },
        |(conversation, more, show_archived, archived_more, window, (q, from))| {
            load_dashboard(conversation, more, show_archived, archived_more, window, q, from)
        },
    );
    let flash = flash_error();
    view! {
        <Title text="Mosaic"/>
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading your conversations…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <DashboardView data=d error=flash()/> }.into_any(),
                    Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DashboardView(data: Dashboard, error: Option<String>) -> impl IntoView {
    let open_id = data.open.as_ref().map(|o| o.conversation.id);
    let title =
        data.open.as_ref().map_or_else(|| "Mosaic".to_string(), |o| format!("{} · Mosaic", o.conversation.title));
    let Dashboard {
        user_name,
        is_admin,
        user_avatar,
        conversations,
        archived,
        paged,
        open,
        models,
        selected_model,
        send_on_enter,
        search,
    } = data;
    let title = match &search {
        Some(s) => format!("{} · Search · Mosaic", s.q),
        None => title,
    };
    let searched = search.as_ref().map(|s| s.q.clone()).unwrap_or_default();
    view! {
        <Title text=title/>
        <div class="app">
            <Sidebar conversations archived paged user_name is_admin user_avatar open_id searched/>
            <main class="conversation" id="main">
                <ErrorBanner message=Signal::stored(error)/>
                {match (search, open) {
                    (Some(search), _) => view! { <SearchMain search/> }.into_any(),
                    (None, Some(open)) => view! { <OpenView open models selected=selected_model send_on_enter/> }.into_any(),
                    (None, None) => view! { <Welcome models selected=selected_model send_on_enter/> }.into_any(),
                }}
            </main>
        </div>
    }
}

#[component]
fn Sidebar(
    conversations: Page<Conversation>,
    archived: Option<Page<Conversation>>,
    paged: bool,
    user_name: String,
    is_admin: bool,
    user_avatar: Option<String>,
    open_id: Option<Uuid>,
    searched: String,
) -> impl IntoView {
    // Read on the server only when asked for; then the section starts open.
    let archived_section = match archived {
        Some(page) => view! {
            <details class="archived" open=true>
                <summary>"Archived"</summary>
                <ConversationList page archived=true open_id/>
            </details>
        }
        .into_any(),
        None => view! {
            <details class="archived">
                <summary>"Archived"</summary>
                <ArchivedOnOpen open_id/>
            </details>
        }
        .into_any(),
    };
    view! {
        <aside class="sidebar">
            <header class="sidebar-head">
                <a class="brand" href="/"><Picture image=LOGO width=28 alt="" eager=true/>"Mosaic"</a>
                <a class="button" href="/">"+ New"</a>
            </header>
            <SearchBox q=searched/>
            <nav aria-label="Conversations">
                <div class="recent">
                    <ConversationList page=conversations archived=false open_id/>
                </div>
                {paged.then(|| view! { <a class="more" href="?">"Back to the newest"</a> })}
                {archived_section}
            </nav>
            <footer class="sidebar-foot">
                <span class="who"><Avatar key=user_avatar name=user_name.clone() size=28/>{user_name}</span>
                {is_admin.then(|| view! { <a href="/admin">"Admin"</a> })}
                <a href="/settings">"Settings"</a>
                <Shortcuts/>
            </footer>
        </aside>
    }
    .into_any()
}

/// One page of a conversation list, and "load more" when there is another.
#[component]
fn ConversationList(page: Page<Conversation>, archived: bool, open_id: Option<Uuid>) -> impl IntoView {
    let empty = if archived { "Nothing archived." } else { "No conversations yet." };
    view! {
        <ul class="conversations">
            {if page.items.is_empty() {
                view! { <li class="muted empty">{empty}</li> }.into_any()
            } else {
                page.items.into_iter().map(|c| conversation_link(c, open_id)).collect_view().into_any()
            }}
        </ul>
        {page.next.map(|cursor| view! { <MoreConversations archived cursor=Some(cursor) open_id/> })}
    }
    .into_any()
}

/// A conversation in the sidebar, marked when it is the open one.
fn conversation_link(c: Conversation, open_id: Option<Uuid>) -> impl IntoView {
    let current = Some(c.id) == open_id;
    view! {
        <li>
            <a href=format!("/c/{}", c.id) class:active=current aria-current=current.then_some("page")>{c.title}</a>
        </li>
    }
}

/// A fetch the user starts in place ("load more", "load earlier", opening the archive): at most one
/// at a time, its failure shown until the next success.
#[derive(Clone, Copy)]
struct InPlace {
    loading: RwSignal<bool>,
    failed: RwSignal<Option<String>>,
}

impl InPlace {
    fn new() -> InPlace {
        InPlace { loading: RwSignal::new(false), failed: RwSignal::new(None) }
    }

    /// Runs `fetch` unless one is under way, and hands what it returns to `apply`.
    fn run<T: 'static>(
        self,
        fetch: impl std::future::Future<Output = Result<T, ServerFnError>> + 'static,
        apply: impl FnOnce(T) + 'static,
    ) {
        if self.loading.get_untracked() {
            return;
        }
        self.loading.set(true);
        leptos::task::spawn_local(async move {
            match fetch.await {
                Ok(value) => {
                    self.failed.set(None);
                    apply(value);
                }
                Err(e) => self.failed.set(Some(error_text(&e))),
            }
            self.loading.set(false);
        });
    }
}

/// "Load more" for a sidebar list: appends the next page in place. Without JavaScript it is a link
/// to the page starting at `cursor`.
#[island]
fn MoreConversations(archived: bool, cursor: Option<String>, open_id: Option<Uuid>) -> impl IntoView {
    let items = RwSignal::new(Vec::<Conversation>::new());
    let next = RwSignal::new(cursor);
    let fetch = InPlace::new();
    let InPlace { loading, failed } = fetch;
    let param = if archived { "archived_more" } else { "more" };
    let load_more = move |ev: leptos::ev::MouseEvent| {
        let Some(cursor) = next.get_untracked() else { return };
        ev.prevent_default();
        fetch.run(more_conversations(archived, Some(cursor)), move |more| {
            items.update(|list| list.extend(more.items));
            next.set(more.next);
        });
    };
    view! {
        <ul class="conversations">
            {move || items.get().into_iter().map(|c| conversation_link(c, open_id)).collect_view()}
        </ul>
        <ErrorBanner message=failed/>
        {move || next.get().map(|cursor| view! {
            <a class="more" href=format!("?{param}={cursor}") on:click=load_more aria-busy=move || loading.get().to_string()>
                {move || if loading.get() { "Loading…" } else { "Load more" }}
            </a>
        })}
    }
}

/// The archived section's content when the page did not read it: loaded in place the first time the
/// section is opened. Without JavaScript, a link to the page with the section read and open.
#[island]
fn ArchivedOnOpen(open_id: Option<Uuid>) -> impl IntoView {
    let page = RwSignal::new(None::<Page<Conversation>>);
    let fetch = InPlace::new();
    let InPlace { loading, failed } = fetch;
    let link = NodeRef::<leptos::html::A>::new();
    let load = move || {
        if page.with_untracked(Option::is_none) {
            fetch.run(more_conversations(true, None), move |p| page.set(Some(p)));
        }
    };
    // Load when the enclosing <details> opens.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(details) = link.get().and_then(|a| a.closest("details").ok().flatten()) {
            use wasm_bindgen::JsCast;
            let opened = details.clone();
            let on_toggle = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
                if opened.has_attribute("open") {
                    load();
                }
            });
            let _ = details.add_event_listener_with_callback("toggle", on_toggle.as_ref().unchecked_ref());
            on_toggle.forget();
            // Opened before the page finished loading.
            if details.has_attribute("open") {
                load();
            }
        }
    });
    view! {
        {move || match page.get() {
            None => view! {
                <a class="more" href="?archived" node_ref=link on:click=move |ev| { ev.prevent_default(); load(); }>
                    {move || if loading.get() { "Loading…" } else { "Show archived conversations" }}
                </a>
            }
            .into_any(),
            Some(p) if p.items.is_empty() => view! { <p class="muted empty">"Nothing archived."</p> }.into_any(),
            Some(p) => view! {
                <ul class="conversations">{p.items.into_iter().map(|c| conversation_link(c, open_id)).collect_view()}</ul>
                {p.next.map(|cursor| view! { <MoreConversations archived=true cursor=Some(cursor) open_id/> })}
            }
            .into_any(),
        }}
        <ErrorBanner message=failed/>
    }
}

/// The page with no conversation open: a composer that starts one (a plain form post: the server
/// creates the conversation, starts the reply and sends the browser to it).
#[component]
fn Welcome(models: Vec<String>, selected: Option<String>, send_on_enter: bool) -> impl IntoView {
    let has_models = !models.is_empty();
    view! {
        <section class="welcome">
            <Picture image=WELCOME width=360 alt="" class="illustration" eager=true/>
            <h1>"Start a conversation"</h1>
            <p class="muted">"Your first message names the conversation; you can rename it later."</p>
        </section>
        <NoModelNotice show=!has_models/>
        <form method="post" action="/_fn/new_conversation" class="composer" aria-label="New conversation">
            <label class="visually-hidden" for="composer-input">"Message"</label>
            <textarea id="composer-input" name="message" rows="3" placeholder="Write a message…" required autofocus
                data-enter-sends=send_on_enter.to_string() aria-keyshortcuts=send_keys(send_on_enter)></textarea>
            <div class="composer-side">
                {has_models.then(|| view! {
                    <label class="visually-hidden" for="model-picker">"Model"</label>
                    <select id="model-picker" name="model"><ModelOptions models selected/></select>
                })}
                <button type="submit">"Send"</button>
            </div>
        </form>
    }
}

#[component]
fn OpenView(
    open: OpenConversation,
    models: Vec<String>,
    selected: Option<String>,
    send_on_enter: bool,
) -> impl IntoView {
    let OpenConversation { conversation, messages, since, pending, at } = open;
    let id = conversation.id;
    let archived = conversation.archived;
    // The model is picked per conversation: the one its last reply used, else the user's default.
    let conversation_model = messages.items.iter().rev().find(|m| m.role == MessageRole::Assistant).and_then(|m| {
        Some(format!("{}/{}", m.metadata.get("provider")?.as_str()?, m.metadata.get("model")?.as_str()?))
    });
    let selected = conversation_model.filter(|m| models.contains(m)).or(selected);
    let history = history_items(&messages.items, at);
    view! {
        <header class="conversation-head">
            <h1>{conversation.title.clone()}</h1>
            <div class="conversation-actions">
                <a class="button-link" href=format!("/c/{id}/activity")>"Activity"</a>
                <details class="menu">
                    <summary>"Export"</summary>
                    <div class="inline">
                        <a href=format!("/api/conversations/{id}/export?format=markdown") download>"Markdown"</a>
                        " · "
                        <a href=format!("/api/conversations/{id}/export?format=json") download>"JSON"</a>
                    </div>
                </details>
                <details class="menu">
                    <summary>"Rename"</summary>
                    <form method="post" action="/_fn/rename_conversation" class="inline">
                        <input type="hidden" name="conversation" value=id.to_string()/>
                        <label class="visually-hidden" for="rename-input">"New title"</label>
                        <input id="rename-input" type="text" name="title" maxlength="200" value=conversation.title required/>
                        <button type="submit">"Save"</button>
                    </form>
                </details>
                <form method="post" action="/_fn/archive_conversation" class="inline">
                    <input type="hidden" name="conversation" value=id.to_string()/>
                    <input type="hidden" name="archived" value=(!archived).to_string()/>
                    <button type="submit">{if archived { "Unarchive" } else { "Archive" }}</button>
                </form>
                <details class="menu danger">
                    <summary>"Delete"</summary>
                    <form method="post" action="/_fn/delete_conversation" class="inline">
                        <input type="hidden" name="conversation" value=id.to_string()/>
                        <input type="hidden" name="confirm" value="delete"/>
                        <span>"Delete this conversation and all its messages?"</span>
                        <button type="submit" class="danger">"Delete for good"</button>
                    </form>
                </details>
            </div>
        </header>
        {messages.earlier.map(|cursor| view! { <EarlierMessages conversation=id cursor/> })}
        <ol class="messages" id="history">{history}</ol>
        {messages.later.map(|cursor| view! { <LaterMessages conversation=id cursor/> })}
        <ChatPanel conversation=id models selected since pending send_on_enter/>
    }
}

/// The server-rendered messages of the open page. Those from the first reply still being written
/// on carry their id, so the chat panel can replace them with what it fetches (the rest never
/// change, and their ids would only add bytes to every page).
/// The message the page was opened at (`at`) carries its anchor, so the link's fragment scrolls to
/// it and marks it.
#[cfg(feature = "ssr")]
fn history_items(items: &[mosaic_db::model::Message], at: Option<Uuid>) -> impl IntoView {
    let first_pending = items.iter().position(in_progress).unwrap_or(items.len());
    items
        .iter()
        .enumerate()
        .map(|(i, m)| view! { <MessageItem m=MessageView::of(m) replaceable={i >= first_pending} anchor={Some(m.id) == at}/> })
        .collect_view()
}

/// In the browser this page is never rendered (only its islands are), so there is nothing to show.
#[cfg(not(feature = "ssr"))]
fn history_items(_items: &[mosaic_db::model::Message], _at: Option<Uuid>) -> impl IntoView {}

/// What the composer's keyboard shortcut to send is, for assistive technology.
pub(super) fn send_keys(send_on_enter: bool) -> &'static str {
    if send_on_enter {
        "Enter"
    } else {
        "Control+Enter Meta+Enter"
    }
}

/// "Load later messages" on a page opened around a message: appends newer pages in place. Without
/// JavaScript it is a link to the page after `cursor`.
#[island]
fn LaterMessages(conversation: Uuid, cursor: String) -> impl IntoView {
    let items = RwSignal::new(Vec::<MessageView>::new());
    let later = RwSignal::new(Some(cursor));
    let fetch = InPlace::new();
    let InPlace { loading, failed } = fetch;
    let load_later = move |ev: leptos::ev::MouseEvent| {
        let Some(cursor) = later.get_untracked() else { return };
        ev.prevent_default();
        fetch.run(later_messages(conversation, cursor), move |page| {
            items.update(|list| list.extend(page.items));
            later.set(page.later);
        });
    };
    view! {
        <ol class="messages">
            {move || items.get().into_iter().map(|m| view! { <MessageItem m/> }).collect_view()}
        </ol>
        <ErrorBanner message=failed/>
        {move || match later.get() {
            Some(cursor) => view! {
                <a class="more later" href=format!("?later={cursor}") on:click=load_later aria-busy=move || loading.get().to_string()>
                    {move || if loading.get() { "Loading…" } else { "Load later messages" }}
                </a>
            }
            .into_any(),
            None => view! { <a class="more later" href=format!("/c/{conversation}")>"Back to the newest"</a> }.into_any(),
        }}
    }
}

/// "Load earlier messages": prepends older pages in place. Without JavaScript it is a link to the
/// page ending at `cursor`.
#[island]
fn EarlierMessages(conversation: Uuid, cursor: String) -> impl IntoView {
    let items = RwSignal::new(Vec::<MessageView>::new());
    let earlier = RwSignal::new(Some(cursor));
    let fetch = InPlace::new();
    let InPlace { loading, failed } = fetch;
    let load_earlier = move |ev: leptos::ev::MouseEvent| {
        let Some(cursor) = earlier.get_untracked() else { return };
        ev.prevent_default();
        fetch.run(earlier_messages(conversation, cursor), move |page| {
            items.update(|list| {
                let mut older = page.items;
                older.append(list);
                *list = older;
            });
            earlier.set(page.earlier);
        });
    };
    view! {
        {move || earlier.get().map(|cursor| view! {
            <a class="more earlier" href=format!("?earlier={cursor}") on:click=load_earlier aria-busy=move || loading.get().to_string()>
                {move || if loading.get() { "Loading…" } else { "Load earlier messages" }}
            </a>
        })}
        <ErrorBanner message=failed/>
        <ol class="messages">
            {move || items.get().into_iter().map(|m| view! { <MessageItem m/> }).collect_view()}
        </ol>
    }
}
