//! The dashboard's read: both sidebar lists, the open conversation with a page of its messages, and
//! the user's preferences, on one pooled connection.
//!
//! The page is the busiest in the product, and on SQLite each statement and each pool checkout is
//! a round trip to the connection's worker thread. Reading it all on one connection, with the two
//! sidebar lists in a single statement, keeps it to one checkout and four statements whatever the
//! data size. The archived list is read only when asked for (it sits in a closed section).

use uuid::Uuid;

use crate::messages::{MessagePage, MessageQuery};
use crate::model::{Conversation, Page, Preference};

/// Which slices of the user's data the dashboard shows.
#[derive(Clone, Debug, Default)]
pub struct DashboardQuery {
    /// Where the sidebar list starts (a cursor of the conversation listing), or the newest.
    pub recent_from: Option<String>,
    /// Whether to read the archived list at all.
    pub with_archived: bool,
    /// Where the archived list starts, or the newest.
    pub archived_from: Option<String>,
    /// Rows per sidebar list.
    pub page: u32,
    /// The open conversation and which of its messages to show.
    pub open: Option<(Uuid, MessageQuery)>,
}

/// What the dashboard shows, as read.
#[derive(Clone, Debug)]
pub struct DashboardRows {
    pub recent: Page<Conversation>,
    /// Absent unless [`DashboardQuery::with_archived`].
    pub archived: Option<Page<Conversation>>,
    pub open: Option<(Conversation, MessagePage)>,
    pub preferences: Vec<Preference>,
}
