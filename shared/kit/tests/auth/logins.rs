//! Logging in on every backend: a created operator logs in, and every kind of refusal looks the
//! same from outside.

use std::time::Instant;

use bangban_domain::Bilingual;
use bangban_kit::auth::{AuthStore, LoginOutcome, Role, SESSION_TTL};
use time::Duration;

use crate::support::*;

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
    for round in 0..5 {
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
    // Each spends one argon2 verification. A busy machine only ever adds time, so the fastest
    // of five tries is the steady measure of the work done; generous bounds (and 5 ms of slack
    // above) keep this from failing on scheduling noise while an early answer still fails it.
    let fastest: Vec<f64> = times
        .into_iter()
        .map(|v| v.iter().min().map_or(0.0, |d| d.as_secs_f64()))
        .collect();
    let reference = fastest[0];
    for (m, (user, _)) in fastest.iter().zip(attempts) {
        assert!(
            *m > reference / 4.0 && *m < reference * 4.0 + 0.005,
            "{user} took {m:.4}s at best, a wrong password {reference:.4}s"
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
