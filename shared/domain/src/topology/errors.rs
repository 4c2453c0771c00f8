//! Why a district tree is refused, each reason naming the entry and, for an edit, the form field.

use super::*;

/// Why the tree's data was refused. Every variant names the offending code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    /// The data is not valid JSON of the expected shape.
    #[error("topology data cannot be read: {detail}")]
    Parse {
        /// The JSON parser's message (with line and column).
        detail: String,
    },
    /// A code is not a valid 12-digit station code.
    #[error("station code {code:?} is invalid: {error}")]
    InvalidCode {
        /// The text as written in the data.
        code: String,
        /// Why it does not parse.
        #[source]
        error: StationCodeError,
    },
    /// The root's code names a town or village.
    #[error("the district's code {code} is a {tier} code, not a district code")]
    NotADistrict {
        /// The root's code.
        code: StationCode,
        /// The tier that code names.
        tier: Tier,
    },
    /// A station's code belongs to another county.
    #[error("station {code} is outside district {district}")]
    OutsideDistrict {
        /// The station's code.
        code: StationCode,
        /// The district's code.
        district: StationCode,
    },
    /// A code appears twice (including a station repeating the district's code).
    #[error("station {code} is listed twice")]
    Duplicate {
        /// The repeated code.
        code: StationCode,
    },
    /// A village's town is not in the list.
    #[error("village {code} belongs to town {parent}, which is not listed")]
    MissingParent {
        /// The village's code.
        code: StationCode,
        /// The town its code names.
        parent: StationCode,
    },
    /// A validity period ends before it starts.
    #[error("station {code} is valid until {valid_until}, before it is valid from {valid_from}")]
    InvertedValidity {
        /// The station's code.
        code: StationCode,
        /// First day, as written.
        valid_from: Date,
        /// Last day, as written.
        valid_until: Date,
    },
    /// A validity period reaches outside the parent's: the station would be active while its
    /// parent is not.
    #[error("station {code} is valid outside the validity period of its parent {parent}")]
    OutsideParentValidity {
        /// The station's code.
        code: StationCode,
        /// Its parent's code.
        parent: StationCode,
    },
    /// A name is empty or only whitespace.
    #[error("station {code} has an empty name")]
    EmptyName {
        /// The station's code.
        code: StationCode,
    },
    /// The kind does not fit the tier the code names (a village recorded as a street).
    #[error("station {code} is a {tier} and cannot be a {}", kind.label_en())]
    KindMismatch {
        code: StationCode,
        tier: Tier,
        kind: CentreKind,
    },
    /// A text field is longer than allowed.
    #[error("the {field} of station {code} is longer than {max} characters")]
    TooLong {
        code: StationCode,
        field: &'static str,
        max: usize,
    },
    /// A predecessor or successor names a code that is not listed.
    #[error("station {code} is linked to {other}, which is not listed")]
    LinkUnknown { code: StationCode, other: String },
    /// A predecessor or successor link is not answered by the other side, or links two tiers.
    #[error("station {code} and {other} do not name each other as predecessor and successor")]
    LinkMismatch {
        code: StationCode,
        other: StationCode,
    },
    /// The old code of a move must end the day before the new code starts.
    #[error("station {code} must end the day before its successor {other} starts")]
    LinkDates {
        code: StationCode,
        other: StationCode,
    },
}

impl Bilingual for TopologyError {
    fn code(&self) -> &'static str {
        match self {
            Self::Parse { .. } => "topology.parse",
            Self::InvalidCode { .. } => "topology.invalid_code",
            Self::NotADistrict { .. } => "topology.not_a_district",
            Self::OutsideDistrict { .. } => "topology.outside_district",
            Self::Duplicate { .. } => "topology.duplicate",
            Self::MissingParent { .. } => "topology.missing_parent",
            Self::InvertedValidity { .. } => "topology.inverted_validity",
            Self::OutsideParentValidity { .. } => "topology.outside_parent_validity",
            Self::EmptyName { .. } => "topology.empty_name",
            Self::KindMismatch { .. } => "topology.kind_mismatch",
            Self::TooLong { .. } => "topology.too_long",
            Self::LinkUnknown { .. } => "topology.link_unknown",
            Self::LinkMismatch { .. } => "topology.link_mismatch",
            Self::LinkDates { .. } => "topology.link_dates",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            Self::Parse { detail } => format!("区划树数据无法读取：{detail}"),
            Self::InvalidCode { code, error } => format!(
                "站点代码“{}”无效：{}",
                code.escape_debug(),
                error.message_zh()
            ),
            Self::NotADistrict { code, tier } => {
                format!("区县代码 {code} 是{}代码，不是区县代码", tier.label_zh())
            }
            Self::OutsideDistrict { code, district } => {
                format!("站点 {code} 不属于区县 {district}")
            }
            Self::Duplicate { code } => format!("站点 {code} 重复出现"),
            Self::MissingParent { code, parent } => {
                format!("村（社区）{code} 所属的乡镇（街道）{parent} 未列出")
            }
            Self::InvertedValidity {
                code,
                valid_from,
                valid_until,
            } => format!("站点 {code} 的有效期截止日 {valid_until} 早于起始日 {valid_from}"),
            Self::OutsideParentValidity { code, parent } => {
                format!("站点 {code} 的有效期超出其上级 {parent} 的有效期")
            }
            Self::EmptyName { code } => format!("站点 {code} 的名称为空"),
            Self::KindMismatch { code, tier, kind } => format!(
                "站点 {code} 是{}，类型不能是“{}”",
                tier.label_zh(),
                kind.label_zh()
            ),
            Self::TooLong { code, field, max } => {
                format!("站点 {code} 的{}不能超过 {max} 个字", field_zh(field))
            }
            Self::LinkUnknown { code, other } => format!(
                "站点 {code} 的调整隶属记录指向未列出的代码“{}”",
                other.escape_debug()
            ),
            Self::LinkMismatch { code, other } => {
                format!("站点 {code} 与 {other} 的调整隶属记录不一致")
            }
            Self::LinkDates { code, other } => {
                format!("站点 {code} 须在新代码 {other} 启用的前一天撤销")
            }
        }
    }
}

/// A field's name in Chinese, for messages.
pub(crate) fn field_zh(field: &str) -> &'static str {
    match field {
        "name" => "名称",
        "address" => "地址",
        "contact" => "联系方式",
        "kind" => "类型",
        "code" => "代码",
        "parent" => "上级",
        _ => "内容",
    }
}
