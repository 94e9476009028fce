//! The conversation dashboard: the sidebar of conversations and the open conversation.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use mosaic_db::model::{Conversation, Message, MessageRole};
use uuid::Uuid;

use super::flash_error;
use crate::api::conversations::*;
use crate::api::error_text;
use crate::chat_client::use_chat;
use crate::chat_events::ClientEvent;
use crate::components::{format_time, ErrorBanner};
use crate::images::{Avatar, Picture, LOGO, WELCOME};
use crate::markdown;

/// The actions the dashboard's forms dispatch; any of them finishing reloads the page's data.
#[derive(Clone, Copy)]
struct Actions {
    rename: ServerAction<RenameConversation>,
    archive: ServerAction<ArchiveConversation>,
    delete: ServerAction<DeleteConversation>,
}

impl Actions {
    /// Changes whenever an action that alters the open page finishes. A deletion is not counted:
    /// it navigates away instead of reloading a conversation that no longer exists.
    fn version(&self) -> usize {
        self.rename.version().get() + self.archive.version().get()
    }

    /// The latest failure of any action, as a message.
    fn error(&self) -> Option<String> {
        let err = |v: Option<Result<_, ServerFnError>>| v.and_then(|r: Result<(), _>| r.err());
        err(self.rename.value().get())
            .or_else(|| err(self.archive.value().get()))
            .or_else(|| err(self.delete.value().get()))
            .map(|e| error_text(&e))
    }
}

/// The dashboard page, at `/` (no conversation open) and `/c/:id`.
#[component]
pub fn Dashboard() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let actions = Actions { rename: ServerAction::new(), archive: ServerAction::new(), delete: ServerAction::new() };
    let raw_id = move || params.read().get("id");
    let chat = use_chat();
    let data = Resource::new(
        move || {
            let q = query.read();
            (raw_id(), q.get("more"), q.get("archived_more"), q.get("earlier"), actions.version() + chat.settled.get())
        },
        |(raw, more, archived_more, earlier, _)| async move {
            let conversation = match raw {
                Some(raw) => {
                    Some(raw.parse::<Uuid>().map_err(|_| ServerFnError::new("That conversation does not exist."))?)
                }
                None => None,
            };
            load_dashboard(conversation, more, archived_more, earlier).await
        },
    );

    // With JavaScript, follow a deletion in place.
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = actions.delete.value().get() {
            navigate("/", Default::default());
        }
    });

    // A conversation this tab started over the socket: follow it once it has an id.
    let navigate = use_navigate();
    Effect::new(move |_| {
        if chat.follow_new.get() {
            if let Some(live) = chat.live.get() {
                chat.follow_new.set(false);
                navigate(&format!("/c/{}", live.conversation_id), Default::default());
            }
        }
    });
    Effect::new(move |_| chat.ensure_connected());
    // Follow the open conversation: join a reply in progress, and replies other tabs start.
    Effect::new(move |_| {
        if chat.connected.get() {
            if let Some(id) = raw_id().and_then(|r| r.parse::<Uuid>().ok()) {
                chat.send(&ClientEvent::Subscribe { conversation_id: id });
            }
        }
    });

    let flash = flash_error();
    let error = Signal::derive(move || chat.error.get().or_else(|| actions.error()).or_else(flash));
    view! {
        <Title text="Mosaic"/>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading your conversations…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <DashboardView data=d actions error/> }.into_any(),
                    Err(e) => view! {
                        <main class="centered">
                            <h1>"Something is not right"</h1>
                            <p class="error" role="alert">{error_text(&e)}</p>
                            <p><a href="/">"Back to your conversations"</a></p>
                        </main>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn DashboardView(data: Dashboard, actions: Actions, error: Signal<Option<String>>) -> impl IntoView {
    let open_id = data.open.as_ref().map(|o| o.conversation.id);
    let title =
        data.open.as_ref().map_or_else(|| "Mosaic".to_string(), |o| format!("{} · Mosaic", o.conversation.title));
    view! {
        <Title text=title/>
        <div class="app">
            <Sidebar data=data.clone() open_id/>
            <main class="conversation" id="main">
                <ErrorBanner message=error/>
                {match data.open {
                    Some(open) => view! { <OpenView open actions models=data.models selected=data.selected_model/> }.into_any(),
                    None => view! { <Welcome models=data.models selected=data.selected_model/> }.into_any(),
                }}
            </main>
        </div>
    }
}

#[component]
fn Sidebar(data: Dashboard, open_id: Option<Uuid>) -> impl IntoView {
    let archived_open = data.archived.items.iter().any(|c| Some(c.id) == open_id);
    view! {
        <aside class="sidebar">
            <header class="sidebar-head">
                <a class="brand" href="/"><Picture image=LOGO width=28 alt="" eager=true/>"Mosaic"</a>
                <a class="button" href="/">"+ New"</a>
            </header>
            <nav aria-label="Conversations">
                <ConversationList page=data.conversations archived=false open_id/>
                {data.paged.then(|| view! { <a class="more" href="?">"Back to the newest"</a> })}
                <details class="archived" open=archived_open>
                    <summary>"Archived"</summary>
                    <ConversationList page=data.archived archived=true open_id/>
                </details>
            </nav>
            <footer class="sidebar-foot">
                <span class="who"><Avatar key=data.user_avatar name=data.user_name.clone() size=28/>{data.user_name}</span>
                <a href="/settings">"Settings"</a>
            </footer>
        </aside>
    }
}

/// One list of conversations with "load more": in place with JavaScript, as a link without.
#[component]
fn ConversationList(
    page: mosaic_db::model::Page<Conversation>,
    archived: bool,
    open_id: Option<Uuid>,
) -> impl IntoView {
    let items = RwSignal::new(page.items);
    let next = RwSignal::new(page.next);
    let loading = RwSignal::new(false);
    let failed = RwSignal::new(None::<String>);
    let param = if archived { "archived_more" } else { "more" };
    let load_more = move |ev: leptos::ev::MouseEvent| {
        let Some(cursor) = next.get_untracked() else {
            return;
        };
        ev.prevent_default();
        loading.set(true);
        leptos::task::spawn_local(async move {
            match more_conversations(archived, cursor).await {
                Ok(more) => {
                    items.update(|list| list.extend(more.items));
                    next.set(more.next);
                    failed.set(None);
                }
                Err(e) => failed.set(Some(error_text(&e))),
            }
            loading.set(false);
        });
    };
    view! {
        <ul class="conversations">
            {move || {
                let list = items.get();
                if list.is_empty() {
                    let empty = if archived { "Nothing archived." } else { "No conversations yet." };
                    return view! { <li class="muted empty">{empty}</li> }.into_any();
                }
                list.into_iter()
                    .map(|c| {
                        let current = Some(c.id) == open_id;
                        view! {
                            <li>
                                <a href=format!("/c/{}", c.id) class:active=current aria-current=current.then_some("page")>
                                    {c.title}
                                </a>
                            </li>
                        }
                    })
                    .collect_view()
                    .into_any()
            }}
        </ul>
        <ErrorBanner message=failed/>
        {move || next.get().map(|cursor| view! {
            <a class="more" href=format!("?{param}={cursor}") on:click=load_more>
                {move || if loading.get() { "Loading…" } else { "Load more" }}
            </a>
        })}
    }
}

#[component]
fn Welcome(models: Vec<String>, selected: Option<String>) -> impl IntoView {
    let chat = use_chat();
    let input = NodeRef::<leptos::html::Textarea>::new();
    let picker = NodeRef::<leptos::html::Select>::new();
    // With the socket, send in place and follow the new conversation; without, post the form.
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let (Some(el), model) = (input.get(), picker.get().map(|p| p.value())) else { return };
        let content = el.value();
        if content.trim().is_empty() {
            return;
        }
        let sent =
            chat.send(&ClientEvent::Send { conversation_id: None, content, model: model.filter(|m| !m.is_empty()) });
        if sent {
            ev.prevent_default();
            el.set_value("");
            chat.follow_new.set(true);
        }
    };
    view! {
        <section class="welcome">
            <Picture image=WELCOME width=360 alt="" class="illustration" eager=true/>
            <h1>"Start a conversation"</h1>
            <p class="muted">"Your first message names the conversation; you can rename it later."</p>
        </section>
        <NoModelNotice models=models.clone()/>
        <form method="post" action="/_fn/new_conversation" class="composer" aria-label="New conversation" on:submit=on_submit>
            <label class="visually-hidden" for="composer-input">"Message"</label>
            <textarea id="composer-input" node_ref=input name="message" rows="3" placeholder="Write a message…" required></textarea>
            <div class="composer-side">
                <ModelPicker models selected picker/>
                <button type="submit">"Send"</button>
            </div>
        </form>
    }
}

/// Tells the user plainly that replies need a model, and how to configure one.
#[component]
fn NoModelNotice(models: Vec<String>) -> impl IntoView {
    models.is_empty().then(|| {
        view! {
            <p class="notice" role="note">
                "No model is configured, so messages are saved without a reply. Set MOSAIC_PROVIDERS and its "
                "MOSAIC_PROVIDER_<NAME>_URL (see the README), or start Mosaic with MOSAIC_DEMO_PROVIDER=1 to try the built-in stand-in model."
            </p>
        }
    })
}

/// The model picker; a change is remembered as the user's `chat.model` preference.
#[component]
fn ModelPicker(models: Vec<String>, selected: Option<String>, picker: NodeRef<leptos::html::Select>) -> impl IntoView {
    let remember = move |ev: leptos::ev::Event| {
        let model = event_target_value(&ev);
        leptos::task::spawn_local(async move {
            let _ = set_model(model).await;
        });
    };
    (!models.is_empty()).then(|| {
        let selected = selected.filter(|s| models.contains(s)).or_else(|| models.first().cloned());
        view! {
            <label class="visually-hidden" for="model-picker">"Model"</label>
            <select id="model-picker" name="model" node_ref=picker on:change=remember>
                {models
                    .into_iter()
                    .map(|m| {
                        let is_selected = Some(&m) == selected.as_ref();
                        view! { <option value=m.clone() selected=is_selected>{m.clone()}</option> }
                    })
                    .collect_view()}
            </select>
        }
    })
}

#[component]
fn OpenView(open: OpenConversation, actions: Actions, models: Vec<String>, selected: Option<String>) -> impl IntoView {
    let id = open.conversation.id;
    let archived = open.conversation.archived;
    // The model is picked per conversation: the one its last reply used, else the user's default.
    let conversation_model =
        open.messages.items.iter().rev().find(|m| m.role == MessageRole::Assistant).and_then(|m| {
            Some(format!("{}/{}", m.metadata.get("provider")?.as_str()?, m.metadata.get("model")?.as_str()?))
        });
    let selected = conversation_model.filter(|m| models.contains(m)).or(selected);
    let messages = RwSignal::new(open.messages.items);
    let earlier = RwSignal::new(open.messages.earlier);
    let loading = RwSignal::new(false);
    let load_earlier = move |ev: leptos::ev::MouseEvent| {
        let Some(cursor) = earlier.get_untracked() else {
            return;
        };
        ev.prevent_default();
        loading.set(true);
        leptos::task::spawn_local(async move {
            if let Ok(page) = earlier_messages(id, cursor).await {
                messages.update(|list| {
                    let mut older = page.items;
                    older.append(list);
                    *list = older;
                });
                earlier.set(page.earlier);
            }
            loading.set(false);
        });
    };
    let chat = use_chat();
    let composer = NodeRef::<leptos::html::Textarea>::new();
    let picker = NodeRef::<leptos::html::Select>::new();
    let live_here = move || chat.live.get().filter(|l| l.conversation_id == id);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let Some(el) = composer.get() else { return };
        let content = el.value();
        if content.trim().is_empty() {
            return;
        }
        let model = picker.get().map(|p| p.value()).filter(|m| !m.is_empty());
        if chat.send(&ClientEvent::Send { conversation_id: Some(id), content, model }) {
            ev.prevent_default();
            el.set_value("");
        }
    };
    let stop = move |_| {
        chat.send(&ClientEvent::Abort { conversation_id: id });
    };
    view! {
        <header class="conversation-head">
            <h1>{open.conversation.title.clone()}</h1>
            <div class="conversation-actions">
                <details class="menu">
                    <summary>"Rename"</summary>
                    <ActionForm action=actions.rename attr:class="inline">
                        <input type="hidden" name="conversation" value=id.to_string()/>
                        <label class="visually-hidden" for="rename-input">"New title"</label>
                        <input id="rename-input" type="text" name="title" maxlength="200" value=open.conversation.title required/>
                        <button type="submit">"Save"</button>
                    </ActionForm>
                </details>
                <ActionForm action=actions.archive attr:class="inline">
                    <input type="hidden" name="conversation" value=id.to_string()/>
                    <input type="hidden" name="archived" value=(!archived).to_string()/>
                    <button type="submit">{if archived { "Unarchive" } else { "Archive" }}</button>
                </ActionForm>
                <details class="menu danger">
                    <summary>"Delete"</summary>
                    <ActionForm action=actions.delete attr:class="inline">
                        <input type="hidden" name="conversation" value=id.to_string()/>
                        <input type="hidden" name="confirm" value="delete"/>
                        <span>"Delete this conversation and all its messages?"</span>
                        <button type="submit" class="danger">"Delete for good"</button>
                    </ActionForm>
                </details>
            </div>
        </header>
        {move || earlier.get().map(|cursor| view! {
            <a class="more earlier" href=format!("?earlier={cursor}") on:click=load_earlier>
                {move || if loading.get() { "Loading…" } else { "Load earlier messages" }}
            </a>
        })}
        <ol class="messages">
            {move || {
                let live_id = live_here().map(|l| l.message_id);
                messages.get().into_iter().filter(|m| Some(m.id) != live_id).map(|m| view! { <MessageItem m/> }).collect_view()
            }}
            {move || live_here().map(|live| view! {
                <li class="message assistant live" aria-live="polite" aria-busy="true">
                    <div class="meta">
                        <strong>"Assistant"</strong>
                        <span class="muted">{live.model.clone()}</span>
                        <span class="badge generating" role="status">"generating…"</span>
                    </div>
                    <div class="content markdown" inner_html=markdown::render(&live.text)></div>
                </li>
            })}
        </ol>
        <NoModelNotice models=models.clone()/>
        <form method="post" action="/_fn/post_message" class="composer" aria-label="Send a message" on:submit=on_submit>
            <input type="hidden" name="conversation" value=id.to_string()/>
            <label class="visually-hidden" for="composer-input">"Message"</label>
            <textarea id="composer-input" node_ref=composer name="content" rows="3" placeholder="Write a message…" required></textarea>
            <div class="composer-side">
                <ModelPicker models selected picker/>
                {move || match live_here() {
                    Some(_) => view! { <button type="button" class="danger" on:click=stop>"Stop"</button> }.into_any(),
                    None => view! { <button type="submit">"Send"</button> }.into_any(),
                }}
            </div>
        </form>
    }
}

#[component]
fn MessageItem(m: Message) -> impl IntoView {
    let (class, who) = match m.role {
        MessageRole::User => ("message user", "You"),
        MessageRole::Assistant => ("message assistant", "Assistant"),
        MessageRole::System => ("message system", "System"),
    };
    let error = m.metadata.get("error").and_then(|e| e.as_str()).map(str::to_string);
    let model = m.metadata.get("model").and_then(|e| e.as_str()).map(str::to_string);
    let badge = match (m.status.as_str(), error.as_deref()) {
        ("complete", _) => None,
        (_, Some("stopped")) => Some("stopped"),
        _ => Some("incomplete"),
    };
    let problem = error.filter(|e| e != "stopped");
    view! {
        <li class=class>
            <div class="meta">
                <strong>{who}</strong>
                {model.map(|m| view! { <span class="muted">{m}</span> })}
                <time>{format_time(m.created_at)}</time>
                {badge.map(|b| view! { <span class="badge">{b}</span> })}
            </div>
            <div class="content markdown" inner_html=markdown::render(&m.content)></div>
            {problem.map(|p| view! { <p class="error" role="alert">{p}</p> })}
        </li>
    }
}
