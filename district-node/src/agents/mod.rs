//! The registry of assisting agents (帮办代办员) the district files: the `agents` table, its
//! rules (identifiers checked as at intake, unique badge and resident ID, a centre in use in the
//! draft tree, no filing in the future) and its audit, each change with its `policy_audit` line
//! in one transaction. It must never let a full resident ID or phone number reach a list, a log
//! or the audit: those show them masked. The pages are in `web`, the JSON routes in `api`.

pub mod api;
pub mod web;

use std::collections::BTreeMap;

use bangban_domain::Bilingual;
use bangban_domain::agent::{Agent, AgentError, AgentRole, AgentStatus, Training};
use bangban_domain::ident::{MobileNumber, PersonName, ResidentId};
use bangban_domain::station::StationCode;
use bangban_kit::db::Db;
use serde::Serialize;
use sqlx::Row;
use time::{Date, OffsetDateTime};

use crate::drafts::{Change, DraftError, Drafts, record};

/// The audit section of the registry.
pub const SECTION: &str = "agents";

/// Why a registry change was refused, or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Bad input: shown beside `field`, nothing saved.
    #[error("{field}: {en}")]
    Invalid {
        field: &'static str,
        code: &'static str,
        zh: String,
        en: String,
    },
    #[error("no such agent")]
    NotFound,
    #[error(transparent)]
    Draft(#[from] DraftError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl RegistryError {
    fn invalid(field: &'static str, code: &'static str, zh: String, en: String) -> Self {
        RegistryError::Invalid {
            field,
            code,
            zh,
            en,
        }
    }

    fn from_domain(field: &'static str, e: &dyn Bilingual) -> Self {
        RegistryError::Invalid {
            field,
            code: e.code(),
            zh: e.message_zh(),
            en: e.message_en(),
        }
    }

    /// Our failure rather than the caller's input or a concurrent change.
    pub fn is_internal(&self) -> bool {
        !matches!(
            self,
            RegistryError::Invalid { .. }
                | RegistryError::NotFound
                | RegistryError::Draft(DraftError::Conflict { .. })
        )
    }
}

/// An agent as filed: the record, its stable id and the last status change.
#[derive(Debug, Clone)]
pub struct Filed {
    pub id: String,
    pub agent: Agent,
    pub status_on: Option<Date>,
    pub status_reason: Option<String>,
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
}

/// What the add and edit forms send (text as typed). On an edit, a blank resident ID or phone
/// keeps the one on file (the pages never show them in full).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct AgentInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub centre: String,
    /// `assisting_agent`, `chief_representative` or `hall_guide`.
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub badge_no: String,
    /// `YYYY-MM-DD`, not in the future.
    #[serde(default)]
    pub filed_on: String,
}

pub const ROLES: [AgentRole; 3] = [
    AgentRole::AssistingAgent,
    AgentRole::ChiefRepresentative,
    AgentRole::HallGuide,
];
pub const STATUSES: [AgentStatus; 3] = [
    AgentStatus::Active,
    AgentStatus::Suspended,
    AgentStatus::Left,
];

pub fn role_str(role: AgentRole) -> &'static str {
    match role {
        AgentRole::AssistingAgent => "assisting_agent",
        AgentRole::ChiefRepresentative => "chief_representative",
        AgentRole::HallGuide => "hall_guide",
    }
}

pub fn role_en(role: AgentRole) -> &'static str {
    match role {
        AgentRole::AssistingAgent => "assisting agent",
        AgentRole::ChiefRepresentative => "chief representative",
        AgentRole::HallGuide => "hall guide",
    }
}

pub fn status_str(status: AgentStatus) -> &'static str {
    match status {
        AgentStatus::Active => "active",
        AgentStatus::Suspended => "suspended",
        AgentStatus::Left => "left",
    }
}

/// The status's name in Chinese and English.
pub fn status_label(status: AgentStatus) -> (&'static str, &'static str) {
    match status {
        AgentStatus::Active => ("在岗", "active"),
        AgentStatus::Suspended => ("暂停", "suspended"),
        AgentStatus::Left => ("离岗", "left"),
    }
}

pub fn parse_status(s: &str) -> Option<AgentStatus> {
    STATUSES.into_iter().find(|st| status_str(*st) == s.trim())
}

pub fn parse_role(s: &str) -> Option<AgentRole> {
    ROLES.into_iter().find(|r| role_str(*r) == s.trim())
}

/// Parses a `YYYY-MM-DD` date typed in `field`, not after `today`.
pub fn parse_past_date(
    field: &'static str,
    text: &str,
    today: Date,
) -> Result<Date, RegistryError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let text = text.trim();
    let date = Date::parse(text, &format).map_err(|_| {
        RegistryError::invalid(
            field,
            "agent.bad_date",
            "日期格式应为 年-月-日，例如 2026-03-01".to_owned(),
            "the date must read YYYY-MM-DD, e.g. 2026-03-01".to_owned(),
        )
    })?;
    if date > today {
        return Err(RegistryError::invalid(
            field,
            "agent.future_date",
            format!("日期 {date} 晚于今天，不能预先登记"),
            format!("the date {date} is after today"),
        ));
    }
    Ok(date)
}

/// Class hours as typed ("4", "1.5") in half hours, 0.5 to 200 hours.
fn parse_hours(text: &str) -> Result<u16, RegistryError> {
    let bad = || {
        RegistryError::invalid(
            "hours",
            "agent.training_hours",
            "学时须为 0.5 至 200 之间、以 0.5 为单位的数字".to_owned(),
            "hours must be a number from 0.5 to 200 in steps of 0.5".to_owned(),
        )
    };
    let hours: f64 = text.trim().parse().map_err(|_| bad())?;
    let half = hours * 2.0;
    if !half.is_finite() || half.fract() != 0.0 || !(1.0..=400.0).contains(&half) {
        return Err(bad());
    }
    // In range 1..=400 and whole: the cast is exact.
    Ok(half as u16)
}

fn agent_error(e: AgentError) -> RegistryError {
    let field = e.field();
    RegistryError::from_domain(field, &e)
}

/// The record as the audit shows it: resident ID and phone masked as `Agent`'s masking shows
/// them, training as readable lines.
#[derive(Debug, Serialize)]
pub struct AuditView {
    name: String,
    id_number: String,
    phone: String,
    centre: String,
    role: &'static str,
    badge_no: String,
    filed_on: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    training: Vec<String>,
}

impl AuditView {
    pub fn of(agent: &Agent, status_on: Option<Date>, status_reason: Option<&str>) -> AuditView {
        AuditView {
            name: agent.name.as_str().to_owned(),
            id_number: agent.id_number.masked(),
            phone: agent.phone.masked(),
            centre: agent.centre.to_string(),
            role: role_str(agent.role),
            badge_no: agent.badge_no.clone(),
            filed_on: agent.filed_on.to_string(),
            status: status_str(agent.status),
            status_on: status_on.map(|d| d.to_string()),
            status_reason: status_reason.map(str::to_owned),
            training: agent
                .training
                .iter()
                .map(|t| format!("{} {} {}h", t.date, t.course, f64::from(t.half_hours) / 2.0))
                .collect(),
        }
    }

    fn of_filed(f: &Filed) -> AuditView {
        AuditView::of(&f.agent, f.status_on, f.status_reason.as_deref())
    }
}

/// The district's registry of agents, on its database (SQLite or PostgreSQL).
#[derive(Debug, Clone)]
pub struct Registry {
    db: Db,
    drafts: Drafts,
}

const COLUMNS: &str = "id, body, status_on, status_reason, updated_at, updated_by";

impl Registry {
    pub fn new(db: Db) -> Registry {
        Registry {
            drafts: Drafts::new(db.clone()),
            db,
        }
    }

    /// Every agent on file, by centre then badge number (the publish screen signs one roster
    /// per centre from it).
    pub async fn all(&self) -> Result<Vec<Agent>, RegistryError> {
        Ok(self.list().await?.into_iter().map(|f| f.agent).collect())
    }

    /// Every agent on file with its id and status change, by centre then badge number.
    pub async fn list(&self) -> Result<Vec<Filed>, RegistryError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM agents ORDER BY centre, badge_no"
        )))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(read_row).collect()
    }

    /// One agent.
    pub async fn get(&self, id: &str) -> Result<Filed, RegistryError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM agents WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(RegistryError::NotFound)?;
        read_row(&row)
    }

    /// How many active agents each centre has (centres with none are absent).
    pub async fn active_counts(&self) -> Result<BTreeMap<StationCode, usize>, RegistryError> {
        let rows = sqlx::query(
            "SELECT centre, COUNT(*) AS n FROM agents WHERE status = 'active' GROUP BY centre",
        )
        .fetch_all(self.db.pool())
        .await?;
        let mut counts = BTreeMap::new();
        for row in rows {
            let centre: String = row.try_get("centre")?;
            let n: i64 = row.try_get("n")?;
            if let Ok(code) = StationCode::parse(&centre) {
                counts.insert(code, usize::try_from(n).unwrap_or(0));
            }
        }
        Ok(counts)
    }

    /// Checks a centre typed in `field`: listed in the draft tree and in use `today`.
    async fn check_centre(&self, text: &str, today: Date) -> Result<StationCode, RegistryError> {
        let code = StationCode::parse(text.trim())
            .map_err(|e| RegistryError::from_domain("centre", &e))?;
        let tree = self.drafts.topology().await?.doc;
        match tree.get(code) {
            None => Err(RegistryError::invalid(
                "centre",
                "agent.unknown_centre",
                format!("中心 {code} 不在中心设置中"),
                format!("centre {code} is not in the tree of centres"),
            )),
            Some(info) if !info.is_active(today) => Err(RegistryError::invalid(
                "centre",
                "agent.retired_centre",
                format!("中心 {code}（{}）已撤销或尚未启用", info.name),
                format!("centre {code} ({}) is retired or not yet in use", info.name),
            )),
            Some(_) => Ok(code),
        }
    }

    /// The record the input describes; on an edit (`on_file`), a blank ID or phone keeps the
    /// one on file, and the training and status stay.
    async fn parse(
        &self,
        input: &AgentInput,
        on_file: Option<&Agent>,
        today: Date,
    ) -> Result<Agent, RegistryError> {
        let name = PersonName::new(input.name.trim());
        let id_number = match (input.id_number.trim(), on_file) {
            ("", Some(a)) => a.id_number.clone(),
            (text, _) => {
                let id = ResidentId::parse(&text.to_uppercase())
                    .map_err(|e| RegistryError::from_domain("id_number", &e))?;
                if !id.is_born_by(today) {
                    return Err(RegistryError::invalid(
                        "id_number",
                        "agent.unborn",
                        "身份证号码中的出生日期晚于今天".to_owned(),
                        "the date of birth in the resident ID is after today".to_owned(),
                    ));
                }
                id
            }
        };
        let phone = match (input.phone.trim(), on_file) {
            ("", Some(a)) => a.phone.clone(),
            (text, _) => {
                MobileNumber::parse(text).map_err(|e| RegistryError::from_domain("phone", &e))?
            }
        };
        let centre = self.check_centre(&input.centre, today).await?;
        let role = parse_role(&input.role).ok_or_else(|| {
            RegistryError::invalid(
                "role",
                "agent.role",
                "请选择岗位".to_owned(),
                "choose a role".to_owned(),
            )
        })?;
        let filed_on = parse_past_date("filed_on", &input.filed_on, today)?;
        let agent = Agent {
            name,
            id_number,
            phone,
            centre,
            role,
            badge_no: input.badge_no.trim().to_owned(),
            filed_on,
            training: on_file.map(|a| a.training.clone()).unwrap_or_default(),
            status: on_file.map_or(AgentStatus::Active, |a| a.status),
        };
        agent.validate().map_err(agent_error)?;
        Ok(agent)
    }

    /// Files a new agent (active). Returns its id.
    pub async fn add(
        &self,
        input: &AgentInput,
        actor: &str,
        today: Date,
    ) -> Result<String, RegistryError> {
        let agent = self.parse(input, None, today).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut tx = self.db.pool().begin().await?;
        self.check_unique(&mut tx, &agent, &id).await?;
        let body = body_of(&agent)?;
        sqlx::query(
            "INSERT INTO agents (id, badge_no, id_number, centre, status, status_on, \
             status_reason, body, created_at, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7, $7, $8)",
        )
        .bind(&id)
        .bind(&agent.badge_no)
        .bind(agent.id_number.as_str())
        .bind(agent.centre.to_string())
        .bind(status_str(agent.status))
        .bind(&body)
        .bind(now)
        .bind(actor)
        .execute(&mut *tx)
        .await
        .map_err(unique_violation)?;
        let after = AuditView::of(&agent, None, None);
        let change = Change::of::<(), _>(SECTION, "agent.add", &agent.badge_no, None, Some(&after));
        record(&mut tx, now, actor, &change).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes an agent's name, identifiers, centre, role, badge or filing date.
    pub async fn update(
        &self,
        id: &str,
        input: &AgentInput,
        actor: &str,
        today: Date,
    ) -> Result<(), RegistryError> {
        let before = self.get(id).await?;
        let agent = self.parse(input, Some(&before.agent), today).await?;
        self.save(
            id,
            &before,
            agent,
            before.status_on,
            before.status_reason.clone(),
            actor,
            "agent.update",
        )
        .await
    }

    /// Sets an agent's status on `on` (not in the future) for `reason` (required unless the
    /// agent is back at work).
    pub async fn set_status(
        &self,
        id: &str,
        status: &str,
        on: &str,
        reason: &str,
        actor: &str,
        today: Date,
    ) -> Result<(), RegistryError> {
        let before = self.get(id).await?;
        let status = parse_status(status).ok_or_else(|| {
            RegistryError::invalid(
                "status",
                "agent.status",
                "请选择状态：在岗、暂停或离岗".to_owned(),
                "choose a status: active, suspended or left".to_owned(),
            )
        })?;
        if status == before.agent.status {
            let (zh, en) = status_label(status);
            return Err(RegistryError::invalid(
                "status",
                "agent.same_status",
                format!("该人员已是“{zh}”状态"),
                format!("the agent is already {en}"),
            ));
        }
        let on = parse_past_date("status_on", on, today)?;
        if on < before.agent.filed_on {
            return Err(RegistryError::invalid(
                "status_on",
                "agent.before_filing",
                format!("日期早于备案日期 {}", before.agent.filed_on),
                format!(
                    "the date is before the filing date {}",
                    before.agent.filed_on
                ),
            ));
        }
        let reason = reason.trim();
        if reason.is_empty() && status != AgentStatus::Active {
            return Err(RegistryError::invalid(
                "reason",
                "agent.reason",
                "暂停或离岗须填写原因".to_owned(),
                "a suspension or departure needs a reason".to_owned(),
            ));
        }
        if reason.chars().count() > 200 {
            return Err(RegistryError::invalid(
                "reason",
                "agent.too_long",
                "原因不能超过 200 个字".to_owned(),
                "the reason is longer than 200 characters".to_owned(),
            ));
        }
        let mut agent = before.agent.clone();
        agent.status = status;
        let reason = Some(reason.to_owned()).filter(|r| !r.is_empty());
        self.save(id, &before, agent, Some(on), reason, actor, "agent.status")
            .await
    }

    /// Adds a training record (date not in the future, course, hours as typed).
    pub async fn add_training(
        &self,
        id: &str,
        date: &str,
        course: &str,
        hours: &str,
        actor: &str,
        today: Date,
    ) -> Result<(), RegistryError> {
        let before = self.get(id).await?;
        let date = parse_past_date("training_date", date, today)?;
        let half_hours = parse_hours(hours)?;
        let mut agent = before.agent.clone();
        agent.training.push(Training {
            date,
            course: course.trim().to_owned(),
            half_hours,
        });
        agent.training.sort_by_key(|t| t.date);
        agent.validate().map_err(agent_error)?;
        self.save(
            id,
            &before,
            agent,
            before.status_on,
            before.status_reason.clone(),
            actor,
            "agent.training",
        )
        .await
    }

    /// Refuses a badge or resident ID another agent has.
    async fn check_unique(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        agent: &Agent,
        id: &str,
    ) -> Result<(), RegistryError> {
        let badge = sqlx::query("SELECT id FROM agents WHERE badge_no = $1 AND id <> $2")
            .bind(&agent.badge_no)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        if badge.is_some() {
            return Err(agent_error(AgentError::DuplicateBadge(
                agent.badge_no.clone(),
            )));
        }
        let person = sqlx::query("SELECT id FROM agents WHERE id_number = $1 AND id <> $2")
            .bind(agent.id_number.as_str())
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        if person.is_some() {
            return Err(agent_error(AgentError::DuplicateId));
        }
        Ok(())
    }

    /// Writes the changed record and its audit line in one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn save(
        &self,
        id: &str,
        before: &Filed,
        agent: Agent,
        status_on: Option<Date>,
        status_reason: Option<String>,
        actor: &str,
        action: &'static str,
    ) -> Result<(), RegistryError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut tx = self.db.pool().begin().await?;
        self.check_unique(&mut tx, &agent, id).await?;
        let body = body_of(&agent)?;
        // Only if nobody saved since `before` was read: otherwise their change would be lost.
        let updated = sqlx::query(
            "UPDATE agents SET badge_no = $1, id_number = $2, centre = $3, status = $4, \
             status_on = $5, status_reason = $6, body = $7, updated_at = $8, updated_by = $9 \
             WHERE id = $10 AND body = $11",
        )
        .bind(&agent.badge_no)
        .bind(agent.id_number.as_str())
        .bind(agent.centre.to_string())
        .bind(status_str(agent.status))
        .bind(status_on.map(|d| d.to_string()))
        .bind(status_reason.clone())
        .bind(&body)
        .bind(now)
        .bind(actor)
        .bind(id)
        .bind(body_of(&before.agent)?)
        .execute(&mut *tx)
        .await
        .map_err(unique_violation)?
        .rows_affected();
        if updated != 1 {
            tx.rollback().await?;
            return Err(RegistryError::Draft(DraftError::Conflict {
                section: SECTION,
                by: before.updated_by.clone(),
            }));
        }
        let change = Change::of(
            SECTION,
            action,
            &agent.badge_no,
            Some(&AuditView::of_filed(before)),
            Some(&AuditView::of(&agent, status_on, status_reason.as_deref())),
        );
        record(&mut tx, now, actor, &change).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn body_of(agent: &Agent) -> Result<String, RegistryError> {
    serde_json::to_string(agent).map_err(|e| {
        RegistryError::Draft(DraftError::Corrupt {
            section: SECTION,
            problem: e.to_string(),
        })
    })
}

/// Two administrators filing the same badge at once: the loser's unique violation is a refusal.
fn unique_violation(e: sqlx::Error) -> RegistryError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            if db.message().contains("id_number") {
                agent_error(AgentError::DuplicateId)
            } else {
                RegistryError::invalid(
                    "badge_no",
                    "agent.duplicate_badge",
                    "工牌编号或身份证号码已被其他人员使用".to_owned(),
                    "the badge number or resident ID is used by another agent".to_owned(),
                )
            }
        }
        _ => RegistryError::Db(e),
    }
}

fn read_row(row: &sqlx::any::AnyRow) -> Result<Filed, RegistryError> {
    let body: String = row.try_get("body")?;
    let agent: Agent = serde_json::from_str(&body).map_err(|e| {
        RegistryError::Draft(DraftError::Corrupt {
            section: SECTION,
            problem: e.to_string(),
        })
    })?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let status_on: Option<String> = row.try_get("status_on")?;
    Ok(Filed {
        id: row.try_get("id")?,
        agent,
        status_on: status_on.and_then(|s| Date::parse(&s, &format).ok()),
        status_reason: row.try_get("status_reason")?,
        updated_at: OffsetDateTime::from_unix_timestamp(row.try_get("updated_at")?)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        updated_by: row.try_get("updated_by")?,
    })
}
