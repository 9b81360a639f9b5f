//! The terminal runner: one `select!` loop feeding the pure core ([`crate::app`]) with keys,
//! clock ticks, server events and command results, and performing the effects it asks for.
//! This is the only place that reads the clock or touches the terminal while the UI runs.

use std::time::{Duration, SystemTime};

use crossterm::event::Event;
use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use zulip_calls_mock::ServerConfig;
use zulip_calls_mock::{Clock, Server};
use zulip_calls_protocol::endpoint::Empty;
use zulip_calls_protocol::zulip::GetOwnUser;
use zulip_calls_protocol::{Timestamp, UserId};

use crate::alert::{AlertOptions, Alerts};
use crate::app::dnd::Settings;
use crate::app::{Command, Model, Msg, init, update};
use crate::backend::api::{ApiClient, ClientError, Credentials, ServerAddress};
use crate::backend::calls::Calls;
use crate::backend::dialect::{CallsApiChoice, DialectMemory};
use crate::backend::events::StreamItem;
use crate::backend::events::{EventStream, StreamOptions};
use crate::backend::keepalive::{CALL_HEARTBEAT_INTERVAL, Keepalive};
use crate::backend::own_status::{StatusKeeper, StatusMemory};
use crate::backend::recent::SeenMarks;
use crate::preferences::Preferences;
use crate::tui::{self, Signals, TerminalGuard};
use crate::{effects, ui};

/// How often the core hears the time (call timers, notice expiry).
const TICK: Duration = Duration::from_millis(250);

/// How the UI behaves beyond what the core decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// Show meeting URLs as a notice instead of opening a browser (for SSH sessions).
    pub no_browser: bool,
    /// How the server's calls API dialect is chosen.
    pub calls_api: CallsApiChoice,
    /// Where detected dialects are remembered per site.
    pub memory: Option<DialectMemory>,
    /// How often an accepted call is heartbeaten where the server needs it.
    pub heartbeat_interval: Duration,
    /// Where the time History was last looked at is kept (for the missed-call count).
    pub seen: Option<SeenMarks>,
    /// Where a status replaced by "In a call" is kept until it is put back.
    pub replaced_status: Option<StatusMemory>,
    /// The zuliprc's `[zulip-calls]` section.
    pub preferences: Preferences,
    /// Start with do-not-disturb on.
    pub dnd: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            no_browser: false,
            calls_api: CallsApiChoice::Auto,
            memory: None,
            heartbeat_interval: CALL_HEARTBEAT_INTERVAL,
            seen: None,
            replaced_status: None,
            preferences: Preferences::default(),
            dnd: false,
        }
    }
}

/// The calls API of `api`'s server, signed in as `me`, in the dialect `options` choose (or
/// remember, or the server tells).
async fn connect(api: ApiClient, me: UserId, options: &RunOptions) -> Result<Calls, ClientError> {
    let calls = Calls::connect(api, options.calls_api, options.memory.as_ref()).await?;
    // Known before the event queue is registered, so it asks for group events too.
    calls.has_group_calls().await;
    Ok(calls.knowing_me(me))
}

/// Why the UI could not run (or stopped early).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("cannot start the demo server: {0}")]
    DemoServer(String),
    #[error("{0} is not a demo user (try hamlet@zulip.com, othello@zulip.com, iago@zulip.com)")]
    NoSuchDemoUser(String),
}

/// Asks the server who the credentials belong to, then runs the UI as that user.
pub async fn run_signed_in(api: ApiClient, options: RunOptions) -> Result<(), RunError> {
    let me = api
        .request::<GetOwnUser>(&(), &Empty {})
        .await?
        .user
        .user_id;
    let calls = connect(api, me, &options).await?;
    run_tui(calls, me, options).await
}

/// Runs the full-screen UI until the user quits or SIGTERM/SIGHUP arrives. The terminal is
/// restored and the server's event queue deleted on every way out.
pub async fn run_tui(calls: Calls, me: UserId, options: RunOptions) -> Result<(), RunError> {
    let signals = Signals::new()?;
    let guard = TerminalGuard::enter()?;
    run_in_terminal(guard, signals, calls, me, options).await
}

/// Without credentials: the sign-in form, then the UI as the account signed in, in one
/// terminal session. `save_path` is where the form offers to save a zuliprc.
pub async fn run_with_sign_in(
    options: RunOptions,
    save_path: Option<std::path::PathBuf>,
) -> Result<(), RunError> {
    let mut signals = Signals::new()?;
    let mut guard = TerminalGuard::enter()?;
    let Some(account) = crate::sign_in::sign_in(&mut guard, &mut signals, save_path).await? else {
        return Ok(());
    };
    let api = ApiClient::new(&crate::sign_in::credentials(&account)?)?;
    let me = api
        .request::<GetOwnUser>(&(), &Empty {})
        .await?
        .user
        .user_id;
    let calls = connect(api, me, &options).await?;
    run_in_terminal(guard, signals, calls, me, options).await
}

/// The main UI in a terminal already set up.
async fn run_in_terminal(
    mut guard: TerminalGuard,
    mut signals: Signals,
    calls: Calls,
    me: UserId,
    options: RunOptions,
) -> Result<(), RunError> {
    let stream_options = StreamOptions {
        presence: true,
        ..StreamOptions::default()
    };
    let (stream_handle, stream) = EventStream::spawn(calls.clone(), stream_options);
    let account = SeenMarks::account(&calls.api().server().site_str(), me);
    let status = StatusKeeper::spawn(
        calls.api().clone(),
        me,
        options
            .replaced_status
            .clone()
            .map(|memory| (memory, account)),
    );
    let result = event_loop(
        &mut guard,
        stream,
        &mut signals,
        calls,
        me,
        options,
        &status,
    )
    .await;
    // Give the shell back first: deleting the queue and putting the user's status back can
    // take a few seconds when offline.
    drop(guard);
    tokio::join!(stream_handle.shutdown(), status.finish());
    result
}

/// The wall clock as the core wants it (only ticks and start-up read it).
fn now() -> Timestamp {
    Timestamp(SystemTime::now().into())
}

async fn event_loop(
    guard: &mut TerminalGuard,
    mut stream: mpsc::Receiver<crate::backend::events::StreamItem>,
    signals: &mut Signals,
    calls: Calls,
    me: UserId,
    options: RunOptions,
    status: &StatusKeeper,
) -> Result<(), RunError> {
    let settings = Settings {
        share_status: options.preferences.share_status,
        dnd_action: options.preferences.dnd_action,
    };
    let mut model = Model::new(me, now())
        .with_features(calls.features())
        .with_settings(settings, options.dnd);
    let account = SeenMarks::account(&calls.api().server().site_str(), me);
    model.recent.seen = options.seen.as_ref().and_then(|s| s.recall(&account));
    let (tx, mut results) = mpsc::unbounded_channel();
    let (heartbeat_tx, mut heartbeats_stopped) = mpsc::unbounded_channel();
    let mut effects = Effects {
        keepalive: Keepalive::new(calls.clone(), options.heartbeat_interval)
            .reporting_to(heartbeat_tx),
        calls,
        tx,
        no_browser: options.no_browser || !options.preferences.open_browser,
        alerts: Alerts::new(AlertOptions::from_preferences(&options.preferences)),
        seen: options.seen.clone().map(|marks| (marks, account)),
    };
    let mut quit = effects.run(init(&model));
    guard.terminal().draw(|frame| ui::draw(frame, &model))?;
    let mut keys = crossterm::event::EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut stream_open = true;
    // The status is left alone until the first snapshot of calls says whether I am in one.
    let mut synced = false;
    while !quit {
        let msg = tokio::select! {
            () = signals.recv() => break,
            event = keys.next() => match event {
                Some(Ok(Event::Key(key))) => match tui::key_input(key) {
                    Some(key) => Msg::Key(key),
                    None => continue,
                },
                Some(Ok(Event::Resize(..))) => Msg::Resize,
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err(err.into()),
                // The terminal went away.
                None => break,
            },
            _ = tick.tick() => Msg::Tick(now()),
            item = stream.recv(), if stream_open => match item {
                Some(item) => {
                    synced |= matches!(item, StreamItem::Resynced(_));
                    Msg::Stream(item)
                }
                None => {
                    // The core already heard the stream's last state (offline).
                    stream_open = false;
                    continue;
                }
            },
            Some(msg) = results.recv() => msg,
            Some(held) = heartbeats_stopped.recv() => Msg::HeartbeatStopped(held),
        };
        let update = update(&mut model, msg);
        quit = effects.run(update.commands);
        effects.keepalive.keep(model.held());
        if synced {
            status.want(model.wanted_status());
        }
        if update.redraw {
            guard.terminal().draw(|frame| ui::draw(frame, &model))?;
        }
    }
    effects.stop_ringing();
    Ok(())
}

/// Performs the core's commands; results come back as [`Msg`]s on `tx`.
struct Effects {
    calls: Calls,
    /// Heartbeats the call the UI holds, for as long as it holds it.
    keepalive: Keepalive,
    tx: mpsc::UnboundedSender<Msg>,
    no_browser: bool,
    /// The bell, ringtone and desktop notifications.
    alerts: Alerts,
    /// Where this account's History mark is kept.
    seen: Option<(SeenMarks, String)>,
}

impl Effects {
    /// Runs `commands`; `true` when one of them is [`Command::Quit`].
    fn run(&mut self, commands: Vec<Command>) -> bool {
        let mut quit = false;
        for command in commands {
            if effects::is_request(&command) {
                // Requests run concurrently so a slow server never freezes the keyboard.
                let calls = self.calls.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    if let Some(msg) = effects::request(&calls, command).await {
                        let _ = tx.send(msg);
                    }
                });
                continue;
            }
            match command {
                Command::OpenUrl(url) => self.open(url),
                Command::CopyToClipboard(text) => {
                    if let Err(err) = tui::copy_to_clipboard(&text) {
                        tracing::warn!(error = %err, "cannot write the clipboard sequence");
                    }
                }
                Command::StartRinging => self.start_ringing(),
                Command::StopRinging => self.stop_ringing(),
                // Best effort and in the background; the UI itself shows the call.
                Command::Notify { title, body } => self.alerts.notify(&title, &body),
                Command::SaveSeen(at) => {
                    if let Some((marks, account)) = &self.seen {
                        marks.remember(account, at);
                    }
                }
                Command::Quit => quit = true,
                other => tracing::warn!(command = ?other, "unhandled command"),
            }
        }
        quit
    }

    /// Opens the meeting in the browser, or with `--no-browser` shows its URL as a notice.
    fn open(&self, url: String) {
        if self.no_browser {
            let _ = self.tx.send(Msg::JoinAt(url));
            return;
        }
        if let Err(err) = open::that_detached(&url) {
            tracing::warn!(error = %err, "cannot open the browser");
            let _ = self
                .tx
                .send(Msg::OpenFailed(format!("{err}; join at {url}")));
        }
    }

    /// Rings (bell, and ringtone with the `sound` feature) until [`Effects::stop_ringing`].
    fn start_ringing(&mut self) {
        self.alerts.start_ringing();
    }

    /// Silences the ringing at once.
    fn stop_ringing(&mut self) {
        self.alerts.stop_ringing();
    }
}

/// Starts a demo server in this process and runs the UI as `email` there. Before the UI starts
/// and again after it ends (so it is not lost behind the full screen), prints on stderr how a
/// second terminal joins the same demo as someone else. With `tls` the demo speaks HTTPS and
/// WSS with the certificate `serve --tls` generates, and the UI trusts its CA.
pub async fn run_demo(email: &str, tls: bool, options: RunOptions) -> Result<(), RunError> {
    let config = ServerConfig {
        bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        db: ":memory:".into(),
        tls,
        ..ServerConfig::default()
    };
    let server = Server::start(config, Clock::System)
        .await
        .map_err(|err| RunError::DemoServer(err.to_string()))?;
    let result = run_demo_on(&server, email, options).await;
    server.shutdown().await;
    result
}

async fn run_demo_on(server: &Server, email: &str, options: RunOptions) -> Result<(), RunError> {
    let site = server.url();
    let ca = server.tls.as_ref().map(|tls| tls.ca_path.clone());
    let (me, credentials, other) = {
        let directory = server.state.core.directory();
        let user = directory
            .user_by_email(email)
            .ok_or_else(|| RunError::NoSuchDemoUser(email.to_owned()))?;
        let other_email = if user.email == "othello@zulip.com" {
            "hamlet@zulip.com"
        } else {
            "othello@zulip.com"
        };
        let other = directory
            .user_by_email(other_email)
            .map(|o| (o.email.clone(), o.api_key.clone()));
        let mut address = ServerAddress::parse(&site)?;
        address.cert_bundle.clone_from(&ca);
        let credentials = Credentials {
            server: address,
            email: user.email.clone(),
            api_key: user.api_key.clone(),
        };
        (user.id, credentials, other)
    };
    let block = demo_instructions(&site, ca.as_deref(), &credentials.email, other.as_ref());
    eprintln!("{block}");
    // The demo server is ours: no need to remember what it speaks.
    let options = RunOptions {
        memory: None,
        seen: None,
        replaced_status: None,
        ..options
    };
    let calls = connect(ApiClient::new(&credentials)?, me, &options).await?;
    let result = run_tui(calls, me, options).await;
    eprintln!("{block}");
    result
}

/// The few lines telling how to join the demo from a second terminal; `ca` is the CA a
/// TLS demo's clients trust.
fn demo_instructions(
    site: &str,
    ca: Option<&std::path::Path>,
    me: &str,
    other: Option<&(String, String)>,
) -> String {
    let mut text = format!("Demo server at {site}, signed in as {me}.\n");
    let (bundle_flag, cacert_flag) = match ca {
        Some(ca) => {
            let ca = ca.display();
            text.push_str(&format!(
                "Its TLS certificate is signed by the CA in {ca}.\n"
            ));
            (format!(" --cert-bundle {ca}"), format!(" --cacert {ca}"))
        }
        None => (String::new(), String::new()),
    };
    if let Some((email, key)) = other {
        text.push_str(&format!(
            "To call between two terminals, run in another one (while this demo runs):\n  \
             zulip-calls --site {site} --email {email} --api-key {key}{bundle_flag}\n"
        ));
    }
    text.push_str(&format!(
        "Or call a bot: Echo Bot accepts, Busy Bot rejects, Sleepy Bot lets it ring until missed, \
         Ghost Bot never rings.\nTo have Echo Bot call you:\n  \
         curl{cacert_flag} -X POST {site}/mock/v1/bots/20/call -d user={me}\n"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_instructions_name_the_second_user() {
        let other = ("othello@zulip.com".to_owned(), "KEY".to_owned());
        let text = demo_instructions("http://127.0.0.1:9", None, "hamlet@zulip.com", Some(&other));
        assert!(text.contains(
            "zulip-calls --site http://127.0.0.1:9 --email othello@zulip.com --api-key KEY"
        ));
        assert!(text.contains(
            "curl -X POST http://127.0.0.1:9/mock/v1/bots/20/call -d user=hamlet@zulip.com"
        ));
        let text = demo_instructions(
            "https://127.0.0.1:9",
            Some(std::path::Path::new("/data/tls/ca.pem")),
            "hamlet@zulip.com",
            Some(&other),
        );
        assert!(text.contains("--api-key KEY --cert-bundle /data/tls/ca.pem\n"));
        assert!(text.contains("curl --cacert /data/tls/ca.pem -X POST https://127.0.0.1:9/"));
    }
}
