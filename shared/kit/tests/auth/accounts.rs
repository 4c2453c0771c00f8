//! Operator accounts on every backend: the password and name policy, unique names, disabling,
//! password changes, what is stored and what lists show.

use bangban_domain::Bilingual;
use bangban_kit::auth::throttle::ACCOUNT_FREE_FAILURES;
use bangban_kit::auth::{AuthStore, LoginOutcome, NewOperator, Role};
use sqlx::Row;
use time::Duration;

use crate::support::*;

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
