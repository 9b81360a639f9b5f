//! `zulip-calls`: phone-style calls for Zulip teams, from the terminal.
//!
//! Thin on purpose: parse, find credentials, run a subcommand from [`zulip_calls::commands`]
//! or the terminal UI from [`zulip_calls::runner`],
//! and turn the result into one line on stderr and an exit code. Logs go to a file, never to
//! the terminal, so they cannot garble output that scripts parse.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use zulip_calls::backend::api::ApiClient;
use zulip_calls::backend::dialect::{CallsApiChoice, DialectMemory};
use zulip_calls::backend::keepalive::CALL_HEARTBEAT_INTERVAL;
use zulip_calls::backend::own_status::StatusMemory;
use zulip_calls::backend::recent::SeenMarks;
use zulip_calls::cli::{Cli, ExitStatus, TopCommand};
use zulip_calls::commands::{self, CallsOptions};
use zulip_calls::config;
use zulip_calls::output::Output;
use zulip_calls::preferences::Preferences;
use zulip_calls::runner::{self, RunError, RunOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logfile::init(cli.log_format);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), command = ?cli.command, "start");
    let (status, error) = run(cli);
    if let Some(message) = error {
        tracing::error!(status = status.code(), error = %message, "failed");
        eprintln!("error: {message}");
    }
    status.into()
}

/// The exit status and, on failure, the one line to show.
fn run(cli: Cli) -> (ExitStatus, Option<String>) {
    let memory = config::state_dir().map(|dir| DialectMemory::in_dir(&dir));
    let heartbeat_interval = cli.heartbeat_interval.unwrap_or(CALL_HEARTBEAT_INTERVAL);
    let mut options = RunOptions {
        no_browser: cli.no_browser,
        calls_api: cli.calls_api.unwrap_or_default(),
        memory: memory.clone(),
        heartbeat_interval,
        seen: config::state_dir().map(|dir| SeenMarks::in_dir(&dir)),
        replaced_status: config::state_dir().map(|dir| StatusMemory::in_dir(&dir)),
        preferences: Preferences::default(),
        dnd: cli.dnd,
    };
    let command = match cli.command.clone() {
        Some(TopCommand::Demo { as_email, tls }) => {
            return block_on(runner::run_demo(&as_email, tls, options));
        }
        Some(TopCommand::Completions { shell }) => {
            zulip_calls::manual::completions(shell, &mut std::io::stdout().lock());
            return (ExitStatus::Ok, None);
        }
        Some(TopCommand::Man) => {
            return match zulip_calls::manual::man(&mut std::io::stdout().lock()) {
                Ok(()) => (ExitStatus::Ok, None),
                Err(err) => (ExitStatus::Error, Some(err.to_string())),
            };
        }
        Some(TopCommand::Scripted(command)) => Some(command),
        None => None,
    };
    let home = directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_owned());
    let resolved = config::resolve_with_settings(&cli.credential_flags(), env_var, home.as_deref());
    if let Ok((_, settings)) = &resolved {
        for unknown in &settings.unknown_keys {
            tracing::warn!(%unknown, "zuliprc");
            eprintln!("warning: {unknown}");
        }
        options.preferences = settings.preferences;
    }
    // The flag wins over the zuliprc.
    let calls_api = cli
        .calls_api
        .or(options.preferences.calls_api)
        .unwrap_or(CallsApiChoice::Auto);
    options.calls_api = calls_api;
    let credentials = match resolved.map(|(credentials, _)| credentials) {
        Ok(Some(credentials)) => credentials,
        Ok(None) if command.is_none() => {
            use std::io::IsTerminal as _;
            if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
                // Nothing configured: the TUI asks for server, email and password.
                let save_path = config::login_save_path(home.as_deref());
                return block_on(runner::run_with_sign_in(options, save_path));
            }
            // No terminal to show the sign-in form in: point at the ways in.
            return (
                ExitStatus::Usage,
                Some(
                    "no credentials: run in a terminal to sign in, try `zulip-calls demo`, or \
                     put your account in a zuliprc ([api] email, key, site) at ~/.zuliprc or \
                     --config"
                        .to_owned(),
                ),
            );
        }
        Ok(None) => {
            return (
                ExitStatus::Usage,
                Some(
                    "no credentials: put them in a zuliprc ([api] email, key, site) at ~/.zuliprc \
                     or --config, set ZULIP_EMAIL, ZULIP_API_KEY and ZULIP_SITE, or pass \
                     --email, --api-key and --site"
                        .to_owned(),
                ),
            );
        }
        Err(err) => return (ExitStatus::Usage, Some(err.to_string())),
    };
    let api = match ApiClient::new(&credentials) {
        Ok(api) => api,
        Err(err) => return (commands::client_exit_status(&err), Some(err.to_string())),
    };
    let Some(command) = command else {
        return block_on(runner::run_signed_in(api, options));
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(err) => return (ExitStatus::Error, Some(err)),
    };
    let mut out = Output::new(std::io::stdout(), cli.json);
    let calls_options = CallsOptions {
        calls_api,
        memory,
        heartbeat_interval,
        seen: config::state_dir().map(|dir| SeenMarks::in_dir(&dir)),
    };
    match runtime.block_on(commands::run(command, &api, &calls_options, &mut out)) {
        Ok(status) => (status, None),
        Err(err) => (err.exit_status(), Some(err.to_string())),
    }
}

/// Runs the terminal UI to its end and maps its error to an exit status.
fn block_on(ui: impl Future<Output = Result<(), RunError>>) -> (ExitStatus, Option<String>) {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(err) => return (ExitStatus::Error, Some(err)),
    };
    match runtime.block_on(ui) {
        Ok(()) => (ExitStatus::Ok, None),
        Err(RunError::Client(err)) => (commands::client_exit_status(&err), Some(err.to_string())),
        Err(err @ RunError::NoSuchDemoUser(_)) => (ExitStatus::Usage, Some(err.to_string())),
        Err(err) => (ExitStatus::Error, Some(err.to_string())),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(|err| format!("{err:#}"))
}

/// The process environment as `config::resolve` wants it (unset and non-UTF-8 alike absent).
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Logs to `zulip-calls.log` in the user's state directory, never to the terminal. Logging is
/// best effort: when the file cannot be opened, nothing is logged.
mod logfile {
    use std::fs::{File, OpenOptions};
    use std::path::{Path, PathBuf};

    use zulip_calls::cli::LogFormat;

    /// A log bigger than this is moved aside to `zulip-calls.log.1` at start.
    const MAX_BYTES: u64 = 5 * 1024 * 1024;

    /// Installs the file logger (`RUST_LOG` overrides the default filter) in `format`.
    pub fn init(format: LogFormat) {
        let Some(file) = log_path().and_then(|path| open(&path)) else {
            return;
        };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "warn,zulip_calls=debug".into());
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file));
        let _ = match format {
            LogFormat::Text => builder.try_init(),
            LogFormat::Json => builder.json().try_init(),
        };
    }

    fn log_path() -> Option<PathBuf> {
        Some(zulip_calls::config::state_dir()?.join("zulip-calls.log"))
    }

    fn open(path: &Path) -> Option<File> {
        std::fs::create_dir_all(path.parent()?).ok()?;
        if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_BYTES) {
            let _ = std::fs::rename(path, path.with_extension("log.1"));
        }
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(path).ok()
    }
}
