//! The event stream against a real mock server: delivery over the WebSocket and by
//! long-polling, resynchronisation, multi-device, lost queues, a server restart, refused
//! credentials and shutdown; and over TLS (https:// and wss://), trusted by `cert_bundle` or
//! `insecure`, refused otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Proxy, TestServer, start_server};
use tokio::sync::mpsc::Receiver;
use zulip_calls::backend::api::{ApiClient, Credentials, ServerAddress};
use zulip_calls::backend::events::{
    ConnectionState, EventStream, StreamItem, StreamOptions, Transport, TransportPreference,
};
use zulip_calls_protocol::calls::{End, EndRequest, Respond, RespondRequest, Start, StartRequest};
use zulip_calls_protocol::{CallEventType, CallId, CallType, RespondAction};

/// How long a test waits for a stream item before failing (never a synchronisation sleep).
const WAIT: Duration = Duration::from_secs(10);

const IAGO: &str = "iago@zulip.com";
const HAMLET: &str = "hamlet@zulip.com";

/// Runs a scenario once per transport.
macro_rules! on_both_transports {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::*;

            #[tokio::test]
            async fn websocket() {
                super::$scenario(TransportPreference::WebSocketOnly).await;
            }

            #[tokio::test]
            async fn long_poll() {
                super::$scenario(TransportPreference::LongPollOnly).await;
            }
        }
    )*};
}

on_both_transports!(
    a_call_placed_by_another_user_reaches_the_stream,
    resync_lists_a_call_that_existed_before_the_stream,
    every_device_of_the_user_gets_the_event,
    a_lost_queue_is_registered_again_and_resynced,
    a_dropped_connection_resumes_the_same_queue,
    the_stream_survives_a_server_restart,
    bad_credentials_take_the_stream_offline,
    shutdown_deletes_the_queue,
);

/// Short backoff, so retries do not slow the tests down.
fn options(transport: TransportPreference) -> StreamOptions {
    StreamOptions {
        transport,
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        ..StreamOptions::default()
    }
}

fn transport_of(preference: TransportPreference) -> Transport {
    match preference {
        TransportPreference::LongPollOnly => Transport::LongPoll,
        TransportPreference::WebSocketOnly | TransportPreference::Auto => Transport::WebSocket,
    }
}

fn connected(preference: TransportPreference) -> StreamItem {
    StreamItem::State(ConnectionState::Connected {
        transport: transport_of(preference),
    })
}

async fn next_item(rx: &mut Receiver<StreamItem>) -> StreamItem {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no stream item in time")
        .expect("the stream ended")
}

/// Reads items until `pick` accepts one; returns what it picked and the items before it.
async fn wait_for<T>(
    rx: &mut Receiver<StreamItem>,
    what: &str,
    mut pick: impl FnMut(&StreamItem) -> Option<T>,
) -> (T, Vec<StreamItem>) {
    let mut skipped = Vec::new();
    let read = async {
        loop {
            let item = rx.recv().await.expect("the stream ended");
            if let Some(picked) = pick(&item) {
                return picked;
            }
            skipped.push(item);
        }
    };
    match tokio::time::timeout(WAIT, read).await {
        Ok(picked) => (picked, skipped),
        Err(_) => panic!("waited in vain for {what}; got {skipped:#?}"),
    }
}

/// The first items of a fresh stream: connecting, the snapshot, connected.
async fn expect_start(
    rx: &mut Receiver<StreamItem>,
    preference: TransportPreference,
) -> Vec<CallId> {
    assert_eq!(
        next_item(rx).await,
        StreamItem::State(ConnectionState::Connecting)
    );
    let calls = match next_item(rx).await {
        StreamItem::Resynced(calls) => calls.iter().map(|c| c.call_id).collect(),
        other => panic!("expected the first resync, got {other:?}"),
    };
    assert_eq!(next_item(rx).await, connected(preference));
    calls
}

/// The next item must be the call event `event_type` about `call`.
async fn expect_call_event(rx: &mut Receiver<StreamItem>, event_type: CallEventType, call: CallId) {
    match next_item(rx).await {
        StreamItem::Event(event) => {
            let call_event = event.as_call().expect("not a call event");
            assert_eq!(call_event.event_type(), event_type, "{event:?}");
            assert_eq!(call_event.call.call_id, call, "{event:?}");
        }
        other => panic!("expected {event_type}, got {other:?}"),
    }
}

async fn place_call(server: &TestServer, from: &str, to: &str) -> CallId {
    server
        .api(from)
        .request::<Start>(
            &(),
            &StartRequest {
                user_id: server.user_id(to),
                call_type: CallType::Audio,
            },
        )
        .await
        .unwrap()
        .call_id
}

async fn end_call(server: &TestServer, who: &str, call: CallId) {
    server
        .api(who)
        .request::<End>(&(), &EndRequest { call_id: call })
        .await
        .unwrap();
}

async fn a_call_placed_by_another_user_reaches_the_stream(preference: TransportPreference) {
    let server = start_server().await;
    let (stream, mut rx) = EventStream::spawn(server.api(IAGO), options(preference));
    assert_eq!(expect_start(&mut rx, preference).await, []);

    let call = place_call(&server, HAMLET, IAGO).await;
    expect_call_event(&mut rx, CallEventType::CallStarted, call).await;
    end_call(&server, HAMLET, call).await;
    // Next is the end, not the start again: each event is delivered once, and heartbeats
    // (every second on this server) never show.
    expect_call_event(&mut rx, CallEventType::CallEnded, call).await;
    stream.shutdown().await;
}

async fn resync_lists_a_call_that_existed_before_the_stream(preference: TransportPreference) {
    let server = start_server().await;
    let call = place_call(&server, HAMLET, IAGO).await;
    let (stream, mut rx) = EventStream::spawn(server.api(IAGO), options(preference));
    assert_eq!(expect_start(&mut rx, preference).await, [call]);
    end_call(&server, HAMLET, call).await;
    expect_call_event(&mut rx, CallEventType::CallEnded, call).await;
    stream.shutdown().await;
}

async fn every_device_of_the_user_gets_the_event(preference: TransportPreference) {
    let server = start_server().await;
    let (phone, mut phone_rx) = EventStream::spawn(server.api(IAGO), options(preference));
    let (laptop, mut laptop_rx) = EventStream::spawn(server.api(IAGO), options(preference));
    expect_start(&mut phone_rx, preference).await;
    expect_start(&mut laptop_rx, preference).await;
    assert_ne!(phone.queue_id(), laptop.queue_id());

    let call = place_call(&server, HAMLET, IAGO).await;
    expect_call_event(&mut phone_rx, CallEventType::CallStarted, call).await;
    expect_call_event(&mut laptop_rx, CallEventType::CallStarted, call).await;
    phone.shutdown().await;
    laptop.shutdown().await;
}

async fn a_lost_queue_is_registered_again_and_resynced(preference: TransportPreference) {
    let server = start_server().await;
    let (stream, mut rx) = EventStream::spawn(server.api(IAGO), options(preference));
    expect_start(&mut rx, preference).await;
    let call = place_call(&server, HAMLET, IAGO).await;
    expect_call_event(&mut rx, CallEventType::CallStarted, call).await;

    // The queue disappears under the stream, as when it expires.
    let lost = stream.queue_id().unwrap();
    let mut queue_ids = stream.watch_queue_id();
    queue_ids.mark_unchanged();
    server
        .server()
        .state
        .core
        .queues
        .delete(server.user_id(IAGO), &lost)
        .unwrap();

    // Registered again at once (no backoff, no state change), and resynchronised.
    let (calls, before) = wait_for(&mut rx, "a resync", |item| match item {
        StreamItem::Resynced(calls) => Some(calls.iter().map(|c| c.call_id).collect::<Vec<_>>()),
        _ => None,
    })
    .await;
    assert_eq!(before, [], "nothing comes before the resync");
    assert_eq!(calls, [call]);
    let fresh = tokio::time::timeout(
        WAIT,
        queue_ids.wait_for(|q| q.as_ref().is_some_and(|q| *q != lost)),
    )
    .await
    .expect("no new queue")
    .unwrap()
    .clone()
    .unwrap();
    assert!(
        server
            .server()
            .state
            .core
            .queues
            .poll(server.user_id(IAGO), &fresh, None, now())
            .is_ok()
    );

    // The new queue delivers.
    end_call(&server, HAMLET, call).await;
    expect_call_event(&mut rx, CallEventType::CallEnded, call).await;
    stream.shutdown().await;
}

async fn a_dropped_connection_resumes_the_same_queue(preference: TransportPreference) {
    let server = start_server().await;
    let proxy = Proxy::start(server.addr).await;
    let (stream, mut rx) = EventStream::spawn(server.api_via(IAGO, &proxy), options(preference));
    expect_start(&mut rx, preference).await;
    let queue = stream.queue_id().unwrap();
    let call = place_call(&server, HAMLET, IAGO).await;
    expect_call_event(&mut rx, CallEventType::CallStarted, call).await;

    // The network goes down; an event is queued meanwhile.
    proxy.go_down();
    let (attempt, _) = wait_for(&mut rx, "reconnecting", |item| match item {
        StreamItem::State(ConnectionState::Reconnecting { attempt, .. }) => Some(*attempt),
        _ => None,
    })
    .await;
    assert_eq!(attempt, 1);
    end_call(&server, HAMLET, call).await;
    proxy.restore();

    // Back on the same queue: no resync, the missed event exactly once, nothing replayed.
    let ((), before) = wait_for(&mut rx, "connected", |item| {
        (*item == connected(preference)).then_some(())
    })
    .await;
    assert!(
        before.iter().all(|item| matches!(
            item,
            StreamItem::State(ConnectionState::Reconnecting { .. })
        )),
        "{before:#?}"
    );
    expect_call_event(&mut rx, CallEventType::CallEnded, call).await;
    assert_eq!(stream.queue_id(), Some(queue));
    let call = place_call(&server, HAMLET, IAGO).await;
    expect_call_event(&mut rx, CallEventType::CallStarted, call).await;
    stream.shutdown().await;
}

fn now() -> zulip_calls_protocol::Timestamp {
    zulip_calls_mock::Clock::System.now()
}

async fn the_stream_survives_a_server_restart(preference: TransportPreference) {
    let mut server = start_server().await;
    // The mock server's shutdown leaves upgraded WebSocket connections running; a proxy cuts
    // them, as the end of a server process would. Long-polls go straight to the server.
    let proxy = Proxy::start(server.addr).await;
    let api = match preference {
        TransportPreference::LongPollOnly => server.api(IAGO),
        _ => server.api_via(IAGO, &proxy),
    };
    let (stream, mut rx) = EventStream::spawn(api, options(preference));
    expect_start(&mut rx, preference).await;
    let call = place_call(&server, HAMLET, IAGO).await;
    expect_call_event(&mut rx, CallEventType::CallStarted, call).await;

    let stopping = tokio::time::Instant::now();
    server.stop().await;
    proxy.cut();
    // Retried while the server is down.
    for expected in 1..=3 {
        match next_item(&mut rx).await {
            StreamItem::State(ConnectionState::Reconnecting { attempt, .. }) => {
                assert_eq!(attempt, expected);
            }
            other => panic!("expected reconnecting, got {other:?}"),
        }
    }

    let starting = tokio::time::Instant::now();
    server.start_again().await;
    // The queue died with the server: a new one, and the snapshot (the call is stored, so it
    // survived), then connected again. Only retries come before.
    let (calls, before) = wait_for(&mut rx, "a resync", |item| match item {
        StreamItem::Resynced(calls) => Some(calls.iter().map(|c| c.call_id).collect::<Vec<_>>()),
        _ => None,
    })
    .await;
    assert!(
        before.iter().all(|item| matches!(
            item,
            StreamItem::State(ConnectionState::Reconnecting { .. })
        )),
        "{before:#?}"
    );
    assert_eq!(calls, [call]);
    assert_eq!(next_item(&mut rx).await, connected(preference));
    tracing::info!(
        down_to_connected = ?stopping.elapsed(),
        up_to_connected = ?starting.elapsed(),
        "recovered from the restart"
    );

    end_call(&server, HAMLET, call).await;
    expect_call_event(&mut rx, CallEventType::CallEnded, call).await;
    stream.shutdown().await;
}

async fn bad_credentials_take_the_stream_offline(preference: TransportPreference) {
    let server = start_server().await;
    let credentials = Credentials {
        api_key: "not-the-key".into(),
        ..server.credentials(IAGO)
    };
    let (stream, mut rx) =
        EventStream::spawn(ApiClient::new(&credentials).unwrap(), options(preference));
    assert_eq!(
        next_item(&mut rx).await,
        StreamItem::State(ConnectionState::Connecting)
    );
    match next_item(&mut rx).await {
        StreamItem::State(ConnectionState::Offline { reason }) => {
            assert!(reason.contains("Invalid API key"), "{reason}");
        }
        other => panic!("expected offline, got {other:?}"),
    }
    // The stream ends by itself.
    assert_eq!(tokio::time::timeout(WAIT, rx.recv()).await.unwrap(), None);
    stream.shutdown().await;
}

async fn shutdown_deletes_the_queue(preference: TransportPreference) {
    let server = start_server().await;
    let (stream, mut rx) = EventStream::spawn(server.api(IAGO), options(preference));
    expect_start(&mut rx, preference).await;
    let queue = stream.queue_id().unwrap();
    let iago = server.user_id(IAGO);
    assert!(server.server().state.core.queues.is_online(iago));
    stream.shutdown().await;
    assert!(
        server
            .server()
            .state
            .core
            .queues
            .poll(iago, &queue, None, now())
            .is_err()
    );
    assert!(!server.server().state.core.queues.is_online(iago));
    assert_eq!(tokio::time::timeout(WAIT, rx.recv()).await.unwrap(), None);
}

#[tokio::test]
async fn auto_uses_the_websocket_the_server_advertises() {
    let server = start_server().await;
    let (stream, mut rx) = EventStream::spawn(server.api(IAGO), options(TransportPreference::Auto));
    expect_start(&mut rx, TransportPreference::WebSocketOnly).await;
    let call = place_call(&server, HAMLET, IAGO).await;
    expect_call_event(&mut rx, CallEventType::CallStarted, call).await;
    stream.shutdown().await;
}

#[tokio::test]
async fn auto_falls_back_to_long_polling_when_the_websocket_is_refused() {
    let server = start_server().await;
    let proxy = Proxy::without_websocket(server.addr).await;
    let (stream, mut rx) = EventStream::spawn(
        server.api_via(IAGO, &proxy),
        options(TransportPreference::Auto),
    );
    // The refusal costs no retry: straight from the snapshot to long-polling.
    expect_start(&mut rx, TransportPreference::LongPollOnly).await;
    let call = place_call(&server, HAMLET, IAGO).await;
    expect_call_event(&mut rx, CallEventType::CallStarted, call).await;
    stream.shutdown().await;
}

#[tokio::test]
async fn websocket_only_goes_offline_when_the_websocket_is_refused() {
    let server = start_server().await;
    let proxy = Proxy::without_websocket(server.addr).await;
    let (stream, mut rx) = EventStream::spawn(
        server.api_via(IAGO, &proxy),
        options(TransportPreference::WebSocketOnly),
    );
    let (reason, _) = wait_for(&mut rx, "offline", |item| match item {
        StreamItem::State(ConnectionState::Offline { reason }) => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("404"), "{reason}");
    assert_eq!(tokio::time::timeout(WAIT, rx.recv()).await.unwrap(), None);
    stream.shutdown().await;
}

#[tokio::test]
async fn dropping_the_receiver_ends_the_stream_and_deletes_its_queue() {
    let server = start_server().await;
    let (stream, mut rx) = EventStream::spawn(server.api(IAGO), options(TransportPreference::Auto));
    expect_start(&mut rx, TransportPreference::Auto).await;
    let mut queue_ids = stream.watch_queue_id();
    drop(rx);
    // The stream clears its queue id once the queue is deleted, then ends.
    tokio::time::timeout(WAIT, queue_ids.wait_for(Option::is_none))
        .await
        .expect("the stream did not end")
        .unwrap();
    assert!(
        !server
            .server()
            .state
            .core
            .queues
            .is_online(server.user_id(IAGO))
    );
}

#[tokio::test]
async fn an_unreachable_server_is_retried_with_growing_backoff() {
    // A port nothing listens on.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let credentials = Credentials {
        server: zulip_calls::backend::api::ServerAddress::parse(&format!("http://{addr}")).unwrap(),
        email: IAGO.into(),
        api_key: "key".into(),
    };
    let backoff = options(TransportPreference::Auto);
    let (stream, mut rx) =
        EventStream::spawn(ApiClient::new(&credentials).unwrap(), backoff.clone());
    assert_eq!(
        next_item(&mut rx).await,
        StreamItem::State(ConnectionState::Connecting)
    );
    for expected in 1..=5u32 {
        match next_item(&mut rx).await {
            StreamItem::State(ConnectionState::Reconnecting {
                attempt,
                retry_in,
                reason,
            }) => {
                assert_eq!(attempt, expected);
                let ceiling =
                    (backoff.backoff_initial * 2u32.pow(expected - 1)).min(backoff.backoff_max);
                assert!(retry_in <= ceiling, "{retry_in:?} > {ceiling:?}");
                assert!(reason.contains("cannot reach"), "{reason}");
            }
            other => panic!("expected reconnecting, got {other:?}"),
        }
    }
    // Stopping does not wait for the backoff.
    tokio::time::timeout(WAIT, stream.shutdown())
        .await
        .expect("shutdown hung");
}

/// A server speaking HTTPS and WSS with the certificate `serve --tls` generates, in `dir`.
async fn start_tls_server(dir: &std::path::Path) -> zulip_calls_mock::Server {
    let config = zulip_calls_mock::ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        db: dir.join("mock.sqlite3").display().to_string(),
        tls: true,
        heartbeat_seconds: 1,
        rate_limit_per_minute: 0,
        ..zulip_calls_mock::ServerConfig::default()
    };
    zulip_calls_mock::Server::start(config, zulip_calls_mock::Clock::System)
        .await
        .unwrap()
}

/// `email`'s client of the TLS `server`, trusting it as `trust` says.
fn tls_api(
    server: &zulip_calls_mock::Server,
    email: &str,
    trust: impl FnOnce(&mut ServerAddress),
) -> ApiClient {
    let directory = server.state.core.directory();
    let user = directory.user_by_email(email).unwrap();
    let mut address = ServerAddress::parse(&server.url()).unwrap();
    trust(&mut address);
    ApiClient::new(&Credentials {
        server: address,
        email: user.email.clone(),
        api_key: user.api_key.clone(),
    })
    .unwrap()
}

/// The next call event of type `event_type` about `call`, skipping anything else.
async fn wait_for_call_event(
    rx: &mut Receiver<StreamItem>,
    event_type: CallEventType,
    call: CallId,
) {
    wait_for(rx, &format!("{event_type:?}"), |item| match item {
        StreamItem::Event(event) => event
            .as_call()
            .filter(|e| e.event_type() == event_type && e.call.call_id == call)
            .map(|_| ()),
        _ => None,
    })
    .await;
}

/// A whole call over HTTPS, followed over the event WebSocket (wss://), with the server trusted
/// as `trust` says.
async fn a_call_over_tls(trust: fn(&mut ServerAddress, &std::path::Path)) {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls_server(dir.path()).await;
    assert!(server.url().starts_with("https://"), "{}", server.url());
    let ca = server.tls.as_ref().unwrap().ca_path.clone();
    let iago = tls_api(&server, IAGO, |a| trust(a, &ca));
    let hamlet = tls_api(&server, HAMLET, |a| trust(a, &ca));
    let iago_id = server
        .state
        .core
        .directory()
        .user_by_email(IAGO)
        .unwrap()
        .id;
    let preference = TransportPreference::Auto;
    let (stream, mut rx) = EventStream::spawn(iago.clone(), options(preference));
    // Auto would fall back to long-polling if the WebSocket failed: it must not.
    assert_eq!(expect_start(&mut rx, preference).await, []);

    let call = hamlet
        .request::<Start>(
            &(),
            &StartRequest {
                user_id: iago_id,
                call_type: CallType::Video,
            },
        )
        .await
        .unwrap()
        .call_id;
    wait_for_call_event(&mut rx, CallEventType::CallStarted, call).await;
    iago.request::<Respond>(
        &(),
        &RespondRequest {
            call_id: call,
            response: RespondAction::Accept,
        },
    )
    .await
    .unwrap();
    wait_for_call_event(&mut rx, CallEventType::CallAccepted, call).await;
    hamlet
        .request::<End>(&(), &EndRequest { call_id: call })
        .await
        .unwrap();
    wait_for_call_event(&mut rx, CallEventType::CallEnded, call).await;
    stream.shutdown().await;
}

#[tokio::test]
async fn over_wss_trusting_the_servers_ca_with_cert_bundle() {
    a_call_over_tls(|address, ca| address.cert_bundle = Some(ca.to_owned())).await;
}

#[tokio::test]
async fn over_wss_trusting_any_certificate_with_insecure() {
    a_call_over_tls(|address, _| address.insecure = true).await;
}

#[tokio::test]
async fn an_unknown_certificate_takes_the_stream_offline_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_tls_server(dir.path()).await;
    let (stream, mut rx) = EventStream::spawn(
        tls_api(&server, IAGO, |_| {}),
        options(TransportPreference::Auto),
    );
    assert_eq!(
        next_item(&mut rx).await,
        StreamItem::State(ConnectionState::Connecting)
    );
    match next_item(&mut rx).await {
        StreamItem::State(ConnectionState::Offline { reason }) => assert_eq!(
            reason,
            format!(
                "TLS error talking to {}: invalid peer certificate: UnknownIssuer (trust its \
                 certificate with cert_bundle=PATH in the zuliprc or --cert-bundle PATH, or, for \
                 a test server only, accept any with insecure=true or --insecure)",
                server.url()
            )
        ),
        other => panic!("expected offline, got {other:?}"),
    }
    // Not retried: the stream ends by itself.
    assert_eq!(tokio::time::timeout(WAIT, rx.recv()).await.unwrap(), None);
    stream.shutdown().await;
}
