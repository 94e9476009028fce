//! A conversation's activity: the agent logs its replies wrote (what each asked, how it went, how
//! long it took) and the summaries of older ones, for the activity page.

use leptos::prelude::*;
use mosaic_db::model::{AgentLog, LogSummary, Page};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Log entries per activity page.
pub const ACTIVITY_PAGE: u32 = 50;
/// Summaries shown on an activity page (the newest groups come last).
pub const SUMMARIES_SHOWN: u32 = 20;

/// What the activity page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub conversation_id: Uuid,
    pub title: String,
    /// A page of the conversation's agent logs, oldest first.
    pub logs: Page<AgentLog>,
    pub summaries: Vec<LogSummary>,
}

/// Loads the activity of one of the user's conversations, from `cursor` on. Another user's
/// conversation, or a path that is not an id, is not found.
#[server(prefix = "/_fn", endpoint = "activity")]
pub async fn load_activity(conversation: String, cursor: Option<String>) -> Result<Activity, ServerFnError> {
    use crate::api::respond::{fail, require_user};
    use crate::error::AppError;
    use mosaic_db::agent_logs::LogFilter;
    let me = require_user()?;
    let state = crate::state::app_state()?;
    let id: Uuid = conversation.parse().map_err(|_| fail(AppError::NotFound))?;
    let found = state.store.get_conversation(me.user.id, id).await.map_err(fail)?;
    let session = id.to_string();
    let logs = state
        .store
        .list_agent_logs(me.user.id, &session, &LogFilter::default(), cursor.as_deref(), ACTIVITY_PAGE)
        .await
        .map_err(fail)?;
    let summaries = state.store.list_summaries(me.user.id, &session, None, SUMMARIES_SHOWN).await.map_err(fail)?.items;
    Ok(Activity { conversation_id: id, title: found.title, logs, summaries })
}
