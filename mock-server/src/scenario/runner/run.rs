//! Running scenarios: the options, a fresh in-process mock per scenario or a running server,
//! and whether a running server suits a scenario's settings. Kept apart from the step-by-step
//! work, so where a scenario runs and how long its server lives are read in one place.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use zulip_calls_protocol::settings::Settings;

use super::capabilities::Capabilities;
use super::http::Http;
use super::outcome::ScenarioReport;
use super::session::Session;
use crate::scenario::model::Scenario;
use crate::scenario::vars::Vars;
use crate::{Clock, Server, ServerConfig, StartError};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A running server; `None` starts a fresh in-process mock per scenario.
    pub server: Option<String>,
    /// The control API's bearer token.
    pub token: Option<String>,
    /// Behave as against a real Zulip server: never touch the control API.
    pub no_control: bool,
    /// Password for actors named by email alone when no control API can tell their keys.
    pub password: Option<String>,
}

/// Runs every scenario in turn, handing each report to `done` as soon as it is ready.
pub async fn run_all(
    scenarios: &[Scenario],
    options: &Options,
    mut done: impl FnMut(&ScenarioReport),
) -> Vec<ScenarioReport> {
    let mut reports = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        let report = run_scenario(scenario, options).await;
        done(&report);
        reports.push(report);
    }
    reports
}

/// Runs one scenario: against `options.server`, or a fresh in-process mock with a virtual
/// clock and the scenario's settings.
pub async fn run_scenario(scenario: &Scenario, options: &Options) -> ScenarioReport {
    let started = Instant::now();
    let mut report = ScenarioReport::new(scenario);
    let settings = match scenario.server_settings() {
        Ok(settings) => settings,
        Err(err) => {
            report.error = Some(format!("settings: {err}"));
            return report;
        }
    };
    let mut server = None;
    let base = match &options.server {
        Some(url) => {
            if let Some(reason) = settings_mismatch(scenario).or_else(|| own_realm(scenario)) {
                report.skipped = Some(reason);
                report.duration = started.elapsed();
                return report;
            }
            url.clone()
        }
        None => match start_server(settings.clone(), scenario.realm_file.clone()).await {
            Ok(started) => {
                let url = started.url();
                server = Some(started);
                url
            }
            Err(err) => {
                report.error = Some(format!("cannot start the mock server: {err}"));
                return report;
            }
        },
    };
    match Http::new(&base, options.token.clone()) {
        Ok(http) => {
            let mut session = Session {
                http,
                scenario,
                caps: Capabilities::default(),
                vars: Vars::new(),
                identities: BTreeMap::new(),
                devices: Vec::new(),
                lifespan_seconds: settings.event_queue_lifespan as f64,
                remote: options.server.is_some(),
            };
            session.run(options, &mut report).await;
            session.teardown().await;
        }
        Err(err) => report.error = Some(err),
    }
    if let Some(server) = server {
        server.shutdown_within(Duration::from_secs(1)).await;
    }
    report.duration = started.elapsed();
    report
}

async fn start_server(
    settings: Settings,
    realm_file: Option<std::path::PathBuf>,
) -> Result<Server, StartError> {
    let config = ServerConfig {
        realm_file,
        ..ServerConfig::throwaway(settings)
    };
    Server::start(config, Clock::manual(Clock::System.now())).await
}

/// Why a running server cannot be used for a scenario with a realm file of its own: which
/// realm a running server serves cannot be told over the API.
pub fn own_realm(scenario: &Scenario) -> Option<String> {
    scenario.realm_file.as_ref().map(|file| {
        format!(
            "needs the realm file {} (a running server is taken to serve its own realms; run \
             without --server to get an in-process mock with this one)",
            file.display()
        )
    })
}

/// Why a running server cannot be used for `scenario`: it needs settings other than the spec's
/// defaults, and a running server's settings cannot be changed or read over the API, so it is
/// assumed to run with the defaults.
pub fn settings_mismatch(scenario: &Scenario) -> Option<String> {
    let defaults = Settings::default();
    let differing: Vec<String> = scenario
        .settings
        .iter()
        .filter(|(name, value)| {
            defaults
                .clone()
                .with_overrides(|n| (n == name.as_str()).then(|| (*value).clone()))
                .map_or(true, |s| s != defaults)
        })
        .map(|(name, value)| format!("{name} = {value}"))
        .collect();
    (!differing.is_empty()).then(|| {
        format!(
            "needs {} (a running server is taken to have the spec's defaults; run without \
             --server to get an in-process mock with these settings)",
            differing.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::model::parse;

    #[test]
    fn settings_other_than_the_defaults_skip_a_remote_run() {
        let load = |settings: &str| {
            parse(
                Path::new("t.toml"),
                &format!("name = \"t\"\n[settings]\n{settings}\n[actors]\nh = \"h@z\"\n[[step]]\nreset = true\n"),
            )
            .unwrap()
        };
        assert_eq!(settings_mismatch(&load("CALL_RING_TIMEOUT = 30")), None);
        let why =
            settings_mismatch(&load("CALL_RING_TIMEOUT = 10\nENABLE_AUDIO_CALLS = true")).unwrap();
        assert!(
            why.starts_with("needs CALL_RING_TIMEOUT = 10 (a running server"),
            "{why}"
        );
    }

    #[test]
    fn a_realm_of_its_own_skips_a_remote_run() {
        let mut scenario = parse(
            Path::new("t.toml"),
            "name = \"t\"\n[actors]\nh = \"h@z\"\n[[step]]\nreset = true\n",
        )
        .unwrap();
        assert_eq!(own_realm(&scenario), None);
        scenario.realm_file = Some("realms/full-house.toml".into());
        let why = own_realm(&scenario).unwrap();
        assert!(
            why.starts_with("needs the realm file realms/full-house.toml (a running server"),
            "{why}"
        );
    }
}
