//! The district administrators' pages around the policy: what the capability folders (`tiers`,
//! `catalogue`, `calendar`, `agents`, `publish`) share, the policy hub at `/policy` that links
//! them, and the policy audit at `/policy/audit`. Every page needs
//! [`Permission::ManagePolicy`](bangban_domain::account::Permission::ManagePolicy) (district
//! administrators only) and draws kit's frame (`{% extends "base.html" %}`).
//!
//! The pages carry their words in both languages inline (`t.pick("中文", "English")`): they exist
//! on the district only, so kit's word tables do not grow with them.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bangban_domain::account::Permission;
use bangban_domain::station::StationCode;
use bangban_kit::access::{Access, Rule};
use bangban_kit::auth::AuthStore;
use bangban_kit::db::Db;
use bangban_kit::policy::PolicyHandle;
use bangban_kit::web::i18n::{Lang, Tr};
use bangban_kit::web::pages::{Chrome, UserView, china_time, internal_error, with_lang};
use bangban_kit::web::session::WebUser;
use serde::Deserialize;

use crate::drafts::{AuditEntry, Drafts};

/// What the policy pages share.
#[derive(Clone)]
pub struct Admin {
    pub me: StationCode,
    pub db: Db,
    pub auth: AuthStore,
    pub drafts: Drafts,
    /// The policy in force on the district (the last bundle it published, or its files).
    pub policy: PolicyHandle,
}

impl axum::extract::FromRef<Admin> for AuthStore {
    fn from_ref(admin: &Admin) -> AuthStore {
        admin.auth.clone()
    }
}

/// The frame every policy page fills: the language, the header, the signed-in administrator.
pub struct Frame {
    pub t: Tr,
    pub centre: Option<String>,
    pub user: Option<UserView>,
    pub exposed_plain_http: bool,
    pub csrf: String,
}

impl Frame {
    pub fn new(lang: Lang, chrome: &Chrome, user: &WebUser) -> Frame {
        Frame {
            t: Tr::new(lang),
            centre: Some(chrome.centre.clone()).filter(|c| !c.is_empty()),
            user: Some(UserView::from(user)),
            exposed_plain_http: chrome.exposed_plain_http,
            csrf: user.csrf.clone(),
        }
    }
}

/// Today in China time: the day policy edits are dated and checked against.
pub fn today() -> time::Date {
    bangban_domain::calendar::local_date(time::OffsetDateTime::now_utc())
}

/// The rule of every policy page.
pub const MANAGE: Rule = Rule::Needs(Permission::ManagePolicy);

/// The hub and the audit.
pub fn routes(admin: Admin) -> Router {
    Router::new()
        .route("/policy", get(hub))
        .route("/policy/audit", get(audit))
        .with_state(admin)
}

pub fn access() -> Vec<Access> {
    vec![
        Access::get("/policy", MANAGE),
        Access::get("/policy/audit", MANAGE),
    ]
}

/// One line of the audit as the pages show it.
pub struct AuditRow {
    pub when: String,
    pub actor: String,
    pub section: &'static str,
    pub action: String,
    pub subject: String,
    /// The fields that changed, `field: before → after`, one per line (JSON values, short).
    pub changes: Vec<String>,
}

/// The section's name in the page's language.
fn section_label(t: Tr, section: &str) -> &'static str {
    match section {
        "topology" => t.pick("中心设置", "Centres"),
        "catalogue" => t.pick("事项目录", "Catalogue"),
        "calendar" => t.pick("工作日历", "Calendar"),
        "agents" => t.pick("帮办代办员", "Agents"),
        "bundle" => t.pick("政策发布", "Publication"),
        _ => t.pick("其他", "Other"),
    }
}

/// What changed between two JSON values, field by field, each `field: before → after`, cut
/// short for the page. Objects are followed down (`address.street`), and so are lists of the
/// same length (`materials #2.count`, numbered from 1 as the pages number rows); a list that
/// grew or shrank is shown whole.
pub fn field_changes(
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Vec<String> {
    use serde_json::Value;
    fn short(v: Option<&Value>) -> String {
        let s = match v {
            None | Some(Value::Null) => "—".to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        };
        if s.chars().count() > 80 {
            format!("{}…", s.chars().take(80).collect::<String>())
        } else {
            s
        }
    }
    fn walk(path: &str, b: Option<&Value>, a: Option<&Value>, out: &mut Vec<String>) {
        let join = |key: &str| {
            if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            }
        };
        match (b, a) {
            (Some(Value::Object(b)), Some(Value::Object(a))) => {
                let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    walk(&join(k), b.get(k), a.get(k), out);
                }
            }
            (Some(Value::Array(b)), Some(Value::Array(a)))
                if b.len() == a.len() && !path.is_empty() =>
            {
                for (i, (b, a)) in b.iter().zip(a).enumerate() {
                    walk(&format!("{path} #{}", i + 1), Some(b), Some(a), out);
                }
            }
            // A created or removed object lists its fields (`field: — → value`).
            (None, Some(Value::Object(a))) => {
                for (k, v) in a {
                    walk(&join(k), None, Some(v), out);
                }
            }
            (Some(Value::Object(b)), None) => {
                for (k, v) in b {
                    walk(&join(k), Some(v), None, out);
                }
            }
            (b, a) if b == a => {}
            (b, a) if path.is_empty() => out.push(format!("{} → {}", short(b), short(a))),
            (b, a) => out.push(format!("{path}: {} → {}", short(b), short(a))),
        }
    }
    let mut out = Vec::new();
    walk("", before, after, &mut out);
    out
}

/// The Chinese name of a field of the policy's documents (centres, items, materials, holidays,
/// agents, publications), as the pages call it.
fn field_zh(key: &str) -> Option<&'static str> {
    Some(match key {
        "code" => "代码",
        "name" => "名称",
        "kind" => "类型",
        "address" => "地址",
        "contact" => "联系方式",
        "valid_from" => "启用日期",
        "valid_until" => "撤销日期",
        "placeholder" => "占位待核实",
        "name_unconfirmed" => "名称待核实",
        "note" => "备注",
        "predecessor" => "原代码",
        "successor" => "新代码",
        "department" => "牵头部门",
        "co_departments" => "协办部门",
        "case_type" => "办件类型",
        "item_type" => "事项类型",
        "statutory_days" => "法定时限",
        "promised_days" => "承诺时限",
        "handling_tier" => "办理层级",
        "intake_tiers" => "受理层级",
        "proxy_allowed" => "可代办",
        "courier_delivery" => "可邮寄送达",
        "max_visits" => "最多跑动次数",
        "fees" => "收费",
        "materials" => "材料",
        "necessity" => "必要性",
        "original" => "需原件",
        "count" => "份数",
        "how_to_obtain" => "获取方式",
        "blank_form" => "空白表格",
        "sample" => "示范样表",
        "sha256" => "文件摘要",
        "media_type" => "文件类型",
        "size" => "大小",
        "id_number" => "身份证号码",
        "phone" => "手机号码",
        "centre" => "所属中心",
        "role" => "岗位",
        "badge_no" => "工牌编号",
        "filed_on" => "备案日期",
        "training" => "培训记录",
        "status" => "状态",
        "status_on" => "状态日期",
        "status_reason" => "原因",
        "date" => "日期",
        "course" => "课程",
        "half_hours" => "课时（半小时）",
        "off" => "放假",
        "makeup" => "调休上班",
        "source" => "依据",
        "number" => "编号",
        "summary" => "说明",
        "expires_at" => "有效期至",
        "changes" => "变化",
        _ => return None,
    })
}

/// A line of [`field_changes`] with its field path in the page's language
/// (`materials #2.count: 1 → 2` reads `材料 #2.份数: 1 → 2` in Chinese).
pub fn readable(t: Tr, line: &str) -> String {
    if t.lang != Lang::Zh {
        return line.to_owned();
    }
    let Some((path, rest)) = line.split_once(": ") else {
        return line.to_owned();
    };
    let path = path
        .split('.')
        .map(|segment| {
            let (key, index) = segment.split_once(' ').unwrap_or((segment, ""));
            let key = field_zh(key).unwrap_or(key);
            if index.is_empty() {
                key.to_owned()
            } else {
                format!("{key} {index}")
            }
        })
        .collect::<Vec<_>>()
        .join(".");
    format!("{path}：{rest}")
}

pub fn audit_rows(t: Tr, entries: Vec<AuditEntry>) -> Vec<AuditRow> {
    entries
        .into_iter()
        .map(|e| AuditRow {
            when: china_time(e.at),
            changes: field_changes(e.before.as_ref(), e.after.as_ref())
                .iter()
                .map(|line| readable(t, line))
                .collect(),
            section: section_label(t, &e.section),
            actor: e.actor,
            action: e.action,
            subject: e.subject,
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "policy/hub.html")]
struct HubPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    bundle: Option<u64>,
    since: String,
    towns: usize,
    villages: usize,
    items: usize,
    rows: Vec<AuditRow>,
}

/// `GET /policy`: where the district's policy stands, and the way to each part of it.
async fn hub(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let (draft, _) = match admin.drafts.policy().await {
        Ok(d) => d,
        Err(e) => return internal_error(&e, lang),
    };
    let audit = match admin.drafts.audit(None, 10).await {
        Ok(a) => a,
        Err(e) => return internal_error(&e, lang),
    };
    let in_force = admin.policy.current();
    let tree = draft.topology.as_ref();
    let page = HubPage {
        bundle: in_force.bundle,
        since: china_time(in_force.since),
        towns: tree.map_or(0, |t| t.towns().count()),
        villages: tree.map_or(0, |t| t.villages().count()),
        items: draft.catalogue.items.len(),
        rows: audit_rows(frame.t, audit),
        t: frame.t,
        centre: frame.centre,
        user: frame.user,
        exposed_plain_http: frame.exposed_plain_http,
    };
    with_lang(lang, &headers, page.into_response())
}

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    #[serde(default)]
    section: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "policy/audit.html")]
struct AuditPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    section: String,
    sections: Vec<(&'static str, &'static str)>,
    rows: Vec<AuditRow>,
}

/// How many audit lines the page shows.
const AUDIT_ROWS: u32 = 200;

/// `GET /policy/audit[?section=…]`: every change to the policy and the registry, newest first.
async fn audit(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let known = ["topology", "catalogue", "calendar", "agents", "bundle"];
    let section = query
        .ok()
        .and_then(|Query(q)| q.section)
        .filter(|s| known.contains(&s.as_str()));
    let entries = match admin.drafts.audit(section.as_deref(), AUDIT_ROWS).await {
        Ok(a) => a,
        Err(e) => return internal_error(&e, lang),
    };
    let page = AuditPage {
        section: section.unwrap_or_default(),
        sections: known.iter().map(|s| (*s, section_label(t, s))).collect(),
        rows: audit_rows(t, entries),
        t,
        centre: frame.centre,
        user: frame.user,
        exposed_plain_http: frame.exposed_plain_http,
    };
    with_lang(lang, &headers, page.into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::field_changes;
    use serde_json::json;

    #[test]
    fn field_changes_name_each_changed_field_once() {
        let before = json!({"code": "1", "name": "老城街道", "parent": "0"});
        let after =
            json!({"code": "1", "name": "新城街道", "parent": "0", "retired": "2026-12-01"});
        assert_eq!(
            field_changes(Some(&before), Some(&after)),
            vec!["name: 老城街道 → 新城街道", "retired: — → 2026-12-01"]
        );
        assert_eq!(
            field_changes(None, Some(&json!("x"))),
            vec!["— → x".to_owned()]
        );
        assert!(field_changes(Some(&before), Some(&before)).is_empty());
        let t = bangban_kit::web::i18n::Tr::new(bangban_kit::web::i18n::Lang::Zh);
        assert_eq!(
            super::readable(t, "materials #2.count: 1 → 2"),
            "材料 #2.份数：1 → 2"
        );
        assert_eq!(
            super::readable(t, "unknown_key: a → b"),
            "unknown_key：a → b"
        );
        let en = bangban_kit::web::i18n::Tr::new(bangban_kit::web::i18n::Lang::En);
        assert_eq!(super::readable(en, "name: a → b"), "name: a → b");
        let long = json!("长".repeat(100));
        assert!(field_changes(None, Some(&long))[0].ends_with('…'));
        // Nested objects and lists of the same length are followed down to what changed.
        let before = json!({"materials": [{"name": "申请书", "count": 1}, {"name": "身份证"}]});
        let after = json!({"materials": [{"name": "申请书", "count": 2}, {"name": "身份证"}]});
        assert_eq!(
            field_changes(Some(&before), Some(&after)),
            vec!["materials #1.count: 1 → 2"]
        );
        let grown = json!({"materials": [{"name": "申请书"}]});
        assert!(field_changes(Some(&before), Some(&grown))[0].starts_with("materials: [{"));
    }
}
