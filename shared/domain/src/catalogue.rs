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
//!   "申请人户籍所在地派出所开具".
//!
//! Unknown fields are refused, so a typo never silently drops a setting.
//!
//! # What a valid catalogue guarantees
//!
//! Codes are unique; codes, names and departments are not blank; the time limits agree with the
//! case type; every item can be taken in somewhere and lists at least one material, one of them
//! required; material names are not blank and unique within their item (a pre-review names the
//! material it judges); a `how_to_obtain`, `version` or `note` that is given is not blank.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::Bilingual;
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
    #[error("item {code}: {problem}")]
    Item { code: String, problem: &'static str },
    #[error("catalogue: {problem}")]
    Document { problem: &'static str },
}

impl Bilingual for CatalogueError {
    fn code(&self) -> &'static str {
        match self {
            CatalogueError::Parse(_) => "catalogue.parse",
            CatalogueError::Duplicate(_) => "catalogue.duplicate",
            CatalogueError::Item { .. } => "catalogue.item",
            CatalogueError::Document { .. } => "catalogue.document",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            CatalogueError::Parse(e) => format!("事项目录格式有误：{e}"),
            CatalogueError::Duplicate(c) => format!("事项 {c} 重复"),
            CatalogueError::Item { code, problem } => format!("事项 {code} 有误：{problem}"),
            CatalogueError::Document { problem } => format!("事项目录有误：{problem}"),
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
            let bad = |problem| CatalogueError::Item {
                code: item.code.clone(),
                problem,
            };
            if !fits(&item.code, MAX_SHORT) || !fits(&item.name, MAX_SHORT) {
                return Err(bad("code and name are required (at most 200 characters)"));
            }
            if !seen.insert(item.code.as_str()) {
                return Err(CatalogueError::Duplicate(item.code.clone()));
            }
            if !fits(&item.department, MAX_SHORT) {
                return Err(bad(
                    "the lead department is required (at most 200 characters)",
                ));
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
            validate_materials(&item.materials).map_err(bad)?;
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

/// An item's materials: at least one, one of them required (every application at least shows
/// who applies, and a pre-review has something to judge); names present and unique (a
/// pre-review names the material it judges); a way to obtain one, when given, not blank.
fn validate_materials(materials: &[Material]) -> Result<(), &'static str> {
    if !materials.iter().any(|m| m.necessity == 1) {
        return Err("at least one required material (necessity 1) is listed");
    }
    let mut names = std::collections::BTreeSet::new();
    for m in materials {
        if !(1..=3).contains(&m.necessity) {
            return Err("material necessity must be 1, 2 or 3");
        }
        if !fits(&m.name, MAX_SHORT) {
            return Err("a material needs a name (at most 200 characters)");
        }
        if !names.insert(m.name.trim()) {
            return Err("a material is listed twice");
        }
        if let Some(how) = &m.how_to_obtain
            && !fits(how, MAX_TEXT)
        {
            return Err(
                "how to obtain a material, when given, is not blank nor over 2000 characters",
            );
        }
    }
    Ok(())
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

    fn problem(result: Result<Catalogue, CatalogueError>) -> &'static str {
        match result {
            Err(CatalogueError::Item { problem, .. } | CatalogueError::Document { problem }) => {
                problem
            }
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
            "how to obtain a material, when given, is not blank nor over 2000 characters"
        );
        assert_eq!(
            problem(edited(
                |d| d["items"][1]["materials"][0]["name"] = serde_json::json!("")
            )),
            "a material needs a name (at most 200 characters)"
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
            "material necessity must be 1, 2 or 3"
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
        assert!(matches!(cat.validate(), Err(CatalogueError::Item { .. })));

        let mut cat = shipped();
        cat.items[0].intake_tiers.clear();
        assert!(cat.validate().is_err());

        let mut cat = shipped();
        cat.items[0].department = " ".into();
        assert!(matches!(cat.validate(), Err(CatalogueError::Item { .. })));

        let mut cat = shipped();
        let i = cat
            .items
            .iter()
            .position(|i| i.case_type == CaseType::Promised)
            .unwrap();
        cat.items[i].promised_days = cat.items[i].statutory_days + 1;
        assert!(matches!(cat.validate(), Err(CatalogueError::Item { .. })));
        assert!(Catalogue::from_json("{\"items\": [{}]}").is_err());
    }
}
