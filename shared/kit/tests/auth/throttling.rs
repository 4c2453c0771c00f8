//! Login throttling on every backend: by address and by account, against guesses in parallel,
//! and the bound on concurrent password hashes.

use bangban_domain::Bilingual;
use bangban_kit::auth::throttle::{
    ACCOUNT_FREE_FAILURES, ADDRESS_FREE_FAILURES, FIRST_WAIT, MAX_WAIT,
};
use bangban_kit::auth::{AuthError, AuthStore, LoginOutcome, Role};
use time::Duration;

use crate::support::*;

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
