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
mod tests {

    #[test]
    fn the_subtree_prefix_matches_exactly_the_subtree() {
        let codes: Vec<StationCode> = [
            "410402000000",
            "410402001000",
            "410402001001",
            "410402001010",
            "410402002000",
            "410402002001",
            "410402100200",
            "410403001001",
        ]
        .iter()
        .map(|c| StationCode::parse(c).unwrap())
        .collect();
        for a in &codes {
            for b in &codes {
                assert_eq!(
                    b.as_string().starts_with(&a.subtree_prefix()),
                    a.is_same_or_ancestor_of(b),
                    "{a} over {b}"
                );
            }
        }
    }
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> StationCode {
        StationCode::parse(s).unwrap()
    }

    // --- Tier -----------------------------------------------------------------------------

    #[test]
    fn tiers_are_ordered_by_height() {
        assert!(Tier::District > Tier::Town);
        assert!(Tier::Town > Tier::Village);
        assert!(Tier::District > Tier::Village);
        assert_eq!(Tier::ALL.iter().max(), Some(&Tier::District));
    }

    #[test]
    fn tier_parent_and_child_chain() {
        assert_eq!(Tier::Village.parent_tier(), Some(Tier::Town));
        assert_eq!(Tier::Town.parent_tier(), Some(Tier::District));
        assert_eq!(Tier::District.parent_tier(), None);
        assert_eq!(Tier::District.child_tier(), Some(Tier::Town));
        assert_eq!(Tier::Village.child_tier(), None);
    }

    #[test]
    fn tier_text_forms_round_trip() {
        for tier in Tier::ALL {
            assert_eq!(tier.as_str().parse::<Tier>().unwrap(), tier);
            assert_eq!(tier.to_string(), tier.as_str());
            let json = serde_json::to_string(&tier).unwrap();
            assert_eq!(json, format!("\"{}\"", tier.as_str()));
            assert_eq!(serde_json::from_str::<Tier>(&json).unwrap(), tier);
        }
        assert_eq!(Tier::District.label_zh(), "区县");
        assert_eq!(Tier::Town.label_zh(), "乡镇街道");
        assert_eq!(Tier::Village.label_zh(), "村社区");
    }

    #[test]
    fn unknown_tier_is_refused_bilingually() {
        let err = "District".parse::<Tier>().unwrap_err();
        assert_eq!(err.code(), "tier.unknown");
        assert!(err.to_string().contains("\"District\""));
        assert!(err.message_zh().contains("District"));
        assert!(serde_json::from_str::<Tier>("\"county\"").is_err());
    }

    // --- Real codes ------------------------------------------------------------------------

    #[test]
    fn xinhua_district_code() {
        let d = code("410402000000");
        assert_eq!(d.tier(), Tier::District);
        assert_eq!(d.parent(), None);
        assert_eq!(d.district(), d);
        assert_eq!(d.county_code(), "410402");
        assert_eq!(d.town_kind(), None);
        assert_eq!(d.village_kind(), None);
        assert_eq!(d.ancestor_at(Tier::District), Some(d));
        assert_eq!(d.ancestor_at(Tier::Town), None);
        assert_eq!(d.ancestor_at(Tier::Village), None);
        assert_eq!(d.to_string(), "410402000000");
        assert_eq!(d.as_string(), "410402000000");
    }

    #[test]
    fn shuguangjie_street_is_a_street_town() {
        let t = code("410402001000");
        assert_eq!(t.tier(), Tier::Town);
        assert_eq!(t.town_kind(), Some(TownKind::Street));
        assert_eq!(t.village_kind(), None);
        assert_eq!(t.parent(), Some(code("410402000000")));
        assert_eq!(t.district(), code("410402000000"));
        assert_eq!(t.ancestor_at(Tier::Town), Some(t));
        assert_eq!(t.ancestor_at(Tier::Village), None);
        assert_eq!(t.town_segment(), 1);
    }

    #[test]
    fn jiaodian_is_a_town_kind_town() {
        let t = code("410402100000");
        assert_eq!(t.tier(), Tier::Town);
        assert_eq!(t.town_kind(), Some(TownKind::Town));
    }

    #[test]
    fn management_committee_is_other_kind() {
        let t = code("410402400000");
        assert_eq!(t.tier(), Tier::Town);
        assert_eq!(t.town_kind(), Some(TownKind::Other));
        assert_eq!(TownKind::from_segment(250), Some(TownKind::Township));
        assert_eq!(TownKind::from_segment(600), None);
        // Unclassified segments are still valid codes.
        assert_eq!(code("410402600000").town_kind(), None);
    }

    #[test]
    fn community_under_shuguangjie() {
        let v = code("410402001001");
        assert_eq!(v.tier(), Tier::Village);
        assert_eq!(v.village_kind(), Some(VillageKind::Community));
        assert_eq!(v.town_kind(), Some(TownKind::Street));
        assert_eq!(v.parent(), Some(code("410402001000")));
        assert_eq!(v.parent().unwrap().parent(), Some(code("410402000000")));
        assert_eq!(v.district(), code("410402000000"));
        assert_eq!(v.ancestor_at(Tier::Town), Some(code("410402001000")));
        assert_eq!(v.ancestor_at(Tier::District), Some(code("410402000000")));
        assert_eq!(v.ancestor_at(Tier::Village), Some(v));
        assert_eq!(
            code("410402100201").village_kind(),
            Some(VillageKind::Village)
        );
        assert_eq!(code("410402100400").village_kind(), None);
    }

    #[test]
    fn ancestry_is_strict_and_follows_the_tree() {
        let d = code("410402000000");
        let t = code("410402001000");
        let v = code("410402001001");
        let other_town = code("410402002000");
        let other_district = code("410403000000");

        assert!(d.is_ancestor_of(&t));
        assert!(d.is_ancestor_of(&v));
        assert!(t.is_ancestor_of(&v));
        assert!(!v.is_ancestor_of(&t));
        assert!(!t.is_ancestor_of(&d));
        assert!(!d.is_ancestor_of(&d));
        assert!(!other_town.is_ancestor_of(&v));
        assert!(!other_district.is_ancestor_of(&v));

        assert!(d.is_same_or_ancestor_of(&d));
        assert!(v.is_same_or_ancestor_of(&v));
        assert!(t.is_same_or_ancestor_of(&v));
        assert!(!other_town.is_same_or_ancestor_of(&t));
    }

    #[test]
    fn station_code_serde_is_the_twelve_digit_string() {
        let v = code("410402001001");
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"410402001001\"");
        assert_eq!(
            serde_json::from_str::<StationCode>("\"410402001001\"").unwrap(),
            v
        );
        assert!(serde_json::from_str::<StationCode>("\"410400000000\"").is_err());
        assert!(serde_json::from_str::<StationCode>("410402001001").is_err());
        assert_eq!(StationCode::try_from("410402001001".to_owned()).unwrap(), v);
        assert_eq!("410402001001".parse::<StationCode>().unwrap(), v);
        assert_eq!(String::from(v), "410402001001");
        assert_eq!(format!("{v:?}"), "StationCode(410402001001)");
    }

    // --- Errors ------------------------------------------------------------------------------

    #[test]
    fn wrong_length_reports_the_length_found() {
        let err = StationCode::parse("4104020").unwrap_err();
        assert_eq!(err, StationCodeError::Length { found: 7 });
        assert_eq!(err.code(), "station_code.length");
        assert_eq!(err.to_string(), "station code must be 12 digits, got 7");
        assert_eq!(err.message_en(), err.to_string());
        assert_eq!(err.message_zh(), "站点代码应为12位数字，实际为 7 位");
        // Nothing is trimmed.
        assert_eq!(
            StationCode::parse(" 410402000000").unwrap_err(),
            StationCodeError::Length { found: 13 }
        );
        assert_eq!(
            StationCode::parse("").unwrap_err(),
            StationCodeError::Length { found: 0 }
        );
    }

    #[test]
    fn non_digit_reports_its_position() {
        let err = StationCode::parse("41040200a000").unwrap_err();
        assert_eq!(
            err,
            StationCodeError::NonDigit {
                position: 9,
                found: 'a'
            }
        );
        assert_eq!(err.code(), "station_code.non_digit");
        assert!(err.to_string().contains("character 9 is 'a'"));
        assert!(err.message_zh().contains("第 9 位是“a”"));
        // Characters count, not bytes: a full-width digit is one wrong character.
        assert_eq!(
            StationCode::parse("41040200000０").unwrap_err(),
            StationCodeError::NonDigit {
                position: 12,
                found: '０'
            }
        );
        assert!(matches!(
            StationCode::parse("-41040200000").unwrap_err(),
            StationCodeError::NonDigit { position: 1, .. }
        ));
    }

    #[test]
    fn unknown_province_is_refused() {
        let err = StationCode::parse("990402000000").unwrap_err();
        assert_eq!(err, StationCodeError::UnknownProvince { province: 99 });
        assert_eq!(err.code(), "station_code.unknown_province");
        assert!(err.message_zh().contains("“99”"));
        assert_eq!(
            StationCode::parse("000402000000").unwrap_err(),
            StationCodeError::UnknownProvince { province: 0 }
        );
        assert!(err.to_string().contains("99"));
    }

    #[test]
    fn prefecture_code_is_not_county_level() {
        let err = StationCode::parse("410400000000").unwrap_err();
        assert_eq!(err, StationCodeError::NotCountyLevel { county: 410_400 });
        assert_eq!(err.code(), "station_code.not_county_level");
        assert!(err.to_string().contains("410400"));
        assert!(err.message_zh().contains("“410400”"));
        assert!(StationCode::parse("410000000000").is_err());
    }

    #[test]
    fn village_without_town_is_refused() {
        let err = StationCode::parse("410402000001").unwrap_err();
        assert_eq!(err, StationCodeError::VillageWithoutTown { village: 1 });
        assert_eq!(err.code(), "station_code.village_without_town");
        assert!(err.to_string().contains("001"));
        assert!(err.message_zh().contains("001"));
    }

    // --- Properties ----------------------------------------------------------------------------

    const PROVINCES: [u8; 34] = [
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51,
        52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
    ];

    #[test]
    fn province_list_matches_the_predicate() {
        let all: Vec<u8> = (0..=99).filter(|&p| is_province_code(p)).collect();
        assert_eq!(all, PROVINCES);
    }

    fn valid_code() -> impl Strategy<Value = StationCode> {
        (
            prop::sample::select(&PROVINCES[..]),
            0u64..100,
            1u64..100,
            0u64..1000,
            0u64..1000,
            0u8..3,
        )
            .prop_map(|(p, pref, county, town, village, tier)| {
                // Bias towards the three tiers evenly rather than mostly villages.
                let (town, village) = match tier {
                    0 => (0, 0),
                    1 => (town.max(1), 0),
                    _ => (town.max(1), village.max(1)),
                };
                let value = ((u64::from(p) * 100 + pref) * 100 + county) * COUNTY_FACTOR
                    + town * TOWN_FACTOR
                    + village;
                StationCode::parse(&format!("{value:012}")).unwrap()
            })
    }

    /// `other`'s strict ancestors, walking `parent()`.
    fn parent_chain(code: StationCode) -> Vec<StationCode> {
        std::iter::successors(code.parent(), StationCode::parent).collect()
    }

    proptest! {
        #[test]
        fn valid_codes_round_trip_through_text_and_serde(c in valid_code()) {
            let text = c.to_string();
            prop_assert_eq!(text.len(), 12);
            prop_assert_eq!(StationCode::parse(&text).unwrap(), c);
            let json = serde_json::to_string(&c).unwrap();
            prop_assert_eq!(&json, &format!("\"{text}\""));
            prop_assert_eq!(serde_json::from_str::<StationCode>(&json).unwrap(), c);
        }

        #[test]
        fn village_parent_is_a_town_whose_parent_is_the_district(c in valid_code()) {
            if c.tier() == Tier::Village {
                let town = c.parent().unwrap();
                prop_assert_eq!(town.tier(), Tier::Town);
                prop_assert_eq!(town.parent(), Some(c.district()));
                prop_assert_eq!(c.district().tier(), Tier::District);
                prop_assert_eq!(c.district().parent(), None);
            }
            // Parents always sit exactly one tier up.
            if let Some(p) = c.parent() {
                prop_assert_eq!(Some(p.tier()), c.tier().parent_tier());
            }
        }

        #[test]
        fn is_ancestor_of_agrees_with_the_parent_chain(
            a in valid_code(),
            b in valid_code(),
            pick in 0u8..4,
        ) {
            // Half the time, make `a` related to `b` so both answers get exercised.
            let a = match pick {
                0 => b.parent().unwrap_or(a),
                1 => b.district(),
                2 => b,
                _ => a,
            };
            let chain = parent_chain(b);
            prop_assert_eq!(a.is_ancestor_of(&b), chain.contains(&a));
            prop_assert_eq!(a.is_same_or_ancestor_of(&b), a == b || chain.contains(&a));
            for tier in Tier::ALL {
                let expected = if tier == b.tier() {
                    Some(b)
                } else {
                    chain.iter().copied().find(|c| c.tier() == tier)
                };
                prop_assert_eq!(b.ancestor_at(tier), expected);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".*") {
            let _ = StationCode::parse(&s);
            let _ = s.parse::<Tier>();
        }

        #[test]
        fn digit_strings_never_panic_and_valid_ones_round_trip(s in "[0-9]{10,14}") {
            if let Ok(c) = StationCode::parse(&s) {
                prop_assert_eq!(c.to_string(), s);
            }
        }
    }
}
