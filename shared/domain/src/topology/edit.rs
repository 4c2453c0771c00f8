//! Authoring the tree: add, update, move and retire a centre. Each edit works on a valid
//! [`Topology`] and returns a new one built by [`Topology::from_spec`], so the tree's own checks
//! stay the one gate; the checks here come first only to name the form's field in the refusal.
//!
//! A station's parent is its code (the 12-digit statistical code names its town), so a centre
//! never changes parent in place: a move retires the old code on a date and opens a new code
//! under the new parent the next day, the two linked as predecessor and successor, as the
//! statistical division codes do. Codes are never reused, retired ones included.

use time::Date;

use super::{
    CentreKind, MAX_ADDRESS, MAX_CONTACT, MAX_NAME, StationSpec, Topology, TopologyError, field_zh,
};
use crate::Bilingual;
use crate::station::{StationCode, StationCodeError, Tier};

/// What an administrator types about a centre.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CentreFields {
    pub name: String,
    /// `None`: the kind the code's range suggests.
    pub kind: Option<CentreKind>,
    pub address: Option<String>,
    pub contact: Option<String>,
}

/// Why an edit was refused; [`EditError::field`] names the form field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("the code {text:?} is invalid: {error}")]
    BadCode {
        field: &'static str,
        text: String,
        error: StationCodeError,
    },
    #[error("no centre {0} is listed")]
    Unknown(StationCode),
    #[error("the parent {0} is not listed")]
    UnknownParent(StationCode),
    #[error("code {0} is already used (retired codes are never reused)")]
    CodeTaken(StationCode),
    #[error("code {code} does not belong under {parent}")]
    CodeOutsideParent {
        code: StationCode,
        parent: StationCode,
    },
    #[error("no free code is left under {0}")]
    NoFreeCode(StationCode),
    #[error("a centre cannot be placed under a village-level unit")]
    ParentIsVillage,
    #[error("a centre cannot be placed under itself or one of its own villages")]
    ParentInSubtree,
    #[error("the parent {0} is not in use on that date")]
    ParentRetired(StationCode),
    #[error("the centre is already under {0}")]
    SameParent(StationCode),
    #[error("a town-level unit belongs to the district only")]
    TownUnderTown,
    #[error("the district itself cannot be moved or retired")]
    IsDistrict,
    #[error("centre {0} is already retired")]
    AlreadyRetired(StationCode),
    #[error("the date {date} is before the centre's first day {valid_from}")]
    BeforeStart { date: Date, valid_from: Date },
    #[error(
        "{count} village-level units under it are still in use after that date: retire or move them first"
    )]
    ActiveChildren { count: usize },
    #[error("a {} is not a {}", kind.label_en(), tier)]
    KindMismatch { kind: CentreKind, tier: Tier },
    #[error("the {field} must not be empty")]
    Empty { field: &'static str },
    #[error("the {field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{0}")]
    Tree(TopologyError),
}

impl EditError {
    /// The form field the refusal is shown beside.
    pub fn field(&self) -> &'static str {
        match self {
            EditError::BadCode { field, .. } => field,
            EditError::Unknown(_) => "code",
            EditError::CodeTaken(_) | EditError::CodeOutsideParent { .. } => "code",
            EditError::NoFreeCode(_) => "code",
            EditError::UnknownParent(_)
            | EditError::ParentIsVillage
            | EditError::ParentInSubtree
            | EditError::ParentRetired(_)
            | EditError::SameParent(_)
            | EditError::TownUnderTown => "parent",
            EditError::IsDistrict
            | EditError::AlreadyRetired(_)
            | EditError::BeforeStart { .. }
            | EditError::ActiveChildren { .. } => "date",
            EditError::KindMismatch { .. } => "kind",
            EditError::Empty { field } | EditError::TooLong { field, .. } => field,
            EditError::Tree(e) => match e {
                TopologyError::KindMismatch { .. } => "kind",
                TopologyError::TooLong { field, .. } => field,
                TopologyError::EmptyName { .. } => "name",
                TopologyError::OutsideParentValidity { .. } => "date",
                _ => "code",
            },
        }
    }
}

impl Bilingual for EditError {
    fn code(&self) -> &'static str {
        match self {
            EditError::BadCode { .. } => "tier.bad_code",
            EditError::Unknown(_) => "tier.unknown",
            EditError::UnknownParent(_) => "tier.unknown_parent",
            EditError::CodeTaken(_) => "tier.code_taken",
            EditError::CodeOutsideParent { .. } => "tier.code_outside_parent",
            EditError::NoFreeCode(_) => "tier.no_free_code",
            EditError::ParentIsVillage => "tier.parent_is_village",
            EditError::ParentInSubtree => "tier.cycle",
            EditError::ParentRetired(_) => "tier.parent_retired",
            EditError::SameParent(_) => "tier.same_parent",
            EditError::TownUnderTown => "tier.town_under_town",
            EditError::IsDistrict => "tier.is_district",
            EditError::AlreadyRetired(_) => "tier.already_retired",
            EditError::BeforeStart { .. } => "tier.before_start",
            EditError::ActiveChildren { .. } => "tier.active_children",
            EditError::KindMismatch { .. } => "tier.kind_mismatch",
            EditError::Empty { .. } => "tier.empty",
            EditError::TooLong { .. } => "tier.too_long",
            EditError::Tree(e) => e.code(),
        }
    }

    fn message_zh(&self) -> String {
        match self {
            EditError::BadCode { text, error, .. } => format!(
                "代码“{}”无效：{}",
                text.chars().take(20).collect::<String>().escape_debug(),
                error.message_zh()
            ),
            EditError::Unknown(c) => format!("未找到中心 {c}"),
            EditError::UnknownParent(c) => format!("上级 {c} 不在中心设置中"),
            EditError::CodeTaken(c) => {
                format!("代码 {c} 已被使用（已撤销的代码也不能再次使用）")
            }
            EditError::CodeOutsideParent { code, parent } => {
                format!("代码 {code} 不属于所选上级 {parent}")
            }
            EditError::NoFreeCode(p) => format!("{p} 之下已无可用代码"),
            EditError::ParentIsVillage => "不能调整到村（社区）之下".to_owned(),
            EditError::ParentInSubtree => "不能调整到其自身或其下属村（社区）之下".to_owned(),
            EditError::ParentRetired(p) => format!("上级 {p} 在该日期不在用（已撤销或尚未启用）"),
            EditError::SameParent(p) => format!("该中心已隶属于 {p}"),
            EditError::TownUnderTown => "乡镇（街道）级单位只能隶属于区".to_owned(),
            EditError::IsDistrict => "区本级不能调整隶属或撤销".to_owned(),
            EditError::AlreadyRetired(c) => format!("中心 {c} 已撤销"),
            EditError::BeforeStart { date, valid_from } => {
                format!("日期 {date} 早于该中心的启用日期 {valid_from}")
            }
            EditError::ActiveChildren { count } => {
                format!("其下仍有 {count} 个村（社区）在该日期之后在用，请先撤销或调整隶属")
            }
            EditError::KindMismatch { kind, tier } => {
                format!("{}级单位的类型不能是“{}”", tier.label_zh(), kind.label_zh())
            }
            EditError::Empty { field } => format!("{}不能为空", field_zh(field)),
            EditError::TooLong { field, max } => {
                format!("{}不能超过 {max} 个字", field_zh(field))
            }
            EditError::Tree(e) => e.message_zh(),
        }
    }
}

/// Parses a code the administrator typed (trimmed), naming `field` when it is invalid.
pub fn parse_code(field: &'static str, text: &str) -> Result<StationCode, EditError> {
    let text = text.trim();
    StationCode::parse(text).map_err(|error| EditError::BadCode {
        field,
        text: text.to_owned(),
        error,
    })
}

fn clean(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Checks the typed fields for a centre at `code`'s tier; returns them trimmed, the kind filled
/// in from the code when none was chosen.
fn check_fields(code: StationCode, fields: &CentreFields) -> Result<CentreFields, EditError> {
    let name = fields.name.trim().to_owned();
    if name.is_empty() {
        return Err(EditError::Empty { field: "name" });
    }
    let (address, contact) = (
        clean(fields.address.as_ref()),
        clean(fields.contact.as_ref()),
    );
    for (field, value, max) in [
        ("name", Some(&name), MAX_NAME),
        ("address", address.as_ref(), MAX_ADDRESS),
        ("contact", contact.as_ref(), MAX_CONTACT),
    ] {
        if value.is_some_and(|v| v.chars().count() > max) {
            return Err(EditError::TooLong { field, max });
        }
    }
    let kind = fields.kind.or_else(|| CentreKind::from_code(code));
    if let Some(kind) = kind
        && kind.tier() != code.tier()
    {
        return Err(EditError::KindMismatch {
            kind,
            tier: code.tier(),
        });
    }
    Ok(CentreFields {
        name,
        kind,
        address,
        contact,
    })
}

fn rebuild(topology: &Topology, stations: Vec<StationSpec>) -> Result<Topology, EditError> {
    let mut spec = topology.spec().clone();
    spec.stations = stations;
    Topology::from_spec(&spec).map_err(EditError::Tree)
}

/// The parent a new or moved centre may go under on `on`: listed, not a village, in use.
fn check_parent(topology: &Topology, parent: StationCode, on: Date) -> Result<(), EditError> {
    let Some(info) = topology.get(parent) else {
        return Err(EditError::UnknownParent(parent));
    };
    if info.tier == Tier::Village {
        return Err(EditError::ParentIsVillage);
    }
    if !info.is_active(on) {
        return Err(EditError::ParentRetired(parent));
    }
    Ok(())
}

/// The first code under `parent` never used in the tree's history, in the range of `kind` when
/// given (communities 001–199, villages 200–399; streets 001–099, towns 100–399, others
/// 400–599).
pub fn next_free_code(
    topology: &Topology,
    parent: StationCode,
    kind: Option<CentreKind>,
) -> Option<StationCode> {
    let digits = parent.as_string();
    let (prefix, range) = match parent.tier() {
        Tier::District => (digits.get(..6)?.to_owned(), 1..=599u16),
        Tier::Town => (digits.get(..9)?.to_owned(), 1..=399u16),
        Tier::Village => return None,
    };
    let range = match kind {
        Some(CentreKind::Street) => 1..=99,
        Some(CentreKind::Town) => 100..=399,
        Some(CentreKind::ManagementCommittee) => 400..=599,
        Some(CentreKind::Community) => 1..=199,
        Some(CentreKind::Village) => 200..=399,
        None => range,
    };
    range
        .filter_map(|n| {
            let text = match parent.tier() {
                Tier::District => format!("{prefix}{n:03}000"),
                _ => format!("{prefix}{n:03}"),
            };
            StationCode::parse(&text).ok()
        })
        .find(|c| !topology.contains(*c))
}

/// The one code `code` is the given or the next free one under `parent`, checked.
fn new_code(
    topology: &Topology,
    parent: StationCode,
    code: Option<StationCode>,
    kind: Option<CentreKind>,
) -> Result<StationCode, EditError> {
    let code = match code {
        Some(c) => c,
        None => next_free_code(topology, parent, kind).ok_or(EditError::NoFreeCode(parent))?,
    };
    if code.parent() != Some(parent) {
        return Err(EditError::CodeOutsideParent { code, parent });
    }
    if topology.contains(code) {
        return Err(EditError::CodeTaken(code));
    }
    Ok(code)
}

/// Adds a centre under `parent` (the district for a town, a town for a village), in use from
/// `valid_from`. With no `code`, the first free one in the kind's range is given. Returns the
/// new tree and the new centre's code.
pub fn add(
    topology: &Topology,
    parent: StationCode,
    code: Option<StationCode>,
    fields: &CentreFields,
    valid_from: Date,
) -> Result<(Topology, StationCode), EditError> {
    check_parent(topology, parent, valid_from)?;
    let code = new_code(topology, parent, code, fields.kind)?;
    let fields = check_fields(code, fields)?;
    let mut stations = topology.spec().stations.clone();
    stations.push(StationSpec {
        code: code.to_string(),
        name: fields.name,
        placeholder: false,
        name_unconfirmed: false,
        valid_from,
        valid_until: None,
        note: None,
        kind: fields.kind,
        address: fields.address,
        contact: fields.contact,
        predecessor: None,
        successor: None,
    });
    Ok((rebuild(topology, stations)?, code))
}

fn index_of(topology: &Topology, code: StationCode) -> Result<usize, EditError> {
    if code == topology.district() {
        return Err(EditError::IsDistrict);
    }
    topology
        .spec()
        .stations
        .iter()
        .position(|s| StationCode::parse(&s.code).ok() == Some(code))
        .ok_or(EditError::Unknown(code))
}

/// Renames a centre or changes its kind, address, contact or review marks.
pub fn update(
    topology: &Topology,
    code: StationCode,
    fields: &CentreFields,
    placeholder: bool,
    name_unconfirmed: bool,
) -> Result<Topology, EditError> {
    let i = index_of(topology, code)?;
    let fields = check_fields(code, fields)?;
    let mut stations = topology.spec().stations.clone();
    let entry = &mut stations[i];
    entry.name = fields.name;
    entry.kind = fields.kind;
    entry.address = fields.address;
    entry.contact = fields.contact;
    entry.placeholder = placeholder;
    entry.name_unconfirmed = name_unconfirmed;
    rebuild(topology, stations)
}

/// Whether `code` is in use at some point after `day`.
fn used_after(topology: &Topology, code: StationCode, day: Date) -> bool {
    topology
        .get(code)
        .is_some_and(|s| s.valid_until.is_none_or(|until| until > day))
}

/// Retires a centre: `last_day` is its last day in use. Refused for the district, a retired
/// centre, a date before it started, and a town whose villages are still in use after it.
pub fn retire(
    topology: &Topology,
    code: StationCode,
    last_day: Date,
) -> Result<Topology, EditError> {
    let i = index_of(topology, code)?;
    let info = topology.get(code).ok_or(EditError::Unknown(code))?;
    if info.valid_until.is_some() {
        return Err(EditError::AlreadyRetired(code));
    }
    if last_day < info.valid_from {
        return Err(EditError::BeforeStart {
            date: last_day,
            valid_from: info.valid_from,
        });
    }
    let count = topology
        .children_of(code)
        .into_iter()
        .filter(|c| used_after(topology, *c, last_day))
        .count();
    if count > 0 {
        return Err(EditError::ActiveChildren { count });
    }
    let mut stations = topology.spec().stations.clone();
    stations[i].valid_until = Some(last_day);
    rebuild(topology, stations)
}

/// Moves a village-level centre under another town: its code is retired on `last_day` and a new
/// code under `new_parent` (given, or the next free one) is in use from the next day, with the
/// same name, kind, address and contact, the two linked. Returns the new tree and the new code.
///
/// Refused: the district; a parent that is a village, the centre itself or one of its own
/// villages (a cycle), its present parent, a parent not in use on the new code's first day; a
/// town moved under a town (a town-level unit belongs to the district only); a retired centre.
pub fn move_centre(
    topology: &Topology,
    code: StationCode,
    new_parent: StationCode,
    new_code_wanted: Option<StationCode>,
    last_day: Date,
) -> Result<(Topology, StationCode), EditError> {
    let i = index_of(topology, code)?;
    let info = topology.get(code).ok_or(EditError::Unknown(code))?.clone();
    if code.is_same_or_ancestor_of(&new_parent) {
        return Err(EditError::ParentInSubtree);
    }
    let Some(parent_info) = topology.get(new_parent) else {
        return Err(EditError::UnknownParent(new_parent));
    };
    if parent_info.tier == Tier::Village {
        return Err(EditError::ParentIsVillage);
    }
    if code.parent() == Some(new_parent) {
        return Err(EditError::SameParent(new_parent));
    }
    if info.tier == Tier::Town {
        return Err(EditError::TownUnderTown);
    }
    if info.valid_until.is_some() {
        return Err(EditError::AlreadyRetired(code));
    }
    if last_day < info.valid_from {
        return Err(EditError::BeforeStart {
            date: last_day,
            valid_from: info.valid_from,
        });
    }
    let first_day = last_day.next_day().ok_or(EditError::BeforeStart {
        date: last_day,
        valid_from: info.valid_from,
    })?;
    check_parent(topology, new_parent, first_day)?;
    let new = new_code(topology, new_parent, new_code_wanted, info.kind)?;
    let mut stations = topology.spec().stations.clone();
    let old = stations[i].clone();
    stations[i].valid_until = Some(last_day);
    stations[i].successor = Some(new.to_string());
    stations.push(StationSpec {
        code: new.to_string(),
        name: old.name,
        placeholder: old.placeholder,
        name_unconfirmed: old.name_unconfirmed,
        valid_from: first_day,
        valid_until: None,
        note: None,
        kind: old.kind,
        address: old.address,
        contact: old.contact,
        predecessor: Some(code.to_string()),
        successor: None,
    });
    Ok((rebuild(topology, stations)?, new))
}

/// The entry of `code` as the data file has it (the district excluded).
pub fn entry(topology: &Topology, code: StationCode) -> Option<&StationSpec> {
    topology
        .spec()
        .stations
        .iter()
        .find(|s| StationCode::parse(&s.code).ok() == Some(code))
}

#[cfg(test)]
mod tests;
