//! The district storage contract: every test runs against a temporary SQLite file and against a
//! fresh database on the real PostgreSQL server named by `PG_TEST_URL` (scripts/test.sh starts
//! one). A missing server fails the PostgreSQL half loudly; it is never skipped.
#![allow(clippy::unwrap_used)]

mod alerts;
mod contract;
#[path = "../common/databases.rs"]
mod databases;
mod gauges;
mod hardening;
mod lists;
mod personal;
mod summaries;
mod support;
mod ticks;

/// Generates `sqlite` and `postgres` variants of a contract test `contract::$name(store)`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _guard) = crate::support::sqlite_store().await;
                    crate::contract::$name(store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, guard) = crate::support::postgres_store().await;
                    crate::contract::$name(store).await;
                    guard.drop_database().await;
                }
            )*
        }
    };
}

/// Generates `sqlite` and `postgres` variants of tests `$module::$name(store)` of another module.
macro_rules! both_backends_of {
    ($wrapper:ident => $module:ident: $($name:ident),* $(,)?) => {
        mod $wrapper {
            mod on_sqlite {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let (store, _guard) = crate::support::sqlite_store().await;
                        crate::$module::$name(store).await;
                    }
                )*
            }
            mod on_postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let (store, guard) = crate::support::postgres_store().await;
                        crate::$module::$name(store).await;
                        guard.drop_database().await;
                    }
                )*
            }
        }
    };
}

both_backends_of!(
    job_ticks => ticks:
    two_runners_on_one_database_run_each_tick_once,
    on_postgres_a_job_never_runs_twice_at_once_across_runners,
);

both_backends_of!(
    deadline_and_transit_alerts => alerts:
    near_due_and_overdue_follow_the_working_calendar,
    suspended_cases_are_skipped_and_closing_clears,
    acknowledging_records_who_and_when_until_the_alert_clears,
    an_escalation_stuck_in_the_outbox_raises_an_alarm_until_the_parent_acknowledges_it,
);

both_backends_of!(
    case_summaries => summaries:
    the_summary_of_an_own_case_is_written_with_each_of_its_events,
    a_summary_is_replaced_by_a_newer_version_only,
    the_summary_outbox_keeps_the_latest_version_until_it_is_acknowledged,
    a_summary_follows_the_events_pulled_from_the_parent,
    a_town_relays_the_summaries_its_villages_send,
    summaries_list_by_subtree_and_stage_newest_first,
    summary_digests_follow_each_stored_version_and_are_filled_when_opened,
    racing_summary_writers_leave_one_digest,
    gaps_in_case_numbers_are_those_held_neither_as_summary_nor_as_case,
);

both_backends_of!(
    personal_data => personal:
    each_reveal_of_personal_data_is_recorded_first,
    the_personal_data_trail_filters_by_viewer_and_case_number_newest_first,
);

both_backends!(
    migrations_are_idempotent,
    opening_event_creates_the_case_and_its_projection,
    storing_the_same_event_twice_is_a_no_op,
    reusing_an_event_id_with_other_content_is_refused_and_changes_nothing,
    illegal_transition_is_refused_and_changes_nothing,
    only_the_holder_changes_state,
    lifecycle_updates_holder_stage_and_due_date,
    lists_filter_by_subtree_holder_and_stage,
    case_numbers_count_per_station_and_day,
    concurrent_appends_to_one_case_are_all_kept_in_order,
    unknown_case_reads_as_none,
    a_pull_never_skips_an_event_still_in_flight,
    a_refused_pulled_event_is_set_aside_and_the_rest_stored,
    an_event_the_parent_refuses_for_good_becomes_a_dead_letter_until_retried,
    the_outbox_forgets_exactly_the_acknowledged_events,
    appends_apply_to_the_stored_state_and_fold_when_it_is_unusable,
    a_case_is_capped_at_its_event_limit,
    events_from_the_future_are_refused_and_late_ones_kept_with_their_arrival,
    a_parent_cannot_send_events_authored_in_the_child_subtree,
    gauges_change_when_the_refresh_job_runs_and_never_on_scrape,
    the_age_of_the_oldest_record_waiting_for_the_parent_is_a_gauge,
    the_day_counts_what_a_station_must_see_today,
    attachments_are_projected_from_their_events_once,
    search_finds_cases_by_number_item_name_and_id_never_by_plain_personal_data,
    keyset_pages_neither_repeat_nor_skip_while_cases_arrive,
    the_due_filter_lists_open_cases_overdue_or_due_soon,
    stage_counts_are_kept_by_every_write_of_a_case,
    cases_stored_before_search_terms_are_found_once_the_database_is_opened,
    a_case_whose_log_no_longer_reads_does_not_keep_the_database_from_opening,
);

#[tokio::test]
async fn sqlite_connections_use_wal_and_foreign_keys() {
    use sqlx::Row;
    let (store, _guard) = support::sqlite_store().await;
    let row = sqlx::query("PRAGMA journal_mode")
        .fetch_one(store.db().pool())
        .await
        .unwrap();
    assert_eq!(row.try_get::<String, _>(0).unwrap().to_lowercase(), "wal");
    let row = sqlx::query("PRAGMA foreign_keys")
        .fetch_one(store.db().pool())
        .await
        .unwrap();
    assert_eq!(row.try_get::<i64, _>(0).unwrap(), 1);
    let row = sqlx::query("PRAGMA busy_timeout")
        .fetch_one(store.db().pool())
        .await
        .unwrap();
    assert!(row.try_get::<i64, _>(0).unwrap() >= 1000);
}

/// An acknowledged push must survive power loss: every pooled connection syncs each commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pooled_sqlite_connection_commits_with_synchronous_full() {
    use sqlx::Row;
    let (store, _guard) = support::sqlite_store().await;
    // Hold as many connections as the pool gives, so that each one is asked.
    let mut held = Vec::new();
    while let Ok(Ok(conn)) = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        store.db().pool().acquire(),
    )
    .await
    {
        held.push(conn);
    }
    assert!(held.len() >= 2, "the pool has {} connections", held.len());
    for conn in &mut held {
        let row = sqlx::query("PRAGMA synchronous")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        // 2 = FULL (0 OFF, 1 NORMAL, 3 EXTRA).
        assert_eq!(row.try_get::<i64, _>(0).unwrap(), 2);
    }
}

#[tokio::test]
async fn sqlite_data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("station.sqlite");
    let case = support::CaseBuilder::village();
    {
        let store = support::open_sqlite(&path).await;
        store
            .append(&case.application(), support::now())
            .await
            .unwrap();
        store.db().close().await;
    }
    let store = support::open_sqlite(&path).await;
    let (state, events) = store.case(case.case_id).await.unwrap().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(state.case_no, case.case_no);
}
