//! The case list's contract (run on both backends through `contract`): search by number, item,
//! the applicant's masked or full name and identifier, without personal data in plain in the
//! search terms; keyset pages; the due filter; the kept stage counts.

use std::collections::BTreeSet;

use bangban_domain::event::*;
use bangban_domain::ident::{CreditCode, MobileNumber, ResidentId};
use bangban_kit::store::{CaseFilter, CaseStore, DueFilter, Keyset, ListCursor};
use sqlx::Row;

use crate::support::*;

/// A valid resident ID number from its first 17 characters.
fn resident(first17: &str) -> ResidentId {
    let check = ResidentId::check_char(first17).unwrap();
    ResidentId::parse(&format!("{first17}{check}")).unwrap()
}

fn person(name: &str, id: &ResidentId) -> Applicant {
    Applicant::Person {
        name: name.into(),
        id_number: id.clone(),
        phone: MobileNumber::parse("13812345678").unwrap(),
    }
}

fn application_by(case: &CaseBuilder, applicant: Applicant, item: (&str, &str)) -> Event {
    case.event(
        &case.origin.to_string(),
        0,
        EventBody::ApplicationReceived(Application {
            policy_bundle: None,
            case_no: case.case_no,
            channel: Channel::Window,
            item: ItemRef {
                code: item.0.into(),
                name: item.1.into(),
                case_type: CaseType::Promised,
                promised_days: 5,
            },
            applicant,
        }),
    )
}

/// The case ids a search lists, newest first.
async fn found(store: &CaseStore, filter: CaseFilter) -> Vec<String> {
    store
        .list(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.case_id)
        .collect()
}

fn search(text: &str) -> CaseFilter {
    CaseFilter {
        search: Some(text.to_owned()),
        ..Default::default()
    }
}

fn ids(cases: &[&CaseBuilder]) -> BTreeSet<String> {
    cases.iter().map(|c| c.case_id.to_string()).collect()
}

pub async fn search_finds_cases_by_number_item_name_and_id_never_by_plain_personal_data(
    store: CaseStore,
) {
    let food = ("410402-JY-001", "食品经营许可");
    let odd = ("410402-JY-002", "证照%_补办");
    let id_a = ResidentId::parse("11010519491231002X").unwrap();
    let id_b = resident("41040219800101123");
    let id_c = resident("41040219900202456");
    let credit = CreditCode::parse("91350100M000100Y43").unwrap();
    let a = CaseBuilder::at_station(VILLAGE, 1);
    let b = CaseBuilder::at_station(VILLAGE, 2);
    let c = CaseBuilder::at_station(VILLAGE, 3);
    let d = CaseBuilder::at_station(VILLAGE, 4);
    let company = Applicant::Company {
        name: "平顶山市曙光商贸有限公司".into(),
        credit_code: credit.clone(),
        check_override: None,
        legal_representative: "王五".into(),
        contact_name: "赵六".into(),
        contact_phone: MobileNumber::parse("13912345678").unwrap(),
    };
    for ev in [
        application_by(&a, person("张三", &id_a), food),
        application_by(&b, person("张三丰", &id_b), odd),
        application_by(&c, person("李四", &id_c), food),
        application_by(&d, company, food),
        c.complete_review(VILLAGE, 1),
    ] {
        store.append(&ev, now()).await.unwrap();
    }
    let a_no = a.case_no.to_string();
    let (_, a_short) = a_no.split_once('-').unwrap();
    let expectations: Vec<(String, BTreeSet<String>)> = vec![
        // The case number, whole or without the station code, and its station's prefix.
        (a_no.clone(), ids(&[&a])),
        (a_short.to_owned(), ids(&[&a])),
        ("410402001".into(), ids(&[&a, &b, &c, &d])),
        // The item, by code (any letter case) or the start of its name.
        ("410402-jy-002".into(), ids(&[&b])),
        ("食品经营".into(), ids(&[&a, &c, &d])),
        // The name as lists show it, or its start; a company's in full.
        ("张**".into(), ids(&[&b])),
        ("张*".into(), ids(&[&a, &b])),
        ("张".into(), ids(&[&a, &b])),
        ("李*".into(), ids(&[&c])),
        ("平顶山市曙光".into(), ids(&[&d])),
        // A person's full name, matched whole through its digest.
        ("张三".into(), ids(&[&a])),
        ("张三丰".into(), ids(&[&b])),
        ("李四".into(), ids(&[&c])),
        ("王五".into(), BTreeSet::new()),
        // The identifier's last 4 characters, or all of it (spaces and letter case aside).
        ("002X".into(), ids(&[&a])),
        ("002x".into(), ids(&[&a])),
        (id_a.as_str().to_owned(), ids(&[&a])),
        ("110105 19491231 002x".into(), ids(&[&a])),
        (id_b.as_str().to_owned(), ids(&[&b])),
        (credit.as_str().to_owned(), ids(&[&d])),
        ("0Y43".into(), ids(&[&d])),
        // Another valid ID number finds nothing, nor does the start of a stored one.
        (
            resident("11010519491231003").as_str().to_owned(),
            BTreeSet::new(),
        ),
        ("1101051949".into(), BTreeSet::new()),
        // LIKE's wildcards are plain characters.
        ("证照%".into(), ids(&[&b])),
        ("证照_".into(), BTreeSet::new()),
        ("证%".into(), BTreeSet::new()),
        ("%".into(), BTreeSet::new()),
        ("_".into(), BTreeSet::new()),
        ("不存在的事项".into(), BTreeSet::new()),
    ];
    // Either way of reading the matches (by key and sorted, or in order) finds the same cases.
    for store in [
        store.clone(),
        store.clone().with_few_matches(0),
        store.clone().with_few_matches(i64::MAX),
    ] {
        for (text, expected) in &expectations {
            let got: BTreeSet<String> = found(&store, search(text)).await.into_iter().collect();
            assert_eq!(&got, expected, "search {text:?}");
        }
        // With the other filters.
        let reviewed = CaseFilter {
            stage: Some("reviewed".into()),
            ..search("食品经营")
        };
        assert_eq!(found(&store, reviewed).await, vec![c.case_id.to_string()]);
        // Page by page (one case a page), forward and back: every match once, newest first.
        let everyone = found(&store, search("410402001")).await;
        assert_eq!(everyone.len(), 4);
        let mut paged = Vec::new();
        let mut keyset = None;
        while let [case] = &store
            .list(&CaseFilter {
                keyset: keyset.clone(),
                limit: 1,
                ..search("410402001")
            })
            .await
            .unwrap()[..]
        {
            paged.push(case.case_id.clone());
            keyset = Some(Keyset::After(ListCursor::of(case)));
        }
        assert_eq!(paged, everyone);
        let last = store
            .list(&CaseFilter {
                offset: 3,
                ..search("410402001")
            })
            .await
            .unwrap();
        let back = store
            .list(&CaseFilter {
                keyset: Some(Keyset::Before(ListCursor::of(&last[0]))),
                limit: 2,
                ..search("410402001")
            })
            .await
            .unwrap();
        let back: Vec<String> = back.into_iter().map(|c| c.case_id).collect();
        assert_eq!(back, everyone[1..3]);
    }
    // Lists still show the name masked.
    let listed = store.list(&search(id_a.as_str())).await.unwrap();
    assert_eq!(listed[0].applicant.as_deref(), Some("张*"));
    // No term holds a full name or identifier, nor more of an identifier than its last 4.
    let terms: Vec<String> = sqlx::query("SELECT term FROM case_terms")
        .fetch_all(store.db().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("term").unwrap())
        .collect();
    assert!(terms.len() >= 4 * 7, "{terms:?}");
    for term in &terms {
        for secret in [
            "张三", "李四", "王五", "赵六", "19491231", "1980010", "M000100",
        ] {
            assert!(!term.contains(secret), "{term:?} holds {secret}");
        }
    }
}

pub async fn keyset_pages_neither_repeat_nor_skip_while_cases_arrive(store: CaseStore) {
    // 30 cases in three bursts of 10 opened in the same millisecond: ties go by case id.
    let mut cases = Vec::new();
    for seq in 1..=30u32 {
        let mut case = CaseBuilder::at_station(VILLAGE, seq);
        case.at += time::Duration::minutes(i64::from((seq - 1) / 10));
        store.append(&case.application(), now()).await.unwrap();
        cases.push(case);
    }
    let first_page = |keyset| CaseFilter {
        keyset,
        limit: 7,
        ..Default::default()
    };
    let mut seen: Vec<String> = Vec::new();
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut keyset = None;
    let mut arriving = 100u32;
    loop {
        let page = store.list(&first_page(keyset.clone())).await.unwrap();
        if page.is_empty() {
            break;
        }
        // Newest first within the page.
        for pair in page.windows(2) {
            assert!(
                (pair[0].opened_at_ms, &pair[0].case_id) > (pair[1].opened_at_ms, &pair[1].case_id)
            );
        }
        keyset = Some(Keyset::After(ListCursor::of(page.last().unwrap())));
        pages.push(page.iter().map(|c| c.case_id.clone()).collect());
        seen.extend(page.into_iter().map(|c| c.case_id));
        // Cases arrive between pages: a new one, and one synced late with an old date.
        for minutes in [60, -24 * 60] {
            arriving += 1;
            let mut case = CaseBuilder::at_station(SIBLING, arriving);
            case.at += time::Duration::minutes(minutes);
            store.append(&case.application(), now()).await.unwrap();
        }
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no case twice: {seen:?}");
    for case in &cases {
        assert!(seen.contains(&case.case_id.to_string()), "none skipped");
    }
    // Back from the third page: the second page again, in the same order.
    let third = cursor_of(&store, &pages[2][0]).await;
    let back: Vec<String> = store
        .list(&first_page(Some(Keyset::Before(third))))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.case_id)
        .collect();
    assert_eq!(back, pages[1]);
    // A cursor reads back from its text form; anything else is refused.
    let text = cursor_of(&store, &pages[0][0]).await.to_string();
    assert_eq!(ListCursor::parse(&text).unwrap().to_string(), text);
    for bad in [
        "",
        "1.2",
        "x.0190a5c2-7f3e-7a4b-9c1d-2e3f4a5b6c7d",
        "-1.0190a5c2-7f3e-7a4b-9c1d-2e3f4a5b6c7d",
        "1.0190a5c2-7f3e-7a4b-9c1d-2e3f4a5b6c7d' OR 1=1",
    ] {
        assert!(ListCursor::parse(bad).is_none(), "{bad:?}");
    }
}

/// Where the case `case_id` stands in a list.
async fn cursor_of(store: &CaseStore, case_id: &str) -> ListCursor {
    let row = sqlx::query("SELECT opened_at FROM cases WHERE case_id = $1")
        .bind(case_id)
        .fetch_one(store.db().pool())
        .await
        .unwrap();
    ListCursor {
        opened_at_ms: row.try_get("opened_at").unwrap(),
        case_id: case_id.to_owned(),
    }
}

pub async fn the_due_filter_lists_open_cases_overdue_or_due_soon(store: CaseStore) {
    let received = CaseBuilder::at_station(VILLAGE, 1);
    let reviewed = CaseBuilder::at_station(VILLAGE, 2);
    for ev in [
        received.application(),
        reviewed.application(),
        reviewed.complete_review(VILLAGE, 1),
    ] {
        store.append(&ev, now()).await.unwrap();
    }
    let due = store.list(&CaseFilter::default()).await.unwrap();
    let due = due
        .iter()
        .find(|c| c.case_id == reviewed.case_id.to_string())
        .and_then(|c| c.due_date.clone())
        .unwrap();
    let day_after = time::Date::parse(
        &due,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap()
    .next_day()
    .unwrap()
    .to_string();
    let with = |due: DueFilter| CaseFilter {
        due: Some(due),
        ..Default::default()
    };
    let only_reviewed = vec![reviewed.case_id.to_string()];
    let overdue = |today: &str| {
        with(DueFilter::Overdue {
            today: today.into(),
        })
    };
    assert_eq!(found(&store, overdue(&day_after)).await, only_reviewed);
    assert!(found(&store, overdue(&due)).await.is_empty());
    let soon = |today: &str, by: &str| {
        with(DueFilter::Soon {
            today: today.into(),
            by: by.into(),
        })
    };
    assert_eq!(found(&store, soon(&due, &due)).await, only_reviewed);
    assert!(found(&store, soon(&day_after, &day_after)).await.is_empty());
    assert!(
        found(&store, soon("2000-01-01", "2000-01-02"))
            .await
            .is_empty()
    );
    // Held elsewhere: not this station's to do.
    let elsewhere = CaseFilter {
        holder: Some(code(SIBLING)),
        ..overdue(&day_after)
    };
    assert!(found(&store, elsewhere).await.is_empty());
}

/// The kept per-stage counts against a count of the table.
async fn assert_counts_match_the_table(store: &CaseStore) -> Vec<(String, i64)> {
    let kept = store.stage_counts().await.unwrap();
    let counted: Vec<(String, i64)> =
        sqlx::query("SELECT stage, COUNT(*) AS n FROM cases GROUP BY stage ORDER BY stage")
            .fetch_all(store.db().pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.try_get("stage").unwrap(), r.try_get("n").unwrap()))
            .collect();
    assert_eq!(kept, counted);
    kept
}

pub async fn stage_counts_are_kept_by_every_write_of_a_case(store: CaseStore) {
    assert!(store.stage_counts().await.unwrap().is_empty());
    let a = CaseBuilder::at_station(VILLAGE, 1);
    let b = CaseBuilder::at_station(VILLAGE, 2);
    let first = a.application();
    store.append(&first, now()).await.unwrap();
    store.append(&b.application(), now()).await.unwrap();
    let counts = assert_counts_match_the_table(&store).await;
    assert_eq!(counts, vec![("received".to_owned(), 2)]);
    // A step moves one case; a repeat and a refused event move none; a comment keeps the stage.
    store
        .append(&a.complete_review(VILLAGE, 1), now())
        .await
        .unwrap();
    store.append(&first, now()).await.unwrap();
    assert!(
        store
            .append(&b.simple(VILLAGE, 2, EventKind::Completed), now())
            .await
            .is_err()
    );
    store
        .append(&b.comment(VILLAGE, 3, "备注"), now())
        .await
        .unwrap();
    let counts = assert_counts_match_the_table(&store).await;
    assert_eq!(
        counts,
        vec![("received".to_owned(), 1), ("reviewed".to_owned(), 1)]
    );
    // A stage that empties is no longer listed.
    store
        .append(&b.complete_review(VILLAGE, 4), now())
        .await
        .unwrap();
    let counts = assert_counts_match_the_table(&store).await;
    assert_eq!(counts, vec![("reviewed".to_owned(), 2)]);
}

pub async fn cases_stored_before_search_terms_are_found_once_the_database_is_opened(
    store: CaseStore,
) {
    let case = CaseBuilder::village();
    store.append(&case.application(), now()).await.unwrap();
    // As a database written before search terms existed.
    for sql in [
        "DELETE FROM case_terms",
        "UPDATE cases SET search_version = NULL",
    ] {
        sqlx::query(sql).execute(store.db().pool()).await.unwrap();
    }
    assert!(found(&store, search("002X")).await.is_empty());
    store.db().migrate().await.unwrap();
    assert_eq!(
        found(&store, search("002X")).await,
        vec![case.case_id.to_string()]
    );
    assert_eq!(
        found(&store, search("11010519491231002X")).await,
        vec![case.case_id.to_string()]
    );
    // Filled once: opening again writes nothing more.
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM case_terms")
        .fetch_one(store.db().pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    store.db().migrate().await.unwrap();
    let again: i64 = sqlx::query("SELECT COUNT(*) AS n FROM case_terms")
        .fetch_one(store.db().pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(n, again);
}

pub async fn a_case_whose_log_no_longer_reads_does_not_keep_the_database_from_opening(
    store: CaseStore,
) {
    let good = CaseBuilder::at_station(VILLAGE, 1);
    let broken = CaseBuilder::at_station(VILLAGE, 2);
    store.append(&good.application(), now()).await.unwrap();
    store.append(&broken.application(), now()).await.unwrap();
    for sql in [
        "DELETE FROM case_terms",
        "UPDATE cases SET search_version = NULL, state_doc = NULL",
    ] {
        sqlx::query(sql).execute(store.db().pool()).await.unwrap();
    }
    sqlx::query("UPDATE case_events SET doc = '{}' WHERE case_id = $1")
        .bind(broken.case_id.to_string())
        .execute(store.db().pool())
        .await
        .unwrap();
    store.db().migrate().await.unwrap();
    // The good case is found again; the broken one is listed but found by nothing.
    let good_no = good.case_no.to_string();
    assert_eq!(
        found(&store, search(&good_no)).await,
        vec![good.case_id.to_string()]
    );
    assert!(
        found(&store, search(&broken.case_no.to_string()))
            .await
            .is_empty()
    );
    assert_eq!(found(&store, CaseFilter::default()).await.len(), 2);
}
