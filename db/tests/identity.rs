//! Admin and identity in the data layer, on SQLite and PostgreSQL: the user listing, the last-admin
//! rule, bans and deletions with their audit entries written in the change's transaction, API
//! tokens, platform-enforced preferences, provider sign-in and its linking rules, bootstrap,
//! password changes, and single-use verifications.

use mosaic_db::accounts::{Found, LinkPolicy, ProviderIdentity};
use mosaic_db::audit::Actor;
use mosaic_db::clock::{now_micros, SECOND};
use mosaic_db::messages::NewMessage;
use mosaic_db::model::{MessageRole, Role, TokenScope, User};
use mosaic_db::revocations::Revoked;
use mosaic_db::sessions::SessionPolicy;
use mosaic_db::{token, DbError, Engine, Store};
use mosaic_test_support::{agent_log, count_statements};
use serde_json::json;

mosaic_test_support::both_engines!(
    users_are_listed_newest_first_by_keyset_and_found_by_search,
    the_last_admin_cannot_be_demoted_banned_or_deleted,
    two_admins_demoting_each_other_at_once_leave_one,
    admin_actions_are_audited_in_their_own_transaction,
    deleting_a_user_deletes_everything_they_own_and_nothing_else,
    api_tokens_resolve_until_revoked_or_expired,
    enforced_preferences_win_and_refuse_the_users_writes,
    provider_sign_in_creates_finds_and_links_only_verified_emails,
    bootstrap_creates_the_first_admin_only_on_an_empty_instance,
    a_password_change_ends_the_other_sessions,
    verifications_are_taken_once_and_expire,
);

async fn user(store: &Store, email: &str) -> User {
    store.create_user_with_password(email, "Test User", "$argon2id$fake", true).await.expect("create user")
}

fn actor(u: &User) -> Actor {
    Actor::from(u)
}

async fn session(store: &Store, u: &User) -> (String, uuid::Uuid) {
    let t = token::generate().expect("token");
    let s = store.create_session(u.id, &token::hash(&t), None, None, SessionPolicy::default()).await.expect("session");
    (t, s.id)
}

async fn users_are_listed_newest_first_by_keyset_and_found_by_search(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(user(store, &format!("person{i}@example.com")).await);
    }
    let odd = user(store, "percent%_sign@example.com").await;
    session(store, &made[2]).await;
    session(store, &made[2]).await;
    // Newest first, two at a time, every user once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_users("", cursor.as_deref(), 2).await.expect("page");
        seen.extend(page.items.iter().map(|u| u.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut expected: Vec<_> = made.iter().map(|u| u.id).chain([odd.id]).collect();
    expected.reverse();
    assert_eq!(seen, expected);
    // Search: case-insensitive substring of the email, with LIKE's wildcards taken literally.
    let found = store.list_users("PERSON3", None, 50).await.expect("search");
    assert_eq!(found.items.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(), ["person3@example.com"]);
    let found = store.list_users("%_", None, 50).await.expect("search");
    assert_eq!(found.items.iter().map(|u| u.id).collect::<Vec<_>>(), [odd.id], "% and _ match themselves");
    assert!(store.list_users("nobody-like-this", None, 50).await.expect("search").items.is_empty());
    // Activity: live sessions and the latest activity.
    let row = store.list_users("person2", None, 50).await.expect("search").items.remove(0);
    assert_eq!(row.session_count, 2);
    assert!(row.last_seen_at.is_some_and(|t| t > now_micros() - 60 * SECOND));
    assert_eq!(store.list_users("person4", None, 50).await.expect("search").items[0].session_count, 0);
    assert!(matches!(store.list_users("", Some("bogus"), 5).await, Err(DbError::BadCursor)));
}

async fn the_last_admin_cannot_be_demoted_banned_or_deleted(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let root = user(store, "root@example.com").await;
    let member = user(store, "member@example.com").await;
    assert_eq!(root.role, Role::Admin);
    let by_member = actor(&member);
    let conflict = |r: Result<(), DbError>| matches!(r, Err(DbError::Conflict(m)) if m.contains("last admin"));
    assert!(conflict(store.set_role(&actor(&root), root.id, Role::Member).await.map(|_| ())));
    assert!(conflict(store.ban(&by_member, root.id, None).await));
    assert!(conflict(store.delete_user(&by_member, root.id).await.map(|_| ())));
    // Nobody bans or deletes themselves from the admin area.
    assert!(matches!(store.ban(&actor(&root), root.id, None).await, Err(DbError::Invalid(_))));
    assert!(matches!(store.delete_user(&actor(&root), root.id).await, Err(DbError::Invalid(_))));
    // With a second admin, the first can step down; then the second is the last.
    let promoted = store.set_role(&actor(&root), member.id, Role::Admin).await.expect("promote");
    assert_eq!(promoted.role, Role::Admin);
    store.set_role(&actor(&member), root.id, Role::Member).await.expect("demote the other admin");
    assert!(conflict(store.set_role(&actor(&member), member.id, Role::Member).await.map(|_| ())));
    assert_eq!(store.get_user(root.id).await.expect("root").role, Role::Member);
    // A banned admin does not count: banning one of two admins leaves one, who then stays.
    let third = user(store, "third@example.com").await;
    store.set_role(&actor(&member), third.id, Role::Admin).await.expect("promote");
    store.ban(&actor(&member), third.id, Some("compromised")).await.expect("ban the other admin");
    assert!(conflict(store.set_role(&actor(&member), member.id, Role::Member).await.map(|_| ())));
    assert!(matches!(store.set_role(&actor(&member), uuid::Uuid::now_v7(), Role::Admin).await, Err(DbError::NotFound)));
}

async fn two_admins_demoting_each_other_at_once_leave_one(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let root = user(store, "root@example.com").await;
    for round in 0..20 {
        let a = user(store, &format!("a{round}@example.com")).await;
        let b = user(store, &format!("b{round}@example.com")).await;
        store.set_role(&actor(&root), a.id, Role::Admin).await.expect("a");
        store.set_role(&actor(&root), b.id, Role::Admin).await.expect("b");
        // Everyone else steps down: a and b are the only admins.
        for u in store.list_users("", None, 100).await.expect("users").items {
            if u.role == Role::Admin && u.id != a.id && u.id != b.id {
                store.set_role(&actor(&a), u.id, Role::Member).await.expect("step down");
            }
        }
        // Each on its own task, released together, so both transactions are open at once.
        let gate = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let demote = |by: &User, whom: &User| {
            let (store, by, whom, gate) = (store.clone(), actor(by), whom.id, gate.clone());
            tokio::spawn(async move {
                gate.wait().await;
                store.set_role(&by, whom, Role::Member).await
            })
        };
        let (x, y) = (demote(&a, &b), demote(&b, &a));
        let (x, y) = (x.await.expect("task"), y.await.expect("task"));
        assert!(x.is_ok() != y.is_ok(), "exactly one demotion wins: {x:?} {y:?}");
        let admins = store.list_users("", None, 100).await.expect("users").items;
        assert_eq!(admins.iter().filter(|u| u.role == Role::Admin).count(), 1, "round {round}");
    }
}

async fn admin_actions_are_audited_in_their_own_transaction(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let root = user(store, "root@example.com").await;
    let target = user(store, "target@example.com").await;
    store.set_role(&actor(&root), target.id, Role::Admin).await.expect("promote");
    store.ban(&actor(&root), target.id, Some("  spam  ")).await.expect("ban");
    store.unban(&actor(&root), target.id).await.expect("unban");
    store.set_platform_preference(&actor(&root), "theme", &json!("dark"), true).await.expect("enforce");
    // A refused change leaves no entry: the audit write is in the refused transaction.
    store.set_role(&actor(&target), root.id, Role::Member).await.expect("demote root");
    let before = store.list_audit(None, 100).await.expect("audit").items.len();
    assert!(store.set_role(&actor(&root), target.id, Role::Member).await.is_err(), "last admin");
    assert_eq!(store.list_audit(None, 100).await.expect("audit").items.len(), before);
    let entries = store.list_audit(None, 100).await.expect("audit").items;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["user.role", "preference.set", "user.unban", "user.ban", "user.role"], "newest first");
    let ban = &entries[3];
    assert_eq!((ban.actor_id, ban.actor_email.as_str()), (Some(root.id), "root@example.com"));
    assert_eq!((ban.target_id, ban.target_label.as_deref()), (Some(target.id), Some("target@example.com")));
    assert_eq!(ban.detail["reason"], "spam");
    assert_eq!(entries[4].detail, json!({"from": "member", "to": "admin"}));
    // Paged by keyset, newest first.
    let first = store.list_audit(None, 2).await.expect("page");
    let second = store.list_audit(first.next.as_deref(), 2).await.expect("page");
    assert_eq!(second.items[0].id, entries[2].id);
}

async fn deleting_a_user_deletes_everything_they_own_and_nothing_else(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let root = user(store, "root@example.com").await;
    let gone = user(store, "gone@example.com").await;
    let kept = user(store, "kept@example.com").await;
    for u in [&gone, &kept] {
        let c = store.create_conversation(u.id, "Mine").await.expect("conversation");
        let text = NewMessage { role: MessageRole::User, content: "hello".into(), metadata: json!({}) };
        store.append_message(u.id, c.id, text).await.expect("message");
        store.append_agent_logs(&[agent_log(u.id, "agent", mosaic_db::model::Tier::Hot, None)]).await.expect("log");
        store.set_preference(u.id, "theme", &json!("dark")).await.expect("pref");
        store.create_api_token(u, "ci", TokenScope::Read, None, &token::hash(&u.email)).await.expect("token");
    }
    session(store, &gone).await;
    let mut revoked = store.revocations().subscribe();
    store.delete_user(&actor(&root), gone.id).await.expect("delete");
    let announced: Vec<Revoked> = std::iter::from_fn(|| revoked.try_recv().ok()).filter_map(revoked_of).collect();
    assert_eq!(announced, [Revoked::User(gone.id)], "one announcement for all of the user's credentials");
    assert!(matches!(store.get_user(gone.id).await, Err(DbError::NotFound)));
    let count = |table: &'static str, id: uuid::Uuid| async move {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE user_id = $1");
        match store {
            Store::Sqlite(s) => {
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(s.pool()).await
            }
            Store::Postgres(s) => {
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(s.pool()).await
            }
        }
        .expect("count")
    };
    for table in ["conversations", "agent_logs", "preferences", "api_tokens", "sessions", "accounts"] {
        assert_eq!(count(table, gone.id).await, 0, "{table} of the deleted user");
    }
    for table in ["conversations", "agent_logs", "preferences", "api_tokens", "accounts"] {
        assert_eq!(count(table, kept.id).await, 1, "{table} of another user");
    }
    let entry = store.list_audit(None, 1).await.expect("audit").items.remove(0);
    assert_eq!((entry.action.as_str(), entry.target_label.as_deref()), ("user.delete", Some("gone@example.com")));
    assert_eq!((entry.detail["conversations"].as_i64(), entry.detail["agentLogs"].as_i64()), (Some(1), Some(1)));
}

async fn api_tokens_resolve_until_revoked_or_expired(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let root = user(store, "root@example.com").await;
    let member = user(store, "member@example.com").await;
    let secret = mosaic_db::api_tokens::generate_secret().expect("secret");
    assert!(secret.starts_with("mosaic_") && secret.len() > 40);
    let t = store
        .create_api_token(&member, " laptop ", TokenScope::Write, None, &token::hash(&secret))
        .await
        .expect("create");
    assert_eq!((t.name.as_str(), t.scope, t.last_used_at), ("laptop", TokenScope::Write, None));
    let auth = store.resolve_api_token(&token::hash(&secret)).await.expect("resolve").expect("live");
    assert_eq!((auth.user.id, auth.token.id, auth.scope()), (member.id, t.id, TokenScope::Write));
    assert!(store.list_api_tokens(member.id).await.expect("list")[0].last_used_at.is_some(), "its use is noted");
    assert!(store.resolve_api_token(&token::hash("mosaic_wrong")).await.expect("resolve").is_none());
    // Only admins hold admin-scoped tokens; an admin who is demoted keeps a token that only writes.
    let denied = store.create_api_token(&member, "x", TokenScope::Admin, None, &token::hash("a")).await;
    assert!(matches!(denied, Err(DbError::Invalid(_))));
    store.set_role(&actor(&root), member.id, Role::Admin).await.expect("promote");
    let member = store.get_user(member.id).await.expect("member");
    let admin_secret = "mosaic_admin-secret";
    store.create_api_token(&member, "ops", TokenScope::Admin, None, &token::hash(admin_secret)).await.expect("admin");
    let resolve = |s: &'static str| async move { store.resolve_api_token(&token::hash(s)).await.expect("resolve") };
    assert_eq!(resolve(admin_secret).await.expect("live").scope(), TokenScope::Admin);
    store.set_role(&actor(&root), member.id, Role::Member).await.expect("demote");
    assert_eq!(resolve(admin_secret).await.expect("live").scope(), TokenScope::Write);
    // Expired tokens are refused; past expiries are refused at creation.
    let past =
        store.create_api_token(&member, "old", TokenScope::Read, Some(now_micros() - SECOND), &token::hash("p")).await;
    assert!(matches!(past, Err(DbError::Invalid(_))));
    let soon = store
        .create_api_token(
            &member,
            "soon",
            TokenScope::Read,
            Some(now_micros() + SECOND / 5),
            &token::hash("mosaic_soon"),
        )
        .await
        .expect("create");
    assert!(resolve("mosaic_soon").await.is_some());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(resolve("mosaic_soon").await.is_none(), "expired");
    // Revoking one announces it and refuses it from then on; another user's token is not found.
    let mut revoked = store.revocations().subscribe();
    assert!(matches!(store.revoke_api_token(root.id, soon.id).await, Err(DbError::NotFound)));
    store.revoke_api_token(member.id, t.id).await.expect("revoke");
    assert_eq!(revoked.try_recv().ok().and_then(revoked_of), Some(Revoked::Token(t.id)));
    assert!(store.resolve_api_token(&token::hash(&secret)).await.expect("resolve").is_none());
    // A banned user's tokens stop working.
    store.ban(&actor(&root), member.id, None).await.expect("ban");
    assert!(resolve(admin_secret).await.is_none());
}

async fn enforced_preferences_win_and_refuse_the_users_writes(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let root = user(store, "root@example.com").await;
    let u = user(store, "u@example.com").await;
    store.set_preference(u.id, "theme", &json!("light")).await.expect("user's own");
    store.set_platform_preference(&actor(&root), "ui.density", &json!("compact"), false).await.expect("default");
    store.set_platform_preference(&actor(&root), "theme", &json!("dark"), true).await.expect("enforce");
    let (prefs, statements) = count_statements(store.effective_preferences(u.id)).await;
    let prefs = prefs.expect("effective");
    assert_eq!(statements, 1, "the effective read is one query");
    let get = |k: &str| prefs.iter().find(|p| p.key == k).cloned().expect("key");
    assert_eq!((get("theme").value, get("theme").mutable), (json!("dark"), false), "enforcement wins");
    assert_eq!((get("ui.density").value, get("ui.density").is_default), (json!("compact"), true));
    // The user's write and delete to the enforced key are refused, naming it, and change nothing.
    match store.set_preference(u.id, "theme", &json!("sepia")).await {
        Err(DbError::Immutable(key)) => assert_eq!(key, "theme"),
        other => panic!("expected Immutable, got {other:?}"),
    }
    assert!(matches!(store.delete_preference(u.id, "theme").await, Err(DbError::Immutable(_))));
    // The user's own value overrides a platform default, and comes back when enforcement ends.
    store.set_preference(u.id, "ui.density", &json!("cozy")).await.expect("override a default");
    store.delete_platform_preference(&actor(&root), "theme").await.expect("lift");
    let prefs = store.effective_preferences(u.id).await.expect("effective");
    let get = |k: &str| prefs.iter().find(|p| p.key == k).cloned().expect("key");
    assert_eq!((get("theme").value, get("theme").mutable), (json!("light"), true));
    assert_eq!(get("ui.density").value, json!("cozy"));
    assert!(matches!(store.delete_platform_preference(&actor(&root), "theme").await, Err(DbError::NotFound)));
    let listed = store.list_platform_preferences().await.expect("list");
    assert_eq!(listed.iter().map(|p| (p.key.as_str(), p.enforced)).collect::<Vec<_>>(), [("ui.density", false)]);
}

fn identity(subject: &str, email: &str, verified: bool) -> ProviderIdentity {
    ProviderIdentity {
        provider: "keycloak".into(),
        subject: subject.into(),
        email: email.into(),
        email_verified: verified,
        name: "Kay Cloak".into(),
    }
}

async fn provider_sign_in_creates_finds_and_links_only_verified_emails(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let link = LinkPolicy { link_verified_email: true, make_admin: false };
    let no_link = LinkPolicy { link_verified_email: false, make_admin: false };
    // The very first account is admin, as with sign-up.
    let (first, found) =
        store.sign_in_with_provider(&identity("sub-1", "Kay@Example.com", true), no_link).await.expect("create");
    assert_eq!((found, first.role, first.email.as_str()), (Found::Created, Role::Admin, "kay@example.com"));
    let (again, found) =
        store.sign_in_with_provider(&identity("sub-1", "changed@example.com", true), no_link).await.expect("find");
    assert_eq!((again.id, found), (first.id, Found::Existing), "found by subject, not by email");
    // An existing email account: linked only when verified and allowed.
    let pw = user(store, "pw@example.com").await;
    let refused = store.sign_in_with_provider(&identity("sub-2", "pw@example.com", true), no_link).await;
    assert!(matches!(refused, Err(DbError::Conflict(_))), "linking off");
    let refused = store.sign_in_with_provider(&identity("sub-2", "pw@example.com", false), link).await;
    assert!(matches!(refused, Err(DbError::Conflict(_))), "email not verified");
    // Nobody had verified pw@'s address: whoever registered it may be a squatter, so the provider's
    // verified owner claims the account and the squatter's ways in end.
    let (squatter, _) = session(store, &pw).await;
    store.create_api_token(&pw, "squat", TokenScope::Write, None, &token::hash("mosaic_squat")).await.expect("token");
    let mut revoked = store.revocations().subscribe();
    let (claimed, found) =
        store.sign_in_with_provider(&identity("sub-2", "pw@example.com", true), link).await.expect("claim");
    assert_eq!((claimed.id, found), (pw.id, Found::Claimed));
    assert_eq!(store.password_hash(pw.id).await.expect("hash"), None, "the old password is gone");
    assert!(store.resolve_session(&token::hash(&squatter), SessionPolicy::default()).await.expect("resolve").is_none());
    assert!(store.resolve_api_token(&token::hash("mosaic_squat")).await.expect("resolve").is_none());
    assert_eq!(revoked.try_recv().ok().and_then(revoked_of), Some(Revoked::User(pw.id)));
    // Now verified, the account is linked (not claimed again) by another provider's verified email.
    let other = ProviderIdentity { provider: "google".into(), ..identity("g-2", "pw@example.com", true) };
    let (linked, found) = store.sign_in_with_provider(&other, link).await.expect("link");
    assert_eq!((linked.id, found), (pw.id, Found::Linked));
    let (again, found) =
        store.sign_in_with_provider(&identity("sub-2", "pw@example.com", true), link).await.expect("again");
    assert_eq!((again.id, found), (pw.id, Found::Existing), "the first provider's account was kept");
    // MOSAIC_ADMIN_EMAIL's effect; a provider account has no password to change.
    let admin = LinkPolicy { link_verified_email: false, make_admin: true };
    let (boss, _) =
        store.sign_in_with_provider(&identity("sub-3", "boss@example.com", true), admin).await.expect("admin");
    assert_eq!(boss.role, Role::Admin);
    assert_eq!(store.password_hash(boss.id).await.expect("hash"), None);
    let entry = store.list_audit(None, 1).await.expect("audit").items.remove(0);
    assert_eq!((entry.actor_email.as_str(), entry.action.as_str()), ("MOSAIC_ADMIN_EMAIL", "user.role"));
    // An address the provider does not vouch for never makes an admin.
    let (sly, _) =
        store.sign_in_with_provider(&identity("sub-5", "boss2@example.com", false), admin).await.expect("made");
    assert_eq!(sly.role, Role::Member);
    let bad = store.sign_in_with_provider(&identity("sub-4", "not an email", true), no_link).await;
    assert!(matches!(bad, Err(DbError::Invalid(_))));
}

async fn bootstrap_creates_the_first_admin_only_on_an_empty_instance(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let (first, token) = store
        .bootstrap_admin("ops@example.com", "Ops", "$argon2id$fake", &token::hash("mosaic_boot"))
        .await
        .expect("bootstrap");
    assert_eq!((first.role, token.scope), (Role::Admin, TokenScope::Admin));
    let auth = store.resolve_api_token(&token::hash("mosaic_boot")).await.expect("resolve").expect("the token works");
    assert_eq!(auth.scope(), TokenScope::Admin);
    let again = store.bootstrap_admin("second@example.com", "Second", "$argon2id$fake", &token::hash("x")).await;
    assert!(matches!(again, Err(DbError::Conflict(_))));
    assert_eq!(store.count_users().await.expect("count"), 1);
    let entry = store.list_audit(None, 5).await.expect("audit").items;
    assert_eq!(entry.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["instance.bootstrap"]);
}

async fn a_password_change_ends_the_other_sessions(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "u@example.com").await;
    let (here, here_id) = session(store, &u).await;
    let (there, _) = session(store, &u).await;
    let (third, _) = session(store, &u).await;
    store.change_password(u.id, "$argon2id$new", here_id).await.expect("change");
    assert_eq!(store.password_hash(u.id).await.expect("hash").as_deref(), Some("$argon2id$new"));
    let live = |t: String| async move {
        store.resolve_session(&token::hash(&t), SessionPolicy::default()).await.expect("resolve").is_some()
    };
    assert!(live(here.clone()).await, "the session that changed it stays");
    assert!(!live(there).await && !live(third).await, "the others end");
    let (fourth, _) = session(store, &u).await;
    assert_eq!(store.revoke_other_sessions(u.id, here_id).await.expect("others"), 1);
    assert!(live(here).await && !live(fourth).await);
}

async fn verifications_are_taken_once_and_expire(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    store.put_verification("oidc:a", "{\"x\":1}", now_micros() + 60 * SECOND).await.expect("put");
    assert_eq!(store.take_verification("oidc:a").await.expect("take").as_deref(), Some("{\"x\":1}"));
    assert_eq!(store.take_verification("oidc:a").await.expect("take"), None, "once");
    store.put_verification("oidc:b", "v", now_micros() - SECOND).await.expect("put");
    assert_eq!(store.take_verification("oidc:b").await.expect("take"), None, "expired");
}

/// The credential a bus signal announces as ended, if it is such an announcement.
fn revoked_of(signal: mosaic_db::bus::Signal) -> Option<Revoked> {
    match signal {
        mosaic_db::bus::Signal::Revoked { revoked } => Some(revoked),
        _ => None,
    }
}
