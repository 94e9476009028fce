//! The browser side of the chat gateway: one WebSocket per tab, kept across page navigations, and
//! the reactive state the dashboard draws the live reply from.
//!
//! On the server (and with JavaScript off) there is no socket: [`ChatState::send`] returns false
//! and the composer's form posts normally.

use leptos::prelude::*;
use uuid::Uuid;

use crate::chat_events::{ClientEvent, ServerEvent};

/// A reply being written, as the tab sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveReply {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub text: String,
    pub model: String,
}

/// The chat state every page shares, provided by the app.
#[derive(Clone, Copy)]
pub struct ChatState {
    /// The reply streaming in, if any.
    pub live: RwSignal<Option<LiveReply>>,
    /// Bumped when a reply ends, so pages reload what was saved.
    pub settled: RwSignal<usize>,
    /// The last error the gateway reported.
    pub error: RwSignal<Option<String>>,
    /// True while the socket is open.
    pub connected: RwSignal<bool>,
    /// Set when this tab started a new conversation, to follow it once it has an id.
    pub follow_new: RwSignal<bool>,
    wanted: StoredValue<bool>,
}

impl ChatState {
    /// Creates the state; the socket opens when a signed-in page first asks for it.
    pub fn provide() -> ChatState {
        let state = ChatState {
            live: RwSignal::new(None),
            settled: RwSignal::new(0),
            error: RwSignal::new(None),
            connected: RwSignal::new(false),
            follow_new: RwSignal::new(false),
            wanted: StoredValue::new(false),
        };
        provide_context(state);
        state
    }

    /// Opens the socket (in the browser, once per tab); it then stays open across pages.
    pub fn ensure_connected(&self) {
        if !self.wanted.get_value() {
            self.wanted.set_value(true);
            #[cfg(feature = "hydrate")]
            connect(*self);
        }
    }

    /// Sends an event if the socket is open; false means "use the form instead".
    pub fn send(&self, event: &ClientEvent) -> bool {
        let Ok(text) = serde_json::to_string(event) else { return false };
        socket_send(&text)
    }

    /// Applies one event from the gateway.
    pub fn apply(&self, event: ServerEvent) {
        match event {
            ServerEvent::Started { conversation_id, message_id, model, text, .. } => {
                self.error.set(None);
                self.live.set(Some(LiveReply { conversation_id, message_id, text, model }));
                // Show the user's saved message (and the reply's place) right away.
                self.settled.update(|n| *n += 1);
            }
            ServerEvent::Delta { message_id, text, .. } => self.live.update(|live| {
                if let Some(live) = live.as_mut().filter(|l| l.message_id == message_id) {
                    live.text.push_str(&text);
                }
            }),
            ServerEvent::Finished { message_id, .. } => self.end(message_id),
            ServerEvent::Error { conversation_id, message } => {
                self.error.set(Some(message));
                if conversation_id.is_some() {
                    if let Some(id) = self.live.get_untracked().map(|l| l.message_id) {
                        self.end(id);
                    } else {
                        self.settled.update(|n| *n += 1);
                    }
                }
            }
        }
    }

    fn end(&self, message_id: Uuid) {
        if self.live.get_untracked().is_some_and(|l| l.message_id == message_id) {
            self.live.set(None);
        }
        self.settled.update(|n| *n += 1);
    }
}

/// The chat state of the current app.
pub fn use_chat() -> ChatState {
    use_context::<ChatState>().unwrap_or_else(ChatState::provide)
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

    let on_close = Closure::<dyn FnMut()>::new(move || {
        state.connected.set(false);
        SOCKET.with(|s| s.borrow_mut().take());
        set_timeout(move || connect(state), std::time::Duration::from_secs(2));
    });
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    on_close.forget();

    SOCKET.with(|s| *s.borrow_mut() = Some(ws));
}
