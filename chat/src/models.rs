//! Which provider and model answer a message.
//!
//! Models are named `provider/model` (as `GET /api/models` and the composer's picker offer them;
//! the model part may itself contain `/`, as OpenRouter's do). A request may also name a bare model
//! without `/`: the provider whose default it is answers, else the first provider.

use std::sync::Arc;

use crate::provider::Provider;
use crate::ChatError;

/// Picks the provider and model for a send: the model the request names, else the user's remembered
/// pick, else the first provider's default.
///
/// A pick the request names must be on offer ([`ChatError::UnknownModel`] otherwise). A remembered
/// pick whose provider is no longer configured is ignored rather than sent to another provider
/// under a name it does not know.
pub fn pick(
    providers: &[Arc<Provider>],
    requested: Option<&str>,
    remembered: Option<&str>,
) -> Result<(Arc<Provider>, String), ChatError> {
    let first = providers.first().ok_or(ChatError::NoProvider)?;
    if let Some(name) = requested.map(str::trim).filter(|m| !m.is_empty()) {
        if let Some(found) = qualified(providers, name) {
            return Ok(found);
        }
        if name.contains('/') {
            return Err(ChatError::UnknownModel(name.to_string()));
        }
        let provider = providers.iter().find(|p| p.config.default_model.as_deref() == Some(name)).unwrap_or(first);
        return Ok((provider.clone(), name.to_string()));
    }
    if let Some(found) = remembered.and_then(|name| qualified(providers, name)) {
        return Ok(found);
    }
    providers
        .iter()
        .find_map(|p| p.config.default_model.clone().map(|m| (p.clone(), m)))
        .ok_or_else(|| ChatError::NoModelChosen(first.config.name.clone()))
}

/// [`pick`], and the pick must be on offer ([`Provider::offers`]): a model the request names that
/// is not is refused; a remembered one that is not (set through the preferences API, or no longer
/// offered) gives way to the default, as a remembered pick of a provider that is gone does.
pub async fn choose(
    providers: &[Arc<Provider>],
    requested: Option<&str>,
    remembered: Option<&str>,
) -> Result<(Arc<Provider>, String), ChatError> {
    let (provider, model) = pick(providers, requested, remembered)?;
    if provider.offers(&model).await {
        return Ok((provider, model));
    }
    if requested.is_some_and(|r| !r.trim().is_empty()) {
        return Err(ChatError::UnknownModel(format!("{}/{model}", provider.config.name)));
    }
    pick(providers, None, None)
}

/// `provider/model` with a configured provider.
fn qualified(providers: &[Arc<Provider>], name: &str) -> Option<(Arc<Provider>, String)> {
    let (provider, model) = name.split_once('/')?;
    let provider = providers.iter().find(|p| p.config.name == provider)?;
    (!model.is_empty()).then(|| (provider.clone(), model.to_string()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::provider::ProviderConfig;

    fn provider(name: &str, default_model: Option<&str>) -> Arc<Provider> {
        let config = ProviderConfig {
            name: name.into(),
            base_url: "http://127.0.0.1:1/v1".into(),
            api_key: None,
            default_model: default_model.map(str::to_string),
            max_concurrent: 1,
            allowed_models: None,
        };
        Arc::new(Provider::new(config, Duration::from_secs(1), Duration::from_secs(1)).expect("provider"))
    }

    fn names(picked: Result<(Arc<Provider>, String), ChatError>) -> (String, String) {
        let (p, m) = picked.expect("a pick");
        (p.config.name.clone(), m)
    }

    #[test]
    fn a_request_names_provider_and_model() {
        let providers = [provider("openai", Some("gpt-4o-mini")), provider("router", None)];
        assert_eq!(
            names(pick(&providers, Some("router/openai/gpt-4o"), None)),
            ("router".into(), "openai/gpt-4o".into())
        );
        assert_eq!(names(pick(&providers, Some("gpt-4o-mini"), None)), ("openai".into(), "gpt-4o-mini".into()));
        assert_eq!(names(pick(&providers, None, None)), ("openai".into(), "gpt-4o-mini".into()));
        let unknown = pick(&providers, Some("gone/model"), None).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(unknown.contains("\"gone/model\" is not offered"), "{unknown}");
    }

    #[test]
    fn a_remembered_pick_of_a_provider_that_is_gone_falls_back_to_the_default() {
        let providers = [provider("ollama", Some("llama3.2"))];
        // Not "openai/gpt-4o" sent whole to ollama as a model name.
        assert_eq!(names(pick(&providers, None, Some("openai/gpt-4o"))), ("ollama".into(), "llama3.2".into()));
        assert_eq!(names(pick(&providers, None, Some("ollama/qwen"))), ("ollama".into(), "qwen".into()));
    }

    #[test]
    fn no_default_and_no_pick_says_what_to_do() {
        let providers = [provider("local-ai", None)];
        let message = pick(&providers, None, None).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.starts_with("Choose a model") && message.contains("MOSAIC_PROVIDER_LOCAL_AI_MODEL"),
            "{message}"
        );
        assert!(!message.contains("\"\""), "never an empty model name: {message}");
        assert!(matches!(pick(&[], None, None), Err(ChatError::NoProvider)));
    }
}
