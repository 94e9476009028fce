//! A conversation's activity page, `/c/:id/activity`: each reply's request and outcome (model,
//! tokens, time to the first token and in all, errors) from the agent logs, and the summaries of
//! older logs. Server-rendered with plain links for paging, so it reads the same without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use mosaic_db::model::{AgentLog, LogSummary};

use crate::api::activity::{load_activity, Activity};
use crate::components::{format_time, LoadFailed};

/// The activity page.
#[component]
pub fn ActivityPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let data = Resource::new(
        move || (params.read().get("id").unwrap_or_default(), query.read().get("cursor")),
        |(id, cursor)| load_activity(id, cursor),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading the activity…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(activity) => view! { <ActivityView activity/> }.into_any(),
                    Err(e) => view! { <Title text="Activity · Mosaic"/><LoadFailed error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ActivityView(activity: Activity) -> impl IntoView {
    let Activity { conversation_id, title, logs, summaries } = activity;
    let back = format!("/c/{conversation_id}");
    let here = format!("/c/{conversation_id}/activity");
    let next = logs.next.map(|cursor| format!("{here}?cursor={cursor}"));
    let empty = logs.items.is_empty();
    view! {
        <Title text=format!("Activity · {title} · Mosaic")/>
        <main class="activity">
            <p><a href=back>"← Back to the conversation"</a></p>
            <h1>"Activity: "{title}</h1>
            {(!summaries.is_empty()).then(|| view! {
                <section class="card" aria-labelledby="summaries-heading">
                    <h2 id="summaries-heading">"Summaries of older activity"</h2>
                    <ol class="summaries">{summaries.into_iter().map(summary_item).collect_view()}</ol>
                </section>
            })}
            <section class="card" aria-labelledby="log-heading">
                <h2 id="log-heading">"Replies and events"</h2>
                {if empty {
                    view! { <p>"Nothing recorded here yet. Each reply records what was asked and how it went."</p> }.into_any()
                } else {
                    view! {
                        <table class="activity-log">
                            <thead><tr><th scope="col">"When"</th><th scope="col">"Level"</th><th scope="col">"Event"</th><th scope="col">"Details"</th></tr></thead>
                            <tbody>{logs.items.into_iter().map(log_row).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }}
                <nav class="pager" aria-label="Activity pages">
                    {query_has_cursor().then(|| view! { <a href=here.clone()>"← First page"</a> })}
                    {next.map(|href| view! { <a href=href rel="next">"Later entries →"</a> })}
                </nav>
            </section>
        </main>
    }
}

/// Whether this is a later page (it was opened with a cursor).
fn query_has_cursor() -> bool {
    use_query_map().read_untracked().get("cursor").is_some()
}

fn summary_item(s: LogSummary) -> impl IntoView {
    let source = match s.source {
        mosaic_db::model::SummarySource::Model => format!("by {}", s.model.unwrap_or_else(|| "the model".into())),
        mosaic_db::model::SummarySource::Extractive => "extracted from the entries".to_string(),
    };
    view! {
        <li>
            <p class="meta">{format!("{} to {} · {} entries · {source}", format_time(s.first_log_at), format_time(s.last_log_at), s.log_count)}</p>
            <p class="summary-text">{s.summary}</p>
        </li>
    }
}

fn log_row(log: AgentLog) -> impl IntoView {
    let level = log.level.as_str();
    let details = details(&log.metadata);
    view! {
        <tr class=format!("level-{level}")>
            <td>{format_time(log.created_at)}</td>
            <td>{level}</td>
            <td>{log.content}</td>
            <td>{details}</td>
        </tr>
    }
}

/// The numbers a reply's outcome carries, in words; empty for other entries.
fn details(meta: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    if let (Some(p), Some(m)) = (meta["provider"].as_str(), meta["model"].as_str()) {
        parts.push(format!("{p}/{m}"));
    }
    if let Some(n) = meta["historyMessages"].as_u64() {
        parts.push(format!("{n} messages of history"));
    }
    if let (Some(i), Some(o)) = (meta["tokens"]["input"].as_u64(), meta["tokens"]["output"].as_u64()) {
        parts.push(format!("{i} tokens in, {o} out"));
    }
    if let Some(ms) = meta["firstTokenMs"].as_u64() {
        parts.push(format!("first token {ms} ms"));
    }
    if let Some(ms) = meta["totalMs"].as_u64() {
        parts.push(format!("{ms} ms in all"));
    }
    if let Some(e) = meta["error"].as_str() {
        parts.push(format!("error: {e}"));
    }
    parts.join(" · ")
}
