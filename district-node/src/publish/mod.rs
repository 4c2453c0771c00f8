//! The publish screen (`/policy/publish`): what the drafts and the registry would change since
//! the last bundle ([`diff`]), then, on the administrator's word, the next numbered bundle
//! signed with the district's policy key (`[publish] key`), one roster per centre, recorded
//! ([`crate::policy::published`]) and put in force on the district; the towns pull it within
//! `policy.pull_secs` and relay it to their villages.
//!
//! The form carries what the administrator saw (the last bundle's number and the drafts'
//! revisions): if anything changed in between, nothing is signed and the page shows the new
//! difference. Two administrators publishing at once get one bundle and one refusal.

pub mod diff;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use bangban_domain::agent::Agent;
use bangban_kit::access::Access;
use bangban_kit::policy::Policy;
use bangban_kit::policy::bundle::{BundlePayload, PublicKey, SigningKey, verify};
use bangban_kit::policy::roster::verify_roster;
use bangban_kit::web::i18n::{Lang, Tr};
use bangban_kit::web::pages::{
    Chrome, UserView, china_time, csrf_refused, internal_error, with_lang,
};
use bangban_kit::web::session::{WebUser, check_form};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::admin::{Admin, Frame, MANAGE};
use crate::drafts::Change;
use crate::policy::published::{Published, PublishedError, put_in_force, sign_rosters};
use diff::{Diff, Kind};

/// The longest validity a bundle may be given from the screen, in days.
pub const MAX_EXPIRES_DAYS: u32 = crate::policy::MAX_EXPIRES_DAYS;

/// Where the registry's agents come from (the registry's table; a test may give a list).
pub type AgentSource =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = anyhow::Result<Vec<Agent>>> + Send>> + Send + Sync>;

/// What the publish screen needs besides the policy pages' state.
#[derive(Clone)]
pub struct PublishState {
    pub admin: Admin,
    pub published: Published,
    /// The district's policy key (`[publish] key`); `None`: the screen explains how to set it.
    pub key: Option<Arc<SigningKey>>,
    /// The keys the district verifies its own bundles with (its `policy.pinned_keys`, which
    /// include the signing key's public half).
    pub pinned: Vec<PublicKey>,
    /// The validity offered by default, in days (`[publish] expires_days`).
    pub expires_days: u32,
    pub agents: AgentSource,
}

pub fn routes(state: PublishState) -> Router {
    Router::new()
        .route("/policy/publish", get(page).post(publish))
        .with_state(state)
}

pub fn access() -> Vec<Access> {
    vec![
        Access::get("/policy/publish", MANAGE),
        Access::post("/policy/publish", MANAGE),
    ]
}

/// The last bundle as the base of the difference.
struct Base {
    /// The last bundle's number, `None` when none was published (the base is then the policy
    /// the district runs on: its files).
    number: Option<u64>,
    policy: Policy,
    agents: Vec<Agent>,
}

/// The proposal: the drafts and the registry now, with a token of what they were.
struct Proposal {
    policy: Policy,
    agents: Vec<Agent>,
    /// The drafts' revisions and the last bundle's number, as the form carries them.
    seen: String,
}

async fn base(state: &PublishState) -> anyhow::Result<Base> {
    let me = state.admin.me;
    let Some(latest) = state.published.latest().await? else {
        let in_force = state.admin.policy.current();
        return Ok(Base {
            number: None,
            policy: Policy {
                agents: None,
                ..in_force.policy.clone()
            },
            agents: Vec::new(),
        });
    };
    // Read as of its own issue: an expired last bundle is still the base of the next.
    let bundle = verify(
        &latest.envelope,
        &state.pinned,
        me.district(),
        None,
        latest.issued_at,
    )
    .map_err(|e| anyhow::anyhow!("the last bundle ({}) does not verify: {e}", latest.number))?;
    let mut agents = Vec::new();
    let set = state.published.rosters(latest.number).await?;
    for entry in &set.rosters {
        let Some(envelope) = set.envelope_of(entry.station) else {
            continue;
        };
        let roster = verify_roster(
            &envelope,
            &state.pinned,
            me.district(),
            entry.station,
            latest.number,
        )
        .map_err(|e| anyhow::anyhow!("the roster of {}: {e}", entry.station))?;
        agents.extend(roster.agents);
    }
    Ok(Base {
        number: Some(latest.number),
        policy: bundle.policy,
        agents,
    })
}

async fn proposal(state: &PublishState, base: &Base) -> anyhow::Result<Proposal> {
    let (policy, revisions) = state.admin.drafts.policy().await?;
    let agents = (state.agents)().await?;
    Ok(Proposal {
        policy,
        agents,
        seen: format!("{}:{}", base.number.unwrap_or(0), revisions),
    })
}

/// One changed entry as the page shows it.
struct EntryView {
    kind: &'static str,
    kind_label: &'static str,
    subject: String,
    fields: Vec<String>,
}

struct PartView {
    title: &'static str,
    entries: Vec<EntryView>,
}

fn part_title(t: Tr, part: &str) -> &'static str {
    match part {
        "topology" => t.pick("中心设置", "Centres"),
        "catalogue" => t.pick("事项目录", "Catalogue"),
        "calendar" => t.pick("工作日历", "Working calendar"),
        _ => t.pick("帮办代办员", "Agents"),
    }
}

fn views(t: Tr, d: &Diff) -> Vec<PartView> {
    d.parts
        .iter()
        .map(|p| PartView {
            title: part_title(t, p.part),
            entries: p
                .entries
                .iter()
                .map(|e| {
                    let (kind, kind_label) = match e.kind {
                        Kind::Added => ("added", t.pick("新增", "Added")),
                        Kind::Removed => ("removed", t.pick("删除", "Removed")),
                        Kind::Changed => ("changed", t.pick("修改", "Changed")),
                    };
                    EntryView {
                        kind,
                        kind_label,
                        subject: e.subject.clone(),
                        fields: e
                            .fields
                            .iter()
                            .map(|f| crate::admin::readable(t, f))
                            .collect(),
                    }
                })
                .collect(),
        })
        .collect()
}

struct HistoryRow {
    number: u64,
    published_at: String,
    published_by: String,
    expires_at: String,
    summary: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "policy/publish.html")]
struct PublishPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    /// The field a refusal is about (`summary`, `expires_days`), or empty.
    field: &'static str,
    has_key: bool,
    last: Option<u64>,
    next: u64,
    parts: Vec<PartView>,
    changes: usize,
    seen: String,
    summary: String,
    expires_days: String,
    max_days: u32,
    history: Vec<HistoryRow>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    seen: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    expires_days: String,
}

/// A refusal of the form: the field (or none) and the message.
struct Refusal {
    field: &'static str,
    message: String,
}

async fn render(
    state: &PublishState,
    frame: Frame,
    typed: Option<&PublishForm>,
    refusal: Option<Refusal>,
    notice: Option<String>,
) -> Response {
    let t = frame.t;
    let lang = t.lang;
    let base = match base(state).await {
        Ok(b) => b,
        Err(e) => return internal_error(&e, lang),
    };
    let proposal = match proposal(state, &base).await {
        Ok(p) => p,
        Err(e) => return internal_error(&e, lang),
    };
    let history = match state.published.history(20).await {
        Ok(h) => h,
        Err(e) => return internal_error(&e, lang),
    };
    let d = diff::diff(
        &base.policy,
        &base.agents,
        &proposal.policy,
        &proposal.agents,
    );
    let status = if refusal.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = PublishPage {
        notice,
        field: refusal.as_ref().map_or("", |r| r.field),
        error: refusal.map(|r| r.message),
        has_key: state.key.is_some(),
        last: base.number,
        next: base.number.unwrap_or(0) + 1,
        changes: d.len(),
        parts: views(t, &d),
        seen: proposal.seen,
        summary: typed.map(|f| f.summary.clone()).unwrap_or_default(),
        expires_days: typed
            .map(|f| f.expires_days.clone())
            .unwrap_or_else(|| state.expires_days.to_string()),
        max_days: MAX_EXPIRES_DAYS,
        history: history
            .into_iter()
            .map(|b| HistoryRow {
                number: b.number,
                published_at: china_time(b.published_at),
                published_by: b.published_by,
                expires_at: china_time(b.expires_at),
                summary: b.summary,
            })
            .collect(),
        t,
        centre: frame.centre,
        user: frame.user,
        exposed_plain_http: frame.exposed_plain_http,
        csrf: frame.csrf,
    };
    (status, page).into_response()
}

/// `GET /policy/publish`.
async fn page(
    State(state): State<PublishState>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    query: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let notice = query.ok().and_then(|Query(q)| q.done).map(|n| {
        format!(
            "{}{n}{}",
            t.pick("第", "Bundle "),
            t.pick(
                "号政策包已签名发布，本节点已施行；各镇（街道）站点将在下次拉取时应用并转发给所辖村（社区）站点。",
                " is signed and published, and in force here; the towns apply it at their next pull and relay it to their villages."
            )
        )
    });
    let res = render(&state, frame, None, None, notice).await;
    with_lang(lang, &headers, res)
}

/// `POST /policy/publish`: signs, records and puts in force the next bundle, then 303.
async fn publish(
    State(state): State<PublishState>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    form: Result<axum::Form<PublishForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let refuse = |field: &'static str, zh: &str, en: &str| Refusal {
        field,
        message: t.pick(zh, en).to_owned(),
    };
    let Some(key) = state.key.clone() else {
        let r = refuse(
            "",
            "本节点未配置政策签名密钥（[publish] key），不能发布。",
            "No policy signing key is configured ([publish] key); nothing can be published.",
        );
        return render(&state, frame, Some(&form), Some(r), None).await;
    };
    let summary = form.summary.trim().to_owned();
    if summary.chars().count() < 2 || summary.chars().count() > 200 {
        let r = refuse(
            "summary",
            "请填写发布说明（2至200字），说明本次调整的内容和原因。",
            "Write what this bundle changes and why (2 to 200 characters).",
        );
        return render(&state, frame, Some(&form), Some(r), None).await;
    }
    let days = match form.expires_days.trim().parse::<u32>() {
        Ok(d) if (1..=MAX_EXPIRES_DAYS).contains(&d) => d,
        _ => {
            let r = Refusal {
                field: "expires_days",
                message: format!(
                    "{}{MAX_EXPIRES_DAYS}{}",
                    t.pick(
                        "有效天数应为1至",
                        "The validity must be a whole number of days from 1 to "
                    ),
                    t.pick("之间的整数。", ".")
                ),
            };
            return render(&state, frame, Some(&form), Some(r), None).await;
        }
    };
    let base = match base(&state).await {
        Ok(b) => b,
        Err(e) => return internal_error(&e, lang),
    };
    let proposal = match proposal(&state, &base).await {
        Ok(p) => p,
        Err(e) => return internal_error(&e, lang),
    };
    if proposal.seen != form.seen {
        let r = refuse(
            "",
            "打开本页后政策草稿、名册或已发布的政策包有了变化，未发布。请核对下方最新的差异后再发布。",
            "The drafts, the registry or the published bundles changed after this page was opened; nothing was published. Check the differences below, then publish again.",
        );
        return render(&state, frame, Some(&form), Some(r), None).await;
    }
    let d = diff::diff(
        &base.policy,
        &base.agents,
        &proposal.policy,
        &proposal.agents,
    );
    let number = base.number.unwrap_or(0) + 1;
    let by = user.operator.username.as_str().to_owned();
    match sign_and_record(&state, &key, number, days, &proposal, &by, &summary, &d).await {
        Ok(()) => {}
        Err(PublishedError::NotNewer { .. }) => {
            let r = refuse(
                "",
                "另一位管理员刚刚发布了政策包，本次未发布。请核对最新差异后再发布。",
                "Another administrator has just published a bundle; this one was not. Check the differences again, then publish.",
            );
            return render(&state, frame, Some(&form), Some(r), None).await;
        }
        Err(e) => return internal_error(&e, lang),
    }
    Redirect::to(&format!("/policy/publish?done={number}")).into_response()
}

/// Signs bundle `number` of the proposal and its rosters, records them with the audit line,
/// and puts the bundle in force on the district.
#[allow(clippy::too_many_arguments)]
async fn sign_and_record(
    state: &PublishState,
    key: &SigningKey,
    number: u64,
    days: u32,
    proposal: &Proposal,
    by: &str,
    summary: &str,
    d: &Diff,
) -> Result<(), PublishedError> {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let me = state.admin.me;
    let Some(tree) = proposal.policy.topology.clone() else {
        return Err(PublishedError::Corrupt("the draft has no tree".to_owned()));
    };
    let payload = BundlePayload {
        district: me.district(),
        number,
        issued_at: now,
        expires_at: now + Duration::days(i64::from(days)),
        topology: tree,
        catalogue: proposal.policy.catalogue.clone(),
        calendar: proposal.policy.calendar.clone(),
    };
    let bytes = payload.to_bytes().map_err(PublishedError::Bundle)?;
    let envelope = key.sign_envelope(&bytes);
    let rosters = sign_rosters(
        key,
        &payload.topology,
        number,
        payload.issued_at,
        payload.expires_at,
        &proposal.agents,
    )
    .map_err(PublishedError::Bundle)?;
    let summary_line = format!("{summary}（{}）", d.counts());
    state
        .published
        .record(&envelope, &rosters, by, &summary_line)
        .await?;
    let change = Change {
        section: "bundle",
        action: "bundle.publish",
        subject: number.to_string(),
        before: None,
        after: Some(serde_json::json!({
            "number": number,
            "expires_at": payload
                .expires_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            "summary": summary,
            "changes": d.counts(),
        })),
    };
    state
        .admin
        .drafts
        .note(by, &change)
        .await
        .map_err(|e| PublishedError::Corrupt(e.to_string()))?;
    match put_in_force(&state.published, &state.admin.policy, me, &state.pinned).await {
        Ok(_) => {}
        // Recorded, so the towns get it; the district's own refusal is on its start page.
        Err(e) => {
            tracing::warn!(bundle = number, error = %e, "published, but not put in force on the district")
        }
    }
    tracing::info!(bundle = number, by, changes = %d.counts(), "policy bundle published");
    Ok(())
}
