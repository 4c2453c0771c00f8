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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue is not valid JSON of the expected shape: {0}")]
    Parse(String),
    #[error("item {0} appears twice")]
    Duplicate(String),
    /// One field of one item (and of one of its materials) is wrong.
    #[error("{0}")]
    Item(ItemError),
    #[error("catalogue: {problem}")]
    Document { problem: &'static str },
}

impl Bilingual for CatalogueError {
    fn code(&self) -> &'static str {
        match self {
            CatalogueError::Parse(_) => "catalogue.parse",
            CatalogueError::Duplicate(_) => "catalogue.duplicate",
            CatalogueError::Item(_) => "catalogue.item",
            CatalogueError::Document { .. } => "catalogue.document",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            CatalogueError::Parse(e) => format!("事项目录格式有误：{e}"),
            CatalogueError::Duplicate(c) => format!("事项编码 {c} 重复"),
            CatalogueError::Item(e) => e.message_zh(),
            CatalogueError::Document { problem } => format!("事项目录有误：{problem}"),
        }
    }
}

impl From<ItemError> for CatalogueError {
    fn from(e: ItemError) -> CatalogueError {
        CatalogueError::Item(e)
    }
}

/// The field of an item an [`ItemError`] is about: what a page shows the message beside, and
/// what the API names in its problem document (`field`, with `material` for a material's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemField {
    Code,
    Name,
    Department,
    CoDepartments,
    ItemType,
    CaseType,
    StatutoryDays,
    PromisedDays,
    MaxVisits,
    Fees,
    HandlingTier,
    IntakeTiers,
    /// The list of materials as a whole.
    Materials,
    MaterialName,
    MaterialNecessity,
    MaterialCount,
    MaterialHowToObtain,
    MaterialFile,
}

impl ItemField {
    /// The field's name on the wire and in the page's form, e.g. `promised_days`, `materials.name`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ItemField::Code => "code",
            ItemField::Name => "name",
            ItemField::Department => "department",
            ItemField::CoDepartments => "co_departments",
            ItemField::ItemType => "item_type",
            ItemField::CaseType => "case_type",
            ItemField::StatutoryDays => "statutory_days",
            ItemField::PromisedDays => "promised_days",
            ItemField::MaxVisits => "max_visits",
            ItemField::Fees => "fees",
            ItemField::HandlingTier => "handling_tier",
            ItemField::IntakeTiers => "intake_tiers",
            ItemField::Materials => "materials",
            ItemField::MaterialName => "materials.name",
            ItemField::MaterialNecessity => "materials.necessity",
            ItemField::MaterialCount => "materials.count",
            ItemField::MaterialHowToObtain => "materials.how_to_obtain",
            ItemField::MaterialFile => "materials.file",
        }
    }

    const fn label_zh(self) -> &'static str {
        match self {
            ItemField::Code => "事项编码",
            ItemField::Name => "事项名称",
            ItemField::Department => "牵头部门",
            ItemField::CoDepartments => "协办部门",
            ItemField::ItemType => "事项类型",
            ItemField::CaseType => "办件类型",
            ItemField::StatutoryDays => "法定时限",
            ItemField::PromisedDays => "承诺时限",
            ItemField::MaxVisits => "最多跑动次数",
            ItemField::Fees => "收费",
            ItemField::HandlingTier => "办理层级",
            ItemField::IntakeTiers => "受理层级",
            ItemField::Materials => "申请材料",
            ItemField::MaterialName => "材料名称",
            ItemField::MaterialNecessity => "材料必要性",
            ItemField::MaterialCount => "份数",
            ItemField::MaterialHowToObtain => "获取方式",
            ItemField::MaterialFile => "空白表格或样表",
        }
    }

    const fn label_en(self) -> &'static str {
        match self {
            ItemField::Code => "the code",
            ItemField::Name => "the name",
            ItemField::Department => "the lead department",
            ItemField::CoDepartments => "the co-operating departments",
            ItemField::ItemType => "the item type",
            ItemField::CaseType => "the case type",
            ItemField::StatutoryDays => "the statutory time limit",
            ItemField::PromisedDays => "the promised time limit",
            ItemField::MaxVisits => "the maximum visits",
            ItemField::Fees => "the fees",
            ItemField::HandlingTier => "the handling tier",
            ItemField::IntakeTiers => "the intake tiers",
            ItemField::Materials => "the materials",
            ItemField::MaterialName => "the material's name",
            ItemField::MaterialNecessity => "the material's necessity",
            ItemField::MaterialCount => "the number of copies",
            ItemField::MaterialHowToObtain => "how to obtain it",
            ItemField::MaterialFile => "the blank form or sample",
        }
    }
}

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemProblem {
    Required,
    TooLong(usize),
    /// A code holds only letters, digits, `-`, `_` and `.` (it appears in addresses).
    CodeCharacters,
    DuplicateCode,
    /// An item's code is kept for life (it names the item in cases and the audit).
    CodeFixed,
    /// Not a whole number ≥ 0 (a form field: `-3`, `2.5`, `三`).
    NotAWholeNumber,
    OutOfRange {
        min: u32,
        max: u32,
    },
    /// Not one of the values offered (an unknown tier, type or case type).
    UnknownValue,
    ImmediateHasPromisedDays,
    PromisedNeedsDays,
    PromisedAboveStatutory,
    TierTwice,
    /// The handling tier is below a tier that takes the item in.
    HandlingBelowIntake,
    NoRequiredMaterial,
    MaterialTwice,
    CoDepartmentIsLead,
    CoDepartmentTwice,
    TooMany(usize),
    /// A file reference without a name or with no bytes.
    FileIncomplete,
}

/// One field of one item is wrong: which item, which field, which material (by its index in
/// the item's list, from 0), and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message_en())]
pub struct ItemError {
    pub code: String,
    pub field: ItemField,
    pub material: Option<usize>,
    pub problem: ItemProblem,
}

impl ItemError {
    pub fn new(code: &str, field: ItemField, problem: ItemProblem) -> ItemError {
        ItemError {
            code: code.chars().take(MAX_CODE).collect(),
            field,
            material: None,
            problem,
        }
    }

    /// The same error, about the material at `index`.
    pub fn of_material(mut self, index: usize) -> ItemError {
        self.material = Some(index);
        self
    }

    /// What is wrong, without the item: the line beside the field.
    pub fn problem_zh(&self) -> String {
        let label = self.field.label_zh();
        match self.problem {
            ItemProblem::Required => format!("请填写{label}"),
            ItemProblem::TooLong(max) => format!("{label}不能超过 {max} 个字"),
            ItemProblem::CodeCharacters => {
                "事项编码只能由字母、数字和“-”“_”“.”组成，不超过 64 位".to_owned()
            }
            ItemProblem::DuplicateCode => "该事项编码已被其他事项使用".to_owned(),
            ItemProblem::CodeFixed => {
                "事项编码不能修改；如需新编码，请新增事项后删除原事项".to_owned()
            }
            ItemProblem::NotAWholeNumber => format!("{label}须为不小于 0 的整数"),
            ItemProblem::OutOfRange { min, max } => {
                format!("{label}须在 {min} 到 {max} 之间")
            }
            ItemProblem::UnknownValue => format!("{label}不是可选的值，请从列表中选择"),
            ItemProblem::ImmediateHasPromisedDays => "即办件的承诺时限应为 0".to_owned(),
            ItemProblem::PromisedNeedsDays => "承诺件须填写承诺时限（至少 1 个工作日）".to_owned(),
            ItemProblem::PromisedAboveStatutory => "承诺时限不能超过法定时限".to_owned(),
            ItemProblem::TierTwice => "同一受理层级选了两次".to_owned(),
            ItemProblem::HandlingBelowIntake => {
                "办理层级不能低于受理层级（例如村级不能办理镇级受理的事项）".to_owned()
            }
            ItemProblem::NoRequiredMaterial => "至少列出一项必需材料".to_owned(),
            ItemProblem::MaterialTwice => "材料名称重复".to_owned(),
            ItemProblem::CoDepartmentIsLead => "协办部门不能与牵头部门相同".to_owned(),
            ItemProblem::CoDepartmentTwice => "协办部门重复".to_owned(),
            ItemProblem::TooMany(max) => format!("{label}最多 {max} 项"),
            ItemProblem::FileIncomplete => "文件引用不完整（缺少名称或大小为 0）".to_owned(),
        }
    }

    pub fn problem_en(&self) -> String {
        let label = self.field.label_en();
        match self.problem {
            ItemProblem::Required => format!("{label} is required"),
            ItemProblem::TooLong(max) => format!("{label} is at most {max} characters"),
            ItemProblem::CodeCharacters => {
                "a code holds only letters, digits, '-', '_' and '.', at most 64".to_owned()
            }
            ItemProblem::DuplicateCode => "another item already has this code".to_owned(),
            ItemProblem::CodeFixed => {
                "an item's code cannot change; add a new item and remove this one".to_owned()
            }
            ItemProblem::NotAWholeNumber => format!("{label} must be a whole number, 0 or more"),
            ItemProblem::OutOfRange { min, max } => {
                format!("{label} must be from {min} to {max}")
            }
            ItemProblem::UnknownValue => format!("{label} is not one of the values offered"),
            ItemProblem::ImmediateHasPromisedDays => {
                "an immediate item has a promised time limit of 0".to_owned()
            }
            ItemProblem::PromisedNeedsDays => {
                "a promised item needs a promised time limit of at least 1 working day".to_owned()
            }
            ItemProblem::PromisedAboveStatutory => {
                "the promised time limit exceeds the statutory one".to_owned()
            }
            ItemProblem::TierTwice => "an intake tier is chosen twice".to_owned(),
            ItemProblem::HandlingBelowIntake => {
                "the handling tier is below an intake tier (a village cannot handle what a town takes in)"
                    .to_owned()
            }
            ItemProblem::NoRequiredMaterial => {
                "at least one required material (necessity 1) is listed".to_owned()
            }
            ItemProblem::MaterialTwice => "a material is listed twice".to_owned(),
            ItemProblem::CoDepartmentIsLead => {
                "a co-operating department is the lead department".to_owned()
            }
            ItemProblem::CoDepartmentTwice => "a co-operating department is listed twice".to_owned(),
            ItemProblem::TooMany(max) => format!("{label}: at most {max}"),
            ItemProblem::FileIncomplete => {
                "a file reference needs a name and a size above 0".to_owned()
            }
        }
    }

    /// Where: `事项 X` and, for a material, `第 N 项材料`.
    fn place_zh(&self) -> String {
        match self.material {
            Some(i) => format!("事项 {} 第 {} 项材料", self.code, i + 1),
            None => format!("事项 {}", self.code),
        }
    }

    fn place_en(&self) -> String {
        match self.material {
            Some(i) => format!("item {}, material {}", self.code, i + 1),
            None => format!("item {}", self.code),
        }
    }
}

impl Bilingual for ItemError {
    fn code(&self) -> &'static str {
        "catalogue.item"
    }
    fn message_zh(&self) -> String {
        format!("{}：{}", self.place_zh(), self.problem_zh())
    }
    fn message_en(&self) -> String {
        format!("{}: {}", self.place_en(), self.problem_en())
    }
}

/// The longest item code, in characters.
pub const MAX_CODE: usize = 64;
/// The most materials one item lists.
pub const MAX_MATERIALS: usize = 50;
/// The most co-operating departments of one item.
pub const MAX_CO_DEPARTMENTS: usize = 20;
/// The most on-site visits an item may ask for.
pub const MAX_VISITS: u32 = 10;
/// The most copies of one material.
pub const MAX_COPIES: u32 = 99;

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

/// One item as a person types it (a page's form, an API call): text as typed, numbers not yet
/// parsed. [`ItemInput::to_item`] turns it into an item or names the field that is wrong; the
/// caller then runs [`CatalogueItem::validate`]. Files are not typed: the caller carries them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemInput {
    pub code: String,
    pub name: String,
    pub department: String,
    /// One department per line (or separated by `、` `,` `，` `;` `；`).
    pub co_departments: String,
    /// An [`ItemType`] wire name or national code; empty: not set.
    pub item_type: String,
    /// `immediate` or `promised`.
    pub case_type: String,
    pub statutory_days: String,
    pub promised_days: String,
    /// Empty: not set.
    pub max_visits: String,
    /// Empty: free of charge.
    pub fees: String,
    pub handling_tier: String,
    pub intake_tiers: Vec<String>,
    pub proxy_allowed: bool,
    pub courier_delivery: bool,
    pub materials: Vec<MaterialInput>,
}

/// One material as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaterialInput {
    pub name: String,
    /// `1`, `2` or `3`.
    pub necessity: String,
    pub original: bool,
    /// Empty: one copy.
    pub count: String,
    pub how_to_obtain: String,
}

impl ItemInput {
    /// The item's fields as a form shows them.
    pub fn from_item(item: &CatalogueItem) -> ItemInput {
        ItemInput {
            code: item.code.clone(),
            name: item.name.clone(),
            department: item.department.clone(),
            co_departments: item.co_departments.join("\n"),
            item_type: item
                .item_type
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            case_type: case_type_str(item.case_type).to_owned(),
            statutory_days: item.statutory_days.to_string(),
            promised_days: item.promised_days.to_string(),
            max_visits: item.max_visits.map(|v| v.to_string()).unwrap_or_default(),
            fees: item.fees.clone().unwrap_or_default(),
            handling_tier: item.handling_tier.as_str().to_owned(),
            intake_tiers: item
                .intake_tiers
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            proxy_allowed: item.proxy_allowed,
            courier_delivery: item.courier_delivery,
            materials: item
                .materials
                .iter()
                .map(|m| MaterialInput {
                    name: m.name.clone(),
                    necessity: m.necessity.to_string(),
                    original: m.original,
                    count: m.count.map(|c| c.to_string()).unwrap_or_default(),
                    how_to_obtain: m.how_to_obtain.clone().unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// Parses what was typed: text trimmed, numbers whole and ≥ 0, choices known. The item is
    /// not yet checked as a whole ([`CatalogueItem::validate`] does that).
    pub fn to_item(&self) -> Result<CatalogueItem, ItemError> {
        let code = self.code.trim();
        let bad = |field, problem| ItemError::new(code, field, problem);
        let item_type = match self.item_type.trim() {
            "" => None,
            t => Some(
                ItemType::parse(t)
                    .ok_or_else(|| bad(ItemField::ItemType, ItemProblem::UnknownValue))?,
            ),
        };
        let case_type = match self.case_type.trim() {
            "immediate" => CaseType::Immediate,
            "promised" => CaseType::Promised,
            "" => return Err(bad(ItemField::CaseType, ItemProblem::Required)),
            _ => return Err(bad(ItemField::CaseType, ItemProblem::UnknownValue)),
        };
        let statutory_days =
            whole(code, ItemField::StatutoryDays, &self.statutory_days)?.unwrap_or(0);
        let promised_days = whole(code, ItemField::PromisedDays, &self.promised_days)?.unwrap_or(0);
        let max_visits = whole(code, ItemField::MaxVisits, &self.max_visits)?;
        let handling_tier = match self.handling_tier.trim() {
            "" => return Err(bad(ItemField::HandlingTier, ItemProblem::Required)),
            t => t
                .parse::<Tier>()
                .map_err(|_| bad(ItemField::HandlingTier, ItemProblem::UnknownValue))?,
        };
        let intake_tiers = self
            .intake_tiers
            .iter()
            .map(|t| {
                t.trim()
                    .parse::<Tier>()
                    .map_err(|_| bad(ItemField::IntakeTiers, ItemProblem::UnknownValue))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let materials = self
            .materials
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let necessity = match m.necessity.trim() {
                    "1" => 1,
                    "2" => 2,
                    "3" => 3,
                    _ => {
                        return Err(bad(ItemField::MaterialNecessity, ItemProblem::UnknownValue)
                            .of_material(i));
                    }
                };
                Ok(Material {
                    name: m.name.trim().to_owned(),
                    necessity,
                    original: m.original,
                    how_to_obtain: some_text(&m.how_to_obtain),
                    count: whole(code, ItemField::MaterialCount, &m.count)
                        .map_err(|e| e.of_material(i))?,
                    blank_form: None,
                    sample: None,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CatalogueItem {
            code: code.to_owned(),
            name: self.name.trim().to_owned(),
            department: self.department.trim().to_owned(),
            co_departments: self
                .co_departments
                .split(['\n', '、', ',', '，', ';', '；'])
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect(),
            item_type,
            case_type,
            statutory_days,
            promised_days,
            max_visits,
            fees: some_text(&self.fees),
            handling_tier,
            intake_tiers,
            proxy_allowed: self.proxy_allowed,
            courier_delivery: self.courier_delivery,
            materials,
        })
    }
}

/// `immediate` or `promised`: the wire names of [`CaseType`].
pub fn case_type_str(t: CaseType) -> &'static str {
    match t {
        CaseType::Immediate => "immediate",
        CaseType::Promised => "promised",
    }
}

fn some_text(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A whole number ≥ 0 as typed; empty is `None`. `-3`, `2.5`, `三` are refused by name.
fn whole(code: &str, field: ItemField, typed: &str) -> Result<Option<u32>, ItemError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    if !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ItemError::new(code, field, ItemProblem::NotAWholeNumber));
    }
    // Digits only: a number too large for u32 is out of every range the checks allow.
    Ok(Some(typed.parse::<u32>().unwrap_or(u32::MAX)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../deploy/policy/catalogue.json");

    fn shipped() -> Catalogue {
        Catalogue::from_json(SHIPPED).unwrap()
    }

    /// `SHIPPED` with `edit` applied to its JSON, then parsed and checked.
    fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Catalogue, CatalogueError> {
        let mut doc: serde_json::Value = serde_json::from_str(SHIPPED).unwrap();
        edit(&mut doc);
        Catalogue::from_json(&doc.to_string())
    }

    fn problem(result: Result<Catalogue, CatalogueError>) -> String {
        match result {
            Err(CatalogueError::Item(e)) => e.problem_en(),
            Err(CatalogueError::Document { problem }) => problem.to_owned(),
            other => panic!("expected an item or document error, got {other:?}"),
        }
    }

    #[test]
    fn the_shipped_demo_catalogue_is_valid() {
        let cat = shipped();
        assert!(cat.items.len() >= 4);
        assert!(cat.for_intake(Tier::Village).count() >= 3);
        let item = cat
            .items
            .iter()
            .find(|i| i.case_type == CaseType::Promised)
            .unwrap();
        assert_eq!(item.item_ref().promised_days, item.promised_days);
    }

    #[test]
    fn the_shipped_catalogue_is_a_marked_sample_of_at_least_twenty_items() {
        let cat = shipped();
        assert!(cat.items.len() >= 20, "{} items", cat.items.len());
        assert!(cat.sample);
        let note = cat.note.as_deref().unwrap();
        assert!(note.contains("示例") && note.contains("不是"), "{note}");
        assert!(cat.version.is_some());
        assert!(cat.published.is_some());
    }

    #[test]
    fn every_shipped_item_is_complete_and_consistent() {
        for item in &shipped().items {
            let code = &item.code;
            // 410402-<DEPT>-<NNN>
            let parts: Vec<&str> = code.split('-').collect();
            assert_eq!(parts.len(), 3, "{code}");
            assert_eq!(parts[0], "410402", "{code}");
            assert!(
                !parts[1].is_empty() && parts[1].chars().all(|c| c.is_ascii_uppercase()),
                "{code}"
            );
            assert!(
                parts[2].len() == 3 && parts[2].chars().all(|c| c.is_ascii_digit()),
                "{code}"
            );
            assert!(
                item.department.starts_with("新华区") || item.department.contains("新华分局"),
                "{code}: {}",
                item.department
            );
            assert!(!item.intake_tiers.is_empty(), "{code}");
            match item.case_type {
                CaseType::Immediate => assert_eq!(item.promised_days, 0, "{code}"),
                CaseType::Promised => {
                    assert!(item.promised_days >= 1, "{code}");
                    assert!(item.promised_days <= item.statutory_days, "{code}");
                }
            }
            assert!(!item.materials.is_empty(), "{code}");
            for m in &item.materials {
                let how = m.how_to_obtain.as_deref().unwrap_or_default();
                assert!(
                    !how.trim().is_empty(),
                    "{code}: {} has no way to obtain it",
                    m.name
                );
            }
        }
    }

    #[test]
    fn the_shipped_catalogue_keeps_the_demo_items_and_covers_the_common_services() {
        let cat = shipped();
        for (code, name) in [
            ("410402-SCJG-001", "食品经营许可证核发"),
            ("410402-SCJG-002", "个体工商户设立登记"),
            (
                "410402-MZ-001",
                "困难残疾人生活补贴和重度残疾人护理补贴申请",
            ),
            ("410402-YB-001", "城乡居民基本医疗保险参保登记"),
            ("410402-LL-001", "老年人优待证办理"),
        ] {
            assert_eq!(cat.get(code).unwrap().name, name);
        }
        let named = |part: &str| {
            cat.items
                .iter()
                .find(|i| i.name.contains(part))
                .unwrap_or_else(|| panic!("no item named like {part}"))
        };
        for part in [
            "企业设立登记",
            "高龄津贴",
            "城乡居民基本养老保险参保登记",
            "城乡居民基本养老保险待遇领取",
            "临时救助",
            "特困人员认定",
            "残疾人证",
            "独生子女父母光荣证",
            "生育登记",
            "就业创业证",
            "医疗救助",
            "农村危房改造",
            "户籍类证明",
        ] {
            named(part);
        }
        // Minimum living allowance: taken in at village and town, decided by the district.
        let dibao = named("最低生活保障");
        assert_eq!(dibao.handling_tier, Tier::District);
        assert_eq!(dibao.department, "新华区民政局");
        assert!(dibao.intake_tiers.contains(&Tier::Village));
        assert!(dibao.intake_tiers.contains(&Tier::Town));
        assert!(dibao.materials.iter().any(|m| m.necessity == 2));
        // The residence permit is the police's.
        assert_eq!(named("居住证").department, "平顶山市公安局新华分局");
        // Some items must be done in person, some results can be posted, some materials can
        // follow later.
        assert!(cat.items.iter().any(|i| !i.proxy_allowed));
        assert!(cat.items.iter().any(|i| i.courier_delivery));
        assert!(
            cat.items
                .iter()
                .flat_map(|i| &i.materials)
                .any(|m| m.necessity == 3)
        );
        assert!(cat.items.iter().any(|i| i.case_type == CaseType::Immediate));
        assert!(cat.for_intake(Tier::Village).count() >= 15);
    }

    #[test]
    fn a_centre_sees_the_marks_and_only_its_own_items() {
        let cat = shipped();
        let village = cat.for_tier(Tier::Village);
        assert!(village.sample);
        assert_eq!(
            (&village.version, village.published, &village.note),
            (&cat.version, cat.published, &cat.note)
        );
        assert_eq!(village.items.len(), cat.for_intake(Tier::Village).count());
        assert!(village.items.len() < cat.items.len());
        assert!(
            village
                .items
                .iter()
                .all(|i| i.intake_tiers.contains(&Tier::Village))
        );
    }

    #[test]
    fn an_official_catalogue_omits_the_sample_marks() {
        let cat = edited(|doc| {
            let o = doc.as_object_mut().unwrap();
            for key in ["version", "published", "sample", "note"] {
                o.remove(key);
            }
            for item in doc["items"].as_array_mut().unwrap() {
                for m in item["materials"].as_array_mut().unwrap() {
                    m.as_object_mut().unwrap().remove("how_to_obtain");
                }
            }
        })
        .unwrap();
        assert!(!cat.sample);
        assert_eq!((cat.version, cat.published, cat.note), (None, None, None));
        assert!(cat.items[0].materials[0].how_to_obtain.is_none());
        // Nothing unset is written back either.
        let json = serde_json::to_string(&Catalogue {
            items: vec![],
            ..Catalogue::default()
        })
        .unwrap();
        assert_eq!(json, r#"{"items":[]}"#);
    }

    #[test]
    fn the_shipped_catalogue_survives_a_round_trip() {
        let cat = shipped();
        let json = serde_json::to_string(&cat).unwrap();
        assert!(json.contains(r#""published":"2026-"#), "{}", &json[..200]);
        assert_eq!(Catalogue::from_json(&json).unwrap(), cat);
    }

    #[test]
    fn bad_document_fields_are_refused() {
        assert_eq!(
            problem(edited(|d| d["note"] = serde_json::Value::Null)),
            "a sample catalogue says so in its note"
        );
        assert!(edited(|d| d["note"] = serde_json::json!("  ")).is_err());
        assert!(edited(|d| d["version"] = serde_json::json!("")).is_err());
        assert!(matches!(
            edited(|d| d["published"] = serde_json::json!("2026-13-01")),
            Err(CatalogueError::Parse(_))
        ));
        assert!(matches!(
            edited(|d| d["official"] = serde_json::json!(true)),
            Err(CatalogueError::Parse(_))
        ));
        assert!(matches!(
            edited(|d| d["items"][0]["materials"][0]["how_to_get"] = serde_json::json!("x")),
            Err(CatalogueError::Parse(_))
        ));
    }

    #[test]
    fn bad_materials_are_refused() {
        assert_eq!(
            problem(edited(
                |d| d["items"][1]["materials"][0]["how_to_obtain"] = serde_json::json!(" ")
            )),
            "how to obtain it is required"
        );
        assert_eq!(
            problem(edited(
                |d| d["items"][1]["materials"][0]["name"] = serde_json::json!("")
            )),
            "the material's name is required"
        );
        assert_eq!(
            problem(edited(|d| {
                let name = d["items"][1]["materials"][0]["name"].clone();
                d["items"][1]["materials"][1]["name"] = name;
            })),
            "a material is listed twice"
        );
        assert_eq!(
            problem(edited(
                |d| d["items"][1]["materials"] = serde_json::json!([])
            )),
            "at least one required material (necessity 1) is listed"
        );
        assert_eq!(
            problem(edited(|d| {
                d["items"][3]["materials"] = serde_json::json!([
                    {"name": "居民身份证", "necessity": 2, "how_to_obtain": "本人持有"}
                ]);
            })),
            "at least one required material (necessity 1) is listed"
        );
        assert_eq!(
            problem(edited(
                |d| d["items"][1]["materials"][0]["necessity"] = serde_json::json!(4)
            )),
            "the material's necessity must be from 1 to 3"
        );
        let long = "材".repeat(MAX_TEXT + 1);
        assert!(
            edited(|d| d["items"][1]["materials"][0]["how_to_obtain"] = serde_json::json!(long))
                .is_err()
        );
    }

    #[test]
    fn inconsistent_items_are_refused() {
        let mut cat = shipped();
        let dup = cat.items[0].clone();
        cat.items.push(dup);
        assert!(matches!(cat.validate(), Err(CatalogueError::Duplicate(_))));

        let mut cat = shipped();
        let i = cat
            .items
            .iter()
            .position(|i| i.case_type == CaseType::Immediate)
            .unwrap();
        cat.items[i].promised_days = 3;
        assert!(matches!(cat.validate(), Err(CatalogueError::Item(_))));

        let mut cat = shipped();
        cat.items[0].intake_tiers.clear();
        assert!(cat.validate().is_err());

        let mut cat = shipped();
        cat.items[0].department = " ".into();
        assert!(matches!(cat.validate(), Err(CatalogueError::Item(_))));

        let mut cat = shipped();
        let i = cat
            .items
            .iter()
            .position(|i| i.case_type == CaseType::Promised)
            .unwrap();
        cat.items[i].promised_days = cat.items[i].statutory_days + 1;
        assert!(matches!(cat.validate(), Err(CatalogueError::Item(_))));
        assert!(Catalogue::from_json("{\"items\": [{}]}").is_err());
    }

    /// A promised item with three materials, as a form would send it.
    fn input() -> ItemInput {
        ItemInput {
            code: "410402-TEST-001".into(),
            name: "测试事项".into(),
            department: "新华区民政局".into(),
            co_departments: "新华区财政局、新华区残疾人联合会".into(),
            item_type: "payment".into(),
            case_type: "promised".into(),
            statutory_days: "20".into(),
            promised_days: "10".into(),
            max_visits: "1".into(),
            fees: String::new(),
            handling_tier: "district".into(),
            intake_tiers: vec!["town".into(), "village".into()],
            proxy_allowed: true,
            courier_delivery: false,
            materials: vec![
                MaterialInput {
                    name: "申请书".into(),
                    necessity: "1".into(),
                    original: true,
                    count: "1".into(),
                    how_to_obtain: "窗口领取".into(),
                },
                MaterialInput {
                    name: "户口簿".into(),
                    necessity: "1".into(),
                    ..MaterialInput::default()
                },
                MaterialInput {
                    name: "诊断证明".into(),
                    necessity: "3".into(),
                    count: "2".into(),
                    ..MaterialInput::default()
                },
            ],
        }
    }

    type Edit = Box<dyn FnOnce(&mut ItemInput)>;
    type Refused = (ItemField, Option<usize>, ItemProblem);

    /// The field (and material) the edited input is refused on.
    fn refused(edit: impl FnOnce(&mut ItemInput)) -> (ItemField, Option<usize>, ItemProblem) {
        let mut i = input();
        edit(&mut i);
        let e = i
            .to_item()
            .and_then(|item| item.validate().map(|_| item))
            .unwrap_err();
        assert_eq!(e.code, i.code.trim());
        assert!(!e.message_zh().is_empty() && !e.message_en().is_empty());
        (e.field, e.material, e.problem)
    }

    #[test]
    fn a_typed_item_becomes_a_valid_item_and_back() {
        let item = input().to_item().unwrap();
        item.validate().unwrap();
        assert_eq!(item.co_departments, ["新华区财政局", "新华区残疾人联合会"]);
        assert_eq!(item.item_type, Some(ItemType::Payment));
        assert_eq!(item.materials[2].count, Some(2));
        assert_eq!(item.materials[1].count, None);
        assert_eq!(ItemInput::from_item(&item).to_item().unwrap(), item);
        assert_eq!(ItemType::parse("21"), Some(ItemType::PublicService));
        // A town may handle what towns and villages take in.
        let mut town = input();
        town.handling_tier = "town".into();
        town.to_item().unwrap().validate().unwrap();
    }

    #[test]
    fn each_bad_field_is_refused_by_name() {
        use ItemField as F;
        use ItemProblem as P;
        let cases: Vec<(Edit, Refused)> = vec![
            (
                Box::new(|i| i.statutory_days = "-3".into()),
                (F::StatutoryDays, None, P::NotAWholeNumber),
            ),
            (
                Box::new(|i| i.promised_days = "2.5".into()),
                (F::PromisedDays, None, P::NotAWholeNumber),
            ),
            (
                Box::new(|i| i.promised_days = "30".into()),
                (F::PromisedDays, None, P::PromisedAboveStatutory),
            ),
            (
                Box::new(|i| i.promised_days = "0".into()),
                (F::PromisedDays, None, P::PromisedNeedsDays),
            ),
            (
                Box::new(|i| i.case_type = "immediate".into()),
                (F::PromisedDays, None, P::ImmediateHasPromisedDays),
            ),
            (
                Box::new(|i| i.case_type = "soon".into()),
                (F::CaseType, None, P::UnknownValue),
            ),
            (
                Box::new(|i| i.statutory_days = "99999999999".into()),
                (
                    F::StatutoryDays,
                    None,
                    P::OutOfRange {
                        min: 0,
                        max: MAX_PROMISED_DAYS,
                    },
                ),
            ),
            (
                Box::new(|i| i.intake_tiers.push("province".into())),
                (F::IntakeTiers, None, P::UnknownValue),
            ),
            (
                Box::new(|i| i.intake_tiers.push("town".into())),
                (F::IntakeTiers, None, P::TierTwice),
            ),
            (
                Box::new(|i| i.intake_tiers.clear()),
                (F::IntakeTiers, None, P::Required),
            ),
            (
                Box::new(|i| i.handling_tier = "county".into()),
                (F::HandlingTier, None, P::UnknownValue),
            ),
            (
                Box::new(|i| i.handling_tier = "village".into()),
                (F::HandlingTier, None, P::HandlingBelowIntake),
            ),
            (
                Box::new(|i| i.name = "  ".into()),
                (F::Name, None, P::Required),
            ),
            (
                Box::new(|i| i.name = "名".repeat(MAX_SHORT + 1)),
                (F::Name, None, P::TooLong(MAX_SHORT)),
            ),
            (
                Box::new(|i| i.code = String::new()),
                (F::Code, None, P::Required),
            ),
            (
                Box::new(|i| i.code = "410402/../x".into()),
                (F::Code, None, P::CodeCharacters),
            ),
            (
                Box::new(|i| i.department = String::new()),
                (F::Department, None, P::Required),
            ),
            (
                Box::new(|i| i.co_departments = "新华区民政局".into()),
                (F::CoDepartments, None, P::CoDepartmentIsLead),
            ),
            (
                Box::new(|i| i.co_departments = "甲局\n甲局".into()),
                (F::CoDepartments, None, P::CoDepartmentTwice),
            ),
            (
                Box::new(|i| i.item_type = "tax".into()),
                (F::ItemType, None, P::UnknownValue),
            ),
            (
                Box::new(|i| i.max_visits = "0".into()),
                (
                    F::MaxVisits,
                    None,
                    P::OutOfRange {
                        min: 1,
                        max: MAX_VISITS,
                    },
                ),
            ),
            (
                Box::new(|i| i.max_visits = "-1".into()),
                (F::MaxVisits, None, P::NotAWholeNumber),
            ),
            (
                Box::new(|i| i.fees = "费".repeat(MAX_TEXT + 1)),
                (F::Fees, None, P::TooLong(MAX_TEXT)),
            ),
            (
                Box::new(|i| i.materials.clear()),
                (F::Materials, None, P::NoRequiredMaterial),
            ),
            (
                Box::new(|i| i.materials[2].name = "户口簿".into()),
                (F::MaterialName, Some(2), P::MaterialTwice),
            ),
            (
                Box::new(|i| i.materials[1].name = String::new()),
                (F::MaterialName, Some(1), P::Required),
            ),
            (
                Box::new(|i| i.materials[1].necessity = "4".into()),
                (F::MaterialNecessity, Some(1), P::UnknownValue),
            ),
            (
                Box::new(|i| i.materials[2].count = "0".into()),
                (
                    F::MaterialCount,
                    Some(2),
                    P::OutOfRange {
                        min: 1,
                        max: MAX_COPIES,
                    },
                ),
            ),
            (
                Box::new(|i| i.materials[2].count = "-2".into()),
                (F::MaterialCount, Some(2), P::NotAWholeNumber),
            ),
            (
                Box::new(|i| i.materials[0].how_to_obtain = "获".repeat(MAX_TEXT + 1)),
                (F::MaterialHowToObtain, Some(0), P::TooLong(MAX_TEXT)),
            ),
            (
                Box::new(|i| {
                    i.materials[0].necessity = "2".into();
                    i.materials[1].necessity = "3".into();
                }),
                (F::Materials, None, P::NoRequiredMaterial),
            ),
        ];
        for (n, (edit, want)) in cases.into_iter().enumerate() {
            assert_eq!(refused(edit), want, "case {n}");
        }
    }

    #[test]
    fn a_duplicate_code_and_a_bad_file_reference_are_refused() {
        let mut cat = shipped();
        let mut item = input().to_item().unwrap();
        item.code = cat.items[0].code.clone();
        cat.items.push(item.clone());
        assert_eq!(
            cat.validate(),
            Err(CatalogueError::Duplicate(item.code.clone()))
        );
        item.code = "410402-TEST-002".into();
        item.materials[1].blank_form = Some(FileRef {
            sha256: ContentHash::parse(&"a".repeat(64)).unwrap(),
            name: "表.pdf".into(),
            media_type: MediaType::Pdf,
            size: 0,
        });
        let e = item.validate().unwrap_err();
        assert_eq!(
            (e.field, e.material, e.problem),
            (
                ItemField::MaterialFile,
                Some(1),
                ItemProblem::FileIncomplete
            )
        );
        assert!(e.message_zh().contains("第 2 项材料"), "{}", e.message_zh());
    }

    #[test]
    fn files_and_new_fields_survive_a_round_trip_and_old_files_still_parse() {
        let mut cat = shipped();
        cat.items[0].materials[0].blank_form = Some(FileRef {
            sha256: ContentHash::parse(&"b".repeat(64)).unwrap(),
            name: "申请书.pdf".into(),
            media_type: MediaType::Pdf,
            size: 1234,
        });
        let json = serde_json::to_string(&cat).unwrap();
        assert!(json.contains(r#""blank_form":{"sha256":"bbbb"#), "{json}");
        assert_eq!(Catalogue::from_json(&json).unwrap(), cat);
        // A catalogue written before these fields existed reads with them unset.
        let old = edited(|d| {
            for item in d["items"].as_array_mut().unwrap() {
                let o = item.as_object_mut().unwrap();
                for k in ["co_departments", "item_type", "max_visits", "fees"] {
                    o.remove(k);
                }
            }
        })
        .unwrap();
        assert!(
            old.items
                .iter()
                .all(|i| i.item_type.is_none() && i.max_visits.is_none())
        );
        // The shipped sample fills them in.
        let shipped = shipped();
        assert!(
            shipped
                .items
                .iter()
                .all(|i| i.item_type.is_some() && i.max_visits.is_some())
        );
        assert!(shipped.items.iter().any(|i| i.fees.is_some()));
        assert!(shipped.items.iter().any(|i| !i.co_departments.is_empty()));
    }
}
