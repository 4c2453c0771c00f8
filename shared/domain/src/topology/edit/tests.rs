#![allow(clippy::unwrap_used)]
use super::*;
use time::macros::date;

const XINHUA: &str = include_str!("../../../../../deploy/topology/xinhua.json");

fn code(s: &str) -> StationCode {
    StationCode::parse(s).unwrap()
}

fn fields(name: &str) -> CentreFields {
    CentreFields {
        name: name.to_owned(),
        ..CentreFields::default()
    }
}

#[test]
fn a_village_is_added_with_the_next_free_code_of_its_kind() {
    let tree = Topology::from_json(XINHUA).unwrap();
    let town = code("410402001000");
    let mut f = fields(" 新建社区 ");
    f.kind = Some(CentreKind::Village);
    let (next, new) = add(&tree, town, None, &f, date!(2026 - 12 - 01)).unwrap();
    assert_eq!(new.parent(), Some(town));
    assert!(!tree.contains(new) && next.contains(new));
    let info = next.get(new).unwrap();
    assert_eq!(
        (info.name.as_str(), info.kind),
        ("新建社区", Some(CentreKind::Village))
    );
    assert!(new.to_string().ends_with("200"), "{new}");
    // A taken code, a code under another parent, a village as parent, a kind of the wrong
    // tier: each names its field.
    let taken = add(
        &tree,
        town,
        Some(code("410402001001")),
        &f,
        date!(2026 - 12 - 01),
    );
    assert_eq!(taken.unwrap_err().field(), "code");
    let elsewhere = add(
        &tree,
        town,
        Some(code("410402002201")),
        &f,
        date!(2026 - 12 - 01),
    );
    assert!(matches!(
        elsewhere,
        Err(EditError::CodeOutsideParent { .. })
    ));
    let under_village = add(&tree, code("410402001001"), None, &f, date!(2026 - 12 - 01));
    assert_eq!(under_village.unwrap_err(), EditError::ParentIsVillage);
    f.kind = Some(CentreKind::Street);
    assert_eq!(
        add(&tree, town, None, &f, date!(2026 - 12 - 01))
            .unwrap_err()
            .field(),
        "kind"
    );
    f.kind = None;
    f.address = Some("长".repeat(MAX_ADDRESS + 1));
    assert_eq!(
        add(&tree, town, None, &f, date!(2026 - 12 - 01)).unwrap_err(),
        EditError::TooLong {
            field: "address",
            max: MAX_ADDRESS
        }
    );
}

#[test]
fn a_move_retires_the_old_code_and_links_a_new_one_under_the_new_town() {
    let tree = Topology::from_json(XINHUA).unwrap();
    let village = code("410402001001");
    let to = code("410402002000");
    let (next, new) = move_centre(&tree, village, to, None, date!(2026 - 12 - 04)).unwrap();
    assert_eq!(new.parent(), Some(to));
    let old = next.get(village).unwrap();
    assert_eq!(old.valid_until, Some(date!(2026 - 12 - 04)));
    assert_eq!(old.successor, Some(new));
    let fresh = next.get(new).unwrap();
    assert_eq!(fresh.valid_from, date!(2026 - 12 - 05));
    assert_eq!(
        (fresh.predecessor, fresh.name.as_str()),
        (Some(village), old.name.as_str())
    );
    // The old code is never given again.
    assert!(next_free_code(&next, code("410402001000"), None) != Some(village));
    // Refusals.
    let refuse =
        |c: &str, p: &str| move_centre(&tree, code(c), code(p), None, date!(2026 - 12 - 04));
    assert_eq!(
        refuse("410402001001", "410402001002").unwrap_err(),
        EditError::ParentIsVillage
    );
    assert_eq!(
        refuse("410402001000", "410402001001").unwrap_err(),
        EditError::ParentInSubtree
    );
    assert_eq!(
        refuse("410402001000", "410402001000").unwrap_err(),
        EditError::ParentInSubtree
    );
    assert_eq!(
        refuse("410402001000", "410402002000").unwrap_err(),
        EditError::TownUnderTown
    );
    assert_eq!(
        refuse("410402001001", "410402001000").unwrap_err().field(),
        "parent"
    );
    assert_eq!(
        refuse("410402000000", "410402001000").unwrap_err(),
        EditError::IsDistrict
    );
    assert_eq!(
        refuse("410402001001", "410402009000").unwrap_err(),
        EditError::UnknownParent(code("410402009000"))
    );
    // A retired town takes no new villages.
    let mut closing = tree.clone();
    let town = code("410402003000");
    for v in tree.children_of(town) {
        closing = retire(&closing, v, date!(2026 - 12 - 01)).unwrap();
    }
    let closing = retire(&closing, town, date!(2026 - 12 - 01)).unwrap();
    let under_retired =
        move_centre(&closing, village, town, None, date!(2026 - 12 - 04)).unwrap_err();
    assert_eq!(under_retired, EditError::ParentRetired(town));
    assert_eq!(under_retired.field(), "parent");
    // Moving again from the retired code is refused; from the new one it works.
    let again = move_centre(
        &next,
        village,
        code("410402003000"),
        None,
        date!(2026 - 12 - 10),
    );
    assert_eq!(again.unwrap_err(), EditError::AlreadyRetired(village));
}

#[test]
fn a_town_retires_only_once_its_villages_are_gone() {
    let tree = Topology::from_json(XINHUA).unwrap();
    let town = code("410402001000");
    let day = date!(2026 - 12 - 31);
    assert!(matches!(
        retire(&tree, town, day),
        Err(EditError::ActiveChildren { .. })
    ));
    let mut t = tree.clone();
    for v in tree.children_of(town) {
        t = retire(&t, v, day).unwrap();
    }
    let t = retire(&t, town, day).unwrap();
    assert!(!t.is_active(town, date!(2027 - 01 - 01)) && t.is_active(town, day));
    assert_eq!(
        retire(&t, town, day).unwrap_err(),
        EditError::AlreadyRetired(town)
    );
    assert_eq!(
        retire(&t, t.district(), day).unwrap_err(),
        EditError::IsDistrict
    );
    assert!(matches!(
        retire(&tree, code("410402001001"), date!(2000 - 01 - 01)),
        Err(EditError::BeforeStart { .. })
    ));
}

#[test]
fn links_that_do_not_answer_each_other_are_refused_by_the_tree() {
    let tree = Topology::from_json(XINHUA).unwrap();
    let (moved, new) = move_centre(
        &tree,
        code("410402001001"),
        code("410402002000"),
        None,
        date!(2026 - 12 - 04),
    )
    .unwrap();
    let mut spec = moved.spec().clone();
    let i = spec
        .stations
        .iter()
        .position(|s| s.code == new.to_string())
        .unwrap();
    spec.stations[i].valid_from = date!(2026 - 12 - 06);
    assert!(matches!(
        Topology::from_spec(&spec),
        Err(TopologyError::LinkDates { .. })
    ));
    spec.stations[i].valid_from = date!(2026 - 12 - 05);
    spec.stations[i].predecessor = Some("410402001002".into());
    assert!(matches!(
        Topology::from_spec(&spec),
        Err(TopologyError::LinkMismatch { .. })
    ));
    spec.stations[i].predecessor = Some("410402009999".into());
    let old = spec
        .stations
        .iter()
        .position(|s| s.code == "410402001001")
        .unwrap();
    spec.stations[old].successor = None;
    assert!(matches!(
        Topology::from_spec(&spec),
        Err(TopologyError::LinkUnknown { .. })
    ));
    // A kind that does not fit the tier is refused by the tree too.
    let mut spec = tree.spec().clone();
    let v = spec
        .stations
        .iter()
        .position(|s| s.code == "410402001001")
        .unwrap();
    spec.stations[v].kind = Some(CentreKind::Street);
    assert!(matches!(
        Topology::from_spec(&spec),
        Err(TopologyError::KindMismatch { .. })
    ));
    // A file without the new fields still reads.
    assert!(
        Topology::from_json(XINHUA)
            .unwrap()
            .stations()
            .all(|s| s.successor.is_none())
    );
}
