//! The browser side of the chat gateway: the tab's WebSocket and the reactive state the chat panel
//! draws the live reply from.
//!
//! On the server (and with JavaScript off) there is no socket: [`ChatState::send`] returns false
//! and the composer's form posts normally.

use leptos::prelude::*;
use uuid::Uuid;

use crate::events::{ClientEvent, ServerEvent};

/// A reply being written, as the tab sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveReply {
    pub message_id: Uuid,
    pub text: String,
    pub model: String,
    /// The reply has ended; it stays on screen until the saved copy has been fetched.
    pub done: bool,
}

/// The chat state of one open conversation, owned by its chat panel.
#[derive(Clone, Copy)]
pub struct ChatState {
    /// The conversation on screen; events about others are ignored.
    pub conversation: Uuid,
    /// The reply streaming in, if any.
    pub live: RwSignal<Option<LiveReply>>,
    /// Bumped whenever the saved conversation changed (a reply started or ended), so the panel
    /// fetches what was saved.
    pub settled: RwSignal<usize>,
    /// The last refusal the gateway reported (a send while a reply is running, say).
    pub error: RwSignal<Option<String>>,
    /// True while the socket is open.
    pub connected: RwSignal<bool>,
}

impl ChatState {
    /// Creates the state for `conversation` and, in the browser, opens the socket.
    pub fn new(conversation: Uuid) -> ChatState {
        let state = ChatState {
            conversation,
            live: RwSignal::new(None),
            settled: RwSignal::new(0),
            error: RwSignal::new(None),
            connected: RwSignal::new(false),
        };
        #[cfg(feature = "hydrate")]
        connect(state);
        state
    }

    /// Sends an event if the socket is open; false means "use the form instead".
    pub fn send(&self, event: &ClientEvent) -> bool {
        let Ok(text) = serde_json::to_string(event) else { return false };
        socket_send(&text)
    }

    /// Applies one event from the gateway.
    pub fn apply(&self, event: ServerEvent) {
        if event.conversation().is_some_and(|id| id != self.conversation) {
            return;
        }
        match event {
            ServerEvent::Started { message_id, model, text, .. } => {
                self.error.set(None);
                self.live.set(Some(LiveReply { message_id, text, model, done: false }));
                // Show the user's saved message (and the reply's place) right away.
                self.settled.update(|n| *n += 1);
            }
            ServerEvent::Delta { message_id, text, .. } => self.live.update(|live| {
                if let Some(live) = live.as_mut().filter(|l| l.message_id == message_id) {
                    live.text.push_str(&text);
                }
            }),
            // How it ended (stopped, failed and why) shows on the saved copy the panel fetches next.
            ServerEvent::Finished { .. } => self.end(),
            // A refused request; a reply in progress, if any, carries on.
            ServerEvent::Error { message, .. } => self.error.set(Some(message)),
        }
    }

    fn end(&self) {
        self.live.update(|live| {
            if let Some(live) = live.as_mut() {
                live.done = true;
            }
        });
        self.settled.update(|n| *n += 1);
    }
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// The tab's socket. The browser runs this code on one thread; the server never opens one.
    static SOCKET: std::cell::RefCell<Option<web_sys::WebSocket>> = const { std::cell::RefCell::new(None) };
}

#[cfg(feature = "hydrate")]
fn socket_send(text: &str) -> bool {
    SOCKET.with(|s| {
        s.borrow()
            .as_ref()
            .is_some_and(|ws| ws.ready_state() == web_sys::WebSocket::OPEN && ws.send_with_str(text).is_ok())
    })
}

#[cfg(not(feature = "hydrate"))]
fn socket_send(_text: &str) -> bool {
    false
}

/// Opens the socket and keeps it open: a closed socket is reopened after a short pause.
#[cfg(feature = "hydrate")]
fn connect(state: ChatState) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let Some(location) = web_sys::window().map(|w| w.location()) else { return };
    let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
    let Ok(host) = location.host() else { return };
    let Ok(ws) = web_sys::WebSocket::new(&format!("{scheme}://{host}/ws")) else { return };

    let on_open = Closure::<dyn FnMut()>::new(move || state.connected.set(true));
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    on_open.forget();

    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        if let Some(text) = e.data().as_string() {
            if let Ok(event) = serde_json::from_str::<ServerEvent>(&text) {
                state.apply(event);
            }
        }
    });
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();

    let on_close = Closure::<dyn FnMut(web_sys::CloseEvent)>::new(move |e: web_sys::CloseEvent| {
        state.connected.set(false);
        SOCKET.with(|s| s.borrow_mut().take());
        if e.code() == crate::events::CLOSE_SIGNED_OUT {
            // Reconnecting would only be refused: say so and stay closed.
            state.error.set(Some("You are signed out. Sign in again to keep chatting.".into()));
            return;
        }
        set_timeout(move || connect(state), std::time::Duration::from_secs(2));
    });
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    on_close.forget();

    SOCKET.with(|s| *s.borrow_mut() = Some(ws));
}
