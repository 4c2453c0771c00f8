//! Case summaries for inspection: what a parent learns of a case handled entirely below it,
//! without any personal data (no applicant, no delivery address, no agent's name or phone).
//!
//! The origin station folds a case's log into its state and writes the summary from it
//! ([`CaseSummary::from_state`]); summaries travel up the tree (`POST /v1/summaries`), each
//! relayed by the town, so that the district sees every case of every centre. A summary that
//! carries a personal-data key anywhere is refused before it is parsed
//! ([`personal_data_key`]), and a typed summary is checked for consistency
//! ([`CaseSummary::check`]).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::Bilingual;
use crate::agent::Agent;
use crate::calendar::{self, Deadline, WorkingCalendar, local_date, working_days_between};
use crate::case::{CaseState, Stage};
use crate::event::{
    CaseId, CaseNumber, CaseType, Channel, Outcome, Satisfaction, TerminationReason,
};
use crate::station::StationCode;

/// The most summaries one push carries.
pub const MAX_SUMMARY_BATCH: usize = 500;

/// The longest item code, item name or badge number a summary may carry.
const MAX_TEXT: usize = 200;
/// The most suspensions or evaluations a summary may list (a case holds at most its event
/// limit of them; this bounds what a peer can make the parent store).
const MAX_LIST: usize = 10_000;

/// Whether the case is a question answered or an application taken in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// 咨询
    Consultation,
    /// 申请
    Application,
}

/// How the centre served the applicant, once it is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// 帮办: the agent accompanied the applicant to the window.
    Assisted,
    /// 代办: a delegation agreement was signed and the agent acts for the applicant.
    Delegated,
}

/// One stop of the clock: from, and until (absent while it lasts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SuspensionSpan {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
}

/// A case as its origin station last folded it, with no personal data at all: enough for the
/// district's inspection (intake, completion, on-time rate, trips, notices, terminations,
/// escalations, proxy vs assisted, ratings and their follow-up, agents) for cases it does not
/// hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CaseSummary {
    pub case_id: CaseId,
    pub case_no: CaseNumber,
    /// 受理站点。The station where the applicant came; it writes the summary.
    pub origin: StationCode,
    /// 当前承办站点。The station that holds the case now.
    pub holder: StationCode,
    pub stage: Stage,
    pub channel: Channel,
    pub kind: CaseKind,
    /// 帮办 or 代办, once decided.
    #[serde(default)]
    pub service: Option<Service>,
    #[serde(default)]
    pub item_code: Option<String>,
    #[serde(default)]
    pub item_name: Option<String>,
    #[serde(default)]
    pub case_type: Option<CaseType>,
    /// The promised time limit in working days (0 for immediate items).
    #[serde(default)]
    pub promised_days: Option<u32>,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    /// When the materials were first found complete: the clock starts here.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub accepted_at: Option<OffsetDateTime>,
    /// The promised deadline (`YYYY-MM-DD`, China time) while the clock runs, by the origin's
    /// working calendar.
    #[serde(default, with = "iso_date_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub due_date: Option<Date>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// Whether the clock is stopped now.
    pub suspended: bool,
    /// Every stop of the clock (the deadline can be computed again from them).
    #[serde(default)]
    pub suspensions: Vec<SuspensionSpan>,
    /// Working days within the ended suspensions, by the origin's calendar.
    #[serde(default)]
    pub suspended_working_days: Option<u32>,
    /// 跑动次数。Trips the applicant made to a centre.
    pub visits: u32,
    pub home_visits: u32,
    pub one_time_notices: u32,
    pub escalations: u32,
    #[serde(default)]
    pub termination: Option<TerminationReason>,
    /// The result's outcome, once it is out.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// The ratings (好差评), oldest first; no comment.
    #[serde(default)]
    pub evaluations: Vec<Satisfaction>,
    /// Whether the bad rating was followed up (a note recorded after it); absent without a
    /// bad rating.
    #[serde(default)]
    pub bad_rating_followed_up: Option<bool>,
    /// The badge number of the agent of the delegation, from the district's registry, when the
    /// case has one and the registry names the agent.
    #[serde(default)]
    pub agent_badge: Option<String>,
    /// Events folded at the origin: a summary replaces one of a lower version only.
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub last_event_at: OffsetDateTime,
}

impl CaseSummary {
    /// The summary of `state`, without what needs the policy: the due date and suspended
    /// working days ([`CaseSummary::dated`]) and the agent's badge
    /// ([`CaseSummary::with_agent_from`]).
    pub fn from_state(state: &CaseState) -> CaseSummary {
        let service = if state.agent.is_some() || state.delivery.is_some() {
            Some(Service::Delegated)
        } else if state.assisted {
            Some(Service::Assisted)
        } else {
            None
        };
        let bad = state.evaluations.iter().any(|e| e.is_bad());
        let last_bad = state.evaluations.last().is_some_and(|e| e.is_bad());
        CaseSummary {
            case_id: state.case_id,
            case_no: state.case_no,
            origin: state.origin,
            holder: state.holder,
            stage: state.stage,
            channel: state.channel,
            kind: if state.applicant.is_some() {
                CaseKind::Application
            } else {
                CaseKind::Consultation
            },
            service,
            item_code: state.item.as_ref().map(|i| i.code.clone()),
            item_name: state.item.as_ref().map(|i| i.name.clone()),
            case_type: state.item.as_ref().map(|i| i.case_type),
            promised_days: state.item.as_ref().map(|i| i.promised_days),
            opened_at: state.opened_at,
            accepted_at: state.accepted_at,
            due_date: None,
            closed_at: state.closed_at,
            suspended: state.is_suspended(),
            suspensions: state
                .suspensions
                .iter()
                .map(|s| SuspensionSpan {
                    from: s.from,
                    until: s.until,
                })
                .collect(),
            suspended_working_days: None,
            visits: state.visits,
            home_visits: state.home_visits,
            one_time_notices: state.one_time_notices,
            escalations: state.escalations,
            termination: state.termination,
            outcome: state.outcome,
            evaluations: state.evaluations.clone(),
            // A later good rating settles an earlier bad one; the last bad one needs its note.
            bad_rating_followed_up: bad.then_some(!last_bad || state.followed_up),
            agent_badge: None,
            version: state.version,
            last_event_at: state.last_event_at,
        }
    }

    /// Adds the due date and the suspended working days by `cal` (the origin's calendar).
    pub fn dated(mut self, cal: &WorkingCalendar) -> CaseSummary {
        let spans: Vec<calendar::Suspension> = self
            .suspensions
            .iter()
            .map(|s| calendar::Suspension {
                from: s.from,
                until: s.until,
            })
            .collect();
        self.due_date = match (self.accepted_at, self.promised_days) {
            (Some(accepted), Some(days)) => match calendar::deadline(cal, accepted, days, &spans) {
                Ok(Deadline::Due { date, .. }) => Some(date),
                _ => None,
            },
            _ => None,
        };
        let days: i64 = self
            .suspensions
            .iter()
            .filter_map(|s| {
                let until = s.until?;
                Some(working_days_between(cal, local_date(s.from), local_date(until)).max(0))
            })
            .sum();
        self.suspended_working_days = Some(u32::try_from(days).unwrap_or(u32::MAX));
        self
    }

    /// Adds the badge of the delegation's agent, found in `agents` (the registry, or the
    /// centre's roster) by the name on the agreement at the origin centre. An active agent is
    /// preferred to one who has since left under the same name.
    pub fn with_agent_from(mut self, state: &CaseState, agents: &[Agent]) -> CaseSummary {
        self.agent_badge = state.agent.as_deref().and_then(|name| {
            let name = name.trim();
            let mut named = agents
                .iter()
                .filter(|a| a.centre == state.origin && a.name.as_str() == name);
            let first = named.clone().next();
            named
                .find(|a| a.is_active())
                .or(first)
                .map(|a| a.badge_no.clone())
        });
        self
    }

    /// Whether the case is open (not completed or terminated).
    pub fn is_open(&self) -> bool {
        self.stage.is_open()
    }

    /// Checks what typing alone cannot: the case number is the origin's, the holder is on the
    /// origin's chain, the version counts at least the opening event, and nothing is
    /// unreasonably long.
    pub fn check(&self) -> Result<(), SummaryError> {
        if self.case_no.station() != self.origin {
            return Err(SummaryError::CaseNumber {
                case_no: self.case_no,
                origin: self.origin,
            });
        }
        if !self.holder.is_same_or_ancestor_of(&self.origin) {
            return Err(SummaryError::Holder {
                holder: self.holder,
                origin: self.origin,
            });
        }
        if self.version == 0 || i64::try_from(self.version).is_err() {
            return Err(SummaryError::Version);
        }
        for (field, text) in [
            ("item_code", &self.item_code),
            ("item_name", &self.item_name),
            ("agent_badge", &self.agent_badge),
        ] {
            if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
                return Err(SummaryError::TooLong { field });
            }
        }
        if self.suspensions.len() > MAX_LIST {
            return Err(SummaryError::TooLong {
                field: "suspensions",
            });
        }
        if self.evaluations.len() > MAX_LIST {
            return Err(SummaryError::TooLong {
                field: "evaluations",
            });
        }
        Ok(())
    }
}

/// Why a typed summary is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SummaryError {
    #[error("case number {case_no} was not given by the origin {origin}")]
    CaseNumber {
        case_no: CaseNumber,
        origin: StationCode,
    },
    #[error("the holder {holder} is not on the path of the origin {origin}")]
    Holder {
        holder: StationCode,
        origin: StationCode,
    },
    #[error("the version must be at least 1")]
    Version,
    #[error("{field} is too long")]
    TooLong { field: &'static str },
}

impl Bilingual for SummaryError {
    fn code(&self) -> &'static str {
        match self {
            SummaryError::CaseNumber { .. } => "summary.case_number",
            SummaryError::Holder { .. } => "summary.holder",
            SummaryError::Version => "summary.version",
            SummaryError::TooLong { .. } => "summary.too_long",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            SummaryError::CaseNumber { case_no, origin } => {
                format!("办件编号 {case_no} 不是受理站点 {origin} 编发的")
            }
            SummaryError::Holder { holder, origin } => {
                format!("承办站点 {holder} 不在受理站点 {origin} 的上报链路上")
            }
            SummaryError::Version => "办件摘要的版本号至少为 1".to_owned(),
            SummaryError::TooLong { field } => format!("办件摘要的 {field} 过长"),
        }
    }
}

/// Keys that name personal data, compared without case, `_` or `-`: a key equal to one of these
/// or containing it is refused (`applicant_name`, `contactPhone`, `delivery` …).
const PERSONAL_TOKENS: &[&str] = &[
    "applicant",
    "idnumber",
    "idcard",
    "residentid",
    "creditcode",
    "phone",
    "mobile",
    "telephone",
    "address",
    "recipient",
    "delivery",
    "contact",
    "legalrepresentative",
    "receivedby",
    "email",
    "birth",
    "passport",
];

/// Keys ending in `name` that name no person.
const NAMES_OF_THINGS: &[&str] = &["itemname"];

/// Whether `key` names personal data: a name (`name`, `agent_name`; `item_name` is a thing's)
/// or a word of personal data (`applicant`, `phone`, `address`, `delivery`, `contact` …),
/// compared without case, `_` or `-`.
pub fn is_personal_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    (k.ends_with("name") && !NAMES_OF_THINGS.contains(&k.as_str()))
        || PERSONAL_TOKENS.iter().any(|t| k.contains(t))
}

/// The first personal-data key anywhere in `value` (objects and arrays, to any depth), as a
/// path such as `summaries[3].applicant`; `None` when there is none. Run on the raw JSON before
/// it is parsed, so that such a summary is refused as carrying personal data, whatever else is
/// wrong with it.
pub fn personal_data_key(value: &serde_json::Value) -> Option<String> {
    fn walk(value: &serde_json::Value, path: &mut String) -> Option<String> {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    if is_personal_key(key) {
                        return Some(path.clone());
                    }
                    if let Some(found) = walk(inner, path) {
                        return Some(found);
                    }
                    path.truncate(len);
                }
                None
            }
            serde_json::Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    if let Some(found) = walk(inner, path) {
                        return Some(found);
                    }
                    path.truncate(len);
                }
                None
            }
            _ => None,
        }
    }
    walk(value, &mut String::new())
}

/// `POST /v1/summaries`: summaries of cases in the caller's subtree, any order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SummaryBatch {
    pub summaries: Vec<CaseSummary>,
}

/// The answer to a summary push, sent only after the batch is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryOutcome {
    /// Summaries stored now (new, or newer than the one held).
    pub stored: u32,
    /// Summaries of a version already held or older (replays); nothing changed for them.
    pub unchanged: u32,
}

/// Serde helper: an optional [`Date`] as `"YYYY-MM-DD"` or null.
mod iso_date_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use time::Date;

    #[derive(Serialize, Deserialize)]
    #[serde(transparent)]
    struct Iso(#[serde(with = "crate::calendar::iso_date")] Date);

    pub fn serialize<S: Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
        date.map(Iso).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Date>, D::Error> {
        Ok(Option::<Iso>::deserialize(deserializer)?.map(|d| d.0))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
