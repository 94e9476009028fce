//! The chat panel of an open conversation: the island that owns the WebSocket. It sends the
//! composer's messages over the socket, shows the reply while it is written, offers Stop, and once
//! a reply starts or ends shows what was saved (rendered by the server) below the page's messages.
//!
//! Without JavaScript the composer is a plain form that posts to `post_message`.

use leptos::prelude::*;
use uuid::Uuid;

use mosaic_chat::client::ChatState;
use mosaic_chat::events::ClientEvent;

use crate::api::conversations::{messages_since, set_model, MessageView};
use crate::api::error_text;
use crate::components::{ErrorBanner, MessageItem, ModelOptions, NoModelNotice};

/// The live part of an open conversation. `since` and `pending` come from
/// [`crate::api::conversations::OpenConversation`]: where to fetch newer messages from, and whether
/// the page was rendered while a reply was still being written.
#[island]
pub fn ChatPanel(
    conversation: Uuid,
    models: Vec<String>,
    selected: Option<String>,
    since: Option<String>,
    pending: bool,
    send_on_enter: bool,
) -> impl IntoView {
    let chat = ChatState::new(conversation);
    let added = RwSignal::new(Vec::<MessageView>::new());
    let latest = StoredValue::new(0usize);
    let since = StoredValue::new(since);

    // Fetches the saved messages after the page's own. A reply that has ended stays on screen as
    // the live one until its saved copy is here, so nothing flickers.
    let refresh = move || {
        let ended = chat.live.get_untracked().filter(|l| l.done).map(|l| l.message_id);
        let n = latest.get_value() + 1;
        latest.set_value(n);
        leptos::task::spawn_local(async move {
            let result = messages_since(conversation, since.get_value()).await;
            if latest.get_value() != n {
                return; // a newer fetch is under way
            }
            match result {
                Ok(list) => {
                    for m in &list {
                        hide_history(m.id);
                    }
                    added.set(list);
                }
                Err(e) => chat.error.set(Some(error_text(&e))),
            }
            if ended.is_some() && chat.live.get_untracked().map(|l| l.message_id) == ended {
                chat.live.set(None);
            }
        });
    };

    // Follow the conversation: join a reply in progress and replies other tabs start. After a
    // reconnect, or when the page was rendered mid-reply, fetch what was saved meanwhile.
    let connections = StoredValue::new(0usize);
    Effect::new(move |_| {
        if chat.connected.get() {
            chat.send(&ClientEvent::Subscribe { conversation_id: conversation });
            connections.update_value(|n| *n += 1);
            if pending || connections.get_value() > 1 {
                refresh();
            }
        }
    });
    Effect::new(move |_| {
        if chat.settled.get() > 0 {
            refresh();
        }
    });
    // The live reply replaces the page's copy of it.
    Effect::new(move |_| {
        if let Some(id) = chat.live.with(|l| l.as_ref().map(|l| l.message_id)) {
            hide_history(id);
        }
    });

    let composer = NodeRef::<leptos::html::Textarea>::new();
    let picker = NodeRef::<leptos::html::Select>::new();
    let writing = move || chat.live.with(|l| l.as_ref().is_some_and(|l| !l.done));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let Some(el) = composer.get() else { return };
        let content = el.value();
        if content.trim().is_empty() {
            return;
        }
        let model = picker.get().map(|p| p.value()).filter(|m| !m.is_empty());
        if chat.send(&ClientEvent::Send { conversation_id: Some(conversation), content, model }) {
            ev.prevent_default();
            el.set_value("");
        }
    };
    let stop = move |_| {
        chat.send(&ClientEvent::Abort { conversation_id: conversation });
    };
    let remember = move |ev: leptos::ev::Event| {
        let model = event_target_value(&ev);
        leptos::task::spawn_local(async move {
            let _ = set_model(model).await;
        });
    };
    let has_models = !models.is_empty();
    view! {
        <ol class="messages follow">
            {move || {
                let live = chat.live.with(|l| l.as_ref().map(|l| l.message_id));
                added.get().into_iter().filter(|m| Some(m.id) != live).map(|m| view! { <MessageItem m/> }).collect_view()
            }}
            {move || chat.live.get().map(|live| view! {
                <li class="message assistant live" aria-live="polite" aria-busy=(!live.done).to_string()>
                    <div class="meta">
                        <strong>"Assistant"</strong>
                        <span class="muted">{live.model.clone()}</span>
                        {(!live.done).then(|| view! { <span class="badge generating" role="status">"generating…"</span> })}
                    </div>
                    // Plain text while it streams; the saved copy replaces it, formatted.
                    <div class="content live-text">{live.text}</div>
                </li>
            })}
        </ol>
        <ErrorBanner message=chat.error/>
        <NoModelNotice show=!has_models/>
        <form method="post" action="/_fn/post_message" class="composer" aria-label="Send a message" on:submit=on_submit>
            <input type="hidden" name="conversation" value=conversation.to_string()/>
            <label class="visually-hidden" for="composer-input">"Message"</label>
            <textarea id="composer-input" node_ref=composer name="content" rows="3" placeholder="Write a message…" required
                data-enter-sends=send_on_enter.to_string() aria-keyshortcuts=super::dashboard::send_keys(send_on_enter)></textarea>
            <div class="composer-side">
                {has_models.then(|| view! {
                    <label class="visually-hidden" for="model-picker">"Model"</label>
                    <select id="model-picker" name="model" node_ref=picker on:change=remember>
                        <ModelOptions models selected/>
                    </select>
                })}
                {move || if writing() {
                    view! { <button type="button" class="danger" data-shortcut="stop" aria-keyshortcuts="Escape" on:click=stop>"Stop"</button> }.into_any()
                } else {
                    view! { <button type="submit">"Send"</button> }.into_any()
                }}
            </div>
        </form>
    }
}

/// Removes the server-rendered copy of a message that the panel now shows itself.
fn hide_history(id: Uuid) {
    #[cfg(feature = "hydrate")]
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(&format!("#history > li[data-message=\"{id}\"]")).ok().flatten())
    {
        el.remove();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}
