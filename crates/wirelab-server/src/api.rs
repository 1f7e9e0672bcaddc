//! The REST API under `/api/v1`: routes, handlers, problem details and the
//! OpenAPI document derived from them.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::stream::{self, Stream, StreamExt};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use utoipa::OpenApi;
use wirelab_spec::{CheckProto, Family};

use crate::actor::{event, ClockState, Hub, Speed};
use crate::labs::{diagnostic_view, LabEntry, PutOutcome, SourceFormat, State};
use crate::views::*;

type St = AxState<Arc<State>>;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "wirelab",
        description = "Labs running on a simulated clock: their topology, flows, counters and events; runs of their checks; explained exchanges. Errors are RFC 9457 problem details. See docs/api.md.",
        version = "1"
    ),
    paths(
        list_labs,
        get_lab,
        put_lab,
        delete_lab,
        run_checks,
        topology,
        flows,
        counters,
        events,
        trace,
        clock,
        openapi_doc
    ),
    components(schemas(
        Problem,
        DiagnosticView,
        LabSummary,
        LabList,
        LabCounts,
        LabDetail,
        ClockView,
        ClockRequest,
        Topology,
        NodeView,
        InterfaceView,
        NetworkView,
        LinkView,
        Flows,
        FlowView,
        Counters,
        InterfaceCounters,
        NetworkState,
        RuleHits,
        EventView,
        TraceRequest,
        TraceStep,
        TraceFrame,
        TraceView,
        CheckView,
        RunView
    ))
)]
pub struct ApiDoc;

pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
}

pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/api/v1/labs", get(list_labs))
        .route(
            "/api/v1/labs/{id}",
            get(get_lab).put(put_lab).delete(delete_lab),
        )
        .route("/api/v1/labs/{id}/runs", post(run_checks))
        .route("/api/v1/labs/{id}/topology", get(topology))
        .route("/api/v1/labs/{id}/flows", get(flows))
        .route("/api/v1/labs/{id}/counters", get(counters))
        .route("/api/v1/labs/{id}/events", get(events))
        .route("/api/v1/labs/{id}/trace", post(trace))
        .route("/api/v1/labs/{id}/clock", post(clock))
        .route("/api/v1/openapi.json", get(openapi_doc))
        .route("/metrics", get(metrics))
        .route("/", get(web_index))
        .route("/app.js", get(web_script))
        .route("/style.css", get(web_style))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .with_state(state)
}

/// With `--token`, a request that changes or runs something (any method
/// but GET and HEAD) must carry `Authorization: Bearer TOKEN`; reading
/// stays open.
async fn require_token(
    AxState(state): St,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(token) = state.config.token.as_deref() else {
        return next.run(request).await;
    };
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if same_secret(given.as_bytes(), token.as_bytes()) {
        return next.run(request).await;
    }
    let detail = if given.is_empty() {
        "this server was started with --token: send `Authorization: Bearer TOKEN` with requests that change or run something"
    } else {
        "the bearer token is not this server's"
    };
    let mut r = problem(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        request.uri(),
        detail,
    )
    .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"wirelab\""),
    );
    r
}

/// Compares two secrets in time that depends only on their lengths.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ----- problems -----------------------------------------------------------

/// An error answer: `application/problem+json`.
pub struct ProblemResponse {
    status: StatusCode,
    problem: Box<Problem>,
    allow: Option<&'static str>,
}

fn problem(
    status: StatusCode,
    kind: &str,
    uri: &Uri,
    detail: impl Into<String>,
) -> ProblemResponse {
    ProblemResponse {
        status,
        problem: Box::new(Problem {
            kind: format!("https://wirelab.invalid/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            instance: uri.path().to_string(),
            errors: None,
        }),
        allow: None,
    }
}

impl IntoResponse for ProblemResponse {
    fn into_response(self) -> Response {
        let body = serde_json::to_string_pretty(&self.problem).expect("a problem serializes");
        let mut r = (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        if let Some(allow) = self.allow {
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        r
    }
}

type ApiResult = Result<Response, ProblemResponse>;

fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    let body = serde_json::to_string_pretty(value).expect("a view serializes");
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn not_found(uri: Uri) -> ProblemResponse {
    problem(
        StatusCode::NOT_FOUND,
        "not-found",
        &uri,
        "no such resource; the API is under /api/v1",
    )
}

async fn method_not_allowed(uri: Uri, method: Method) -> ProblemResponse {
    let path = uri.path();
    let allow = if path.ends_with("/runs") || path.ends_with("/trace") || path.ends_with("/clock") {
        "POST"
    } else if path.starts_with("/api/v1/labs/") && path.matches('/').count() == 4 {
        "GET, PUT, DELETE"
    } else {
        "GET"
    };
    let mut p = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        &uri,
        format!("{method} is not allowed here; allowed: {allow}"),
    );
    p.allow = Some(allow);
    p
}

/// The lab id of the path, checked.
fn lab_id(path: Result<Path<String>, PathRejection>, uri: &Uri) -> Result<String, ProblemResponse> {
    let Ok(Path(id)) = path else {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "bad-id",
            uri,
            "the lab id is not valid text",
        ));
    };
    if !crate::valid_id(&id) {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "bad-id",
            uri,
            format!("`{id}` is not a lab id: 1 to 64 of A-Z a-z 0-9 . _ -"),
        ));
    }
    Ok(id)
}

fn find(state: &State, id: &str, uri: &Uri) -> Result<Arc<LabEntry>, ProblemResponse> {
    state.get(id).ok_or_else(|| {
        problem(
            StatusCode::NOT_FOUND,
            "no-such-lab",
            uri,
            format!("there is no lab `{id}`"),
        )
    })
}

/// The lab, which must be valid (it has a network and a clock).
fn find_valid(state: &State, id: &str, uri: &Uri) -> Result<Arc<LabEntry>, ProblemResponse> {
    let entry = find(state, id, uri)?;
    if entry.valid.is_none() {
        return Err(problem(
            StatusCode::CONFLICT,
            "invalid-lab",
            uri,
            format!(
                "lab `{id}` is invalid ({} diagnostics): PUT a valid lab first",
                entry.diagnostics.len()
            ),
        ));
    }
    Ok(entry)
}

fn gone(uri: &Uri, error: &crate::actor::ActorError) -> ProblemResponse {
    let detail = match error {
        crate::actor::ActorError::Gone => {
            "the lab's simulation stopped (it was replaced or deleted meanwhile)".to_string()
        }
        crate::actor::ActorError::Busy => format!(
            "the lab's simulation did not answer within {} s (a long step is running); try again",
            crate::actor::ASK_TIMEOUT.as_secs()
        ),
    };
    problem(StatusCode::SERVICE_UNAVAILABLE, "lab-stopped", uri, detail)
}

// ----- handlers -----------------------------------------------------------

/// The labs, sorted by id.
#[utoipa::path(get, path = "/api/v1/labs", tag = "labs",
    responses((status = 200, description = "Every lab", body = LabList)))]
async fn list_labs(AxState(state): St) -> Response {
    let labs = state
        .labs
        .lock()
        .expect("labs lock")
        .values()
        .map(|e| e.summary())
        .collect();
    json(StatusCode::OK, &LabList { labs })
}

/// A lab: its source, validation state and diagnostics, its clock.
#[utoipa::path(get, path = "/api/v1/labs/{id}", tag = "labs",
    params(LabId),
    responses(
        (status = 200, description = "The lab", body = LabDetail),
        (status = 400, description = "Not a lab id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lab", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_lab(
    AxState(state): St,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = lab_id(path, &uri)?;
    let entry = find(&state, &id, &uri)?;
    Ok(json(StatusCode::OK, &entry.detail()))
}

/// Creates or replaces a lab from YAML or JSON text. The same body twice
/// leaves the lab as it was (200). An invalid body answers 422 with the
/// diagnostics; a valid lab of that id stays as it was.
#[utoipa::path(put, path = "/api/v1/labs/{id}", tag = "labs",
    params(LabId),
    request_body(description = "The lab file (docs/lab-format.md) as YAML or as JSON", content(
        (String = "application/yaml"),
        (String = "text/yaml"),
        (String = "application/x-yaml"),
        (Object = "application/json"),
    )),
    responses(
        (status = 200, description = "Replaced, or unchanged (same body)", body = LabDetail),
        (status = 201, description = "Created", body = LabDetail),
        (status = 400, description = "Not a lab id, or a body that is not UTF-8", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The server holds as many labs as it may", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than 8 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither YAML nor JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid lab: `errors` holds the diagnostics", body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_lab(
    AxState(state): St,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let id = lab_id(path, &uri)?;
    let format = match content_type(&headers).as_deref() {
        Some("application/yaml" | "text/yaml" | "application/x-yaml" | "text/x-yaml") => {
            SourceFormat::Yaml
        }
        Some("application/json") => SourceFormat::Json,
        other => {
            return Err(problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                &uri,
                format!(
                    "a lab is sent as application/yaml (or text/yaml, application/x-yaml) or application/json, not {}",
                    other.unwrap_or("a body without Content-Type")
                ),
            ))
        }
    };
    let bytes = read_body(&state, body, &uri).await?;
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "not-utf8",
            &uri,
            "the body is not UTF-8 text",
        ));
    };
    let runtime = tokio::runtime::Handle::current();
    let job_state = state.clone();
    let job_id = id.clone();
    let outcome =
        tokio::task::spawn_blocking(move || job_state.put(&runtime, &job_id, format, text))
            .await
            .map_err(|_| {
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    &uri,
                    "validation failed",
                )
            })?;
    let status = match outcome {
        PutOutcome::Created => StatusCode::CREATED,
        PutOutcome::Replaced | PutOutcome::Unchanged => StatusCode::OK,
        PutOutcome::Full => {
            return Err(problem(
                StatusCode::CONFLICT,
                "too-many-labs",
                &uri,
                format!(
                    "the server holds {} labs, its limit: DELETE one first",
                    state.config.limits.labs_max
                ),
            ))
        }
        PutOutcome::Invalid { diagnostics, kept } => {
            let errors = diagnostics
                .iter()
                .filter(|d| d.severity == wirelab_spec::Severity::Error)
                .count();
            let mut p = problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-lab",
                &uri,
                format!(
                    "the lab has {errors} error{}; {}",
                    if errors == 1 { "" } else { "s" },
                    if kept {
                        "the lab that was there stays as it was"
                    } else {
                        "it is kept with validation state `invalid`"
                    }
                ),
            );
            p.problem.errors = Some(diagnostics.iter().map(diagnostic_view).collect());
            return Err(p);
        }
    };
    let entry = find(&state, &id, &uri)?;
    let mut response = json(status, &entry.detail());
    if status == StatusCode::CREATED {
        if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/labs/{id}")) {
            response.headers_mut().insert(header::LOCATION, v);
        }
    }
    Ok(response)
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

async fn read_body(state: &State, body: Body, uri: &Uri) -> Result<Vec<u8>, ProblemResponse> {
    let limit = state.config.limits.body_bytes_max;
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok(b.to_vec()),
        Err(_) => Err(problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            uri,
            format!("bodies are limited to {} bytes", limit),
        )),
    }
}

/// Deletes a lab. Deleting a lab that is not there is not an error.
#[utoipa::path(delete, path = "/api/v1/labs/{id}", tag = "labs",
    params(LabId),
    responses(
        (status = 204, description = "The lab is gone (or was never there)"),
        (status = 400, description = "Not a lab id", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_lab(
    AxState(state): St,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = lab_id(path, &uri)?;
    state.delete(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Runs the lab's checks, each from a fresh state: the report `wirelab
/// test --format json` prints. Each check's result is also published as a
/// `check-result` event.
#[utoipa::path(post, path = "/api/v1/labs/{id}/runs", tag = "runs",
    params(LabId),
    responses(
        (status = 200, description = "The graded report", body = RunView),
        (status = 400, description = "Not a lab id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lab", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The lab is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The run took longer than the server allows", body = Problem, content_type = "application/problem+json"),
    ))]
async fn run_checks(
    AxState(state): St,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = lab_id(path, &uri)?;
    let entry = find_valid(&state, &id, &uri)?;
    let valid = entry.valid.as_ref().expect("checked");
    let net = valid.actor.net.clone();
    let threads = state.config.limits.check_threads;
    let report = job(&state, &uri, move || {
        wirelab_check::run_checks(&net, threads)
    })
    .await?;
    *valid.last_report.lock().expect("report lock") = Some(Arc::new(report.clone()));
    let hub: &Hub = &valid.actor.hub;
    let now = valid.actor.clock.lock().expect("clock lock").time_ns;
    for c in &report.checks {
        let status = serde_json::to_value(c.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut e = event(
            "check-result",
            now,
            format!("check {}: {status} ({}, {})", c.name, c.observed, c.reason),
        );
        e.subject = Some(c.name.clone());
        e.state = Some(status);
        hub.publish(e);
    }
    let mut e = event(
        "run-finished",
        now,
        format!(
            "{} passed, {} failed, score {}/{}",
            report.passed, report.failed, report.score, report.max_score
        ),
    );
    e.state = Some(if report.all_passed() { "pass" } else { "fail" }.to_string());
    hub.publish(e);
    let body = wirelab_check::render(&report, wirelab_check::Format::Json);
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// Runs CPU work on a blocking thread, at most `jobs_max` at once, within
/// the job timeout.
async fn job<T: Send + 'static>(
    state: &State,
    uri: &Uri,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ProblemResponse> {
    let timeout = state.config.limits.job_timeout;
    let too_long = || {
        problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            uri,
            format!("the work took longer than {} s", timeout.as_secs()),
        )
    };
    let permit = tokio::time::timeout(timeout, state.jobs.clone().acquire_owned())
        .await
        .map_err(|_| too_long())?
        .map_err(|_| too_long())?;
    let handle = tokio::task::spawn_blocking(move || {
        let out = work();
        drop(permit);
        out
    });
    match tokio::time::timeout(timeout, handle).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            uri,
            "the work failed",
        )),
        Err(_) => Err(too_long()),
    }
}

/// Nodes (hosts and routers) with their interfaces, networks, and a link
/// per interface.
#[utoipa::path(get, path = "/api/v1/labs/{id}/topology", tag = "state",
    params(LabId),
    responses(
        (status = 200, description = "The topology", body = Topology),
        (status = 400, description = "Not a lab id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lab", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The lab is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
async fn topology(
    AxState(state): St,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = lab_id(path, &uri)?;
    let entry = find_valid(&state, &id, &uri)?;
    Ok(json(
        StatusCode::OK,
        &entry.valid.as_ref().expect("checked").topology,
    ))
}

/// Each workload of `traffic:` at the current simulated time.
#[utoipa::path(get, path = "/api/v1/labs/{id}/flows", tag = "state",
    params(LabId),
    responses(
        (status = 200, description = "The flows", body = Flows),
        (status = 400, description = "Not a lab id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lab", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The lab is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The lab's simulation stopped", body = Problem, content_type = "application/problem+json"),
    ))]
async fn flows(
    AxState(state): St,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = lab_id(path, &uri)?;
    let entry = find_valid(&state, &id, &uri)?;
    let flows = entry
        .valid
        .as_ref()
        .expect("checked")
        .actor
        .flows()
        .await
        .map_err(|e| gone(&uri, &e))?;
    Ok(json(StatusCode::OK, &flows))
}

/// Frames, bytes, utilisation and drops of every interface; each
/// network's link state.
#[utoipa::path(get, path = "/api/v1/labs/{id}/counters", tag = "state",
    params(LabId),
    responses(
        (status = 200, description = "The counters", body = Counters),
        (status = 400, description = "Not a lab id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lab", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The lab is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The lab's simulation stopped", body = Problem, content_type = "application/problem+json"),
    ))]
async fn counters(
    AxState(state): St,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = lab_id(path, &uri)?;
    let entry = find_valid(&state, &id, &uri)?;
    let counters = entry
        .valid
        .as_ref()
        .expect("checked")
        .actor
        .counters()
        .await
        .map_err(|e| gone(&uri, &e))?;
    Ok(json(StatusCode::OK, &counters))
}

/// Prometheus metrics of every valid lab (text format 0.0.4): what its
/// simulation counted since the clock's time 0, and the results of its
/// last run of checks. docs/metrics.md lists them.
async fn metrics(AxState(state): St) -> Response {
    let entries: Vec<Arc<LabEntry>> = state
        .labs
        .lock()
        .expect("labs lock")
        .values()
        .cloned()
        .collect();
    let mut parts = Vec::new();
    for entry in &entries {
        let Some(valid) = entry.valid.as_ref() else {
            continue;
        };
        // A lab busy with a long step is left out of this scrape.
        let Ok(counters) = valid.actor.run_counters().await else {
            continue;
        };
        let report = valid.last_report.lock().expect("report lock").clone();
        parts.push((entry.id.clone(), valid.actor.net.clone(), counters, report));
    }
    let labs: Vec<wirelab_metrics::LabMetrics<'_>> = parts
        .iter()
        .map(|(id, net, counters, report)| wirelab_metrics::LabMetrics {
            lab: id,
            net,
            counters: Some(counters),
            checks: report.as_deref(),
        })
        .collect();
    let text = wirelab_metrics::render_labs(&labs);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, wirelab_metrics::CONTENT_TYPE)],
        text,
    )
        .into_response()
}

// ----- the web UI -----------------------------------------------------------

/// The dashboard (web/ of the repository, built into the binary: no CDN,
/// no other file to serve).
const WEB_INDEX: &str = include_str!("../../../web/index.html");
const WEB_SCRIPT: &str = include_str!("../../../web/app.js");
const WEB_STYLE: &str = include_str!("../../../web/style.css");

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn web_index() -> Response {
    asset("text/html; charset=utf-8", WEB_INDEX)
}

async fn web_script() -> Response {
    asset("text/javascript; charset=utf-8", WEB_SCRIPT)
}

async fn web_style() -> Response {
    asset("text/css; charset=utf-8", WEB_STYLE)
}

/// Server-Sent Events of what happens in the lab: the kept history first
/// (after `Last-Event-ID` when given), then live events. Each event's
/// `event:` is its type and its data an `EventView`.
#[utoipa::path(get, path = "/api/v1/labs/{id}/events", tag = "state",
    params(
        LabId,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id"),
    ),
    responses(
        (status = 200, description = "An endless stream of events", content_type = "text/event-stream", body = EventView),
        (status = 400, description = "Not a lab id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lab", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The lab is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many subscribers to this lab", body = Problem, content_type = "application/problem+json"),
    ))]
async fn events(
    AxState(state): St,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult {
    let id = lab_id(path, &uri)?;
    let entry = find_valid(&state, &id, &uri)?;
    let hub = entry.valid.as_ref().expect("checked").actor.hub.clone();
    let max = state.config.limits.subscribers_max;
    if hub.subscribers.fetch_add(1, Ordering::SeqCst) >= max {
        hub.subscribers.fetch_sub(1, Ordering::SeqCst);
        return Err(problem(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-subscribers",
            &uri,
            format!("lab `{id}` has {max} subscribers, the limit"),
        ));
    }
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let (past, rx) = hub.subscribe(after);
    let guard = Subscriber(hub);
    Ok(Sse::new(sse_stream(past, rx, guard))
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Counts a live subscriber while its stream lives.
struct Subscriber(Arc<Hub>);

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.0.subscribers.fetch_sub(1, Ordering::SeqCst);
    }
}

fn sse_stream(
    past: Vec<Arc<EventView>>,
    rx: tokio::sync::broadcast::Receiver<Arc<EventView>>,
    guard: Subscriber,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let live = BroadcastStream::new(rx).map(move |item| {
        let _alive = &guard;
        match item {
            Ok(e) => e,
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                let mut e = event(
                    "dropped",
                    0,
                    format!("this subscriber fell behind and missed {n} events"),
                );
                e.missed = Some(n);
                Arc::new(e)
            }
        }
    });
    stream::iter(past).chain(live).map(|e| {
        let mut out = SseEvent::default()
            .event(e.kind.clone())
            .data(serde_json::to_string(&*e).expect("an event serializes"));
        if e.id > 0 {
            out = out.id(e.id.to_string());
        }
        Ok(out)
    })
}

/// One exchange, explained step by step: what `wirelab trace --format
/// json` prints.
#[utoipa::path(post, path = "/api/v1/labs/{id}/trace", tag = "runs",
    params(LabId),
    request_body(content = TraceRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The explained exchange", body = TraceView),
        (status = 400, description = "Not a lab id, or a body that is not a trace request", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lab", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The lab is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The request does not fit the lab (unknown host, missing port...)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The trace took longer than the server allows", body = Problem, content_type = "application/problem+json"),
    ))]
async fn trace(
    AxState(state): St,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let id = lab_id(path, &uri)?;
    let request: TraceRequest = json_body(&state, &headers, body, &uri).await?;
    let entry = find_valid(&state, &id, &uri)?;
    let net = entry.valid.as_ref().expect("checked").actor.net.clone();
    let unfit =
        |detail: String| problem(StatusCode::UNPROCESSABLE_ENTITY, "bad-trace", &uri, detail);
    let proto = match request.proto.unwrap_or(ProtoName::Tcp) {
        ProtoName::Tcp => CheckProto::Tcp,
        ProtoName::Udp => CheckProto::Udp,
        ProtoName::Icmp => CheckProto::Icmp,
    };
    let family = request.family.map(|f| match f {
        FamilyName::Ipv4 => Family::Ipv4,
        FamilyName::Ipv6 => Family::Ipv6,
    });
    let result = job(&state, &uri, move || {
        let query = wirelab_check::query::TraceQuery {
            from: &request.from,
            to: &request.to,
            proto,
            port: request.port,
            family,
        };
        let resolved = wirelab_check::query::resolve(&net.lab, &query)
            .map_err(|e| e.replace("--proto", "proto").replace("--port", "a port"))?;
        let plan = wirelab_check::Plan::new(
            &net,
            resolved.from,
            &resolved.target,
            proto,
            request.port,
            resolved.family,
        )
        .map_err(|e| e.to_string())?;
        let seed = wirelab_check::check_seed(net.lab.seed, usize::MAX);
        let (ex, sim) = wirelab_check::trace_exchange(&net, plan, seed);
        Ok::<_, String>(wirelab_check::query::json(
            &net,
            &query,
            &plan,
            &ex,
            sim.trace(),
        ))
    })
    .await?;
    match result {
        Ok(doc) => Ok(json(StatusCode::OK, &doc)),
        Err(e) => Err(unfit(e)),
    }
}

/// A JSON body of type `T`: 415 when not JSON, 400 when it does not parse
/// or fit `T`.
async fn json_body<T: serde::de::DeserializeOwned>(
    state: &State,
    headers: &HeaderMap,
    body: Body,
    uri: &Uri,
) -> Result<T, ProblemResponse> {
    if content_type(headers).as_deref() != Some("application/json") {
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            uri,
            "send application/json",
        ));
    }
    let bytes = read_body(state, body, uri).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            "malformed",
            uri,
            format!("the body is not the JSON expected: {e}"),
        )
    })
}

/// Controls the lab's clock: `pause`, `resume`, `step` (pause, then move
/// on by `step`), `reset` (from time 0 again); `speed` changes the speed.
#[utoipa::path(post, path = "/api/v1/labs/{id}/clock", tag = "state",
    params(LabId),
    request_body(content = ClockRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The clock after the change", body = ClockView),
        (status = 400, description = "Not a lab id, or a body that is not a clock request", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lab", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The lab is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown action, step or speed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The lab's simulation stopped", body = Problem, content_type = "application/problem+json"),
    ))]
async fn clock(
    AxState(state): St,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let id = lab_id(path, &uri)?;
    let request: ClockRequest = json_body(&state, &headers, body, &uri).await?;
    let entry = find_valid(&state, &id, &uri)?;
    let actor = &entry.valid.as_ref().expect("checked").actor;
    let unfit =
        |detail: String| problem(StatusCode::UNPROCESSABLE_ENTITY, "bad-clock", &uri, detail);
    let speed = match request.speed.as_deref() {
        Some(s) => Some(Speed::parse(s).map_err(unfit)?),
        None => None,
    };
    let step_ns = match request.step.as_deref() {
        Some(s) => wirelab_spec::quantity::parse_time(s).map_err(unfit)?,
        None => 100_000_000,
    };
    let published = |what: &str| {
        let c = actor.clock.lock().expect("clock lock").view();
        let mut e = event(
            "clock",
            c.time_ns,
            format!("{what}: {} at {}", c.state, c.speed),
        );
        e.state = Some(c.state.clone());
        actor.hub.publish(e);
        c
    };
    let view = match request.action {
        ClockAction::Pause => {
            actor.set(Some(ClockState::Paused), speed);
            published("paused")
        }
        ClockAction::Resume => {
            actor.set(Some(ClockState::Running), speed);
            published("resumed")
        }
        ClockAction::Step => {
            if speed.is_some() {
                actor.set(None, speed);
            }
            actor.step(step_ns).await.map_err(|e| gone(&uri, &e))?;
            published("stepped")
        }
        ClockAction::Reset => {
            if speed.is_some() {
                actor.set(None, speed);
            }
            actor.reset().await.map_err(|e| gone(&uri, &e))?;
            actor.clock.lock().expect("clock lock").view()
        }
        ClockAction::Speed => {
            actor.set(None, speed);
            published("speed set")
        }
    };
    Ok(json(StatusCode::OK, &view))
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object)))]
async fn openapi_doc() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        openapi_json(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::SUBSCRIBER_BUFFER;

    /// A subscriber that does not read while the lab publishes more than
    /// its buffer misses the oldest events and is told how many; the lab
    /// never waited for it.
    #[test]
    fn a_slow_subscriber_misses_events_and_is_told() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let hub = Arc::new(Hub::new());
        let (past, rx) = hub.subscribe(0);
        hub.subscribers.fetch_add(1, Ordering::SeqCst);
        let stream = sse_stream(past, rx, Subscriber(hub.clone()));
        let extra = 44;
        for i in 0..SUBSCRIBER_BUFFER + extra {
            hub.publish(event("clock", i as u64, String::new()));
        }
        hub.close(0);
        let frames: Vec<SseEvent> =
            runtime.block_on(stream.map(|e| e.expect("infallible")).collect());
        let texts: Vec<String> = frames.iter().map(|f| format!("{f:?}")).collect();
        assert!(
            texts[0].contains("dropped")
                && texts[0].contains(&format!("missed {} events", extra + 1)),
            "{}",
            texts[0]
        );
        // The rest arrive in order, the last being lab-closed.
        assert_eq!(frames.len(), 1 + SUBSCRIBER_BUFFER);
        assert!(texts.last().is_some_and(|t| t.contains("lab-closed")));
        assert_eq!(
            hub.subscribers.load(Ordering::SeqCst),
            0,
            "the guard went with the stream"
        );
    }
}
