//! Logs: a request id on every request and a span around it, so each log line a request causes
//! can be told apart from its neighbours' when several clients talk to the server at once.
//!
//! The id is the client's `X-Request-Id` when it sends one (so a client's own logs and ours
//! share it) or a fresh UUID; either way the response carries it back.

use std::io::IsTerminal;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response};
use hyper::body::Incoming;
use tower::ServiceBuilder;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestId, PropagateRequestIdLayer, RequestId, SetRequestId,
    SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnBodyChunk, DefaultOnEos, Trace, TraceLayer};
use tracing::Span;

/// The log filter when `RUST_LOG` is unset: this crate's informational lines, nobody else's.
pub const DEFAULT_LOG_FILTER: &str = "zulip_calls_mock=info";

/// The server's service with request ids and spans around it (see [`trace_requests`]).
pub type Traced<S> = SetRequestId<
    Trace<
        PropagateRequestId<S>,
        SharedClassifier<ServerErrorsAsFailures>,
        fn(&Request<Incoming>) -> Span,
        (),
        fn(&Response<Body>, Duration, &Span),
        DefaultOnBodyChunk,
        DefaultOnEos,
        (),
    >,
    FreshRequestId,
>;

/// A fresh UUID (v4) for a request that brings no id, written straight into its header value:
/// tower-http's `MakeRequestUuid` formats it into a `String` and parses that back.
#[derive(Debug, Clone, Copy, Default)]
pub struct FreshRequestId;

impl MakeRequestId for FreshRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(text).ok().map(RequestId::new)
    }
}

/// Wraps `app` so that every request has an id, a span carrying it, and a closing log line.
/// Around the whole service, once per request (a router's `layer` wraps each route instead).
pub fn trace_requests<S>(app: S) -> Traced<S> {
    let trace = TraceLayer::new_for_http()
        .make_span_with(request_span as fn(&Request<Incoming>) -> Span)
        .on_request(())
        .on_response(log_response as fn(&Response<Body>, Duration, &Span))
        // `log_response` already reports 5xx answers; the default would log them twice.
        .on_failure(());
    ServiceBuilder::new()
        // Outermost, so the span below sees the id.
        .layer(SetRequestIdLayer::x_request_id(FreshRequestId))
        .layer(trace)
        .layer(PropagateRequestIdLayer::x_request_id())
        .service(app)
}

/// The span of one request: its id, method and path (never the query, which may be long).
fn request_span<B>(request: &Request<B>) -> Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// One line per answered request, inside its span.
fn log_response(response: &Response<Body>, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    if response.status().is_server_error() {
        tracing::error!(status, latency_ms, "request failed");
    } else {
        tracing::info!(status, latency_ms, "request finished");
    }
}

/// How log lines are written (`serve --log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`, `spans`), for log
    /// collectors that would otherwise have to parse the text.
    Json,
}

/// Installs the process's log subscriber: `RUST_LOG` or [`DEFAULT_LOG_FILTER`], on stderr so
/// stdout stays for what the command prints, colours only on a terminal (never in JSON).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| DEFAULT_LOG_FILTER.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `try_init`: a second call (tests) keeps the first subscriber instead of panicking.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}
