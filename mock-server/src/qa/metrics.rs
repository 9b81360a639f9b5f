//! `GET /metrics`: the server's counters in the OpenMetrics text format, which Prometheus
//! scrapes (and which reads as Prometheus text too), so a QA run or a dashboard can see what the
//! mock did without reading its logs.
//!
//! Two kinds of series:
//! - counted as things happen: call creations, transitions and endings, group call creations
//!   and endings and what happened to their participants, and recorded pushes (heard from the
//!   core: [`Metrics`] is one of its listeners), request latencies (counted by the front
//!   desk's outermost layer, [`Visit`]);
//! - read at scrape time from where the truth lives: active calls by state and active group
//!   calls with their participants by state (the store), event queues, waiting long-polls and
//!   events delivered (the queues), open WebSockets. A reset or a restart is then reflected at
//!   once instead of drifting.
//!
//! Every series is named `zulip_calls_mock_*`.

use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use zulip_calls_protocol::plugin::group::ParticipantState;
use zulip_calls_protocol::{Call, CallState};

use super::QaState;
use crate::core::news::{CallChange, GroupChange, GroupHappening, Listener, RecordedPush, Tx};

/// Where the metrics are served (beside the control API, behind the same token).
pub const METRICS_PATH: &str = "/metrics";

/// The prefix of every series.
pub const PREFIX: &str = "zulip_calls_mock";

/// The `route` label of a request no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The content type of the answer (OpenMetrics 1.0 text).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `from_state` label of a call's creation, which comes from no state.
pub const NO_STATE: &str = "none";

/// The `reason` of a group participant who left or missed because the call ended.
pub const CALL_ENDED: &str = "call_ended";

/// The `reason` of a group invitee whose ring ran out.
pub const RING_TIMEOUT: &str = "timeout";

/// Upper bounds (seconds) of the request latency buckets: from a fast lookup to a long-poll
/// held until its heartbeat (60 s by default).
const LATENCY_BUCKETS: [f64; 16] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 30.0,
    90.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallTypeLabels {
    call_type: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndLabels {
    state: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// What happened to one group call participant, and why when it says more than the op.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ParticipantLabels {
    op: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransitionLabels {
    from_state: &'static str,
    to_state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PushLabels {
    provider: &'static str,
    event: String,
}

/// The event's `type`, and for a `call_event` its `event_type` (empty for other types).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    r#type: String,
    event_type: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DialectLabels {
    dialect: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CompatLabels {
    calls_api: &'static str,
    compat: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

/// The series counted as things happen; the scrape-time ones are built per scrape.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    calls_created: Family<CallTypeLabels, Counter>,
    calls_ended: Family<EndLabels, Counter>,
    transitions: Family<TransitionLabels, Counter>,
    group_calls_created: Family<CallTypeLabels, Counter>,
    group_calls_ended: Family<ReasonLabels, Counter>,
    group_participants: Family<ParticipantLabels, Counter>,
    pushes: Family<PushLabels, Counter>,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    /// `requests`' histograms by route, then method and status: found without building the
    /// labels (an owned route) and hashing them with the family's SipHash, once per request.
    request_series: RwLock<foldhash::HashMap<Box<str>, Vec<RequestSeries>>>,
}

/// One route's histogram for a method and a status.
type RequestSeries = (&'static str, u16, Histogram);

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every series at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let calls_created = Family::<CallTypeLabels, Counter>::default();
        registry.register(
            "calls_created",
            "Calls placed, by call type",
            calls_created.clone(),
        );
        let calls_ended = Family::<EndLabels, Counter>::default();
        registry.register(
            "calls_ended",
            "Calls that reached a terminal state, by state and end reason",
            calls_ended.clone(),
        );
        let transitions = Family::<TransitionLabels, Counter>::default();
        registry.register(
            "call_transitions",
            "Call state changes (a creation comes from_state=\"none\")",
            transitions.clone(),
        );
        let group_calls_created = Family::<CallTypeLabels, Counter>::default();
        registry.register(
            "group_calls_created",
            "Group calls opened, by call type",
            group_calls_created.clone(),
        );
        let group_calls_ended = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "group_calls_ended",
            "Group calls that ended, by reason (host_ended, empty, max_duration)",
            group_calls_ended.clone(),
        );
        let group_participants = Family::<ParticipantLabels, Counter>::default();
        registry.register(
            "group_participant_changes",
            "What happened to group call participants, one per participant: op invited, \
             joined (the host on creating the call too), left (reason left, network_failure \
             or call_ended), declined, missed (reason timeout or call_ended)",
            group_participants.clone(),
        );
        let pushes = Family::<PushLabels, Counter>::default();
        registry.register(
            "pushes_recorded",
            "Pushes recorded in the outbox, by provider (fcm, apns) and push event",
            pushes.clone(),
        );
        let requests =
            Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(|| {
                Histogram::new(LATENCY_BUCKETS)
            });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by method, route and status (a long-poll counts until \
             it answers)",
            requests.clone(),
        );
        Metrics {
            registry,
            calls_created,
            calls_ended,
            transitions,
            group_calls_created,
            group_calls_ended,
            group_participants,
            pushes,
            requests,
            request_series: RwLock::default(),
        }
    }

    /// A call was created (it is now `calling`).
    pub fn record_call_created(&self, call: &Call) {
        self.calls_created
            .get_or_create(&CallTypeLabels {
                call_type: call.call_type.as_str(),
            })
            .inc();
        self.record_transition(None, call);
    }

    /// A call moved from `from` (`None`: it was just created) to its current state.
    pub fn record_transition(&self, from: Option<CallState>, call: &Call) {
        self.transitions
            .get_or_create(&TransitionLabels {
                from_state: from.map_or(NO_STATE, CallState::as_str),
                to_state: call.state.as_str(),
            })
            .inc();
        if call.state.is_terminal() {
            self.calls_ended
                .get_or_create(&EndLabels {
                    state: call.state.as_str(),
                    reason: call.end_reason.map_or("", |r| r.as_str()),
                })
                .inc();
        }
    }

    /// A group call changed: counts the call's creation or end and what happened to each
    /// participant it moved.
    pub fn record_group_change(&self, change: &GroupChange) {
        let participant = |op: &'static str, reason: &'static str, n: usize| {
            if n > 0 {
                self.group_participants
                    .get_or_create(&ParticipantLabels { op, reason })
                    .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
            }
        };
        match &change.what {
            GroupHappening::Created { invited } => {
                self.group_calls_created
                    .get_or_create(&CallTypeLabels {
                        call_type: change.record.call.call_type.as_str(),
                    })
                    .inc();
                participant("joined", "", 1);
                participant("invited", "", invited.len());
            }
            GroupHappening::Invited { users } => participant("invited", "", users.len()),
            // Not an answer: the invitation reached a device or queue.
            GroupHappening::Ringing { .. } => {}
            GroupHappening::Joined { .. } => participant("joined", "", 1),
            GroupHappening::Left { reason, .. } => {
                participant("left", reason.as_str(), 1);
            }
            GroupHappening::Declined { .. } => participant("declined", "", 1),
            GroupHappening::Missed { .. } => participant("missed", RING_TIMEOUT, 1),
            GroupHappening::Ended { reason } => {
                self.group_calls_ended
                    .get_or_create(&ReasonLabels {
                        reason: reason.as_str(),
                    })
                    .inc();
                // The end moves whoever was still in (`left`) or still invited (`missed`).
                let was = |wanted: fn(ParticipantState) -> bool| {
                    change.before.iter().filter(|(_, s)| wanted(*s)).count()
                };
                participant("left", CALL_ENDED, was(|s| s == ParticipantState::Joined));
                participant("missed", CALL_ENDED, was(ParticipantState::is_pending));
            }
        }
    }

    /// A push was recorded; `provider` is `fcm` or `apns`, `event` the push's `event`.
    pub fn record_push(&self, provider: &'static str, event: &str) {
        self.pushes
            .get_or_create(&PushLabels {
                provider,
                event: event.to_owned(),
            })
            .inc();
    }

    /// A request to `route` (a matched route pattern, or [`UNMATCHED_ROUTE`]) was answered.
    pub fn record_request(&self, method: &str, route: &str, status: StatusCode, took: Duration) {
        let method = known_method(method);
        let status = status.as_u16();
        let seconds = took.as_secs_f64();
        {
            let series = self
                .request_series
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            let found = series.get(route).and_then(|by_route| {
                by_route
                    .iter()
                    .find(|(m, s, _)| *m == method && *s == status)
            });
            if let Some((_, _, histogram)) = found {
                histogram.observe(seconds);
                return;
            }
        }
        // The series' first request: the family makes it; the same histogram is kept here.
        let histogram = self
            .requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_owned(),
                status,
            })
            .clone();
        histogram.observe(seconds);
        let mut series = self
            .request_series
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let by_route = series.entry(route.into()).or_default();
        // Another request of the series may have got here first.
        if !by_route
            .iter()
            .any(|(m, s, _)| *m == method && *s == status)
        {
            by_route.push((method, status, histogram));
        }
    }

    /// The whole exposition: the counted series, then those read from `state` now.
    pub fn render(&self, state: &QaState) -> Result<String, MetricsError> {
        let mut text = String::new();
        encode_registry(&mut text, &self.registry)?;
        encode_registry(&mut text, &scrape_time_registry(state)?)?;
        encode_eof(&mut text)?;
        Ok(text)
    }
}

/// Counts what the core announces: creations and transitions of calls, group call changes,
/// recorded pushes (a group call's `group_call` and `group_call_cancelled` pushes among them).
impl Listener for Metrics {
    fn call_changed(&self, change: &CallChange, _tx: &mut Tx<'_>) {
        match change.before {
            None => self.record_call_created(&change.record.call),
            Some(before) if change.moved() => {
                self.record_transition(Some(before), &change.record.call);
            }
            Some(_) => {}
        }
    }

    fn group_changed(&self, change: &GroupChange, _tx: &mut Tx<'_>) {
        self.record_group_change(change);
    }

    fn push_recorded(&self, push: &RecordedPush, _tx: &mut Tx<'_>) {
        self.record_push(push.provider, &push.entry.event);
    }
}

/// Why the metrics could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("storage: {0}")]
    Store(#[from] crate::core::store::StoreError),
    #[error("encoding: {0}")]
    Encode(#[from] std::fmt::Error),
}

/// The series read at scrape time.
fn scrape_time_registry(state: &QaState) -> Result<Registry, MetricsError> {
    let mut registry = Registry::with_prefix(PREFIX);

    let calls = Family::<StateLabels, Gauge>::default();
    // Every active state, so a state with no call reads 0 rather than vanishing.
    for active in [CallState::Calling, CallState::Ringing, CallState::Accepted] {
        calls
            .get_or_create(&StateLabels {
                state: active.as_str(),
            })
            .set(0);
    }
    let active = state.core.store().all_active_calls()?;
    for record in &active {
        calls
            .get_or_create(&StateLabels {
                state: record.call.state.as_str(),
            })
            .inc();
    }
    registry.register(
        "calls",
        "Active calls by state (terminal calls: see calls_ended)",
        calls,
    );

    let groups = state.core.store().all_active_group_calls()?;
    registry.register(
        "group_calls",
        "Active group calls (ended ones: see group_calls_ended)",
        gauge(groups.len()),
    );
    let participants = Family::<StateLabels, Gauge>::default();
    // Every state, so a state nobody is in reads 0 rather than vanishing.
    for each in ParticipantState::ALL {
        participants
            .get_or_create(&StateLabels {
                state: each.as_str(),
            })
            .set(0);
    }
    for place in groups.iter().flat_map(|g| &g.participants) {
        participants
            .get_or_create(&StateLabels {
                state: place.state().as_str(),
            })
            .inc();
    }
    registry.register(
        "group_participants",
        "Participants of active group calls, by state",
        participants,
    );

    let mode = Family::<CompatLabels, Gauge>::default();
    mode.get_or_create(&CompatLabels {
        calls_api: state.core.settings().calls_api.as_str(),
        compat: state.core.settings().calls_compat.as_str(),
    })
    .set(1);
    registry.register(
        "server_mode",
        "The calls API served and whether it behaves as the contract or the deployed plugin",
        mode,
    );
    registry.register(
        "event_queues",
        "Registered event queues",
        gauge(state.core.queues.len()),
    );
    let by_dialect = Family::<DialectLabels, Gauge>::default();
    for queue in state.core.queues.list(None) {
        let dialect = queue.format.map_or("any", |format| format.0);
        by_dialect.get_or_create(&DialectLabels { dialect }).inc();
    }
    registry.register(
        "event_queues_by_dialect",
        "Registered event queues by the dialect of the call events they get",
        by_dialect,
    );
    registry.register(
        "long_polls",
        "GET events requests waiting for an event now",
        gauge(state.core.queues.long_polls_waiting()),
    );
    registry.register(
        "websocket_connections",
        "Event WebSockets open now",
        gauge(state.api.sockets.len()),
    );

    let delivered = Family::<EventLabels, Counter>::default();
    for (r#type, event_type, count) in state.core.queues.delivered() {
        delivered
            .get_or_create(&EventLabels { r#type, event_type })
            .inc_by(count);
    }
    registry.register(
        "events_delivered",
        "Events added to event queues (one per queue), by type and call event_type",
        delivered,
    );
    Ok(registry)
}

/// A gauge reading `value`.
fn gauge(value: usize) -> Gauge {
    let gauge = Gauge::default();
    gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
    gauge
}

/// The method as a label, from a closed set so a client cannot create series at will.
fn known_method(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("other")
}

/// The metrics route (mounted by the control API, behind its token).
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router.route(METRICS_PATH, get(scrape))
}

async fn scrape(State(state): State<QaState>) -> Response {
    match state.metrics.render(&state) {
        Ok(text) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            text,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "cannot render metrics");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "# metrics are unavailable: see the server log\n",
            )
                .into_response()
        }
    }
}

/// A request on its way through [`crate::qa::front_desk`], timed from its arrival (the
/// outermost part, so its latency is what the client waited) and recorded under its route
/// pattern when its answer leaves.
#[derive(Debug)]
pub struct Visit {
    method: Method,
    route: Option<MatchedPath>,
    started: std::time::Instant,
}

impl Visit {
    pub fn begin(request: &Request) -> Visit {
        Visit {
            method: request.method().clone(),
            route: request.extensions().get::<MatchedPath>().cloned(),
            started: std::time::Instant::now(),
        }
    }

    /// Lets the answer go once the changes it may reflect (its own or others' it read) are
    /// committed (see `api::durable`), and records it.
    pub async fn end(self, state: &QaState, response: Response) -> Response {
        let response = crate::api::durable::release(&state.core, response).await;
        let route = self
            .route
            .as_ref()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
        state.metrics.record_request(
            self.method.as_str(),
            route,
            response.status(),
            self.started.elapsed(),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(known_method("GET"), "GET");
        assert_eq!(known_method("BREW"), "other");
    }

    #[test]
    fn the_counted_series_encode_with_the_prefix() {
        let metrics = Metrics::new();
        metrics.record_push("fcm", "call");
        metrics.record_request(
            "GET",
            "/api/v1/calls/{call_id}",
            StatusCode::OK,
            Duration::from_millis(3),
        );
        let mut text = String::new();
        encode_registry(&mut text, &metrics.registry).unwrap();
        assert!(
            text.contains("# TYPE zulip_calls_mock_pushes_recorded counter"),
            "{text}"
        );
        assert!(
            text.contains(
                r#"zulip_calls_mock_pushes_recorded_total{provider="fcm",event="call"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"zulip_calls_mock_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/calls/{call_id}",status="200"} 1"#
            ),
            "{text}"
        );
    }

    /// A series' later requests are counted in the histogram its first one made, and series
    /// differing in any label stay apart.
    #[test]
    fn requests_are_counted_per_method_route_and_status() {
        let metrics = Metrics::new();
        let record = |method, route, status| {
            metrics.record_request(method, route, status, Duration::from_millis(1));
        };
        for _ in 0..3 {
            record("POST", "/api/v1/calls/start", StatusCode::OK);
        }
        record("POST", "/api/v1/calls/start", StatusCode::BAD_REQUEST);
        record("GET", "/api/v1/calls/start", StatusCode::OK);
        record("POST", "/api/v1/calls/end", StatusCode::OK);
        let mut text = String::new();
        encode_registry(&mut text, &metrics.registry).unwrap();
        let count = |labels: &str| {
            let line = format!("zulip_calls_mock_http_request_duration_seconds_count{{{labels}}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(line.as_str()))
                .unwrap_or_else(|| panic!("no {line} in {text}"))
                .to_owned()
        };
        for (labels, expected) in [
            (
                r#"method="POST",route="/api/v1/calls/start",status="200""#,
                "3",
            ),
            (
                r#"method="POST",route="/api/v1/calls/start",status="400""#,
                "1",
            ),
            (
                r#"method="GET",route="/api/v1/calls/start",status="200""#,
                "1",
            ),
            (
                r#"method="POST",route="/api/v1/calls/end",status="200""#,
                "1",
            ),
        ] {
            assert_eq!(count(labels), expected, "{labels}");
        }
    }
}
