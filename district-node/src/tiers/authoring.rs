//! Authoring the draft tree: the one place the pages and the JSON routes add, update, move and
//! retire a centre. Each change reads the draft (`Drafts::topology`), lets the domain
//! (`bangban_domain::topology::edit`, then `Topology::from_spec`) make and check the new tree,
//! and saves it with one audit line per centre touched (`Drafts::save`), or nothing at all.

use std::collections::BTreeMap;

use bangban_domain::Bilingual;
use bangban_domain::agent::MIN_ACTIVE_PER_CENTRE;
use bangban_domain::station::{StationCode, Tier};
use bangban_domain::topology::edit::{self, CentreFields, EditError};
use bangban_domain::topology::{CentreKind, StationInfo, Topology};
use time::Date;

use crate::drafts::{Change, DraftError, Drafts, Section};

/// Why a change of the tree was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum TierError {
    /// Bad input, shown beside its field; nothing saved.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// The new code of a move refused (its field is `new_code`).
    #[error(transparent)]
    NewCode(EditError),
    /// A date that does not read.
    #[error("{field}: the date must read YYYY-MM-DD")]
    BadDate { field: &'static str },
    /// A kind that is not one of ours.
    #[error("unknown kind")]
    BadKind,
    #[error(transparent)]
    Draft(#[from] DraftError),
}

impl TierError {
    /// The form field the refusal is shown beside (`""` when it is not about one field).
    pub fn field(&self) -> &'static str {
        match self {
            TierError::Edit(e) => e.field(),
            TierError::NewCode(_) => "new_code",
            TierError::BadDate { field } => field,
            TierError::BadKind => "kind",
            TierError::Draft(_) => "",
        }
    }

    /// A stable code for the JSON API.
    pub fn code(&self) -> &'static str {
        match self {
            TierError::Edit(e) | TierError::NewCode(e) => e.code(),
            TierError::BadDate { .. } => "tier.bad_date",
            TierError::BadKind => "tier.bad_kind",
            TierError::Draft(DraftError::Conflict { .. }) => "draft.conflict",
            TierError::Draft(_) => "internal",
        }
    }

    /// The message in Chinese and English.
    pub fn message(&self) -> (String, String) {
        match self {
            TierError::Edit(e) | TierError::NewCode(e) => (e.message_zh(), e.message_en()),
            TierError::BadDate { .. } => (
                "日期格式应为 年-月-日，例如 2026-12-31".to_owned(),
                "the date must read YYYY-MM-DD, e.g. 2026-12-31".to_owned(),
            ),
            TierError::BadKind => (
                "请选择类型：街道、镇、管委会、社区或村".to_owned(),
                "choose a kind: street, town, management committee, community or village"
                    .to_owned(),
            ),
            TierError::Draft(e) => e.message(),
        }
    }

    /// Our failure rather than the caller's input.
    pub fn is_internal(&self) -> bool {
        matches!(self, TierError::Draft(e) if !matches!(e, DraftError::Conflict { .. }))
    }
}

/// A date typed in `field`; blank means `default`.
pub fn parse_date(field: &'static str, text: &str, default: Date) -> Result<Date, TierError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(default);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).map_err(|_| TierError::BadDate { field })
}

/// A kind typed as its `as_str` name; blank means "as the code suggests".
pub fn parse_kind(text: &str) -> Result<Option<CentreKind>, TierError> {
    match text.trim() {
        "" => Ok(None),
        t => CentreKind::parse(t).map(Some).ok_or(TierError::BadKind),
    }
}

/// A code typed in `field`; blank means "give me the next free one".
fn optional_code(field: &'static str, text: &str) -> Result<Option<StationCode>, TierError> {
    match text.trim() {
        "" => Ok(None),
        t => Ok(Some(edit::parse_code(field, t)?)),
    }
}

/// A new centre as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct NewCentre {
    /// The district's code for a town-level unit, a town's for a village-level one.
    #[serde(default)]
    pub parent: String,
    /// Blank: the next code never used under the parent, in the kind's range.
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    /// `street`, `town`, `management_committee`, `community`, `village`; blank: from the code.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub contact: String,
    /// First day in use, `YYYY-MM-DD`; blank: today.
    #[serde(default)]
    pub valid_from: String,
}

/// A centre's details as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct CentreEdit {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub contact: String,
    /// The entry still stands in for unconfirmed data.
    #[serde(default)]
    pub placeholder: bool,
    /// The exact name is not confirmed.
    #[serde(default)]
    pub name_unconfirmed: bool,
}

fn fields(name: &str, kind: &str, address: &str, contact: &str) -> Result<CentreFields, TierError> {
    Ok(CentreFields {
        name: name.to_owned(),
        kind: parse_kind(kind)?,
        address: Some(address.to_owned()),
        contact: Some(contact.to_owned()),
    })
}

/// The change line of one centre: its entry before and after.
fn change(action: &'static str, code: StationCode, before: &Topology, after: &Topology) -> Change {
    Change::of(
        Section::Topology.as_str(),
        action,
        code.to_string(),
        edit::entry(before, code),
        edit::entry(after, code),
    )
}

/// The revision to save on: the one the page was read at, or the one just read.
fn on(revision: Option<i64>, read: i64) -> i64 {
    revision.unwrap_or(read)
}

/// Adds a centre. Returns its code.
pub async fn add(
    drafts: &Drafts,
    input: &NewCentre,
    revision: Option<i64>,
    actor: &str,
    today: Date,
) -> Result<StationCode, TierError> {
    let draft = drafts.topology().await?;
    let parent = edit::parse_code("parent", &input.parent)?;
    let code = optional_code("code", &input.code)?;
    let valid_from = parse_date("valid_from", &input.valid_from, today)?;
    let f = fields(&input.name, &input.kind, &input.address, &input.contact)?;
    let (next, code) = edit::add(&draft.doc, parent, code, &f, valid_from)?;
    let changes = [change("tier.add", code, &draft.doc, &next)];
    drafts
        .save(
            Section::Topology,
            &next,
            on(revision, draft.revision),
            actor,
            &changes,
        )
        .await?;
    Ok(code)
}

/// Renames a centre or changes its kind, address, contact or review marks.
pub async fn update(
    drafts: &Drafts,
    code: StationCode,
    input: &CentreEdit,
    revision: Option<i64>,
    actor: &str,
) -> Result<(), TierError> {
    let draft = drafts.topology().await?;
    let f = fields(&input.name, &input.kind, &input.address, &input.contact)?;
    let next = edit::update(
        &draft.doc,
        code,
        &f,
        input.placeholder,
        input.name_unconfirmed,
    )?;
    let changes = [change("tier.update", code, &draft.doc, &next)];
    drafts
        .save(
            Section::Topology,
            &next,
            on(revision, draft.revision),
            actor,
            &changes,
        )
        .await?;
    Ok(())
}

/// A move as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct MoveInput {
    /// The new parent town's code.
    #[serde(default)]
    pub parent: String,
    /// The new code under it; blank: the next free one.
    #[serde(default)]
    pub new_code: String,
    /// The old code's last day, `YYYY-MM-DD`; blank: today. The new code starts the next day.
    #[serde(default)]
    pub date: String,
}

/// Moves a village-level centre under another town: the old code ends on the given day (blank:
/// today), a new code (given, or the next free one) starts the next day. Returns the new code.
pub async fn move_centre(
    drafts: &Drafts,
    code: StationCode,
    input: &MoveInput,
    revision: Option<i64>,
    actor: &str,
    today: Date,
) -> Result<StationCode, TierError> {
    let draft = drafts.topology().await?;
    let parent = edit::parse_code("parent", &input.parent)?;
    let wanted = optional_code("new_code", &input.new_code)?;
    let last_day = parse_date("date", &input.date, today)?;
    let (next, new) =
        edit::move_centre(&draft.doc, code, parent, wanted, last_day).map_err(|e| match e {
            EditError::CodeTaken(_)
            | EditError::CodeOutsideParent { .. }
            | EditError::NoFreeCode(_) => TierError::NewCode(e),
            other => TierError::Edit(other),
        })?;
    let changes = [
        change("tier.move", code, &draft.doc, &next),
        change("tier.move", new, &draft.doc, &next),
    ];
    drafts
        .save(
            Section::Topology,
            &next,
            on(revision, draft.revision),
            actor,
            &changes,
        )
        .await?;
    Ok(new)
}

/// Retires a centre: `last_day` (blank: today) is its last day in use.
pub async fn retire(
    drafts: &Drafts,
    code: StationCode,
    last_day: &str,
    revision: Option<i64>,
    actor: &str,
    today: Date,
) -> Result<(), TierError> {
    let draft = drafts.topology().await?;
    let last_day = parse_date("date", last_day, today)?;
    let next = edit::retire(&draft.doc, code, last_day)?;
    let changes = [change("tier.retire", code, &draft.doc, &next)];
    drafts
        .save(
            Section::Topology,
            &next,
            on(revision, draft.revision),
            actor,
            &changes,
        )
        .await?;
    Ok(())
}

/// Where a centre stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CentreStatus {
    Active,
    /// Starts later (a move's new code, or a centre added for a later date).
    Planned,
    Retired,
}

/// One centre of the draft tree, with its active agents.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DraftCentre {
    #[schema(value_type = String, example = "410402001001")]
    pub code: StationCode,
    pub name: String,
    #[schema(value_type = String, example = "village")]
    pub tier: Tier,
    #[schema(value_type = Option<String>)]
    pub parent: Option<StationCode>,
    /// `street`, `town`, `management_committee`, `community` or `village`.
    pub kind: Option<&'static str>,
    pub address: Option<String>,
    pub contact: Option<String>,
    pub status: CentreStatus,
    pub valid_from: String,
    pub valid_until: Option<String>,
    #[schema(value_type = Option<String>)]
    pub predecessor: Option<StationCode>,
    #[schema(value_type = Option<String>)]
    pub successor: Option<StationCode>,
    pub placeholder: bool,
    pub name_unconfirmed: bool,
    /// Active agents in the registry.
    pub active_agents: usize,
    /// An active centre with fewer than two active agents.
    pub understaffed: bool,
}

pub fn status_of(info: &StationInfo, today: Date) -> CentreStatus {
    if info.valid_from > today {
        CentreStatus::Planned
    } else if info.is_active(today) {
        CentreStatus::Active
    } else {
        CentreStatus::Retired
    }
}

/// Every centre of the tree in code order (a town right before its villages), with its agents.
pub fn centres(
    tree: &Topology,
    counts: &BTreeMap<StationCode, usize>,
    today: Date,
) -> Vec<DraftCentre> {
    tree.stations()
        .map(|s| {
            let status = status_of(s, today);
            let active_agents = counts.get(&s.code).copied().unwrap_or(0);
            DraftCentre {
                code: s.code,
                name: s.name.clone(),
                tier: s.tier,
                parent: tree.parent_of(s.code),
                kind: s.kind.map(CentreKind::as_str),
                address: s.address.clone(),
                contact: s.contact.clone(),
                status,
                valid_from: s.valid_from.to_string(),
                valid_until: s.valid_until.map(|d| d.to_string()),
                predecessor: s.predecessor,
                successor: s.successor,
                placeholder: s.placeholder,
                name_unconfirmed: s.name_unconfirmed,
                active_agents,
                understaffed: status == CentreStatus::Active
                    && active_agents < MIN_ACTIVE_PER_CENTRE,
            }
        })
        .collect()
}
