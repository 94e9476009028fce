//! The data layer's one error type.
//!
//! Policy: variants other than `Sqlx`/`Migrate` carry a message a user can act on and map to a 4xx
//! in the layers above; `Sqlx`/`Migrate` are internal, logged by the caller and never shown.

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
            sqlx::Error::Io(e) => DbError::Unavailable(e.to_string()),
            other => DbError::Sqlx(other),
        }
    }
}

impl DbError {
    /// True for errors caused by the caller's input (as opposed to the database or the code).
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            DbError::NotFound | DbError::Invalid(_) | DbError::BadCursor | DbError::Conflict(_) | DbError::Immutable(_)
        )
    }
}

/// Short for results of data-layer calls.
pub type DbResult<T> = Result<T, DbError>;

/// True when `err` is a unique-constraint violation, on either engine.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error().is_some_and(|e| e.is_unique_violation())
}
