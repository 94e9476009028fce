//! Search in the dashboard: the sidebar's search box and the results page (`/search?q=…`).
//!
//! The box is a plain GET form to the results page, so it works without JavaScript. With it, the
//! box is an island that shows the best matches under it as the user types (200 ms after the last
//! key, the answers of older keystrokes dropped); Enter still opens the full results page.

use std::time::Duration;

use leptos::prelude::*;
use mosaic_db::model::{Fragment, Page, SearchHit};

use crate::api::conversations::SearchView;
use crate::api::search::{result_link, search_conversations};
use crate::api::{error_text, with_query};
use crate::components::format_time;

/// How long typing must pause before the box searches.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// The sidebar's search box. `q` is the search the page shows, if any (the box starts with it).
#[island]
pub fn SearchBox(q: String) -> impl IntoView {
    let text = RwSignal::new(q.clone());
    let results = RwSignal::new(None::<Result<Page<SearchHit>, String>>);
    let busy = RwSignal::new(false);
    let latest = StoredValue::new(0u32);
    let timer = StoredValue::new(None::<leptos::prelude::TimeoutHandle>);
    let shown = q.clone();
    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        text.set(value.clone());
        if let Some(pending) = timer.get_value() {
            pending.clear();
        }
        let n = latest.get_value() + 1;
        latest.set_value(n);
        if value.trim().is_empty() || value == shown {
            results.set(None);
            busy.set(false);
            return;
        }
        let run = move || {
            busy.set(true);
            leptos::task::spawn_local(async move {
                let found = search_conversations(value, None).await;
                if latest.get_value() == n {
                    busy.set(false);
                    results.set(Some(found.map_err(|e| error_text(&e))));
                }
            });
        };
        timer.set_value(set_timeout_with_handle(run, DEBOUNCE).ok());
    };
    view! {
        <form class="search" method="get" action="/search" role="search">
            <label class="visually-hidden" for="search-input">"Search conversations"</label>
            <input id="search-input" type="search" name="q" value=q placeholder="Search conversations" maxlength="500"
                autocomplete="off" aria-keyshortcuts="Control+K Meta+K" aria-controls="search-live" on:input=on_input/>
            <kbd class="shortcut-hint" aria-hidden="true">"Ctrl K"</kbd>
        </form>
        <div id="search-live" class="search-live" aria-live="polite" aria-busy=move || busy.get().to_string()>
            {move || match results.get() {
                None => ().into_any(),
                Some(Err(problem)) => view! { <p class="error" role="alert">{problem}</p> }.into_any(),
                Some(Ok(page)) if page.items.is_empty() => view! { <p class="muted empty">"No matches."</p> }.into_any(),
                Some(Ok(page)) => view! {
                    <SearchResults items=page.items/>
                    <a class="more" href=move || with_query("/search", "q", &text.get())>"All results"</a>
                }
                .into_any(),
            }}
        </div>
    }
}

/// The results page's main area: the results, best first, and "more results" by cursor.
#[component]
pub fn SearchMain(search: SearchView) -> impl IntoView {
    let SearchView { q, results, problem } = search;
    let next = results.next.map(|cursor| with_query(&with_query("/search", "q", &q), "from", &cursor));
    let empty = results.items.is_empty() && problem.is_none();
    view! {
        <header class="conversation-head">
            <h1>"Search: “"{q.clone()}"”"</h1>
        </header>
        {problem.map(|p| view! { <p class="error" role="alert">{p}</p> })}
        {empty.then(|| view! {
            <p class="muted">"No conversation matches. Every word must appear; put words in quotes to find them side by side."</p>
        })}
        <SearchResults items=results.items/>
        {next.map(|href| view! { <a class="more" href=href>"More results"</a> })}
    }
}

/// A list of results: each conversation's title and best passage, matched words marked, linking to
/// the message in its conversation.
#[component]
pub fn SearchResults(items: Vec<SearchHit>) -> impl IntoView {
    view! {
        <ol class="search-results">
            {items
                .into_iter()
                .map(|hit| {
                    let href = result_link(&hit);
                    let archived = hit.conversation.archived;
                    view! {
                        <li>
                            <a href=href>
                                <span class="result-title">
                                    {marked(hit.title)}
                                    {archived.then(|| view! { <span class="badge">"archived"</span> })}
                                </span>
                                {hit.message.map(|m| view! {
                                    <span class="snippet">{marked(m.snippet)}</span>
                                    <time class="muted">{format_time(m.created_at)}</time>
                                })}
                            </a>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}

/// Fragments as text, the matched ones in `<mark>`. Text nodes: a user's `<b>` stays text.
fn marked(fragments: Vec<Fragment>) -> impl IntoView {
    fragments
        .into_iter()
        .map(|f| if f.hit { view! { <mark>{f.text}</mark> }.into_any() } else { f.text.into_any() })
        .collect_view()
}
