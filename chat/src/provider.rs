//! OpenAI-compatible chat-completions providers (OpenAI, OpenRouter, Ollama, vLLM, llama.cpp):
//! streaming replies, listing models, with a connect timeout, a stall timeout and a bound on how
//! many requests run at once per provider, shared fairly between users (see `fair`).
//!
//! The API key is sent only to the provider; it never appears in logs, errors or the browser.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::RwLock;
use uuid::Uuid;

use crate::events::Usage;
use crate::fair::{FairSlots, Slot};

/// How long a provider's model list is reused before it is asked again.
const MODELS_TTL: Duration = Duration::from_secs(300);

/// One provider as configured.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// A short name the user sees ("openai", "ollama", "demo").
    pub name: String,
    /// The API base, ending before `/chat/completions` (e.g. `https://api.openai.com/v1`).
    pub base_url: String,
    /// Sent as `Authorization: Bearer …` to this provider only.
    pub api_key: Option<String>,
    /// The model used when the user has not picked one.
    pub default_model: Option<String>,
    /// Requests allowed at once; more wait their turn, users taking turns.
    pub max_concurrent: usize,
    /// The operator's list of models users may pick (MOSAIC_PROVIDER_<NAME>_MODELS); none: the
    /// models the provider's `/models` lists.
    pub allowed_models: Option<Vec<String>>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("default_model", &self.default_model)
            .field("max_concurrent", &self.max_concurrent)
            .field("allowed_models", &self.allowed_models)
            .finish()
    }
}

/// Why a provider request failed, in words for the user.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProviderError {
    #[error("the model provider \"{0}\" could not be reached")]
    Unreachable(String),
    #[error("the model provider \"{0}\" refused the API key; check its configuration")]
    Refused(String),
    /// The second part is one of our fixed phrases, never the provider's own words (those may name
    /// internal hosts or accounts, and have no length limit): they go to the log.
    #[error("the model provider \"{0}\" {1}")]
    Failed(String, &'static str),
    #[error("the model provider \"{0}\" is busy with other replies; try again in a moment")]
    Busy(String),
    #[error("the model provider \"{0}\" stopped responding")]
    Stalled(String),
    #[error("the model provider \"{0}\" sent a reply Mosaic could not read")]
    Malformed(String),
}

/// What a provider is asked for: a streamed reply of `model` to `prompt`, on behalf of `user` (who
/// waits their turn for a slot), of at most `max_tokens` tokens.
#[derive(Clone, Copy, Debug)]
pub struct Ask<'a> {
    /// Whose request this is; the platform's own work (summaries) is the nil id.
    pub user: Uuid,
    pub model: &'a str,
    pub prompt: &'a [PromptMessage],
    /// Sent as `max_tokens`: the provider stops there and says `finish_reason: "length"`.
    pub max_tokens: u32,
}

/// One message of the history sent to the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptMessage {
    pub role: &'static str,
    pub content: String,
}

/// A configured provider, ready to use. Cheap to share.
#[derive(Debug)]
pub struct Provider {
    pub config: ProviderConfig,
    client: reqwest::Client,
    slots: Arc<FairSlots>,
    stall: Duration,
    models: RwLock<Option<(Instant, Vec<String>)>>,
}

impl Provider {
    /// Builds the client with the connect timeout; `stall` bounds the wait for each piece of a reply.
    pub fn new(config: ProviderConfig, connect: Duration, stall: Duration) -> Result<Provider, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect)
            .user_agent(concat!("mosaic/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let slots = FairSlots::new(config.max_concurrent);
        Ok(Provider { config, client, slots, stall, models: RwLock::new(None) })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn request(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.config.api_key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    fn name(&self) -> String {
        self.config.name.clone()
    }

    /// The cached model list and whether it is due for a refresh, without waiting on the network.
    pub async fn cached_models(&self) -> (Option<Vec<String>>, bool) {
        match self.models.read().await.as_ref() {
            Some((at, models)) => (Some(models.clone()), at.elapsed() >= MODELS_TTL),
            None => (None, true),
        }
    }

    /// Whether users may pick `model`: the default model always; otherwise one on the operator's
    /// list, or (without a list) one the provider lists. A provider that cannot say offers only
    /// its default, so no name of the user's choosing is forwarded unchecked.
    pub async fn offers(&self, model: &str) -> bool {
        if self.config.default_model.as_deref() == Some(model) {
            return true;
        }
        self.models().await.is_ok_and(|models| models.iter().any(|m| m == model))
    }

    /// The models the provider offers: the operator's list, or the provider's `/models`, cached for
    /// a few minutes.
    pub async fn models(&self) -> Result<Vec<String>, ProviderError> {
        if let Some(allowed) = &self.config.allowed_models {
            return Ok(allowed.clone());
        }
        if let Some((at, models)) = self.models.read().await.as_ref() {
            if at.elapsed() < MODELS_TTL {
                return Ok(models.clone());
            }
        }
        let res = tokio::time::timeout(self.stall, self.request(self.client.get(self.url("models"))).send())
            .await
            .map_err(|_| ProviderError::Stalled(self.name()))?
            .map_err(|_| ProviderError::Unreachable(self.name()))?;
        let res = self.check_status(res).await?;
        let body: Value = tokio::time::timeout(self.stall, res.json())
            .await
            .map_err(|_| ProviderError::Stalled(self.name()))?
            .map_err(|_| ProviderError::Malformed(self.name()))?;
        let mut models: Vec<String> = body["data"]
            .as_array()
            .ok_or_else(|| ProviderError::Malformed(self.name()))?
            .iter()
            .filter_map(|m| m["id"].as_str().map(str::to_string))
            .collect();
        models.sort();
        *self.models.write().await = Some((Instant::now(), models.clone()));
        Ok(models)
    }

    async fn check_status(&self, res: reqwest::Response) -> Result<reqwest::Response, ProviderError> {
        let status = res.status();
        if status.is_success() {
            return Ok(res);
        }
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(ProviderError::Refused(self.name()));
        }
        let body = tokio::time::timeout(Duration::from_secs(2), res.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let detail: String = body.chars().take(2000).collect();
        tracing::warn!(provider = %self.config.name, status = status.as_u16(), %detail, "the provider answered with an error");
        let what = match status.as_u16() {
            400 | 422 => "refused the request",
            404 => "does not offer this model",
            408 | 504 => "timed out",
            413 => "found the conversation too long",
            429 => "is limiting requests; try again in a minute",
            500..=599 => "had an error of its own; try again later",
            _ => "answered with an error",
        };
        Err(ProviderError::Failed(self.name(), what))
    }

    /// Starts a streamed reply. Waits for a free slot first (fairly: see `fair`), at most as long
    /// as the stall timeout.
    pub async fn stream(&self, ask: Ask<'_>) -> Result<ReplyStream, ProviderError> {
        // Waiting for a slot is bounded like any other silence from the provider.
        let slot = tokio::time::timeout(self.stall, self.slots.acquire(ask.user))
            .await
            .map_err(|_| ProviderError::Busy(self.name()))?;
        let messages: Vec<Value> = ask.prompt.iter().map(|t| json!({ "role": t.role, "content": t.content })).collect();
        let body = json!({
            "model": ask.model,
            "messages": messages,
            "stream": true,
            "stream_options": { "include_usage": true },
            "max_tokens": ask.max_tokens,
        });
        let send = self.request(self.client.post(self.url("chat/completions"))).json(&body).send();
        let res = tokio::time::timeout(self.stall, send)
            .await
            .map_err(|_| ProviderError::Stalled(self.name()))?
            .map_err(|e| {
                tracing::warn!(provider = %self.config.name, error = %e.without_url(), "provider request failed");
                ProviderError::Unreachable(self.name())
            })?;
        let res = self.check_status(res).await?;
        Ok(ReplyStream { provider: self.name(), res, stall: self.stall, buffer: Vec::new(), done: false, _slot: slot })
    }
}

/// What a reply stream yields.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Usage(Usage),
    /// The provider's `finish_reason` when it is "length": it stopped at `max_tokens`.
    CutAtLength,
}

/// A reply arriving from a provider as server-sent events.
#[derive(Debug)]
pub struct ReplyStream {
    provider: String,
    res: reqwest::Response,
    stall: Duration,
    buffer: Vec<u8>,
    done: bool,
    _slot: Slot,
}

impl ReplyStream {
    /// The next pieces of the reply; `None` once the provider said it is done.
    pub async fn next(&mut self) -> Result<Option<Vec<Piece>>, ProviderError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let mut pieces = Vec::new();
            while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                match parse_line(line.trim_end_matches(['\r', '\n'])) {
                    Ok(Line::Pieces(mut p)) => pieces.append(&mut p),
                    Ok(Line::Done) => self.done = true,
                    Ok(Line::Other) => {}
                    Err(Some(detail)) => {
                        let detail: String = detail.chars().take(2000).collect();
                        tracing::warn!(provider = %self.provider, %detail, "the provider reported an error mid-reply");
                        return Err(ProviderError::Failed(self.provider.clone(), "reported an error while writing"));
                    }
                    Err(None) => return Err(ProviderError::Malformed(self.provider.clone())),
                }
            }
            if !pieces.is_empty() {
                return Ok(Some(pieces));
            }
            if self.done {
                return Ok(None);
            }
            match tokio::time::timeout(self.stall, self.res.chunk()).await {
                Err(_) => return Err(ProviderError::Stalled(self.provider.clone())),
                Ok(Err(_)) => return Err(ProviderError::Unreachable(self.provider.clone())),
                // The connection closed without [DONE]: the reply was cut off.
                Ok(Ok(None)) => return Err(ProviderError::Failed(self.provider.clone(), "cut the reply off")),
                Ok(Ok(Some(bytes))) => {
                    if self.buffer.len() + bytes.len() > 1024 * 1024 {
                        return Err(ProviderError::Malformed(self.provider.clone()));
                    }
                    self.buffer.extend_from_slice(&bytes);
                }
            }
        }
    }
}

enum Line {
    Pieces(Vec<Piece>),
    Done,
    Other,
}

/// Reads one SSE line of a chat-completions stream. `Err(Some(msg))` is an error the provider sent,
/// `Err(None)` a line that is not valid.
fn parse_line(line: &str) -> Result<Line, Option<String>> {
    let Some(data) = line.strip_prefix("data:") else { return Ok(Line::Other) };
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(Line::Done);
    }
    let value: Value = serde_json::from_str(data).map_err(|_| None)?;
    if let Some(msg) = value.get("error").map(|e| e["message"].as_str().unwrap_or("unknown error").to_string()) {
        return Err(Some(msg));
    }
    let mut pieces = Vec::new();
    let choices = value.get("choices").and_then(Value::as_array).ok_or(None)?;
    for choice in choices {
        if let Some(text) = choice["delta"]["content"].as_str().filter(|t| !t.is_empty()) {
            pieces.push(Piece::Text(text.to_string()));
        }
        if choice["finish_reason"].as_str() == Some("length") {
            pieces.push(Piece::CutAtLength);
        }
    }
    if let Some(usage) = value.get("usage").filter(|u| u.is_object()) {
        pieces.push(Piece::Usage(Usage {
            input: usage["prompt_tokens"].as_u64().unwrap_or(0),
            output: usage["completion_tokens"].as_u64().unwrap_or(0),
        }));
    }
    Ok(Line::Pieces(pieces))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_deltas_usage_done_and_errors() {
        let Ok(Line::Pieces(p)) = parse_line(r#"data: {"choices":[{"delta":{"content":"Hel"}}]}"#) else {
            panic!("delta")
        };
        assert_eq!(p, vec![Piece::Text("Hel".into())]);
        let Ok(Line::Pieces(p)) =
            parse_line(r#"data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5}}"#)
        else {
            panic!("usage")
        };
        assert_eq!(p, vec![Piece::Usage(Usage { input: 3, output: 5 })]);
        let Ok(Line::Pieces(p)) = parse_line(r#"data: {"choices":[{"delta":{},"finish_reason":"length"}]}"#) else {
            panic!("finish")
        };
        assert_eq!(p, vec![Piece::CutAtLength]);
        assert!(matches!(parse_line("data: [DONE]"), Ok(Line::Done)));
        assert!(matches!(parse_line(": keep-alive"), Ok(Line::Other)));
        assert!(matches!(parse_line("data: {not json"), Err(None)));
        assert!(matches!(parse_line(r#"data: {"error":{"message":"quota"}}"#), Err(Some(m)) if m == "quota"));
    }

    #[test]
    fn the_key_is_never_printed() {
        let c = ProviderConfig {
            name: "x".into(),
            base_url: "http://h".into(),
            api_key: Some("sk-secret".into()),
            default_model: None,
            max_concurrent: 1,
            allowed_models: None,
        };
        assert!(!format!("{c:?}").contains("sk-secret"));
    }
}
