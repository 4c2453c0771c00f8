//! What the store refuses (the caller's fault: a 4xx) or fails at (its own: a 5xx).

use bangban_domain::Bilingual;
use bangban_domain::case::TransitionError;
use bangban_domain::event::{CaseId, EventId};
use bangban_domain::station::StationCode;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("event {0} was stored before with different content")]
    EventIdReused(EventId),
    #[error("no case {0}")]
    UnknownCase(CaseId),
    #[error(
        "station {peer} may not send events of case {case_id}: the case is outside its subtree"
    )]
    OutsideSubtree { peer: StationCode, case_id: CaseId },
    #[error(
        "event {event_id} is dated {occurred_at}, more than {tolerance_secs} s ahead of this node's clock"
    )]
    FromTheFuture {
        event_id: EventId,
        occurred_at: OffsetDateTime,
        tolerance_secs: i64,
    },
    #[error("case {case_id} already has {max} events, the most a case may have")]
    CaseTooLong { case_id: CaseId, max: u64 },
    #[error(
        "the parent may not send event {event_id}: its author {author} lies in this node's subtree"
    )]
    ForgedAuthor {
        event_id: EventId,
        author: StationCode,
    },
    #[error("event {index} of the batch: {source}")]
    InBatch {
        index: usize,
        #[source]
        source: Box<StoreError>,
    },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the caller is at fault (a 4xx), as opposed to the store (a 5xx).
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            StoreError::Transition(_)
                | StoreError::EventIdReused(_)
                | StoreError::UnknownCase(_)
                | StoreError::OutsideSubtree { .. }
                | StoreError::FromTheFuture { .. }
                | StoreError::CaseTooLong { .. }
                | StoreError::ForgedAuthor { .. }
        ) || matches!(self, StoreError::InBatch { source, .. } if source.is_client_error())
    }
}

impl Bilingual for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::Transition(e) => e.code(),
            StoreError::EventIdReused(_) => "event.id_reused",
            StoreError::UnknownCase(_) => "case.unknown",
            StoreError::OutsideSubtree { .. } => "sync.outside_subtree",
            StoreError::FromTheFuture { .. } => "event.from_the_future",
            StoreError::CaseTooLong { .. } => "case.too_many_events",
            StoreError::ForgedAuthor { .. } => "sync.forged_author",
            StoreError::InBatch { source, .. } => source.code(),
            StoreError::Db(_) => "internal.database",
            StoreError::Corrupt(_) => "internal.corrupt",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            StoreError::Transition(e) => e.message_zh(),
            StoreError::EventIdReused(id) => format!("事件编号 {id} 已被另一条内容不同的记录使用"),
            StoreError::UnknownCase(id) => format!("没有编号为 {id} 的办件"),
            StoreError::OutsideSubtree { peer, .. } => {
                format!("站点 {peer} 无权提交不属于其辖区的办件记录")
            }
            StoreError::FromTheFuture { tolerance_secs, .. } => format!(
                "记录时间比本节点时钟超前 {tolerance_secs} 秒以上，请检查发送方电脑的系统时间"
            ),
            StoreError::CaseTooLong { max, .. } => {
                format!("该办件的记录已达上限（{max} 条），不能再添加")
            }
            StoreError::ForgedAuthor { author, .. } => {
                format!("上级节点不得下发本站辖区内站点（{author}）名义的记录")
            }
            StoreError::InBatch { index, source } => {
                format!("第 {} 条记录：{}", index + 1, source.message_zh())
            }
            StoreError::Db(_) | StoreError::Corrupt(_) => "数据库错误，请稍后重试".to_owned(),
        }
    }
}

impl From<StoreError> for crate::http::Problem {
    /// A refusal keeps its code and messages (inside a batch, those of the refused event, with
    /// its position); a failure of the store is logged and answered as an internal error.
    fn from(err: StoreError) -> crate::http::Problem {
        use crate::http::Problem;
        use axum::http::StatusCode;
        let innermost = match &err {
            StoreError::InBatch { source, .. } => source.as_ref(),
            e => e,
        };
        let status = match innermost {
            _ if !err.is_client_error() => return Problem::internal(&err),
            StoreError::OutsideSubtree { .. } => StatusCode::FORBIDDEN,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Problem::from_domain(status, &err)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::http::Problem;

    fn station(code: &str) -> StationCode {
        StationCode::parse(code).unwrap()
    }

    /// One problem per error, whichever listener reports it: the refusals keep their code, a
    /// batch keeps its event's status and code, the store's own failures are internal.
    #[test]
    fn each_store_error_maps_to_one_problem() {
        let case_id = CaseId::from_uuid(uuid::Uuid::now_v7());
        let event_id = EventId::from_uuid(uuid::Uuid::now_v7());
        let cases: Vec<(StoreError, u16, &str)> = vec![
            (StoreError::EventIdReused(event_id), 422, "event.id_reused"),
            // An event for a case the store lacks is refused like any other event (reading a
            // case that does not exist is a 404 of the intake service, a different error).
            (StoreError::UnknownCase(case_id), 422, "case.unknown"),
            (
                StoreError::OutsideSubtree {
                    peer: station("410402001001"),
                    case_id,
                },
                403,
                "sync.outside_subtree",
            ),
            (
                StoreError::CaseTooLong { case_id, max: 3 },
                422,
                "case.too_many_events",
            ),
            (
                StoreError::ForgedAuthor {
                    event_id,
                    author: station("410402001001"),
                },
                422,
                "sync.forged_author",
            ),
            (StoreError::Corrupt("x".into()), 500, "internal"),
            (StoreError::Db(sqlx::Error::PoolTimedOut), 500, "internal"),
        ];
        for (err, status, code) in cases {
            let text = err.to_string();
            let inner = Problem::from(err);
            assert_eq!(
                (inner.status, inner.code.as_str()),
                (status, code),
                "{text}"
            );
        }
        let batch = StoreError::InBatch {
            index: 2,
            source: Box::new(StoreError::OutsideSubtree {
                peer: station("410402001001"),
                case_id,
            }),
        };
        let problem = Problem::from(batch);
        assert_eq!(
            (problem.status, problem.code.as_str()),
            (403, "sync.outside_subtree")
        );
        assert!(
            problem.message_zh.starts_with("第 3 条记录"),
            "{}",
            problem.message_zh
        );
        let failed = Problem::from(StoreError::InBatch {
            index: 0,
            source: Box::new(StoreError::Db(sqlx::Error::PoolTimedOut)),
        });
        assert_eq!((failed.status, failed.code.as_str()), (500, "internal"));
        assert!(
            !failed.message_en.contains("pool"),
            "internals never reach the body"
        );
    }
}
