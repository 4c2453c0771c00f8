//! Sessions and the login audit on every backend: expiry and renewal, logout, every attempt
//! audited, and the purges.

use bangban_kit::auth::{AuthStore, LoginOutcome, Role, SESSION_MAX, SESSION_TTL};
use time::Duration;

use crate::support::*;

pub async fn token_expires_when_idle_and_at_most_a_working_day_after_login(store: AuthStore) {
    create(&store, "zhengshi", Role::Agent).await;
    let start = t0();

    // Unused, a session ends SESSION_TTL after login.
    let a = store
        .login("zhengshi", PASSWORD, None, start)
        .await
        .unwrap();
    store
        .authenticate(
            a.token.expose(),
            start + SESSION_TTL - Duration::milliseconds(1),
        )
        .await
        .unwrap();
    let b = store
        .login("zhengshi", PASSWORD, None, start)
        .await
        .unwrap();
    assert_eq!(
        code(
            store
                .authenticate(b.token.expose(), start + SESSION_TTL)
                .await
        ),
        "auth.invalid_token"
    );

    // Used, it lives on for SESSION_TTL after each use …
    let used = store
        .login("zhengshi", PASSWORD, None, start)
        .await
        .unwrap();
    let token = used.token.expose();
    // Used every SESSION_TTL minus ten minutes, it outlives SESSION_TTL many times over …
    let step = SESSION_TTL - Duration::minutes(10);
    let mut at = start;
    while at + step < start + SESSION_MAX {
        at += step;
        store.authenticate(token, at).await.unwrap();
    }
    assert!(
        at > start + SESSION_TTL * 3,
        "renewed well past one idle period"
    );
    // … but never past SESSION_MAX after the login, however busy.
    store
        .authenticate(token, start + SESSION_MAX - Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        code(store.authenticate(token, start + SESSION_MAX).await),
        "auth.invalid_token"
    );
}

pub async fn logout_invalidates_the_token(store: AuthStore) {
    create(&store, "qianyi", Role::Inspector).await;
    let now = t0();
    let a = store.login("qianyi", PASSWORD, None, now).await.unwrap();
    let b = store.login("qianyi", PASSWORD, None, now).await.unwrap();
    assert!(store.logout(a.token.expose()).await.unwrap());
    assert_eq!(
        code(store.authenticate(a.token.expose(), now).await),
        "auth.invalid_token"
    );
    // Only that session ended.
    store.authenticate(b.token.expose(), now).await.unwrap();
    // Logging out twice, or with garbage, is no error.
    assert!(!store.logout(a.token.expose()).await.unwrap());
    assert!(!store.logout("garbage").await.unwrap());
}

pub async fn every_login_attempt_is_audited(store: AuthStore) {
    create(&store, "chener", Role::StationOperator).await;
    store.disable("chener", t0()).await.unwrap();
    store.enable("chener", t0()).await.unwrap();
    let at = |s: i64| t0() + Duration::seconds(s);
    let peer = Some("192.0.2.10".to_owned());
    store
        .login("chener", PASSWORD, peer.clone(), at(1))
        .await
        .unwrap();
    let _ = store
        .login("chener", "Wrong-password-1", peer.clone(), at(2))
        .await;
    let _ = store.login("ghost", "Wrong-password-1", None, at(3)).await;
    // A password typed into the username field is not recorded.
    let _ = store.login("My Secret Pass!", "x", None, at(4)).await;
    store.disable("chener", at(5)).await.unwrap();
    let _ = store.login("chener", PASSWORD, None, at(6)).await;

    let rows = store.login_attempts(10).await.unwrap();
    let seen: Vec<_> = rows
        .iter()
        .rev()
        .map(|a| (a.username.as_deref(), a.success, a.outcome, a.at))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Some("chener"), true, LoginOutcome::Ok, at(1)),
            (Some("chener"), false, LoginOutcome::WrongPassword, at(2)),
            (Some("ghost"), false, LoginOutcome::UnknownUser, at(3)),
            (None, false, LoginOutcome::UnknownUser, at(4)),
            (Some("chener"), false, LoginOutcome::Disabled, at(6)),
        ]
    );
    assert_eq!(rows.last().unwrap().peer.as_deref(), Some("192.0.2.10"));
    assert_eq!(rows[0].peer, None);
    assert!(rows.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(store.login_attempts(2).await.unwrap().len(), 2);
}

pub async fn purge_removes_only_expired_sessions(store: AuthStore) {
    create(&store, "fengba", Role::Agent).await;
    let early = store.login("fengba", PASSWORD, None, t0()).await.unwrap();
    let late_at = t0() + SESSION_TTL / 2;
    let late = store
        .login("fengba", PASSWORD, None, late_at)
        .await
        .unwrap();
    let purged = store
        .purge_expired(t0() + SESSION_TTL + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(store.session_count().await.unwrap(), 1);
    assert_eq!(
        code(store.authenticate(early.token.expose(), late_at).await),
        "auth.invalid_token"
    );
    store
        .authenticate(
            late.token.expose(),
            late_at + SESSION_TTL - Duration::minutes(1),
        )
        .await
        .unwrap();
}

pub async fn purging_the_login_audit_keeps_the_retention_period(store: AuthStore) {
    create(&store, "weishi", Role::StationOperator).await;
    for day in [0, 100, 200] {
        let _ = store
            .login("weishi", PASSWORD, None, t0() + Duration::days(day))
            .await
            .unwrap();
    }
    // On day 200 with 180 days kept, only the day-0 record goes.
    let removed = store
        .purge_login_audit(t0() + Duration::days(200) - Duration::days(180))
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let left: Vec<_> = store
        .login_attempts(10)
        .await
        .unwrap()
        .iter()
        .map(|a| a.at)
        .collect();
    assert_eq!(
        left,
        vec![t0() + Duration::days(200), t0() + Duration::days(100)]
    );
}
