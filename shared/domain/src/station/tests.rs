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
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
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
