//! Roles are enforced on every endpoint of the UI listener: the matrix of role × endpoint,
//! walked through a running station with a real account of each role, printed, and checked
//! against `Role::may`. An endpoint with no rule is refused to everybody (see the kit's
//! composition test), so this list is the whole surface.

use bangban_domain::account::{Permission, Role};
use bangban_kit::access::{Access, Rule};
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, add_account, spawn_app_in, write_config};

fn username(role: Role) -> String {
    role.as_str().replace('_', "-")
}

struct Caller {
    role: Role,
    bearer: String,
    cookie: String,
}

async fn sign_in(http: &Client, base: &str, role: Role) -> Caller {
    let login: Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"username": username(role), "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = http
        .post(format!("{base}/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("username", username(role).as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let cookie = res.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    Caller {
        role,
        bearer: login["token"].as_str().unwrap().to_owned(),
        cookie,
    }
}

/// Whether the answer is a refusal of the caller's identity or role.
fn refused(status: StatusCode) -> bool {
    matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
}

#[tokio::test]
async fn every_endpoint_admits_exactly_the_roles_that_may_use_it() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    for role in Role::ALL {
        add_account(dir.path(), &username(role), role).await;
    }
    let app = spawn_app_in(dir.path()).await;
    let base = app.url.clone();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut callers = Vec::new();
    for role in Role::ALL {
        callers.push(sign_in(&http, &base, role).await);
    }
    // A real case for the routes that name one, opened by an operator.
    let operator = callers
        .iter()
        .find(|c| c.role == Role::StationOperator)
        .unwrap();
    let case: Value = http
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(&operator.bearer)
        .json(&json!({"kind": "consultation", "channel": "window", "topic": "社保卡怎么补办"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case_id = case["case_id"].as_str().unwrap().to_owned();

    let mut rules: Vec<Access> = bangban_kit::node::ui_access();
    // Logging out ends the session: last.
    rules.sort_by_key(|a| a.path.ends_with("logout"));

    let mut matrix = vec![format!(
        "{:<44} {}",
        "endpoint",
        Role::ALL.map(|r| format!("{:<17}", r.as_str())).join("")
    )];
    for access in &rules {
        let path = access
            .path
            .replace("{case_id}", &case_id)
            .replace("{username}", &username(Role::Agent));
        let mut line = format!("{:<44} ", format!("{} {}", access.method, access.path));
        for caller in &callers {
            let api = path.starts_with("/api/");
            let mut req = http.request(access.method.clone(), format!("{base}{path}"));
            req = if api {
                req.bearer_auth(&caller.bearer)
            } else {
                req.header(COOKIE, &caller.cookie)
            };
            if access.method == Method::POST {
                req = if api {
                    req.json(&json!({"kind": "commented", "payload": {"text": "核对"}}))
                } else {
                    req.header("sec-fetch-site", "same-origin")
                        .form(&[("csrf", "not-the-token")])
                };
            }
            let status = req.send().await.unwrap().status();
            let admitted = match access.rule {
                Rule::Public => true,
                Rule::Needs(p) => caller.role.may(p),
            };
            // An admitted caller may still be refused by the handler for another reason (a
            // form without its CSRF token is a 403 too); a refused one gets exactly 403.
            let csrf_form = !api && access.method == Method::POST && access.rule != Rule::Public;
            if admitted && !csrf_form {
                assert!(
                    !refused(status),
                    "{} {} refused {} ({status})",
                    access.method,
                    access.path,
                    caller.role
                );
            } else if !admitted {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{} {} let {} through",
                    access.method,
                    access.path,
                    caller.role
                );
            }
            line.push_str(&format!(
                "{:<17}",
                format!(
                    "{} {}",
                    if admitted { "yes" } else { "no" },
                    status.as_u16()
                )
            ));
        }
        matrix.push(line);
    }
    println!("{}", matrix.join("\n"));
    // The matrix is not trivially open or closed: inspectors and district admins read cases
    // and never change one; operators and agents do both.
    for role in Role::ALL {
        assert!(role.may(Permission::ViewCases));
    }
    assert!(!Role::Inspector.may(Permission::HandleCases));
    assert!(!Role::DistrictAdmin.may(Permission::HandleCases));
    assert!(Role::Agent.may(Permission::HandleCases));
    // The station administrator manages accounts and reads cases and the audit, but handles no
    // case and sees no full personal data; only those who serve the applicant do.
    assert!(Role::StationAdmin.may(Permission::ManageAccounts));
    assert!(!Role::StationAdmin.may(Permission::HandleCases));
    for role in Role::ALL {
        let serves = matches!(role, Role::StationOperator | Role::Agent);
        assert_eq!(role.may(Permission::ViewPersonalData), serves, "{role}");
        assert_eq!(role.may(Permission::ViewAudit), !serves, "{role}");
    }
    // Every new page is in the matrix.
    for path in [
        "/accounts",
        "/accounts/{username}/disable",
        "/accounts/{username}/enable",
        "/accounts/{username}/password",
        "/accounts/{username}/role",
        "/cases/{case_id}/personal",
        "/audit/personal-data",
    ] {
        assert!(rules.iter().any(|a| a.path == path), "{path}");
    }
    // Nothing an inspector or an administrator sent changed the case. (The matrix logged every
    // caller out at the end: sign in again to look.)
    let again = sign_in(&http, &base, Role::Inspector).await;
    let view: Value = http
        .get(format!("{base}/api/v1/cases/{case_id}"))
        .bearer_auth(&again.bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = view["events"].as_array().unwrap().len();
    // One comment each by the operator and the agent, none by anyone else.
    assert_eq!(events, 3, "{view}");
    app.stop().await;
}
