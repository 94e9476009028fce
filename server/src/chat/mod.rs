//! Chat: replies streamed from model providers, owned by the server.
//!
//! A reply is a task of its own, not of the socket that asked for it: it keeps running when the tab
//! closes, saves its text as it goes (marked incomplete until it finishes), and anyone who opens the
//! conversation mid-way joins the live stream where it is. The user's message is saved before the
//! provider is asked, so a failing provider never loses it.

/// The event format lives with the UI, which speaks it too.
pub use app::chat_events as events;
pub mod provider;
pub mod rest;
pub mod standin;
pub mod ws;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mosaic_db::messages::NewMessage;
use mosaic_db::model::{MessageQuery, MessageRole};
use mosaic_db::{DbError, Store};
use serde_json::json;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use events::{ServerEvent, Usage};
use provider::{Piece, Provider, ProviderError, Turn};

/// Save a reply's partial text at least this often while it streams.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// Events buffered per conversation for slow subscribers before they are dropped.
const EVENT_BUFFER: usize = 1024;

/// Chat settings from the configuration.
#[derive(Clone, Debug)]
pub struct ChatSettings {
    /// Characters of history sent with each request; the newest turns are kept.
    pub history_chars: usize,
}

/// Why a chat request was refused before any reply started.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("No model is configured. Set MOSAIC_PROVIDERS (see the README), or start Mosaic with MOSAIC_DEMO_PROVIDER=1 to try the stand-in model.")]
    NoProvider,
    #[error("The model {0:?} is not offered by any configured provider.")]
    UnknownModel(String),
    #[error("A reply is already being written in this conversation. Wait for it or stop it first.")]
    Busy,
}

/// A reply being written right now.
struct Live {
    user_id: Uuid,
    message_id: Uuid,
    title: String,
    model: String,
    provider: String,
    /// The text so far; held while broadcasting so a new subscriber's snapshot never misses a piece.
    text: Mutex<String>,
    events: broadcast::Sender<ServerEvent>,
    abort: watch::Sender<bool>,
}

/// The chat service: providers, and the replies in progress.
pub struct Chat {
    pub(crate) store: Store,
    providers: Vec<Arc<Provider>>,
    settings: ChatSettings,
    live: Mutex<HashMap<Uuid, Arc<Live>>>,
    /// Announces each reply that starts, as (conversation, owner), so every open tab of the owner
    /// that follows the conversation can join it.
    pub(crate) starts: broadcast::Sender<(Uuid, Uuid)>,
}

/// A started reply: its conversation and a receiver of its events (the first one is `Started`).
pub struct Started {
    pub conversation_id: Uuid,
    pub events: broadcast::Receiver<ServerEvent>,
    pub first: ServerEvent,
}

impl Chat {
    /// A chat service over `providers` (possibly none: the app still works, replies are refused).
    pub fn new(store: Store, providers: Vec<Arc<Provider>>, settings: ChatSettings) -> Arc<Chat> {
        let (starts, _) = broadcast::channel(256);
        Arc::new(Chat { store, providers, settings, live: Mutex::new(HashMap::new()), starts })
    }

    /// The configured providers.
    pub fn providers(&self) -> &[Arc<Provider>] {
        &self.providers
    }

    /// How many replies are being written right now (for tests and health).
    pub fn live_count(&self) -> usize {
        self.live.lock().map(|l| l.len()).unwrap_or(0)
    }

    /// Every model on offer as `provider/model`, read from each provider's `/models` (cached).
    /// A provider that cannot list its models offers its default model only.
    pub async fn models(&self) -> Vec<String> {
        let mut all = Vec::new();
        for p in &self.providers {
            match p.models().await {
                Ok(models) => all.extend(models.into_iter().map(|m| format!("{}/{m}", p.config.name))),
                Err(e) => {
                    tracing::warn!(provider = %p.config.name, error = %e, "cannot list models");
                    all.extend(p.config.default_model.iter().map(|m| format!("{}/{m}", p.config.name)));
                }
            }
        }
        all
    }

    /// The models on offer right now, without waiting on any provider: each provider's cached list
    /// (refreshed in the background when stale), or its default model until the list has arrived.
    /// Pages call this, so a slow provider never slows a page.
    pub async fn models_now(self: &Arc<Self>) -> Vec<String> {
        let mut all = Vec::new();
        for p in &self.providers {
            let (cached, stale) = p.cached_models().await;
            if stale {
                let p = p.clone();
                tokio::spawn(async move {
                    if let Err(e) = p.models().await {
                        tracing::warn!(provider = %p.config.name, error = %e, "cannot list models");
                    }
                });
            }
            match cached {
                Some(models) => all.extend(models.into_iter().map(|m| format!("{}/{m}", p.config.name))),
                None => all.extend(p.config.default_model.iter().map(|m| format!("{}/{m}", p.config.name))),
            }
        }
        all
    }

    /// Picks the provider and model for `choice` (`provider/model`, a bare model, or none for the
    /// first provider's default).
    fn pick(&self, choice: Option<&str>) -> Result<(Arc<Provider>, String), ChatError> {
        let first = self.providers.first().ok_or(ChatError::NoProvider)?;
        let Some(choice) = choice.filter(|c| !c.is_empty()) else {
            let model = first.config.default_model.clone().ok_or_else(|| ChatError::UnknownModel(String::new()))?;
            return Ok((first.clone(), model));
        };
        if let Some((name, model)) = choice.split_once('/') {
            if let Some(p) = self.providers.iter().find(|p| p.config.name == name) {
                return Ok((p.clone(), model.to_string()));
            }
        }
        // A bare model name: the provider whose default it is, else the first provider.
        let p = self.providers.iter().find(|p| p.config.default_model.as_deref() == Some(choice)).unwrap_or(first);
        Ok((p.clone(), choice.to_string()))
    }

    /// Joins the reply in progress in a conversation the user owns: a snapshot event with the text
    /// so far, and the receiver of what follows. `None` when no reply is being written.
    pub fn join(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
    ) -> Option<(ServerEvent, broadcast::Receiver<ServerEvent>)> {
        let live = self.live.lock().ok()?.get(&conversation_id).filter(|l| l.user_id == user_id).cloned()?;
        let text = live.text.lock().ok()?;
        let rx = live.events.subscribe();
        let snapshot = ServerEvent::Started {
            conversation_id,
            message_id: live.message_id,
            user_message_id: None,
            title: live.title.clone(),
            model: live.model.clone(),
            provider: live.provider.clone(),
            text: text.clone(),
        };
        Some((snapshot, rx))
    }

    /// Stops the reply in a conversation the user owns; its text so far is saved, marked incomplete.
    /// Returns false when there was none.
    pub fn abort(&self, user_id: Uuid, conversation_id: Uuid) -> bool {
        let live =
            self.live.lock().ok().and_then(|l| l.get(&conversation_id).filter(|l| l.user_id == user_id).cloned());
        live.is_some_and(|l| l.abort.send(true).is_ok())
    }

    /// Saves the user's message (creating the conversation when `conversation_id` is none) and
    /// starts the reply. The message is saved before anything can fail on the provider's side.
    pub async fn send(
        self: &Arc<Self>,
        user_id: Uuid,
        conversation_id: Option<Uuid>,
        content: String,
        model: Option<String>,
    ) -> Result<Started, ChatError> {
        mosaic_db::messages::check_content(&content)?;
        let conversation = match conversation_id {
            Some(id) => self.store.get_conversation(user_id, id).await?,
            None => {
                self.store.create_conversation(user_id, &app::api::conversations::title_from_message(&content)).await?
            }
        };
        let id = conversation.id;
        if self.live.lock().map(|l| l.contains_key(&id)).unwrap_or(false) {
            return Err(ChatError::Busy);
        }
        let user_message = self
            .store
            .append_message(
                user_id,
                id,
                NewMessage { role: MessageRole::User, content, metadata: json!({}), complete: true },
            )
            .await?;
        let choice = match model {
            Some(m) => Some(m),
            None => self.remembered_model(user_id).await,
        };
        let (provider, model) = self.pick(choice.as_deref())?;
        let history = self.history(user_id, id).await?;
        let meta = json!({ "model": model, "provider": provider.config.name });
        let reply = self.store.start_reply(user_id, id, &meta).await?;
        let (events, rx) = broadcast::channel(EVENT_BUFFER);
        let (abort, abort_rx) = watch::channel(false);
        let live = Arc::new(Live {
            user_id,
            message_id: reply.id,
            title: conversation.title.clone(),
            model: model.clone(),
            provider: provider.config.name.clone(),
            text: Mutex::new(String::new()),
            events,
            abort,
        });
        {
            let mut map = self.live.lock().map_err(|_| ChatError::Busy)?;
            if map.contains_key(&id) {
                return Err(ChatError::Busy);
            }
            map.insert(id, live.clone());
        }
        let _ = self.starts.send((id, user_id));
        let first = ServerEvent::Started {
            conversation_id: id,
            message_id: reply.id,
            user_message_id: Some(user_message.id),
            title: conversation.title,
            model,
            provider: provider.config.name.clone(),
            text: String::new(),
        };
        let chat = self.clone();
        tokio::spawn(async move { chat.generate(id, live, provider, history, abort_rx).await });
        Ok(Started { conversation_id: id, events: rx, first })
    }

    async fn remembered_model(&self, user_id: Uuid) -> Option<String> {
        let prefs = self.store.effective_preferences(user_id).await.ok()?;
        prefs.into_iter().find(|p| p.key == "chat.model").and_then(|p| p.value.as_str().map(str::to_string))
    }

    /// The conversation's latest turns, newest kept, within the history budget.
    async fn history(&self, user_id: Uuid, conversation_id: Uuid) -> Result<Vec<Turn>, DbError> {
        let page = self
            .store
            .list_messages(user_id, conversation_id, &MessageQuery { limit: 100, ..Default::default() })
            .await?;
        let mut budget = self.settings.history_chars;
        let mut turns = Vec::new();
        for m in page.items.iter().rev() {
            if m.content.is_empty() {
                continue;
            }
            let cost = m.content.chars().count();
            if cost > budget && !turns.is_empty() {
                break;
            }
            budget = budget.saturating_sub(cost);
            let role = match m.role {
                MessageRole::User => "user",
                MessageRole::Assistant => "assistant",
                MessageRole::System => "system",
            };
            // A single message longer than the whole budget is cut to its newest part.
            let content = if cost > self.settings.history_chars {
                m.content.chars().skip(cost - self.settings.history_chars).collect()
            } else {
                m.content.clone()
            };
            turns.push(Turn { role, content });
        }
        turns.reverse();
        Ok(turns)
    }

    /// Runs one reply to its end: stream, save as it goes, save at the end, tell subscribers.
    async fn generate(
        self: Arc<Self>,
        id: Uuid,
        live: Arc<Live>,
        provider: Arc<Provider>,
        history: Vec<Turn>,
        mut abort: watch::Receiver<bool>,
    ) {
        let mut usage = Usage::default();
        let mut last_save = Instant::now();
        let outcome: Result<bool, ProviderError> = async {
            let mut stream = tokio::select! {
                s = provider.stream(&live.model, &history) => s?,
                _ = abort.changed() => return Ok(false),
            };
            loop {
                let next = tokio::select! {
                    n = stream.next() => n?,
                    _ = abort.changed() => return Ok(false),
                };
                let Some(pieces) = next else { return Ok(true) };
                for piece in pieces {
                    match piece {
                        Piece::Usage(u) => usage = u,
                        Piece::Text(t) => {
                            if let Ok(mut text) = live.text.lock() {
                                text.push_str(&t);
                                let _ = live.events.send(ServerEvent::Delta {
                                    conversation_id: id,
                                    message_id: live.message_id,
                                    text: t,
                                });
                            }
                        }
                    }
                }
                if last_save.elapsed() >= SAVE_EVERY {
                    last_save = Instant::now();
                    self.save(id, &live, false, &usage, None).await;
                }
            }
        }
        .await;
        // Leave the registry first, so a new message can start as soon as subscribers hear the end.
        if let Ok(mut map) = self.live.lock() {
            map.remove(&id);
        }
        match outcome {
            Ok(complete) => {
                self.save(id, &live, complete, &usage, (!complete).then_some("stopped")).await;
                let _ = live.events.send(ServerEvent::Finished {
                    conversation_id: id,
                    message_id: live.message_id,
                    model: live.model.clone(),
                    provider: live.provider.clone(),
                    usage,
                    complete,
                });
            }
            Err(err) => {
                let message = capitalise(&err.to_string());
                self.save(id, &live, false, &usage, Some(&message)).await;
                let _ = live.events.send(ServerEvent::Error { conversation_id: Some(id), message });
            }
        }
    }

    async fn save(&self, id: Uuid, live: &Live, complete: bool, usage: &Usage, error: Option<&str>) {
        let text = live.text.lock().map(|t| t.clone()).unwrap_or_default();
        let mut meta = json!({
            "model": live.model,
            "provider": live.provider,
            "tokenUsage": { "input": usage.input, "output": usage.output },
            "timestamp": mosaic_db::clock::now_micros(),
        });
        if let Some(e) = error {
            meta["error"] = json!(e);
        }
        if let Err(e) = self.store.save_reply(id, live.message_id, &text, complete, &meta).await {
            tracing::error!(conversation = %id, error = %e, "could not save a reply");
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str() + ".").unwrap_or_default()
}
