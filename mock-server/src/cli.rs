//! The command line: `serve`, `cleanup-calls`, `users`, `zuliprc`, `endpoints` and `scenario`
//! (which lives in [`crate::scenario`]).
//!
//! `main.rs` only parses and calls [`run`]. What a command prints is built by plain functions
//! here ([`users_table`], [`zuliprc`], [`cleanup_summary`], [`serve_banner`], ...) so that it
//! is tested without starting processes.
//!
//! Exit codes: 0 success; 1 the command failed (server unreachable or refusing, unknown user,
//! server stopped); 2 bad usage or configuration (clap's own errors, a bad config or realm file).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use zulip_calls_protocol::calls::{Cleanup, CleanupRequest, CleanupResponse};
use zulip_calls_protocol::endpoint::{API_PREFIX, Auth, EndpointInfo, all_endpoints, request_path};
use zulip_calls_protocol::envelope::decode_response;
use zulip_calls_protocol::{DecodeError, ErrorCode, Success};

use crate::config::{ConfigError, ConfigFlags, load};
use crate::core::directory::Directory;
use crate::core::model::UserRecord;
use crate::realm::{LoadedRealms, RealmError, demo_realms, load_realm_file};
use crate::{Clock, Server, StartError, telemetry};

/// Where `serve` listens by default, as a URL: the default of every `--site`.
pub const DEFAULT_SITE: &str = "http://127.0.0.1:9991";

/// How long `cleanup-calls` waits for the server to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `cleanup-calls` waits for the whole answer (a cleanup of many calls takes a while).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A Zulip server with the calls plugin, for development and QA.
#[derive(Debug, Parser)]
#[command(name = "zulip-calls-mock", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the calls API and the Zulip subset it relies on.
    Serve(ServeArgs),
    /// Time out stale unanswered calls (and optionally delete old ones) on a running server,
    /// like the plugin's `manage.py cleanup_calls`; clients get the events.
    CleanupCalls(CleanupArgs),
    /// List the realm file's users with their credentials.
    Users(UsersArgs),
    /// Print a ready zuliprc for one user.
    Zuliprc(ZuliprcArgs),
    /// List every route of the calls API contract (method, path, authentication).
    Endpoints {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run scripted call flows (TOML scenario files) against an in-process mock or --server.
    Scenario(crate::scenario::ScenarioArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML: [server] and [settings] tables).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Realm file (TOML); the bundled demo realm when absent.
    #[arg(long)]
    pub realm: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:9991].
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// SQLite database file, or :memory: for a throwaway run [default: a file in the user's
    /// data directory].
    #[arg(long)]
    pub db: Option<String>,
    /// Require `Authorization: Bearer <TOKEN>` on the control API (/mock/v1/*, /metrics);
    /// overrides MOCK_ADMIN_TOKEN and the config file. Without one the control API is open.
    #[arg(long, value_name = "TOKEN")]
    pub admin_token: Option<String>,
    /// Run on a virtual clock: time moves only through POST /mock/v1/clock/advance, which
    /// fires every deadline on the way.
    #[arg(long)]
    pub virtual_clock: bool,
    /// Where the virtual clock starts (RFC 3339, e.g. 2026-01-01T09:00:00Z); implies
    /// --virtual-clock [default: now].
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub clock_start: Option<zulip_calls_protocol::Timestamp>,
}

/// A `--clock-start` value.
fn parse_time(value: &str) -> Result<zulip_calls_protocol::Timestamp, String> {
    value
        .parse()
        .map_err(|_| format!("{value:?} is not an RFC 3339 time such as 2026-01-01T09:00:00Z"))
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Time out unanswered calls created more than this many minutes ago.
    #[arg(long, default_value_t = CleanupRequest::DEFAULT_TIMEOUT_MINUTES)]
    pub timeout_minutes: u32,
    /// Also delete finished calls older than --old-calls-days.
    #[arg(long)]
    pub cleanup_old_calls: bool,
    /// Age in days beyond which finished calls are deleted (with --cleanup-old-calls).
    #[arg(long, default_value_t = CleanupRequest::DEFAULT_OLD_CALLS_DAYS)]
    pub old_calls_days: u32,
    /// The running server.
    #[arg(long, default_value = DEFAULT_SITE, value_parser = parse_site)]
    pub site: String,
    /// Realm file to take administrators' credentials from; the demo realm when absent.
    #[arg(long)]
    pub realm: Option<PathBuf>,
    /// Act as this user (an administrator) instead of each realm's first administrator; the
    /// key comes from --api-key or the realm file.
    #[arg(long)]
    pub email: Option<String>,
    /// The API key of --email.
    #[arg(long, requires = "email")]
    pub api_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct UsersArgs {
    /// Realm file; the demo realm when absent.
    #[arg(long)]
    pub realm: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ZuliprcArgs {
    /// The user's email (case does not matter).
    pub email: String,
    /// Realm file; the demo realm when absent.
    #[arg(long)]
    pub realm: Option<PathBuf>,
    /// The server URL to write as `site`.
    #[arg(long, default_value = DEFAULT_SITE, value_parser = parse_site)]
    pub site: String,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Realm(#[from] RealmError),
    #[error("no user with email {email:?} in {origin} (`zulip-calls-mock users` lists them)")]
    UnknownUser { email: String, origin: String },
    #[error("{origin} has no active administrator; pass --email and --api-key")]
    NoAdministrator { origin: String },
    #[error(
        "cannot reach the server at {site}: {reason} (is `zulip-calls-mock serve` running there?)"
    )]
    Unreachable { site: String, reason: String },
    /// The server answered with a Zulip error; `msg` is the server's.
    #[error("the server refused {email}: {msg} ({code}){hint}")]
    Api {
        email: String,
        msg: String,
        code: ErrorCode,
        /// What to try, or empty.
        hint: String,
    },
    #[error("unexpected answer from {site}: {reason}")]
    Unexpected { site: String, reason: String },
    #[error("{0}")]
    Runtime(String),
}

impl CliError {
    /// 2 for configuration mistakes (like clap's usage errors), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Realm(_) => 2,
            _ => 1,
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Serve(args) => return serve(args),
        Command::Scenario(args) => return crate::scenario::command(args),
        Command::CleanupCalls(args) => block_on(cleanup_calls(&args)),
        Command::Users(args) => users(&args),
        Command::Zuliprc(args) => zuliprc_command(&args),
        Command::Endpoints { json } => {
            endpoints_listing(&all_endpoints().collect::<Vec<_>>(), json)
                .map_err(|e| CliError::Runtime(e.to_string()))
        }
    };
    match result {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, CliError>>,
) -> Result<T, CliError> {
    tokio::runtime::Runtime::new()
        .map_err(|e| CliError::Runtime(format!("cannot start the runtime: {e}")))?
        .block_on(future)
}

/// A `--site` value: an http(s) URL without query or fragment, kept without a trailing slash
/// so API paths can be appended.
pub fn parse_site(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("{value:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{value:?}: the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{value:?} has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{value:?} must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The realm file's (or the demo realm's) content, and how to name it in messages.
fn load_realms(path: Option<&Path>) -> Result<(LoadedRealms, String), RealmError> {
    match path {
        Some(path) => Ok((
            load_realm_file(path)?,
            format!("realm file {}", path.display()),
        )),
        None => Ok((demo_realms()?, "the demo realm".to_owned())),
    }
}

/// The user with `email`, compared case-insensitively as the server does.
fn find_user<'a>(realms: &'a LoadedRealms, email: &str) -> Option<&'a UserRecord> {
    let wanted = email.to_lowercase();
    realms
        .users
        .iter()
        .find(|u| u.email.to_lowercase() == wanted)
}

fn realm_name(realms: &LoadedRealms, user: &UserRecord) -> String {
    realms
        .realms
        .iter()
        .find(|r| r.id == user.realm_id)
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

// ---- users and zuliprc -------------------------------------------------------------------

fn users(args: &UsersArgs) -> Result<String, CliError> {
    let (realms, _) = load_realms(args.realm.as_deref())?;
    if args.json {
        serde_json::to_string_pretty(&users_json(&realms))
            .map(|text| text + "\n")
            .map_err(|e| CliError::Runtime(e.to_string()))
    } else {
        Ok(users_table(&realms))
    }
}

/// Every user as JSON, in file order, with credentials.
pub fn users_json(realms: &LoadedRealms) -> serde_json::Value {
    realms
        .users
        .iter()
        .map(|u| {
            let realm = realms.realms.iter().find(|r| r.id == u.realm_id);
            serde_json::json!({
                "id": u.id,
                "realm": realm.map(|r| r.name.as_str()),
                "realm_url": realm.map(|r| r.url.as_str()),
                "email": u.email,
                "full_name": u.full_name,
                "admin": u.is_admin,
                "active": u.is_active,
                "bot": u.is_bot,
                "api_key": u.api_key,
                "password": u.password,
            })
        })
        .collect()
}

/// Every user as an aligned table, in file order, with credentials.
pub fn users_table(realms: &LoadedRealms) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let header = ["ID", "REALM", "EMAIL", "NAME", "ADMIN", "ACTIVE", "API KEY"].map(str::to_owned);
    let rows: Vec<[String; 7]> = realms
        .users
        .iter()
        .map(|u| {
            [
                u.id.to_string(),
                realm_name(realms, u),
                u.email.clone(),
                u.full_name.clone(),
                yes_no(u.is_admin),
                yes_no(u.is_active),
                u.api_key.clone(),
            ]
        })
        .collect();
    let mut widths = [0usize; 7];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (width, cell) in widths.iter().zip(row) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn zuliprc_command(args: &ZuliprcArgs) -> Result<String, CliError> {
    let (realms, origin) = load_realms(args.realm.as_deref())?;
    let user = find_user(&realms, &args.email).ok_or_else(|| CliError::UnknownUser {
        email: args.email.clone(),
        origin,
    })?;
    if !user.is_active {
        eprintln!(
            "warning: {} is deactivated; the server will refuse this key",
            user.email
        );
    }
    Ok(zuliprc(user, &args.site))
}

/// A zuliprc as Zulip's clients read it.
pub fn zuliprc(user: &UserRecord, site: &str) -> String {
    format!(
        "[api]\nemail={}\nkey={}\nsite={site}\n",
        user.email, user.api_key
    )
}

// ---- cleanup-calls -----------------------------------------------------------------------

/// Whom `cleanup-calls` acts as.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub email: String,
    pub api_key: String,
    /// The credentials came from a realm file (so a wrong key may mean a different file).
    pub from_realm_file: bool,
}

impl std::fmt::Debug for Credentials {
    /// The key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .field("from_realm_file", &self.from_realm_file)
            .finish_non_exhaustive()
    }
}

/// The credentials `cleanup-calls` uses: the given ones; or `--email`'s key from the realm
/// file; or, by default, the first active administrator of every realm in the file.
///
/// Every realm by default, because the server's cleanup only times out calls of the
/// caller's realm, while the plugin's management command cleans the whole server.
pub fn cleanup_credentials(args: &CleanupArgs) -> Result<Vec<Credentials>, CliError> {
    if let (Some(email), Some(api_key)) = (&args.email, &args.api_key) {
        return Ok(vec![Credentials {
            email: email.clone(),
            api_key: api_key.clone(),
            from_realm_file: false,
        }]);
    }
    let (realms, origin) = load_realms(args.realm.as_deref())?;
    let as_credentials = |u: &UserRecord| Credentials {
        email: u.email.clone(),
        api_key: u.api_key.clone(),
        from_realm_file: true,
    };
    if let Some(email) = &args.email {
        let user = find_user(&realms, email).ok_or_else(|| CliError::UnknownUser {
            email: email.clone(),
            origin,
        })?;
        return Ok(vec![as_credentials(user)]);
    }
    let mut found = Vec::new();
    for realm in &realms.realms {
        match realms
            .users
            .iter()
            .find(|u| u.realm_id == realm.id && u.is_admin && u.is_active)
        {
            Some(admin) => found.push(as_credentials(admin)),
            None => eprintln!(
                "warning: realm {:?} has no active administrator; its calls are not cleaned",
                realm.name
            ),
        }
    }
    if found.is_empty() {
        return Err(CliError::NoAdministrator { origin });
    }
    Ok(found)
}

async fn cleanup_calls(args: &CleanupArgs) -> Result<String, CliError> {
    let credentials = cleanup_credentials(args)?;
    let http = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot set up the HTTP client: {e}")))?;
    let request = CleanupRequest {
        timeout_minutes: args.timeout_minutes,
        cleanup_old_calls: args.cleanup_old_calls,
        old_calls_days: args.old_calls_days,
    };
    let mut total = CleanupResponse {
        calls_timed_out: 0,
        calls_deleted: 0,
        calls_cleaned: 0,
    };
    for who in &credentials {
        let done = request_cleanup(&http, &args.site, who, &request).await?;
        total.calls_timed_out += done.calls_timed_out;
        total.calls_deleted += done.calls_deleted;
        total.calls_cleaned += done.calls_cleaned;
    }
    Ok(cleanup_summary(&total) + "\n")
}

/// `POST calls/cleanup` on the server at `site` as `who`.
pub async fn request_cleanup(
    http: &reqwest::Client,
    site: &str,
    who: &Credentials,
    request: &CleanupRequest,
) -> Result<CleanupResponse, CliError> {
    let url = format!("{site}{}", request_path::<Cleanup>(&()));
    let response = http
        .post(&url)
        .basic_auth(&who.email, Some(&who.api_key))
        .form(request)
        .send()
        .await
        .map_err(|e| transport_error(site, &e))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| transport_error(site, &e))?;
    match decode_response::<Success<CleanupResponse>>(status, &body) {
        Ok(success) => Ok(success.body),
        Err(DecodeError::Api(err)) => {
            let hint = if err.code == ErrorCode::InvalidApiKey && who.from_realm_file {
                "; if the server uses another realm file, pass it with --realm, or give \
                 --email and --api-key"
            } else {
                ""
            };
            Err(CliError::Api {
                email: who.email.clone(),
                msg: err.text().to_owned(),
                code: err.code.clone(),
                hint: hint.to_owned(),
            })
        }
        Err(DecodeError::Malformed { reason, .. }) => Err(CliError::Unexpected {
            site: site.to_owned(),
            reason,
        }),
    }
}

/// One line for a failed request: the innermost cause ("Connection refused") says most.
fn transport_error(site: &str, err: &reqwest::Error) -> CliError {
    let reason = if err.is_timeout() {
        "no answer in time".to_owned()
    } else {
        let mut cause: &dyn std::error::Error = err;
        while let Some(source) = cause.source() {
            cause = source;
        }
        cause.to_string()
    };
    if err.is_connect() || err.is_timeout() {
        CliError::Unreachable {
            site: site.to_owned(),
            reason,
        }
    } else {
        CliError::Unexpected {
            site: site.to_owned(),
            reason,
        }
    }
}

/// What `cleanup-calls` did, e.g. `Timed out 2 calls, deleted 5 old calls (7 cleaned)`.
pub fn cleanup_summary(done: &CleanupResponse) -> String {
    let calls = |n: u64, what: &str| {
        if n == 1 {
            format!("1 {what}")
        } else {
            format!("{n} {what}s")
        }
    };
    format!(
        "Timed out {}, deleted {} ({} cleaned)",
        calls(done.calls_timed_out, "call"),
        calls(done.calls_deleted, "old call"),
        done.calls_cleaned
    )
}

// ---- serve -------------------------------------------------------------------------------

fn serve(args: ServeArgs) -> ExitCode {
    telemetry::init_logging();
    let flags = ConfigFlags {
        bind: args.bind,
        db: args.db,
        realm: args.realm,
        heartbeat_seconds: None,
        admin_token: args.admin_token,
        virtual_clock: args.virtual_clock,
        clock_start: args.clock_start,
    };
    let config = match load(args.config.as_deref(), |n| std::env::var(n).ok(), &flags) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // Before anything is printed: whoever reads the banner may signal at once, and a
        // signal without a handler would kill the process with no clean-up.
        let mut signals = match StopSignals::install() {
            Ok(signals) => signals,
            Err(err) => {
                eprintln!("error: cannot handle signals: {err}");
                return ExitCode::FAILURE;
            }
        };
        let db = config.db.clone();
        let realm_file = config.realm_file.clone();
        let mut server = match Server::start(config, Clock::System).await {
            Ok(server) => server,
            Err(err) => {
                eprintln!("error: {err}");
                let code = if matches!(err, StartError::Realm(_)) {
                    2
                } else {
                    1
                };
                return ExitCode::from(code);
            }
        };
        if let Some(warning) = bind_warning(server.addr) {
            eprintln!("warning: {warning}");
        }
        if let Some(warning) =
            open_control_warning(server.addr, server.state.admin_token.as_deref())
        {
            tracing::warn!("{warning}");
            eprintln!("warning: {warning}");
        }
        let banner = serve_banner(
            &server.url(),
            &db,
            realm_file.as_deref(),
            &server.state.core.directory(),
        );
        print!("{banner}");
        if server.state.core.options.virtual_clock {
            println!(
                "Virtual clock at {}: time moves only with POST {}/mock/v1/clock/advance",
                server.state.core.clock.now(),
                server.url()
            );
        }
        tokio::select! {
            () = server.wait() => {
                eprintln!("error: the server stopped unexpectedly");
                return ExitCode::FAILURE;
            }
            signal = signals.recv() => {
                tracing::info!(signal, "shutting down");
                println!("{signal}: finishing open requests, then stopping");
            }
        }
        tokio::select! {
            drained = server.shutdown() => {
                if !drained {
                    eprintln!("warning: requests still open after the grace period were cut off");
                }
                println!("stopped");
            }
            signal = signals.recv() => {
                println!("{signal} again: stopping now");
            }
        }
        ExitCode::SUCCESS
    })
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere), installed up front.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    #[cfg(unix)]
    fn install() -> std::io::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<StopSignals> {
        Ok(StopSignals {})
    }

    /// Waits for the next signal and names it.
    #[cfg(unix)]
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) -> &'static str {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}

/// A warning when `addr` is reachable from other machines: the demo credentials are public.
pub fn bind_warning(addr: SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!(
            "listening on {addr}, which is not a loopback address: anyone who can reach this \
             machine can log in with the realm file's credentials (the demo realm's are public)"
        )
    })
}

/// A warning when the control API (which can reset the server, create users and read their
/// keys) is open to other machines: bound off loopback without an admin token.
pub fn open_control_warning(addr: SocketAddr, admin_token: Option<&str>) -> Option<String> {
    (!addr.ip().is_loopback() && admin_token.is_none()).then(|| {
        format!(
            "the control API (/mock/v1) is open to anyone who can reach {addr}; set \
             --admin-token or MOCK_ADMIN_TOKEN"
        )
    })
}

/// What `serve` prints once it listens. The first line names the URL (tests read it); the
/// rest says how to log in.
pub fn serve_banner(
    url: &str,
    db: &str,
    realm_file: Option<&Path>,
    directory: &Directory,
) -> String {
    let mut out = format!("zulip-calls-mock serving {url} (database: {db})\n");
    let realm_flag = realm_file
        .map(|p| format!(" --realm {}", shell_quote(&p.display().to_string())))
        .unwrap_or_default();
    let site_flag = if url == DEFAULT_SITE {
        String::new()
    } else {
        format!(" --site {url}")
    };

    let realms = directory.realms();
    let people: Vec<&UserRecord> = realms
        .iter()
        .flat_map(|r| directory.realm_users(r.id))
        .filter(|u| u.is_active && !u.is_bot)
        .collect();
    let mut passwords: Vec<&str> = people
        .iter()
        .filter_map(|u| u.password.as_deref())
        .collect();
    passwords.sort_unstable();
    passwords.dedup();
    let password_note = match passwords.as_slice() {
        [] => " (password login is off: use an API key)".to_owned(),
        [one] if people.iter().all(|u| u.password.is_some()) => format!(" (password {one:?})"),
        _ => " (passwords: see `zulip-calls-mock users`)".to_owned(),
    };
    let _ = writeln!(out, "Log in at {url} as one of these users{password_note}:");
    for realm in &realms {
        let emails: Vec<String> = directory
            .realm_users(realm.id)
            .into_iter()
            .filter(|u| u.is_active && !u.is_bot)
            .map(|u| {
                if u.is_admin {
                    format!("{} (admin)", u.email)
                } else {
                    u.email.clone()
                }
            })
            .collect();
        if !emails.is_empty() {
            let _ = writeln!(out, "  {}: {}", realm.name, emails.join(", "));
        }
    }
    // A member rather than an administrator: what a tester usually wants to be.
    if let Some(example) = people
        .iter()
        .find(|u| !u.is_admin)
        .or_else(|| people.first())
    {
        let _ = writeln!(
            out,
            "A ready zuliprc: zulip-calls-mock zuliprc {}{realm_flag}{site_flag} > zuliprc",
            example.email
        );
    }
    let _ = writeln!(
        out,
        "API keys of every user: zulip-calls-mock users{realm_flag}"
    );
    out.push_str("Stop with Ctrl-C or SIGTERM.\n");
    out
}

/// `text` as one shell word (for copy-pasting the hints above).
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@=,".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

// ---- endpoints ---------------------------------------------------------------------------

/// The routes of the contract as a table or JSON.
pub fn endpoints_listing(endpoints: &[EndpointInfo], json: bool) -> serde_json::Result<String> {
    if json {
        let rows: Vec<_> = endpoints
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name,
                    "method": e.method.as_str(),
                    "path": format!("{API_PREFIX}{}", e.path),
                    "auth": matches!(e.auth, Auth::Basic),
                })
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&rows)? + "\n");
    }
    let mut out = String::new();
    for e in endpoints {
        let auth = match e.auth {
            Auth::Basic => "basic",
            Auth::None => "none",
        };
        let _ = writeln!(
            out,
            "{:<7} {API_PREFIX}{:<40} {auth:<6} {}",
            e.method, e.path, e.name
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::config::{DEFAULT_BIND, ServerConfig};
    use crate::core::model::{RealmId, RealmRecord};

    fn parse(args: &[&str]) -> Command {
        Cli::try_parse_from(std::iter::once("zulip-calls-mock").chain(args.iter().copied()))
            .unwrap()
            .command
    }

    fn demo() -> LoadedRealms {
        demo_realms().unwrap()
    }

    fn cleanup_args(args: &[&str]) -> CleanupArgs {
        let mut all = vec!["cleanup-calls"];
        all.extend_from_slice(args);
        match parse(&all) {
            Command::CleanupCalls(args) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_default_site_is_the_default_bind() {
        assert_eq!(DEFAULT_SITE, format!("http://{DEFAULT_BIND}"));
    }

    #[test]
    fn cleanup_defaults_are_the_management_commands() {
        let args = cleanup_args(&[]);
        assert_eq!(args.timeout_minutes, 5);
        assert!(!args.cleanup_old_calls);
        assert_eq!(args.old_calls_days, 30);
        assert_eq!(args.site, DEFAULT_SITE);
        assert_eq!((args.email, args.api_key, args.realm), (None, None, None));

        let args = cleanup_args(&[
            "--timeout-minutes",
            "10",
            "--cleanup-old-calls",
            "--old-calls-days",
            "7",
            "--site",
            "https://chat.example.com/",
        ]);
        assert_eq!(args.timeout_minutes, 10);
        assert!(args.cleanup_old_calls);
        assert_eq!(args.old_calls_days, 7);
        assert_eq!(args.site, "https://chat.example.com");
    }

    #[test]
    fn an_api_key_needs_an_email_and_sites_are_checked() {
        let err = Cli::try_parse_from(["zulip-calls-mock", "cleanup-calls", "--api-key", "k"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        for bad in ["localhost:9991", "ftp://x", "http://x/?a=1", "http://x/#f"] {
            let err = Cli::try_parse_from(["zulip-calls-mock", "zuliprc", "a@b", "--site", bad])
                .unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn sites_lose_their_trailing_slash() {
        assert_eq!(
            parse_site("http://127.0.0.1:9991/").unwrap(),
            "http://127.0.0.1:9991"
        );
        assert_eq!(
            parse_site("https://host/zulip/").unwrap(),
            "https://host/zulip"
        );
        assert!(parse_site("nonsense").is_err());
    }

    #[test]
    fn serve_flags_stay_optional() {
        match parse(&["serve", "--bind", "127.0.0.1:0", "--db", ":memory:"]) {
            Command::Serve(args) => {
                assert_eq!(args.bind, Some("127.0.0.1:0".parse().unwrap()));
                assert_eq!(args.db.as_deref(), Some(":memory:"));
                assert_eq!((args.config, args.realm), (None, None));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn zuliprc_is_what_zulip_clients_read() {
        let realms = demo();
        let hamlet = find_user(&realms, "HAMLET@zulip.com").unwrap();
        assert_eq!(
            zuliprc(hamlet, DEFAULT_SITE),
            "[api]\nemail=hamlet@zulip.com\nkey=hamletDemoApiKeyxxxxxxxxxxxxx010\n\
             site=http://127.0.0.1:9991\n"
        );
    }

    #[test]
    fn an_unknown_email_names_the_realm_source() {
        let args = ZuliprcArgs {
            email: "nobody@zulip.com".into(),
            realm: None,
            site: DEFAULT_SITE.into(),
        };
        let err = zuliprc_command(&args).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert_eq!(
            err.to_string(),
            "no user with email \"nobody@zulip.com\" in the demo realm (`zulip-calls-mock users` \
             lists them)"
        );
    }

    #[test]
    fn a_bad_realm_file_is_a_configuration_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("realms.toml");
        std::fs::write(&path, "[[realm]]\nname = \"R\"\n").unwrap();
        let err = users(&UsersArgs {
            realm: Some(path),
            json: false,
        })
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("realms.toml"), "{err}");
    }

    #[test]
    fn users_table_has_a_row_per_user_with_credentials() {
        let table = users_table(&demo());
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 1 + 16);
        let header: Vec<&str> = lines[0]
            .split("  ")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(
            header,
            ["ID", "REALM", "EMAIL", "NAME", "ADMIN", "ACTIVE", "API KEY"]
        );
        let iago = lines[1];
        assert!(iago.starts_with("5 "), "{iago}");
        for cell in [
            "Zulip Dev",
            "iago@zulip.com",
            "Iago",
            "yes",
            "iagoDemoApiKeyxxxxxxxxxxxxxxx005",
        ] {
            assert!(iago.contains(cell), "{iago}");
        }
        let desdemona = lines.iter().find(|l| l.contains("desdemona")).unwrap();
        assert!(desdemona.contains(" no     no "), "{desdemona}");
        // Columns line up: every row's email starts where the header's does.
        let column = lines[0].find("EMAIL").unwrap();
        assert!(lines[1..].iter().all(|l| l[column..].contains('@')));
        assert_eq!(lines[1].find("iago@").unwrap(), column);
    }

    #[test]
    fn users_json_has_every_field() {
        let json = users_json(&demo());
        let rows = json.as_array().unwrap();
        assert_eq!(rows.len(), 16);
        assert_eq!(
            rows[0],
            serde_json::json!({
                "id": 5,
                "realm": "Zulip Dev",
                "realm_url": "http://localhost:9991",
                "email": "iago@zulip.com",
                "full_name": "Iago",
                "admin": true,
                "active": true,
                "bot": false,
                "api_key": "iagoDemoApiKeyxxxxxxxxxxxxxxx005",
                "password": "opensesame",
            })
        );
        let king = rows.iter().find(|r| r["email"] == "king@lear.org").unwrap();
        assert_eq!(king["realm"], "Lear & Co.");
    }

    #[test]
    fn cleanup_acts_as_every_realms_first_administrator_by_default() {
        let who = cleanup_credentials(&cleanup_args(&[])).unwrap();
        let emails: Vec<&str> = who.iter().map(|c| c.email.as_str()).collect();
        assert_eq!(emails, ["iago@zulip.com", "king@lear.org"]);
        assert!(who.iter().all(|c| c.from_realm_file));
        assert_eq!(who[0].api_key, "iagoDemoApiKeyxxxxxxxxxxxxxxx005");

        let who = cleanup_credentials(&cleanup_args(&["--email", "Hamlet@zulip.com"])).unwrap();
        assert_eq!(who.len(), 1);
        assert_eq!(who[0].api_key, "hamletDemoApiKeyxxxxxxxxxxxxx010");

        let who =
            cleanup_credentials(&cleanup_args(&["--email", "x@y.org", "--api-key", "k"])).unwrap();
        assert_eq!(
            who,
            [Credentials {
                email: "x@y.org".into(),
                api_key: "k".into(),
                from_realm_file: false,
            }]
        );
        assert!(!format!("{:?}", who[0]).contains("\"k\""));

        let err = cleanup_credentials(&cleanup_args(&["--email", "nobody@zulip.com"])).unwrap_err();
        assert!(matches!(err, CliError::UnknownUser { .. }), "{err:?}");
    }

    #[test]
    fn a_realm_file_without_administrators_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("realms.toml");
        std::fs::write(
            &path,
            "[[realm]]\nname = \"R\"\nurl = \"http://r\"\n[[realm.user]]\nid = 1\n\
             email = \"a@r\"\nfull_name = \"A\"\napi_key = \"aaaaaaaaaaaaaaaa\"\n",
        )
        .unwrap();
        let args = cleanup_args(&["--realm", path.to_str().unwrap()]);
        let err = cleanup_credentials(&args).unwrap_err();
        assert!(matches!(err, CliError::NoAdministrator { .. }), "{err:?}");
        assert!(err.to_string().contains("realms.toml"), "{err}");
    }

    #[test]
    fn cleanup_summary_counts_in_words() {
        let summary = |t, d| {
            cleanup_summary(&CleanupResponse {
                calls_timed_out: t,
                calls_deleted: d,
                calls_cleaned: t + d,
            })
        };
        assert_eq!(
            summary(2, 5),
            "Timed out 2 calls, deleted 5 old calls (7 cleaned)"
        );
        assert_eq!(
            summary(1, 1),
            "Timed out 1 call, deleted 1 old call (2 cleaned)"
        );
        assert_eq!(
            summary(0, 0),
            "Timed out 0 calls, deleted 0 old calls (0 cleaned)"
        );
    }

    async fn server() -> Server {
        let config = ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            db: crate::config::MEMORY_DB.into(),
            ..ServerConfig::default()
        };
        Server::start(config, Clock::System).await.unwrap()
    }

    fn demo_credentials(email: &str) -> Credentials {
        let realms = demo();
        let user = find_user(&realms, email).unwrap();
        Credentials {
            email: user.email.clone(),
            api_key: user.api_key.clone(),
            from_realm_file: true,
        }
    }

    #[tokio::test]
    async fn cleanup_reaches_the_servers_endpoint() {
        let server = server().await;
        let http = reqwest::Client::new();
        let done = request_cleanup(
            &http,
            &server.url(),
            &demo_credentials("iago@zulip.com"),
            &CleanupRequest::default(),
        )
        .await
        .unwrap();
        assert_eq!(done.calls_cleaned, 0);

        // The server's refusal is passed on with its message.
        let err = request_cleanup(
            &http,
            &server.url(),
            &demo_credentials("hamlet@zulip.com"),
            &CleanupRequest::default(),
        )
        .await
        .unwrap_err();
        match &err {
            CliError::Api { code, msg, .. } => {
                assert_eq!(*code, ErrorCode::UnauthorizedPrincipal);
                assert_eq!(msg, "Must be an organization administrator");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(err.exit_code(), 1);

        // A key from the wrong realm file gets a hint.
        let mut wrong = demo_credentials("iago@zulip.com");
        wrong.api_key = "wrongwrongwrongwrong".into();
        let err = request_cleanup(&http, &server.url(), &wrong, &CleanupRequest::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Invalid API key"), "{err}");
        assert!(err.to_string().contains("--realm"), "{err}");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_one_clear_line() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let site = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let err = request_cleanup(
            &reqwest::Client::new(),
            &site,
            &demo_credentials("iago@zulip.com"),
            &CleanupRequest::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, CliError::Unreachable { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("cannot reach the server at {site}: ")),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
    }

    #[test]
    fn an_open_control_api_is_warned_about_only_off_loopback_without_a_token() {
        let any: SocketAddr = "0.0.0.0:9991".parse().unwrap();
        let warning = open_control_warning(any, None).unwrap();
        assert!(warning.contains("/mock/v1"), "{warning}");
        assert!(!warning.contains('\n'), "{warning}");
        assert_eq!(open_control_warning(any, Some("t")), None);
        assert_eq!(
            open_control_warning("127.0.0.1:9991".parse().unwrap(), None),
            None
        );
    }

    #[test]
    fn serve_takes_the_control_api_flags() {
        match parse(&[
            "serve",
            "--admin-token",
            "s3cret",
            "--clock-start",
            "2026-01-01T09:00:00Z",
        ]) {
            Command::Serve(args) => {
                assert_eq!(args.admin_token.as_deref(), Some("s3cret"));
                assert!(!args.virtual_clock);
                assert_eq!(
                    args.clock_start.map(|t| t.to_string()).as_deref(),
                    Some("2026-01-01T09:00:00Z")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["serve", "--virtual-clock"]),
            Command::Serve(ServeArgs {
                virtual_clock: true,
                ..
            })
        ));
        let err = Cli::try_parse_from(["zulip-calls-mock", "serve", "--clock-start", "soon"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn only_non_loopback_binds_are_warned_about() {
        assert_eq!(bind_warning("127.0.0.1:9991".parse().unwrap()), None);
        assert_eq!(bind_warning("[::1]:9991".parse().unwrap()), None);
        let warning = bind_warning("0.0.0.0:9991".parse().unwrap()).unwrap();
        assert!(warning.contains("not a loopback address"), "{warning}");
        assert!(bind_warning("192.168.1.5:80".parse().unwrap()).is_some());
    }

    fn demo_directory() -> Directory {
        let realms = demo();
        Directory::new(realms.realms, realms.users)
    }

    #[test]
    fn the_banner_says_where_and_how_to_log_in() {
        let banner = serve_banner(DEFAULT_SITE, "/tmp/x.sqlite3", None, &demo_directory());
        let lines: Vec<&str> = banner.lines().collect();
        assert_eq!(
            lines[0],
            "zulip-calls-mock serving http://127.0.0.1:9991 (database: /tmp/x.sqlite3)"
        );
        assert_eq!(
            lines[1],
            "Log in at http://127.0.0.1:9991 as one of these users (password \"opensesame\"):"
        );
        let dev = lines
            .iter()
            .find(|l| l.starts_with("  Zulip Dev: "))
            .unwrap();
        assert!(dev.contains("iago@zulip.com (admin)"), "{dev}");
        assert!(dev.contains("hamlet@zulip.com"), "{dev}");
        // Deactivated users cannot log in, so they are not offered.
        assert!(!banner.contains("desdemona"), "{banner}");
        assert!(banner.contains("  Lear & Co.: "), "{banner}");
        // The default site needs no flag.
        assert!(
            banner.contains("zulip-calls-mock zuliprc zoe@zulip.com > zuliprc\n"),
            "{banner}"
        );
    }

    #[test]
    fn the_banner_hints_carry_the_site_and_realm_file() {
        let banner = serve_banner(
            "http://127.0.0.1:4000",
            ":memory:",
            Some(Path::new("/etc/my realms.toml")),
            &demo_directory(),
        );
        assert!(
            banner
                .contains("--realm '/etc/my realms.toml' --site http://127.0.0.1:4000 > zuliprc\n"),
            "{banner}"
        );
        assert!(
            banner.contains("zulip-calls-mock users --realm '/etc/my realms.toml'\n"),
            "{banner}"
        );
    }

    #[test]
    fn the_banner_does_not_invent_passwords() {
        let realm = RealmRecord {
            id: RealmId(1),
            name: "R".into(),
            url: "http://r".into(),
        };
        let user = |id: i64, password: Option<&str>| UserRecord {
            id: zulip_calls_protocol::UserId(id),
            realm_id: RealmId(1),
            email: format!("u{id}@r"),
            full_name: format!("U{id}"),
            api_key: "aaaaaaaaaaaaaaaa".into(),
            password: password.map(str::to_owned),
            is_admin: false,
            is_active: true,
            is_bot: false,
        };
        let none = Directory::new(vec![realm.clone()], vec![user(1, None)]);
        assert!(serve_banner(DEFAULT_SITE, "db", None, &none).contains("password login is off"));
        let mixed = Directory::new(vec![realm], vec![user(1, Some("a")), user(2, Some("b"))]);
        let banner = serve_banner(DEFAULT_SITE, "db", None, &mixed);
        assert!(
            banner.contains("passwords: see `zulip-calls-mock users`"),
            "{banner}"
        );
        assert!(!banner.contains("\"a\""), "{banner}");
    }

    #[test]
    fn shell_quoting_is_only_for_awkward_paths() {
        assert_eq!(shell_quote("/tmp/realms.toml"), "/tmp/realms.toml");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn endpoints_listing_has_a_row_per_route() {
        let all: Vec<_> = all_endpoints().collect();
        let table = endpoints_listing(&all, false).unwrap();
        assert_eq!(table.lines().count(), all.len());
        assert!(table.contains("/api/v1/calls/start"));
        let json: Vec<serde_json::Value> =
            serde_json::from_str(&endpoints_listing(&all, true).unwrap()).unwrap();
        assert_eq!(json.len(), all.len());
    }
}
