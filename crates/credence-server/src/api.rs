//! Routes, handlers and the OpenAPI document generated from them.

use crate::dto::*;
use crate::{AppState, MAX_BODY_BYTES, lanes};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use credence_service::platform::{self, ApiResult, Audience, Platform, Principal};
use serde::Serialize;
use std::time::Instant;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The OpenAPI 3 document, generated from the handlers below.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Credence",
        description = "Open, consent-first credit and trust scoring. Errors are `{code, message, field?}`; see the `Code` schema for the stable codes.",
        license(name = "Apache-2.0")
    ),
    paths(
        healthz, metrics_text,
        ingest, furnisher_disputes, answer_dispute,
        me, my_history, my_perks, what_if, my_consents, grant_consent, revoke_consent,
        freeze, unfreeze, give_restricted_consent, withdraw_restricted_consent,
        restricted_consent_for, access_log, my_disputes, open_dispute, add_statement,
        request_review, my_reviews, notices, export, opt_out, partners,
        partner_consents, partner_perks, put_perk, delete_perk, partner_check,
        partner_score, partner_report,
        put_furnisher, furnishers, put_partner, create_key, list_keys, revoke_key,
        enrol, issue_token, population, deployments, deploy_model, all_perks,
        dispute_queue, review_queue, close_review, verify_audit,
    ),
    components(schemas(ApiError, Code, RecordProblem)),
    modifiers(&BearerAuth),
    tags(
        (name = "furnisher", description = "Report events; answer disputes."),
        (name = "subject", description = "A subject's own file and rights (subject token)."),
        (name = "partner", description = "Questions with consent; perks (partner key)."),
        (name = "operator", description = "Running the platform (operator key)."),
        (name = "ops", description = "Health and metrics."),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (`crd_…`) for operators, furnishers and partners, or a subject token (`st1.…`).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The HTTP status of each error code: the one table of them.
fn status_of(code: platform::Code) -> StatusCode {
    match code {
        platform::Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        platform::Code::Forbidden | platform::Code::ConsentRequired | platform::Code::Frozen => {
            StatusCode::FORBIDDEN
        }
        platform::Code::NotFound => StatusCode::NOT_FOUND,
        platform::Code::InvalidRequest => StatusCode::BAD_REQUEST,
        platform::Code::InvalidRecords => StatusCode::UNPROCESSABLE_ENTITY,
        platform::Code::Conflict => StatusCode::CONFLICT,
        platform::Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        platform::Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        platform::Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        platform::Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error as an HTTP response.
struct Failure(platform::ApiError);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = status_of(self.0.code);
        let mut error = self.0;
        if status == StatusCode::UNAUTHORIZED {
            // How credentials travel is the wire's business, so it says so.
            error
                .message
                .push_str("; send it as `Authorization: Bearer <API key or subject token>`");
        }
        let mut response = (status, Json(ApiError::from(error))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credential.trim().to_string())
}

/// Reads a JSON body. A refusal names the field at fault by its path in
/// the body (`scenarios[1].months`), never a value the caller sent.
fn parse<T: Incoming>(body: &[u8]) -> ApiResult<T> {
    let refusal = |field: Option<String>, error: serde_json::Error| {
        let message = match &field {
            Some(field) => format!("`{field}` is not valid here: {error}"),
            None => format!("the request body is not valid here: {error}"),
        };
        platform::ApiError {
            field,
            ..platform::ApiError::new(platform::Code::InvalidRequest, message)
        }
    };
    let mut json = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T::Wire>(&mut json) {
        Ok(wire) => json
            .end()
            .map(|()| T::from_wire(wire))
            .map_err(|e| refusal(None, e)),
        Err(e) => {
            let path = e.path().to_string();
            Err(refusal((path != ".").then_some(path), e.into_inner()))
        }
    }
}

/// Authenticates, then runs `work` on the blocking pool.
async fn call<T, F>(state: AppState, headers: HeaderMap, work: F) -> Response
where
    T: Outgoing + Send + 'static,
    F: FnOnce(&Platform, &Principal) -> ApiResult<T> + Send + 'static,
{
    let credential = bearer(&headers);
    let platform = state.platform.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let principal = platform.authenticate(credential.as_deref())?;
        work(&platform, &principal)
    })
    .await;
    match outcome {
        Ok(Ok(value)) => Json(value.into_wire()).into_response(),
        Ok(Err(error)) => Failure(error).into_response(),
        Err(panic) => Failure(platform::ApiError::internal(panic)).into_response(),
    }
}

/// [`call`] for an endpoint that reads a request body: the caller's role
/// is admitted before `work` parses anything (see [`Audience`]).
async fn call_as<T, F>(state: AppState, headers: HeaderMap, audience: Audience, work: F) -> Response
where
    T: Outgoing + Send + 'static,
    F: FnOnce(&Platform, &Principal) -> ApiResult<T> + Send + 'static,
{
    call(state, headers, move |platform, principal| {
        audience.admit(principal)?;
        work(platform, principal)
    })
    .await
}

/// Like [`call`], for work that finishes on another thread (the audit
/// writer): the answer is decided on a lane off the async workers, since deciding
/// reads the store (the subject's log, the change feed), and this task
/// then awaits the durable audit entry without holding any thread. No
/// store call runs on an async worker: on a server database a read is a
/// network round trip.
async fn call_then<T, F>(
    state: AppState,
    headers: HeaderMap,
    audience: Audience,
    work: F,
) -> Response
where
    T: Outgoing + Send + 'static,
    F: FnOnce(&Platform, &Principal, Box<dyn FnOnce(ApiResult<T>) + Send>) + Send + 'static,
{
    let (sender, receiver) = tokio::sync::oneshot::channel::<ApiResult<T>>();
    let done: Box<dyn FnOnce(ApiResult<T>) + Send> = Box::new(move |outcome| {
        let _ = sender.send(outcome);
    });
    let credential = bearer(&headers);
    let platform = state.platform.clone();
    // A lane per core, each draining queued checks: waiting for one holds
    // no thread, and a burst of checks costs one hand-off to the blocking
    // pool, not one each (see `lanes`).
    let decided = state
        .deciding
        .run(move || {
            match platform
                .authenticate(credential.as_deref())
                .and_then(|principal| audience.admit(&principal).map(|()| principal))
            {
                Ok(principal) => work(&platform, &principal, done),
                Err(error) => done(Err(error)),
            }
        })
        .await;
    if let Err(lanes::Panicked(panic)) = decided {
        return Failure(platform::ApiError::internal(panic)).into_response();
    }
    match receiver.await {
        Ok(Ok(value)) => Json(value.into_wire()).into_response(),
        Ok(Err(error)) => Failure(error).into_response(),
        Err(_) => Failure(platform::ApiError::internal(
            "the answer was dropped before it was audited",
        ))
        .into_response(),
    }
}

/// Every route of the API.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi_json))
        .route(
            "/",
            get(|| async { axum::response::Redirect::temporary("/app/") }),
        )
        .route(
            "/app",
            get(|| async { axum::response::Redirect::permanent("/app/") }),
        )
        .route("/app/", get(page))
        .route("/app/app.js", get(script))
        .route("/app/app.css", get(style))
        .route("/v1/events", post(ingest))
        .route("/v1/furnisher/disputes", get(furnisher_disputes))
        .route("/v1/disputes/{dispute_id}/answer", post(answer_dispute))
        .route("/v1/me", get(me).delete(opt_out))
        .route("/v1/me/history", get(my_history))
        .route("/v1/me/perks", get(my_perks))
        .route("/v1/me/what-if", post(what_if))
        .route("/v1/me/consents", get(my_consents).post(grant_consent))
        .route("/v1/me/consents/{partner_id}", delete(revoke_consent))
        .route("/v1/me/freeze", post(freeze).delete(unfreeze))
        .route(
            "/v1/me/restricted-data-consent",
            post(give_restricted_consent).delete(withdraw_restricted_consent),
        )
        .route("/v1/me/access-log", get(access_log))
        .route("/v1/me/disputes", get(my_disputes).post(open_dispute))
        .route("/v1/me/statements", post(add_statement))
        .route("/v1/me/reviews", get(my_reviews).post(request_review))
        .route("/v1/me/notices", get(notices))
        .route("/v1/me/export", get(export))
        .route("/v1/partners", get(partners))
        .route("/v1/partner/consents", get(partner_consents))
        .route("/v1/partner/perks", get(partner_perks).post(put_perk))
        .route("/v1/partner/perks/{perk_id}", delete(delete_perk))
        .route("/v1/partner/check", post(partner_check))
        .route("/v1/partner/score", post(partner_score))
        .route("/v1/partner/report", post(partner_report))
        .route(
            "/v1/operator/furnishers",
            get(furnishers).post(put_furnisher),
        )
        .route("/v1/operator/partners", post(put_partner))
        .route("/v1/operator/keys", get(list_keys).post(create_key))
        .route("/v1/operator/keys/{key_id}", delete(revoke_key))
        .route("/v1/operator/subjects", post(enrol))
        .route(
            "/v1/operator/subjects/{subject_id}/token",
            post(issue_token),
        )
        .route(
            "/v1/operator/subjects/{subject_id}/restricted-data-consent",
            post(restricted_consent_for),
        )
        .route("/v1/operator/stats", get(population))
        .route("/v1/operator/models", get(deployments).post(deploy_model))
        .route("/v1/operator/perks", get(all_perks))
        .route("/v1/operator/disputes", get(dispute_queue))
        .route("/v1/operator/reviews", get(review_queue))
        .route("/v1/operator/reviews/{review_id}/close", post(close_review))
        .route("/v1/operator/audit/verify", get(verify_audit))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Counts, times and traces every request; turns any error response that
/// is not JSON (axum's and hyper's own refusals are plain text) into the
/// JSON error format.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = match *request.method() {
        axum::http::Method::GET => "GET",
        axum::http::Method::POST => "POST",
        axum::http::Method::DELETE => "DELETE",
        axum::http::Method::PUT => "PUT",
        _ => "OTHER",
    };
    state.metrics.start();
    let mut response = match declared_not_json(&request) {
        Some(declared) => Failure(platform::ApiError::new(
            platform::Code::UnsupportedMediaType,
            format!(
                "the body is declared as {declared:?}; every body of this API is JSON: send it with Content-Type: application/json"
            ),
        ))
        .into_response(),
        None => next.run(request).await,
    };
    if (response.status().is_client_error() || response.status().is_server_error())
        && !is_json(&response)
    {
        response = as_json_error(response).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    state.metrics.finish(&route, method, status, seconds);
    tracing::debug!(method, route, status, ms = seconds * 1e3, "request");
    response
}

/// The media type a request declares for its body, when it has a body and
/// declares it as something other than JSON (`application/json`, with
/// parameters, or any `+json` type). Every body the API reads is JSON; a
/// body sent as a form or as text is refused rather than read as JSON
/// anyway. A request that declares nothing is read as JSON, and one with
/// no body (a GET, a freeze) is not judged by a header it did not need.
fn declared_not_json(request: &Request) -> Option<String> {
    // The body's own account of its size (from the length or the framing
    // the request came with), whatever the protocol version.
    if axum::body::HttpBody::size_hint(request.body()).exact() == Some(0) {
        return None;
    }
    let declared = request.headers().get(header::CONTENT_TYPE)?;
    let text = String::from_utf8_lossy(declared.as_bytes());
    let essence = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    (!json).then(|| text.into_owned())
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// An error response in the API's format, keeping its status; the plain
/// text it carried (a framework's reason) becomes part of the message.
async fn as_json_error(response: Response) -> Response {
    let status = response.status();
    // The code whose status this is (the first, for a status several
    // codes share), read off the one table; otherwise the class's.
    let code = platform::Code::ALL
        .into_iter()
        .find(|code| status_of(*code) == status)
        .unwrap_or(if status.is_server_error() {
            platform::Code::Internal
        } else {
            platform::Code::InvalidRequest
        });
    let message = if code == platform::Code::PayloadTooLarge {
        format!("the body is larger than {MAX_BODY_BYTES} bytes; split the batch")
    } else {
        let reason = axum::body::to_bytes(response.into_body(), 1_000)
            .await
            .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
            .unwrap_or_default();
        match (code, reason.is_empty()) {
            (platform::Code::Internal, _) => "a failure on our side; it is logged".to_string(),
            (_, true) => format!("the request was refused ({status})"),
            (_, false) => format!("the request was refused ({status}): {reason}"),
        }
    };
    (
        status,
        Json(ApiError::from(platform::ApiError::new(code, message))),
    )
        .into_response()
}

async fn not_found() -> Response {
    Failure(platform::ApiError::not_found(
        "no such endpoint; the API is described at /openapi.json",
    ))
    .into_response()
}

async fn method_not_allowed() -> Response {
    let mut error = platform::ApiError::new(
        platform::Code::InvalidRequest,
        "this endpoint does not take that method; see /openapi.json",
    );
    error.field = Some("method".into());
    (StatusCode::METHOD_NOT_ALLOWED, Json(ApiError::from(error))).into_response()
}

/// The pages: one HTML file, one script, one style sheet, all in the
/// binary. The content security policy forbids any other host.
const PAGE: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/app.css");
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::CACHE_CONTROL, "no-cache"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// The contract, with the event kinds this server accepts (its
/// configuration's custom kinds among them) described field by field.
async fn openapi_json(State(s): State<AppState>) -> Response {
    match serde_json::to_value(ApiDoc::openapi()) {
        Ok(document) => Json(crate::event_schema::describe_events(
            document,
            s.platform.catalogue(),
        ))
        .into_response(),
        Err(e) => Failure(platform::ApiError::internal(e)).into_response(),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    /// `ok`.
    status: &'static str,
}

/// Liveness: answers without touching the store.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics_text(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

// ---- furnishers ----

/// Report a batch of events: validated, atomic, idempotent on (furnisher,
/// event id), durable before the answer.
#[utoipa::path(post, path = "/v1/events", tag = "furnisher",
    request_body(content = Vec<Object>, description = "A JSON array of events in the wire format, or {\"events\": [...]}; every kind's fields are in the `Event_<kind>` schemas"),
    responses((status = 200, body = IngestReceipt), (status = "4XX", body = ApiError)),
    security(("bearer" = [])))]
async fn ingest(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Furnishers, move |p, who| {
        p.ingest(who, &batch_records(&body)?)
    })
    .await
}

/// Open disputes on this furnisher's records.
#[utoipa::path(get, path = "/v1/furnisher/disputes", tag = "furnisher",
    responses((status = 200, body = Vec<Dispute>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn furnisher_disputes(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.disputes().dispute_queue(who)).await
}

/// Confirm, correct or withdraw a disputed record (furnisher or operator).
#[utoipa::path(post, path = "/v1/disputes/{dispute_id}/answer", tag = "furnisher",
    params(("dispute_id" = String, Path, description = "The dispute")),
    request_body = DisputeAnswer,
    responses((status = 200, body = Dispute), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn answer_dispute(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    call_as(
        s,
        headers,
        Audience::FurnishersAndOperators,
        move |p, who| p.disputes().answer_dispute(who, &id, &parse(&body)?),
    )
    .await
}

// ---- subjects ----

/// Your score, band, dimensions, reasons, negative records with the date
/// each stops counting, and records excluded under dispute.
#[utoipa::path(get, path = "/v1/me", tag = "subject",
    responses((status = 200, body = SubjectView), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn me(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.rights().my_view(who)).await
}

/// Your score history, today's score last.
#[utoipa::path(get, path = "/v1/me/history", tag = "subject",
    responses((status = 200, body = Vec<ScorePoint>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn my_history(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(
        s,
        headers,
        |p, who| -> ApiResult<Vec<platform::ScorePoint>> { p.rights().my_history(who) },
    )
    .await
}

/// Every perk with your eligibility and points to go.
#[utoipa::path(get, path = "/v1/me/perks", tag = "subject",
    responses((status = 200, body = Vec<PerkStatus>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn my_perks(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.perks().my_perks(who)).await
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct WhatIfRequest {
    /// The changes to project, applied together.
    #[schema(min_items = 1, max_items = 10)]
    scenarios: Vec<Scenario>,
}

/// Project your score under changes ("pay this balance down", "N more
/// months on time"). Nothing is stored.
#[utoipa::path(post, path = "/v1/me/what-if", tag = "subject", request_body = WhatIfRequest,
    responses((status = 200, body = WhatIf), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn what_if(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Subjects, move |p, who| {
        let request: WhatIfRequest = parse(&body)?;
        let scenarios: Vec<platform::Scenario> =
            request.scenarios.into_iter().map(Into::into).collect();
        p.rights().what_if(who, &scenarios)
    })
    .await
}

/// Your consents.
#[utoipa::path(get, path = "/v1/me/consents", tag = "subject",
    responses((status = 200, body = Vec<Consent>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn my_consents(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.consents().my_consents(who)).await
}

/// Grant (or replace) a consent to a partner.
#[utoipa::path(post, path = "/v1/me/consents", tag = "subject", request_body = ConsentRequest,
    responses((status = 200, body = Consent), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn grant_consent(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Subjects, move |p, who| {
        p.consents().grant_consent(who, &parse(&body)?)
    })
    .await
}

/// Revoke your consent to a partner; in force for its next request.
#[utoipa::path(delete, path = "/v1/me/consents/{partner_id}", tag = "subject",
    params(("partner_id" = String, Path, description = "The partner")),
    responses((status = 200, body = Consent), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn revoke_consent(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(partner): Path<String>,
) -> Response {
    call(s, headers, move |p, who| {
        p.consents().revoke_consent(who, &partner)
    })
    .await
}

#[derive(Serialize, utoipa::ToSchema)]
struct FreezeState {
    /// True while partners are refused.
    frozen: bool,
}

/// Freeze your file: every partner query is refused until you lift it.
#[utoipa::path(post, path = "/v1/me/freeze", tag = "subject",
    responses((status = 200, body = FreezeState), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn freeze(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| {
        p.rights()
            .set_freeze(who, true)
            .map(|frozen| FreezeState { frozen })
    })
    .await
}

/// Lift the freeze, at once.
#[utoipa::path(delete, path = "/v1/me/freeze", tag = "subject",
    responses((status = 200, body = FreezeState), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn unfreeze(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| {
        p.rights()
            .set_freeze(who, false)
            .map(|frozen| FreezeState { frozen })
    })
    .await
}

/// Give the separate consent to restricted data (income, assets,
/// deposits, tax): from now on furnishers may report it and it counts.
#[utoipa::path(post, path = "/v1/me/restricted-data-consent", tag = "subject",
    responses((status = 200, body = RestrictedDataConsent), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn give_restricted_consent(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| {
        p.consents().set_restricted_data_consent(who, true)
    })
    .await
}

/// Withdraw the consent to restricted data, at once: such records stop
/// counting in every score and furnishers can send no more.
#[utoipa::path(delete, path = "/v1/me/restricted-data-consent", tag = "subject",
    responses((status = 200, body = RestrictedDataConsent), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn withdraw_restricted_consent(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| {
        p.consents().set_restricted_data_consent(who, false)
    })
    .await
}

/// Record a subject's restricted-data consent given or withdrawn outside
/// the app (a signed form), stating how; the subject sees the statement in
/// their access log.
#[utoipa::path(post, path = "/v1/operator/subjects/{subject_id}/restricted-data-consent", tag = "operator",
    params(("subject_id" = String, Path, description = "The subject")),
    request_body = RestrictedDataConsentChange,
    responses((status = 200, body = RestrictedDataConsent), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn restricted_consent_for(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(subject): Path<String>,
    body: Bytes,
) -> Response {
    call_as(s, headers, Audience::Operators, move |p, who| {
        let change: platform::RestrictedDataConsentChange = parse(&body)?;
        p.consents()
            .set_restricted_data_consent_for(who, &subject, &change)
    })
    .await
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct Limit {
    /// At most this many entries (1–1000, default 200).
    limit: Option<usize>,
}

/// Who looked at your data, when and why; newest first.
#[utoipa::path(get, path = "/v1/me/access-log", tag = "subject", params(Limit),
    responses((status = 200, body = Vec<AccessEntry>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn access_log(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(limit): Query<Limit>,
) -> Response {
    call(s, headers, move |p, who| {
        p.rights().my_access_log(who, limit.limit.unwrap_or(200))
    })
    .await
}

/// Your disputes.
#[utoipa::path(get, path = "/v1/me/disputes", tag = "subject",
    responses((status = 200, body = Vec<Dispute>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn my_disputes(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.disputes().my_disputes(who)).await
}

/// Dispute one of your records: it stops counting while the furnisher
/// answers (20 days at most).
#[utoipa::path(post, path = "/v1/me/disputes", tag = "subject", request_body = DisputeRequest,
    responses((status = 200, body = Dispute), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn open_dispute(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Subjects, move |p, who| {
        p.disputes().open_dispute(who, &parse(&body)?)
    })
    .await
}

/// Attach a short statement to one of your records.
#[utoipa::path(post, path = "/v1/me/statements", tag = "subject", request_body = StatementRequest,
    responses((status = 200, body = Statement), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn add_statement(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Subjects, move |p, who| {
        p.rights().add_statement(who, &parse(&body)?)
    })
    .await
}

/// Ask for a person to review an automated decision.
#[utoipa::path(post, path = "/v1/me/reviews", tag = "subject", request_body = ReviewRequest,
    responses((status = 200, body = Review), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn request_review(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Subjects, move |p, who| {
        p.rights().request_review(who, &parse(&body)?)
    })
    .await
}

/// Your review requests.
#[utoipa::path(get, path = "/v1/me/reviews", tag = "subject",
    responses((status = 200, body = Vec<Review>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn my_reviews(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.rights().my_reviews(who)).await
}

/// Notices of negative records reported about you.
#[utoipa::path(get, path = "/v1/me/notices", tag = "subject",
    responses((status = 200, body = Vec<Notice>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn notices(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.rights().my_notices(who)).await
}

/// Everything held about you, as JSON.
#[utoipa::path(get, path = "/v1/me/export", tag = "subject",
    responses((status = 200, body = Export), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn export(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.rights().export(who)).await
}

/// Opt out: erases your events, scores, consents, disputes and statements.
/// Only a tombstone and the audit record of the erasure remain.
#[utoipa::path(delete, path = "/v1/me", tag = "subject",
    responses((status = 200, body = Object), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn opt_out(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.rights().opt_out(who)).await
}

/// Partners a subject can grant consent to.
#[utoipa::path(get, path = "/v1/partners", tag = "subject",
    responses((status = 200, body = Vec<Partner>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn partners(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.registry().partners(who)).await
}

// ---- partners ----

/// Consents given to you, by pseudonym.
#[utoipa::path(get, path = "/v1/partner/consents", tag = "partner",
    responses((status = 200, body = Vec<PartnerConsent>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn partner_consents(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.consents().partner_consents(who)).await
}

/// Your perks.
#[utoipa::path(get, path = "/v1/partner/perks", tag = "partner",
    responses((status = 200, body = Vec<Perk>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn partner_perks(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.perks().partner_perks(who)).await
}

/// Create or replace a perk (its `partner_id` is always yours).
#[utoipa::path(post, path = "/v1/partner/perks", tag = "partner", request_body = Perk,
    responses((status = 200, body = Perk), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn put_perk(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Partners, move |p, who| {
        p.perks().put_perk(who, parse(&body)?)
    })
    .await
}

#[derive(Serialize, utoipa::ToSchema)]
struct Deleted {
    /// True.
    deleted: bool,
}

/// Delete one of your perks.
#[utoipa::path(delete, path = "/v1/partner/perks/{perk_id}", tag = "partner",
    params(("perk_id" = String, Path, description = "The perk")),
    responses((status = 200, body = Deleted), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn delete_perk(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(perk): Path<String>,
) -> Response {
    call(s, headers, move |p, who| {
        p.perks()
            .delete_perk(who, &perk)
            .map(|()| Deleted { deleted: true })
    })
    .await
}

/// Is this subject eligible for your perk? Yes or no, never the number;
/// needs an active consent and no freeze.
#[utoipa::path(post, path = "/v1/partner/check", tag = "partner", request_body = PartnerQuestion,
    responses((status = 200, body = EligibilityAnswer), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn partner_check(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_then(
        s,
        headers,
        Audience::Partners,
        move |p, who, done| match parse(&body) {
            Ok(question) => p.answers().check_eligibility_then(who, &question, done),
            Err(error) => done(Err(error)),
        },
    )
    .await
}

/// Score and band (consent scope `score` or wider).
#[utoipa::path(post, path = "/v1/partner/score", tag = "partner", request_body = PartnerQuestion,
    responses((status = 200, body = ScoreAnswer), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn partner_score(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Partners, move |p, who| {
        p.answers().partner_score(who, &parse(&body)?)
    })
    .await
}

/// The full report (consent scope `full_report`).
#[utoipa::path(post, path = "/v1/partner/report", tag = "partner", request_body = PartnerQuestion,
    responses((status = 200, body = Object), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn partner_report(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Partners, move |p, who| {
        p.answers().partner_report(who, &parse(&body)?)
    })
    .await
}

// ---- operators ----

/// Register or update a furnisher.
#[utoipa::path(post, path = "/v1/operator/furnishers", tag = "operator", request_body = FurnisherSpec,
    responses((status = 200, body = Furnisher), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn put_furnisher(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Operators, move |p, who| {
        p.registry().put_furnisher(who, &parse(&body)?)
    })
    .await
}

/// Every furnisher.
#[utoipa::path(get, path = "/v1/operator/furnishers", tag = "operator",
    responses((status = 200, body = Vec<Furnisher>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn furnishers(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.registry().furnishers(who)).await
}

/// Register or update a partner.
#[utoipa::path(post, path = "/v1/operator/partners", tag = "operator", request_body = PartnerSpec,
    responses((status = 200, body = Partner), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn put_partner(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Operators, move |p, who| {
        p.registry().put_partner(who, &parse(&body)?)
    })
    .await
}

/// Create an API key; its secret is shown once, in this answer.
#[utoipa::path(post, path = "/v1/operator/keys", tag = "operator", request_body = KeySpec,
    responses((status = 200, body = IssuedKey), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn create_key(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Operators, move |p, who| {
        p.registry().create_key(who, &parse(&body)?)
    })
    .await
}

/// Every key, without secrets.
#[utoipa::path(get, path = "/v1/operator/keys", tag = "operator",
    responses((status = 200, body = Vec<ApiKey>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn list_keys(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.registry().list_keys(who)).await
}

/// Revoke a key, at once.
#[utoipa::path(delete, path = "/v1/operator/keys/{key_id}", tag = "operator",
    params(("key_id" = String, Path, description = "The key's id")),
    responses((status = 200, body = ApiKey), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn revoke_key(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    call(s, headers, move |p, who| p.registry().revoke_key(who, &key)).await
}

#[derive(Serialize, utoipa::ToSchema)]
struct Enrolled {
    /// The subject.
    subject_id: String,
}

/// Enrol a subject who consented in the operator's app.
#[utoipa::path(post, path = "/v1/operator/subjects", tag = "operator", request_body = SubjectSpec,
    responses((status = 200, body = Enrolled), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn enrol(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Operators, move |p, who| {
        let spec: platform::SubjectSpec = parse(&body)?;
        p.registry().enrol(who, &spec).map(|()| Enrolled {
            subject_id: spec.subject_id,
        })
    })
    .await
}

/// Issue a short-lived token for a subject's app.
#[utoipa::path(post, path = "/v1/operator/subjects/{subject_id}/token", tag = "operator",
    params(("subject_id" = String, Path, description = "The subject")),
    request_body(content = TokenSpec, description = "Optional: {\"minutes\": 60}"),
    responses((status = 200, body = IssuedToken), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn issue_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(subject): Path<String>,
    body: Bytes,
) -> Response {
    call_as(s, headers, Audience::Operators, move |p, who| {
        let spec: platform::TokenSpec = if body.is_empty() {
            platform::TokenSpec::default()
        } else {
            parse(&body)?
        };
        p.registry().issue_token(who, &subject, &spec)
    })
    .await
}

/// Population size, score distribution, bands, queues and model cards.
#[utoipa::path(get, path = "/v1/operator/stats", tag = "operator",
    responses((status = 200, body = PopulationStats), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn population(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.population(who)).await
}

/// Every model deployment.
#[utoipa::path(get, path = "/v1/operator/models", tag = "operator",
    responses((status = 200, body = Vec<Deployment>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn deployments(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.deployments(who)).await
}

/// Deploy a model (Credence model JSON, checksum verified).
#[utoipa::path(post, path = "/v1/operator/models", tag = "operator",
    request_body(content = Object, description = "A Credence model file"),
    responses((status = 200, body = Deployment), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn deploy_model(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call_as(s, headers, Audience::Operators, move |p, who| {
        let text = std::str::from_utf8(&body).map_err(|e| {
            platform::ApiError::invalid("body", format!("the model is not UTF-8: {e}"))
        })?;
        p.deploy_model(who, text)
    })
    .await
}

/// Every perk of every partner.
#[utoipa::path(get, path = "/v1/operator/perks", tag = "operator",
    responses((status = 200, body = Vec<Perk>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn all_perks(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.perks().all_perks(who)).await
}

/// Every open dispute.
#[utoipa::path(get, path = "/v1/operator/disputes", tag = "operator",
    responses((status = 200, body = Vec<Dispute>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn dispute_queue(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.disputes().open_disputes(who)).await
}

/// Review requests waiting for a person.
#[utoipa::path(get, path = "/v1/operator/reviews", tag = "operator",
    responses((status = 200, body = Vec<Review>), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn review_queue(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.rights().review_queue(who)).await
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReviewOutcome {
    /// The reviewer's answer to the subject.
    #[schema(min_length = 1, max_length = 2000)]
    outcome: String,
}

/// Close a review with the reviewer's answer.
#[utoipa::path(post, path = "/v1/operator/reviews/{review_id}/close", tag = "operator",
    params(("review_id" = String, Path, description = "The review")), request_body = ReviewOutcome,
    responses((status = 200, body = Review), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn close_review(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    call_as(s, headers, Audience::Operators, move |p, who| {
        let outcome: ReviewOutcome = parse(&body)?;
        p.rights().close_review(who, &id, &outcome.outcome)
    })
    .await
}

/// Verify the audit chain.
#[utoipa::path(get, path = "/v1/operator/audit/verify", tag = "operator",
    responses((status = 200, body = AuditVerdict), (status = "4XX", body = ApiError)), security(("bearer" = [])))]
async fn verify_audit(State(s): State<AppState>, headers: HeaderMap) -> Response {
    call(s, headers, |p, who| p.verify_audit(who)).await
}

as_is!(
    sent: Health, FreezeState, Deleted, Enrolled;
    read: WhatIfRequest, ReviewOutcome;
);
