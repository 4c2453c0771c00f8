//! The calendar's JSON API: the years in force as a document (`GET /api/v1/policy/calendar`)
//! and one year replaced (`PUT /api/v1/policy/calendar/{year}`), refused by field as
//! problem+json.

use super::*;

#[derive(Clone)]
pub struct CalendarApi(pub(super) Admin);

impl FromRef<CalendarApi> for AuthStore {
    fn from_ref(api: &CalendarApi) -> AuthStore {
        api.0.auth.clone()
    }
}

/// The draft calendar: its revision (name it when putting a year) and its years.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarDraft {
    pub revision: i64,
    /// Each year as the State Council notice arranges it.
    #[schema(value_type = Vec<Object>)]
    pub years: Vec<YearSpec>,
}

/// One year's arrangement to put.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutYear {
    /// The revision read with `GET`; when given and someone saved since, the put is refused
    /// (409) and nothing is saved.
    #[serde(default)]
    pub revision: Option<i64>,
    /// The notice's title and date; a default names the notice when empty.
    #[serde(default)]
    pub source: String,
    /// `[{"name": "春节", "off": ["2027-02-06", "2027-02-14"], "makeup": ["2027-02-20"]}]`
    #[schema(value_type = Vec<Object>)]
    pub holidays: Vec<bangban_domain::calendar::HolidaySpec>,
}

/// The answer to a put.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PutAnswer {
    pub year: i32,
    pub revision: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/policy/calendar",
    tag = "policy",
    security(("bearer" = [])),
    responses(
        (status = OK, description = "工作日历草稿。The draft working calendar.", body = CalendarDraft),
        (status = FORBIDDEN, description = "仅区级管理员。District administrators only.", body = Problem),
    ),
)]
pub(super) async fn api_get(
    State(api): State<CalendarApi>,
    _op: CurrentOperator,
) -> Result<Json<CalendarDraft>, Problem> {
    let draft = api
        .0
        .drafts
        .calendar()
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(Json(CalendarDraft {
        revision: draft.revision,
        years: draft.doc.spec().years.clone(),
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/policy/calendar/{year}",
    tag = "policy",
    security(("bearer" = [])),
    params(("year" = i32, Path, description = "年度。The year.")),
    request_body = PutYear,
    responses(
        (status = OK, description = "已保存（草稿）。Saved to the draft.", body = PutAnswer),
        (status = UNPROCESSABLE_ENTITY, description = "日期有误。The arrangement does not check.", body = Problem),
        (status = CONFLICT, description = "他人已修改。Changed by someone else since read.", body = Problem),
    ),
)]
pub(super) async fn api_put(
    State(api): State<CalendarApi>,
    CurrentOperator(op): CurrentOperator,
    Path(raw): Path<String>,
    body: Result<Json<PutYear>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<PutAnswer>, Problem> {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let invalid = |e: &NoticeError| {
        let mut p = Problem::from_domain(unprocessable, e).with("field", e.field());
        if let Some(at) = e.at() {
            let n = match at {
                notice::At::Line(n) | notice::At::Holiday(n) => n,
            };
            p = p.with("holiday", n);
        }
        p
    };
    let year = raw
        .parse::<i32>()
        .ok()
        .filter(|y| notice::YEARS.contains(y))
        .ok_or_else(|| invalid(&NoticeError::Year))?;
    let Json(put) = body.map_err(|e| {
        Problem::new(
            unprocessable,
            "calendar.body",
            format!("请求内容无法读取：{e}"),
            format!("the request body does not read: {e}"),
        )
    })?;
    let spec = YearSpec {
        year,
        source: match put.source.trim() {
            "" => notice::default_source(year),
            s => s.to_owned(),
        },
        holidays: put.holidays,
    };
    notice::check_year(&spec).map_err(|e| invalid(&e))?;
    match change_year(
        &api.0.drafts,
        op.username.as_str(),
        put.revision,
        year,
        Some(spec),
        true,
    )
    .await
    {
        Ok(revision) => Ok(Json(PutAnswer { year, revision })),
        Err(YearRefusal::Invalid(e)) => Err(invalid(&e)),
        Err(YearRefusal::Calendar(problem)) => Err(Problem::new(
            unprocessable,
            "calendar.invalid",
            format!("日历数据有误：{problem}"),
            format!("the calendar does not check: {problem}"),
        )),
        Err(YearRefusal::Draft(e @ DraftError::Conflict { .. })) => {
            let (zh, en) = e.message();
            Err(Problem::new(
                StatusCode::CONFLICT,
                "policy.draft_conflict",
                zh,
                en,
            ))
        }
        Err(YearRefusal::Draft(e)) => Err(Problem::internal(&e)),
        Err(YearRefusal::Exists(_) | YearRefusal::Missing(_)) => {
            Err(Problem::internal(&"calendar put: unexpected refusal"))
        }
    }
}
