//! HTTP plumbing both nodes share: problem+json errors with Chinese and English messages, the
//! health endpoints, request tracing named by route, and extractors (a JSON body, a query, a
//! case id in the path) whose rejections are problems too.
//!
//! [`Problem`] is the one error type of every handler on either listener: each module's error
//! converts into it (`From<StoreError>`, `From<IntakeError>`, `From<AuthError>`, a full
//! long-poll cap, a rejected query …), so handlers use `?`, and an error maps to the same status
//! and code whichever listener reports it.
//!
//! Internals (SQL, file paths, stack traces) never reach a response body: they are logged and the
//! caller gets a generic message with the request's trace.
//!
//! The health endpoints are documented where they are registered ([`health_router`]); both
//! OpenAPI documents include them, with the problem document ([`Problem`]'s schema).

use std::sync::Arc;

use axum::extract::{FromRequest, MatchedPath, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use bangban_domain::Bilingual;
use serde::Serialize;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The media type of RFC 9457 problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document, extended with a stable `code` and the message in both
/// languages. Kept small (it travels in every `Result` of a handler); the standard `type`,
/// `title` and `detail` members are derived when it is rendered.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: u16,
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
    /// Extension members (RFC 9457 §3.2), e.g. the `event_id` a refusal is about.
    pub extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let extra = self.extensions.as_deref();
        let mut st = s.serialize_map(Some(7 + extra.map_or(0, |m| m.len())))?;
        st.serialize_entry(
            "type",
            &format!("https://bangban.invalid/problems/{}", self.code),
        )?;
        st.serialize_entry("title", self.status().canonical_reason().unwrap_or("Error"))?;
        st.serialize_entry("status", &self.status)?;
        st.serialize_entry("detail", &self.message_en)?;
        st.serialize_entry("code", &self.code)?;
        st.serialize_entry("message_zh", &self.message_zh)?;
        st.serialize_entry("message_en", &self.message_en)?;
        for (k, v) in extra.into_iter().flatten() {
            st.serialize_entry(k, v)?;
        }
        st.end()
    }
}

impl utoipa::PartialSchema for Problem {
    fn schema() -> RefOr<Schema> {
        let string = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        ObjectBuilder::new()
            .description(Some(
                "问题说明（RFC 9457），附稳定的错误代码及中英文说明。An RFC 9457 problem \
                 document with a stable `code` and the message in Chinese and English; \
                 extension members (e.g. `event_id`) may follow.",
            ))
            .property("type", string("`https://bangban.invalid/problems/<code>`"))
            .property("title", string("The status code's reason phrase."))
            .property(
                "status",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .description(Some("The HTTP status code.")),
            )
            .property("detail", string("The message in English."))
            .property(
                "code",
                string("Stable machine-readable code, e.g. `case.illegal_transition`."),
            )
            .property("message_zh", string("中文说明。The message in Chinese."))
            .property("message_en", string("The message in English."))
            .required("type")
            .required("title")
            .required("status")
            .required("detail")
            .required("code")
            .required("message_zh")
            .required("message_en")
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .into()
    }
}

impl utoipa::ToSchema for Problem {}

impl Problem {
    pub fn new(status: StatusCode, code: &str, message_zh: String, message_en: String) -> Self {
        Problem {
            status: status.as_u16(),
            code: code.to_owned(),
            message_zh,
            message_en,
            extensions: None,
        }
    }

    /// Adds an extension member (e.g. `event_id`).
    pub fn with(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extensions
            .get_or_insert_with(Default::default)
            .insert(name.to_owned(), value.into());
        self
    }

    /// A problem from a domain error, which knows its own code and both messages.
    pub fn from_domain(status: StatusCode, err: &dyn Bilingual) -> Self {
        Problem::new(status, err.code(), err.message_zh(), err.message_en())
    }

    pub fn not_found(what_zh: &str, what_en: &str) -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("未找到{what_zh}"),
            format!("{what_en} not found"),
        )
    }

    pub fn bad_request(
        code: &str,
        message_zh: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            code,
            message_zh.into(),
            message_en.into(),
        )
    }

    /// For failures that are ours, not the caller's. The cause is logged, never sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "系统内部错误，请稍后重试；如持续出现请联系管理员".to_owned(),
            "internal error; please retry later and contact the administrator if it persists"
                .to_owned(),
        )
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, PROBLEM_JSON)], body).into_response()
    }
}

/// A JSON body extractor whose every rejection (wrong content type, malformed JSON, a field of
/// the wrong type, a body over the limit) is a problem document rather than plain text.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "request.content_type",
                    "请求须为 JSON（Content-Type: application/json）".to_owned(),
                    "the request body must be JSON (Content-Type: application/json)".to_owned(),
                ),
                JsonRejection::JsonSyntaxError(e) => Problem::bad_request(
                    "request.json_syntax",
                    format!("请求内容不是有效的 JSON：{}", e.body_text()),
                    format!("the request body is not valid JSON: {}", e.body_text()),
                ),
                JsonRejection::JsonDataError(e) => Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "request.json_data",
                    format!("请求内容不符合要求：{}", e.body_text()),
                    format!("the request body does not fit: {}", e.body_text()),
                ),
                other if crate::serve::is_body_read_timeout(&other) => Problem::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request.body_timeout",
                    "请求内容未能在规定时间内传完，请重试".to_owned(),
                    "the request body did not arrive in time; please retry".to_owned(),
                ),
                other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request.too_large",
                    "请求内容过大".to_owned(),
                    "the request body is too large".to_owned(),
                ),
                other => Problem::bad_request(
                    "request.body",
                    format!("无法读取请求内容：{}", other.body_text()),
                    format!("cannot read the request body: {}", other.body_text()),
                ),
            }),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for Problem {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Problem {
        Problem::bad_request(
            "request.query",
            format!("查询参数有误：{}", rejection.body_text()),
            format!("bad query parameters: {}", rejection.body_text()),
        )
    }
}

/// A case id in the path (`…/cases/{case_id}…`); a malformed one is a 400 problem.
pub struct CaseIdPath(pub bangban_domain::event::CaseId);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CaseIdPath {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let malformed = || Problem::bad_request("case.id", "办件编号格式有误", "malformed case id");
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| malformed())?;
        raw.parse().map(CaseIdPath).map_err(|_| malformed())
    }
}

/// Refuses a request whose `Content-Length` announces more than `max` bytes at once, from its
/// head, with a 413 problem and `Connection: close`, instead of reading the body up to the limit
/// first. A client that waits for the answer before sending (`Expect: 100-continue`, or one that
/// stops writing) gets it at once; the body limit itself still guards chunked bodies.
///
/// Mount it with `axum::middleware::from_fn_with_state(max, refuse_oversized)`.
pub async fn refuse_oversized(
    axum::extract::State(max): axum::extract::State<usize>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX)) {
        let mut res = Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.too_large",
            format!("请求内容过大（上限 {} KiB）", max / 1024),
            format!("the request body is too large (at most {} KiB)", max / 1024),
        )
        .into_response();
        res.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return res;
    }
    next.run(req).await
}

/// Answers unknown routes with a problem document.
pub async fn fallback() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "route.not_found",
        "没有这个地址".to_owned(),
        "no such route".to_owned(),
    )
}

/// One line of a readiness report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// Whether a failure of this check makes the node not ready (a parent link that is down
    /// does not: a station keeps taking in cases offline).
    pub required: bool,
    pub detail: String,
}

/// What `/readyz` reports; the node decides what to check.
pub trait Readiness: Send + Sync + 'static {
    fn checks(&self) -> impl std::future::Future<Output = Vec<Check>> + Send;
}

/// What `/readyz` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// Whether every required check passed.
    pub ready: bool,
    pub checks: Vec<Check>,
}

/// What `/healthz` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`: the process answers.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The node's readiness checks, behind one type the health handlers can take as state.
pub type ReadinessProbe = Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<Check>> + Send>>
        + Send
        + Sync,
>;

/// `/healthz` (the process answers) and `/readyz` (its dependencies are usable), for any node.
pub fn health_routes<R: Readiness>(readiness: Arc<R>) -> Router {
    let probe: ReadinessProbe = Arc::new(move || {
        let readiness = readiness.clone();
        Box::pin(async move { readiness.checks().await })
    });
    health_router().with_state(probe).into()
}

/// The health routes with their documentation; [`health_routes`] gives them their state.
pub fn health_router() -> OpenApiRouter<ReadinessProbe> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// The process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = OK, description = "进程在运行。The process answers.", body = Health)),
)]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Whether the node's dependencies are usable (the database, its certificate, the link to its
/// parent, the jobs); a check that is not `required` does not make the node unready.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = OK, description = "可以提供服务。Ready.", body = Ready),
        (status = SERVICE_UNAVAILABLE, description = "暂不能提供服务。Not ready: a required check failed.", body = Ready),
    ),
)]
async fn readyz(
    axum::extract::State(probe): axum::extract::State<ReadinessProbe>,
) -> (StatusCode, Json<Ready>) {
    let checks = probe().await;
    let ready = checks.iter().all(|c| c.ok || !c.required);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(Ready { ready, checks }))
}

/// A tracing layer whose spans are named by the matched route (not the raw path, which may carry
/// identifiers) and that logs status and latency.
pub fn trace_layer() -> tower_http::trace::TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    impl Fn(&Request) -> tracing::Span + Clone,
> {
    tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &Request| {
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_else(|| "unmatched".to_owned());
        tracing::info_span!("http", method = %req.method(), route = %route)
    })
}
