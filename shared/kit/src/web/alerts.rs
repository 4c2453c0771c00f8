//! The alerts on the start page (deadline alerts and link alarms of this centre and its
//! subtree, see `crate::alerts`) and their acknowledgement: `POST /alerts/{alert_id}/ack`, then
//! 303 back to the start page. Rows are worded here, in the request's language.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use bangban_domain::calendar::{local_date, working_days_between};
use serde::Deserialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::Web;
use super::i18n::{Lang, Tr};
use super::pages::{china_time, csrf_refused, error_page, internal_error};
use super::session::{WebUser, check_form};
use crate::alerts::{Alert, AlertKind, AlertStore};
use crate::store::{StoreError, to_ms};

/// How many alerts the start page lists (the newest; the API pages through more).
pub const START_PAGE_ALERTS: u32 = 100;

/// One alert as the start page shows it.
pub struct AlertRow {
    pub id: String,
    pub kind: &'static str,
    /// `error` for overdue cases and silent children, `warn` for the rest.
    pub class: &'static str,
    pub case_no: Option<String>,
    /// The case page, when the case is held here.
    pub case_link: Option<String>,
    pub centre: String,
    /// What was found, worded.
    pub what: String,
    pub raised: String,
    /// Who acknowledged it and when, worded.
    pub acked: Option<String>,
}

fn instant(ms: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(china_time)
}

fn date(text: &str) -> Option<Date> {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// The start page's rows: the newest open alerts, worded for `t` as of `now`.
pub async fn rows(web: &Web, t: Tr, now: OffsetDateTime) -> Result<Vec<AlertRow>, StoreError> {
    let open = AlertStore::new(web.store.db().clone())
        .open(START_PAGE_ALERTS)
        .await?;
    let in_force = web.store.policy().current();
    let today = local_date(now);
    let me = web.me.to_string();
    let name_of = |code: &str| {
        if code == me {
            return web.name.clone();
        }
        crate::alerts::api::centre_name(web.store.policy(), code).unwrap_or_else(|| code.to_owned())
    };
    Ok(open
        .into_iter()
        .map(|a| {
            let what = worded(&a, t, today, &in_force.calendar);
            AlertRow {
                kind: t.pick(a.kind.label_zh(), a.kind.label_en()),
                class: match a.kind {
                    AlertKind::Overdue | AlertKind::ChildSilent => "error",
                    AlertKind::NearDue | AlertKind::StuckInTransit => "warn",
                },
                case_link: a
                    .case_id
                    .as_ref()
                    .filter(|_| a.centre == me)
                    .map(|id| format!("/cases/{id}")),
                case_no: a.case_no.clone(),
                centre: name_of(&a.centre),
                what,
                raised: instant(a.raised_at_ms).unwrap_or_default(),
                acked: match (&a.acked_by, a.acked_at_ms.and_then(instant)) {
                    (Some(by), Some(at)) => Some(format!("{}{by} {at}", t.s("alerts.acked_by"))),
                    _ => None,
                },
                id: a.id,
            }
        })
        .collect())
}

/// What an alert says, in the request's language.
fn worded(
    a: &Alert,
    t: Tr,
    today: Date,
    calendar: &bangban_domain::calendar::WorkingCalendar,
) -> String {
    let since = a.since_ms.and_then(instant);
    match a.kind {
        AlertKind::NearDue | AlertKind::Overdue => {
            let Some(due) = a.due_date.as_deref() else {
                return String::new();
            };
            let mut text = format!("{}{due}", t.s("alerts.due"));
            if let Some(d) = date(due) {
                let n = working_days_between(calendar, today, d);
                if d == today {
                    text.push_str(t.s("alerts.due_today"));
                } else if n > 0 {
                    text.push_str(&format!(
                        "{}{n}{}",
                        t.s("alerts.left_1"),
                        t.s("alerts.left_2")
                    ));
                } else if n < 0 {
                    text.push_str(&format!(
                        "{}{}{}",
                        t.s("alerts.late_1"),
                        -n,
                        t.s("alerts.late_2")
                    ));
                }
            }
            text
        }
        AlertKind::StuckInTransit if a.case_id.is_some() => {
            format!("{}{}", t.s("alerts.stuck_here"), since.unwrap_or_default())
        }
        AlertKind::StuckInTransit => match since {
            Some(at) => format!("{}{at}", t.s("alerts.stuck_child")),
            None => t.s("alerts.stuck_child_unknown").to_owned(),
        },
        AlertKind::ChildSilent => format!("{}{}", t.s("alerts.silent"), since.unwrap_or_default()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AckForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /alerts/{alert_id}/ack`: records who acknowledged the alert and when (the first
/// acknowledgement stays), then 303 to the start page.
pub async fn ack(
    State(web): State<Web>,
    lang: Lang,
    user: WebUser,
    headers: HeaderMap,
    Path(raw): Path<String>,
    form: Result<axum::Form<AckForm>, FormRejection>,
) -> Response {
    let form = form.map(|axum::Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &form.csrf) {
        return csrf_refused(lang);
    }
    let not_found = || {
        error_page(
            StatusCode::NOT_FOUND,
            lang,
            Tr::new(lang).s("alerts.not_found").to_owned(),
        )
    };
    let Ok(id) = Uuid::parse_str(&raw) else {
        return not_found();
    };
    let acked = AlertStore::new(web.store.db().clone())
        .ack(
            id,
            user.operator.username.as_str(),
            to_ms(OffsetDateTime::now_utc()),
        )
        .await;
    match acked {
        Ok(Some(alert)) => {
            tracing::info!(operator = %user.operator.username, alert_id = %id, kind = %alert.kind, "alert acknowledged");
            Redirect::to("/start#alerts").into_response()
        }
        Ok(None) => not_found(),
        Err(e) => internal_error(&e, lang),
    }
}
