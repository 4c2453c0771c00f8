//! The catalogue of service items (事项目录), as the district publishes it: what each item is,
//! whether it is done on the spot or by a promised deadline, which tiers may take it in and which
//! tier handles it, and which materials the applicant brings. Policy data, read from JSON; a case
//! keeps an [`ItemRef`] snapshot at intake. It must never read the file or look at the clock:
//! callers pass the text in.
//!
//! # The data file
//!
//! The district authors one JSON document (`deploy/policy/catalogue.json`); the policy bundle
//! will carry the same document unchanged.
//!
//! ```json
//! {
//!   "version": "2026.1",
//!   "published": "2026-01-05",
//!   "sample": true,
//!   "note": "示例数据，仅供演示……",
//!   "items": [
//!     {"code": "410402-SCJG-001", "name": "食品经营许可证核发",
//!      "department": "新华区市场监督管理局", "case_type": "promised",
//!      "statutory_days": 20, "promised_days": 10,
//!      "handling_tier": "district", "intake_tiers": ["district", "town", "village"],
//!      "proxy_allowed": true, "courier_delivery": true,
//!      "materials": [
//!        {"name": "营业执照", "necessity": 1, "original": false,
//!         "how_to_obtain": "市场监管部门核发；可用电子营业执照"}
//!      ]}
//!   ]
//! }
//! ```
//!
//! * `version` (optional) names this edition of the catalogue, e.g. `"2026.1"`; `published`
//!   (optional, `"YYYY-MM-DD"`) is the day the district published it. Both are shown as they are
//!   and never compared: the policy bundle numbers its own editions.
//! * `sample` (optional, default `false`) marks a catalogue that is not the district's official
//!   one (demonstration data); a sample must say so in its `note` (optional free text otherwise).
//!   The district's official catalogue omits both.
//! * `items`: `case_type` is `immediate` (即办件, `promised_days` 0) or `promised` (承诺件,
//!   `promised_days` ≥ 1). Limits are in working days; `statutory_days` 0 means none is set,
//!   otherwise the promised limit may not exceed it. `proxy_allowed` (default `true`) says
//!   whether an agent may handle it on the applicant's behalf (代办); `courier_delivery`
//!   (default `false`) whether the result can be posted.
//! * `materials`: each with `necessity` 1 (required), 2 (optional) or 3 (accepted now and
//!   supplied later, 容缺后补); `original` (default `false`) whether the original must be shown
//!   rather than a copy; `how_to_obtain` (optional) where the applicant gets it, e.g.
//!   "申请人户籍所在地派出所开具"; `count` (optional, default 1) how many copies;
//!   `blank_form` and `sample` (optional) the blank form and a filled-in sample, each a file
//!   kept at the district and named here by `sha256`, `name`, `media_type` and `size`, so the
//!   reference travels in the bundle.
//! * Optional on an item: `co_departments` (协办部门, beside the lead `department`);
//!   `item_type` (`licence` 01 行政许可, `payment` 05 行政给付, `confirmation` 07 行政确认,
//!   `award` 08, `ruling` 09, `other_power` 20, `public_service` 21 公共服务); `max_visits`
//!   (最多跑动次数, 1–10); `fees` (the fees the law requires and their basis; absent: free).
//!
//! Unknown fields are refused, so a typo never silently drops a setting.
//!
//! # What a valid catalogue guarantees
//!
//! Codes are unique and made of letters, digits, `-`, `_`, `.`; names and departments are not
//! blank; the time limits agree with the case type; the handling tier is at or above every
//! intake tier; every item can be taken in somewhere and lists at least one material, one of them
//! required; material names are not blank and unique within their item (a pre-review names the
//! material it judges); a `how_to_obtain`, `version` or `note` that is given is not blank.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::Bilingual;
use crate::attachment::{ContentHash, MediaType};
use crate::event::{CaseType, ItemRef, MAX_PROMISED_DAYS, MAX_SHORT, MAX_TEXT};
use crate::station::Tier;

use crate::topology::iso_date_opt;

/// One required or optional material of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Material {
    pub name: String,
    /// 1 required, 2 optional, 3 accepted now and supplied later (容缺后补).
    pub necessity: u8,
    /// Whether the original must be shown (otherwise a copy suffices).
    #[serde(default)]
    pub original: bool,
    /// Where and how the applicant obtains it, e.g. "申请人户籍所在地派出所开具" (shown at
    /// pre-review and on the one-time notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how_to_obtain: Option<String>,
    /// How many copies (份数); `None` means one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// The blank form (空白表格) the applicant fills in, kept at the district.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blank_form: Option<FileRef>,
    /// A filled-in sample (示范样表).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<FileRef>,
}

/// A file of the catalogue (a blank form or a sample), named by the hash of its bytes in the
/// district's content-addressed blob store, so that it travels in the bundle as a reference and
/// the bytes can be fetched and checked wherever they are needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    pub sha256: ContentHash,
    /// A safe file name (see [`crate::attachment::sanitize_file_name`]).
    pub name: String,
    pub media_type: MediaType,
    /// The stored size in bytes.
    pub size: u64,
}

/// The kind of item, with the national catalogue's codes (01 行政许可 … 21 公共服务).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    /// 01 行政许可
    Licence,
    /// 05 行政给付
    Payment,
    /// 07 行政确认
    Confirmation,
    /// 08 行政奖励
    Award,
    /// 09 行政裁决
    Ruling,
    /// 20 其他行政权力
    OtherPower,
    /// 21 公共服务
    PublicService,
}

impl ItemType {
    pub const ALL: [ItemType; 7] = [
        ItemType::Licence,
        ItemType::Payment,
        ItemType::Confirmation,
        ItemType::Award,
        ItemType::Ruling,
        ItemType::OtherPower,
        ItemType::PublicService,
    ];

    /// The wire name, e.g. `public_service`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ItemType::Licence => "licence",
            ItemType::Payment => "payment",
            ItemType::Confirmation => "confirmation",
            ItemType::Award => "award",
            ItemType::Ruling => "ruling",
            ItemType::OtherPower => "other_power",
            ItemType::PublicService => "public_service",
        }
    }

    /// The national catalogue's two-digit code.
    pub const fn national_code(self) -> &'static str {
        match self {
            ItemType::Licence => "01",
            ItemType::Payment => "05",
            ItemType::Confirmation => "07",
            ItemType::Award => "08",
            ItemType::Ruling => "09",
            ItemType::OtherPower => "20",
            ItemType::PublicService => "21",
        }
    }

    pub const fn label_zh(self) -> &'static str {
        match self {
            ItemType::Licence => "行政许可",
            ItemType::Payment => "行政给付",
            ItemType::Confirmation => "行政确认",
            ItemType::Award => "行政奖励",
            ItemType::Ruling => "行政裁决",
            ItemType::OtherPower => "其他行政权力",
            ItemType::PublicService => "公共服务",
        }
    }

    pub const fn label_en(self) -> &'static str {
        match self {
            ItemType::Licence => "Administrative licence",
            ItemType::Payment => "Benefit payment",
            ItemType::Confirmation => "Administrative confirmation",
            ItemType::Award => "Administrative award",
            ItemType::Ruling => "Administrative ruling",
            ItemType::OtherPower => "Other administrative power",
            ItemType::PublicService => "Public service",
        }
    }

    /// The wire name or the national code.
    pub fn parse(s: &str) -> Option<ItemType> {
        let s = s.trim();
        ItemType::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.national_code() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CatalogueItem {
    pub code: String,
    pub name: String,
    /// The lead department (牵头部门).
    pub department: String,
    /// Co-operating departments (协办部门), when several take part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub co_departments: Vec<String>,
    /// The kind of item (事项类型).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_type: Option<ItemType>,
    pub case_type: CaseType,
    /// Statutory time limit in working days.
    pub statutory_days: u32,
    /// Promised time limit in working days (0 for immediate items).
    pub promised_days: u32,
    /// The most on-site visits the applicant makes (最多跑动次数), at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_visits: Option<u32>,
    /// The fees the law requires, with their basis; `None`: free of charge (不收费).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fees: Option<String>,
    /// The tier whose departments decide the item.
    pub handling_tier: Tier,
    /// Tiers whose centres may take applications in.
    pub intake_tiers: Vec<Tier>,
    /// Whether proxy handling (代办) is allowed.
    #[serde(default = "yes")]
    pub proxy_allowed: bool,
    #[serde(default)]
    pub courier_delivery: bool,
    #[serde(default)]
    pub materials: Vec<Material>,
}

fn yes() -> bool {
    true
}

impl CatalogueItem {
    /// The snapshot a case keeps.
    pub fn item_ref(&self) -> ItemRef {
        ItemRef {
            code: self.code.clone(),
            name: self.name.clone(),
            case_type: self.case_type,
            promised_days: self.promised_days,
        }
    }
}

/// The catalogue as the district publishes it: the shape of `deploy/policy/catalogue.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// This edition's name, e.g. `"2026.1"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The day the district published this edition.
    #[serde(
        default,
        with = "iso_date_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub published: Option<Date>,
    /// Demonstration data, not the district's official catalogue.
    #[serde(default, skip_serializing_if = "is_false")]
    pub sample: bool,
    /// Free text on the catalogue (required when `sample`: what it is and is not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub items: Vec<CatalogueItem>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Catalogue {
    pub fn from_json(json: &str) -> Result<Catalogue, CatalogueError> {
        let cat: Catalogue =
            serde_json::from_str(json).map_err(|e| CatalogueError::Parse(e.to_string()))?;
        cat.validate()?;
        Ok(cat)
    }

    pub fn validate(&self) -> Result<(), CatalogueError> {
        let whole = |problem| CatalogueError::Document { problem };
        if let Some(v) = &self.version
            && !fits(v, MAX_SHORT)
        {
            return Err(whole(
                "the version, when given, is not blank nor over 200 characters",
            ));
        }
        match &self.note {
            Some(n) if !fits(n, MAX_TEXT) => {
                return Err(whole(
                    "the note, when given, is not blank nor over 2000 characters",
                ));
            }
            None if self.sample => {
                return Err(whole("a sample catalogue says so in its note"));
            }
            _ => {}
        }
        let mut seen = std::collections::BTreeSet::new();
        for item in &self.items {
            item.validate()?;
            if !seen.insert(item.code.as_str()) {
                return Err(CatalogueError::Duplicate(item.code.clone()));
            }
        }
        Ok(())
    }

    pub fn get(&self, code: &str) -> Option<&CatalogueItem> {
        self.items.iter().find(|i| i.code == code)
    }

    /// Items a centre of `tier` may take in.
    pub fn for_intake(&self, tier: Tier) -> impl Iterator<Item = &CatalogueItem> {
        self.items
            .iter()
            .filter(move |i| i.intake_tiers.contains(&tier))
    }

    /// The same catalogue (edition, sample marks) with only the items a centre of `tier` may
    /// take in.
    pub fn for_tier(&self, tier: Tier) -> Catalogue {
        Catalogue {
            version: self.version.clone(),
            published: self.published,
            sample: self.sample,
            note: self.note.clone(),
            items: self.for_intake(tier).cloned().collect(),
        }
    }
}

/// `text` is not blank and at most `max` characters long.
fn fits(text: &str, max: usize) -> bool {
    !text.trim().is_empty() && text.chars().count() <= max
}

/// A code: letters, digits, `-`, `_`, `.`; it names the item in addresses and audit lines.
fn code_ok(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Required text: present and at most `max` characters.
fn text(code: &str, field: ItemField, value: &str, max: usize) -> Result<(), ItemError> {
    if value.trim().is_empty() {
        Err(ItemError::new(code, field, ItemProblem::Required))
    } else if value.chars().count() > max {
        Err(ItemError::new(code, field, ItemProblem::TooLong(max)))
    } else {
        Ok(())
    }
}

impl CatalogueItem {
    /// Checks one item field by field; the first wrong field is named. The same checks run on
    /// every item of a catalogue file, a bundle and a page's form.
    pub fn validate(&self) -> Result<(), ItemError> {
        let code = self.code.as_str();
        let bad = |field, problem| Err(ItemError::new(code, field, problem));
        if code.trim().is_empty() {
            return bad(ItemField::Code, ItemProblem::Required);
        }
        if !code_ok(code) {
            return bad(ItemField::Code, ItemProblem::CodeCharacters);
        }
        text(code, ItemField::Name, &self.name, MAX_SHORT)?;
        text(code, ItemField::Department, &self.department, MAX_SHORT)?;
        if self.co_departments.len() > MAX_CO_DEPARTMENTS {
            return bad(
                ItemField::CoDepartments,
                ItemProblem::TooMany(MAX_CO_DEPARTMENTS),
            );
        }
        let mut co = std::collections::BTreeSet::new();
        for d in &self.co_departments {
            text(code, ItemField::CoDepartments, d, MAX_SHORT)?;
            if d.trim() == self.department.trim() {
                return bad(ItemField::CoDepartments, ItemProblem::CoDepartmentIsLead);
            }
            if !co.insert(d.trim()) {
                return bad(ItemField::CoDepartments, ItemProblem::CoDepartmentTwice);
            }
        }
        if let Some(fees) = &self.fees {
            text(code, ItemField::Fees, fees, MAX_TEXT)?;
        }
        let days = ItemProblem::OutOfRange {
            min: 0,
            max: MAX_PROMISED_DAYS,
        };
        if self.statutory_days > MAX_PROMISED_DAYS {
            return bad(ItemField::StatutoryDays, days);
        }
        match self.case_type {
            CaseType::Immediate if self.promised_days != 0 => {
                return bad(
                    ItemField::PromisedDays,
                    ItemProblem::ImmediateHasPromisedDays,
                );
            }
            CaseType::Promised if self.promised_days == 0 => {
                return bad(ItemField::PromisedDays, ItemProblem::PromisedNeedsDays);
            }
            _ => {}
        }
        if self.promised_days > MAX_PROMISED_DAYS {
            return bad(ItemField::PromisedDays, days);
        }
        if self.statutory_days > 0 && self.promised_days > self.statutory_days {
            return bad(ItemField::PromisedDays, ItemProblem::PromisedAboveStatutory);
        }
        if let Some(v) = self.max_visits
            && !(1..=MAX_VISITS).contains(&v)
        {
            return bad(
                ItemField::MaxVisits,
                ItemProblem::OutOfRange {
                    min: 1,
                    max: MAX_VISITS,
                },
            );
        }
        if self.intake_tiers.is_empty() {
            return bad(ItemField::IntakeTiers, ItemProblem::Required);
        }
        for (i, t) in self.intake_tiers.iter().enumerate() {
            if self.intake_tiers[..i].contains(t) {
                return bad(ItemField::IntakeTiers, ItemProblem::TierTwice);
            }
        }
        // INVARIANT: a case only ever goes up the tree to be handled, so the handling tier is
        // at or above every tier that takes the item in.
        if self.intake_tiers.iter().any(|t| *t > self.handling_tier) {
            return bad(ItemField::HandlingTier, ItemProblem::HandlingBelowIntake);
        }
        validate_materials(code, &self.materials)
    }
}

/// An item's materials: at least one, one of them required (every application at least shows
/// who applies, and a pre-review has something to judge); names present and unique (a
/// pre-review names the material it judges); a way to obtain one, when given, not blank.
fn validate_materials(code: &str, materials: &[Material]) -> Result<(), ItemError> {
    if materials.len() > MAX_MATERIALS {
        return Err(ItemError::new(
            code,
            ItemField::Materials,
            ItemProblem::TooMany(MAX_MATERIALS),
        ));
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, m) in materials.iter().enumerate() {
        let bad = |field, problem| Err(ItemError::new(code, field, problem).of_material(i));
        text(code, ItemField::MaterialName, &m.name, MAX_SHORT).map_err(|e| e.of_material(i))?;
        if !(1..=3).contains(&m.necessity) {
            return bad(
                ItemField::MaterialNecessity,
                ItemProblem::OutOfRange { min: 1, max: 3 },
            );
        }
        if !names.insert(m.name.trim()) {
            return bad(ItemField::MaterialName, ItemProblem::MaterialTwice);
        }
        if let Some(n) = m.count
            && !(1..=MAX_COPIES).contains(&n)
        {
            return bad(
                ItemField::MaterialCount,
                ItemProblem::OutOfRange {
                    min: 1,
                    max: MAX_COPIES,
                },
            );
        }
        if let Some(how) = &m.how_to_obtain {
            text(code, ItemField::MaterialHowToObtain, how, MAX_TEXT)
                .map_err(|e| e.of_material(i))?;
        }
        for file in [&m.blank_form, &m.sample].into_iter().flatten() {
            if file.name.trim().is_empty()
                || file.name.chars().count() > crate::attachment::MAX_FILE_NAME
                || file.size == 0
            {
                return bad(ItemField::MaterialFile, ItemProblem::FileIncomplete);
            }
        }
    }
    if !materials.iter().any(|m| m.necessity == 1) {
        return Err(ItemError::new(
            code,
            ItemField::Materials,
            ItemProblem::NoRequiredMaterial,
        ));
    }
    Ok(())
}

mod errors;
mod input;

pub use errors::*;
pub use input::*;

#[cfg(test)]
mod tests;
