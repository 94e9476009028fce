//! The throttle's counts: reserve attempts (one statement for every key of an attempt), forget them,
//! sweep them.

use super::Backend;
use crate::error::{DbError, DbResult};

/// What counting an attempt does to a key's row: a key whose window ended starts again at 1 with a
/// new window. `$1` is now, `$2` a new window's end; the keys follow.
macro_rules! count_keys {
    ($($key:literal),+) => {
        concat!(
            "INSERT INTO attempts (key, hits, expires_at) VALUES ",
            count_keys!(@values $($key),+),
            " ON CONFLICT (key) DO UPDATE SET
               hits = CASE WHEN attempts.expires_at <= $1 THEN 1 ELSE attempts.hits + 1 END,
               expires_at = CASE WHEN attempts.expires_at <= $1 THEN excluded.expires_at ELSE attempts.expires_at END
             RETURNING key, hits, expires_at"
        )
    };
    (@values $first:literal $(, $rest:literal)*) => {
        concat!("(", $first, ", 1, $2)" $(, ", (", $rest, ", 1, $2)")*)
    };
}

/// Counts a sign-in attempt: its pair, account and client keys, in one statement. Served by the
/// primary key.
pub const COUNT_THREE: &str = count_keys!("$3", "$4", "$5");
/// Counts an attempt with one key (a client's sign-up or provider sign-in start).
pub const COUNT_ONE: &str = count_keys!("$3");
/// Settles a successful sign-in: its pair (`$1`) and account (`$2`) counts start again, and the
/// client (`$3`) gets its reservation back, so the client's count is of failures only. One
/// statement; a zero count is as good as no row (the next attempt makes it 1) and the sweep takes it.
pub const SETTLE_SUCCESS: &str = "UPDATE attempts SET hits = CASE WHEN key = $3 AND hits > 0 THEN hits - 1 ELSE 0 END
     WHERE key IN ($1, $2, $3)";

/// Deletes one batch of counts whose window ended. Served by `attempts_expires_idx`.
pub const DELETE_EXPIRED_ATTEMPTS: &str =
    "DELETE FROM attempts WHERE key IN (SELECT key FROM attempts WHERE expires_at <= $1 LIMIT $2)";

impl Backend {
    pub(crate) async fn count_attempts(
        &self,
        keys: &[Vec<u8>],
        now: i64,
        window_ends: i64,
    ) -> DbResult<Vec<(Vec<u8>, i64, i64)>> {
        let sql = match keys.len() {
            1 => COUNT_ONE,
            3 => COUNT_THREE,
            n => return Err(DbError::Internal(format!("no statement counts {n} throttle keys"))),
        };
        let mut query = sqlx::query_as::<_, (Vec<u8>, i64, i64)>(sql).bind(now).bind(window_ends);
        for key in keys {
            query = query.bind(key.as_slice());
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    pub(crate) async fn settle_success(&self, pair: &[u8], account: &[u8], client: &[u8]) -> DbResult<()> {
        sqlx::query(SETTLE_SUCCESS).bind(pair).bind(account).bind(client).execute(&self.pool).await?;
        Ok(())
    }

    pub(crate) async fn delete_expired_attempts(&self, now: i64, batch: u32) -> DbResult<u64> {
        let done = sqlx::query(DELETE_EXPIRED_ATTEMPTS).bind(now).bind(i64::from(batch)).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}
