//! Test support: stores on both backends and event builders with real station codes.

use std::path::Path;
use std::sync::Arc;

use bangban_domain::calendar::WorkingCalendar;
use bangban_domain::event::*;
use bangban_domain::ident::{MobileNumber, ResidentId};
use bangban_domain::station::{StationCode, Tier};
use bangban_kit::store::CaseStore;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

pub const DISTRICT: &str = "410402000000";
pub const TOWN: &str = "410402001000";
pub const VILLAGE: &str = "410402001001";
pub const SIBLING: &str = "410402001002";
pub const OTHER_TOWN_VILLAGE: &str = "410402002001";

pub fn code(s: &str) -> StationCode {
    StationCode::parse(s).unwrap()
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub fn calendar() -> Arc<WorkingCalendar> {
    Arc::new(
        WorkingCalendar::from_json(include_str!("../../../../deploy/policy/calendar.json"))
            .unwrap(),
    )
}

pub use crate::databases::{PgGuard, SqliteGuard};

pub async fn open_sqlite(path: &Path) -> CaseStore {
    CaseStore::new(crate::databases::open_sqlite(path).await, calendar())
}

pub async fn sqlite_store() -> (CaseStore, SqliteGuard) {
    let (db, guard) = crate::databases::sqlite_db().await;
    (CaseStore::new(db, calendar()), guard)
}

pub async fn postgres_store() -> (CaseStore, PgGuard) {
    let (db, guard) = crate::databases::postgres_db().await;
    (CaseStore::new(db, calendar()), guard)
}

/// Builds the events of one case, authored by whoever the test says.
#[derive(Clone)]
pub struct CaseBuilder {
    pub case_id: CaseId,
    pub case_no: CaseNumber,
    pub origin: StationCode,
    pub at: OffsetDateTime,
}

impl CaseBuilder {
    pub fn at_station(origin: &str, seq: u32) -> Self {
        let origin = code(origin);
        CaseBuilder {
            case_id: CaseId::from_uuid(Uuid::now_v7()),
            case_no: CaseNumber::new(origin, time::macros::date!(2026 - 02 - 10), seq).unwrap(),
            origin,
            at: datetime!(2026-02-10 09:00 +8),
        }
    }

    pub fn village() -> Self {
        Self::at_station(VILLAGE, 1)
    }

    pub fn event(&self, author: &str, minutes: i64, body: EventBody) -> Event {
        Event {
            event_id: EventId::from_uuid(Uuid::now_v7()),
            case_id: self.case_id,
            author: code(author),
            actor: Some("operator1".into()),
            occurred_at: self.at + time::Duration::minutes(minutes),
            body,
        }
    }

    pub fn application(&self) -> Event {
        self.event(
            &self.origin.to_string(),
            0,
            EventBody::ApplicationReceived(Application {
                policy_bundle: None,
                case_no: self.case_no,
                channel: Channel::Window,
                item: ItemRef {
                    code: "410402-JY-001".into(),
                    name: "食品经营许可".into(),
                    case_type: CaseType::Promised,
                    promised_days: 5,
                },
                applicant: Applicant::Person {
                    name: "张三".into(),
                    id_number: ResidentId::parse("11010519491231002X").unwrap(),
                    phone: MobileNumber::parse("13812345678").unwrap(),
                },
            }),
        )
    }

    pub fn complete_review(&self, author: &str, minutes: i64) -> Event {
        self.event(
            author,
            minutes,
            EventBody::PreReviewed(PreReview {
                materials: vec![MaterialVerdict {
                    name: "营业执照".into(),
                    verdict: Verdict::Conforming,
                    remark: None,
                }],
            }),
        )
    }

    pub fn delegation(&self, author: &str, minutes: i64) -> Event {
        self.event(
            author,
            minutes,
            EventBody::DelegationSigned(Delegation {
                agreement_no: "WT-0001".into(),
                agent_name: "李四".into(),
                delivery: Delivery::HallPickup,
            }),
        )
    }

    pub fn escalate(&self, author: &str, minutes: i64, to: Tier) -> Event {
        self.event(
            author,
            minutes,
            EventBody::Escalated(Escalation {
                to_tier: to,
                reason: "须由区级部门审批".into(),
            }),
        )
    }

    pub fn comment(&self, author: &str, minutes: i64, text: &str) -> Event {
        self.event(
            author,
            minutes,
            EventBody::Commented(Comment { text: text.into() }),
        )
    }

    /// A file added by `author`: `content` names the bytes (their SHA-256 is the hash).
    pub fn attachment(&self, author: &str, minutes: i64, content: &[u8], material: &str) -> Event {
        self.event(
            author,
            minutes,
            EventBody::AttachmentAdded(Attachment {
                sha256: bangban_kit::attachments::sha256(content),
                media_type: bangban_domain::attachment::MediaType::Pdf,
                size: u64::try_from(content.len()).unwrap(),
                file_name: format!("{material}.pdf"),
                material: Some(material.into()),
                stripped: false,
            }),
        )
    }

    pub fn simple(&self, author: &str, minutes: i64, kind: EventKind) -> Event {
        let note = Note { note: None };
        let body = match kind {
            EventKind::AcceptedUpstream => EventBody::AcceptedUpstream(note),
            EventKind::Completed => EventBody::Completed(note),
            EventKind::Resumed => EventBody::Resumed(note),
            EventKind::HandlingStarted => EventBody::HandlingStarted(HandlingStart {
                department: "区市场监管局".into(),
                note: None,
            }),
            EventKind::ResultReady => EventBody::ResultReady(CaseResult {
                outcome: Outcome::Approved,
                certificate_no: Some("JY14104020001".into()),
                explanation: None,
            }),
            EventKind::HandedOver => EventBody::HandedOver(Handover {
                method: HandoverMethod::Pickup,
                received_by: "张三".into(),
            }),
            other => panic!("no simple builder for {other}"),
        };
        self.event(author, minutes, body)
    }

    pub fn return_to(&self, author: &str, minutes: i64, to: &str) -> Event {
        self.event(
            author,
            minutes,
            EventBody::ReturnedDown(Return {
                to: code(to),
                reason: "结果已出，退回发起站点交付".into(),
            }),
        )
    }
}
