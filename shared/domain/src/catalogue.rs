//! The catalogue of service items (事项目录), as the district publishes it: what each item is,
//! whether it is done on the spot or by a promised deadline, which tiers may take it in and which
//! tier handles it. Policy data, read from JSON; a case keeps an [`ItemRef`] snapshot at intake.

use serde::{Deserialize, Serialize};

use crate::Bilingual;
use crate::event::{CaseType, ItemRef, MAX_PROMISED_DAYS};
use crate::station::Tier;

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
    /// Where and how the applicant obtains the material (shown on the one-time notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how_to_obtain: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CatalogueItem {
    pub code: String,
    pub name: String,
    pub department: String,
    pub case_type: CaseType,
    /// Statutory time limit in working days.
    pub statutory_days: u32,
    /// Promised time limit in working days (0 for immediate items).
    pub promised_days: u32,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub items: Vec<CatalogueItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue is not valid JSON of the expected shape: {0}")]
    Parse(String),
    #[error("item {0} appears twice")]
    Duplicate(String),
    #[error("item {code}: {problem}")]
    Item { code: String, problem: &'static str },
}

impl Bilingual for CatalogueError {
    fn code(&self) -> &'static str {
        match self {
            CatalogueError::Parse(_) => "catalogue.parse",
            CatalogueError::Duplicate(_) => "catalogue.duplicate",
            CatalogueError::Item { .. } => "catalogue.item",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            CatalogueError::Parse(e) => format!("事项目录格式有误：{e}"),
            CatalogueError::Duplicate(c) => format!("事项 {c} 重复"),
            CatalogueError::Item { code, problem } => format!("事项 {code} 有误：{problem}"),
        }
    }
}

impl Catalogue {
    pub fn from_json(json: &str) -> Result<Catalogue, CatalogueError> {
        let cat: Catalogue =
            serde_json::from_str(json).map_err(|e| CatalogueError::Parse(e.to_string()))?;
        cat.validate()?;
        Ok(cat)
    }

    pub fn validate(&self) -> Result<(), CatalogueError> {
        let mut seen = std::collections::BTreeSet::new();
        for item in &self.items {
            let bad = |problem| CatalogueError::Item {
                code: item.code.clone(),
                problem,
            };
            if item.code.trim().is_empty() || item.name.trim().is_empty() {
                return Err(bad("code and name are required"));
            }
            if !seen.insert(item.code.as_str()) {
                return Err(CatalogueError::Duplicate(item.code.clone()));
            }
            match item.case_type {
                CaseType::Immediate if item.promised_days != 0 => {
                    return Err(bad("an immediate item has a promised time limit of 0"));
                }
                CaseType::Promised if item.promised_days == 0 => {
                    return Err(bad("a promised item needs a promised time limit"));
                }
                _ => {}
            }
            if item.promised_days > MAX_PROMISED_DAYS {
                return Err(bad("the promised time limit is out of range"));
            }
            if item.statutory_days > 0 && item.promised_days > item.statutory_days {
                return Err(bad("the promised time limit exceeds the statutory one"));
            }
            if item.intake_tiers.is_empty() {
                return Err(bad("at least one intake tier is required"));
            }
            if item
                .materials
                .iter()
                .any(|m| !(1..=3).contains(&m.necessity))
            {
                return Err(bad("material necessity must be 1, 2 or 3"));
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
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../deploy/policy/catalogue.json");

    #[test]
    fn the_shipped_demo_catalogue_is_valid() {
        let cat = Catalogue::from_json(SHIPPED).unwrap();
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
    fn inconsistent_items_are_refused() {
        let mut cat = Catalogue::from_json(SHIPPED).unwrap();
        let dup = cat.items[0].clone();
        cat.items.push(dup);
        assert!(matches!(cat.validate(), Err(CatalogueError::Duplicate(_))));

        let mut cat = Catalogue::from_json(SHIPPED).unwrap();
        let i = cat
            .items
            .iter()
            .position(|i| i.case_type == CaseType::Immediate)
            .unwrap();
        cat.items[i].promised_days = 3;
        assert!(matches!(cat.validate(), Err(CatalogueError::Item { .. })));

        let mut cat = Catalogue::from_json(SHIPPED).unwrap();
        cat.items[0].intake_tiers.clear();
        assert!(cat.validate().is_err());
        assert!(Catalogue::from_json("{\"items\": [{}]}").is_err());
    }
}
