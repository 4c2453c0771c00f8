//! Account changes made by administrators on every backend: each one written with its audit
//! row, the guard rails, and two administrators racing to disable each other.

use bangban_domain::Bilingual;
use bangban_kit::auth::{
    AccountAction, AccountChange, Actor, AuthStore, CLI_ACTOR, NewOperator, Operator, Role,
};
use time::Duration;

use crate::support::*;

fn new(username: &str, role: Role) -> NewOperator {
    NewOperator {
        username: username.into(),
        display_name: format!("{username} 测试"),
        role,
        password: PASSWORD.into(),
    }
}

async fn audit_len(store: &AuthStore) -> usize {
    store.account_audit(1000).await.unwrap().len()
}

pub async fn every_account_change_is_audited_with_who_and_what(store: AuthStore) {
    let admin = create(&store, "zhanzhang", Role::StationAdmin).await;
    let by = Actor::Admin(&admin);
    store
        .create_operator_as(by, new("wangfang", Role::StationOperator), t0())
        .await
        .unwrap();
    let at = t0() + Duration::minutes(1);
    for change in [
        AccountChange::ChangeRole(Role::Agent),
        AccountChange::ResetPassword("Another-pass-2026".into()),
        AccountChange::Disable,
        AccountChange::Enable,
    ] {
        store
            .change_account(by, "wangfang", change, at)
            .await
            .unwrap();
    }
    // A change that changes nothing is not recorded.
    store
        .change_account(by, "wangfang", AccountChange::Enable, at)
        .await
        .unwrap();
    let audit = store.account_audit(100).await.unwrap();
    let seen: Vec<(String, AccountAction, String, Option<String>)> = audit
        .iter()
        .rev()
        .map(|e| {
            (
                e.actor.clone(),
                e.action,
                e.target.clone(),
                e.detail.clone(),
            )
        })
        .collect();
    let row = |actor: &str, action, target: &str, detail: Option<&str>| {
        (
            actor.to_owned(),
            action,
            target.to_owned(),
            detail.map(str::to_owned),
        )
    };
    assert_eq!(
        seen,
        vec![
            // The first administrator was made through the command line.
            row(
                CLI_ACTOR,
                AccountAction::Created,
                "zhanzhang",
                Some("station_admin")
            ),
            row(
                "zhanzhang",
                AccountAction::Created,
                "wangfang",
                Some("station_operator")
            ),
            row(
                "zhanzhang",
                AccountAction::RoleChanged,
                "wangfang",
                Some("station_operator -> agent")
            ),
            row("zhanzhang", AccountAction::PasswordReset, "wangfang", None),
            row("zhanzhang", AccountAction::Disabled, "wangfang", None),
            row("zhanzhang", AccountAction::Enabled, "wangfang", None),
        ]
    );
    assert_eq!(audit[0].at, at);
    let op = store.operator("wangfang").await.unwrap().unwrap();
    assert_eq!(op.role, Role::Agent);
    assert!(!op.disabled);
    // The new password works, the old one not.
    assert!(store.login("wangfang", PASSWORD, None, at).await.is_err());
    store
        .login("wangfang", "Another-pass-2026", None, at)
        .await
        .unwrap();
    // The login shows as the last one.
    let accounts = store.accounts().await.unwrap();
    let wang = accounts
        .iter()
        .find(|a| a.operator.username == "wangfang")
        .unwrap();
    assert_eq!(wang.last_login, Some(at));
    let boss = accounts
        .iter()
        .find(|a| a.operator.username == "zhanzhang")
        .unwrap();
    assert_eq!(boss.last_login, None);
}

pub async fn the_guard_rails_hold_and_a_refusal_changes_nothing(store: AuthStore) {
    let station_admin = create(&store, "zhanzhang", Role::StationAdmin).await;
    let district_admin = create(&store, "quzhang", Role::DistrictAdmin).await;
    let operator = create(&store, "wangfang", Role::StationOperator).await;
    let before = audit_len(&store).await;
    let by = Actor::Admin(&station_admin);
    let refused = |r: Result<(), bangban_kit::auth::AuthError>| r.unwrap_err().code();

    // A station administrator never gives nor touches the district administrator role.
    let err = store
        .create_operator_as(by, new("second", Role::DistrictAdmin), t0())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "auth.role_not_grantable");
    assert!(store.operator("second").await.unwrap().is_none());
    for change in [
        AccountChange::Disable,
        AccountChange::ResetPassword("Takeover-pass-1".into()),
        AccountChange::ChangeRole(Role::Agent),
    ] {
        assert_eq!(
            refused(store.change_account(by, "quzhang", change, t0()).await),
            "auth.role_not_grantable"
        );
    }
    assert_eq!(
        refused(
            store
                .change_account(
                    by,
                    "wangfang",
                    AccountChange::ChangeRole(Role::DistrictAdmin),
                    t0()
                )
                .await
        ),
        "auth.role_not_grantable"
    );
    // Nobody disables or demotes themself.
    for (admin, name) in [(&station_admin, "zhanzhang"), (&district_admin, "quzhang")] {
        for change in [
            AccountChange::Disable,
            AccountChange::ChangeRole(Role::Agent),
        ] {
            assert_eq!(
                refused(
                    store
                        .change_account(Actor::Admin(admin), name, change, t0())
                        .await
                ),
                "auth.cannot_change_self"
            );
        }
    }
    // Who is not an administrator changes nothing.
    assert_eq!(
        refused(
            store
                .change_account(
                    Actor::Admin(&operator),
                    "zhanzhang",
                    AccountChange::Disable,
                    t0()
                )
                .await
        ),
        "auth.not_admin"
    );
    // A weak new password, an unknown account.
    assert_eq!(
        refused(
            store
                .change_account(
                    by,
                    "wangfang",
                    AccountChange::ResetPassword("12345678".into()),
                    t0()
                )
                .await
        ),
        "auth.password_all_digits"
    );
    assert_eq!(
        refused(
            store
                .change_account(by, "nobody", AccountChange::Disable, t0())
                .await
        ),
        "auth.unknown_operator"
    );
    // The district administrator may do what the station administrator may not.
    store
        .change_account(
            Actor::Admin(&district_admin),
            "wangfang",
            AccountChange::ChangeRole(Role::DistrictAdmin),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        audit_len(&store).await,
        before + 1,
        "only the allowed change"
    );
    let ops = store.list_operators().await.unwrap();
    assert!(ops.iter().all(|o| !o.disabled));
    store.login("quzhang", PASSWORD, None, t0()).await.unwrap();
}

/// An administrator whose own account was disabled meanwhile (its request was authenticated
/// just before) cannot disable or demote the last enabled administrator.
pub async fn the_last_enabled_administrator_stays(store: AuthStore) {
    let first = create(&store, "guanli1", Role::StationAdmin).await;
    create(&store, "guanli2", Role::StationAdmin).await;
    create(&store, "wangfang", Role::StationOperator).await;
    store.disable("guanli1", t0()).await.unwrap();
    let stale = Actor::Admin(&first);
    for change in [
        AccountChange::Disable,
        AccountChange::ChangeRole(Role::Agent),
    ] {
        let err = store
            .change_account(stale, "guanli2", change, t0())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "auth.last_admin");
        assert_eq!(err.status(), axum::http::StatusCode::CONFLICT);
        assert!(!err.message_zh().is_empty());
    }
    let second = store.operator("guanli2").await.unwrap().unwrap();
    assert!(!second.disabled && second.role == Role::StationAdmin);
    // Other accounts are still in the stale administrator's reach until its session ends.
    store
        .change_account(stale, "wangfang", AccountChange::Disable, t0())
        .await
        .unwrap();
}

/// Two administrators disabling each other at the same instant: one wins, one is refused, and
/// the node keeps an administrator.
pub async fn two_administrators_cannot_disable_each_other_at_once(store: AuthStore) {
    for _ in 0..5 {
        let a: Operator = create_fresh(&store, "ga").await;
        let b: Operator = create_fresh(&store, "gb").await;
        let (ra, rb) = tokio::join!(
            store.change_account(
                Actor::Admin(&a),
                b.username.as_str(),
                AccountChange::Disable,
                t0()
            ),
            store.change_account(
                Actor::Admin(&b),
                a.username.as_str(),
                AccountChange::Disable,
                t0()
            ),
        );
        let oks = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
        assert_eq!(oks, 1, "{ra:?} {rb:?}");
        let refused = if ra.is_err() { ra } else { rb };
        assert_eq!(refused.unwrap_err().code(), "auth.last_admin");
        let enabled = store
            .list_operators()
            .await
            .unwrap()
            .into_iter()
            .filter(|o| o.role.is_admin() && !o.disabled)
            .count();
        assert_eq!(enabled, 1);
        // The next round starts with no enabled administrator.
        for o in store.list_operators().await.unwrap() {
            store.disable(o.username.as_str(), t0()).await.unwrap();
        }
    }
}

async fn create_fresh(store: &AuthStore, prefix: &str) -> Operator {
    let n = store.list_operators().await.unwrap().len();
    create(store, &format!("{prefix}{n}"), Role::StationAdmin).await
}
