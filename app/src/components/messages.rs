//! A message as the pages show it: in the server-rendered history, in "load earlier" and in the
//! chat panel's follow-up.

use leptos::prelude::*;
use mosaic_db::model::MessageRole;

use crate::api::conversations::MessageView;

/// One message: who wrote it, with which model, when, how a reply stands, and its content.
/// `replaceable` marks it with its id, so the chat panel can replace the page's copy of a reply that
/// was still being written when the page was rendered. `anchor` gives it an id (`m-…`) for a link's
/// fragment: the message a search result opened.
#[component]
pub fn MessageItem(
    m: MessageView,
    #[prop(optional)] replaceable: bool,
    #[prop(optional)] anchor: bool,
) -> impl IntoView {
    let (class, who) = match m.role {
        MessageRole::User => ("message user", "You"),
        MessageRole::Assistant => ("message assistant", "Assistant"),
        MessageRole::System => ("message system", "System"),
    };
    view! {
        <li class=class data-message=replaceable.then(|| m.id.to_string()) id=anchor.then(|| format!("m-{}", m.id))>
            <div class="meta">
                <strong>{who}</strong>
                {m.model.map(|m| view! { <span class="muted">{m}</span> })}
                <time>{m.time}</time>
                {m.badge.map(|b| view! { <span class="badge">{b}</span> })}
            </div>
            <div class="content markdown" inner_html=m.html></div>
            {m.problem.map(|p| view! { <p class="error" role="alert">{p}</p> })}
        </li>
    }
}
