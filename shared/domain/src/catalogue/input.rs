//! An item as a form or the JSON API types it (every field text), turned into a checked
//! [`CatalogueItem`] or refused by field.

use super::*;

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
