//! The link between a child and its parent over real mutual TLS on loopback, with real stores:
//! the child checks who its parent is, refused events become dead letters in both directions
//! while the rest flows on, and the refusal matrix of the inter-node API.
#![allow(clippy::unwrap_used)]

mod alerts;
mod attachments;
#[path = "../common/databases.rs"]
mod databases;
mod failover;
mod link;
mod matrix;
mod openapi;
mod reconcile;
#[path = "../store/support.rs"]
#[allow(dead_code)]
mod store_support;
mod summaries;
mod support;
#[path = "../tls/support.rs"]
#[allow(dead_code)]
mod tls_support;

/// Generates `sqlite` and `postgres` variants of `$name(parent_db)` (from `link` or
/// `attachments`): the parent's store on
/// either backend (the district runs on PostgreSQL in production); the child is always SQLite.
macro_rules! parent_on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod parent_on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (db, _guard) = crate::databases::sqlite_db().await;
                    crate::$name(db).await;
                }
            )*
        }
        mod parent_on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (db, guard) = crate::databases::postgres_db().await;
                    crate::$name(db).await;
                    guard.drop_database().await;
                }
            )*
        }
    };
}

use alerts::*;
use attachments::*;
use failover::*;
use link::*;
use reconcile::*;
use summaries::*;

parent_on_both_backends!(
    an_event_the_parent_refuses_is_set_aside_and_the_events_behind_it_arrive,
    a_pulled_event_the_child_refuses_is_set_aside_and_the_link_flows_on,
    the_refusal_matrix,
    escalated_attachments_reach_the_parent_once_and_a_broken_transfer_resumes,
    the_parent_keeps_only_bytes_that_hash_to_their_name,
    files_added_above_come_down_after_the_pull,
    a_check_without_differences_is_one_small_request,
    every_kind_of_divergence_is_found_repaired_and_recorded,
    events_in_transit_are_not_counted,
    a_child_restored_from_nothing_gets_its_cases_back,
    forged_requests_are_refused_and_change_nothing,
    digests_of_an_older_database_are_filled_when_opened,
    summaries_are_reconciled_like_events,
    the_parent_records_each_pulls_outbox_report_and_raises_link_alarms,
    pushed_summaries_are_stored_once_and_a_replay_changes_nothing,
    a_summary_with_personal_data_is_refused_and_nothing_is_stored,
    summaries_outside_the_callers_subtree_or_malformed_are_refused,
    a_summary_refused_for_good_leaves_the_queue_and_the_others_flow_on,
    a_dead_first_url_is_passed_over_at_once_and_the_next_stays_in_use,
    a_refusal_does_not_move_the_link,
    a_server_error_moves_the_link_to_the_next_url,
    two_replicas_on_one_database_serve_one_link,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sibling_on_the_parents_address_receives_nothing_and_the_outbox_stays() {
    link::a_sibling_on_the_parents_address_receives_nothing_and_the_outbox_stays().await;
}
