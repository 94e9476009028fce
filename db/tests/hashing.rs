//! The password hashing threads under load and at rest, in a process of their own: a flood here
//! must not make another suite's sign-ups busy, and nothing else may be hashing while the idle test
//! watches the work areas go.

use std::time::Duration;

use mosaic_db::password::{self, EXIT_AFTER, QUEUE, RELEASE_AFTER};
use mosaic_db::DbError;

/// One test at a time: both watch the process-wide hashing threads.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The threads give their 19 MiB back once attempts stop coming, then end (so the allocator
/// returns the memory to the system), and start again on demand.
#[tokio::test]
async fn the_work_areas_are_freed_and_the_threads_end_when_idle() {
    let _one = SERIAL.lock().await;
    password::hash("warm up".into()).await.expect("hash");
    assert!(password::work_areas_held() >= 1, "a hash holds a work area");
    assert!(password::hashing_threads() >= 1);
    tokio::time::sleep(RELEASE_AFTER + Duration::from_millis(500)).await;
    assert_eq!(password::work_areas_held(), 0, "idle threads hold nothing");
    tokio::time::sleep(EXIT_AFTER + Duration::from_millis(500)).await;
    assert_eq!(password::hashing_threads(), 0, "idle threads end");
    let phc = password::hash("again".into()).await.expect("hash after the threads ended");
    assert!(password::verify("again".into(), phc).await.expect("verify"));
    assert!(password::hashing_threads() >= 1, "started again");
}

/// A flood of attempts beyond the queue is refused as busy at once, not queued without end; the
/// ones admitted still get their answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_as_busy() {
    let _one = SERIAL.lock().await;
    let phc = password::hash("flood".into()).await.expect("hash");
    let attempts: Vec<_> = (0..QUEUE * 3).map(|_| tokio::spawn(password::verify("x".into(), phc.clone()))).collect();
    let (mut busy, mut answered) = (0, 0);
    for attempt in attempts {
        match attempt.await.expect("join") {
            Err(DbError::Busy(_)) => busy += 1,
            Ok(false) => answered += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(busy > 0, "some of {} attempts are refused", QUEUE * 3);
    assert!(answered >= QUEUE, "the queue's worth are answered ({answered})");
}
