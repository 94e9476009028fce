//! Summaries of hot agent logs: written by the configured model (`SUMMARIZATION_MODEL`, through the
//! same provider client as chat, with its timeouts), or, with no model or when it fails, an
//! extractive summary built from the logs themselves, so a group is never left hot for want of one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use mosaic_chat::provider::{Ask, Piece, PromptMessage, Provider};
use mosaic_db::agent_logs::{NewSummary, SummaryGroup};
use mosaic_db::model::{LogLevel, SummarySource};

/// The longest summary kept, in characters.
pub const MAX_SUMMARY_CHARS: usize = 4_000;
/// Characters of log text sent to the model per group; the newest logs are dropped beyond it.
const PROMPT_CHARS: usize = 12_000;
/// A model that has not finished its summary in this long is given up on.
const MODEL_DEADLINE: Duration = Duration::from_secs(60);

/// Writes summaries.
#[derive(Clone)]
pub struct Summariser {
    /// The provider and model of `SUMMARIZATION_MODEL`, if set.
    model: Option<(Arc<Provider>, String)>,
}

impl Summariser {
    /// A summariser using `model` (a provider and one of its models), or extractive summaries only.
    pub fn new(model: Option<(Arc<Provider>, String)>) -> Summariser {
        Summariser { model }
    }

    /// The group's summary, and why the model was not used when it was configured but failed.
    pub async fn summarise(&self, group: &SummaryGroup) -> (NewSummary, Option<String>) {
        let Some((provider, model)) = &self.model else {
            return (extractive(group), None);
        };
        match tokio::time::timeout(MODEL_DEADLINE, ask(provider, model, group)).await {
            Ok(Ok(text)) if !text.trim().is_empty() => (
                NewSummary {
                    text: text.trim().chars().take(MAX_SUMMARY_CHARS).collect(),
                    source: SummarySource::Model,
                    model: Some(format!("{}/{model}", provider.config.name)),
                },
                None,
            ),
            Ok(Ok(_)) => (extractive(group), Some("the model returned an empty summary".into())),
            Ok(Err(e)) => (extractive(group), Some(e)),
            Err(_) => (extractive(group), Some(format!("the model took longer than {} s", MODEL_DEADLINE.as_secs()))),
        }
    }
}

async fn ask(provider: &Provider, model: &str, group: &SummaryGroup) -> Result<String, String> {
    let mut logs = String::new();
    for log in &group.logs {
        let line = format!("[{}] {} {}: {}\n", log.created_at, log.level.as_str(), log.category, log.content);
        if logs.len() + line.len() > PROMPT_CHARS {
            break;
        }
        logs.push_str(&line);
    }
    let prompt = [
        PromptMessage {
            role: "system",
            content: "Summarise these agent log entries in a few sentences: what the agent did, what \
                      failed, and anything worth remembering. Plain text, no preamble."
                .into(),
        },
        PromptMessage { role: "user", content: logs },
    ];
    // The platform's own request (the nil user) takes its turn for a slot like anyone's; a summary
    // of MAX_SUMMARY_CHARS needs no more than that many tokens.
    let ask = Ask { user: uuid::Uuid::nil(), model, prompt: &prompt, max_tokens: MAX_SUMMARY_CHARS as u32 };
    let mut stream = provider.stream(ask).await.map_err(|e| e.to_string())?;
    let mut text = String::new();
    while let Some(pieces) = stream.next().await.map_err(|e| e.to_string())? {
        for piece in pieces {
            if let Piece::Text(t) = piece {
                text.push_str(&t);
            }
        }
        if text.len() > MAX_SUMMARY_CHARS * 4 {
            break;
        }
    }
    Ok(text)
}

/// A summary made from the logs alone: how many, over what time, counts by level and by
/// category, the first and last entries, and the errors. Deterministic: the same logs give the same
/// text.
pub fn extractive(group: &SummaryGroup) -> NewSummary {
    let logs = &group.logs;
    let mut levels: BTreeMap<LogLevel, usize> = BTreeMap::new();
    let mut categories: BTreeMap<&str, usize> = BTreeMap::new();
    for log in logs {
        *levels.entry(log.level).or_default() += 1;
        *categories.entry(log.category.as_str()).or_default() += 1;
    }
    let clip = |s: &str| {
        let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.chars().count() > 160 {
            one_line.chars().take(159).collect::<String>() + "…"
        } else {
            one_line
        }
    };
    let list = |pairs: Vec<String>| pairs.join(", ");
    let mut text = format!(
        "{} log entries of session {}.\nLevels: {}.\nCategories: {}.",
        logs.len(),
        group.session_id,
        list(levels.iter().rev().map(|(l, n)| format!("{} {n}", l.as_str())).collect()),
        list(categories.iter().map(|(c, n)| format!("{c} {n}")).collect()),
    );
    if let (Some(first), Some(last)) = (logs.first(), logs.last()) {
        text.push_str(&format!("\nFirst: {}", clip(&first.content)));
        if logs.len() > 1 {
            text.push_str(&format!("\nLast: {}", clip(&last.content)));
        }
    }
    let errors: Vec<_> = logs.iter().filter(|l| l.level == LogLevel::Error).collect();
    for e in errors.iter().take(5) {
        text.push_str(&format!("\nError: {}", clip(&e.content)));
    }
    if errors.len() > 5 {
        text.push_str(&format!("\n… and {} more errors.", errors.len() - 5));
    }
    NewSummary { text: text.chars().take(MAX_SUMMARY_CHARS).collect(), source: SummarySource::Extractive, model: None }
}

#[cfg(test)]
mod tests {
    use mosaic_db::agent_logs::SummaryGroup;
    use mosaic_db::model::{AgentLog, LogLevel, Tier};
    use uuid::Uuid;

    use super::extractive;

    fn entry(level: LogLevel, category: &str, content: &str, at: i64) -> AgentLog {
        AgentLog {
            id: Uuid::now_v7(),
            session_id: "s".into(),
            level,
            category: category.into(),
            content: content.into(),
            metadata: serde_json::json!({}),
            tier: Tier::Hot,
            created_at: at,
        }
    }

    #[test]
    fn the_extractive_summary_counts_and_quotes() {
        let group = SummaryGroup {
            user_id: Uuid::nil(),
            session_id: "s".into(),
            logs: vec![
                entry(LogLevel::Info, "tool", "started the search", 1),
                entry(LogLevel::Error, "tool", "search timed out", 2),
                entry(LogLevel::Info, "chat.reply", "Reply complete", 3),
            ],
        };
        let s = extractive(&group);
        assert_eq!(
            s.text,
            "3 log entries of session s.\nLevels: error 1, info 2.\nCategories: chat.reply 1, tool 2.\n\
             First: started the search\nLast: Reply complete\nError: search timed out"
        );
        assert_eq!(extractive(&group), s, "deterministic");
    }
}
