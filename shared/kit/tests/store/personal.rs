//! Audited reads of full personal data on every backend: a view is recorded before the data is
//! returned, an unknown case records nothing, and the trail filters and pages newest first.

use bangban_domain::event::Applicant;
use bangban_kit::store::{CaseStore, PersonalViewFilter};
use sqlx::Row;

use crate::support::*;

async fn rows(store: &CaseStore) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM personal_data_views")
        .fetch_one(store.db().pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

pub async fn each_reveal_of_personal_data_is_recorded_first(store: CaseStore) {
    let case = CaseBuilder::village();
    store.append(&case.application(), now()).await.unwrap();

    let state = store
        .reveal_personal_data(case.case_id, "wangfang", now())
        .await
        .unwrap()
        .unwrap();
    match state.applicant {
        Some(Applicant::Person { id_number, .. }) => {
            assert_eq!(id_number.as_str(), "11010519491231002X");
        }
        other => panic!("the applicant in full: {other:?}"),
    }
    assert_eq!(rows(&store).await, 1);
    store
        .reveal_personal_data(case.case_id, "wangfang", now())
        .await
        .unwrap();
    assert_eq!(rows(&store).await, 2, "one row per view");

    // An unknown case shows nothing and records nothing.
    let unknown = CaseBuilder::village();
    assert!(
        store
            .reveal_personal_data(unknown.case_id, "wangfang", now())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(rows(&store).await, 2);

    // When the record cannot be written, no data comes back.
    sqlx::query("DROP TABLE personal_data_views")
        .execute(store.db().pool())
        .await
        .unwrap();
    assert!(
        store
            .reveal_personal_data(case.case_id, "wangfang", now())
            .await
            .is_err()
    );
}

pub async fn the_personal_data_trail_filters_by_viewer_and_case_number_newest_first(
    store: CaseStore,
) {
    let first = CaseBuilder::at_station(VILLAGE, 1);
    let second = CaseBuilder::at_station(VILLAGE, 2);
    for c in [&first, &second] {
        store.append(&c.application(), now()).await.unwrap();
    }
    for (case, who) in [
        (&first, "wangfang"),
        (&second, "wangfang"),
        (&first, "lisi"),
        (&second, "lisi"),
        (&second, "lisi"),
    ] {
        store
            .reveal_personal_data(case.case_id, who, now())
            .await
            .unwrap();
    }
    let all = |operator: Option<&str>, case_no: Option<&str>, limit, offset| PersonalViewFilter {
        operator: operator.map(str::to_owned),
        case_no: case_no.map(str::to_owned),
        limit,
        offset,
    };
    let views = store
        .personal_data_views(&all(None, None, 100, 0))
        .await
        .unwrap();
    assert_eq!(views.len(), 5);
    assert!(views.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(views[0].operator, "lisi");
    assert_eq!(views[0].case_no, second.case_no.to_string());

    let lisi = store
        .personal_data_views(&all(Some("lisi"), None, 100, 0))
        .await
        .unwrap();
    assert_eq!(lisi.len(), 3);
    let second_no = second.case_no.to_string();
    let of_second = store
        .personal_data_views(&all(None, Some(&second_no), 100, 0))
        .await
        .unwrap();
    assert_eq!(of_second.len(), 3);
    assert!(
        of_second
            .iter()
            .all(|v| v.case_id == second.case_id.to_string())
    );
    // A prefix finds both; a pattern character finds nothing rather than everything.
    let prefix = &second_no[..12];
    let both = store
        .personal_data_views(&all(None, Some(prefix), 100, 0))
        .await
        .unwrap();
    assert_eq!(both.len(), 5);
    let wild = store
        .personal_data_views(&all(None, Some("%"), 100, 0))
        .await
        .unwrap();
    assert!(wild.is_empty());
    // Pages.
    let page2 = store
        .personal_data_views(&all(None, None, 2, 2))
        .await
        .unwrap();
    assert_eq!(
        page2.iter().map(|v| v.id).collect::<Vec<_>>(),
        views[2..4].iter().map(|v| v.id).collect::<Vec<_>>()
    );
}
