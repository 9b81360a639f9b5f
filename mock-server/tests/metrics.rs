//! `GET /metrics` over HTTP: the exposition parses, its counters move by what a call lifecycle
//! (1:1 or group) did, its gauges read the server's state, and it sits behind the control
//! token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use base64::Engine;
use common::{Options, TestApp, spawn_with, t0};
use futures_util::StreamExt;
use pretty_assertions::assert_eq;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use zulip_calls_protocol::event::DEFAULT_EVENTS_WEBSOCKET_PATH;

/// How long a test waits for something to arrive before failing (never a synchronisation
/// sleep).
const WAIT: Duration = Duration::from_secs(5);

/// One sample: the series name and its labels, sorted.
type Series = (String, BTreeMap<String, String>);

/// A parsed exposition.
#[derive(Debug)]
struct Scrape {
    samples: BTreeMap<Series, f64>,
    /// Metric family name → type, from the `# TYPE` lines.
    types: BTreeMap<String, String>,
}

impl Scrape {
    /// The value of `name` with exactly `labels` (0 when absent: a counter not yet touched).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let key = (
            name.to_owned(),
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        self.samples.get(&key).copied().unwrap_or(0.0)
    }

    /// Every sample of `name`, with its labels.
    fn series(&self, name: &str) -> Vec<(&BTreeMap<String, String>, f64)> {
        self.samples
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|((_, labels), value)| (labels, *value))
            .collect()
    }
}

/// Parses the OpenMetrics/Prometheus text format strictly enough to catch a malformed
/// exposition: every line is a comment of a known kind or a sample of a declared family, and
/// the text ends with `# EOF`.
fn parse(text: &str) -> Scrape {
    assert!(text.ends_with("# EOF\n"), "no EOF marker:\n{text}");
    let mut types = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(
                        ["counter", "gauge", "histogram", "info", "unknown"].contains(&kind),
                        "{line}"
                    );
                    assert!(
                        types.insert(name.to_owned(), kind.to_owned()).is_none(),
                        "twice: {line}"
                    );
                }
                (Some("HELP" | "UNIT"), Some(_), _) | (Some("EOF"), None, None) => {}
                _ => panic!("unexpected comment: {line}"),
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad sample: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("bad labels: {line}"));
                (name, parse_labels(labels, line))
            }
            None => (series, BTreeMap::new()),
        };
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad name: {line}"
        );
        let family = ["_total", "_bucket", "_sum", "_count", "_created"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix).filter(|f| types.contains_key(*f)))
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "sample of an undeclared family: {line}"
        );
        assert!(
            samples.insert((name.to_owned(), labels), value).is_none(),
            "duplicate sample: {line}"
        );
    }
    Scrape { samples, types }
}

/// `a="1",b="x"` (values without escapes, which is all this server produces).
fn parse_labels(text: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once("=\"")
            .unwrap_or_else(|| panic!("bad labels: {line}"));
        let (value, after) = after
            .split_once('"')
            .unwrap_or_else(|| panic!("bad labels: {line}"));
        labels.insert(key.to_owned(), value.to_owned());
        rest = after.strip_prefix(',').unwrap_or(after);
    }
    labels
}

async fn scrape(app: &TestApp) -> Scrape {
    let response = app
        .http
        .get(format!("{}/metrics", app.server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    parse(&response.text().await.unwrap())
}

const TRANSITIONS: &str = "zulip_calls_mock_call_transitions_total";
const EVENTS: &str = "zulip_calls_mock_events_delivered_total";
const PUSHES: &str = "zulip_calls_mock_pushes_recorded_total";
const LATENCY_COUNT: &str = "zulip_calls_mock_http_request_duration_seconds_count";

#[tokio::test]
async fn a_call_lifecycle_moves_the_counters_by_what_happened() {
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let (status, _) = app
        .post(
            &othello,
            "users/me/android_gcm_reg_id",
            &[("token", "othello-phone")],
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post(
            &hamlet,
            "users/me/apns_device_token",
            &[("token", "hamlet-phone"), ("appid", "org.zulip.Zulip")],
        )
        .await;
    assert_eq!(status, 200);
    let hamlet_queue = app.register(&hamlet).await;
    let _othello_queue = app.register(&othello).await;
    let before = scrape(&app).await;
    assert_eq!(before.value("zulip_calls_mock_event_queues", &[]), 2.0);

    let call_id = app.call(&hamlet, &othello).await;
    for (action, who) in [("acknowledge", &othello), ("respond", &othello)] {
        let (status, body) = app
            .post(
                who,
                &format!("calls/{action}"),
                &[("call_id", &call_id), ("response", "accept")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let during = scrape(&app).await;
    let active = |s: &Scrape, state| s.value("zulip_calls_mock_calls", &[("state", state)]);
    assert_eq!(
        (
            active(&during, "calling"),
            active(&during, "ringing"),
            active(&during, "accepted")
        ),
        (0.0, 0.0, 1.0)
    );
    app.advance(90);
    let (status, body) = app
        .post(&hamlet, "calls/end", &[("call_id", &call_id)])
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.get(&hamlet, &format!("calls/{call_id}"), &[]).await;
    assert_eq!(status, 200);
    let mut last = -1;
    let events = app
        .drain_call_events(&hamlet, &hamlet_queue, &mut last)
        .await;
    assert_eq!(events.len(), 4);
    let (status, _) = app.get(&hamlet, "no/such/route", &[]).await;
    assert_eq!(status, 404);

    let after = scrape(&app).await;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    assert_eq!(
        delta(
            "zulip_calls_mock_calls_created_total",
            &[("call_type", "video")]
        ),
        1.0
    );
    for (from, to) in [
        ("none", "calling"),
        ("calling", "ringing"),
        ("ringing", "accepted"),
        ("accepted", "ended"),
    ] {
        assert_eq!(
            delta(TRANSITIONS, &[("from_state", from), ("to_state", to)]),
            1.0,
            "{from} → {to}"
        );
    }
    let transitions: f64 = after.series(TRANSITIONS).iter().map(|(_, v)| v).sum();
    assert_eq!(transitions, 4.0);
    assert_eq!(
        delta(
            "zulip_calls_mock_calls_ended_total",
            &[("state", "ended"), ("reason", "hangup")]
        ),
        1.0
    );
    assert_eq!(active(&after, "accepted"), 0.0);
    // Each event went to both parties' queue.
    for event_type in [
        "call_started",
        "participant_ringing",
        "call_accepted",
        "call_ended",
    ] {
        assert_eq!(
            delta(
                EVENTS,
                &[("type", "call_event"), ("event_type", event_type)]
            ),
            2.0,
            "{event_type}"
        );
    }
    // Othello's phone rang; Hamlet's learned of the answer.
    assert_eq!(
        delta(PUSHES, &[("provider", "fcm"), ("event", "call")]),
        1.0
    );
    assert_eq!(
        delta(PUSHES, &[("provider", "apns"), ("event", "call_response")]),
        1.0
    );
    assert_eq!(after.series(PUSHES).len(), 2);

    // Latencies by route pattern, never by concrete path.
    let request = |method, route, status| {
        delta(
            LATENCY_COUNT,
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert_eq!(
        request("POST", "/api/v1/calls/create", "200")
            + request("POST", "/api/v1/calls/start", "200"),
        1.0
    );
    assert_eq!(request("GET", "/api/v1/calls/{call_id}", "200"), 1.0);
    assert_eq!(request("GET", "unmatched", "404"), 1.0);
    let routes: BTreeSet<&str> = after
        .series(LATENCY_COUNT)
        .iter()
        .map(|(labels, _)| labels["route"].as_str())
        .collect();
    assert!(!routes.iter().any(|r| r.contains(&call_id)), "{routes:?}");
    assert!(routes.contains("/metrics"), "{routes:?}");
    let buckets = after.series("zulip_calls_mock_http_request_duration_seconds_bucket");
    let inf = buckets
        .iter()
        .find(|(labels, _)| labels["route"] == "/api/v1/calls/{call_id}" && labels["le"] == "+Inf")
        .unwrap();
    assert_eq!(inf.1, 1.0);
    assert_eq!(
        after.types["zulip_calls_mock_http_request_duration_seconds"],
        "histogram"
    );
    assert_eq!(after.types["zulip_calls_mock_call_transitions"], "counter");
    assert_eq!(after.types["zulip_calls_mock_calls"], "gauge");
}

#[tokio::test]
async fn gauges_count_waiting_long_polls_and_open_websockets() {
    let app = spawn_with(Options {
        heartbeat_seconds: 60,
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let othello = app.account("othello@zulip.com");
    let polled = app.register(&hamlet).await;
    let streamed = app.register(&othello).await;
    let idle = scrape(&app).await;
    assert_eq!(idle.value("zulip_calls_mock_long_polls", &[]), 0.0);
    assert_eq!(
        idle.value("zulip_calls_mock_websocket_connections", &[]),
        0.0
    );
    assert_eq!(idle.value("zulip_calls_mock_event_queues", &[]), 2.0);

    // A WebSocket is open once an event came through it.
    let url = format!(
        "ws://{}{DEFAULT_EVENTS_WEBSOCKET_PATH}?queue_id={streamed}&last_event_id=-1",
        app.server.addr
    );
    let mut request = url.into_client_request().unwrap();
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", othello.email, othello.key));
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Basic {basic}")).unwrap(),
    );
    let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .unwrap()
        .unwrap();
    // A call to Othello reaches the socket; Hamlet's long-poll is still to come.
    let call_id = app.call(&hamlet, &othello).await;
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(text) = frame {
            assert!(text.as_str().contains(&call_id), "{text}");
            break;
        }
    }

    // A long-poll on a queue with nothing new waits (its heartbeat is a minute away).
    let mut last = -1;
    app.drain_call_events(&hamlet, &polled, &mut last).await;
    let waiting = {
        let url = app.url("events");
        let http = app.http.clone();
        let hamlet = hamlet.clone();
        let polled = polled.clone();
        tokio::spawn(async move {
            http.get(url)
                .basic_auth(&hamlet.email, Some(&hamlet.key))
                .query(&[
                    ("queue_id", polled.as_str()),
                    ("last_event_id", &last.to_string()),
                ])
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        })
    };
    // The long-poll's start is not observable from outside but through the server's own
    // state, so look until it shows (each look is a full request; bounded).
    let mut seen = None;
    for _ in 0..500 {
        let now = scrape(&app).await;
        if now.value("zulip_calls_mock_long_polls", &[]) == 1.0 {
            seen = Some(now);
            break;
        }
        tokio::task::yield_now().await;
    }
    let seen = seen.expect("the long-poll never showed as waiting");
    assert_eq!(
        seen.value("zulip_calls_mock_websocket_connections", &[]),
        1.0
    );

    // An event answers the long-poll; closing the socket ends the connection.
    let (status, _) = app
        .post(&hamlet, "calls/end", &[("call_id", &call_id)])
        .await;
    assert_eq!(status, 200);
    let answered = tokio::time::timeout(WAIT, waiting).await.unwrap().unwrap();
    assert_eq!(
        answered["events"][0]["event_type"], "call_ended",
        "{answered}"
    );
    ws.close(None).await.unwrap();
    while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, ws.next()).await {}
    let mut closed = None;
    for _ in 0..500 {
        let now = scrape(&app).await;
        if now.value("zulip_calls_mock_websocket_connections", &[]) == 0.0 {
            closed = Some(now);
            break;
        }
        tokio::task::yield_now().await;
    }
    let closed = closed.expect("the socket never showed as closed");
    assert_eq!(closed.value("zulip_calls_mock_long_polls", &[]), 0.0);
}

#[tokio::test]
async fn bots_move_the_same_counters_as_people() {
    let app = spawn_with(Options {
        manual_clock: Some(t0()),
        virtual_clock: true,
        ..Options::default()
    })
    .await;
    let hamlet = app.account("hamlet@zulip.com");
    let busy = app.account("busy-bot@zulip.com");
    let before = scrape(&app).await;
    app.call(&hamlet, &busy).await;
    let response = app
        .http
        .post(app.control_url("clock/advance"))
        .form(&[("seconds", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let after = scrape(&app).await;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    assert_eq!(
        delta(
            TRANSITIONS,
            &[("from_state", "calling"), ("to_state", "ringing")]
        ),
        1.0
    );
    assert_eq!(
        delta(
            TRANSITIONS,
            &[("from_state", "ringing"), ("to_state", "rejected")]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "zulip_calls_mock_calls_ended_total",
            &[("state", "rejected"), ("reason", "rejected")]
        ),
        1.0
    );
}

const GROUP_PARTICIPANTS: &str = "zulip_calls_mock_group_participant_changes_total";

#[tokio::test]
async fn group_calls_move_their_own_counters_and_gauges() {
    let app = common::spawn_virtual(zulip_calls_protocol::settings::Settings::default()).await;
    let email = |name: &str| app.account(&format!("{name}@zulip.com"));
    let (hamlet, othello, prospero, polonius) = (
        email("hamlet"),
        email("othello"),
        email("prospero"),
        email("polonius"),
    );
    let (cordelia, iago) = (email("cordelia"), email("iago"));
    let (king, regan) = (app.account("king@lear.org"), app.account("regan@lear.org"));
    // Polonius has a phone: his invitation rings it, and is cancelled on it.
    let (status, _) = app
        .post(
            &polonius,
            "users/me/android_gcm_reg_id",
            &[("token", "pol")],
        )
        .await;
    assert_eq!(status, 200);
    let ok = |(status, body): (u16, serde_json::Value)| {
        assert_eq!(status, 200, "{body}");
        body
    };
    let create = |host, ids: String, call_type| {
        let app = &app;
        async move {
            let body = ok(app
                .post(
                    host,
                    "calls/group/create",
                    &[("user_ids", ids.as_str()), ("call_type", call_type)],
                )
                .await);
            body["call_id"].as_str().unwrap().to_owned()
        }
    };
    let group = |call: &str, action: &str| format!("calls/group/{call}/{action}");
    let before = scrape(&app).await;

    // A: joined, declined, left, and ended by the host with one invitee still ringing.
    let a = create(
        &hamlet,
        format!("{},{},{}", othello.id, prospero.id, polonius.id),
        "video",
    )
    .await;
    ok(app.post(&othello, &group(&a, "join"), &[]).await);
    ok(app.post(&prospero, &group(&a, "decline"), &[]).await);
    let during = scrape(&app).await;
    let in_state =
        |s: &Scrape, state| s.value("zulip_calls_mock_group_participants", &[("state", state)]);
    assert_eq!(during.value("zulip_calls_mock_group_calls", &[]), 1.0);
    assert_eq!(
        ["invited", "ringing", "joined", "declined", "left", "missed"]
            .map(|s| in_state(&during, s)),
        [0.0, 1.0, 2.0, 1.0, 0.0, 0.0]
    );
    ok(app.post(&othello, &group(&a, "leave"), &[]).await);
    ok(app.post(&hamlet, &group(&a, "end"), &[]).await);

    // B: the silent host is dropped, and the empty call ends. C: an invitation rings out
    // while the host heartbeats.
    let b = create(&cordelia, iago.id.to_string(), "audio").await;
    let c = create(&king, regan.id.to_string(), "video").await;
    for seconds in [50, 50, 20] {
        ok(app.post(&king, "calls/heartbeat", &[("call_id", &c)]).await);
        app.advance_virtual(seconds).await;
    }
    let (_, body) = app.get(&cordelia, &group(&b, "status"), &[]).await;
    assert_eq!(body["call"]["state"], "ended");

    let after = scrape(&app).await;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    let created = "zulip_calls_mock_group_calls_created_total";
    assert_eq!(delta(created, &[("call_type", "video")]), 2.0);
    assert_eq!(delta(created, &[("call_type", "audio")]), 1.0);
    let ended = "zulip_calls_mock_group_calls_ended_total";
    assert_eq!(delta(ended, &[("reason", "host_ended")]), 1.0);
    assert_eq!(delta(ended, &[("reason", "empty")]), 1.0);
    assert_eq!(delta(ended, &[("reason", "max_duration")]), 0.0);
    let changes: BTreeMap<(String, String), f64> = after
        .series(GROUP_PARTICIPANTS)
        .into_iter()
        .map(|(labels, value)| ((labels["op"].clone(), labels["reason"].clone()), value))
        .collect();
    let expected: BTreeMap<(String, String), f64> = [
        // Three hosts on creating their call, and Othello.
        (("joined", ""), 4.0),
        (("invited", ""), 5.0),
        (("declined", ""), 1.0),
        (("left", "left"), 1.0),
        (("left", "network_failure"), 1.0),
        // Hamlet was still in A when he ended it.
        (("left", "call_ended"), 1.0),
        // Polonius's and Iago's invitations ended with their calls; Regan's rang out.
        (("missed", "call_ended"), 2.0),
        (("missed", "timeout"), 1.0),
    ]
    .into_iter()
    .map(|((op, reason), n)| ((op.to_owned(), reason.to_owned()), n))
    .collect();
    assert_eq!(changes, expected);
    // Group pushes are counted with the others, by their own event.
    assert_eq!(
        delta(PUSHES, &[("provider", "fcm"), ("event", "group_call")]),
        1.0
    );
    assert_eq!(
        delta(
            PUSHES,
            &[("provider", "fcm"), ("event", "group_call_cancelled")]
        ),
        1.0
    );
    // Only C is still active, with its host in and Regan out.
    assert_eq!(after.value("zulip_calls_mock_group_calls", &[]), 1.0);
    assert_eq!(
        ["invited", "ringing", "joined", "declined", "left", "missed"].map(|s| in_state(&after, s)),
        [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(
        after.types["zulip_calls_mock_group_participant_changes"],
        "counter"
    );
    assert_eq!(after.types["zulip_calls_mock_group_calls"], "gauge");
    // 1:1 series are untouched by group calls.
    assert_eq!(after.series(TRANSITIONS), before.series(TRANSITIONS));

    // A reset is reflected at once in the gauges.
    let response = app
        .http
        .post(app.control_url("reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let reset = scrape(&app).await;
    assert_eq!(reset.value("zulip_calls_mock_group_calls", &[]), 0.0);
    assert_eq!(in_state(&reset, "joined"), 0.0);
}

#[tokio::test]
async fn metrics_need_the_control_token_when_one_is_set() {
    let app = spawn_with(Options {
        admin_token: Some("metrics-token".to_owned()),
        ..Options::default()
    })
    .await;
    let url = format!("{}/metrics", app.server.url());
    let response = app.http.get(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let response = app
        .http
        .get(&url)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let response = app
        .http
        .get(&url)
        .bearer_auth("metrics-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    parse(&response.text().await.unwrap());
}
