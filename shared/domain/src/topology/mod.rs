//! The district's tree (topology): which stations exist, what they are called, who is whose
//! parent, and when each division code is valid.
//!
//! Owns loading and validating the tree from policy data (`deploy/topology/xinhua.json`) and the
//! queries the nodes ask of it ("is this caller my direct child?"). It must never read the file
//! or look at the clock: callers pass the text in and the date to judge validity on.
//!
//! # The data file
//!
//! ```json
//! {
//!   "district": {"code": "410402000000", "name": "新华区",
//!                "valid_from": "2022-01-01", "valid_until": null},
//!   "source": "where the data comes from, shown to supervisors",
//!   "stations": [
//!     {"code": "410402001000", "name": "曙光街街道", "placeholder": false,
//!      "valid_from": "2022-01-01", "valid_until": null},
//!     {"code": "410402400000", "name": "香山街道筹备组", "placeholder": false,
//!      "name_unconfirmed": true, "valid_from": "2022-01-01", "valid_until": null,
//!      "note": "…"},
//!     …
//!   ]
//! }
//! ```
//!
//! * `district` is the root; `stations` lists every town and village (not the district), in any
//!   order. Unknown fields are refused, so a typo never silently drops a setting.
//! * `placeholder` (required) marks an entry whose code, name or place in the tree is not
//!   confirmed by a primary source: the district must replace it. `name_unconfirmed` (optional,
//!   default `false`) marks an entry whose code is confirmed but whose exact name is not.
//!   `note` (optional) is free text on where an entry comes from.
//! * `valid_from` and `valid_until` are `"YYYY-MM-DD"`, both **inclusive**; `valid_until` may be
//!   `null` or absent for a code still in use. Division codes get retired: a retired code stays
//!   listed with its `valid_until`, so old cases still resolve to a name.
//! * `kind` (optional: `street`, `town`, `management_committee` for a town-level unit;
//!   `community`, `village` for a village-level one), `address` and `contact` (optional text)
//!   describe the centre.
//! * `predecessor` / `successor` (optional codes) link the two codes of a centre that moved to
//!   another town: the old code ends the day before the new one starts ([`edit::move_centre`]).
//!
//! # What a valid tree guarantees
//!
//! Every code is a valid [`StationCode`] inside the district's county; no code appears twice;
//! every village's town is listed (a town's parent is always the district); names are not
//! blank; each validity period is non-empty and lies within its parent's, so a station that is
//! active on a date always has an active parent on that date.

mod errors;

pub use errors::*;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::Bilingual;
use crate::calendar::iso_date;
use crate::station::{StationCode, StationCodeError, Tier};

// ---------------------------------------------------------------------------------------------
// Policy data, shaped like the file
// ---------------------------------------------------------------------------------------------

/// The district's tree as edited by the district: the shape of `deploy/topology/*.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologySpec {
    /// The root of the tree.
    pub district: DistrictSpec,
    /// Where the data comes from (statistical code edition, local notices), shown to supervisors.
    pub source: String,
    /// Every town and village, in any order. The district itself is not repeated here.
    pub stations: Vec<StationSpec>,
}

/// The district at the root of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictSpec {
    /// The 12-digit code, e.g. `410402000000`. Kept as text so that a bad code is reported with
    /// the offending text rather than as a bare parse error.
    pub code: String,
    /// The official name, e.g. `新华区`.
    pub name: String,
    /// First day the code is valid, inclusive.
    #[serde(with = "iso_date")]
    pub valid_from: Date,
    /// Last day the code is valid, inclusive; `None` while it is in use.
    #[serde(default, with = "iso_date_opt")]
    pub valid_until: Option<Date>,
}

/// One town or village.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationSpec {
    /// The 12-digit code, e.g. `410402001000`.
    pub code: String,
    /// The official name, e.g. `曙光街街道`.
    pub name: String,
    /// The entry stands in for data not confirmed by a primary source (code, name or parent).
    pub placeholder: bool,
    /// The code is confirmed but the exact name is not.
    #[serde(default, skip_serializing_if = "is_false")]
    pub name_unconfirmed: bool,
    /// First day the code is valid, inclusive.
    #[serde(with = "iso_date")]
    pub valid_from: Date,
    /// Last day the code is valid, inclusive; `None` while it is in use.
    #[serde(default, with = "iso_date_opt")]
    pub valid_until: Option<Date>,
    /// Free text on where the entry comes from; not interpreted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What kind of unit it is (street, town, management committee; community, village).
    /// Optional so that files written before it existed still read; it must fit the tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CentreKind>,
    /// The centre's address, at most [`MAX_ADDRESS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// How to reach the centre (a telephone number or a person), at most [`MAX_CONTACT`]
    /// characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The code this entry replaced when its centre moved to another parent (see
    /// [`edit::move_centre`]): that code ends the day before this one starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predecessor: Option<String>,
    /// The code that replaced this one when its centre moved to another parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successor: Option<String>,
}

/// The longest name of a centre, in characters.
pub const MAX_NAME: usize = 50;
/// The longest address of a centre, in characters.
pub const MAX_ADDRESS: usize = 100;
/// The longest contact of a centre, in characters.
pub const MAX_CONTACT: usize = 50;

/// The kind of a town- or village-level unit, as the district records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CentreKind {
    /// 街道
    Street,
    /// 镇（乡）
    Town,
    /// 管委会 (a management committee standing for a town-level unit)
    ManagementCommittee,
    /// 社区
    Community,
    /// 村
    Village,
}

impl CentreKind {
    pub const ALL: [CentreKind; 5] = [
        CentreKind::Street,
        CentreKind::Town,
        CentreKind::ManagementCommittee,
        CentreKind::Community,
        CentreKind::Village,
    ];

    /// The tier a unit of this kind sits at.
    pub const fn tier(self) -> Tier {
        match self {
            CentreKind::Street | CentreKind::Town | CentreKind::ManagementCommittee => Tier::Town,
            CentreKind::Community | CentreKind::Village => Tier::Village,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            CentreKind::Street => "street",
            CentreKind::Town => "town",
            CentreKind::ManagementCommittee => "management_committee",
            CentreKind::Community => "community",
            CentreKind::Village => "village",
        }
    }

    pub fn parse(s: &str) -> Option<CentreKind> {
        CentreKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub const fn label_zh(self) -> &'static str {
        match self {
            CentreKind::Street => "街道",
            CentreKind::Town => "镇",
            CentreKind::ManagementCommittee => "管委会",
            CentreKind::Community => "社区",
            CentreKind::Village => "村",
        }
    }

    pub const fn label_en(self) -> &'static str {
        match self {
            CentreKind::Street => "street",
            CentreKind::Town => "town",
            CentreKind::ManagementCommittee => "management committee",
            CentreKind::Community => "community",
            CentreKind::Village => "village",
        }
    }

    /// The kind the statistical code's segment suggests (when the data names none).
    pub fn from_code(code: StationCode) -> Option<CentreKind> {
        use crate::station::{TownKind, VillageKind};
        let digits = code.as_string();
        let segment = |range: std::ops::Range<usize>| {
            digits
                .get(range)
                .and_then(|s| s.parse::<u16>().ok())
                .unwrap_or(0)
        };
        match code.tier() {
            Tier::District => None,
            Tier::Town => TownKind::from_segment(segment(6..9)).map(|k| match k {
                TownKind::Street => CentreKind::Street,
                TownKind::Town | TownKind::Township => CentreKind::Town,
                TownKind::Other => CentreKind::ManagementCommittee,
            }),
            Tier::Village => VillageKind::from_segment(segment(9..12)).map(|k| match k {
                VillageKind::Community => CentreKind::Community,
                VillageKind::Village => CentreKind::Village,
            }),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Serde helper: an optional [`Date`] as `"YYYY-MM-DD"` or `null`.
pub(crate) mod iso_date_opt {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use time::Date;

    #[derive(Serialize, Deserialize)]
    #[serde(transparent)]
    struct IsoDate(#[serde(with = "crate::calendar::iso_date")] Date);

    pub fn serialize<S: Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
        date.map(IsoDate).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Date>, D::Error> {
        Ok(Option::<IsoDate>::deserialize(deserializer)?.map(|d| d.0))
    }
}

// ---------------------------------------------------------------------------------------------
// The tree
// ---------------------------------------------------------------------------------------------

/// One station of the tree, as the nodes see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StationInfo {
    /// The station's code.
    pub code: StationCode,
    /// The official name (or the placeholder's stand-in name).
    pub name: String,
    /// The tier its code names.
    pub tier: Tier,
    /// The entry stands in for unconfirmed data.
    pub placeholder: bool,
    /// The code is confirmed but the exact name is not.
    pub name_unconfirmed: bool,
    /// First day the code is valid, inclusive.
    #[serde(with = "iso_date")]
    pub valid_from: Date,
    /// Last day the code is valid, inclusive; `None` while it is in use.
    #[serde(with = "iso_date_opt")]
    pub valid_until: Option<Date>,
    /// The kind of unit, when recorded (never for the district).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<CentreKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The code this one replaced when the centre moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predecessor: Option<StationCode>,
    /// The code that replaced this one when the centre moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successor: Option<StationCode>,
}

impl StationInfo {
    /// Whether the code is valid on `on` (both ends inclusive).
    pub fn is_active(&self, on: Date) -> bool {
        self.valid_from <= on && self.valid_until.is_none_or(|until| on <= until)
    }

    /// Whether an operator should check this entry: a placeholder or an unconfirmed name.
    pub fn needs_review(&self) -> bool {
        self.placeholder || self.name_unconfirmed
    }

    /// Whether this period lies within `parent`'s.
    fn within(&self, parent: &StationInfo) -> bool {
        let ends_in_time = match (self.valid_until, parent.valid_until) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(child), Some(parent)) => child <= parent,
        };
        parent.valid_from <= self.valid_from && ends_in_time
    }
}

/// A validated district tree. Build it with [`Topology::from_json`] or [`Topology::from_spec`]
/// (or deserialise it: the JSON shape is [`TopologySpec`], validated on the way in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TopologySpec", into = "TopologySpec")]
pub struct Topology {
    spec: TopologySpec,
    district: StationCode,
    // INVARIANT: holds the district and every listed station, keyed by code; every entry but
    // the district has its parent as an entry, and its validity period lies within its parent's.
    stations: BTreeMap<StationCode, StationInfo>,
}

fn parse_code(text: &str) -> Result<StationCode, TopologyError> {
    StationCode::parse(text).map_err(|error| TopologyError::InvalidCode {
        code: text.to_owned(),
        error,
    })
}

fn check_entry(
    code: StationCode,
    name: &str,
    valid_from: Date,
    valid_until: Option<Date>,
) -> Result<(), TopologyError> {
    if name.trim().is_empty() {
        return Err(TopologyError::EmptyName { code });
    }
    if let Some(until) = valid_until
        && until < valid_from
    {
        return Err(TopologyError::InvertedValidity {
            code,
            valid_from,
            valid_until: until,
        });
    }
    Ok(())
}

/// The kind fits the tier; the texts are not too long.
fn check_details(code: StationCode, entry: &StationSpec) -> Result<(), TopologyError> {
    if let Some(kind) = entry.kind
        && kind.tier() != code.tier()
    {
        return Err(TopologyError::KindMismatch {
            code,
            tier: code.tier(),
            kind,
        });
    }
    for (field, value, max) in [
        ("name", Some(&entry.name), MAX_NAME),
        ("address", entry.address.as_ref(), MAX_ADDRESS),
        ("contact", entry.contact.as_ref(), MAX_CONTACT),
    ] {
        if value.is_some_and(|v| v.chars().count() > max) {
            return Err(TopologyError::TooLong { code, field, max });
        }
    }
    Ok(())
}

/// `old` was replaced by `new`: both listed, same tier, naming each other, old ends the day
/// before new starts.
fn check_link(
    stations: &BTreeMap<StationCode, StationInfo>,
    old: &StationInfo,
    new: StationCode,
) -> Result<(), TopologyError> {
    let Some(next) = stations.get(&new) else {
        return Err(TopologyError::LinkUnknown {
            code: old.code,
            other: new.to_string(),
        });
    };
    if next.code == old.code
        || next.tier != old.tier
        || next.predecessor != Some(old.code)
        || old.successor != Some(next.code)
    {
        return Err(TopologyError::LinkMismatch {
            code: old.code,
            other: next.code,
        });
    }
    if old.valid_until.and_then(Date::next_day) != Some(next.valid_from) {
        return Err(TopologyError::LinkDates {
            code: old.code,
            other: next.code,
        });
    }
    Ok(())
}

impl Topology {
    /// Parses and validates the tree's JSON (see the module docs for the shape).
    pub fn from_json(json: &str) -> Result<Self, TopologyError> {
        let spec: TopologySpec = serde_json::from_str(json).map_err(|e| TopologyError::Parse {
            detail: e.to_string(),
        })?;
        Self::from_spec(&spec)
    }

    /// Validates the policy data and builds the tree.
    ///
    /// Refuses, naming the code: a code that does not parse; a root that is not district-tier;
    /// a station outside the district's county; a code listed twice; a village whose town is not
    /// listed; a validity period that ends before it starts or reaches outside its parent's; an
    /// empty name.
    pub fn from_spec(spec: &TopologySpec) -> Result<Self, TopologyError> {
        let root = &spec.district;
        let district = parse_code(&root.code)?;
        if district.tier() != Tier::District {
            return Err(TopologyError::NotADistrict {
                code: district,
                tier: district.tier(),
            });
        }
        check_entry(district, &root.name, root.valid_from, root.valid_until)?;

        let mut stations = BTreeMap::new();
        stations.insert(
            district,
            StationInfo {
                code: district,
                name: root.name.clone(),
                tier: Tier::District,
                placeholder: false,
                name_unconfirmed: false,
                valid_from: root.valid_from,
                valid_until: root.valid_until,
                kind: None,
                address: None,
                contact: None,
                predecessor: None,
                successor: None,
            },
        );

        for entry in &spec.stations {
            let code = parse_code(&entry.code)?;
            if code.district() != district {
                return Err(TopologyError::OutsideDistrict { code, district });
            }
            // A station repeating the district's own code lands here too.
            if stations.contains_key(&code) {
                return Err(TopologyError::Duplicate { code });
            }
            check_entry(code, &entry.name, entry.valid_from, entry.valid_until)?;
            check_details(code, entry)?;
            let link = |text: &Option<String>| -> Result<Option<StationCode>, TopologyError> {
                text.as_deref()
                    .map(|t| {
                        StationCode::parse(t).map_err(|_| TopologyError::LinkUnknown {
                            code,
                            other: t.to_owned(),
                        })
                    })
                    .transpose()
            };
            let (predecessor, successor) = (link(&entry.predecessor)?, link(&entry.successor)?);
            stations.insert(
                code,
                StationInfo {
                    code,
                    name: entry.name.clone(),
                    tier: code.tier(),
                    placeholder: entry.placeholder,
                    name_unconfirmed: entry.name_unconfirmed,
                    valid_from: entry.valid_from,
                    valid_until: entry.valid_until,
                    kind: entry.kind,
                    address: entry.address.clone(),
                    contact: entry.contact.clone(),
                    predecessor,
                    successor,
                },
            );
        }

        // Parents are checked once everything is in, so the file may list a village before its
        // town. Reported in code order, so the same data always gives the same error.
        for info in stations.values() {
            let Some(parent) = info.code.parent() else {
                continue;
            };
            // Same county and one tier up: a town's parent is always the district.
            let Some(parent_info) = stations.get(&parent) else {
                return Err(TopologyError::MissingParent {
                    code: info.code,
                    parent,
                });
            };
            if !info.within(parent_info) {
                return Err(TopologyError::OutsideParentValidity {
                    code: info.code,
                    parent,
                });
            }
        }

        // Moves: each link names a listed code of the same tier that links back, and the old
        // code ends the day before the new one starts.
        for info in stations.values() {
            if let Some(next) = info.successor {
                check_link(&stations, info, next)?;
            }
            if let Some(prev) = info.predecessor {
                let Some(old) = stations.get(&prev) else {
                    return Err(TopologyError::LinkUnknown {
                        code: info.code,
                        other: prev.to_string(),
                    });
                };
                check_link(&stations, old, info.code)?;
            }
        }

        Ok(Self {
            spec: spec.clone(),
            district,
            stations,
        })
    }

    /// The policy data this tree was built from.
    pub fn spec(&self) -> &TopologySpec {
        &self.spec
    }

    /// Where the data comes from, as written in the file.
    pub fn source(&self) -> &str {
        &self.spec.source
    }

    /// The root's code.
    pub fn district(&self) -> StationCode {
        self.district
    }

    /// The station listed under `code`, if any (the district included).
    pub fn get(&self, code: StationCode) -> Option<&StationInfo> {
        self.stations.get(&code)
    }

    /// Whether `code` is listed (whatever its validity).
    pub fn contains(&self, code: StationCode) -> bool {
        self.stations.contains_key(&code)
    }

    /// The parent of a listed station; `None` for the district or an unlisted code.
    pub fn parent_of(&self, code: StationCode) -> Option<StationCode> {
        // INVARIANT (from_spec): the parent of a listed code is listed.
        self.get(code).and_then(|info| info.code.parent())
    }

    /// The listed direct children of `code`, sorted by code; empty for a village or an unlisted
    /// code. Retired children are included: filter with [`Topology::is_active`] if needed.
    pub fn children_of(&self, code: StationCode) -> Vec<StationCode> {
        if !self.contains(code) {
            return Vec::new();
        }
        self.stations
            .keys()
            .copied()
            .filter(|c| c.parent() == Some(code))
            .collect()
    }

    /// Whether both codes are listed and `child`'s parent is `parent`: the test for "may this
    /// caller make inter-node calls to me". Not true for a grandchild, a sibling or itself.
    pub fn is_direct_child(&self, parent: StationCode, child: StationCode) -> bool {
        self.contains(parent) && self.contains(child) && child.parent() == Some(parent)
    }

    /// Whether `code` is listed and valid on `on` (both ends of its period inclusive). The
    /// caller passes the date (local China date, see [`crate::calendar::local_date`]).
    pub fn is_active(&self, code: StationCode, on: Date) -> bool {
        self.get(code).is_some_and(|info| info.is_active(on))
    }

    /// Every listed station, the district first, in code order.
    pub fn stations(&self) -> impl Iterator<Item = &StationInfo> {
        self.stations.values()
    }

    /// The listed towns (town-level units), in code order.
    pub fn towns(&self) -> impl Iterator<Item = &StationInfo> {
        self.stations().filter(|info| info.tier == Tier::Town)
    }

    /// The listed villages and communities, in code order.
    pub fn villages(&self) -> impl Iterator<Item = &StationInfo> {
        self.stations().filter(|info| info.tier == Tier::Village)
    }

    /// `code` and every listed descendant, sorted by code (so `code` comes first); empty for an
    /// unlisted code.
    pub fn subtree(&self, code: StationCode) -> Vec<StationCode> {
        if !self.contains(code) {
            return Vec::new();
        }
        self.stations
            .keys()
            .copied()
            .filter(|c| code.is_same_or_ancestor_of(c))
            .collect()
    }

    /// How many stations are listed, the district included.
    pub fn len(&self) -> usize {
        self.stations.len()
    }

    /// Always `false`: a tree has at least its district.
    pub fn is_empty(&self) -> bool {
        self.stations.is_empty()
    }

    /// How many entries are placeholders the district still has to confirm.
    pub fn placeholders(&self) -> usize {
        self.stations().filter(|info| info.placeholder).count()
    }

    /// The entries an operator should check: placeholders and unconfirmed names, in code order.
    pub fn needing_review(&self) -> impl Iterator<Item = &StationInfo> {
        self.stations().filter(|info| info.needs_review())
    }
}

impl TryFrom<TopologySpec> for Topology {
    type Error = TopologyError;

    fn try_from(spec: TopologySpec) -> Result<Self, Self::Error> {
        Self::from_spec(&spec)
    }
}

impl From<Topology> for TopologySpec {
    fn from(topology: Topology) -> Self {
        topology.spec
    }
}

pub mod edit;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
