//! Two (or three) client cores (model + update + effects + event stream + heartbeat) against a
//! real mock server: what people at their terminals would do, minus the terminal. Every flow runs
//! against a server of each `CALLS_API` mode (design only, 1.1 only, both) and of 1.1 as the
//! released plugin behaves, the client detecting the dialect as it does in use.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::Mode;
use tokio::sync::mpsc;
use zulip_calls::app::{CallPanel, Command, KeyInput, Model, Msg, init, update};
use zulip_calls::backend::api::ApiClient;
use zulip_calls::backend::calls::Calls;
use zulip_calls::backend::dialect::{self, CallsApiChoice};
use zulip_calls::backend::events::{EventStream, StreamItem, StreamOptions, TransportPreference};
use zulip_calls::backend::keepalive::{CALL_HEARTBEAT_INTERVAL, Keepalive};
use zulip_calls::backend::own_status::StatusKeeper;
use zulip_calls::effects;
use zulip_calls_protocol::plugin::group::ParticipantState;
use zulip_calls_protocol::{Dialect, Timestamp};

/// One person's client without a terminal: the core, its backend, and what it asked for.
struct Core {
    model: Model,
    calls: Calls,
    stream: mpsc::Receiver<StreamItem>,
    _handle: EventStream,
    /// Heartbeats the call the core holds, as the runner does.
    keepalive: Keepalive,
    /// Local effects the runner would perform (browser, ringer), in order.
    local: Vec<Command>,
    /// Keeps the Zulip status as the UI wants it, as the runner does.
    status: StatusKeeper,
}

impl Core {
    async fn start(
        server: &common::TestServer,
        email: &str,
        transport: TransportPreference,
    ) -> Core {
        Core::start_with(server, server.api(email), email, transport).await
    }

    /// [`Core::start`] with this API client (one that goes through a proxy, say) and short
    /// reconnection delays.
    async fn start_with(
        server: &common::TestServer,
        api: ApiClient,
        email: &str,
        transport: TransportPreference,
    ) -> Core {
        Core::start_beating(server, api, email, transport, CALL_HEARTBEAT_INTERVAL).await
    }

    /// [`Core::start_with`], heartbeating a held call every `interval`.
    async fn start_beating(
        server: &common::TestServer,
        api: ApiClient,
        email: &str,
        transport: TransportPreference,
        interval: Duration,
    ) -> Core {
        let options = StreamOptions {
            transport,
            presence: true,
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(200),
            ..StreamOptions::default()
        };
        let me = server.user_id(email);
        // Detected as the runner does, so the probe is exercised against every mode.
        let dialect = dialect::resolve(&api, CallsApiChoice::Auto, None)
            .await
            .unwrap()
            .dialect;
        assert_eq!(
            Some(dialect),
            server.settings.calls_api.only().or(Some(Dialect::Design)),
            "the dialect spoken"
        );
        let calls = Calls::new(api, dialect).knowing_me(me);
        // Asked before the queue is registered, as the runner does.
        calls.has_group_calls().await;
        let (handle, stream) = EventStream::spawn(calls.clone(), options);
        let now = Timestamp::from_unix_seconds(1_704_110_400).unwrap();
        let mut core = Core {
            model: Model::new(me, now).with_features(calls.features()),
            keepalive: Keepalive::new(calls.clone(), interval),
            status: StatusKeeper::spawn(calls.api().clone(), me, None),
            calls,
            stream,
            _handle: handle,
            local: Vec::new(),
        };
        let commands = init(&core.model);
        core.run(commands).await;
        // Until the stream has resynced, events could still be missed.
        core.pump_until(|item| matches!(item, StreamItem::Resynced(_)))
            .await;
        core
    }

    /// Feeds `msg` to the core and runs what it asks for, to completion.
    async fn send(&mut self, msg: Msg) {
        let update = update(&mut self.model, msg);
        self.run(update.commands).await;
    }

    async fn run(&mut self, commands: Vec<Command>) {
        let mut queue: std::collections::VecDeque<Command> = commands.into();
        while let Some(command) = queue.pop_front() {
            if effects::is_request(&command) {
                if let Some(reply) = effects::request(&self.calls, command).await {
                    queue.extend(update(&mut self.model, reply).commands);
                }
            } else {
                self.local.push(command);
            }
        }
        self.keepalive.keep(self.model.held());
        self.status.want(self.model.wanted_status());
    }

    async fn key(&mut self, key: KeyInput) {
        self.send(Msg::Key(key)).await;
    }

    /// Feeds stream items to the core until one matches.
    async fn pump_until(&mut self, done: impl Fn(&StreamItem) -> bool) {
        loop {
            let item = tokio::time::timeout(Duration::from_secs(5), self.stream.recv())
                .await
                .expect("the stream went quiet")
                .expect("the stream ended");
            let matched = done(&item);
            self.send(Msg::Stream(item)).await;
            if matched {
                return;
            }
        }
    }

    /// Feeds stream items until the model shows what `done` looks for (perhaps at once).
    async fn pump_until_shown(&mut self, done: impl Fn(&Model) -> bool) {
        while !done(&self.model) {
            let item = tokio::time::timeout(Duration::from_secs(5), self.stream.recv())
                .await
                .expect("the stream went quiet")
                .expect("the stream ended");
            self.send(Msg::Stream(item)).await;
        }
    }

    /// Feeds stream items until the call event `event_type` arrives.
    async fn pump_event(&mut self, event_type: &str) {
        let wanted = event_type.to_owned();
        self.pump_until(move |item| match item {
            StreamItem::Event(e) => e
                .as_call()
                .is_some_and(|c| c.event_type().as_str() == wanted),
            _ => false,
        })
        .await;
    }

    /// Feeds stream items until a group call event with `op` arrives.
    async fn pump_group(&mut self, op: &str) {
        let wanted = op.to_owned();
        self.pump_until(move |item| match item {
            StreamItem::Event(e) => e.as_group_call().is_some_and(|g| g.op().as_str() == wanted),
            _ => false,
        })
        .await;
    }

    /// Marks the teammate whose name contains `name` for a group call (filtering the list,
    /// then clearing the filter).
    async fn mark(&mut self, name: &str) {
        self.key(KeyInput::Char('/')).await;
        for c in name.chars() {
            self.key(KeyInput::Char(c)).await;
        }
        self.key(KeyInput::Enter).await;
        self.key(KeyInput::Char(' ')).await;
        self.key(KeyInput::Char('/')).await;
        self.key(KeyInput::Esc).await;
    }

    /// Each participant of the group call on screen, by name, with their state.
    fn group_states(&self) -> Vec<(String, ParticipantState)> {
        let members = match &self.model.call {
            CallPanel::Group(g) => &g.members,
            CallPanel::GroupInvitation(i) => &i.members,
            other => panic!("no group call on screen: {other:?}"),
        };
        // By name: the deployed plugin lists participants in no particular order.
        let mut states: Vec<_> = members.iter().map(|m| (m.name.clone(), m.state)).collect();
        states.sort_by(|a, b| a.0.cmp(&b.0));
        states
    }

    /// Selects the teammate whose name contains `name` and presses `key`.
    async fn call(&mut self, name: &str, key: char) {
        self.key(KeyInput::Char('/')).await;
        for c in name.chars() {
            self.key(KeyInput::Char(c)).await;
        }
        self.key(KeyInput::Enter).await;
        self.key(KeyInput::Char(key)).await;
    }
}

/// Presence as teammates see it: coming online, "In a call" while talking, and back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teammates_see_each_other_come_online_and_in_a_call() {
    use zulip_calls::app::presence::Availability;
    use zulip_calls_protocol::zulip::PresenceEvent;

    let server = common::start_server().await;
    let hamlet_id = server.user_id("hamlet@zulip.com");
    let othello_id = server.user_id("othello@zulip.com");
    let mut iago = Core::start(&server, "iago@zulip.com", TransportPreference::Auto).await;
    let mut hamlet = Core::start(&server, "hamlet@zulip.com", TransportPreference::Auto).await;
    let now = hamlet.model.now;
    // Hamlet's first report: he comes online, and Iago is told at once.
    hamlet.send(Msg::Tick(now)).await;
    let came_online = |user| {
        move |item: &StreamItem| match item {
            StreamItem::Event(e) => {
                PresenceEvent::from_queue_event(e).is_some_and(|p| p.user_id == user)
            }
            _ => false,
        }
    };
    iago.pump_until(came_online(hamlet_id)).await;
    let availability = |core: &Core, user| {
        let mate = core
            .model
            .teammates
            .iter()
            .find(|t| t.user_id == user)
            .unwrap();
        core.model.availability(mate)
    };
    assert_eq!(availability(&iago, hamlet_id), Some(Availability::Active));
    assert_eq!(
        iago.model.visible_teammates()[0].user_id,
        hamlet_id,
        "the one online comes first"
    );
    // Othello starts; Hamlet sees him come online.
    let mut othello = Core::start(&server, "othello@zulip.com", TransportPreference::Auto).await;
    othello.send(Msg::Tick(now)).await;
    hamlet.pump_until(came_online(othello_id)).await;
    assert_eq!(
        availability(&hamlet, othello_id),
        Some(Availability::Active)
    );

    // They talk: both show as in a call to Iago, from their statuses.
    hamlet.call("Othello", 'v').await;
    othello.pump_event("call_started").await;
    othello.key(KeyInput::Char('y')).await;
    hamlet.pump_event("call_accepted").await;
    let both = |shown: Availability| {
        move |model: &Model| {
            [hamlet_id, othello_id].iter().all(|user| {
                let mate = model.teammates.iter().find(|t| t.user_id == *user);
                mate.is_some_and(|t| model.availability(t) == Some(shown))
            })
        }
    };
    // Each status comes as its own event, in either order.
    iago.pump_until_shown(both(Availability::InCall)).await;

    // Hamlet hangs up: their own (empty) statuses are back.
    hamlet.key(KeyInput::Char('e')).await;
    othello.pump_event("call_ended").await;
    iago.pump_until_shown(both(Availability::Active)).await;
    assert_eq!(availability(&iago, othello_id), Some(Availability::Active));
}

async fn accept_flow(mode: Mode, transport: TransportPreference) {
    let server = common::start_server_in(mode).await;
    let mut hamlet = Core::start(&server, "hamlet@zulip.com", transport).await;
    let mut othello = Core::start(&server, "othello@zulip.com", transport).await;

    hamlet.call("Othello", 'v').await;
    assert!(
        matches!(hamlet.model.call, CallPanel::Outgoing(_)),
        "{:?}",
        hamlet.model.call
    );

    othello.pump_event("call_started").await;
    assert!(
        matches!(othello.model.call, CallPanel::Incoming(_)),
        "{:?}",
        othello.model.call
    );
    assert!(othello.local.contains(&Command::StartRinging));

    hamlet.pump_event("participant_ringing").await;
    othello.key(KeyInput::Char('y')).await;
    assert!(
        matches!(othello.model.call, CallPanel::InCall(_)),
        "{:?}",
        othello.model.call
    );
    assert!(othello.local.contains(&Command::StopRinging));
    assert!(
        othello
            .local
            .iter()
            .any(|c| matches!(c, Command::OpenUrl(url) if url.contains("Othello"))),
        "the receiver opens its own join URL: {:?}",
        othello.local
    );

    hamlet.pump_event("call_accepted").await;
    assert!(
        matches!(hamlet.model.call, CallPanel::InCall(_)),
        "{:?}",
        hamlet.model.call
    );
    assert!(
        hamlet
            .local
            .iter()
            // Encoded in the fragment, or raw in a deployed plugin's query string.
            .any(|c| matches!(c, Command::OpenUrl(url)
                if url.contains("King%20Hamlet") || url.contains("displayName=King Hamlet"))),
        "the caller opens its own join URL: {:?}",
        hamlet.local
    );

    // Othello mutes: Hamlet sees it where the server carries media status; on 1.1 Othello is
    // told it is not supported, and nothing is sent.
    othello.key(KeyInput::Char('m')).await;
    let CallPanel::InCall(mine) = &othello.model.call else {
        panic!("{:?}", othello.model.call);
    };
    if mode.dialect() == Dialect::V1_1 {
        assert!(!mine.mine.muted);
        let notice = othello.model.notice.as_ref().expect("a note about muting");
        assert!(
            notice
                .text
                .contains("not supported by this server (calls API 1.1)"),
            "{}",
            notice.text
        );
    } else {
        assert!(mine.mine.muted);
        hamlet.pump_event("call_status_update").await;
        let CallPanel::InCall(theirs) = &hamlet.model.call else {
            panic!("{:?}", hamlet.model.call);
        };
        assert!(theirs.theirs.muted, "{theirs:?}");
    }

    // Othello hangs up; Hamlet's core shows who ended it, where the server says (the deployed
    // plugin's events name nobody).
    othello.key(KeyInput::Char('e')).await;
    hamlet.pump_event("call_ended").await;
    let CallPanel::Ended { summary } = &hamlet.model.call else {
        panic!("expected the ended summary, got {:?}", hamlet.model.call);
    };
    if mode.is_deployed_plugin() {
        assert_eq!(summary.text, "The call ended");
    } else {
        assert!(summary.text.contains("Othello"), "{}", summary.text);
    }
    assert!(summary.duration.is_some());
}

async fn a_rejected_call_stops_the_ringing_and_tells_the_caller(
    mode: Mode,
    transport: TransportPreference,
) {
    let server = common::start_server_in(mode).await;
    let mut hamlet = Core::start(&server, "hamlet@zulip.com", transport).await;
    let mut othello = Core::start(&server, "othello@zulip.com", transport).await;
    hamlet.call("Othello", 'a').await;
    othello.pump_event("call_started").await;
    othello.key(KeyInput::Char('n')).await;
    assert!(othello.local.contains(&Command::StopRinging));
    assert!(!matches!(othello.model.call, CallPanel::Incoming(_)));
    hamlet.pump_event("call_rejected").await;
    assert!(
        !matches!(
            hamlet.model.call,
            CallPanel::Outgoing(_) | CallPanel::InCall(_)
        ),
        "{:?}",
        hamlet.model.call
    );
    assert!(
        !hamlet
            .local
            .iter()
            .any(|c| matches!(c, Command::OpenUrl(_))),
        "no meeting for a rejected call"
    );
}

async fn answering_on_one_device_stops_the_other(mode: Mode) {
    let server = common::start_server_in(mode).await;
    let mut hamlet = Core::start(&server, "hamlet@zulip.com", TransportPreference::Auto).await;
    let mut phone = Core::start(&server, "othello@zulip.com", TransportPreference::Auto).await;
    let mut laptop = Core::start(
        &server,
        "othello@zulip.com",
        TransportPreference::LongPollOnly,
    )
    .await;
    hamlet.call("Othello", 'v').await;
    phone.pump_event("call_started").await;
    laptop.pump_event("call_started").await;
    assert!(laptop.local.contains(&Command::StartRinging));
    phone.key(KeyInput::Enter).await;
    laptop.pump_event("call_accepted").await;
    assert!(
        laptop.local.contains(&Command::StopRinging),
        "{:?}",
        laptop.local
    );
    assert!(
        !matches!(laptop.model.call, CallPanel::Incoming(_)),
        "{:?}",
        laptop.model.call
    );
    assert!(
        !laptop
            .local
            .iter()
            .any(|c| matches!(c, Command::OpenUrl(_))),
        "the other device does not join"
    );
}

async fn the_caller_cancels_and_the_callee_stops_ringing(
    mode: Mode,
    transport: TransportPreference,
) {
    let server = common::start_server_in(mode).await;
    let mut hamlet = Core::start(&server, "hamlet@zulip.com", transport).await;
    let mut othello = Core::start(&server, "othello@zulip.com", transport).await;
    hamlet.call("Othello", 'v').await;
    othello.pump_event("call_started").await;
    hamlet.key(KeyInput::Esc).await;
    othello.pump_event("call_ended").await;
    assert!(
        othello.local.contains(&Command::StopRinging),
        "{:?}",
        othello.local
    );
    assert!(
        !matches!(othello.model.call, CallPanel::Incoming(_)),
        "{:?}",
        othello.model.call
    );
    assert!(
        !othello
            .local
            .iter()
            .any(|c| matches!(c, Command::OpenUrl(_)))
    );
}

async fn calling_someone_in_a_call_says_they_are_busy(mode: Mode, transport: TransportPreference) {
    let server = common::start_server_in(mode).await;
    let mut hamlet = Core::start(&server, "hamlet@zulip.com", transport).await;
    let mut othello = Core::start(&server, "othello@zulip.com", transport).await;
    let mut iago = Core::start(&server, "iago@zulip.com", transport).await;
    hamlet.call("Othello", 'v').await;
    othello.pump_event("call_started").await;
    iago.call("Othello", 'v').await;
    let CallPanel::Ended { summary } = &iago.model.call else {
        panic!(
            "expected a summary of the failed call, got {:?}",
            iago.model.call
        );
    };
    assert!(
        summary.text.contains("is currently in another call"),
        "{}",
        summary.text
    );
    assert!(!iago.local.iter().any(|c| matches!(c, Command::OpenUrl(_))));
}

async fn an_unanswered_call_is_missed_on_both_sides(mode: Mode, transport: TransportPreference) {
    // The deployed plugin misses a call 90 s after it was placed, whatever it is told; the
    // contract after CALL_NOTIFICATION_TIMEOUT.
    let settings = zulip_calls_protocol::settings::Settings {
        call_notification_timeout: 90,
        ..mode.settings()
    };
    let server = common::start_server_on(settings, true).await;
    let mut hamlet = Core::start(&server, "hamlet@zulip.com", transport).await;
    let mut othello = Core::start(&server, "othello@zulip.com", transport).await;
    hamlet.call("Othello", 'a').await;
    // Othello's core acknowledges on its own, so the call rings and then is missed.
    othello.pump_event("call_started").await;
    server.advance(90).await;
    server.run_the_plugins_cleanup().await;
    othello.pump_event("call_ended").await;
    assert!(
        othello.local.contains(&Command::StopRinging),
        "{:?}",
        othello.local
    );
    hamlet.pump_event("call_ended").await;
    let CallPanel::Ended { summary } = &hamlet.model.call else {
        panic!("expected the ended summary, got {:?}", hamlet.model.call);
    };
    assert!(
        summary.text.to_lowercase().contains("answer")
            || summary.text.to_lowercase().contains("miss"),
        "{}",
        summary.text
    );
    assert_eq!(summary.duration, None);
}

/// The server refuses a call for a moment, as the released plugin does for 5 s after a call
/// ended (a 429 with only a `message`): the UI says to wait a moment, and the next try places
/// the call.
async fn a_redial_cooldown_asks_to_wait_a_moment(mode: Mode) {
    let server = common::start_server_in(mode).await;
    let path = match mode.dialect() {
        Dialect::Design => "/api/v1/calls/start",
        Dialect::V1_1 => "/api/v1/calls/create",
    };
    let rule = serde_json::json!({
        "method": "POST", "path": path, "times": 1,
        "action": {"kind": "respond", "status": 429, "body": {
            "result": "error",
            "message": "Please wait a moment before making another call",
            "existing_call_id": "6f1c1d52-32a4-4c5e-9d7a-3a0e2f6b8c11",
        }},
    });
    let response = reqwest::Client::new()
        .post(format!("http://{}/mock/v1/faults", server.addr))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    let mut hamlet = Core::start(&server, "hamlet@zulip.com", TransportPreference::Auto).await;
    hamlet.call("Othello", 'v').await;
    let CallPanel::Ended { summary } = &hamlet.model.call else {
        panic!(
            "expected a summary of the refusal, got {:?}",
            hamlet.model.call
        );
    };
    assert_eq!(
        summary.text,
        "Could not call Othello, the Moor of Venice: the server asks to wait a moment before \
         placing another call (try again in a few seconds)"
    );
    // Dismissed, the same teammate still selected: `v` again.
    hamlet.key(KeyInput::Esc).await;
    hamlet.key(KeyInput::Char('v')).await;
    assert!(
        matches!(&hamlet.model.call, CallPanel::Outgoing(o) if o.call_id.is_some()),
        "{:?}",
        hamlet.model.call
    );
}

/// The server restarts under a signed-in UI: the status bar goes to "reconnecting" and back
/// to "connected" without a key pressed, and the next call rings as before.
async fn restart_flow(mode: Mode, transport: TransportPreference) {
    use zulip_calls::backend::events::ConnectionState;

    let mut server = common::start_server_in(mode).await;
    // The proxy cuts open WebSocket connections, as the end of a server process would.
    let proxy = common::Proxy::start(server.addr).await;
    let api = server.api_via("othello@zulip.com", &proxy);
    let mut othello = Core::start_with(&server, api, "othello@zulip.com", transport).await;
    // The snapshot comes first, then the stream says it is connected.
    othello
        .pump_until(|item| matches!(item, StreamItem::State(ConnectionState::Connected { .. })))
        .await;
    assert_eq!(othello.model.connection_text(), "connected");

    server.stop().await;
    proxy.cut();
    othello
        .pump_until(|item| {
            matches!(
                item,
                StreamItem::State(ConnectionState::Reconnecting { .. })
            )
        })
        .await;
    assert!(
        othello
            .model
            .connection_text()
            .starts_with("reconnecting in")
    );

    server.start_again().await;
    othello
        .pump_until(|item| matches!(item, StreamItem::State(ConnectionState::Connected { .. })))
        .await;
    assert_eq!(othello.model.connection_text(), "connected");

    let mut hamlet = Core::start(&server, "hamlet@zulip.com", transport).await;
    hamlet.call("Othello", 'v').await;
    othello.pump_event("call_started").await;
    assert!(
        matches!(othello.model.call, CallPanel::Incoming(_)),
        "{:?}",
        othello.model.call
    );
    assert!(othello.local.contains(&Command::StartRinging));
}

/// On a server that speaks only 1.1, both UIs heartbeat their accepted call, which so outlives
/// the heartbeat timeout (on the virtual clock; the deployed plugin starts checking 90 s after
/// the answer, so 100 s pass); when one UI goes away without hanging up, the other sees the
/// call drop as a network failure.
async fn on_1_1_the_ui_keeps_its_call_alive_and_a_vanished_side_drops_it(mode: Mode) {
    use common::control;

    let server = common::start_server_on(mode.settings(), true).await;
    let timeout = server.settings.call_heartbeat_timeout;
    assert_eq!(timeout, 60);
    let beat = Duration::from_millis(50);
    let ws = TransportPreference::WebSocketOnly;
    let (hamlet_email, othello_email) = ("hamlet@zulip.com", "othello@zulip.com");
    let mut hamlet =
        Core::start_beating(&server, server.api(hamlet_email), hamlet_email, ws, beat).await;
    let mut othello =
        Core::start_beating(&server, server.api(othello_email), othello_email, ws, beat).await;
    hamlet.call("Othello", 'v').await;
    othello.pump_event("call_started").await;
    othello.key(KeyInput::Enter).await;
    hamlet.pump_event("call_accepted").await;
    let call_id = hamlet.model.held_call().expect("in the call").to_string();
    assert_eq!(
        othello.model.held_call().map(|id| id.to_string()),
        Some(call_id.clone())
    );
    // The UI acknowledged the ringing as the deployed plugin needs it: with `status`.
    let acknowledged: serde_json::Value = reqwest::Client::new()
        .get(format!("http://{}/mock/v1/journal", server.addr))
        .query(&[("method", "POST"), ("path", "/api/v1/calls/acknowledge")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        acknowledged["requests"][0]["params"],
        serde_json::json!({"call_id": call_id, "status": "ringing"}),
        "{acknowledged}"
    );

    // 100 s after the answer, in two steps each followed by a heartbeat from both sides.
    for _ in 0..2 {
        server.advance(timeout - 10).await;
        let since = control::latest_request(server.addr).await;
        for email in [hamlet_email, othello_email] {
            control::heartbeat_after(server.addr, email, &call_id, since).await;
        }
    }
    server.run_the_plugins_cleanup().await;
    assert_eq!(control::call_state(server.addr, &call_id).await, "accepted");

    // Othello's UI vanishes; Hamlet's keeps beating, so it is Othello's silence that counts.
    drop(othello);
    server.advance(timeout / 2).await;
    let since = control::latest_request(server.addr).await;
    control::heartbeat_after(server.addr, hamlet_email, &call_id, since).await;
    server.run_the_plugins_cleanup().await;
    assert_eq!(control::call_state(server.addr, &call_id).await, "accepted");
    server.advance(timeout / 2 + 1).await;
    server.run_the_plugins_cleanup().await;
    hamlet.pump_event("call_ended").await;
    assert_eq!(
        control::call_state(server.addr, &call_id).await,
        "network_failure"
    );
    let CallPanel::Ended { summary } = &hamlet.model.call else {
        panic!("expected the ended summary, got {:?}", hamlet.model.call);
    };
    assert!(summary.text.contains("dropped"), "{}", summary.text);
    assert_eq!(
        hamlet.keepalive.holding(),
        None,
        "no heartbeat after the end"
    );
}

/// Three UIs in one group call: Hamlet marks Othello and Iago and starts it with a title; both
/// ring; Othello joins, Iago declines. Every panel shows each change from the one event that
/// tells it (each carries the whole list), with no request in between; then Hamlet ends it
/// for everyone, after confirming.
async fn a_group_call_s_panels_follow_every_event(mode: Mode, transport: TransportPreference) {
    use ParticipantState::{Declined, Joined};
    const HOST: &str = "King Hamlet";
    const OTHELLO: &str = "Othello, the Moor of Venice";

    let server = common::start_server_in(mode).await;
    let mut hamlet = Core::start(&server, "hamlet@zulip.com", transport).await;
    let mut othello = Core::start(&server, "othello@zulip.com", transport).await;
    let mut iago = Core::start(&server, "iago@zulip.com", transport).await;

    hamlet.mark("Othello").await;
    hamlet.mark("Iago").await;
    hamlet.key(KeyInput::Char('v')).await;
    for c in "Weekly sync".chars() {
        hamlet.key(KeyInput::Char(c)).await;
    }
    hamlet.key(KeyInput::Enter).await;
    let CallPanel::Group(call) = &hamlet.model.call else {
        panic!("{:?}", hamlet.model.call);
    };
    let call_id = call.call_id.expect("created");
    assert_eq!(call.title.as_deref(), Some("Weekly sync"));
    assert!(
        hamlet
            .local
            .iter()
            .any(|c| matches!(c, Command::OpenUrl(url) if url.contains("zulip-group-call-"))),
        "the host opens the meeting: {:?}",
        hamlet.local
    );
    assert_eq!(hamlet.model.held().map(|h| h.call_id()), Some(call_id));

    for invitee in [&mut othello, &mut iago] {
        invitee.pump_group("participant_invited").await;
        let CallPanel::GroupInvitation(invitation) = &invitee.model.call else {
            panic!("{:?}", invitee.model.call);
        };
        assert_eq!(invitation.inviter_name, HOST);
        assert_eq!(invitation.title.as_deref(), Some("Weekly sync"));
        assert!(invitee.local.contains(&Command::StartRinging));
    }

    othello.key(KeyInput::Char('y')).await;
    assert!(othello.local.contains(&Command::StopRinging));
    assert!(
        matches!(&othello.model.call, CallPanel::Group(g) if g.occupies()),
        "{:?}",
        othello.model.call
    );
    hamlet.pump_group("participant_joined").await;
    iago.pump_group("participant_joined").await;
    for core in [&hamlet, &iago] {
        let states = core.group_states();
        assert_eq!(
            &states[1..],
            [(HOST.to_owned(), Joined), (OTHELLO.to_owned(), Joined)]
        );
        assert!(
            states[0].0 == "Iago" && states[0].1.is_pending(),
            "{states:?}"
        );
    }

    iago.key(KeyInput::Char('n')).await;
    assert_eq!(iago.model.call, CallPanel::None);
    let everyone = vec![
        ("Iago".to_owned(), Declined),
        (HOST.to_owned(), Joined),
        (OTHELLO.to_owned(), Joined),
    ];
    hamlet.pump_group("participant_declined").await;
    othello.pump_group("participant_declined").await;
    assert_eq!(hamlet.group_states(), everyone);
    assert_eq!(othello.group_states(), everyone);

    hamlet.key(KeyInput::Char('E')).await;
    hamlet.key(KeyInput::Char('y')).await;
    let CallPanel::Ended { summary } = &hamlet.model.call else {
        panic!("{:?}", hamlet.model.call);
    };
    assert_eq!(summary.text, "You ended the group call for everyone");
    othello.pump_group("ended").await;
    let CallPanel::Ended { summary } = &othello.model.call else {
        panic!("{:?}", othello.model.call);
    };
    // The deployed plugin's `ended` says neither why nor who (spec 1.1 §9).
    let told = if mode.is_deployed_plugin() {
        "The group call ended"
    } else {
        "King Hamlet ended the group call for everyone"
    };
    assert_eq!(summary.text, told);
    assert_eq!(othello.model.held(), None);
}

/// Runs a flow against each server with group calls (1.1, both, 1.1 as deployed), over each
/// transport.
macro_rules! where_group_calls_exist_over_both_transports {
    ($($flow:ident),* $(,)?) => {
        $(mod $flow {
            use super::*;

            over_both_transports!($flow, v1_1, Mode::V1_1);
            over_both_transports!($flow, both, Mode::Both);
            over_both_transports!($flow, plugin_1_1_0, Mode::Plugin1_1_0);
        })*
    };
}

/// Runs a flow against a server of each mode ([`Mode`]: each `CALLS_API` mode, and 1.1 as the
/// released plugin behaves), over each transport: a module per flow, one per mode in it, and
/// a test per transport in that.
macro_rules! in_every_mode_over_both_transports {
    ($($flow:ident),* $(,)?) => {
        $(mod $flow {
            use super::*;

            over_both_transports!($flow, design, Mode::Design);
            over_both_transports!($flow, v1_1, Mode::V1_1);
            over_both_transports!($flow, both, Mode::Both);
            over_both_transports!($flow, plugin_1_1_0, Mode::Plugin1_1_0);
        })*
    };
}

/// The tests of one flow in one mode, one per transport.
macro_rules! over_both_transports {
    ($flow:ident, $mode:ident, $server:expr) => {
        mod $mode {
            use super::*;

            #[tokio::test]
            async fn over_websocket() {
                super::super::$flow($server, TransportPreference::WebSocketOnly).await;
            }

            #[tokio::test]
            async fn over_long_poll() {
                super::super::$flow($server, TransportPreference::LongPollOnly).await;
            }
        }
    };
}

/// Runs a flow that picks its own transports against a server of each mode.
macro_rules! in_every_mode {
    ($($flow:ident),* $(,)?) => {
        $(mod $flow {
            use super::*;

            #[tokio::test]
            async fn design() {
                super::$flow(Mode::Design).await;
            }

            #[tokio::test]
            async fn v1_1() {
                super::$flow(Mode::V1_1).await;
            }

            #[tokio::test]
            async fn both() {
                super::$flow(Mode::Both).await;
            }

            #[tokio::test]
            async fn plugin_1_1_0() {
                super::$flow(Mode::Plugin1_1_0).await;
            }
        })*
    };
}

in_every_mode_over_both_transports!(
    accept_flow,
    a_rejected_call_stops_the_ringing_and_tells_the_caller,
    the_caller_cancels_and_the_callee_stops_ringing,
    calling_someone_in_a_call_says_they_are_busy,
    an_unanswered_call_is_missed_on_both_sides,
    restart_flow,
);

where_group_calls_exist_over_both_transports!(a_group_call_s_panels_follow_every_event);

in_every_mode!(
    answering_on_one_device_stops_the_other,
    a_redial_cooldown_asks_to_wait_a_moment,
);

mod on_1_1_the_ui_keeps_its_call_alive_and_a_vanished_side_drops_it {
    use super::*;

    #[tokio::test]
    async fn v1_1() {
        super::on_1_1_the_ui_keeps_its_call_alive_and_a_vanished_side_drops_it(Mode::V1_1).await;
    }

    #[tokio::test]
    async fn plugin_1_1_0() {
        super::on_1_1_the_ui_keeps_its_call_alive_and_a_vanished_side_drops_it(Mode::Plugin1_1_0)
            .await;
    }
}
