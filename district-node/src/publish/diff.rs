//! What a new bundle would change, in words an administrator reads before signing: the centres,
//! the items, the holidays and the agents added, removed or changed since the last bundle, each
//! change field by field (`name: 老城街道 → 新城街道`).
//!
//! Everything is compared as the JSON the bundle carries, keyed by what identifies an entry
//! (a centre's or an item's code, a year and holiday name, a badge number), so a field added to a
//! domain type later shows up here without new code. Agents' ID numbers and phones are masked
//! before they are compared: the diff is a page, and pages mask personal data.

use std::collections::BTreeMap;

use bangban_domain::agent::Agent;
use bangban_kit::policy::Policy;
use serde_json::Value;

use crate::admin::field_changes;

/// How an entry changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Added,
    Removed,
    Changed,
}

/// One entry that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    /// What the entry is, e.g. `410402001000 曙光街街道`, `2027 春节`, `BB-0012 李四`.
    pub subject: String,
    /// Field by field, `field: before → after` (for a changed entry).
    pub fields: Vec<String>,
}

/// The changes of one part of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// `topology`, `catalogue`, `calendar` or `agents`.
    pub part: &'static str,
    pub entries: Vec<Entry>,
}

/// The whole difference, part by part (parts without changes are left out).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    pub parts: Vec<Part>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// How many entries changed in all.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.entries.len()).sum()
    }

    /// One line for the audit and the bundle's summary, e.g. `centres 1, items 2, agents 3`.
    pub fn counts(&self) -> String {
        self.parts
            .iter()
            .map(|p| format!("{} {}", p.part, p.entries.len()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// From `old` (the last bundle's policy and agents, or the files in force when none was
/// published) to `new` (the drafts and the registry).
pub fn diff(old: &Policy, old_agents: &[Agent], new: &Policy, new_agents: &[Agent]) -> Diff {
    let parts = [
        (
            "topology",
            keyed(stations(old), stations(new), &["code"], &["code", "name"]),
        ),
        (
            "catalogue",
            keyed(
                array(&old.catalogue, "items"),
                array(&new.catalogue, "items"),
                &["code"],
                &["code", "name"],
            ),
        ),
        (
            "calendar",
            keyed(
                holidays(old),
                holidays(new),
                &["year", "name"],
                &["year", "name"],
            ),
        ),
        (
            "agents",
            keyed(
                masked(old_agents),
                masked(new_agents),
                &["badge_no"],
                &["badge_no", "name"],
            ),
        ),
    ];
    Diff {
        parts: parts
            .into_iter()
            .filter(|(_, entries)| !entries.is_empty())
            .map(|(part, entries)| Part { part, entries })
            .collect(),
    }
}

fn array<T: serde::Serialize>(value: &T, field: &str) -> Vec<Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(mut o)) => match o.remove(field) {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn stations(policy: &Policy) -> Vec<Value> {
    policy
        .topology
        .as_ref()
        .map(|t| array(t.spec(), "stations"))
        .unwrap_or_default()
}

/// Each holiday of each year as `{year, name, off, makeup}`, and each year's `source` as a
/// pseudo-holiday named `（来源）` so that a corrected notice title shows too.
fn holidays(policy: &Policy) -> Vec<Value> {
    let mut out = Vec::new();
    for year in array(&policy.calendar, "years") {
        let y = year.get("year").cloned().unwrap_or(Value::Null);
        out.push(serde_json::json!({
            "year": y, "name": "（来源）", "source": year.get("source").cloned().unwrap_or(Value::Null)
        }));
        if let Some(Value::Array(hs)) = year.get("holidays") {
            for h in hs {
                let mut h = h.clone();
                if let Value::Object(o) = &mut h {
                    o.insert("year".to_owned(), y.clone());
                }
                out.push(h);
            }
        }
    }
    out
}

/// The agents as JSON with the ID number and the phone masked.
fn masked(agents: &[Agent]) -> Vec<Value> {
    agents
        .iter()
        .filter_map(|a| {
            let mut v = serde_json::to_value(a).ok()?;
            if let Value::Object(o) = &mut v {
                o.insert("id_number".to_owned(), Value::from(a.id_number.masked()));
                o.insert("phone".to_owned(), Value::from(a.phone.masked()));
            }
            Some(v)
        })
        .collect()
}

/// The text of `fields` of `v`, joined by spaces.
fn label(v: &Value, fields: &[&str]) -> String {
    fields
        .iter()
        .filter_map(|f| match v.get(*f) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn keyed(old: Vec<Value>, new: Vec<Value>, key: &[&str], subject: &[&str]) -> Vec<Entry> {
    let index = |values: Vec<Value>| -> BTreeMap<String, Value> {
        values.into_iter().map(|v| (label(&v, key), v)).collect()
    };
    let (old, new) = (index(old), index(new));
    let mut entries = Vec::new();
    for (k, n) in &new {
        match old.get(k) {
            None => entries.push(Entry {
                kind: Kind::Added,
                subject: label(n, subject),
                fields: Vec::new(),
            }),
            Some(o) if o != n => entries.push(Entry {
                kind: Kind::Changed,
                subject: label(n, subject),
                fields: field_changes(Some(o), Some(n)),
            }),
            Some(_) => {}
        }
    }
    for (k, o) in &old {
        if !new.contains_key(k) {
            entries.push(Entry {
                kind: Kind::Removed,
                subject: label(o, subject),
                fields: Vec::new(),
            });
        }
    }
    entries
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bangban_domain::calendar::WorkingCalendar;
    use bangban_domain::catalogue::Catalogue;
    use bangban_domain::topology::Topology;

    fn files() -> Policy {
        Policy {
            calendar: WorkingCalendar::from_json(include_str!(
                "../../../deploy/policy/calendar.json"
            ))
            .unwrap(),
            catalogue: Catalogue::from_json(include_str!("../../../deploy/policy/catalogue.json"))
                .unwrap(),
            topology: Some(
                Topology::from_json(include_str!("../../../deploy/topology/xinhua.json")).unwrap(),
            ),
            agents: None,
        }
    }

    #[test]
    fn the_same_policy_has_no_difference() {
        let p = files();
        assert!(diff(&p, &[], &p, &[]).is_empty());
    }

    #[test]
    fn each_part_names_what_was_added_removed_and_changed() {
        let old = files();
        let mut new = old.clone();
        let removed = new.catalogue.items.remove(0);
        new.catalogue.items[0].statutory_days += 5;
        let changed = new.catalogue.items[0].clone();
        let mut spec = new.topology.as_ref().unwrap().spec().clone();
        spec.stations[0].name = "新名字街道".to_owned();
        let renamed = spec.stations[0].code.clone();
        new.topology = Some(Topology::from_spec(&spec).unwrap());
        let d = diff(&old, &[], &new, &[]);
        assert_eq!(d.len(), 3, "{d:?}");
        let centres = &d
            .parts
            .iter()
            .find(|p| p.part == "topology")
            .unwrap()
            .entries;
        assert_eq!(centres[0].kind, Kind::Changed);
        assert_eq!(centres[0].subject, format!("{renamed} 新名字街道"));
        assert!(centres[0].fields[0].starts_with("name: "), "{centres:?}");
        assert!(centres[0].fields[0].ends_with("→ 新名字街道"));
        let items = &d
            .parts
            .iter()
            .find(|p| p.part == "catalogue")
            .unwrap()
            .entries;
        assert!(
            items
                .iter()
                .any(|e| e.kind == Kind::Removed && e.subject.starts_with(&removed.code))
        );
        let update = items.iter().find(|e| e.kind == Kind::Changed).unwrap();
        assert!(update.subject.starts_with(&changed.code));
        assert_eq!(
            update.fields,
            vec![format!(
                "statutory_days: {} → {}",
                changed.statutory_days - 5,
                changed.statutory_days
            )]
        );
        assert_eq!(d.counts(), "topology 1, catalogue 2");
    }

    #[test]
    fn a_changed_holiday_is_named_by_year_and_name() {
        let old = files();
        let mut spec = old.calendar.spec().clone();
        spec.years[0].holidays[0].makeup.clear();
        let new = Policy {
            calendar: WorkingCalendar::try_from(spec).unwrap(),
            ..old.clone()
        };
        let d = diff(&old, &[], &new, &[]);
        let e = &d.parts[0].entries[0];
        assert_eq!(d.parts[0].part, "calendar");
        assert_eq!(e.subject, "2026 元旦");
        assert_eq!(e.fields, vec![r#"makeup: ["2026-01-04"] → []"#.to_owned()]);
    }
}
