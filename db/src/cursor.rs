//! Opaque keyset cursors.
//!
//! A cursor is the `(timestamp, id)` of the last row a page returned, plus which listing issued it
//! (its kind and scope, such as the conversation for a message listing). It is sent to clients as
//! URL-safe base64 and checked on the way back in: a cursor from another listing, or bytes that are
//! not a cursor at all, are refused with [`DbError::BadCursor`] instead of silently paging wrongly.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

use crate::error::DbError;

const VERSION: u8 = 1;
const LEN: usize = 1 + 1 + 16 + 8 + 16;

/// Which listing a cursor belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum CursorKind {
    /// A user's conversations, not archived, newest-updated first.
    Conversations = 1,
    /// A user's archived conversations, newest-updated first.
    ArchivedConversations = 2,
    /// A conversation's messages before a point (paging towards older).
    MessagesBefore = 3,
    /// A conversation's messages after a point (paging towards newer).
    MessagesAfter = 4,
    /// A user's agent logs (of one session or all), oldest first.
    SessionLogs = 5,
    /// Summaries of one agent session's logs, oldest first.
    Summaries = 6,
    /// The audit trail, newest first.
    Audit = 7,
    /// The admin console's users, newest first.
    AdminUsers = 8,
    /// Search results, best first (a [`RankCursor`], bound to the query).
    Search = 9,
}

/// A decoded position in a listing: rows strictly after `(at, id)` in the listing's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub id: Uuid,
}

impl Cursor {
    /// The position before every row of a newest-first listing (its first page).
    pub const NEWEST: Cursor = Cursor { at: i64::MAX, id: Uuid::max() };
    /// The position before every row of an oldest-first listing (its first page).
    pub const OLDEST: Cursor = Cursor { at: i64::MIN, id: Uuid::nil() };

    /// Encodes this position for `kind`, bound to `scope` (the parent row, or nil when none).
    pub fn encode(self, kind: CursorKind, scope: Uuid) -> String {
        let mut buf = Vec::with_capacity(LEN);
        buf.push(VERSION);
        buf.push(kind as u8);
        buf.extend_from_slice(scope.as_bytes());
        buf.extend_from_slice(&self.at.to_be_bytes());
        buf.extend_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(buf)
    }

    /// Decodes a client's cursor, refusing anything not issued for `kind` and `scope`.
    pub fn decode(text: &str, kind: CursorKind, scope: Uuid) -> Result<Cursor, DbError> {
        if text.len() > 128 {
            return Err(DbError::BadCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| DbError::BadCursor)?;
        if bytes.len() != LEN || bytes[0] != VERSION || bytes[1] != kind as u8 || bytes[2..18] != scope.as_bytes()[..] {
            return Err(DbError::BadCursor);
        }
        let at = i64::from_be_bytes(bytes[18..26].try_into().map_err(|_| DbError::BadCursor)?);
        let id = Uuid::from_slice(&bytes[26..42]).map_err(|_| DbError::BadCursor)?;
        Ok(Cursor { at, id })
    }

    /// Decodes an optional cursor (absent means "from the start").
    pub fn decode_opt(text: Option<&str>, kind: CursorKind, scope: Uuid) -> Result<Option<Cursor>, DbError> {
        text.filter(|t| !t.is_empty()).map(|t| Cursor::decode(t, kind, scope)).transpose()
    }
}

/// A position in a listing ordered by a score, then `(at, id)`: rows strictly after
/// `(rank, at, id)` in descending order. Encoded like [`Cursor`], with the rank in front.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RankCursor {
    pub rank: i64,
    pub at: i64,
    pub id: Uuid,
}

impl RankCursor {
    /// Encodes this position for `kind`, bound to `scope`.
    pub fn encode(self, kind: CursorKind, scope: Uuid) -> String {
        let inner = Cursor { at: self.at, id: self.id }.encode(kind, scope);
        let mut bytes = URL_SAFE_NO_PAD.decode(inner).unwrap_or_default();
        bytes.extend_from_slice(&self.rank.to_be_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decodes a client's cursor, refusing anything not issued for `kind` and `scope`.
    pub fn decode(text: &str, kind: CursorKind, scope: Uuid) -> Result<RankCursor, DbError> {
        if text.len() > 128 {
            return Err(DbError::BadCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| DbError::BadCursor)?;
        if bytes.len() != LEN + 8 {
            return Err(DbError::BadCursor);
        }
        let Cursor { at, id } = Cursor::decode(&URL_SAFE_NO_PAD.encode(&bytes[..LEN]), kind, scope)?;
        let rank = i64::from_be_bytes(bytes[LEN..].try_into().map_err(|_| DbError::BadCursor)?);
        Ok(RankCursor { rank, at, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Whatever a client sends as a cursor, it decodes to what was issued or is a 400, never a
        /// panic.
        #[test]
        fn any_text_decodes_or_is_refused(text in ".{0,200}", kind in 1u8..=4) {
            let kind = [CursorKind::Conversations, CursorKind::ArchivedConversations, CursorKind::MessagesBefore, CursorKind::MessagesAfter][usize::from(kind - 1)];
            if let Err(e) = Cursor::decode(&text, kind, Uuid::nil()) {
                proptest::prop_assert!(matches!(e, DbError::BadCursor));
            }
        }

        /// Bytes that look like a cursor (right length, base64) but were not issued are refused
        /// unless they happen to be well-formed, and every issued cursor round-trips.
        #[test]
        fn forged_bytes_are_refused_and_issued_ones_round_trip(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), at in proptest::prelude::any::<i64>(), id in proptest::prelude::any::<u128>()) {
            let forged = URL_SAFE_NO_PAD.encode(&bytes);
            let scope = Uuid::from_u128(7);
            if let Ok(c) = Cursor::decode(&forged, CursorKind::Conversations, scope) {
                proptest::prop_assert_eq!(c.encode(CursorKind::Conversations, scope), forged);
            }
            let issued = Cursor { at, id: Uuid::from_u128(id) };
            proptest::prop_assert_eq!(Cursor::decode(&issued.encode(CursorKind::MessagesAfter, scope), CursorKind::MessagesAfter, scope).ok(), Some(issued));
        }
    }

    #[test]
    fn round_trips_and_refuses_other_listings() {
        let scope = Uuid::now_v7();
        let c = Cursor { at: 1_700_000_000_000_000, id: Uuid::now_v7() };
        let text = c.encode(CursorKind::MessagesBefore, scope);
        assert_eq!(Cursor::decode(&text, CursorKind::MessagesBefore, scope).ok(), Some(c));
        assert!(matches!(Cursor::decode(&text, CursorKind::MessagesAfter, scope), Err(DbError::BadCursor)));
        assert!(matches!(Cursor::decode(&text, CursorKind::MessagesBefore, Uuid::now_v7()), Err(DbError::BadCursor)));
        assert!(matches!(
            Cursor::decode("not a cursor!", CursorKind::Conversations, Uuid::nil()),
            Err(DbError::BadCursor)
        ));
        assert!(matches!(Cursor::decode("AAAA", CursorKind::Conversations, Uuid::nil()), Err(DbError::BadCursor)));
    }

    #[test]
    fn a_ranked_cursor_round_trips_and_is_not_a_plain_one() {
        let scope = Uuid::now_v7();
        let c = RankCursor { rank: -42, at: 7, id: Uuid::now_v7() };
        let text = c.encode(CursorKind::Search, scope);
        assert_eq!(RankCursor::decode(&text, CursorKind::Search, scope).ok(), Some(c));
        assert!(matches!(RankCursor::decode(&text, CursorKind::Search, Uuid::now_v7()), Err(DbError::BadCursor)));
        assert!(matches!(Cursor::decode(&text, CursorKind::Search, scope), Err(DbError::BadCursor)));
        let plain = Cursor { at: 7, id: c.id }.encode(CursorKind::Search, scope);
        assert!(matches!(RankCursor::decode(&plain, CursorKind::Search, scope), Err(DbError::BadCursor)));
    }
}
