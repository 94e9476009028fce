//! The audit trail page: every admin action, newest first, paged by keyset.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use mosaic_db::model::AuditEntry;

use super::{allowed, AdminNav};
use crate::api::admin::admin_audit;
use crate::components::{format_time, plain_detail, LoadFailed};
use crate::pages::NotFound;

/// `/admin/audit`.
#[component]
pub fn AdminAudit() -> impl IntoView {
    if !allowed() {
        return view! { <NotFound/> }.into_any();
    }
    let query = use_query_map();
    let data = Resource::new(move || query.read().get("cursor"), admin_audit);
    view! {
        <Title text="Audit trail · Admin · Mosaic"/>
        <main class="admin">
            <AdminNav current="/admin/audit"/>
            <h1>"Audit trail"</h1>
            <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(page) => {
                            let next = page.next.map(|c| format!("/admin/audit?cursor={c}"));
                            let later = use_query_map().read_untracked().get("cursor").is_some();
                            view! {
                                {if page.items.is_empty() {
                                    view! { <p>"No admin action recorded yet."</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="audit">
                                            <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"Whom"</th><th scope="col">"Detail"</th></tr></thead>
                                            <tbody>{page.items.into_iter().map(entry_row).collect_view()}</tbody>
                                        </table>
                                    }.into_any()
                                }}
                                <nav class="pager" aria-label="Audit pages">
                                    {later.then(|| view! { <a href="/admin/audit">"← Newest"</a> })}
                                    {next.map(|href| view! { <a href=href rel="next">"Older entries →"</a> })}
                                </nav>
                            }.into_any()
                        }
                        Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
    .into_any()
}

fn entry_row(e: AuditEntry) -> impl IntoView {
    let detail = plain_detail(&e.detail);
    view! {
        <tr>
            <td>{format_time(e.created_at)}</td>
            <td>{e.actor_email}</td>
            <td><code>{e.action}</code></td>
            <td>{e.target_label.unwrap_or_default()}</td>
            <td><code class="detail">{detail}</code></td>
        </tr>
    }
}
