use super::*;
use crate::station::{TownKind, VillageKind};
use proptest::prelude::*;
use std::collections::BTreeSet;
use time::macros::date;

const XINHUA_JSON: &str = include_str!("../../../../deploy/topology/xinhua.json");

/// The 11 town-level units of DOMAIN.md, in code order.
const TOWNS: [(&str, &str); 11] = [
    ("410402001000", "曙光街街道"),
    ("410402002000", "光明路街道"),
    ("410402003000", "中兴路街道"),
    ("410402004000", "矿工路街道"),
    ("410402005000", "西市场街道"),
    ("410402006000", "新新街街道"),
    ("410402007000", "青石山街道"),
    ("410402008000", "湛河北路街道"),
    ("410402010000", "西高皇街道"),
    ("410402100000", "焦店镇"),
    ("410402400000", "香山街道筹备组"),
];

fn code(s: &str) -> StationCode {
    StationCode::parse(s).unwrap()
}

fn xinhua() -> Topology {
    Topology::from_json(XINHUA_JSON).unwrap()
}

fn station(code: &str, name: &str) -> StationSpec {
    StationSpec {
        code: code.to_owned(),
        name: name.to_owned(),
        placeholder: false,
        name_unconfirmed: false,
        valid_from: date!(2022 - 01 - 01),
        valid_until: None,
        note: None,
        kind: None,
        address: None,
        contact: None,
        predecessor: None,
        successor: None,
    }
}

/// District 410402, towns 001 and 002, villages 001001 and 001002.
fn small_spec() -> TopologySpec {
    TopologySpec {
        district: DistrictSpec {
            code: "410402000000".to_owned(),
            name: "新华区".to_owned(),
            valid_from: date!(2022 - 01 - 01),
            valid_until: None,
        },
        source: "test".to_owned(),
        stations: vec![
            station("410402001000", "曙光街街道"),
            station("410402002000", "光明路街道"),
            station("410402001001", "甲社区"),
            station("410402001002", "乙社区"),
        ],
    }
}

fn refused(spec: &TopologySpec) -> TopologyError {
    Topology::from_spec(spec).unwrap_err()
}

// --- The shipped tree ----------------------------------------------------------------------

#[test]
fn xinhua_file_has_one_district_eleven_towns_and_sixty_six_villages() {
    let t = xinhua();
    assert_eq!(t.district(), code("410402000000"));
    assert_eq!(t.get(t.district()).unwrap().name, "新华区");
    assert_eq!(t.stations().filter(|s| s.tier == Tier::District).count(), 1);
    assert_eq!(t.towns().count(), 11);
    assert_eq!(t.villages().count(), 66);
    assert_eq!(t.len(), 78);
    assert!(!t.is_empty());
    assert!(!t.source().is_empty());
}

#[test]
fn xinhua_town_names_and_codes_match_the_domain_notes() {
    let t = xinhua();
    let towns: Vec<(String, &str)> = t
        .towns()
        .map(|s| (s.code.to_string(), s.name.as_str()))
        .collect();
    let expected: Vec<(String, &str)> = TOWNS.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect();
    assert_eq!(towns, expected);
    assert_eq!(t.children_of(t.district()).len(), 11);
    // Town codes are confirmed by the statistical codes; only 香山's name is not.
    for town in t.towns() {
        assert!(!town.placeholder, "{}", town.code);
        assert_eq!(
            town.name_unconfirmed,
            town.code == code("410402400000"),
            "{}",
            town.code
        );
    }
}

#[test]
fn xinhua_every_village_hangs_under_one_of_the_eleven_towns() {
    let t = xinhua();
    let towns: BTreeSet<StationCode> = TOWNS.iter().map(|(c, _)| code(c)).collect();
    for village in t.villages() {
        let parent = t.parent_of(village.code).unwrap();
        assert!(towns.contains(&parent), "{}", village.code);
        assert!(t.is_direct_child(parent, village.code));
        assert!(village.placeholder, "{}", village.code);
    }
    for town in &towns {
        assert_eq!(t.children_of(*town).len(), 6, "{town}");
    }
    assert_eq!(t.placeholders(), 66);
    assert_eq!(t.needing_review().count(), 67);
}

#[test]
fn xinhua_jiaodian_is_a_town_with_village_committees() {
    let t = xinhua();
    let jiaodian = code("410402100000");
    assert_eq!(t.get(jiaodian).unwrap().name, "焦店镇");
    assert_eq!(jiaodian.town_kind(), Some(TownKind::Town));
    let villages = t.children_of(jiaodian);
    assert_eq!(villages.len(), 6);
    for v in villages {
        assert_eq!(v.village_kind(), Some(VillageKind::Village), "{v}");
    }
    // Everywhere else, communities.
    for v in t.villages().filter(|v| v.code.parent() != Some(jiaodian)) {
        assert_eq!(v.code.village_kind(), Some(VillageKind::Community));
    }
    assert_eq!(
        code("410402400000").town_kind(),
        Some(TownKind::Other),
        "香山 is a management committee"
    );
}

#[test]
fn xinhua_xinxinjie_lists_its_known_communities_as_placeholders() {
    let t = xinhua();
    let names: Vec<&str> = t
        .children_of(code("410402006000"))
        .into_iter()
        .map(|c| t.get(c).unwrap().name.as_str())
        .collect();
    for known in ["兴华社区", "前进社区", "龙山社区"] {
        assert!(names.contains(&known), "{names:?}");
    }
    assert!(
        t.children_of(code("410402006000"))
            .iter()
            .all(|c| t.get(*c).unwrap().placeholder)
    );
}

#[test]
fn xinhua_is_active_today_and_not_before_its_codes_start() {
    let t = xinhua();
    for s in t.stations() {
        assert!(t.is_active(s.code, date!(2026 - 05 - 01)), "{}", s.code);
        assert!(!t.is_active(s.code, date!(2021 - 12 - 31)), "{}", s.code);
    }
}

#[test]
fn tree_round_trips_through_serde_and_is_validated_on_the_way_in() {
    let t = xinhua();
    let json = serde_json::to_string(&t).unwrap();
    assert!(json.contains(r#""valid_from":"2022-01-01""#), "{json}");
    assert!(json.contains(r#""valid_until":null"#), "{json}");
    let back: Topology = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t);
    assert_eq!(back.spec(), t.spec());

    let bad = json.replacen("410402001001", "410403001001", 1);
    assert!(serde_json::from_str::<Topology>(&bad).is_err());

    let info = serde_json::to_value(t.get(code("410402001000")).unwrap()).unwrap();
    assert_eq!(info["code"], "410402001000");
    assert_eq!(info["tier"], "town");
    assert_eq!(info["valid_until"], serde_json::Value::Null);
}

// --- Queries ---------------------------------------------------------------------------

#[test]
fn direct_child_is_one_tier_down_and_listed() {
    let t = Topology::from_spec(&small_spec()).unwrap();
    let d = code("410402000000");
    let town = code("410402001000");
    let other_town = code("410402002000");
    let village = code("410402001001");
    let sibling = code("410402001002");
    let unknown_village = code("410402001003");
    let unknown_town = code("410402003000");

    assert!(t.is_direct_child(d, town));
    assert!(t.is_direct_child(town, village));
    assert!(t.is_direct_child(town, sibling));

    assert!(!t.is_direct_child(d, village), "grandchild");
    assert!(!t.is_direct_child(village, sibling), "sibling");
    assert!(!t.is_direct_child(town, other_town), "sibling town");
    assert!(!t.is_direct_child(other_town, village), "another town");
    assert!(!t.is_direct_child(town, town), "self");
    assert!(!t.is_direct_child(d, d), "self");
    assert!(!t.is_direct_child(village, town), "upside down");
    assert!(!t.is_direct_child(town, unknown_village), "unknown child");
    assert!(!t.is_direct_child(d, unknown_town), "unknown child");
    assert!(
        !t.is_direct_child(unknown_town, code("410402003001")),
        "unknown both"
    );
    assert!(
        !t.is_direct_child(code("410403000000"), code("410403001000")),
        "another district"
    );
}

#[test]
fn parent_children_and_subtree() {
    let t = Topology::from_spec(&small_spec()).unwrap();
    let d = code("410402000000");
    let town = code("410402001000");
    let other_town = code("410402002000");
    let village = code("410402001001");

    assert_eq!(t.parent_of(d), None);
    assert_eq!(t.parent_of(town), Some(d));
    assert_eq!(t.parent_of(village), Some(town));
    assert_eq!(t.parent_of(code("410402001003")), None, "unlisted");

    assert_eq!(t.children_of(d), vec![town, other_town]);
    assert_eq!(t.children_of(town), vec![village, code("410402001002")]);
    assert_eq!(t.children_of(other_town), vec![]);
    assert_eq!(t.children_of(village), vec![]);
    assert_eq!(t.children_of(code("410402003000")), vec![]);

    assert_eq!(t.subtree(town), vec![town, village, code("410402001002")]);
    assert_eq!(t.subtree(village), vec![village]);
    assert_eq!(t.subtree(other_town), vec![other_town]);
    assert_eq!(t.subtree(d).len(), t.len());
    assert_eq!(t.subtree(code("410402003000")), vec![]);

    assert_eq!(t.get(village).unwrap().tier, Tier::Village);
    assert!(t.get(code("410402001003")).is_none());
    assert_eq!(t.placeholders(), 0);
}

#[test]
fn validity_window_is_inclusive_at_both_ends() {
    let mut spec = small_spec();
    spec.stations[2].valid_from = date!(2024 - 03 - 01);
    spec.stations[2].valid_until = Some(date!(2024 - 12 - 31));
    let t = Topology::from_spec(&spec).unwrap();
    let v = code("410402001001");
    assert!(!t.is_active(v, date!(2024 - 02 - 29)));
    assert!(t.is_active(v, date!(2024 - 03 - 01)));
    assert!(t.is_active(v, date!(2024 - 07 - 15)));
    assert!(t.is_active(v, date!(2024 - 12 - 31)));
    assert!(!t.is_active(v, date!(2025 - 01 - 01)));
    assert!(!t.is_active(code("410402001003"), date!(2024 - 07 - 15)));
}

#[test]
fn retired_code_stays_listed_but_is_not_active() {
    let mut spec = small_spec();
    spec.stations[1].valid_until = Some(date!(2023 - 06 - 30));
    let t = Topology::from_spec(&spec).unwrap();
    let retired = code("410402002000");
    let today = date!(2026 - 01 - 05);
    assert!(!t.is_active(retired, today));
    assert!(t.is_active(retired, date!(2023 - 06 - 30)));
    assert!(t.contains(retired));
    assert_eq!(t.get(retired).unwrap().name, "光明路街道");
    assert!(t.is_active(code("410402001000"), today));
}

#[test]
fn a_village_may_come_before_its_town_in_the_file() {
    let mut spec = small_spec();
    spec.stations.reverse();
    let t = Topology::from_spec(&spec).unwrap();
    assert_eq!(t.len(), 5);
    assert!(t.is_direct_child(code("410402001000"), code("410402001001")));
}

// --- Errors ----------------------------------------------------------------------------

fn assert_bilingual(err: &TopologyError, code: &str, mentions: &str) {
    assert_eq!(err.code(), code);
    assert_eq!(err.message_en(), err.to_string());
    assert!(err.to_string().contains(mentions), "{err}");
    assert!(err.message_zh().contains(mentions), "{}", err.message_zh());
}

#[test]
fn unreadable_data_is_a_parse_error() {
    let err = Topology::from_json("{").unwrap_err();
    assert!(matches!(err, TopologyError::Parse { .. }));
    assert_eq!(err.code(), "topology.parse");
    assert!(err.message_zh().starts_with("区划树数据无法读取"));

    let unknown_field = XINHUA_JSON.replacen("\"placeholder\"", "\"placeholdr\"", 1);
    let err = Topology::from_json(&unknown_field).unwrap_err();
    assert!(err.to_string().contains("placeholdr"), "{err}");

    let bad_date = XINHUA_JSON.replacen("2022-01-01", "2022/01/01", 1);
    assert!(matches!(
        Topology::from_json(&bad_date).unwrap_err(),
        TopologyError::Parse { .. }
    ));
}

#[test]
fn valid_until_may_be_absent_or_null() {
    let json = r#"{"district": {"code": "410402000000", "name": "新华区", "valid_from": "2022-01-01"},
            "source": "s",
            "stations": [{"code": "410402001000", "name": "曙光街街道", "placeholder": true,
                          "valid_from": "2022-01-01", "valid_until": null}]}"#;
    let t = Topology::from_json(json).unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t.placeholders(), 1);
    assert_eq!(t.get(code("410402001000")).unwrap().valid_until, None);
}

#[test]
fn invalid_code_is_named() {
    let mut spec = small_spec();
    spec.stations[2].code = "41040200100x".to_owned();
    let err = refused(&spec);
    assert!(matches!(
        &err,
        TopologyError::InvalidCode {
            error: StationCodeError::NonDigit { position: 12, .. },
            ..
        }
    ));
    assert_bilingual(&err, "topology.invalid_code", "41040200100x");
    assert!(
        err.message_zh().contains("第 12 位"),
        "{}",
        err.message_zh()
    );
    assert!(std::error::Error::source(&err).is_some());

    let mut spec = small_spec();
    spec.district.code = "4104020".to_owned();
    assert_bilingual(&refused(&spec), "topology.invalid_code", "4104020");
}

#[test]
fn root_must_be_a_district_code() {
    let mut spec = small_spec();
    spec.district.code = "410402001000".to_owned();
    let err = refused(&spec);
    assert_eq!(
        err,
        TopologyError::NotADistrict {
            code: code("410402001000"),
            tier: Tier::Town
        }
    );
    assert_bilingual(&err, "topology.not_a_district", "410402001000");
    assert!(err.message_zh().contains("乡镇街道"));
}

#[test]
fn station_in_another_county_is_refused() {
    let mut spec = small_spec();
    spec.stations.push(station("410403001000", "别区的街道"));
    let err = refused(&spec);
    assert_eq!(
        err,
        TopologyError::OutsideDistrict {
            code: code("410403001000"),
            district: code("410402000000")
        }
    );
    assert_bilingual(&err, "topology.outside_district", "410403001000");

    let mut spec = small_spec();
    spec.stations.push(station("410403000000", "别的区"));
    assert!(matches!(
        refused(&spec),
        TopologyError::OutsideDistrict { .. }
    ));
}

#[test]
fn duplicate_codes_are_refused() {
    let mut spec = small_spec();
    spec.stations.push(station("410402001001", "又一个甲社区"));
    let err = refused(&spec);
    assert_eq!(
        err,
        TopologyError::Duplicate {
            code: code("410402001001")
        }
    );
    assert_bilingual(&err, "topology.duplicate", "410402001001");

    // The district belongs in "district", not again in "stations".
    let mut spec = small_spec();
    spec.stations.push(station("410402000000", "新华区"));
    assert_eq!(
        refused(&spec),
        TopologyError::Duplicate {
            code: code("410402000000")
        }
    );
}

#[test]
fn village_without_listed_town_is_refused() {
    let mut spec = small_spec();
    spec.stations.push(station("410402003001", "孤儿社区"));
    let err = refused(&spec);
    assert_eq!(
        err,
        TopologyError::MissingParent {
            code: code("410402003001"),
            parent: code("410402003000")
        }
    );
    assert_bilingual(&err, "topology.missing_parent", "410402003001");
    assert!(err.message_zh().contains("410402003000"));
}

#[test]
fn inverted_validity_is_refused() {
    let mut spec = small_spec();
    spec.stations[0].valid_until = Some(date!(2021 - 12 - 31));
    let err = refused(&spec);
    assert_eq!(
        err,
        TopologyError::InvertedValidity {
            code: code("410402001000"),
            valid_from: date!(2022 - 01 - 01),
            valid_until: date!(2021 - 12 - 31),
        }
    );
    assert_bilingual(&err, "topology.inverted_validity", "410402001000");
    assert!(err.message_zh().contains("2021-12-31"));

    // A single day is a valid period.
    let mut spec = small_spec();
    spec.stations[3].valid_until = Some(date!(2022 - 01 - 01));
    assert!(Topology::from_spec(&spec).is_ok());

    let mut spec = small_spec();
    spec.district.valid_until = Some(date!(2020 - 01 - 01));
    assert!(matches!(
        refused(&spec),
        TopologyError::InvertedValidity { .. }
    ));
}

#[test]
fn child_valid_outside_its_parent_is_refused() {
    // Town retired, village still open-ended.
    let mut spec = small_spec();
    spec.stations[0].valid_until = Some(date!(2024 - 12 - 31));
    let err = refused(&spec);
    assert_eq!(
        err,
        TopologyError::OutsideParentValidity {
            code: code("410402001001"),
            parent: code("410402001000")
        }
    );
    assert_bilingual(&err, "topology.outside_parent_validity", "410402001001");

    // Village starting before its town.
    let mut spec = small_spec();
    spec.stations[3].valid_from = date!(2021 - 01 - 01);
    assert_eq!(
        refused(&spec),
        TopologyError::OutsideParentValidity {
            code: code("410402001002"),
            parent: code("410402001000")
        }
    );

    // Retiring the town together with its villages is fine.
    let mut spec = small_spec();
    for s in &mut spec.stations[..] {
        if s.code.starts_with("410402001") {
            s.valid_until = Some(date!(2024 - 12 - 31));
        }
    }
    assert!(Topology::from_spec(&spec).is_ok());
}

#[test]
fn empty_names_are_refused() {
    let mut spec = small_spec();
    spec.stations[1].name = " \u{3000}".to_owned();
    let err = refused(&spec);
    assert_eq!(
        err,
        TopologyError::EmptyName {
            code: code("410402002000")
        }
    );
    assert_bilingual(&err, "topology.empty_name", "410402002000");

    let mut spec = small_spec();
    spec.district.name = String::new();
    assert_eq!(
        refused(&spec),
        TopologyError::EmptyName {
            code: code("410402000000")
        }
    );
}

// --- Properties --------------------------------------------------------------------------

/// A generated tree under 410402: town segments with their village segments, listed in a
/// shuffled order.
fn generated_spec() -> impl Strategy<Value = TopologySpec> {
    prop::collection::btree_map(
        1u16..600,
        prop::collection::btree_set(1u16..400, 0..6),
        1..8,
    )
    .prop_flat_map(|towns| {
        let mut stations = Vec::new();
        for (town, villages) in &towns {
            stations.push(station(&format!("410402{town:03}000"), "镇"));
            for village in villages {
                stations.push(station(&format!("410402{town:03}{village:03}"), "村"));
            }
        }
        Just(stations).prop_shuffle()
    })
    .prop_map(|stations| TopologySpec {
        stations,
        ..small_spec()
    })
}

proptest! {
    #[test]
    fn subtree_of_a_town_is_itself_and_its_villages(spec in generated_spec()) {
        let t = Topology::from_spec(&spec).unwrap();
        prop_assert_eq!(t.len(), spec.stations.len() + 1);
        prop_assert_eq!(t.subtree(t.district()).len(), t.len());
        for town in t.towns() {
            let mut expected = vec![town.code];
            expected.extend(t.children_of(town.code));
            prop_assert_eq!(t.subtree(town.code), expected);
            prop_assert!(t.is_direct_child(t.district(), town.code));
        }
    }

    #[test]
    fn children_and_parents_agree(spec in generated_spec()) {
        let t = Topology::from_spec(&spec).unwrap();
        for s in t.stations() {
            for child in t.children_of(s.code) {
                prop_assert_eq!(t.parent_of(child), Some(s.code));
                prop_assert!(t.is_direct_child(s.code, child));
            }
            if let Some(parent) = t.parent_of(s.code) {
                prop_assert!(t.children_of(parent).contains(&s.code));
            }
            for other in t.stations() {
                prop_assert_eq!(
                    t.is_direct_child(s.code, other.code),
                    t.parent_of(other.code) == Some(s.code)
                );
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in ".*") {
        let _ = Topology::from_json(&s);
    }
}
