//! The working calendar as the district authors it, one year at a time: `/policy/calendar` shows
//! each covered year as twelve small months (printable on A4), a form adds or edits a year as
//! the clerk types it from the State Council notice, a confirmation removes one; the JSON API
//! `/api/v1/policy/calendar` reads the draft and puts a year. Every change goes through
//! `Drafts::save` with one audit line per year (`calendar.year`).
//!
//! It must never save a calendar the domain refuses: the publish screen builds bundles from the
//! draft, so the draft stays valid at all times.

mod api;
mod remove;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use bangban_domain::Bilingual;
use bangban_domain::calendar::notice::{self, NoticeError};
use bangban_domain::calendar::{CalendarSpec, WorkingCalendar, YearSpec};
use bangban_kit::access::Access;
use bangban_kit::auth::{AuthStore, CurrentOperator};
use bangban_kit::http::Problem;
use bangban_kit::web::i18n::{Lang, Tr};
use bangban_kit::web::pages::{Chrome, UserView, csrf_refused, internal_error, with_lang};
use bangban_kit::web::session::{WebUser, check_form};
use serde::{Deserialize, Serialize};
use time::{Date, Month, Weekday};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::{Admin, Frame, MANAGE};
use crate::drafts::{Change, DraftError, Drafts, Section};
use api::*;
use remove::*;

// ---------------------------------------------------------------------------------------------
// The change itself, shared by the page and the API
// ---------------------------------------------------------------------------------------------

/// Why a year was not saved.
#[derive(Debug)]
pub enum YearRefusal {
    /// The year's input does not check.
    Invalid(NoticeError),
    /// Adding a year the calendar already has.
    Exists(i32),
    /// Removing a year the calendar does not have.
    Missing(i32),
    /// The whole calendar does not check (cannot happen after the year's checks; kept so that
    /// nothing invalid is ever saved).
    Calendar(String),
    Draft(DraftError),
}

/// Puts `year` in the draft calendar (adding it, or replacing the year of the same number when
/// `replace`), or removes it (`year = None`, `number`), checked and audited; returns the new
/// revision.
pub async fn change_year(
    drafts: &Drafts,
    actor: &str,
    revision: Option<i64>,
    number: i32,
    year: Option<YearSpec>,
    replace: bool,
) -> Result<i64, YearRefusal> {
    let draft = drafts.calendar().await.map_err(YearRefusal::Draft)?;
    let mut spec: CalendarSpec = draft.doc.spec().clone();
    let before = spec.years.iter().find(|y| y.year == number).cloned();
    match (&year, &before) {
        (Some(_), Some(_)) if !replace => return Err(YearRefusal::Exists(number)),
        (None, None) => return Err(YearRefusal::Missing(number)),
        _ => {}
    }
    spec.years.retain(|y| y.year != number);
    if let Some(y) = &year {
        spec.years.push(y.clone());
    }
    spec.years.sort_by_key(|y| y.year);
    let calendar =
        WorkingCalendar::from_spec(&spec).map_err(|e| YearRefusal::Calendar(e.to_string()))?;
    let change = Change::of(
        Section::Calendar.as_str(),
        "calendar.year",
        number.to_string(),
        before.as_ref().map(notice::year_days).as_ref(),
        year.as_ref().map(notice::year_days).as_ref(),
    );
    drafts
        .save(
            Section::Calendar,
            &calendar,
            revision.unwrap_or(draft.revision),
            actor,
            &[change],
        )
        .await
        .map_err(YearRefusal::Draft)
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

/// The pages.
pub fn routes(admin: Admin) -> Router {
    Router::new()
        .route("/policy/calendar", get(overview))
        .route("/policy/calendar/edit", get(edit_form).post(edit_submit))
        .route(
            "/policy/calendar/remove",
            get(remove_form).post(remove_submit),
        )
        .with_state(admin)
}

/// The JSON API.
pub fn api(admin: Admin) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(api_get))
        .routes(routes!(api_put))
        .with_state(CalendarApi(admin))
}

pub fn access() -> Vec<Access> {
    vec![
        Access::get("/policy/calendar", MANAGE),
        Access::get("/policy/calendar/edit", MANAGE),
        Access::post("/policy/calendar/edit", MANAGE),
        Access::get("/policy/calendar/remove", MANAGE),
        Access::post("/policy/calendar/remove", MANAGE),
        Access::get("/api/v1/policy/calendar", MANAGE),
        Access {
            method: Method::PUT,
            path: "/api/v1/policy/calendar/{year}",
            rule: MANAGE,
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// The overview: each year as twelve months
// ---------------------------------------------------------------------------------------------

/// One day of a month grid.
pub struct DayCell {
    /// 0 for the blanks before the 1st and after the last day.
    pub day: u8,
    /// `off` (day off), `makeup` (make-up working day), `weekend` or empty.
    pub class: &'static str,
    /// The holiday it belongs to, for the tooltip.
    pub title: String,
}

pub struct MonthView {
    pub name: String,
    pub weeks: Vec<Vec<DayCell>>,
}

pub struct HolidayRow {
    pub name: String,
    pub off: String,
    pub days: usize,
    pub makeup: String,
}

pub struct YearView {
    pub year: i32,
    pub source: String,
    pub holidays: Vec<HolidayRow>,
    /// Days off that fall on Monday–Friday, and make-up working days.
    pub weekdays_off: usize,
    pub makeup_days: usize,
    /// Working days in the year under this arrangement.
    pub working_days: usize,
    pub months: Vec<MonthView>,
}

fn show_date(t: Tr, d: Date) -> String {
    match t.lang {
        Lang::Zh => format!("{}月{}日", u8::from(d.month()), d.day()),
        Lang::En => format!("{} {}", &d.month().to_string()[..3], d.day()),
    }
}

fn year_view(t: Tr, calendar: &WorkingCalendar, spec: &YearSpec) -> YearView {
    let mut names: std::collections::BTreeMap<Date, (&'static str, String)> = Default::default();
    let mut holidays = Vec::new();
    let mut weekdays_off = 0;
    let mut makeup_days = 0;
    for h in &spec.holidays {
        let [first, last] = h.off;
        let mut day = first;
        let mut days = 0;
        while day <= last {
            days += 1;
            if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
                weekdays_off += 1;
            }
            names.insert(day, ("off", h.name.clone()));
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        for d in &h.makeup {
            makeup_days += 1;
            names.insert(
                *d,
                (
                    "makeup",
                    format!("{}{}", h.name, t.pick("调休上班", " make-up day")),
                ),
            );
        }
        holidays.push(HolidayRow {
            name: h.name.clone(),
            off: if first == last {
                show_date(t, first)
            } else {
                format!("{} – {}", show_date(t, first), show_date(t, last))
            },
            days,
            makeup: h
                .makeup
                .iter()
                .map(|d| format!("{}（{}）", show_date(t, *d), weekday_label(t, d.weekday())))
                .collect::<Vec<_>>()
                .join(t.pick("、", ", ")),
        });
    }
    let mut months = Vec::new();
    let mut working_days = 0;
    for m in 1..=12u8 {
        let Ok(month) = Month::try_from(m) else {
            continue;
        };
        let Ok(first) = Date::from_calendar_date(spec.year, month, 1) else {
            continue;
        };
        let mut weeks = Vec::new();
        let mut week: Vec<DayCell> = (0..first.weekday().number_days_from_monday())
            .map(|_| DayCell {
                day: 0,
                class: "",
                title: String::new(),
            })
            .collect();
        let mut day = first;
        while day.month() == month {
            let weekend = matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday);
            if calendar.is_working_day(day) {
                working_days += 1;
            }
            let (class, title) = match names.get(&day) {
                Some((class, name)) => (*class, name.clone()),
                None if weekend => ("weekend", String::new()),
                None => ("", String::new()),
            };
            week.push(DayCell {
                day: day.day(),
                class,
                title,
            });
            if week.len() == 7 {
                weeks.push(std::mem::take(&mut week));
            }
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        if !week.is_empty() {
            while week.len() < 7 {
                week.push(DayCell {
                    day: 0,
                    class: "",
                    title: String::new(),
                });
            }
            weeks.push(week);
        }
        months.push(MonthView {
            name: match t.lang {
                Lang::Zh => format!("{m}月"),
                Lang::En => month.to_string(),
            },
            weeks,
        });
    }
    YearView {
        year: spec.year,
        source: spec.source.clone(),
        holidays,
        weekdays_off,
        makeup_days,
        working_days,
        months,
    }
}

fn weekday_label(t: Tr, w: Weekday) -> &'static str {
    match w {
        Weekday::Saturday => t.pick("周六", "Sat"),
        Weekday::Sunday => t.pick("周日", "Sun"),
        Weekday::Monday => t.pick("周一", "Mon"),
        Weekday::Tuesday => t.pick("周二", "Tue"),
        Weekday::Wednesday => t.pick("周三", "Wed"),
        Weekday::Thursday => t.pick("周四", "Thu"),
        Weekday::Friday => t.pick("周五", "Fri"),
    }
}

#[derive(Debug, Default, Deserialize)]
struct OverviewQuery {
    #[serde(default)]
    saved: Option<i32>,
    #[serde(default)]
    removed: Option<i32>,
    #[serde(default)]
    year: Option<i32>,
}

#[derive(Template, WebTemplate)]
#[template(path = "policy/calendar.html")]
struct OverviewPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    notice: String,
    years: Vec<YearView>,
    /// The year shown alone (`?year=`), for printing one year.
    only: Option<i32>,
    missing: Option<i32>,
    next_year: i32,
    updated: String,
    weekdays: [&'static str; 7],
}

/// `GET /policy/calendar[?year=…]`: the years the draft covers, each as twelve months.
async fn overview(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    query: Result<Query<OverviewQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let draft = match admin.drafts.calendar().await {
        Ok(d) => d,
        Err(e) => return internal_error(&e, lang),
    };
    let notice = match (q.saved, q.removed) {
        (Some(y), _) => format!(
            "{y}{}",
            t.pick(
                "年的节假日安排已保存（草稿，发布后生效）。",
                ": saved (a draft until published)."
            )
        ),
        (_, Some(y)) => format!(
            "{y}{}",
            t.pick(
                "年的节假日安排已删除（草稿，发布后生效）。",
                ": removed (a draft until published)."
            )
        ),
        _ => String::new(),
    };
    let years: Vec<YearView> = draft
        .doc
        .spec()
        .years
        .iter()
        .filter(|y| q.year.is_none_or(|only| only == y.year))
        .map(|y| year_view(t, &draft.doc, y))
        .collect();
    let today = bangban_domain::calendar::local_date(time::OffsetDateTime::now_utc());
    let page = OverviewPage {
        notice,
        only: q.year,
        missing: draft.doc.missing_year(today),
        next_year: next_year(&draft.doc, today),
        updated: format!(
            "{} · {}",
            bangban_kit::web::pages::china_time(draft.updated_at),
            draft.updated_by
        ),
        years,
        weekdays: match lang {
            Lang::Zh => ["一", "二", "三", "四", "五", "六", "日"],
            Lang::En => ["M", "T", "W", "T", "F", "S", "S"],
        },
        t,
        centre: frame.centre,
        user: frame.user,
        exposed_plain_http: frame.exposed_plain_http,
    };
    with_lang(lang, &headers, page.into_response())
}

/// The year a new arrangement is most likely for: the first year from this one the calendar
/// lacks.
fn next_year(calendar: &WorkingCalendar, today: Date) -> i32 {
    let mut year = today.year();
    while calendar.covered_years().any(|y| y == year) {
        year += 1;
    }
    year
}

// ---------------------------------------------------------------------------------------------
// Adding or editing a year
// ---------------------------------------------------------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "policy/calendar_edit.html")]
struct EditPage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    csrf: String,
    /// Editing an existing year (the year cannot change), or adding one.
    editing: bool,
    revision: i64,
    year: String,
    source: String,
    holidays: String,
    /// The refusal: the field it is about and the message; `form` for the form as a whole.
    error_field: &'static str,
    error: String,
    example: String,
}

#[derive(Debug, Default, Deserialize)]
struct EditQuery {
    #[serde(default)]
    year: Option<i32>,
}

/// `GET /policy/calendar/edit[?year=…]`: the form, filled with the year's arrangement when it
/// exists, else empty for the next year the calendar lacks.
async fn edit_form(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    query: Result<Query<EditQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let frame = Frame::new(lang, &chrome, &user);
    let draft = match admin.drafts.calendar().await {
        Ok(d) => d,
        Err(e) => return internal_error(&e, lang),
    };
    let wanted = query.ok().and_then(|Query(q)| q.year);
    let existing = wanted.and_then(|y| draft.doc.spec().years.iter().find(|s| s.year == y));
    let today = bangban_domain::calendar::local_date(time::OffsetDateTime::now_utc());
    let (editing, year, source, holidays) = match existing {
        Some(spec) => (
            true,
            spec.year,
            spec.source.clone(),
            notice::format_holidays(spec),
        ),
        None => (
            false,
            wanted.unwrap_or_else(|| next_year(&draft.doc, today)),
            String::new(),
            String::new(),
        ),
    };
    let page = edit_page(
        frame,
        editing,
        draft.revision,
        year.to_string(),
        source,
        holidays,
        ("", String::new()),
    );
    with_lang(lang, &headers, page.into_response())
}

fn edit_page(
    frame: Frame,
    editing: bool,
    revision: i64,
    year: String,
    source: String,
    holidays: String,
    (error_field, error): (&'static str, String),
) -> EditPage {
    let example_year = year.parse::<i32>().unwrap_or(2027);
    EditPage {
        example: format!(
            "元旦 {example_year}-01-01\n春节 2月6日至14日 2月20日上班\n国庆节 10月1日至7日 9月26日、10月9日上班"
        ),
        t: frame.t,
        centre: frame.centre,
        user: frame.user,
        exposed_plain_http: frame.exposed_plain_http,
        csrf: frame.csrf,
        editing,
        revision,
        year,
        source,
        holidays,
        error_field,
        error,
    }
}

#[derive(Debug, Default, Deserialize)]
struct EditInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    revision: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    holidays: String,
}

/// The message of a refusal for the page, with the field it goes beside.
fn refusal_message(t: Tr, refusal: &YearRefusal) -> (&'static str, String) {
    match refusal {
        YearRefusal::Invalid(e) => (
            e.field(),
            t.pick(&e.message_zh(), &e.to_string()).to_owned(),
        ),
        YearRefusal::Exists(y) => (
            "year",
            format!(
                "{y}{}",
                t.pick(
                    "年的节假日安排已存在，请在年度列表中点“修改”。",
                    " is already in the calendar; edit it from the list."
                )
            ),
        ),
        YearRefusal::Missing(y) => (
            "form",
            format!(
                "{y}{}",
                t.pick(
                    "年不在日历中，可能已被他人删除。",
                    " is not in the calendar (removed meanwhile?)."
                )
            ),
        ),
        YearRefusal::Calendar(problem) => (
            "holidays",
            format!(
                "{}{problem}",
                t.pick("日历数据有误：", "The calendar does not check: ")
            ),
        ),
        YearRefusal::Draft(e) => {
            let (zh, en) = e.message();
            ("form", t.pick(&zh, &en).to_owned())
        }
    }
}

/// `POST /policy/calendar/edit`: adds or replaces a year; 303 to the overview, or the form again
/// (422, 409 when someone saved meanwhile) with the message beside its field, nothing saved.
async fn edit_submit(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    form: Result<Form<EditInput>, FormRejection>,
) -> Response {
    let input = form.map(|Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &input.csrf) {
        return csrf_refused(lang);
    }
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let editing = input.mode == "edit";
    let revision = input.revision.trim().parse::<i64>().ok();
    let result = match notice::parse_year(&input.year, &input.source, &input.holidays) {
        Ok(spec) => {
            let number = spec.year;
            change_year(
                &admin.drafts,
                user.operator.username.as_str(),
                revision,
                number,
                Some(spec),
                editing,
            )
            .await
            .map(|_| number)
        }
        Err(e) => Err(YearRefusal::Invalid(e)),
    };
    match result {
        Ok(year) => Redirect::to(&format!("/policy/calendar?saved={year}#y{year}")).into_response(),
        Err(YearRefusal::Draft(e)) if !matches!(e, DraftError::Conflict { .. }) => {
            internal_error(&e, lang)
        }
        Err(refusal) => {
            let status = match refusal {
                YearRefusal::Draft(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let message = refusal_message(t, &refusal);
            let page = edit_page(
                frame,
                editing,
                revision.unwrap_or_default(),
                input.year,
                input.source,
                input.holidays,
                message,
            );
            (status, page).into_response()
        }
    }
}
