//! `zulip-calls-mock scenario run FILE...`: scripted call flows for QA and CI.
//!
//! A scenario file (TOML, see [`model`]) names its actors and lists steps: API requests with
//! expected answers, events to wait for, call states to check, and — on the mock only — clock
//! advances, faults, push and journal checks. Without `--server` each scenario gets a fresh
//! in-process mock with a virtual clock and the scenario's settings, so scenarios cannot
//! disturb each other; with `--server` they run against that server (reset between scenarios
//! when it has the control API), and steps it cannot support are reported as skipped.
//!
//! Exit codes: 0 every scenario passed or was skipped; 1 a scenario failed; 2 a scenario file
//! is malformed or the command line is wrong.

pub mod model;
pub mod report;
pub mod runner;
pub mod vars;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};

use self::model::{LoadError, Scenario, load_file};
use self::runner::{Options, Outcome};

/// `scenario` and its subcommands.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    #[command(subcommand)]
    pub command: ScenarioCommand,
}

#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Run scenario files and report each step (exit 0 all passed or skipped, 1 a failure,
    /// 2 a malformed file).
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files (TOML), or directories whose *.toml files are run in name order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Run against this server instead of a fresh in-process mock per scenario.
    #[arg(long, value_parser = server_url)]
    pub server: Option<String>,
    /// The server's control API token (its MOCK_ADMIN_TOKEN).
    #[arg(long, env = "MOCK_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Also write a JUnit XML report to this file.
    #[arg(long, value_name = "OUT.xml")]
    pub junit: Option<PathBuf>,
    /// Never use the control API, as against a real Zulip server: steps that need it are
    /// skipped.
    #[arg(long)]
    pub no_control: bool,
    /// Sign actors given by email alone in with this password (POST fetch_api_key) when no
    /// control API can tell their API keys.
    #[arg(long)]
    pub password: Option<String>,
}

/// A `--server` (or `--site`) value: an http(s) URL without query or fragment, kept without
/// a trailing slash so API paths can be appended.
pub fn server_url(value: &str) -> Result<String, String> {
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

/// Why `scenario run` could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{}: no *.toml files in this directory", path.display())]
    EmptyDirectory { path: PathBuf },
    #[error("{}: {source}", path.display())]
    List {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the JUnit report {}: {source}", path.display())]
    Junit {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// Runs `scenario ...`.
pub fn command(args: ScenarioArgs) -> ExitCode {
    match args.command {
        ScenarioCommand::Run(args) => run(&args),
    }
}

fn run(args: &RunArgs) -> ExitCode {
    init_logging();
    let scenarios = match load_all(&args.files) {
        Ok(scenarios) => scenarios,
        Err(errors) => {
            for err in &errors {
                eprintln!("error: {err}");
            }
            return ExitCode::from(2);
        }
    };
    let options = Options {
        server: args.server.clone(),
        token: args.token.clone(),
        no_control: args.no_control,
        password: args.password.clone(),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: {}", ScenarioError::Runtime(err));
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let reports = runtime.block_on(runner::run_all(&scenarios, &options, |report| {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(report::scenario_text(report).as_bytes());
        let _ = stdout.flush();
    }));
    print!("{}", report::summary(&reports, started.elapsed()));
    if let Some(path) = &args.junit
        && let Err(source) = std::fs::write(path, report::junit(&reports))
    {
        eprintln!(
            "error: {}",
            ScenarioError::Junit {
                path: path.clone(),
                source
            }
        );
        return ExitCode::from(2);
    }
    if reports.iter().any(|r| r.outcome() == Outcome::Failed) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The files named (directories expanded to their *.toml files, sorted), loaded; or every
/// problem found, so one run reports all malformed files at once.
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Scenario>, Vec<ScenarioError>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match expand(path) {
            Ok(found) => files.extend(found),
            Err(err) => errors.push(err),
        }
    }
    let mut scenarios = Vec::new();
    for file in files {
        match load_file(&file) {
            Ok(scenario) => scenarios.push(scenario),
            Err(err) => errors.push(err.into()),
        }
    }
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(errors)
    }
}

fn expand(path: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let list = |source| ScenarioError::List {
        path: path.to_owned(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(list)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ScenarioError::EmptyDirectory {
            path: path.to_owned(),
        });
    }
    Ok(files)
}

/// Warnings only unless `RUST_LOG` says otherwise: the report is the output, and the
/// in-process server's request lines (an injected 503 logs as an error) would bury it.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,zulip_calls_mock::server::telemetry=off")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_expand_to_their_toml_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.toml", "a.toml", "notes.md"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let files = expand(dir.path()).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.toml", "b.toml"]);
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            expand(empty.path()),
            Err(ScenarioError::EmptyDirectory { .. })
        ));
    }

    #[test]
    fn server_urls_lose_their_trailing_slash() {
        assert_eq!(
            server_url("http://127.0.0.1:9991/").unwrap(),
            "http://127.0.0.1:9991"
        );
        assert_eq!(
            server_url("https://host/zulip/").unwrap(),
            "https://host/zulip"
        );
        assert!(server_url("nonsense").is_err());
    }

    #[test]
    fn every_malformed_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "name = 1").unwrap();
        std::fs::write(dir.path().join("b.toml"), "nonsense [").unwrap();
        let errors =
            load_all(&[dir.path().to_owned(), dir.path().join("missing.toml")]).unwrap_err();
        assert_eq!(errors.len(), 3);
        assert!(errors[0].to_string().contains("a.toml"), "{}", errors[0]);
        assert!(
            errors[2].to_string().contains("missing.toml: cannot read"),
            "{}",
            errors[2]
        );
    }
}
