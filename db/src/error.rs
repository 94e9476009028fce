//! The data layer's one error type.
//!
//! Policy: the caller's mistakes (`NotFound`, `Invalid`, `BadCursor`, `Conflict`, `Immutable`) carry
//! a message a user can act on and become 4xx answers; `Unavailable` is the database being out of
//! reach (503); `Internal`, `Sqlx` and `Migrate` are faults of the server (a failed hash, no
//! randomness, a corrupt row, an unexpected driver error), logged by the layer that answers and never
//! shown. The HTTP mapping lives in one place above this crate (`app::error`).

/// Everything a data-layer call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The row does not exist or belongs to another user (the two are indistinguishable on purpose).
    #[error("not found")]
    NotFound,
    /// The caller's input breaks a rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// A cursor that was not issued by this listing, or was tampered with.
    #[error("the cursor is malformed or belongs to another listing")]
    BadCursor,
    /// A unique value is already taken; the message names it.
    #[error("{0}")]
    Conflict(String),
    /// A preference the platform enforces; users cannot change or delete it.
    #[error("the preference {0:?} is managed by the platform and cannot be changed")]
    Immutable(String),
    /// The database could not be reached in time (connect timeout or pool exhausted).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Sign-up is closed and the instance already has users.
    #[error("sign-up is closed on this instance")]
    Closed,
    /// Too much work is waiting already (the password hashing queue is full); try again shortly.
    #[error("{0}")]
    Busy(String),
    /// A fault inside the server that is no fault of the caller: password hashing failed, the system
    /// had no randomness, a stored row could not be read back.
    #[error("internal error: {0}")]
    Internal(String),
    /// Anything else the driver reported.
    #[error("database error: {0}")]
    Sqlx(sqlx::Error),
    /// A migration failed to apply.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for DbError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => DbError::NotFound,
            sqlx::Error::PoolTimedOut => DbError::Unavailable("no connection became free in time".into()),
            sqlx::Error::PoolClosed => DbError::Unavailable("the connection pool is closed".into()),
            sqlx::Error::Io(e) => DbError::Unavailable(e.to_string()),
            // PostgreSQL cannot store U+0000 in text (22021) or in jsonb (22P05); SQLite can. Bad
            // input, refused by the statement that met it, so nothing was changed.
            other if other.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "22021" || c == "22P05") => {
                DbError::Invalid("text cannot contain the NUL character (U+0000)".into())
            }
            other => DbError::Sqlx(other),
        }
    }
}

/// Short for results of data-layer calls.
pub type DbResult<T> = Result<T, DbError>;

/// True when `err` is a unique-constraint violation, on either engine.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error().is_some_and(|e| e.is_unique_violation())
}

/// Maps a write that names a row which is not there (a foreign-key violation: the user, or the
/// conversation, was deleted) to [`DbError::NotFound`], and any other error as usual.
pub(crate) fn missing_parent_is_not_found(err: sqlx::Error) -> DbError {
    if err.as_database_error().is_some_and(|d| d.is_foreign_key_violation()) {
        DbError::NotFound
    } else {
        err.into()
    }
}
