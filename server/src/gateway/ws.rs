//! The WebSocket at `/ws`: authenticated by the session cookie or an API token and checked for
//! origin at the handshake (by the middleware, like every state-changing request); then JSON events
//! both ways (see [`mosaic_chat::events`]). A read-only token may follow replies but not send or stop
//! them. When the credential the socket was opened with ends (sign-out, revoke, ban, deletion,
//! password change, or the session's idle or absolute expiry), the socket is told why and closed at
//! once with [`CLOSE_SIGNED_OUT`]. A user holds at most [`SOCKETS_PER_USER`] sockets, a frame is no
//! larger than an event may be, and a client sending more than [`EVENTS_PER_SECOND`] is refused.
//!
//! Each client has one bounded outgoing buffer. A client that does not keep up is disconnected
//! rather than buffered without end, and everything a client started (its writer, its listeners)
//! ends when it goes; the replies themselves belong to the server and carry on.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use app::error::AppError;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU16, Ordering};

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use governor::{Quota, RateLimiter};
use mosaic_chat::events::{
    parse_client_event, ClientEvent, ServerEvent, CLOSE_POLICY, CLOSE_SIGNED_OUT, MAX_CLIENT_EVENT_BYTES,
};
use mosaic_chat::Chat;
use mosaic_db::replies::TurnTarget;
use tokio::sync::{broadcast, mpsc, Notify};
use tokio::task::JoinHandle;
use uuid::Uuid;

use app::state::CurrentUser;
use mosaic_db::bus::Signal;
use mosaic_db::Store;

use crate::middleware::Authed;
use crate::ServerState;

/// Events waiting to be written to one client before it counts as too slow.
pub const CLIENT_BUFFER: usize = 256;
/// Sockets one user may hold open at once (tabs, devices, API clients together), unless
/// MOSAIC_SOCKETS_PER_USER says otherwise.
pub const SOCKETS_PER_USER: usize = 16;
/// Events a client may send per second, sustained, and in one burst; more are refused, and a client
/// that keeps sending past its limit is disconnected.
pub const EVENTS_PER_SECOND: u32 = 10;
pub const EVENT_BURST: u32 = 30;
/// Refused events after which a client is disconnected.
const REFUSALS_BEFORE_CLOSE: u32 = 100;

/// What a socket whose credential ended is told before it closes.
pub const ENDED: &str = "Your session has ended (signed out, revoked or suspended). Sign in again.";

/// The sockets each user holds open, so one user cannot hold without end.
#[derive(Clone, Debug)]
pub struct OpenSockets {
    open: Arc<std::sync::Mutex<HashMap<Uuid, usize>>>,
    /// Sockets one user may hold.
    pub limit: usize,
}

/// One open socket, counted until dropped.
pub struct SocketSlot {
    sockets: OpenSockets,
    user_id: Uuid,
}

impl OpenSockets {
    /// No sockets yet; each user may open `limit`.
    pub fn new(limit: usize) -> OpenSockets {
        OpenSockets { open: Arc::default(), limit }
    }

    /// Counts a new socket for `user_id`, unless the user holds `limit` already.
    pub fn open(&self, user_id: Uuid) -> Option<SocketSlot> {
        let mut open = self.open.lock().ok()?;
        let count = open.entry(user_id).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(SocketSlot { sockets: self.clone(), user_id })
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.sockets.open.lock() {
            if let Some(count) = open.get_mut(&self.user_id) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&self.user_id);
                }
            }
        }
    }
}

/// Upgrades to a WebSocket for the signed-in user (the origin was checked by the middleware).
pub async fn handler(State(s): State<ServerState>, Authed(me): Authed, ws: WebSocketUpgrade) -> Response {
    let chat = s.app.chat.clone();
    let store = s.app.store.clone();
    // Listening before checking again: a credential that ended after the middleware read it is
    // either caught here or announced to this listener.
    let revocations = store.revocations().subscribe();
    let ends_at = match store.credential_ends_at(me.credential_id()).await {
        Ok(Some(at)) => at,
        Ok(None) => return AppError::SIGNED_OUT.into_response(),
        Err(e) => return AppError::from(e).into_response(),
    };
    let Some(slot) = s.sockets.open(me.user.id) else {
        return AppError::TooManyRequests {
            message: format!("At most {} live connections per account: close a tab or two.", s.sockets.limit),
            retry_after: 10,
        }
        .into_response();
    };
    // A frame is never larger than an event may be (tungstenite would otherwise buffer 16 MiB).
    ws.max_message_size(MAX_CLIENT_EVENT_BYTES * 2)
        .max_frame_size(MAX_CLIENT_EVENT_BYTES * 2)
        .on_upgrade(move |socket| serve(socket, chat, store, me, revocations, ends_at, slot))
}

/// One connected client.
struct Client {
    user_id: Uuid,
    /// The sign-in session of the socket (the replies' agent logs carry it); none for a token.
    session_id: Option<Uuid>,
    /// Whether the socket may send and stop replies (not with a read-only token).
    can_write: bool,
    chat: Arc<Chat>,
    out: mpsc::Sender<ServerEvent>,
    /// Set when the client must be disconnected (its buffer overflowed).
    kill: Arc<Notify>,
    subscribed: HashSet<Uuid>,
    /// Forwarders of live replies, by reply message id.
    forwarders: HashMap<Uuid, JoinHandle<()>>,
}

impl Client {
    /// Queues an event; a full buffer disconnects the client.
    fn push(&self, event: ServerEvent) {
        if self.out.try_send(event).is_err() {
            self.kill.notify_one();
        }
    }

    fn error(&self, conversation_id: Option<Uuid>, message: impl Into<String>) {
        self.push(ServerEvent::Error { conversation_id, message: message.into() });
    }

    /// Tells the client why a request was refused, in the words of the one error policy.
    fn refused(&self, conversation_id: Option<Uuid>, err: impl Into<AppError>) {
        self.error(conversation_id, err.into().message());
    }

    /// Forwards a reply's events to this client until the reply ends.
    fn forward(&mut self, message_id: Uuid, mut rx: broadcast::Receiver<ServerEvent>) {
        self.forwarders.retain(|_, task| !task.is_finished());
        if self.forwarders.contains_key(&message_id) {
            return;
        }
        let out = self.out.clone();
        let kill = self.kill.clone();
        let task = tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(event) => {
                        let last = event.is_terminal();
                        if out.try_send(event).is_err() {
                            kill.notify_one();
                            return;
                        }
                        if last {
                            return;
                        }
                    }
                    // Fell behind the reply: this client cannot show it correctly any more.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        kill.notify_one();
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        self.forwarders.insert(message_id, task);
    }

    /// Joins the live reply of a conversation (written here or on another instance), if any.
    async fn join(&mut self, conversation_id: Uuid) {
        if let Ok(Some(live)) = self.chat.follow(self.user_id, conversation_id).await {
            self.show(live);
        }
    }

    /// Shows a live reply from its snapshot on, unless this client already follows it.
    fn show(&mut self, (snapshot, rx): (ServerEvent, broadcast::Receiver<ServerEvent>)) {
        let ServerEvent::Started { message_id, .. } = snapshot else { return };
        if self.forwarders.get(&message_id).is_some_and(|t| !t.is_finished()) {
            return;
        }
        self.push(snapshot);
        self.forward(message_id, rx);
    }

    async fn handle(&mut self, event: ClientEvent) {
        match event {
            ClientEvent::Subscribe { conversation_id } => match self.chat.follow(self.user_id, conversation_id).await {
                Ok(live) => {
                    self.subscribed.insert(conversation_id);
                    if let Some(live) = live {
                        self.show(live);
                    }
                }
                Err(err) => self.refused(Some(conversation_id), err),
            },
            ClientEvent::Send { conversation_id, .. } if !self.can_write => self.error(conversation_id, READ_ONLY),
            ClientEvent::Abort { conversation_id } if !self.can_write => self.error(Some(conversation_id), READ_ONLY),
            ClientEvent::Abort { conversation_id } => match self.chat.abort(self.user_id, conversation_id).await {
                Ok(true) => {}
                Ok(false) => self.error(Some(conversation_id), "No reply is being written in that conversation."),
                Err(err) => self.refused(Some(conversation_id), err),
            },
            ClientEvent::Send { conversation_id, content, model } => {
                let target = TurnTarget::for_message(conversation_id, &content);
                match self.chat.send(self.user_id, self.session_id, target, content, model).await {
                    Ok(started) => {
                        self.subscribed.insert(started.conversation_id);
                        self.show((started.first, started.events));
                    }
                    Err(err) => self.refused(conversation_id, err),
                }
            }
        }
    }
}

/// What a read-only token's socket is told when it tries to send or stop.
const READ_ONLY: &str = "This token can only read; create a read-and-write token to send messages.";

/// The sleep until `at` (microseconds since the epoch), capped so a far expiry does not overflow.
fn until(at: i64) -> tokio::time::Sleep {
    let left = u64::try_from(at.saturating_sub(mosaic_db::clock::now_micros())).unwrap_or(0);
    tokio::time::sleep(Duration::from_micros(left).min(Duration::from_secs(365 * 24 * 3600)))
}

async fn serve(
    socket: WebSocket,
    chat: Arc<Chat>,
    store: Store,
    me: CurrentUser,
    mut revocations: broadcast::Receiver<Signal>,
    ends_at: i64,
    _slot: SocketSlot,
) {
    // The socket lives as long as its credential: at the moment the session (idle or absolute) or
    // token expires, it asks again (other requests may have extended the session) and closes if so.
    let expired = until(ends_at);
    tokio::pin!(expired);
    let (mut sink, mut stream) = socket.split();
    let (out, mut rx) = mpsc::channel::<ServerEvent>(CLIENT_BUFFER);
    let kill = Arc::new(Notify::new());
    // How the socket closes: normally, or "signed out" (the page stops reconnecting).
    let close_code = Arc::new(AtomicU16::new(close_code::NORMAL));
    let writer_close = close_code.clone();
    let mut writer: JoinHandle<()> = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let Ok(text) = serde_json::to_string(&event) else { continue };
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
        let code = writer_close.load(Ordering::Relaxed);
        let reason = if code == CLOSE_SIGNED_OUT { "signed out" } else { "" };
        let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
        let _ = sink.close().await;
    });
    let limiter = RateLimiter::direct(
        Quota::per_second(NonZeroU32::new(EVENTS_PER_SECOND).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(EVENT_BURST).unwrap_or(NonZeroU32::MIN)),
    );
    let mut refusals = 0u32;
    let signed_out = |client: &Client| {
        client.error(None, ENDED);
        close_code.store(CLOSE_SIGNED_OUT, Ordering::Relaxed);
    };
    let mut starts = chat.starts();
    let user_id = me.user.id;
    let mut client = Client {
        user_id,
        session_id: me.session_id(),
        can_write: me.can_write(),
        chat,
        out,
        kill: kill.clone(),
        subscribed: HashSet::new(),
        forwarders: HashMap::new(),
    };
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(_) | Message::Binary(_))) if limiter.check().is_err() => {
                    refusals += 1;
                    if refusals >= REFUSALS_BEFORE_CLOSE {
                        close_code.store(CLOSE_POLICY, Ordering::Relaxed);
                        break;
                    }
                    client.error(None, format!("Slow down: at most {EVENTS_PER_SECOND} events a second."));
                }
                Some(Ok(Message::Text(text))) => match parse_client_event(text.as_str()) {
                    Ok(event) => client.handle(event).await,
                    Err(problem) => client.error(None, problem),
                },
                Some(Ok(Message::Binary(_))) => client.error(None, "send events as JSON text frames"),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            },
            // Another tab started a reply in a conversation this client follows.
            started = starts.recv() => match started {
                Ok((conversation_id, owner)) if owner == user_id && client.subscribed.contains(&conversation_id) => {
                    client.join(conversation_id).await;
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
            revoked = revocations.recv() => match revoked {
                Ok(Signal::Revoked { revoked }) if me.ended_by(&revoked) => {
                    signed_out(&client);
                    break;
                }
                // Announcements were missed (this instance lagged, or its bus was cut off), ours
                // perhaps among them: ask the database.
                Ok(Signal::Missed) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    if !store.credential_live(me.credential_id()).await.unwrap_or(false) {
                        signed_out(&client);
                        break;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = &mut expired => match store.credential_ends_at(me.credential_id()).await {
                Ok(Some(later)) if later > mosaic_db::clock::now_micros() => expired.set(until(later)),
                _ => {
                    signed_out(&client);
                    break;
                }
            },
            _ = kill.notified() => break,
            _ = &mut writer => break,
        }
    }
    for (_, task) in client.forwarders.drain() {
        task.abort();
    }
    // The last sender goes with the client: the writer sends what is queued, then the close frame.
    drop(client);
    if tokio::time::timeout(Duration::from_secs(2), &mut writer).await.is_err() {
        writer.abort();
    }
}
