//! Search for the dashboard: the results as the sidebar's search box fetches them while the user
//! types (the page itself reads them in `load_dashboard`, for `/search?q=…`).

use leptos::prelude::*;
use mosaic_db::model::{Page, SearchHit};

/// Results per page on the search page and in the sidebar while typing.
pub const SEARCH_PAGE: u32 = 20;

/// A page of the user's conversations matching `q` (see `mosaic_db::search`).
#[server(prefix = "/_fn", endpoint = "search")]
pub async fn search_conversations(q: String, cursor: Option<String>) -> Result<Page<SearchHit>, ServerFnError> {
    use crate::api::respond::{fail, require_user};
    let me = require_user()?;
    let store = crate::state::app_state()?.store;
    store.search(me.user.id, &q, cursor.as_deref(), SEARCH_PAGE).await.map_err(fail)
}

/// Where a result opens: its message in the page around it (the fragment scrolls to it and marks
/// it), or the conversation when only its title matched.
pub fn result_link(hit: &SearchHit) -> String {
    match &hit.message {
        Some(m) => format!("/c/{}?at={}#m-{}", hit.conversation.id, m.id, m.id),
        None => format!("/c/{}", hit.conversation.id),
    }
}
