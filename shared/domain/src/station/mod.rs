//! Stations and their place in the district's tree: the [`Tier`] of a node and the 12-digit
//! statistical division code ([`StationCode`]) that names it.
//!
//! Owns the shape of the code (6 digits county + 3 town + 3 village) and the ancestry rules
//! derived from it. It must never hold the tree's data (names, validity periods): that is policy
//! data the district edits, shipped as a file, not code.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Bilingual;

/// Whether `code` is the first two digits of a Chinese province-level division (GB/T 2260).
///
/// Shared with the resident ID check in [`crate::ident`], whose address code uses the same list.
pub const fn is_province_code(code: u8) -> bool {
    matches!(
        code,
        11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82
    )
}

// ---------------------------------------------------------------------------------------------
// Tier
// ---------------------------------------------------------------------------------------------

/// The level of a node in the district's tree.
///
/// Ordered by height in the tree: `District > Town > Village`, so `tier >= Tier::Town` reads as
/// "at town level or above".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// The district (区县): the root, one per deployment.
    District,
    /// A town-level unit (乡镇街道): street office, town, township or management committee.
    Town,
    /// A village-level unit (村社区): community or village committee.
    Village,
}

impl Tier {
    /// Every tier, from the root down.
    pub const ALL: [Tier; 3] = [Tier::District, Tier::Town, Tier::Village];

    /// The stable lowercase name used on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tier::District => "district",
            Tier::Town => "town",
            Tier::Village => "village",
        }
    }

    /// The name shown to operators.
    pub const fn label_zh(self) -> &'static str {
        match self {
            Tier::District => "区县",
            Tier::Town => "乡镇街道",
            Tier::Village => "村社区",
        }
    }

    /// The tier directly above, or `None` for the district.
    pub const fn parent_tier(self) -> Option<Tier> {
        match self {
            Tier::District => None,
            Tier::Town => Some(Tier::District),
            Tier::Village => Some(Tier::Town),
        }
    }

    /// The tier directly below, or `None` for a village.
    pub const fn child_tier(self) -> Option<Tier> {
        match self {
            Tier::District => Some(Tier::Town),
            Tier::Town => Some(Tier::Village),
            Tier::Village => None,
        }
    }

    /// Height in the tree: village 0, town 1, district 2.
    const fn height(self) -> u8 {
        match self {
            Tier::District => 2,
            Tier::Town => 1,
            Tier::Village => 0,
        }
    }
}

impl PartialOrd for Tier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Tier {
    fn cmp(&self, other: &Self) -> Ordering {
        self.height().cmp(&other.height())
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = TierParseError;

    /// Accepts exactly the wire names `district`, `town`, `village`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| TierParseError {
                found: s.to_owned(),
            })
    }
}

/// A tier name that is not `district`, `town` or `village`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tier {found:?}: expected \"district\", \"town\" or \"village\"")]
pub struct TierParseError {
    /// The text that was given.
    pub found: String,
}

impl Bilingual for TierParseError {
    fn code(&self) -> &'static str {
        "tier.unknown"
    }

    fn message_zh(&self) -> String {
        format!(
            "未知的站点层级“{}”：应为 district（区县）、town（乡镇街道）或 village（村社区）",
            self.found.escape_debug()
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Town and village kinds
// ---------------------------------------------------------------------------------------------

/// The kind of a town-level unit, from the range its 3-digit town segment falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TownKind {
    /// 001–099: street office (街道).
    Street,
    /// 100–199: town (镇).
    Town,
    /// 200–399: township (乡).
    Township,
    /// 400–599: other unit, e.g. a management committee.
    Other,
}

impl TownKind {
    /// The kind for a town segment, or `None` outside the ranges above (including 000).
    pub const fn from_segment(segment: u16) -> Option<TownKind> {
        match segment {
            1..=99 => Some(TownKind::Street),
            100..=199 => Some(TownKind::Town),
            200..=399 => Some(TownKind::Township),
            400..=599 => Some(TownKind::Other),
            _ => None,
        }
    }

    /// The name shown to operators.
    pub const fn label_zh(self) -> &'static str {
        match self {
            TownKind::Street => "街道",
            TownKind::Town => "镇",
            TownKind::Township => "乡",
            TownKind::Other => "其他乡级单位",
        }
    }
}

/// The kind of a village-level unit, from the range its 3-digit village segment falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VillageKind {
    /// 001–199: residents' committee / community (居委会/社区).
    Community,
    /// 200–399: villagers' committee (村委会).
    Village,
}

impl VillageKind {
    /// The kind for a village segment, or `None` outside the ranges above (including 000).
    pub const fn from_segment(segment: u16) -> Option<VillageKind> {
        match segment {
            1..=199 => Some(VillageKind::Community),
            200..=399 => Some(VillageKind::Village),
            _ => None,
        }
    }

    /// The name shown to operators.
    pub const fn label_zh(self) -> &'static str {
        match self {
            VillageKind::Community => "社区",
            VillageKind::Village => "村",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// StationCode
// ---------------------------------------------------------------------------------------------

const CODE_LEN: usize = 12;
const TOWN_FACTOR: u64 = 1_000;
const COUNTY_FACTOR: u64 = 1_000_000;

/// A 12-digit statistical division code naming a district, town or village station,
/// e.g. `410402001000` (曙光街街道).
///
/// INVARIANT: the value has 12 digits, a valid province prefix, a county segment not ending in
/// `00`, and a non-zero town segment whenever the village segment is non-zero. Only
/// [`StationCode::parse`] (and the impls that call it) build one; the ancestry methods only zero
/// out trailing segments, which keeps the invariant.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StationCode(u64);

impl StationCode {
    /// Parses a 12-digit code. Nothing is trimmed: surrounding spaces are an error.
    pub fn parse(s: &str) -> Result<StationCode, StationCodeError> {
        let len = s.chars().count();
        if len != CODE_LEN {
            return Err(StationCodeError::Length { found: len });
        }
        let mut value: u64 = 0;
        for (i, c) in s.chars().enumerate() {
            // `to_digit(10)` accepts ASCII digits only, so full-width digits are refused too.
            let Some(d) = c.to_digit(10) else {
                return Err(StationCodeError::NonDigit {
                    position: i + 1,
                    found: c,
                });
            };
            value = value * 10 + u64::from(d);
        }

        // Both fit: the value is below 10^12, so province < 100 and county < 10^6.
        let province = u8::try_from(value / 10_000_000_000).unwrap_or(u8::MAX);
        if !is_province_code(province) {
            return Err(StationCodeError::UnknownProvince { province });
        }
        let county = u32::try_from(value / COUNTY_FACTOR).unwrap_or(u32::MAX);
        if county % 100 == 0 {
            return Err(StationCodeError::NotCountyLevel { county });
        }
        let code = StationCode(value);
        if code.town_segment() == 0 && code.village_segment() != 0 {
            return Err(StationCodeError::VillageWithoutTown {
                village: code.village_segment(),
            });
        }
        Ok(code)
    }

    /// The tier this code names: village if the village segment is non-zero, else town if the
    /// town segment is non-zero, else district.
    pub const fn tier(&self) -> Tier {
        if self.village_segment() != 0 {
            Tier::Village
        } else if self.town_segment() != 0 {
            Tier::Town
        } else {
            Tier::District
        }
    }

    /// The station directly above: village → its town, town → its district, district → `None`.
    pub fn parent(&self) -> Option<StationCode> {
        self.tier()
            .parent_tier()
            .and_then(|tier| self.ancestor_at(tier))
    }

    /// The district this code belongs to (itself for a district).
    pub const fn district(&self) -> StationCode {
        StationCode(self.0 / COUNTY_FACTOR * COUNTY_FACTOR)
    }

    /// The 6-digit county-level division code, e.g. `410402`.
    pub fn county_code(&self) -> String {
        format!("{:06}", self.0 / COUNTY_FACTOR)
    }

    /// The 3-digit town segment as a number (0 for a district).
    pub const fn town_segment(&self) -> u16 {
        // Always below 1000, so the cast is lossless.
        ((self.0 / TOWN_FACTOR) % 1_000) as u16
    }

    /// The 3-digit village segment as a number (0 for a district or town).
    pub const fn village_segment(&self) -> u16 {
        // Always below 1000, so the cast is lossless.
        (self.0 % 1_000) as u16
    }

    /// The ancestor at `tier`: itself if it is at that tier already, `None` if `tier` is below
    /// this code's tier.
    pub fn ancestor_at(&self, tier: Tier) -> Option<StationCode> {
        if tier < self.tier() {
            return None;
        }
        Some(match tier {
            Tier::District => self.district(),
            Tier::Town => StationCode(self.0 / TOWN_FACTOR * TOWN_FACTOR),
            Tier::Village => *self,
        })
    }

    /// Whether `self` is a strict ancestor of `other` (a district of its towns and villages, a
    /// town of its villages). A code is not its own ancestor.
    pub fn is_ancestor_of(&self, other: &StationCode) -> bool {
        self.tier() > other.tier() && other.ancestor_at(self.tier()) == Some(*self)
    }

    /// Whether `self` is `other` or one of its ancestors: the test for "may see this station's
    /// cases" in a tree where each node supervises its subtree.
    pub fn is_same_or_ancestor_of(&self, other: &StationCode) -> bool {
        self == other || self.is_ancestor_of(other)
    }

    /// The text every code of this station's subtree (itself and its descendants) starts with,
    /// and no other code: the 6-digit county part for a district, the 9-digit town part for a
    /// town, the whole code for a village. Stores match subtrees with it (`LIKE prefix || '%'`).
    pub fn subtree_prefix(&self) -> String {
        let code = self.as_string();
        let digits = match self.tier() {
            Tier::District => 6,
            Tier::Town => 9,
            Tier::Village => 12,
        };
        code[..digits].to_owned()
    }

    /// The kind of town-level unit, for a town or village code whose town segment is in a known
    /// range; `None` for a district or an unclassified segment.
    pub const fn town_kind(&self) -> Option<TownKind> {
        TownKind::from_segment(self.town_segment())
    }

    /// The kind of village-level unit, for a village code whose village segment is in a known
    /// range; `None` for a district, a town or an unclassified segment.
    pub const fn village_kind(&self) -> Option<VillageKind> {
        VillageKind::from_segment(self.village_segment())
    }

    /// The 12-digit form; the same as `to_string()`.
    pub fn as_string(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for StationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl fmt::Debug for StationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StationCode({self})")
    }
}

impl FromStr for StationCode {
    type Err = StationCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StationCode::parse(s)
    }
}

impl TryFrom<String> for StationCode {
    type Error = StationCodeError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        StationCode::parse(&s)
    }
}

impl TryFrom<&str> for StationCode {
    type Error = StationCodeError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        StationCode::parse(s)
    }
}

impl From<StationCode> for String {
    fn from(code: StationCode) -> String {
        code.to_string()
    }
}

#[cfg(feature = "openapi")]
string_schema!(
    StationCode,
    "站点代码：12位统计用区划代码。A station's 12-digit statistical division code.",
    Some("^[0-9]{12}$"),
    "410402001001"
);

impl Serialize for StationCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StationCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        StationCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a text is not a valid [`StationCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StationCodeError {
    /// Not exactly 12 characters.
    #[error("station code must be 12 digits, got {found}")]
    Length {
        /// Number of characters found.
        found: usize,
    },
    /// A character that is not an ASCII digit.
    #[error("station code must contain only digits 0-9, but character {position} is {found:?}")]
    NonDigit {
        /// 1-based position of the first offending character.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// The first two digits are not a province-level division.
    #[error("station code starts with {province:02}, which is not a Chinese province code")]
    UnknownProvince {
        /// The first two digits.
        province: u8,
    },
    /// The first six digits end in `00`: a prefecture or province, not a county-level district.
    #[error(
        "station code starts with {county:06}, a prefecture or province code; a district's county code does not end in 00"
    )]
    NotCountyLevel {
        /// The first six digits.
        county: u32,
    },
    /// A village segment under a `000` town segment.
    #[error(
        "station code has village segment {village:03} but town segment 000; a village must belong to a town"
    )]
    VillageWithoutTown {
        /// The last three digits.
        village: u16,
    },
}

impl Bilingual for StationCodeError {
    fn code(&self) -> &'static str {
        match self {
            StationCodeError::Length { .. } => "station_code.length",
            StationCodeError::NonDigit { .. } => "station_code.non_digit",
            StationCodeError::UnknownProvince { .. } => "station_code.unknown_province",
            StationCodeError::NotCountyLevel { .. } => "station_code.not_county_level",
            StationCodeError::VillageWithoutTown { .. } => "station_code.village_without_town",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            StationCodeError::Length { found } => {
                format!("站点代码应为12位数字，实际为 {found} 位")
            }
            StationCodeError::NonDigit { position, found } => format!(
                "站点代码只能包含数字 0-9，第 {position} 位是“{}”",
                found.escape_debug()
            ),
            StationCodeError::UnknownProvince { province } => {
                format!("站点代码前两位“{province:02}”不是有效的省级行政区划代码")
            }
            StationCodeError::NotCountyLevel { county } => format!(
                "站点代码前六位“{county:06}”是地市或省级代码，不是区县代码（区县代码不以 00 结尾）"
            ),
            StationCodeError::VillageWithoutTown { village } => format!(
                "站点代码的村（社区）段为 {village:03}，但乡镇（街道）段为 000：村（社区）必须隶属于某个乡镇（街道）"
            ),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
