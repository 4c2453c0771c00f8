//! Removing a year: a confirmation page, then the removal with its audit line.

use super::*;

#[derive(Template, WebTemplate)]
#[template(path = "policy/calendar_remove.html")]
pub(super) struct RemovePage {
    t: Tr,
    centre: Option<String>,
    user: Option<UserView>,
    exposed_plain_http: bool,
    csrf: String,
    year: i32,
    revision: i64,
    holidays: usize,
    /// Removing this year leaves cases due in it counted by weekends only.
    current: bool,
    error: String,
}

/// `GET /policy/calendar/remove?year=…`: asks for confirmation.
pub(super) async fn remove_form(
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
    let Some(spec) = wanted.and_then(|y| draft.doc.spec().years.iter().find(|s| s.year == y))
    else {
        return Redirect::to("/policy/calendar").into_response();
    };
    let today = bangban_domain::calendar::local_date(time::OffsetDateTime::now_utc());
    let page = RemovePage {
        year: spec.year,
        revision: draft.revision,
        holidays: spec.holidays.len(),
        current: spec.year >= today.year(),
        error: String::new(),
        t: frame.t,
        centre: frame.centre,
        user: frame.user,
        exposed_plain_http: frame.exposed_plain_http,
        csrf: frame.csrf,
    };
    with_lang(lang, &headers, page.into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RemoveInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    revision: String,
    #[serde(default)]
    year: String,
}

/// `POST /policy/calendar/remove`: removes the confirmed year; 303 to the overview.
pub(super) async fn remove_submit(
    State(admin): State<Admin>,
    lang: Lang,
    chrome: Chrome,
    user: WebUser,
    headers: HeaderMap,
    form: Result<Form<RemoveInput>, FormRejection>,
) -> Response {
    let input = form.map(|Form(f)| f).unwrap_or_default();
    if !check_form(&headers, &user, &input.csrf) {
        return csrf_refused(lang);
    }
    let frame = Frame::new(lang, &chrome, &user);
    let t = frame.t;
    let Ok(year) = input.year.trim().parse::<i32>() else {
        return Redirect::to("/policy/calendar").into_response();
    };
    let revision = input.revision.trim().parse::<i64>().ok();
    match change_year(
        &admin.drafts,
        user.operator.username.as_str(),
        revision,
        year,
        None,
        false,
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/policy/calendar?removed={year}")).into_response(),
        Err(YearRefusal::Draft(e)) if !matches!(e, DraftError::Conflict { .. }) => {
            internal_error(&e, lang)
        }
        Err(refusal) => {
            let (_, error) = refusal_message(t, &refusal);
            let page = RemovePage {
                year,
                revision: revision.unwrap_or_default(),
                holidays: 0,
                current: false,
                error,
                t,
                centre: frame.centre,
                user: frame.user,
                exposed_plain_http: frame.exposed_plain_http,
                csrf: frame.csrf,
            };
            (StatusCode::CONFLICT, page).into_response()
        }
    }
}
