//! The command line, and where the released plugin's code is.

use std::path::{Path, PathBuf};

use clap::Parser;

/// Play one request sequence against two servers of the plugin's 1.1 dialect and show, request
/// by request, where their status, body, events and pushes differ.
///
/// By default A is the released plugin's own code (started here through the realplugin
/// harness: REALPLUGIN_DIR is the folder with its run.sh, REALPLUGIN_UPSTREAM the downloaded
/// plugin code) and B the mock in its plugin-1.1.0 mode (started here with the same users).
/// Either can be a server already running instead (--a/--b). Exit status: 0 identical (or
/// skipped: the plugin's code is not there), 1 differences, 2 usage or startup error.
#[derive(Debug, Parser)]
#[command(name = "zulip-calls-diff", version)]
pub struct Cli {
    /// Server A, already running (its base URL); default: the plugin's code, started here.
    #[arg(long, value_name = "URL")]
    pub a: Option<String>,
    /// A's users, in the shape of the plugin harness's users.json (default: a mock's
    /// `GET /mock/v1/users`).
    #[arg(long, value_name = "FILE", requires = "a")]
    pub a_users: Option<PathBuf>,
    /// Server B, already running; default: the mock, started here with A's users.
    #[arg(long, value_name = "URL")]
    pub b: Option<String>,
    /// B's users, as --a-users.
    #[arg(long, value_name = "FILE", requires = "b")]
    pub b_users: Option<PathBuf>,
    /// The CALLS_COMPAT mode of the mock started as B: plugin-1.1.0 or contract.
    #[arg(long, value_name = "MODE", default_value = "plugin-1.1.0")]
    pub compat: String,
    /// A setting for the mock started as B (repeatable), e.g. CALL_REDIAL_COOLDOWN=5.
    #[arg(long = "mock-env", value_name = "KEY=VALUE", value_parser = key_value)]
    pub mock_env: Vec<(String, String)>,
    /// The zulip-calls-mock binary (default: the one built beside this tool).
    #[arg(long, value_name = "PATH")]
    pub mock_bin: Option<PathBuf>,
    /// Leave out differences at these JSON paths (repeatable; `*` within a step, `**`
    /// across): body.msg, ev.*[*].user_id, push**.
    #[arg(long, value_name = "PATH")]
    pub ignore: Vec<String>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to this file (whatever is printed).
    #[arg(long, value_name = "FILE")]
    pub json_file: Option<PathBuf>,
    /// The realplugin harness folder (with run.sh).
    #[arg(long, env = "REALPLUGIN_DIR", value_name = "DIR")]
    pub realplugin_dir: Option<PathBuf>,
    /// The downloaded plugin code (a folder holding zulip_calls_plugin/).
    #[arg(long, env = "REALPLUGIN_UPSTREAM", value_name = "DIR")]
    pub realplugin_upstream: Option<PathBuf>,
}

fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// Where the harness and the plugin's code are, or why they cannot be used.
#[derive(Debug)]
pub struct PluginPlace {
    pub harness: PathBuf,
    pub upstream: PathBuf,
}

impl Cli {
    /// The harness and the plugin's code, or the one sentence saying why the run is skipped.
    pub fn plugin_place(&self) -> Result<PluginPlace, String> {
        let missing = |reason: String| {
            format!(
                "Skipped: the released plugin's code is not there ({reason}); get it as \
                 fetch.md in the realplugin folder says, then set REALPLUGIN_DIR to that folder \
                 and REALPLUGIN_UPSTREAM to the downloaded code."
            )
        };
        let upstream = self
            .realplugin_upstream
            .clone()
            .ok_or_else(|| missing("REALPLUGIN_UPSTREAM is not set".to_owned()))?;
        let views = upstream.join("zulip_calls_plugin/views/calls.py");
        if !views.is_file() {
            return Err(missing(format!("{} does not exist", views.display())));
        }
        let harness = self
            .realplugin_dir
            .clone()
            .ok_or_else(|| missing("REALPLUGIN_DIR is not set".to_owned()))?;
        if !Path::new(&harness.join("run.sh")).is_file() {
            return Err(missing(format!(
                "{} does not exist",
                harness.join("run.sh").display()
            )));
        }
        Ok(PluginPlace { harness, upstream })
    }
}
