//! The jobs page: each background job's latest runs (status, when, how long, what it did or why it
//! failed) and a "Run now" button.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{allowed, AdminNav};
use crate::api::admin::{admin_jobs, JobView, RunView};
use crate::components::{format_time, ErrorBanner, LoadFailed};
use crate::pages::{flash_error, NotFound};

/// `/admin/jobs`.
#[component]
pub fn AdminJobs() -> impl IntoView {
    if !allowed() {
        return view! { <NotFound/> }.into_any();
    }
    let data = Resource::new(|| (), |_| admin_jobs());
    let error = Signal::derive(flash_error());
    view! {
        <Title text="Jobs · Admin · Mosaic"/>
        <main class="admin">
            <AdminNav current="/admin/jobs"/>
            <h1>"Background jobs"</h1>
            <p class="muted">"A job started here runs in the background; reload to see it finish."</p>
            <ErrorBanner message=error/>
            <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(jobs) => jobs.into_iter().map(|job| view! { <JobCard job/> }).collect_view().into_any(),
                        Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
    .into_any()
}

#[component]
fn JobCard(job: JobView) -> impl IntoView {
    let JobView { name, runnable, runs } = job;
    let heading = format!("job-{name}");
    let labelled_by = heading.clone();
    view! {
        <section class="card" aria-labelledby=labelled_by>
            <h2 id=heading>{name.clone()}</h2>
            {runnable.then(|| view! {
                <form method="post" action=format!("/api/admin/jobs/{name}/run") class="inline">
                    <button type="submit" aria-label=format!("Run {name} now")>"Run now"</button>
                </form>
            })}
            {if runs.is_empty() {
                view! { <p>"No runs recorded yet."</p> }.into_any()
            } else {
                view! {
                    <table class="runs">
                        <thead><tr><th scope="col">"Started"</th><th scope="col">"Status"</th><th scope="col">"Duration"</th><th scope="col">"Detail"</th></tr></thead>
                        <tbody>{runs.into_iter().map(run_row).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

fn run_row(run: RunView) -> impl IntoView {
    let duration = run
        .finished_at
        .map(|f| format!("{} ms", (f - run.started_at).max(0) / 1000))
        .unwrap_or_else(|| "running…".into());
    let class = format!("run-{}", run.status);
    view! {
        <tr class=class>
            <td>{format_time(run.started_at)}</td>
            <td>{run.status}</td>
            <td>{duration}</td>
            <td><code class="detail">{run.detail}</code></td>
        </tr>
    }
}
