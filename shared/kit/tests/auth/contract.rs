//! What the auth store keeps on every backend. Each function gets a fresh, migrated store.

use std::time::Instant;

use bangban_domain::Bilingual;
use bangban_kit::auth::throttle::{
    ACCOUNT_FREE_FAILURES, ADDRESS_FREE_FAILURES, FIRST_WAIT, MAX_WAIT,
};
use bangban_kit::auth::{AuthError, AuthStore, LoginOutcome, NewOperator, Role, SESSION_TTL};
use bangban_kit::http::Problem;
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

fn peer(s: &str) -> Option<String> {
    Some(s.to_owned())
}

/// The problem document a refusal is answered with.
fn answer(err: &AuthError) -> serde_json::Value {
    serde_json::to_value(Problem::from(err)).unwrap()
}

pub async fn unknown_user_wrong_password_attacked_and_disabled_accounts_fail_alike(
    store: AuthStore,
) {
    create(&store, "lisi", Role::Agent).await;
    create(&store, "attacked", Role::Agent).await;
    create(&store, "retired", Role::Agent).await;
    store.disable("retired", t0()).await.unwrap();
    let now = t0();
    // The first login of a store makes its dummy hash; keep that out of the timings.
    store.login("lisi", PASSWORD, None, now).await.unwrap();
    // A stranger has been hammering one account from elsewhere.
    for _ in 0..20 {
        let _ = store
            .login("attacked", "Wrong-password-1", peer("203.0.113.66"), now)
            .await;
    }

    // Each attempt from its own address, so that no wait applies.
    let attempts: [(&str, &str); 5] = [
        ("lisi", "Wrong-password-1"),
        ("nobody", "Wrong-password-1"),
        ("attacked", "Wrong-password-1"),
        ("retired", "Wrong-password-1"),
        // The right password of a disabled account says no more than a wrong one.
        ("retired", PASSWORD),
    ];
    let mut times = vec![Vec::new(); attempts.len()];
    let mut answers = Vec::new();
    for round in 0..3 {
        for (i, (user, password)) in attempts.iter().enumerate() {
            let from = peer(&format!("10.{round}.{i}.1"));
            let started = Instant::now();
            let err = store.login(user, password, from, now).await.unwrap_err();
            times[i].push(started.elapsed());
            assert_eq!(err.code(), "auth.invalid_credentials", "{user}");
            assert_eq!(err.status(), axum::http::StatusCode::UNAUTHORIZED);
            answers.push(answer(&err));
        }
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "every refusal has the same body: {answers:?}"
    );
    // Each spends one argon2 verification; generous bounds keep this steady on a busy machine.
    let medians: Vec<f64> = times
        .into_iter()
        .map(|mut v| {
            v.sort();
            v[1].as_secs_f64()
        })
        .collect();
    let reference = medians[0];
    for (m, (user, _)) in medians.iter().zip(attempts) {
        assert!(
            *m > reference / 4.0 && *m < reference * 4.0,
            "{user} took {m:.4}s, a wrong password {reference:.4}s"
        );
    }
    // A malformed username is refused the same way too.
    let err = store
        .login("no such user!", PASSWORD, peer("10.9.0.1"), now)
        .await
        .unwrap_err();
    assert_eq!(answer(&err), answers[0]);

    // The audit trail keeps them apart.
    let outcomes: Vec<LoginOutcome> = store
        .login_attempts(6)
        .await
        .unwrap()
        .iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            LoginOutcome::UnknownUser,
            LoginOutcome::Disabled,
            LoginOutcome::WrongPassword,
            LoginOutcome::WrongPassword,
            LoginOutcome::UnknownUser,
            LoginOutcome::WrongPassword,
        ]
    );
}

/// The seconds a throttled attempt is told to wait.
fn throttled(r: Result<bangban_kit::auth::Session, AuthError>) -> Duration {
    match r {
        Err(AuthError::Throttled { retry_after }) => retry_after,
        other => panic!("expected to be throttled, got {other:?}"),
    }
}

pub async fn failures_make_the_failing_address_wait_longer_each_time(store: AuthStore) {
    create(&store, "wangwu", Role::Inspector).await;
    let desk = peer("192.0.2.7");
    let mut at = t0();
    for _ in 0..ACCOUNT_FREE_FAILURES {
        assert_eq!(
            code(
                store
                    .login("wangwu", "Wrong-password-1", desk.clone(), at)
                    .await
            ),
            "auth.invalid_credentials"
        );
    }
    // Past the allowance the address waits, even with the right password, and the wait
    // doubles with each further failure.
    let mut expected = FIRST_WAIT;
    for _ in 0..4 {
        assert_eq!(
            throttled(store.login("wangwu", PASSWORD, desk.clone(), at).await),
            expected
        );
        let err = store
            .login(
                "wangwu",
                PASSWORD,
                desk.clone(),
                at + expected - Duration::milliseconds(1),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "auth.throttled");
        assert_eq!(err.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        at += expected;
        assert_eq!(
            code(
                store
                    .login("wangwu", "Wrong-password-1", desk.clone(), at)
                    .await
            ),
            "auth.invalid_credentials"
        );
        expected *= 2;
    }
    let err = store
        .login("wangwu", PASSWORD, desk.clone(), at)
        .await
        .unwrap_err();
    assert!(
        err.message_zh().contains("16 秒后重试"),
        "{}",
        err.message_zh()
    );
    assert!(
        err.message_en().contains("16 seconds"),
        "{}",
        err.message_en()
    );

    // After the wait the right password works.
    let session = store
        .login("wangwu", PASSWORD, desk.clone(), at + expected)
        .await
        .unwrap();
    assert_eq!(session.operator.username, "wangwu");

    // However many failures, the wait is capped.
    let mut later = at + expected;
    for _ in 0..40 {
        let _ = store
            .login("wangwu", "Wrong-password-1", desk.clone(), later)
            .await;
        later += MAX_WAIT;
    }
    assert_eq!(
        throttled(
            store
                .login("wangwu", PASSWORD, desk, later - MAX_WAIT)
                .await
        ),
        MAX_WAIT
    );
}

pub async fn a_stranger_cannot_keep_an_operator_out(store: AuthStore) {
    create(&store, "wangfang", Role::StationOperator).await;
    let stranger = peer("198.51.100.66");
    let office = peer("192.0.2.10");
    let now = t0();
    // The stranger tries all day long; most attempts are refused before any password check.
    let mut refused = 0;
    for minute in 0..600 {
        let r = store
            .login(
                "wangfang",
                "Guess-1234",
                stranger.clone(),
                now + Duration::minutes(minute),
            )
            .await;
        if matches!(r, Err(AuthError::Throttled { .. })) {
            refused += 1;
        }
    }
    assert!(
        refused > 500,
        "only {refused} of 600 guesses were throttled"
    );

    // Wang Fang, at her own desk, gets in at once, and again.
    let later = now + Duration::minutes(600);
    store
        .login("wangfang", PASSWORD, office.clone(), later)
        .await
        .unwrap();
    store
        .login("wangfang", PASSWORD, office.clone(), later)
        .await
        .unwrap();
    // Even after a typo.
    assert_eq!(
        code(
            store
                .login("wangfang", "Typo-pass", office.clone(), later)
                .await
        ),
        "auth.invalid_credentials"
    );
    store
        .login("wangfang", PASSWORD, office, later)
        .await
        .unwrap();
    // The stranger still waits, even holding the right password.
    throttled(store.login("wangfang", PASSWORD, stranger, later).await);

    let audit = store.login_attempts(1000).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.outcome == LoginOutcome::Throttled)
            .count(),
        refused + 1
    );
}

pub async fn an_address_guessing_across_accounts_is_throttled(store: AuthStore) {
    create(&store, "zhangsan", Role::Agent).await;
    let scanner = peer("2001:db8:66::1");
    let now = t0();
    for i in 0..ADDRESS_FREE_FAILURES {
        assert_eq!(
            code(
                store
                    .login(&format!("user{i}"), "Guess-1234", scanner.clone(), now)
                    .await
            ),
            "auth.invalid_credentials"
        );
    }
    // Any account, real or not, from that address, or from its neighbours in the same /64.
    throttled(store.login("zhangsan", PASSWORD, scanner, now).await);
    throttled(
        store
            .login("someone", PASSWORD, peer("2001:db8:66::2"), now)
            .await,
    );
    // Another address is unaffected.
    store
        .login("zhangsan", PASSWORD, peer("2001:db8:77::1"), now)
        .await
        .unwrap();
}

pub async fn unknown_names_are_throttled_like_real_ones(store: AuthStore) {
    create(&store, "real", Role::Agent).await;
    let now = t0();
    let mut waits = Vec::new();
    for (user, from) in [("real", "192.0.2.1"), ("ghost", "192.0.2.2")] {
        for _ in 0..ACCOUNT_FREE_FAILURES + 2 {
            let _ = store.login(user, "Wrong-password-1", peer(from), now).await;
        }
        let err = store
            .login(user, "Wrong-password-1", peer(from), now)
            .await
            .unwrap_err();
        waits.push(answer(&err));
    }
    assert_eq!(waits[0], waits[1], "a wait tells nothing about the account");
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
                AuthError::InvalidCredentials | AuthError::Throttled { .. }
            ),
            "{err:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 12);
    let audit = store.login_attempts(100).await.unwrap();
    let verified = audit
        .iter()
        .filter(|a| a.outcome == LoginOutcome::WrongPassword)
        .count();
    assert_eq!(
        verified,
        usize::try_from(ACCOUNT_FREE_FAILURES).unwrap(),
        "only the allowance may reach the password check"
    );
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.outcome == LoginOutcome::Throttled)
            .count(),
        12 - verified
    );
}

pub async fn concurrent_hashes_are_bounded_and_the_rest_get_busy(store: AuthStore) {
    // One hashing thread, no waiting for it, and a hash slow enough to overlap.
    let slow = argon2::Params::new(32 * 1024, 3, 1, None).unwrap();
    let store = AuthStore::with_argon2_params(store.db().clone(), slow)
        .with_hash_limits(1, std::time::Duration::ZERO);
    create(&store, "busy", Role::Agent).await;
    store
        .login("busy", PASSWORD, peer("192.0.2.1"), t0())
        .await
        .unwrap();

    let logins = (0..6).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let password = if i % 2 == 0 {
                PASSWORD
            } else {
                "Wrong-password-1"
            };
            store
                .login("busy", password, peer(&format!("192.0.2.{}", 10 + i)), t0())
                .await
        })
    });
    let mut busy = 0;
    let mut judged = 0;
    for login in logins.collect::<Vec<_>>() {
        match login.await.unwrap() {
            Err(AuthError::Busy) => busy += 1,
            Ok(_) | Err(AuthError::InvalidCredentials) => judged += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(judged >= 1 && busy >= 1, "judged {judged}, busy {busy}");
    let err = AuthError::Busy;
    assert_eq!(err.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer(&err)["code"], "auth.busy");
    // A busy refusal counts for nothing: it is neither audited as a guess nor throttled.
    let audit = store.login_attempts(100).await.unwrap();
    assert_eq!(audit.len(), 1 + judged);
    store
        .login("busy", PASSWORD, peer("192.0.2.1"), t0())
        .await
        .unwrap();
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
    // Neither a wrong nor the right password says anything about the account's state.
    assert_eq!(
        code(store.login("wujiu", "Wrong-password-1", None, now).await),
        "auth.invalid_credentials"
    );
    let err = store.login("wujiu", PASSWORD, None, now).await.unwrap_err();
    assert_eq!(err.code(), "auth.invalid_credentials");
    assert_eq!(err.status(), axum::http::StatusCode::UNAUTHORIZED);
    assert_eq!(
        store.login_attempts(1).await.unwrap()[0].outcome,
        LoginOutcome::Disabled
    );
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
    // Failures that make this address wait, then an administrator's reset clears them.
    for _ in 0..ACCOUNT_FREE_FAILURES {
        let _ = store.login("heqi", "Wrong-password-1", None, now).await;
    }
    throttled(store.login("heqi", PASSWORD, None, now).await);
    let later = now + Duration::milliseconds(500);
    store
        .set_password("heqi", "New-password-2026", later)
        .await
        .unwrap();
    let op = store.operator("heqi").await.unwrap().unwrap();
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
