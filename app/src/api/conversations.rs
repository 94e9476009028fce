//! The dashboard's data and its conversation actions.

use leptos::prelude::*;
use mosaic_db::model::{Conversation, Message, MessagePage, MessageRole, Page};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How many conversations the sidebar shows per page.
pub const SIDEBAR_PAGE: u32 = 50;
/// How many messages a conversation shows per page.
pub const MESSAGES_PAGE: u32 = 50;

/// Everything the dashboard renders, loaded in one round trip with a fixed number of queries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub user_name: String,
    /// Whether the user may open the admin area (a link in the sidebar).
    pub is_admin: bool,
    /// The user's avatar key, if one was uploaded.
    pub user_avatar: Option<String>,
    pub conversations: Page<Conversation>,
    /// The archived list, when the page asked for it (`?archived`, a page of it, or an archived
    /// conversation open); otherwise its closed section loads it when opened.
    pub archived: Option<Page<Conversation>>,
    /// Whether the sidebar starts from a cursor (so it can offer a way back to the newest).
    pub paged: bool,
    pub open: Option<OpenConversation>,
    /// The models on offer, as `provider/model`; empty when no provider is configured.
    pub models: Vec<String>,
    /// The user's pick (the `chat.model` preference), if any.
    pub selected_model: Option<String>,
    /// Whether Enter sends in the composer (the `chat.sendOnEnter` preference).
    pub send_on_enter: bool,
    /// The search on screen (`/search?q=…`), if any.
    pub search: Option<SearchView>,
}

/// A search shown in the page's main area.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchView {
    pub q: String,
    pub results: Page<mosaic_db::model::SearchHit>,
    /// What is wrong with the query (too long, a cursor of another search), shown instead of results.
    pub problem: Option<String>,
}

/// The conversation on screen and a page of its messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenConversation {
    pub conversation: Conversation,
    pub messages: MessagePage,
    /// Where the chat panel picks up: the cursor just after the newest message that is settled and
    /// older than any reply still being written (absent when there is no such message). The panel
    /// fetches from here whenever a reply starts or ends.
    pub since: Option<String>,
    /// Whether a reply on this page is still being written.
    pub pending: bool,
    /// The message the page was opened at (a search result), shown marked.
    pub at: Option<Uuid>,
}

/// A message as the page shows it. The Markdown is already rendered to safe HTML on the server,
/// so the browser's code carries no Markdown renderer and every view of a message looks the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: Uuid,
    pub role: MessageRole,
    /// The model that wrote a reply, as `model`.
    pub model: Option<String>,
    /// When it was written, formatted for people.
    pub time: String,
    /// How a reply that is not complete stands: "generating…", "stopped", "failed".
    pub badge: Option<String>,
    /// The content as HTML (see [`crate::markdown`]).
    pub html: String,
    /// Why a reply failed, if it did.
    pub problem: Option<String>,
}

impl MessageView {
    /// Renders a stored message for display.
    #[cfg(feature = "ssr")]
    pub fn of(m: &Message) -> MessageView {
        use mosaic_db::model::ReplyState;
        let (badge, problem) = match &m.state {
            ReplyState::Complete { reason: None } => (None, None),
            ReplyState::Complete { reason: Some(_) } => (Some("cut at the length limit".to_string()), None),
            ReplyState::Streaming => (Some("generating…".to_string()), None),
            ReplyState::Stopped { reason: None } => (Some("stopped".to_string()), None),
            ReplyState::Stopped { reason: Some(why) } => (Some(format!("stopped ({why})")), None),
            ReplyState::Failed { reason } => (Some("failed".to_string()), Some(reason.clone())),
        };
        MessageView {
            id: m.id,
            role: m.role,
            model: m.metadata.get("model").and_then(|e| e.as_str()).map(str::to_string),
            time: crate::components::format_time(m.created_at),
            badge,
            html: crate::markdown::render_message(m.id, &m.content, m.state.is_settled()),
            problem,
        }
    }
}

/// True for a reply that is still being written.
pub fn in_progress(m: &Message) -> bool {
    !m.state.is_settled()
}

/// An earlier page of a conversation, ready to show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlierPage {
    pub items: Vec<MessageView>,
    /// Cursor for the page before this one, absent at the start of the conversation.
    pub earlier: Option<String>,
}

/// Which part of the open conversation the dashboard shows: the newest messages unless one of these
/// is set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// The page before this cursor ("load earlier").
    pub earlier: Option<String>,
    /// The page after this cursor ("load later", from a search result's page).
    pub later: Option<String>,
    /// The page around this message (a search result), as its id.
    pub at: Option<String>,
}

/// Loads the dashboard: the sidebar (from `more`, or the newest), the archived section when
/// `show_archived` or `archived_more` asks for it, the open conversation's messages (the latest,
/// or the `window` asked for) and the search `q` (from `search_from`) when one is asked.
#[server(prefix = "/_fn", endpoint = "dashboard")]
pub async fn load_dashboard(
    conversation: Option<String>,
    more: Option<String>,
    #[server(default)] show_archived: bool,
    archived_more: Option<String>,
    #[server(default)] window: Window,
    q: Option<String>,
    search_from: Option<String>,
) -> Result<Dashboard, ServerFnError> {
    use crate::api::respond::{fail, require_user};
    use crate::error::AppError;
    let me = require_user()?;
    let state = crate::state::app_state()?;
    // A path that is not an id names no conversation of anyone's: not found, like a foreign one.
    let conversation = conversation.map(|raw| raw.parse::<Uuid>().map_err(|_| fail(AppError::NotFound))).transpose()?;
    let query = mosaic_db::dashboard::DashboardQuery {
        recent_from: more.clone(),
        with_archived: show_archived || archived_more.is_some(),
        archived_from: archived_more,
        page: SIDEBAR_PAGE,
        open: match conversation {
            Some(id) => Some((id, message_query(&window)?)),
            None => None,
        },
    };
    let rows = state.store.dashboard(me.user.id, &query).await.map_err(fail)?;
    let at = window.at.as_deref().and_then(|a| a.parse().ok());
    let open = rows.open.map(|(conversation, messages)| {
        let (since, pending) = pick_up_point(conversation.id, &messages.items);
        OpenConversation { conversation, messages, since, pending, at }
    });
    let search = match q.filter(|q| !q.trim().is_empty()) {
        None => None,
        Some(q) => {
            Some(match state.store.search(me.user.id, &q, search_from.as_deref(), super::search::SEARCH_PAGE).await {
                Ok(results) => SearchView { q, results, problem: None },
                Err(e @ (mosaic_db::DbError::Invalid(_) | mosaic_db::DbError::BadCursor)) => SearchView {
                    q,
                    results: Page { items: Vec::new(), next: None },
                    problem: Some(AppError::from(e).message().to_string()),
                },
                Err(e) => return Err(fail(e)),
            })
        }
    };
    let send_on_enter = rows
        .preferences
        .iter()
        .find(|p| p.key == mosaic_db::preferences::SEND_ON_ENTER)
        .is_none_or(|p| p.value != serde_json::json!(false));
    let models = state.chat.models_now().await;
    let selected_model = rows
        .preferences
        .into_iter()
        .find(|p| p.key == mosaic_db::preferences::CHAT_MODEL)
        .and_then(|p| p.value.as_str().map(str::to_string));
    let archived = match rows.archived {
        // An archived conversation is open: show it in its (opened) section.
        None if open.as_ref().is_some_and(|o| o.conversation.archived) => {
            Some(state.store.list_conversations(me.user.id, true, None, SIDEBAR_PAGE).await.map_err(fail)?)
        }
        archived => archived,
    };
    let conversations = rows.recent;
    Ok(Dashboard {
        is_admin: me.is_admin(),
        user_name: me.user.name,
        user_avatar: me.user.image,
        conversations,
        archived,
        paged: more.is_some(),
        open,
        models,
        selected_model,
        send_on_enter,
        search,
    })
}

/// The message page a [`Window`] asks for; an `at` that is not an id names no message.
#[cfg(feature = "ssr")]
fn message_query(window: &Window) -> Result<mosaic_db::model::MessageQuery, ServerFnError> {
    use crate::api::respond::fail;
    use crate::error::AppError;
    let around = window.at.as_deref().map(|a| a.parse::<Uuid>().map_err(|_| fail(AppError::NotFound))).transpose()?;
    Ok(mosaic_db::model::MessageQuery {
        before: window.earlier.clone(),
        after: window.later.clone(),
        around,
        limit: MESSAGES_PAGE,
    })
}

/// Where the chat panel of a page showing `items` (the newest messages) starts fetching from: after
/// the newest settled message before the first reply still being written.
#[cfg(feature = "ssr")]
fn pick_up_point(conversation: Uuid, items: &[Message]) -> (Option<String>, bool) {
    use mosaic_db::cursor::{Cursor, CursorKind};
    let first_pending = items.iter().position(in_progress);
    let settled = first_pending.map_or(items, |i| &items[..i]);
    let since =
        settled.last().map(|m| Cursor { at: m.created_at, id: m.id }.encode(CursorKind::MessagesAfter, conversation));
    (since, first_pending.is_some())
}

/// The messages after `since` (a cursor from [`OpenConversation::since`]), or the newest page when
/// absent: what the chat panel shows below the server-rendered ones after a reply starts or ends.
#[server(prefix = "/_fn", endpoint = "messages_since")]
pub async fn messages_since(conversation: Uuid, since: Option<String>) -> Result<Vec<MessageView>, ServerFnError> {
    use crate::api::respond::{fail, require_user};
    use mosaic_db::model::MessageQuery;
    let me = require_user()?;
    let store = crate::state::app_state()?.store;
    let page = store
        .list_messages(
            me.user.id,
            conversation,
            &MessageQuery { before: None, after: since, around: None, limit: MAX_FOLLOW },
        )
        .await
        .map_err(fail)?;
    Ok(page.items.iter().map(MessageView::of).collect())
}

/// The most messages the chat panel shows beyond the page it was rendered with (a reload shows all).
pub const MAX_FOLLOW: u32 = 200;

/// A page of a sidebar list, for "load more" in place (and the archived list when its section is
/// first opened, without a cursor).
#[server(prefix = "/_fn", endpoint = "more_conversations")]
pub async fn more_conversations(archived: bool, cursor: Option<String>) -> Result<Page<Conversation>, ServerFnError> {
    use crate::api::respond::{fail, require_user};
    let me = require_user()?;
    let store = crate::state::app_state()?.store;
    store.list_conversations(me.user.id, archived, cursor.as_deref(), SIDEBAR_PAGE).await.map_err(fail)
}

/// An earlier page of a conversation's messages, for "load earlier" in place.
#[server(prefix = "/_fn", endpoint = "earlier_messages")]
pub async fn earlier_messages(conversation: Uuid, cursor: String) -> Result<EarlierPage, ServerFnError> {
    use crate::api::respond::{fail, require_user};
    use mosaic_db::model::MessageQuery;
    let me = require_user()?;
    let store = crate::state::app_state()?.store;
    let page = store
        .list_messages(
            me.user.id,
            conversation,
            &MessageQuery { before: Some(cursor), after: None, around: None, limit: MESSAGES_PAGE },
        )
        .await
        .map_err(fail)?;
    Ok(EarlierPage { items: page.items.iter().map(MessageView::of).collect(), earlier: page.earlier })
}

/// A later page of a conversation's messages, for "load later" in place (on a page opened around
/// a search result).
#[server(prefix = "/_fn", endpoint = "later_messages")]
pub async fn later_messages(conversation: Uuid, cursor: String) -> Result<LaterPage, ServerFnError> {
    use crate::api::respond::{fail, require_user};
    use mosaic_db::model::MessageQuery;
    let me = require_user()?;
    let store = crate::state::app_state()?.store;
    let query = MessageQuery { after: Some(cursor), limit: MESSAGES_PAGE, ..Default::default() };
    let page = store.list_messages(me.user.id, conversation, &query).await.map_err(fail)?;
    Ok(LaterPage { items: page.items.iter().map(MessageView::of).collect(), later: page.later })
}

/// A later page of a conversation, ready to show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaterPage {
    pub items: Vec<MessageView>,
    /// Cursor for the page after this one, absent at the newest message.
    pub later: Option<String>,
}

/// Starts a conversation, optionally with a first message (which then also names it, unless a
/// title is given) answered by `model` (the user's pick, else their default).
#[server(prefix = "/_fn", endpoint = "new_conversation")]
pub async fn new_conversation(
    title: Option<String>,
    message: Option<String>,
    model: Option<String>,
) -> Result<Uuid, ServerFnError> {
    use crate::api::respond::{fail, redirect_plain_form, require_user};
    use mosaic_db::conversations::title_from_message;
    use mosaic_db::replies::TurnTarget;
    let me = require_user()?;
    let title = title.filter(|t| !t.trim().is_empty());
    let Some(content) = message.filter(|m| !m.trim().is_empty()) else {
        let store = crate::state::app_state()?.store;
        let conversation = store.create_conversation(me.user.id, title.as_deref().unwrap_or("")).await.map_err(fail)?;
        redirect_plain_form(&format!("/c/{}", conversation.id));
        return Ok(conversation.id);
    };
    // The conversation, the message and the reply are saved together by the chat service.
    let id = Uuid::now_v7();
    let title = title.unwrap_or_else(|| title_from_message(&content));
    send_and_reply(&me, TurnTarget::New { id, title }, content, model).await?;
    redirect_plain_form(&format!("/c/{id}"));
    Ok(id)
}

/// Saves the user's message and starts the reply (without JavaScript the page shows the reply once
/// it is reloaded), remembering an explicit model pick. When no model can answer, the message is
/// still saved and the user is told why on the conversation's page.
#[cfg(feature = "ssr")]
async fn send_and_reply(
    me: &crate::state::CurrentUser,
    target: mosaic_db::replies::TurnTarget,
    content: String,
    model: Option<String>,
) -> Result<(), ServerFnError> {
    use crate::api::respond::{fail, fail_at};
    use mosaic_chat::ChatError;
    let state = crate::state::app_state()?;
    let model = model.filter(|m| !m.is_empty());
    let id = target.id();
    match state.chat.send(me.user.id, me.session_id(), target, content, model.clone()).await {
        Ok(_) => {}
        // The message was saved; the page of its conversation says why no reply came.
        Err(err @ (ChatError::NoProvider | ChatError::NoModelChosen(_))) => {
            return Err(fail_at(&format!("/c/{id}"), err))
        }
        Err(err) => return Err(fail(err)),
    }
    if let Some(m) = model {
        state
            .store
            .set_preference(me.user.id, mosaic_db::preferences::CHAT_MODEL, &serde_json::json!(m))
            .await
            .map_err(fail)?;
    }
    Ok(())
}

/// Remembers the user's model pick (the `chat.model` preference).
#[server(prefix = "/_fn", endpoint = "set_model")]
pub async fn set_model(model: String) -> Result<(), ServerFnError> {
    use crate::api::respond::{fail, require_user};
    let me = require_user()?;
    let store = crate::state::app_state()?.store;
    store.set_preference(me.user.id, mosaic_db::preferences::CHAT_MODEL, &serde_json::json!(model)).await.map_err(fail)
}

/// Posts the user's message to a conversation and starts the reply (the form without JavaScript;
/// with it, the composer sends over the WebSocket instead).
#[server(prefix = "/_fn", endpoint = "post_message")]
pub async fn post_message(conversation: Uuid, content: String, model: Option<String>) -> Result<(), ServerFnError> {
    use crate::api::respond::{redirect_plain_form, require_user};
    let me = require_user()?;
    send_and_reply(&me, mosaic_db::replies::TurnTarget::Existing(conversation), content, model).await?;
    redirect_plain_form(&format!("/c/{conversation}"));
    Ok(())
}

/// Renames a conversation.
#[server(prefix = "/_fn", endpoint = "rename_conversation")]
pub async fn rename_conversation(conversation: Uuid, title: String) -> Result<(), ServerFnError> {
    use crate::api::respond::{fail, redirect_plain_form, require_user};
    use mosaic_db::conversations::ConversationChange;
    let me = require_user()?;
    let store = crate::state::app_state()?.store;
    let change = ConversationChange { title: Some(&title), archived: None };
    store.update_conversation(me.user.id, conversation, &change).await.map_err(fail)?;
    redirect_plain_form(&format!("/c/{conversation}"));
    Ok(())
}

/// Archives or unarchives a conversation.
#[server(prefix = "/_fn", endpoint = "archive_conversation")]
pub async fn archive_conversation(conversation: Uuid, archived: bool) -> Result<(), ServerFnError> {
    use crate::api::respond::{fail, redirect_plain_form, require_user};
    use mosaic_db::conversations::ConversationChange;
    let me = require_user()?;
    let store = crate::state::app_state()?.store;
    let change = ConversationChange { title: None, archived: Some(archived) };
    store.update_conversation(me.user.id, conversation, &change).await.map_err(fail)?;
    redirect_plain_form(&format!("/c/{conversation}"));
    Ok(())
}

/// Deletes a conversation and its messages. `confirm` must be "delete": the form asks first.
#[server(prefix = "/_fn", endpoint = "delete_conversation")]
pub async fn delete_conversation(conversation: Uuid, confirm: String) -> Result<(), ServerFnError> {
    use crate::api::respond::{fail, redirect_plain_form, require_user};
    use crate::error::AppError;
    let me = require_user()?;
    if confirm != "delete" {
        return Err(fail(AppError::BadRequest("Confirm the deletion first.".into())));
    }
    let store = crate::state::app_state()?.store;
    store.delete_conversation(me.user.id, conversation).await.map_err(fail)?;
    redirect_plain_form("/");
    Ok(())
}
