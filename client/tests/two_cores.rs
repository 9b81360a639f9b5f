//! Two client cores (model + update + effects + event stream) against a real mock server:
//! what two people at two terminals would do, minus the terminal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use tokio::sync::mpsc;
use zulip_calls::app::{CallPanel, Command, KeyInput, Model, Msg, init, update};
use zulip_calls::backend::api::ApiClient;
use zulip_calls::backend::events::{EventStream, StreamItem, StreamOptions, TransportPreference};
use zulip_calls::effects;
use zulip_calls_protocol::Timestamp;

/// One person's client without a terminal: the core, its backend, and what it asked for.
struct Core {
    model: Model,
    api: ApiClient,
    stream: mpsc::Receiver<StreamItem>,
    _handle: EventStream,
    /// Local effects the runner would perform (browser, ringer), in order.
    local: Vec<Command>,
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
        let options = StreamOptions {
            transport,
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(200),
            ..StreamOptions::default()
        };
        let (handle, stream) = EventStream::spawn(api.clone(), options);
        let now = Timestamp::from_unix_seconds(1_704_110_400).unwrap();
        let mut core = Core {
            model: Model::new(server.user_id(email), now),
            api,
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
                if let Some(reply) = effects::request(&self.api, command).await {
                    queue.extend(update(&mut self.model, reply).commands);
                }
            } else {
                self.local.push(command);
            }
        }
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

async fn accept_flow(transport: TransportPreference) {
    let server = common::start_server().await;
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
            .any(|c| matches!(c, Command::OpenUrl(url) if url.contains("King%20Hamlet"))),
        "the caller opens its own join URL: {:?}",
        hamlet.local
    );

    // Othello hangs up; Hamlet's core shows who ended it.
    othello.key(KeyInput::Char('e')).await;
    hamlet.pump_event("call_ended").await;
    let CallPanel::Ended { summary } = &hamlet.model.call else {
        panic!("expected the ended summary, got {:?}", hamlet.model.call);
    };
    assert!(summary.text.contains("Othello"), "{}", summary.text);
    assert!(summary.duration.is_some());
}

async fn a_rejected_call_stops_the_ringing_and_tells_the_caller(transport: TransportPreference) {
    let server = common::start_server().await;
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

#[tokio::test]
async fn answering_on_one_device_stops_the_other() {
    let server = common::start_server().await;
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

async fn the_caller_cancels_and_the_callee_stops_ringing(transport: TransportPreference) {
    let server = common::start_server().await;
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

async fn calling_someone_in_a_call_says_they_are_busy(transport: TransportPreference) {
    let server = common::start_server().await;
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

async fn an_unanswered_call_is_missed_on_both_sides(transport: TransportPreference) {
    let settings = zulip_calls_protocol::settings::Settings {
        call_notification_timeout: 1,
        ..zulip_calls_protocol::settings::Settings::default()
    };
    let server = common::start_server_with(settings).await;
    let mut hamlet = Core::start(&server, "hamlet@zulip.com", transport).await;
    let mut othello = Core::start(&server, "othello@zulip.com", transport).await;
    hamlet.call("Othello", 'a').await;
    // Othello's core acknowledges on its own, so the call rings and then is missed.
    othello.pump_event("call_started").await;
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

/// The server restarts under a signed-in UI: the status bar goes to "reconnecting" and back
/// to "connected" without a key pressed, and the next call rings as before.
async fn restart_flow(transport: TransportPreference) {
    use zulip_calls::backend::events::ConnectionState;

    let mut server = common::start_server().await;
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

/// Runs a flow once over each transport: as a module of two tests named after it.
macro_rules! over_both_transports {
    ($($flow:ident),* $(,)?) => {
        $(mod $flow {
            use super::*;

            #[tokio::test]
            async fn over_websocket() {
                super::$flow(TransportPreference::WebSocketOnly).await;
            }

            #[tokio::test]
            async fn over_long_poll() {
                super::$flow(TransportPreference::LongPollOnly).await;
            }
        })*
    };
}

over_both_transports!(
    accept_flow,
    a_rejected_call_stops_the_ringing_and_tells_the_caller,
    the_caller_cancels_and_the_callee_stops_ringing,
    calling_someone_in_a_call_says_they_are_busy,
    an_unanswered_call_is_missed_on_both_sides,
    restart_flow,
);
