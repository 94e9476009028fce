//! Why a chat request was refused before any reply started.

use mosaic_db::DbError;

/// Why a send was refused. How each becomes an HTTP status and what the user reads is decided in
/// one place, the UI crate's `error` module, for every surface (WebSocket, SSE, pages).
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("No model is configured. Set MOSAIC_PROVIDERS (see the README), or start Mosaic with MOSAIC_DEMO_PROVIDER=1 to try the stand-in model.")]
    NoProvider,
    #[error("Choose a model: no provider has a default model (set MOSAIC_PROVIDER_{}_MODEL, or pick one in the composer).", .0.to_uppercase().replace('-', "_"))]
    NoModelChosen(String),
    #[error("The model {0:?} is not offered by any configured provider. Models are named provider/model, as GET /api/models lists them.")]
    UnknownModel(String),
    #[error("A reply is already being written in this conversation. Wait for it or stop it first.")]
    Busy,
    #[error("You have {0} replies being written already; wait for one to finish or stop one.")]
    TooManyReplies(usize),
    #[error("The server is shutting down; send your message again in a moment.")]
    ShuttingDown,
}
