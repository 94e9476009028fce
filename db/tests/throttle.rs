//! The sign-in throttle's counts on both engines: a client is refused after its failures, never
//! for its successes (many people behind one address sign in all day), and a success lets the
//! same account and client start again.

use mosaic_db::throttle::{Client, Verdict, CLIENT_FAILURES, PAIR_FAILURES};
use mosaic_db::Store;

mosaic_test_support::both_engines!(successes_never_use_up_a_clients_budget, failures_do);

fn office() -> Client {
    Client::from_ip("203.0.113.7".parse().expect("ip"))
}

async fn successes_never_use_up_a_clients_budget(engine: mosaic_test_support::Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    // Before, every attempt counted for the client and the 101st correct sign-in from an office
    // was refused for 15 minutes.
    for i in 0..(CLIENT_FAILURES * 2) {
        let email = format!("person{}@example.com", i % 40);
        let verdict = store.reserve_sign_in(&email, &office()).await.expect("reserve");
        assert!(matches!(verdict, Verdict::Go { .. }), "sign-in {i} from the office: {verdict:?}");
        store.clear_sign_in(&email, &office()).await.expect("settle");
    }
    // A success also lets the pair start again: the owner's earlier typos are forgiven.
    for _ in 0..PAIR_FAILURES {
        store.reserve_sign_in("typo@example.com", &office()).await.expect("reserve");
    }
    store.clear_sign_in("typo@example.com", &office()).await.expect("settle");
    for _ in 0..PAIR_FAILURES {
        let verdict = store.reserve_sign_in("typo@example.com", &office()).await.expect("reserve");
        assert!(matches!(verdict, Verdict::Go { .. }), "{verdict:?}");
    }
}

async fn failures_do(engine: mosaic_test_support::Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    // Spraying: one guess at each of many accounts. The first CLIENT_FAILURES go ahead.
    for i in 0..CLIENT_FAILURES {
        let verdict = store.reserve_sign_in(&format!("target{i}@example.com"), &office()).await.expect("reserve");
        assert!(matches!(verdict, Verdict::Go { .. }), "guess {i}: {verdict:?}");
    }
    let verdict = store.reserve_sign_in("one-more@example.com", &office()).await.expect("reserve");
    assert!(matches!(verdict, Verdict::Wait(_)), "the sprayer is stopped: {verdict:?}");
    // One right password among the guesses gives back one attempt, not the whole budget.
    store.clear_sign_in("target0@example.com", &office()).await.expect("settle");
    let verdict = store.reserve_sign_in("again@example.com", &office()).await.expect("reserve");
    assert!(matches!(verdict, Verdict::Wait(_)), "still stopped: {verdict:?}");
}
