//! An import's progress page (`/imports/:id`), where the settings page's import form lands. It
//! refreshes itself every two seconds while the import runs (a `<meta>` refresh, so it works
//! without JavaScript); with JavaScript an island updates it in place every second instead.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;
use mosaic_db::model::{ImportJob, ImportStatus};
use uuid::Uuid;

#[cfg(feature = "hydrate")]
use crate::api::error_text;
use crate::api::portability::{describe, import_progress, running};
use crate::components::LoadFailed;

/// The page.
#[component]
pub fn ImportPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || params.read().get("id"),
        |id| async move {
            let id = id
                .and_then(|i| i.parse::<Uuid>().ok())
                .ok_or_else(|| ServerFnError::new("This import does not exist."))?;
            import_progress(id).await
        },
    );
    view! {
        <Title text="Import · Mosaic"/>
        <main class="settings">
            <p><a href="/settings">"← Back to settings"</a></p>
            <h1>"Import"</h1>
            <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(job) => view! {
                            {running(&job).then(|| view! { <noscript><Meta http_equiv="refresh" content="2"/></noscript> })}
                            <ImportProgress job/>
                        }
                        .into_any(),
                        Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

/// The import's state; while it runs, fetched again every second.
#[island]
fn ImportProgress(job: ImportJob) -> impl IntoView {
    let job = RwSignal::new(job);
    let problem = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let id = job.get_untracked().id;
            fn poll(id: Uuid, job: RwSignal<ImportJob>, problem: RwSignal<Option<String>>) {
                if !running(&job.get_untracked()) {
                    return;
                }
                set_timeout(
                    move || {
                        leptos::task::spawn_local(async move {
                            match import_progress(id).await {
                                Ok(now) => {
                                    problem.set(None);
                                    job.set(now);
                                }
                                Err(e) => problem.set(Some(error_text(&e))),
                            }
                            poll(id, job, problem);
                        })
                    },
                    std::time::Duration::from_secs(1),
                );
            }
            poll(id, job, problem);
        }
    });
    view! {
        {move || {
            let j = job.get();
            let (value, max) = match (j.status, j.total) {
                (ImportStatus::Importing, Some(total)) => (Some(j.done), total.max(1)),
                (ImportStatus::Done, _) => (Some(1), 1),
                _ => (None, 1),
            };
            let failed = j.status == ImportStatus::Failed;
            view! {
                <section class="card" aria-live="polite">
                    <p role="status">{describe(&j)}</p>
                    {running(&j).then(|| view! {
                        <progress max=max value=value.map(|v| v.to_string()) aria-label="Import progress"></progress>
                    })}
                    {j.problem.clone().map(|p| view! {
                        <p class=if failed { "error" } else { "muted" } role=failed.then_some("alert")>{p}</p>
                    })}
                    {(j.status == ImportStatus::Done).then(|| view! { <p><a class="button" href="/">"Open your conversations"</a></p> })}
                </section>
            }
        }}
        {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
    }
}
