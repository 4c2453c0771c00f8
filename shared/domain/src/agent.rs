//! The registry of assisting agents (帮办代办员), as the district files them: who they are, at
//! which centre, in which role, with their badge, filing date, training and status. The plan asks
//! for at least two agents at every centre ([`MIN_ACTIVE_PER_CENTRE`]).
//!
//! Policy data of the district (issue 9): the district keeps the registry; each station receives
//! its own centre's agents only. The resident ID and the phone are checked as at intake, and
//! `Debug` prints them masked.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::Bilingual;
use crate::ident::{MobileNumber, PersonName, ResidentId};
use crate::station::StationCode;

/// The plan's rule: every centre has at least two active agents.
pub const MIN_ACTIVE_PER_CENTRE: usize = 2;

/// What an agent does at the centre.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentRole {
    /// 帮办代办员
    AssistingAgent,
    /// 首席代表: a department's chief representative in the hall, its liaison.
    ChiefRepresentative,
    /// 大厅引导员
    HallGuide,
}

impl AgentRole {
    pub fn label_zh(self) -> &'static str {
        match self {
            AgentRole::AssistingAgent => "帮办代办员",
            AgentRole::ChiefRepresentative => "首席代表",
            AgentRole::HallGuide => "大厅引导员",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// 在岗
    Active,
    /// 暂停
    Suspended,
    /// 离岗
    Left,
}

/// One training course an agent attended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    #[serde(with = "crate::calendar::iso_date")]
    pub date: Date,
    pub course: String,
    /// Class hours in half-hour units (3 = 1.5 h), as the district records them.
    pub half_hours: u16,
}

/// An agent as the district files them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    pub name: PersonName,
    pub id_number: ResidentId,
    pub phone: MobileNumber,
    pub centre: StationCode,
    pub role: AgentRole,
    pub badge_no: String,
    /// The day the agent was filed with the service management department.
    #[serde(with = "crate::calendar::iso_date")]
    pub filed_on: Date,
    #[serde(default)]
    pub training: Vec<Training>,
    pub status: AgentStatus,
}

// INVARIANT: personal data never reaches logs, so Debug prints masked values only.
impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agent")
            .field("name", &self.name.masked())
            .field("id_number", &self.id_number)
            .field("phone", &self.phone)
            .field("centre", &self.centre)
            .field("role", &self.role)
            .field("badge_no", &self.badge_no)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Why an agent's record is refused. Each names its field for the form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("a training of {0} half hours is out of range (1 to 400)")]
    TrainingHours(u16),
    #[error("badge number {0} is used by another agent")]
    DuplicateBadge(String),
    #[error("the same resident ID is filed twice")]
    DuplicateId,
}

impl AgentError {
    /// The input the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            AgentError::Empty { field } | AgentError::TooLong { field, .. } => field,
            AgentError::TrainingHours(_) => "training",
            AgentError::DuplicateBadge(_) => "badge_no",
            AgentError::DuplicateId => "id_number",
        }
    }
}

impl Bilingual for AgentError {
    fn code(&self) -> &'static str {
        match self {
            AgentError::Empty { .. } => "agent.empty_field",
            AgentError::TooLong { .. } => "agent.too_long",
            AgentError::TrainingHours(_) => "agent.training_hours",
            AgentError::DuplicateBadge(_) => "agent.duplicate_badge",
            AgentError::DuplicateId => "agent.duplicate_id",
        }
    }

    fn message_zh(&self) -> String {
        let name = |field: &str| match field {
            "name" => "姓名",
            "badge_no" => "工牌编号",
            "course" => "培训课程",
            _ => "字段",
        };
        match self {
            AgentError::Empty { field } => format!("“{}”不能为空", name(field)),
            AgentError::TooLong { field, max } => {
                format!("“{}”不能超过 {max} 个字", name(field))
            }
            AgentError::TrainingHours(h) => {
                format!(
                    "培训学时 {} 小时超出范围（0.5 至 200 小时）",
                    f64::from(*h) / 2.0
                )
            }
            AgentError::DuplicateBadge(b) => format!("工牌编号 {b} 已被其他人员使用"),
            AgentError::DuplicateId => "该身份证号码已登记过".to_owned(),
        }
    }
}

const MAX_SHORT: usize = 100;

fn required(field: &'static str, value: &str) -> Result<(), AgentError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AgentError::Empty { field });
    }
    if value.chars().count() > MAX_SHORT {
        return Err(AgentError::TooLong {
            field,
            max: MAX_SHORT,
        });
    }
    Ok(())
}

impl Agent {
    /// Checks the record on its own (the identifiers were checked when they were parsed).
    pub fn validate(&self) -> Result<(), AgentError> {
        required("name", self.name.as_str())?;
        required("badge_no", &self.badge_no)?;
        for t in &self.training {
            required("course", &t.course)?;
            if !(1..=400).contains(&t.half_hours) {
                return Err(AgentError::TrainingHours(t.half_hours));
            }
        }
        Ok(())
    }

    pub fn is_active(&self) -> bool {
        self.status == AgentStatus::Active
    }
}

/// Checks a whole registry: each record, and badges and resident IDs unique across it.
pub fn validate_registry(agents: &[Agent]) -> Result<(), (usize, AgentError)> {
    let mut badges = BTreeMap::new();
    let mut ids = BTreeMap::new();
    for (i, agent) in agents.iter().enumerate() {
        agent.validate().map_err(|e| (i, e))?;
        if badges.insert(agent.badge_no.trim().to_owned(), i).is_some() {
            return Err((i, AgentError::DuplicateBadge(agent.badge_no.clone())));
        }
        if ids.insert(agent.id_number.as_str().to_owned(), i).is_some() {
            return Err((i, AgentError::DuplicateId));
        }
    }
    Ok(())
}

/// The centres among `centres` with fewer than [`MIN_ACTIVE_PER_CENTRE`] active agents, with
/// their count: the warning the tier page shows.
pub fn understaffed<'a>(
    centres: impl IntoIterator<Item = &'a StationCode>,
    agents: &[Agent],
) -> Vec<(StationCode, usize)> {
    centres
        .into_iter()
        .map(|c| {
            let n = agents
                .iter()
                .filter(|a| a.centre == *c && a.is_active())
                .count();
            (*c, n)
        })
        .filter(|(_, n)| *n < MIN_ACTIVE_PER_CENTRE)
        .collect()
}

/// The agents a station receives: its own centre's, nobody else's.
pub fn for_centre(agents: &[Agent], centre: StationCode) -> Vec<Agent> {
    agents
        .iter()
        .filter(|a| a.centre == centre)
        .cloned()
        .collect()
}

/// Whether `name` is an active agent of `centre` (the delegation agreement names one).
pub fn is_active_agent_of(agents: &[Agent], centre: StationCode, name: &str) -> bool {
    agents
        .iter()
        .any(|a| a.centre == centre && a.is_active() && a.name.as_str() == name.trim())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::date;

    fn agent(name: &str, centre: &str, badge: &str, status: AgentStatus) -> Agent {
        Agent {
            name: PersonName::new(name),
            id_number: ResidentId::parse("11010519491231002X").unwrap(),
            phone: MobileNumber::parse("13812345678").unwrap(),
            centre: StationCode::parse(centre).unwrap(),
            role: AgentRole::AssistingAgent,
            badge_no: badge.to_owned(),
            filed_on: date!(2026 - 03 - 01),
            training: vec![Training {
                date: date!(2026 - 03 - 10),
                course: "帮办代办服务规范".to_owned(),
                half_hours: 8,
            }],
            status,
        }
    }

    #[test]
    fn a_record_reads_from_json_with_its_identifiers_checked() {
        let json = r#"{"name":"王芳","id_number":"11010519491231002X","phone":"13812345678",
            "centre":"410402001001","role":"chief_representative","badge_no":"XH-001",
            "filed_on":"2026-03-01","training":[{"date":"2026-03-10","course":"规范","half_hours":8}],
            "status":"active"}"#;
        let a: Agent = serde_json::from_str(json).unwrap();
        assert!(a.validate().is_ok());
        assert_eq!(a.role.label_zh(), "首席代表");
        let bad_id = json.replace("11010519491231002X", "110105194912310021");
        assert!(
            serde_json::from_str::<Agent>(&bad_id).is_err(),
            "check digit"
        );
        let unknown = json.replace("\"status\"", "\"salary\":1,\"status\"");
        assert!(serde_json::from_str::<Agent>(&unknown).is_err());
    }

    #[test]
    fn debug_never_prints_the_name_or_the_id_in_full() {
        let a = agent("王芳芳", "410402001001", "XH-001", AgentStatus::Active);
        let printed = format!("{a:?}");
        assert!(!printed.contains("王芳芳") && !printed.contains("11010519491231002X"));
    }

    #[test]
    fn bad_records_name_their_field() {
        let mut a = agent(" ", "410402001001", "XH-001", AgentStatus::Active);
        assert_eq!(a.validate().unwrap_err().field(), "name");
        a.name = PersonName::new("王芳");
        a.badge_no = String::new();
        assert_eq!(a.validate().unwrap_err().code(), "agent.empty_field");
        a.badge_no = "XH-001".into();
        a.training[0].half_hours = 0;
        assert_eq!(a.validate().unwrap_err().code(), "agent.training_hours");
        assert!(a.validate().unwrap_err().message_zh().contains("培训学时"));
        a.training[0].half_hours = 8;
        a.training[0].course = " ".into();
        assert_eq!(a.validate().unwrap_err().field(), "course");
    }

    #[test]
    fn badges_and_ids_are_unique_across_the_registry() {
        let a = agent("王芳", "410402001001", "XH-001", AgentStatus::Active);
        let mut b = agent("李娜", "410402001001", "XH-001", AgentStatus::Active);
        b.id_number = ResidentId::parse("110105194912310046").unwrap();
        assert_eq!(
            validate_registry(&[a.clone(), b.clone()]).unwrap_err(),
            (1, AgentError::DuplicateBadge("XH-001".into()))
        );
        b.badge_no = "XH-002".into();
        assert!(validate_registry(&[a.clone(), b.clone()]).is_ok());
        b.id_number = a.id_number.clone();
        assert_eq!(
            validate_registry(&[a, b]).unwrap_err(),
            (1, AgentError::DuplicateId)
        );
    }

    #[test]
    fn a_centre_with_fewer_than_two_active_agents_is_flagged() {
        let v1 = StationCode::parse("410402001001").unwrap();
        let v2 = StationCode::parse("410402001002").unwrap();
        let agents = vec![
            agent("王芳", "410402001001", "A1", AgentStatus::Active),
            agent("李娜", "410402001001", "A2", AgentStatus::Active),
            agent("张伟", "410402001002", "B1", AgentStatus::Active),
            agent("刘洋", "410402001002", "B2", AgentStatus::Left),
        ];
        assert_eq!(understaffed([&v1, &v2], &agents), vec![(v2, 1)]);
        assert_eq!(for_centre(&agents, v2).len(), 2);
        assert!(for_centre(&agents, v2).iter().all(|a| a.centre == v2));
        assert!(is_active_agent_of(&agents, v1, "王芳"));
        assert!(!is_active_agent_of(&agents, v2, "刘洋"), "left");
        assert!(!is_active_agent_of(&agents, v2, "王芳"), "another centre");
    }
}
