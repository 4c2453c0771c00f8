//! The authored policy (`district_node::drafts`) on SQLite and PostgreSQL: seeding from the files,
//! saving with the audit in one transaction, and two administrators racing on one revision.

use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::catalogue::Catalogue;
use bangban_domain::topology::Topology;
use bangban_kit::policy::Policy;
use district_node::drafts::{Change, DraftError, Drafts, SEED_ACTOR, Section};

pub(crate) fn files() -> Policy {
    let read = |f: &str| std::fs::read_to_string(format!("../deploy/{f}")).unwrap();
    Policy {
        calendar: WorkingCalendar::from_json(&read("policy/calendar.json")).unwrap(),
        catalogue: Catalogue::from_json(&read("policy/catalogue.json")).unwrap(),
        topology: Some(Topology::from_json(&read("topology/xinhua.json")).unwrap()),
        agents: None,
    }
}

#[tokio::test]
async fn drafts_are_seeded_once_and_saved_with_their_audit_or_not_at_all() {
    let backends = super::Backends::new().await;
    for db in backends.dbs.clone() {
        let backend = db.backend();
        let drafts = Drafts::new(db);
        let policy = files();
        drafts.seed(&policy).await.unwrap();
        drafts.seed(&policy).await.unwrap();
        let (seeded, revisions) = drafts.policy().await.unwrap();
        assert_eq!(revisions, 3, "{backend:?}: one revision per section");
        assert_eq!(seeded.catalogue, policy.catalogue, "{backend:?}");
        assert_eq!(seeded.calendar, policy.calendar, "{backend:?}");
        let audit = drafts.audit(None, 10).await.unwrap();
        assert_eq!(audit.len(), 3, "{backend:?}: a second seed writes nothing");
        assert!(audit.iter().all(|e| e.actor == SEED_ACTOR));

        // A change: the catalogue without its first item, with its audit line.
        let draft = drafts.catalogue().await.unwrap();
        let mut next = draft.doc.clone();
        let removed = next.items.remove(0);
        let change = Change::of::<_, ()>(
            "catalogue",
            "item.remove",
            &removed.code,
            Some(&removed),
            None,
        );
        let revision = drafts
            .save(
                Section::Catalogue,
                &next,
                draft.revision,
                "admin",
                &[change],
            )
            .await
            .unwrap();
        assert_eq!(revision, draft.revision + 1);
        let saved = drafts.catalogue().await.unwrap();
        assert_eq!(saved.doc, next, "{backend:?}");
        assert_eq!(saved.updated_by, "admin");
        let audit = drafts.audit(Some("catalogue"), 10).await.unwrap();
        assert_eq!(audit[0].action, "item.remove");
        assert_eq!(audit[0].subject, removed.code);
        assert_eq!(audit[0].before.as_ref().unwrap()["code"], removed.code);
        assert!(audit[0].after.is_none());

        // A second administrator who read the old revision is refused; nothing changes and no
        // audit line is written.
        let stale = Change::of::<(), ()>("catalogue", "item.update", "x", None, None);
        let err = drafts
            .save(
                Section::Catalogue,
                &draft.doc,
                draft.revision,
                "other",
                &[stale],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, DraftError::Conflict { by, .. } if by == "admin"),
            "{backend:?}: {err}"
        );
        assert_eq!(drafts.catalogue().await.unwrap().doc, next);
        assert_eq!(drafts.audit(Some("catalogue"), 10).await.unwrap().len(), 2);
    }
    backends.finish().await;
}

#[tokio::test]
async fn racing_saves_on_one_revision_let_exactly_one_through() {
    let backends = super::Backends::new().await;
    for db in backends.dbs.clone() {
        let drafts = Drafts::new(db);
        drafts.seed(&files()).await.unwrap();
        let draft = drafts.calendar().await.unwrap();
        let tries = (0..8).map(|i| {
            let (drafts, doc) = (drafts.clone(), draft.doc.clone());
            tokio::spawn(async move {
                let change = Change::of::<(), ()>("calendar", "calendar.year", "2027", None, None);
                drafts
                    .save(
                        Section::Calendar,
                        &doc,
                        draft.revision,
                        &format!("admin{i}"),
                        &[change],
                    )
                    .await
            })
        });
        let mut won = 0;
        for t in tries {
            match t.await.unwrap() {
                Ok(_) => won += 1,
                Err(DraftError::Conflict { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(won, 1);
        assert_eq!(
            drafts.calendar().await.unwrap().revision,
            draft.revision + 1
        );
        assert_eq!(drafts.audit(Some("calendar"), 20).await.unwrap().len(), 2);
    }
    backends.finish().await;
}
