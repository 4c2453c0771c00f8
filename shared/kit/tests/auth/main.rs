//! Operator accounts, login and sessions: every test runs against a temporary SQLite file and
//! against a fresh database on the real PostgreSQL server named by `PG_TEST_URL`
//! (scripts/test.sh starts one). A missing server fails the PostgreSQL half loudly; it is never
//! skipped.
#![allow(clippy::unwrap_used)]

mod accounts;
mod admin;
#[path = "../common/databases.rs"]
mod databases;
mod http;
mod logins;
mod sessions;
mod support;
mod throttling;
mod upgrade;

/// Generates `sqlite` and `postgres` variants of a test `$module::$name(store)`.
macro_rules! both_backends {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _guard) = crate::support::sqlite_store().await;
                    crate::$module::$name(store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, guard) = crate::support::postgres_store().await;
                    crate::$module::$name(store).await;
                    guard.drop_database().await;
                }
            )*
        }
    };
}

both_backends!(
    logins::created_operator_logs_in_and_its_token_authenticates,
    logins::unknown_user_wrong_password_attacked_and_disabled_accounts_fail_alike,
    throttling::failures_make_the_failing_address_wait_longer_each_time,
    throttling::a_stranger_cannot_keep_an_operator_out,
    throttling::an_address_guessing_across_accounts_is_throttled,
    throttling::unknown_names_are_throttled_like_real_ones,
    throttling::parallel_guesses_cannot_overrun_the_failure_limit,
    throttling::concurrent_hashes_are_bounded_and_the_rest_get_busy,
    accounts::weak_passwords_and_bad_names_are_refused_with_their_own_codes,
    accounts::duplicate_username_is_refused,
    accounts::disabled_operator_cannot_log_in_and_loses_its_sessions,
    sessions::token_expires_when_idle_and_at_most_a_working_day_after_login,
    sessions::logout_invalidates_the_token,
    sessions::every_login_attempt_is_audited,
    accounts::stored_hash_is_argon2id_and_token_is_not_stored,
    accounts::set_password_replaces_the_old_one_and_ends_sessions,
    accounts::operator_lists_carry_no_hashes,
    sessions::purge_removes_only_expired_sessions,
    sessions::purging_the_login_audit_keeps_the_retention_period,
    http::login_logout_and_bearer_auth_over_http,
    http::busy_and_throttled_logins_answer_problems_with_retry_after,
    admin::every_account_change_is_audited_with_who_and_what,
    admin::the_guard_rails_hold_and_a_refusal_changes_nothing,
    admin::the_last_enabled_administrator_stays,
    admin::two_administrators_cannot_disable_each_other_at_once,
);

#[tokio::test]
async fn default_store_hashes_with_argon2id_at_the_crate_default_cost() {
    use bangban_kit::auth::{AuthStore, NewOperator, Role};
    let (cheap, _guard) = support::sqlite_store().await;
    let store = AuthStore::new(cheap.db().clone());
    store
        .create_operator(
            NewOperator {
                username: "admin".into(),
                display_name: "管理员".into(),
                role: Role::DistrictAdmin,
                password: support::PASSWORD.into(),
            },
            support::t0(),
        )
        .await
        .unwrap();
    let hash = support::stored_hash(&store, "admin").await;
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
}
