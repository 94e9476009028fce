//! Chat, in one place: what the browser and the server say to each other, the browser's side of it,
//! and the service that writes replies.
//!
//! - [`events`] (always): the event format of the WebSocket gateway and of `POST /api/chat`.
//! - [`client`] (feature `client`; its socket with `hydrate`): the chat panel's state in the tab.
//! - Feature `server`: [`Chat`], the service that owns replies (they belong to the server, not to the
//!   tab that asked: a closed tab loses nothing), the OpenAI-compatible [`provider`]s, the model pick
//!   ([`models`]) and the [`standin`] model for tests and the demo. The transports that carry events
//!   (WebSocket, SSE) are the server crate's `gateway` module.
//!
//! Like `mosaic-db`, the default build is only what the browser needs, so the wasm never links the
//! service.

pub mod events;

#[cfg(feature = "client")]
pub mod client;

#[cfg(feature = "server")]
mod cluster;
#[cfg(feature = "server")]
mod error;
#[cfg(feature = "server")]
mod fair;
#[cfg(feature = "server")]
mod live;
#[cfg(feature = "server")]
mod mirror;
#[cfg(feature = "server")]
pub mod models;
#[cfg(feature = "server")]
pub mod provider;
#[cfg(feature = "server")]
mod relay;
#[cfg(feature = "server")]
mod service;
#[cfg(feature = "server")]
pub mod standin;

#[cfg(feature = "server")]
pub use error::ChatError;
#[cfg(feature = "server")]
pub use service::{Chat, ChatSettings, Started};
