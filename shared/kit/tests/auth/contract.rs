//! What the auth store keeps on every backend. Each function gets a fresh, migrated store.

use std::time::{Duration as StdDuration, Instant};

use bangban_domain::Bilingual;
use bangban_kit::auth::{
    AuthError, AuthStore, LOCKOUT, LoginOutcome, MAX_FAILED_ATTEMPTS, NewOperator, Role,
    SESSION_TTL,
};
use sqlx::Row;
use time::Duration;

use crate::support::*;

fn code<T: std::fmt::Debug>(r: Result<T, AuthError>) -> &'static str {
    r.unwrap_err().code()
}

pub async fn created_operator_logs_in_and_its_token_authenticates(store: AuthStore) {
    let created = create(&store, "ZhangSan", Role::StationOperator).await;
    // Usernames are normalised to lowercase.
    assert_eq!(created.username, "zhangsan");
    assert_eq!(created.role, Role::StationOperator);
    assert_eq!(created.display_name, "ZhangSan 测试");
    assert!(!created.disabled);

    let now = t0() + Duration::minutes(1);
    let session = store
        .login(" zhangsan ", PASSWORD, Some("10.0.0.7".into()), now)
        .await
        .unwrap();
    assert_eq!(session.operator.username, "zhangsan");
    assert_eq!(session.expires_at, now + SESSION_TTL);
    let token = session.token.expose().to_owned();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(
        !format!("{session:?}").contains(&token),
        "Debug leaks the token"
    );

    let who = store.authenticate(&token, now).await.unwrap();
    assert_eq!(who.username, "zhangsan");
    assert_eq!(who.role, Role::StationOperator);

    // Another login opens another session with another token.
    let second = store.login("ZHANGSAN", PASSWORD, None, now).await.unwrap();
    assert_ne!(second.token, session.token);
    assert_eq!(store.session_count().await.unwrap(), 2);

    assert_eq!(
        code(store.authenticate(&"0".repeat(64), now).await),
        "auth.invalid_token"
    );
    assert_eq!(
        code(store.authenticate("not a token", now).await),
        "auth.invalid_token"
    );
}

pub async fn wrong_password_and_unknown_user_fail_alike(store: AuthStore) {
    create(&store, "lisi", Role::Agent).await;
    let now = t0();
    // The first login of a store makes its dummy hash; keep that out of the timings.
    store.login("lisi", PASSWORD, None, now).await.unwrap();

    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let e1 = store
            .login("lisi", "Wrong-password-1", None, now)
            .await
            .unwrap_err();
        wrong.push(started.elapsed());
        let started = Instant::now();
        let e2 = store
            .login("nobody", "Wrong-password-1", None, now)
            .await
            .unwrap_err();
        unknown.push(started.elapsed());

        assert_eq!(e1.code(), "auth.invalid_credentials");
        assert_eq!(e2.code(), e1.code());
        assert_eq!(e1.message_zh(), e2.message_zh());
        assert_eq!(e1.message_en(), e2.message_en());
        assert_eq!(e1.status(), e2.status());
    }
    // Both spend an argon2 verification; generous bounds keep this steady on a busy machine.
    let median = |mut v: Vec<StdDuration>| {
        v.sort();
        v[1].as_secs_f64()
    };
    let (w, u) = (median(wrong), median(unknown));
    assert!(
        u > w / 4.0 && u < w * 4.0,
        "unknown user took {u:.4}s, wrong password {w:.4}s"
    );
    // A malformed username is refused the same way too.
    assert_eq!(
        code(store.login("no such user!", PASSWORD, None, now).await),
        "auth.invalid_credentials"
    );
}

pub async fn five_failures_lock_the_account_until_the_window_ends(store: AuthStore) {
    create(&store, "wangwu", Role::Inspector).await;
    let start = t0();
    for i in 0..MAX_FAILED_ATTEMPTS - 1 {
        let at = start + Duration::seconds(i);
        assert_eq!(
            code(store.login("wangwu", "Wrong-password-1", None, at).await),
            "auth.invalid_credentials"
        );
    }
    let op = store.operator("wangwu").await.unwrap().unwrap();
    assert_eq!(op.failed_attempts, MAX_FAILED_ATTEMPTS - 1);
    assert_eq!(op.locked_until, None);

    // The fifth failure locks, and says so.
    let fifth = start + Duration::seconds(10);
    let err = store
        .login("wangwu", "Wrong-password-1", None, fifth)
        .await
        .unwrap_err();
    let AuthError::Locked { until } = err else {
        panic!("expected a lock, got {err:?}");
    };
    assert_eq!(until, fifth + LOCKOUT);
    // 09:00:10 + 15 min, shown rounded up in China time.
    assert!(
        err_message_zh(&store, fifth)
            .await
            .contains("2026-02-10 09:16"),
        "the message says when to retry"
    );

    // While locked even the right password is refused, and nothing is counted.
    let during = fifth + LOCKOUT - Duration::seconds(1);
    assert_eq!(
        code(store.login("wangwu", PASSWORD, None, during).await),
        "auth.locked"
    );

    // After the window the right password works and the streak starts over.
    let after = fifth + LOCKOUT;
    let session = store.login("wangwu", PASSWORD, None, after).await.unwrap();
    assert_eq!(session.operator.failed_attempts, 0);
    assert_eq!(session.operator.locked_until, None);
    let op = store.operator("wangwu").await.unwrap().unwrap();
    assert_eq!((op.failed_attempts, op.locked_until), (0, None));

    // A run-out lock gives a fresh streak even without a success in between.
    for i in 0..MAX_FAILED_ATTEMPTS {
        let _ = store
            .login(
                "wangwu",
                "Wrong-password-1",
                None,
                after + Duration::seconds(i),
            )
            .await;
    }
    let relocked = store.operator("wangwu").await.unwrap().unwrap();
    let later = relocked.locked_until.unwrap() + Duration::seconds(1);
    assert_eq!(
        code(store.login("wangwu", "Wrong-password-1", None, later).await),
        "auth.invalid_credentials",
        "one failure after the window does not lock again"
    );
    store.login("wangwu", PASSWORD, None, later).await.unwrap();
}

/// The Chinese message of the lock that is in force at `now`.
async fn err_message_zh(store: &AuthStore, now: time::OffsetDateTime) -> String {
    store
        .login("wangwu", PASSWORD, None, now)
        .await
        .unwrap_err()
        .message_zh()
}

pub async fn parallel_guesses_cannot_overrun_the_failure_limit(store: AuthStore) {
    create(&store, "zhaoliu", Role::Agent).await;
    let now = t0();
    let guesses = (0..12).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .login("zhaoliu", &format!("Guess-number-{i}"), None, now)
                .await
                .unwrap_err()
        })
    });
    let mut checked = 0;
    for g in guesses.collect::<Vec<_>>() {
        let err = g.await.unwrap();
        assert!(
            matches!(
                err,
                AuthError::InvalidCredentials | AuthError::Locked { .. }
            ),
            "{err:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 12);
    let audit = store.login_attempts(100).await.unwrap();
    let verified = audit
        .iter()
        .filter(|a| {
            matches!(
                a.outcome,
                LoginOutcome::WrongPassword | LoginOutcome::Lockout
            )
        })
        .count();
    assert_eq!(
        verified,
        usize::try_from(MAX_FAILED_ATTEMPTS).unwrap(),
        "only the first five guesses may reach the password check"
    );
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.outcome == LoginOutcome::Locked)
            .count(),
        12 - verified
    );
}

pub async fn weak_passwords_and_bad_names_are_refused_with_their_own_codes(store: AuthStore) {
    let attempt = |username: &str, display: &str, password: &str| NewOperator {
        username: username.into(),
        display_name: display.into(),
        role: Role::StationOperator,
        password: password.into(),
    };
    let cases = [
        (
            attempt("sunqi", "孙七", "Ab3-xyz"),
            "auth.password_too_short",
        ),
        (
            attempt("sunqi", "孙七", "20260210"),
            "auth.password_all_digits",
        ),
        (
            attempt("sunqi2026", "孙七", "SunQi2026"),
            "auth.password_is_username",
        ),
        (
            attempt("sunqi", "孙七", &"长".repeat(129)),
            "auth.password_too_long",
        ),
        (attempt("sq", "孙七", PASSWORD), "auth.invalid_username"),
        (attempt("孙七", "孙七", PASSWORD), "auth.invalid_username"),
        (
            attempt("sunqi", "  ", PASSWORD),
            "auth.invalid_display_name",
        ),
    ];
    for (new, expected) in cases {
        let err = store.create_operator(new.clone(), t0()).await.unwrap_err();
        assert_eq!(err.code(), expected, "{new:?}");
        assert_eq!(err.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!err.message_zh().is_empty() && !err.message_en().is_empty());
    }
    assert!(store.list_operators().await.unwrap().is_empty());

    // A non-ASCII password of eight characters is fine.
    store
        .create_operator(attempt("sunqi", "孙七", "帮办代办密码a1"), t0())
        .await
        .unwrap();
    // The same policy holds for a new password.
    assert_eq!(
        code(store.set_password("sunqi", "1234567890", t0()).await),
        "auth.password_all_digits"
    );
    assert_eq!(
        code(store.set_password("nobody", PASSWORD, t0()).await),
        "auth.unknown_operator"
    );
}

pub async fn duplicate_username_is_refused(store: AuthStore) {
    create(&store, "zhouba", Role::Agent).await;
    for name in ["zhouba", "ZhouBa", " zhouba "] {
        let err = store
            .create_operator(
                NewOperator {
                    username: name.into(),
                    display_name: "周八".into(),
                    role: Role::DistrictAdmin,
                    password: "Another-pass-1".into(),
                },
                t0(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "auth.duplicate_username");
        assert_eq!(err.status(), axum::http::StatusCode::CONFLICT);
        assert!(err.message_zh().contains("zhouba"));
    }
    // The first account is untouched.
    let ops = store.list_operators().await.unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].role, Role::Agent);
    store.login("zhouba", PASSWORD, None, t0()).await.unwrap();
}

pub async fn disabled_operator_cannot_log_in_and_loses_its_sessions(store: AuthStore) {
    create(&store, "wujiu", Role::StationOperator).await;
    let now = t0();
    let session = store.login("wujiu", PASSWORD, None, now).await.unwrap();
    store.disable("wujiu", now).await.unwrap();

    assert_eq!(
        code(store.authenticate(session.token.expose(), now).await),
        "auth.invalid_token"
    );
    // A wrong password says nothing about the account's state; the right one explains.
    assert_eq!(
        code(store.login("wujiu", "Wrong-password-1", None, now).await),
        "auth.invalid_credentials"
    );
    let err = store.login("wujiu", PASSWORD, None, now).await.unwrap_err();
    assert_eq!(err.code(), "auth.disabled");
    assert_eq!(err.status(), axum::http::StatusCode::FORBIDDEN);
    assert_eq!(store.session_count().await.unwrap(), 0);
    assert!(store.operator("wujiu").await.unwrap().unwrap().disabled);

    store.enable("wujiu", now).await.unwrap();
    store.login("wujiu", PASSWORD, None, now).await.unwrap();
    assert_eq!(
        code(store.disable("nobody", now).await),
        "auth.unknown_operator"
    );
}

pub async fn token_expires_after_twelve_idle_hours_and_use_renews_it(store: AuthStore) {
    create(&store, "zhengshi", Role::Agent).await;
    let start = t0();

    // Unused, a session ends twelve hours after login.
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

    // Used, it lives on for twelve hours after each use.
    let used = store
        .login("zhengshi", PASSWORD, None, start)
        .await
        .unwrap();
    let token = used.token.expose();
    store
        .authenticate(token, start + Duration::hours(11))
        .await
        .unwrap();
    let renewed_at = start + Duration::hours(22);
    store.authenticate(token, renewed_at).await.unwrap();
    store
        .authenticate(token, renewed_at + SESSION_TTL - Duration::seconds(1))
        .await
        .unwrap();
    let last_use = renewed_at + SESSION_TTL - Duration::seconds(1);
    assert_eq!(
        code(store.authenticate(token, last_use + SESSION_TTL).await),
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

pub async fn stored_hash_is_argon2id_and_token_is_not_stored(store: AuthStore) {
    create(&store, "linsan", Role::Agent).await;
    let hash = stored_hash(&store, "linsan").await;
    assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
    let parsed = argon2::PasswordHash::new(&hash).unwrap();
    assert_eq!(parsed.algorithm, argon2::ARGON2ID_IDENT);
    // Salted: the same password hashes differently for another account.
    create(&store, "linsi", Role::Agent).await;
    assert_ne!(stored_hash(&store, "linsi").await, hash);

    let session = store.login("linsan", PASSWORD, None, t0()).await.unwrap();
    let rows = sqlx::query("SELECT token_hash FROM sessions")
        .fetch_all(store.db().pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let stored: String = rows[0].try_get("token_hash").unwrap();
    assert_eq!(stored.len(), 64);
    assert_ne!(stored, session.token.expose());
}

pub async fn set_password_replaces_the_old_one_and_ends_sessions(store: AuthStore) {
    create(&store, "heqi", Role::StationOperator).await;
    let now = t0();
    let session = store.login("heqi", PASSWORD, None, now).await.unwrap();
    // A few failures, then an administrator's reset clears them.
    for _ in 0..3 {
        let _ = store.login("heqi", "Wrong-password-1", None, now).await;
    }
    let later = now + Duration::minutes(5);
    store
        .set_password("heqi", "New-password-2026", later)
        .await
        .unwrap();
    let op = store.operator("heqi").await.unwrap().unwrap();
    assert_eq!(op.failed_attempts, 0);
    assert_eq!(op.updated_at, later);
    assert_eq!(
        code(store.authenticate(session.token.expose(), later).await),
        "auth.invalid_token"
    );
    assert_eq!(
        code(store.login("heqi", PASSWORD, None, later).await),
        "auth.invalid_credentials"
    );
    store
        .login("heqi", "New-password-2026", None, later)
        .await
        .unwrap();
}

pub async fn operator_lists_carry_no_hashes(store: AuthStore) {
    create(&store, "b_user", Role::Inspector).await;
    create(&store, "a_user", Role::DistrictAdmin).await;
    let ops = store.list_operators().await.unwrap();
    let names: Vec<_> = ops.iter().map(|o| o.username.as_str()).collect();
    assert_eq!(names, ["a_user", "b_user"]);
    let json = serde_json::to_string(&ops).unwrap();
    assert!(!json.contains("argon2"), "{json}");
    assert!(json.contains("\"role\":\"district_admin\""), "{json}");
    assert!(!format!("{ops:?}").contains("argon2"));
}

pub async fn purge_removes_only_expired_sessions(store: AuthStore) {
    create(&store, "fengba", Role::Agent).await;
    let early = store.login("fengba", PASSWORD, None, t0()).await.unwrap();
    let late_at = t0() + Duration::hours(6);
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
        .authenticate(late.token.expose(), late_at + Duration::hours(7))
        .await
        .unwrap();
}
