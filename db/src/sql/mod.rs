//! The SQL of every operation, written once and compiled once per engine.
//!
//! `sqlite.rs` and `postgres.rs` each declare this module (`#[path = "sql/mod.rs"] pub mod sql;`)
//! next to their own [`Db`] (the sqlx database type) and [`Backend`] (their store type), so every
//! file here is an ordinary, formatted `impl Backend` block whose statements run on both engines.
//! The statements are written in the dialect both accept (`$n` placeholders, row values,
//! `ON CONFLICT`, `RETURNING`). Rules that need no database (validation, defaults) live in the
//! concern's own module at the crate root; the statements live here, each next to the function that
//! runs it, the hot ones as named constants so the index test EXPLAINs exactly what runs.

pub(crate) use super::{Backend, Db};

pub mod accounts;
pub mod admin;
pub mod agent_logs;
pub mod api_tokens;
pub mod audit;
pub mod conversations;
pub mod dashboard;
pub mod gc;
pub mod jobs;
pub mod messages;
pub mod portability;
pub mod preferences;
pub mod replies;
pub mod search;
pub mod sessions;
pub mod throttle;
pub mod users;
