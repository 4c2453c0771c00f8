//! Why a catalogue or one of its items is refused: each refusal names the item, the field and,
//! for a material, its index, so that a form shows the message beside the field.

use super::*;

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
