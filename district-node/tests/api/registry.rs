//! Authoring the tree (`district_node::tiers::authoring`) and the agent registry
//! (`district_node::agents::Registry`) on SQLite and PostgreSQL: each change saved with its audit
//! line, each refusal naming its field with nothing saved and no audit line.

use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::catalogue::Catalogue;
use bangban_domain::ident::ResidentId;
use bangban_domain::station::StationCode;
use bangban_domain::topology::Topology;
use bangban_domain::topology::edit::EditError;
use bangban_kit::policy::Policy;
use district_node::agents::{AgentInput, Registry, RegistryError};
use district_node::drafts::{DraftError, Drafts};
use district_node::tiers::authoring::{self, CentreEdit, MoveInput, NewCentre, TierError};
use time::macros::date;

fn files() -> Policy {
    let read = |f: &str| std::fs::read_to_string(format!("../deploy/{f}")).unwrap();
    Policy {
        calendar: WorkingCalendar::from_json(&read("policy/calendar.json")).unwrap(),
        catalogue: Catalogue::from_json(&read("policy/catalogue.json")).unwrap(),
        topology: Some(Topology::from_json(&read("topology/xinhua.json")).unwrap()),
        agents: None,
    }
}

fn code(s: &str) -> StationCode {
    StationCode::parse(s).unwrap()
}

/// A resident ID with a valid check digit, different for each `n`.
pub(crate) fn resident_id(n: u32) -> String {
    let first17 = format!("41040219900101{:03}", n % 1000);
    let check = ResidentId::check_char(&first17).unwrap();
    format!("{first17}{check}")
}

/// The same ID with a wrong check digit.
fn bad_check_digit(n: u32) -> String {
    let good = resident_id(n);
    let last = good.chars().last().unwrap();
    let wrong = if last == '0' { '1' } else { '0' };
    format!("{}{wrong}", &good[..17])
}

async fn audit_len(drafts: &Drafts) -> usize {
    drafts.audit(None, 1000).await.unwrap().len()
}

const TODAY: time::Date = date!(2026 - 12 - 04);

fn edit_error(e: TierError) -> EditError {
    match e {
        TierError::Edit(e) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn centres_are_added_renamed_moved_and_retired_each_with_its_audit_line() {
    let backends = super::Backends::new().await;
    for db in backends.dbs.clone() {
        let backend = db.backend();
        let drafts = Drafts::new(db);
        drafts.seed(&files()).await.unwrap();

        // Add: the next free code under the town, one audit line, no `before`.
        let new = NewCentre {
            parent: "410402001000".into(),
            name: "幸福里社区".into(),
            kind: "community".into(),
            address: "曙光街 1 号".into(),
            contact: "0375-1234567".into(),
            ..NewCentre::default()
        };
        let added = authoring::add(&drafts, &new, None, "admin", TODAY)
            .await
            .unwrap();
        assert_eq!(added.parent(), Some(code("410402001000")), "{backend:?}");
        let tree = drafts.topology().await.unwrap().doc;
        let info = tree.get(added).unwrap();
        assert_eq!(
            (info.address.as_deref(), info.valid_from),
            (Some("曙光街 1 号"), TODAY)
        );
        let audit = drafts.audit(Some("topology"), 10).await.unwrap();
        assert_eq!(
            (audit[0].action.as_str(), audit[0].subject.clone()),
            ("tier.add", added.to_string())
        );
        assert!(audit[0].before.is_none());
        assert_eq!(audit[0].after.as_ref().unwrap()["name"], "幸福里社区");

        // Rename: before and after of that one centre.
        let rename = CentreEdit {
            name: "幸福里新社区".into(),
            kind: "community".into(),
            address: "曙光街 2 号".into(),
            contact: String::new(),
            placeholder: false,
            name_unconfirmed: false,
        };
        authoring::update(&drafts, added, &rename, None, "admin")
            .await
            .unwrap();
        let audit = drafts.audit(Some("topology"), 10).await.unwrap();
        assert_eq!(audit[0].action, "tier.update");
        assert_eq!(audit[0].before.as_ref().unwrap()["name"], "幸福里社区");
        assert_eq!(audit[0].after.as_ref().unwrap()["name"], "幸福里新社区");
        assert!(audit[0].after.as_ref().unwrap().get("contact").is_none());

        // Move: the old code ends today, a new code under the other town starts tomorrow.
        let before_move = audit_len(&drafts).await;
        let moving = MoveInput {
            parent: "410402002000".into(),
            new_code: String::new(),
            date: TODAY.to_string(),
        };
        let moved = authoring::move_centre(&drafts, added, &moving, None, "admin", TODAY)
            .await
            .unwrap();
        assert_eq!(moved.parent(), Some(code("410402002000")));
        let tree = drafts.topology().await.unwrap().doc;
        assert_eq!(tree.get(added).unwrap().valid_until, Some(TODAY));
        assert_eq!(tree.get(added).unwrap().successor, Some(moved));
        assert_eq!(tree.get(moved).unwrap().predecessor, Some(added));
        assert_eq!(tree.get(moved).unwrap().name, "幸福里新社区");
        assert_eq!(
            audit_len(&drafts).await,
            before_move + 2,
            "one line per centre touched"
        );

        // Retire the new code.
        authoring::retire(&drafts, moved, "2026-12-31", None, "admin", TODAY)
            .await
            .unwrap();
        let tree = drafts.topology().await.unwrap().doc;
        assert!(!tree.is_active(moved, date!(2027 - 01 - 01)));
        let audit = drafts.audit(Some("topology"), 1).await.unwrap();
        assert_eq!(
            (audit[0].action.as_str(), audit[0].subject.clone()),
            ("tier.retire", moved.to_string())
        );
        assert_eq!(
            audit[0].after.as_ref().unwrap()["valid_until"],
            "2026-12-31"
        );

        // The bad input: each refused, naming its field; nothing saved, no audit line.
        let draft = drafts.topology().await.unwrap();
        let lines = audit_len(&drafts).await;
        let under_village = MoveInput {
            parent: "410402001002".into(),
            ..MoveInput::default()
        };
        let e = authoring::move_centre(
            &drafts,
            code("410402001001"),
            &under_village,
            None,
            "admin",
            TODAY,
        )
        .await
        .unwrap_err();
        assert_eq!(edit_error(e), EditError::ParentIsVillage, "{backend:?}");
        let cycle = MoveInput {
            parent: "410402001001".into(),
            ..MoveInput::default()
        };
        let e = authoring::move_centre(&drafts, code("410402001000"), &cycle, None, "admin", TODAY)
            .await
            .unwrap_err();
        assert_eq!(e.field(), "parent");
        assert_eq!(edit_error(e), EditError::ParentInSubtree);
        let taken = MoveInput {
            parent: "410402002000".into(),
            new_code: "410402002001".into(),
            date: String::new(),
        };
        let e = authoring::move_centre(&drafts, code("410402001001"), &taken, None, "admin", TODAY)
            .await
            .unwrap_err();
        assert_eq!(e.field(), "new_code", "{e:?}");
        let duplicate = NewCentre {
            code: "410402001001".into(),
            ..new.clone()
        };
        let e = authoring::add(&drafts, &duplicate, None, "admin", TODAY)
            .await
            .unwrap_err();
        assert_eq!(e.field(), "code");
        assert_eq!(edit_error(e), EditError::CodeTaken(code("410402001001")));
        let reused = NewCentre {
            code: added.to_string(),
            ..new.clone()
        };
        let e = authoring::add(&drafts, &reused, None, "admin", TODAY)
            .await
            .unwrap_err();
        assert_eq!(
            edit_error(e),
            EditError::CodeTaken(added),
            "a retired code is never reused"
        );
        let e = authoring::retire(&drafts, code("410402001000"), "", None, "admin", TODAY)
            .await
            .unwrap_err();
        assert!(matches!(edit_error(e), EditError::ActiveChildren { .. }));
        let e = authoring::retire(&drafts, code("410402000000"), "", None, "admin", TODAY)
            .await
            .unwrap_err();
        assert_eq!(edit_error(e), EditError::IsDistrict);
        let wrong_kind = NewCentre {
            kind: "street".into(),
            ..new.clone()
        };
        let e = authoring::add(&drafts, &wrong_kind, None, "admin", TODAY)
            .await
            .unwrap_err();
        assert_eq!(e.field(), "kind");
        let bad_date = authoring::retire(
            &drafts,
            code("410402001001"),
            "31/12/2026",
            None,
            "admin",
            TODAY,
        )
        .await
        .unwrap_err();
        assert_eq!(bad_date.field(), "date");
        // A page read at an older revision: refused as a conflict.
        let stale = authoring::add(&drafts, &new, Some(draft.revision - 1), "other", TODAY)
            .await
            .unwrap_err();
        assert!(
            matches!(stale, TierError::Draft(DraftError::Conflict { .. })),
            "{stale:?}"
        );
        let after = drafts.topology().await.unwrap();
        assert_eq!(after.revision, draft.revision, "{backend:?}: nothing saved");
        assert_eq!(after.doc, draft.doc);
        assert_eq!(
            audit_len(&drafts).await,
            lines,
            "{backend:?}: no audit line on a refusal"
        );
    }
    backends.finish().await;
}

fn input(name: &str, n: u32, centre: &str, badge: &str) -> AgentInput {
    AgentInput {
        name: name.into(),
        id_number: resident_id(n),
        phone: format!("1381234{:04}", n),
        centre: centre.into(),
        role: "assisting_agent".into(),
        badge_no: badge.into(),
        filed_on: "2026-03-01".into(),
    }
}

fn refused_field(e: RegistryError) -> &'static str {
    match e {
        RegistryError::Invalid { field, .. } => field,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn agents_are_filed_edited_trained_and_leave_with_masked_audit_lines() {
    let backends = super::Backends::new().await;
    for db in backends.dbs.clone() {
        let backend = db.backend();
        let drafts = Drafts::new(db.clone());
        drafts.seed(&files()).await.unwrap();
        let registry = Registry::new(db);
        let village = code("410402001001");

        let a = registry
            .add(&input("王芳", 1, "410402001001", "XH-001"), "admin", TODAY)
            .await
            .unwrap();
        let b = registry
            .add(&input("李娜", 2, "410402001001", "XH-002"), "admin", TODAY)
            .await
            .unwrap();
        assert_ne!(a, b);
        assert_eq!(
            registry.active_counts().await.unwrap().get(&village),
            Some(&2),
            "{backend:?}"
        );
        let audit = drafts.audit(Some("agents"), 10).await.unwrap();
        assert_eq!(
            (audit[0].action.as_str(), audit[0].subject.as_str()),
            ("agent.add", "XH-002")
        );
        // Personal data in the audit is masked as `Agent`'s masking shows it.
        let after = audit[0].after.as_ref().unwrap();
        let full_id = resident_id(2);
        assert_eq!(
            after["id_number"],
            ResidentId::parse(&full_id).unwrap().masked()
        );
        assert_ne!(after["id_number"], full_id.as_str());
        assert!(!after.to_string().contains("13812340002"), "{after}");

        // Edit: a blank ID and phone keep the ones on file.
        let mut edit = input("王芳芳", 1, "410402001001", "XH-001A");
        edit.id_number = String::new();
        edit.phone = String::new();
        registry.update(&a, &edit, "admin", TODAY).await.unwrap();
        let filed = registry.get(&a).await.unwrap();
        assert_eq!(filed.agent.name.as_str(), "王芳芳");
        assert_eq!(filed.agent.id_number.as_str(), resident_id(1));
        assert_eq!(filed.agent.badge_no, "XH-001A");
        let audit = drafts.audit(Some("agents"), 1).await.unwrap();
        assert_eq!(
            (audit[0].action.as_str(), audit[0].subject.as_str()),
            ("agent.update", "XH-001A")
        );
        assert_eq!(audit[0].before.as_ref().unwrap()["badge_no"], "XH-001");

        // Training, then a departure: the centre is short again.
        registry
            .add_training(&a, "2026-03-10", "帮办代办服务规范", "4", "admin", TODAY)
            .await
            .unwrap();
        let filed = registry.get(&a).await.unwrap();
        assert_eq!(filed.agent.training.len(), 1);
        assert_eq!(filed.agent.training[0].half_hours, 8);
        registry
            .set_status(&a, "left", "2026-12-01", "调离", "admin", TODAY)
            .await
            .unwrap();
        let filed = registry.get(&a).await.unwrap();
        assert!(!filed.agent.is_active());
        assert_eq!(
            (filed.status_on, filed.status_reason.as_deref()),
            (Some(date!(2026 - 12 - 01)), Some("调离"))
        );
        assert_eq!(
            registry.active_counts().await.unwrap().get(&village),
            Some(&1)
        );
        let audit = drafts.audit(Some("agents"), 1).await.unwrap();
        assert_eq!(audit[0].action, "agent.status");
        assert_eq!(audit[0].after.as_ref().unwrap()["status"], "left");
        assert_eq!(registry.all().await.unwrap().len(), 2);

        // Refusals: each names its field; nothing saved, no audit line.
        let lines = audit_len(&drafts).await;
        let mut bad = input("张伟", 3, "410402001001", "XH-003");
        bad.id_number = bad_check_digit(3);
        assert_eq!(
            refused_field(registry.add(&bad, "admin", TODAY).await.unwrap_err()),
            "id_number"
        );
        let unknown = input("张伟", 3, "410402001999", "XH-003");
        assert_eq!(
            refused_field(registry.add(&unknown, "admin", TODAY).await.unwrap_err()),
            "centre"
        );
        let duplicate = input("张伟", 3, "410402001001", "XH-002");
        let e = registry.add(&duplicate, "admin", TODAY).await.unwrap_err();
        assert!(
            matches!(
                &e,
                RegistryError::Invalid {
                    code: "agent.duplicate_badge",
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(refused_field(e), "badge_no");
        let same_person = input("张伟", 2, "410402001001", "XH-003");
        assert_eq!(
            refused_field(
                registry
                    .add(&same_person, "admin", TODAY)
                    .await
                    .unwrap_err()
            ),
            "id_number"
        );
        let mut future = input("张伟", 3, "410402001001", "XH-003");
        future.filed_on = "2026-12-05".into();
        assert_eq!(
            refused_field(registry.add(&future, "admin", TODAY).await.unwrap_err()),
            "filed_on"
        );
        let mut phone = input("张伟", 3, "410402001001", "XH-003");
        phone.phone = "12345".into();
        assert_eq!(
            refused_field(registry.add(&phone, "admin", TODAY).await.unwrap_err()),
            "phone"
        );
        let e = registry
            .add_training(&b, "2026-03-10", "规范", "0", "admin", TODAY)
            .await
            .unwrap_err();
        assert_eq!(refused_field(e), "hours");
        let e = registry
            .set_status(&b, "suspended", "2026-12-01", " ", "admin", TODAY)
            .await
            .unwrap_err();
        assert_eq!(refused_field(e), "reason");
        assert!(matches!(
            registry
                .set_status("no-such-id", "left", "", "x", "admin", TODAY)
                .await,
            Err(RegistryError::NotFound)
        ));
        // A retired centre takes no new agents.
        authoring::retire(
            &drafts,
            code("410402001002"),
            "2026-12-01",
            None,
            "admin",
            TODAY,
        )
        .await
        .unwrap();
        let lines = lines + 1;
        let retired = input("张伟", 3, "410402001002", "XH-003");
        assert_eq!(
            refused_field(registry.add(&retired, "admin", TODAY).await.unwrap_err()),
            "centre"
        );
        assert_eq!(
            registry.all().await.unwrap().len(),
            2,
            "{backend:?}: nothing saved"
        );
        assert_eq!(
            audit_len(&drafts).await,
            lines,
            "{backend:?}: no audit line on a refusal"
        );
    }
    backends.finish().await;
}
