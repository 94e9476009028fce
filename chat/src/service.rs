//! The chat service: replies streamed from model providers, owned by the server.
//!
//! A reply is a task of its own, not of the socket that asked for it: it keeps running when the tab
//! closes, saves its text as it goes (state `Streaming`), and anyone who opens the conversation
//! mid-way joins the live stream where it is. A send reads what it needs on one connection, holds
//! the conversation's live slot, then saves the user's message and the reply's row in one write
//! transaction (see `mosaic_db::replies`): two pool checkouts before the provider is asked, and
//! never a message without its reply or a reply without its message.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mosaic_db::agent_logs::NewAgentLog;
use mosaic_db::bus::{Bus, Signal};
use mosaic_db::messages::check_content;
use mosaic_db::model::{LogLevel, Message, MessageRole, ReplyState, Tier};
use mosaic_db::replies::{NewTurn, TurnTarget, TOO_MANY_REPLIES};
use mosaic_db::{DbError, Store};
use serde_json::json;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::events::{ServerEvent, Usage};
use crate::live::{Live, LiveReplies, Stop};
use crate::mirror::Mirrors;
use crate::models;
use crate::provider::{Ask, Piece, PromptMessage, Provider, ProviderError};
use crate::relay::Relay;
use crate::ChatError;

/// Save a reply's partial text at least this often while it streams.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// Events buffered per reply for slow subscribers before they are dropped.
const EVENT_BUFFER: usize = 1024;

/// Chat settings from the configuration.
#[derive(Clone, Debug)]
pub struct ChatSettings {
    /// Characters of history sent with each request; the newest turns are kept.
    pub history_chars: usize,
    /// Replies one user may have written at once, over all conversations (MOSAIC_REPLIES_PER_USER).
    pub replies_per_user: usize,
    /// The longest reply kept, in characters (MOSAIC_REPLY_MAX_CHARS): a model that loops is cut
    /// there and the reply saved complete with reason "length".
    pub reply_max_chars: usize,
    /// Sent to the provider as `max_tokens` (MOSAIC_REPLY_MAX_TOKENS).
    pub reply_max_tokens: u32,
    /// The longest a reply may take from its send (MOSAIC_REPLY_MAX_SECS); then it is stopped,
    /// its text so far saved.
    pub reply_max_time: Duration,
    /// How long an instance's lease on its replies lasts (MOSAIC_LEASE_SECS): renewed every third
    /// of it; a reply whose instance stopped renewing is settled as interrupted by another instance
    /// within about one and a third of it.
    pub lease: Duration,
}

/// The chat service: providers, and the replies in progress. Pages, the WebSocket gateway and
/// `POST /api/chat` all reach it through the same `Arc<Chat>`.
pub struct Chat {
    pub(crate) store: Store,
    providers: Vec<Arc<Provider>>,
    pub(crate) settings: ChatSettings,
    pub(crate) live: Arc<LiveReplies>,
    /// Set once shutdown began: new sends are refused.
    closing: std::sync::atomic::AtomicBool,
    /// Announces each reply that starts on any instance, as (conversation, owner), so every open tab
    /// of the owner that follows the conversation can join it.
    pub(crate) starts: broadcast::Sender<(Uuid, Uuid)>,
    /// Signals to and from the other instances sharing the database.
    pub(crate) bus: Bus,
    /// Replies other instances write that tabs here follow.
    pub(crate) mirrors: Mirrors,
}

/// A started reply: its conversation and a receiver of its events (the first one is `Started`).
pub struct Started {
    pub conversation_id: Uuid,
    pub events: broadcast::Receiver<ServerEvent>,
    pub first: ServerEvent,
}

impl Chat {
    /// A chat service over `providers` (possibly none: the app still works, replies are refused).
    /// Inside a runtime, it starts following the bus and, when other instances may share the
    /// database, keeping this instance's lease (see [`crate::cluster`]).
    pub fn new(store: Store, providers: Vec<Arc<Provider>>, settings: ChatSettings) -> Arc<Chat> {
        let (starts, _) = broadcast::channel(256);
        let bus = store.bus().clone();
        let chat = Arc::new(Chat {
            store,
            providers,
            settings,
            live: Arc::default(),
            closing: Default::default(),
            starts,
            bus,
            mirrors: Mirrors::default(),
        });
        crate::cluster::start(&chat);
        chat
    }

    /// The configured providers.
    pub fn providers(&self) -> &[Arc<Provider>] {
        &self.providers
    }

    /// How many replies are being written right now (for tests and health).
    pub fn live_count(&self) -> usize {
        self.live.writing()
    }

    /// The announcements of replies that start, as (conversation, owner).
    pub fn starts(&self) -> broadcast::Receiver<(Uuid, Uuid)> {
        self.starts.subscribe()
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
    pub async fn models_now(&self) -> Vec<String> {
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

    /// Joins the reply in progress in a conversation the user owns, written here or followed here
    /// from another instance: a snapshot event with the text so far, and the receiver of what
    /// follows. `None` when no such reply is known here (see [`Chat::follow`]).
    pub fn join(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
    ) -> Option<(ServerEvent, broadcast::Receiver<ServerEvent>)> {
        let Some(live) = self.live.get(user_id, conversation_id) else {
            return self.mirrors.join(user_id, conversation_id);
        };
        let text = live.text.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
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

    /// Starts following one of the user's conversations: checks it is theirs and joins the reply
    /// in progress there, if any. Another user's conversation is [`DbError::NotFound`].
    pub async fn follow(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
    ) -> Result<Option<(ServerEvent, broadcast::Receiver<ServerEvent>)>, ChatError> {
        // A live reply of theirs proves it is theirs; otherwise ask the database.
        if let Some(joined) = self.join(user_id, conversation_id) {
            return Ok(Some(joined));
        }
        let conversation = self.store.get_conversation(user_id, conversation_id).await?;
        if !self.bus.shared() {
            return Ok(self.join(user_id, conversation_id));
        }
        // Another instance may be writing it: follow it from its saved text, and ask the writer to
        // save now, so the pieces sent since its last save fill in.
        match self.store.live_reply(user_id, conversation_id).await? {
            Some(reply) if self.live.get(user_id, conversation_id).is_none() => {
                let message = reply.id;
                let joined = self.mirrors.follow(user_id, conversation.title, reply);
                self.bus.publish(Signal::Flush { message });
                Ok(Some(joined))
            }
            _ => Ok(self.join(user_id, conversation_id)),
        }
    }

    /// Stops the reply in a conversation the user owns, on whichever instance writes it; its text
    /// so far is saved as stopped. Returns false when there was none.
    pub async fn abort(&self, user_id: Uuid, conversation_id: Uuid) -> Result<bool, ChatError> {
        if let Some(live) = self.live.get(user_id, conversation_id) {
            return Ok(live.abort.send(Some(Stop::User)).is_ok());
        }
        if !self.bus.shared() || self.store.live_reply(user_id, conversation_id).await?.is_none() {
            return Ok(false);
        }
        self.bus.publish(Signal::Abort { conversation: conversation_id, user: user_id });
        Ok(true)
    }

    /// Saves the user's message into `target` (an existing conversation of the user's, or a new one:
    /// see [`TurnTarget::for_message`]) and starts the reply. `auth_session` is the sign-in session
    /// that asked: the reply's agent logs carry it, so ending that session demotes them.
    ///
    /// Refused before anything is saved: an invalid message, another user's conversation, a model
    /// not on offer, a conversation whose reply is still being written. When no model can answer
    /// (none configured) the message is saved and the error says why no reply came.
    pub async fn send(
        self: &Arc<Self>,
        user_id: Uuid,
        auth_session: Option<Uuid>,
        target: TurnTarget,
        content: String,
        model: Option<String>,
    ) -> Result<Started, ChatError> {
        check_content(&content)?;
        if self.is_closing() {
            return Err(ChatError::ShuttingDown);
        }
        // Checkout 1: the ownership check, the remembered model and the history.
        let context = self.store.turn_context(user_id, &target).await?;
        let pick = match models::choose(&self.providers, model.as_deref(), context.remembered_model.as_deref()).await {
            Err(refused @ ChatError::UnknownModel(_)) => return Err(refused),
            pick => pick,
        };
        // Hold the conversation before writing: of two sends racing in, one writes, one is busy.
        let reservation = self.live.reserve(user_id, target.id(), self.settings.replies_per_user)?;
        let reply = pick.as_ref().ok().map(|(p, m)| json!({ "model": m, "provider": p.config.name }));
        // Checkout 2: the message and the reply's row, in one transaction.
        // The database refuses a second live reply in a conversation, whichever instance writes
        // the first: the same answer as the in-process slot gives.
        // The database also holds the user's cap on live replies over every instance.
        let replies_per_user = Some(self.settings.replies_per_user);
        let turn = match self.store.start_turn(user_id, &NewTurn { target, content, reply, replies_per_user }).await {
            Err(DbError::Conflict(why)) if why == TOO_MANY_REPLIES => {
                return Err(ChatError::TooManyReplies(self.settings.replies_per_user))
            }
            Err(DbError::Conflict(_)) => return Err(ChatError::Busy),
            turn => turn?,
        };
        let (provider, model) = pick?;
        let Some(reply) = turn.reply else {
            return Err(DbError::Internal("a turn with a model saved no reply".into()).into());
        };
        let id = turn.conversation.id;
        let prompt = self.prompt(&context.history, &turn.user_message);
        let (events, rx) = broadcast::channel(EVENT_BUFFER);
        let (abort, abort_rx) = watch::channel(None);
        let live = Arc::new(Live {
            user_id,
            auth_session,
            started: Instant::now(),
            started_at: mosaic_db::clock::now_micros(),
            history_messages: prompt.len().saturating_sub(1),
            prompt_chars: prompt.iter().map(|m| m.content.chars().count()).sum(),
            message_id: reply.id,
            title: turn.conversation.title.clone(),
            model: model.clone(),
            provider: provider.config.name.clone(),
            text: Mutex::new(String::new()),
            events,
            abort,
            flush: Default::default(),
        });
        reservation.fill(live.clone());
        if self.is_closing() {
            // Shutdown began while this send was saving its turn: stop it like the others.
            let _ = live.abort.send(Some(Stop::Shutdown));
        }
        self.bus.publish(Signal::Started { conversation: id, owner: user_id });
        let first = ServerEvent::Started {
            conversation_id: id,
            message_id: reply.id,
            user_message_id: Some(turn.user_message.id),
            title: turn.conversation.title,
            model,
            provider: provider.config.name.clone(),
            text: String::new(),
        };
        let chat = self.clone();
        tokio::spawn(async move { chat.generate(id, live, provider, prompt, abort_rx).await });
        Ok(Started { conversation_id: id, events: rx, first })
    }

    /// Whether shutdown has begun.
    fn is_closing(&self) -> bool {
        self.closing.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Shutdown: refuses new sends, stops every reply being written (each is saved as stopped,
    /// "Server shutting down", with its text so far) and waits until they are saved, at most
    /// `within`. Returns how many replies were still unsaved when it gave up.
    pub async fn shut_down(&self, within: Duration) -> usize {
        self.closing.store(true, std::sync::atomic::Ordering::SeqCst);
        let stopped = self.live.all();
        for live in &stopped {
            let _ = live.abort.send(Some(Stop::Shutdown));
        }
        if !stopped.is_empty() {
            tracing::info!(replies = stopped.len(), "stopping replies for shutdown");
        }
        let deadline = Instant::now() + within;
        while self.live.busy() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Followers on other instances hear how the replies ended.
        self.bus.drained(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(500))).await;
        self.live.busy()
    }

    /// What the model is sent: the conversation's latest messages within the history budget,
    /// newest kept, ending with the user's new message.
    fn prompt(&self, history: &[Message], new: &Message) -> Vec<PromptMessage> {
        let budget_chars = self.settings.history_chars;
        let mut budget = budget_chars;
        let mut prompt = Vec::new();
        for m in history.iter().chain(std::iter::once(new)).rev() {
            if m.content.is_empty() {
                continue;
            }
            let cost = m.content.chars().count();
            if cost > budget && !prompt.is_empty() {
                break;
            }
            budget = budget.saturating_sub(cost);
            let role = match m.role {
                MessageRole::User => "user",
                MessageRole::Assistant => "assistant",
                MessageRole::System => "system",
            };
            // A single message longer than the whole budget is cut to its newest part.
            let content = if cost > budget_chars {
                m.content.chars().skip(cost - budget_chars).collect()
            } else {
                m.content.clone()
            };
            prompt.push(PromptMessage { role, content });
        }
        prompt.reverse();
        prompt
    }

    /// Runs one reply to its end: stream, save as it goes, save how it ended, tell subscribers.
    async fn generate(
        self: Arc<Self>,
        id: Uuid,
        live: Arc<Live>,
        provider: Arc<Provider>,
        prompt: Vec<PromptMessage>,
        mut abort: watch::Receiver<Option<Stop>>,
    ) {
        let mut usage = Usage::default();
        let mut last_save = Instant::now();
        let mut first_token: Option<Duration> = None;
        let limits = &self.settings;
        let deadline = tokio::time::Instant::from_std(live.started) + limits.reply_max_time;
        let mut relay = Relay::new(self.bus.clone(), id, live.message_id);
        let outcome: Result<Ending, ProviderError> = async {
            if abort.borrow().is_some() {
                return Ok(Ending::Stopped);
            }
            let ask =
                Ask { user: live.user_id, model: &live.model, prompt: &prompt, max_tokens: limits.reply_max_tokens };
            let mut stream = tokio::select! {
                s = provider.stream(ask) => s?,
                _ = abort.changed() => return Ok(Ending::Stopped),
                _ = tokio::time::sleep_until(deadline) => return Ok(Ending::TimeUp),
            };
            let mut chars = 0;
            let mut cut_by_provider = false;
            loop {
                let next = tokio::select! {
                    n = stream.next() => n?,
                    _ = abort.changed() => return Ok(Ending::Stopped),
                    _ = tokio::time::sleep_until(deadline) => return Ok(Ending::TimeUp),
                    _ = crate::relay::at(relay.due()) => {
                        relay.send();
                        continue;
                    }
                    _ = live.flush.notified() => {
                        // A follower elsewhere joined or missed a piece: everything sent so far is
                        // saved before it is told so.
                        relay.send();
                        self.save(id, &live, &ReplyState::Streaming, &usage).await;
                        self.bus.publish(Signal::Saved { conversation: id, message: live.message_id });
                        continue;
                    }
                };
                let Some(pieces) = next else {
                    return Ok(if cut_by_provider { Ending::Cut } else { Ending::Done });
                };
                for piece in pieces {
                    match piece {
                        Piece::Usage(u) => usage = u,
                        Piece::CutAtLength => cut_by_provider = true,
                        Piece::Text(mut t) => {
                            let (room, len) = (limits.reply_max_chars - chars, t.chars().count());
                            let over = len > room;
                            if over {
                                t = t.chars().take(room).collect();
                            }
                            chars += len.min(room);
                            if !t.is_empty() {
                                first_token.get_or_insert_with(|| live.started.elapsed());
                                let mut text = live.text.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                                text.push_str(&t);
                                relay.push(&t);
                                let _ = live.events.send(ServerEvent::Delta {
                                    conversation_id: id,
                                    message_id: live.message_id,
                                    text: t,
                                });
                            }
                            if over {
                                // Dropping the stream closes the request: the provider stops too.
                                return Ok(Ending::Cut);
                            }
                        }
                    }
                }
                if last_save.elapsed() >= SAVE_EVERY {
                    last_save = Instant::now();
                    self.save(id, &live, &ReplyState::Streaming, &usage).await;
                }
            }
        }
        .await;
        let state = match outcome {
            Ok(Ending::Done) => ReplyState::COMPLETE,
            Ok(Ending::Cut) => ReplyState::Complete { reason: Some(ReplyState::LENGTH.into()) },
            Ok(Ending::Stopped) => ReplyState::Stopped { reason: (*abort.borrow()).and_then(Stop::reason) },
            Ok(Ending::TimeUp) => ReplyState::Stopped {
                reason: Some(format!("Time limit reached ({} s)", limits.reply_max_time.as_secs())),
            },
            Err(err) => ReplyState::Failed { reason: capitalise(&err.to_string()) },
        };
        relay.send();
        let logs = reply_logs(id, &live, &state, &usage, first_token);
        self.save_final(id, &live, &state, &usage, &logs).await;
        // Leave the registry before the end is announced, so a new message can start as soon as
        // subscribers hear it.
        self.live.finish(id);
        let finished = ServerEvent::Finished {
            conversation_id: id,
            message_id: live.message_id,
            model: live.model.clone(),
            provider: live.provider.clone(),
            usage,
            state,
        };
        if self.bus.shared() {
            let chars = live.text.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).chars().count();
            let event = serde_json::to_value(&finished).unwrap_or_default();
            self.bus.publish(Signal::Finished { conversation: id, message: live.message_id, chars, event });
        }
        let _ = live.events.send(finished);
    }

    async fn save(&self, id: Uuid, live: &Live, state: &ReplyState, usage: &Usage) {
        self.save_final(id, live, state, usage, &[]).await;
    }

    /// Saves the reply with `logs` in the same transaction. Should the logs be refused, the reply is
    /// saved without them: a log must never cost the user their reply.
    async fn save_final(&self, id: Uuid, live: &Live, state: &ReplyState, usage: &Usage, logs: &[NewAgentLog]) {
        let text = live.text.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let meta = json!({
            "model": live.model,
            "provider": live.provider,
            "tokenUsage": { "input": usage.input, "output": usage.output },
            "timestamp": mosaic_db::clock::now_micros(),
        });
        let mut saved = self.store.save_reply(id, live.message_id, &text, state, &meta, logs).await;
        if let (Err(DbError::Invalid(problem)), false) = (&saved, logs.is_empty()) {
            tracing::error!(conversation = %id, %problem, "a reply's agent logs were refused; saving the reply without them");
            saved = self.store.save_reply(id, live.message_id, &text, state, &meta, &[]).await;
        }
        if let Err(e) = saved {
            tracing::error!(conversation = %id, error = %e, "could not save a reply");
        }
    }
}

/// The agent logs of one reply, for its conversation's agent session: what was asked (model,
/// provider, history) and how it went (state, tokens, time to the first token and in all, the
/// provider's error).
fn reply_logs(
    conversation_id: Uuid,
    live: &Live,
    state: &ReplyState,
    usage: &Usage,
    first_token: Option<Duration>,
) -> Vec<NewAgentLog> {
    let total_ms = live.started.elapsed().as_millis() as u64;
    let first_token_ms = first_token.map(|d| d.as_millis() as u64);
    let entry = |level, category: &str, content: String, metadata, created_at| NewAgentLog {
        user_id: live.user_id,
        session_id: conversation_id.to_string(),
        auth_session_id: live.auth_session,
        level,
        category: category.into(),
        content,
        metadata,
        tier: Tier::Hot,
        created_at,
    };
    let request = entry(
        LogLevel::Info,
        CATEGORY_REQUEST,
        format!("Asked {}/{} with {} earlier messages", live.provider, live.model, live.history_messages),
        json!({
            "messageId": live.message_id,
            "model": live.model,
            "provider": live.provider,
            "historyMessages": live.history_messages,
            "promptChars": live.prompt_chars,
        }),
        Some(live.started_at),
    );
    let (level, outcome) = match state {
        ReplyState::Complete { reason: None } | ReplyState::Streaming => (LogLevel::Info, "complete".to_string()),
        ReplyState::Complete { reason: Some(r) } => (LogLevel::Warn, format!("cut ({r})")),
        ReplyState::Stopped { reason: None } => (LogLevel::Warn, "stopped".to_string()),
        ReplyState::Stopped { reason: Some(r) } => (LogLevel::Warn, format!("stopped ({r})")),
        ReplyState::Failed { reason } => (LogLevel::Error, format!("failed: {reason}")),
    };
    let first = first_token_ms.map_or("no token".to_string(), |ms| format!("first token after {ms} ms"));
    let reply = entry(
        level,
        CATEGORY_REPLY,
        format!("Reply {outcome}; {} tokens out, {first}, {total_ms} ms in all", usage.output),
        json!({
            "messageId": live.message_id,
            "model": live.model,
            "provider": live.provider,
            "state": state.as_str(),
            "reason": state.reason(),
            "error": matches!(state, ReplyState::Failed { .. }).then(|| state.reason()),
            "tokens": { "input": usage.input, "output": usage.output },
            "firstTokenMs": first_token_ms,
            "totalMs": total_ms,
        }),
        None,
    );
    vec![request, reply]
}

/// How a reply's stream ended.
enum Ending {
    /// The provider finished it.
    Done,
    /// It reached the length limit: Mosaic's characters or the provider's `max_tokens`.
    Cut,
    /// Its user or the shutdown stopped it.
    Stopped,
    /// It reached the time limit.
    TimeUp,
}

/// The category of a reply's first log: what the model was asked.
pub const CATEGORY_REQUEST: &str = "chat.request";
/// The category of a reply's last log: how the reply ended, with its timings and tokens.
pub const CATEGORY_REPLY: &str = "chat.reply";

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str() + ".").unwrap_or_default()
}
