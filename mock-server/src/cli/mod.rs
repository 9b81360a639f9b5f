//! The command line: `serve`, `cleanup-calls`, `users`, `zuliprc`, `endpoints`, `scenario`
//! (which lives in [`crate::scenario`]), and `completions` and `man` for packaging.
//!
//! `main.rs` only parses and calls [`run`]. What a command prints is built by plain functions
//! ([`users_table`], [`zuliprc`], [`cleanup_summary`], [`serve_banner`], ...) so that it is
//! tested without starting processes. Each command has its own file; this one holds the parser,
//! the errors and what the commands share.
//!
//! Exit codes: 0 success; 1 the command failed (server unreachable or refusing, unknown user,
//! server stopped); 2 bad usage or configuration (clap's own errors, a bad config or realm file).

mod cleanup;
mod docs;
mod endpoints;
mod serve;
mod users;

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zulip_calls_protocol::ErrorCode;
use zulip_calls_protocol::endpoint::all_endpoints;

pub use self::cleanup::{
    CleanupArgs, Credentials, cleanup_credentials, cleanup_summary, request_cleanup,
};
pub use self::docs::{completions, man_page};
pub use self::endpoints::endpoints_listing;
pub use self::serve::{ServeArgs, bind_warning, open_control_warning, serve_banner};
pub use self::users::{UsersArgs, ZuliprcArgs, users_json, users_table, zuliprc};
use crate::core::model::UserRecord;
use crate::server::config::ConfigError;
use crate::server::realm::{LoadedRealms, RealmError, demo_realms, load_realm_file};

/// Where `serve` listens by default, as a URL: the default of every `--site`.
pub const DEFAULT_SITE: &str = "http://127.0.0.1:9991";

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
    /// Print the OpenAPI 3.1 document of everything the server serves (as `GET /openapi.json`
    /// does), for Prism, WireMock, Postman or schemathesis.
    Openapi,
    /// Run scripted call flows (TOML scenario files) against an in-process mock or --server.
    Scenario(crate::scenario::ScenarioArgs),
    /// Print a shell completion script (e.g. `zulip-calls-mock completions bash > ...`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `zulip-calls-mock man | man -l -`.
    Man,
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
        Command::Serve(args) => return serve::serve(args),
        Command::Scenario(args) => return crate::scenario::command(args),
        Command::CleanupCalls(args) => block_on(cleanup::cleanup_calls(&args)),
        Command::Users(args) => users::users(&args),
        Command::Zuliprc(args) => users::zuliprc_command(&args),
        Command::Completions { shell } => Ok(completions(shell)),
        Command::Man => man_page(),
        Command::Openapi => serde_json::to_string_pretty(&crate::qa::control::openapi::document())
            .map(|text| text + "\n")
            .map_err(|e| CliError::Runtime(e.to_string())),
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

/// A `--site` value, checked as the scenario runner checks its `--server`: an http(s) URL
/// without query or fragment, kept without a trailing slash so API paths can be appended.
pub use crate::scenario::server_url as parse_site;

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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::server::config::DEFAULT_BIND;

    pub(super) fn parse(args: &[&str]) -> Command {
        Cli::try_parse_from(std::iter::once("zulip-calls-mock").chain(args.iter().copied()))
            .unwrap()
            .command
    }

    pub(super) fn demo() -> LoadedRealms {
        demo_realms().unwrap()
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
}
