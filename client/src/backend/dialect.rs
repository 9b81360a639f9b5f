//! Which calls API dialect a server speaks (the design document's, or the released plugin's
//! 1.1): chosen by the user (`--calls-api`, zuliprc `[zulip-calls] calls_api`), remembered per
//! site from an earlier run, or detected with one probe.
//!
//! The probe is `GET calls/history?limit=1`, the one path both dialects share: its answer has
//! `total`/`is_outgoing` in the design dialect and `next_cursor`/`was_initiator` in 1.1. A
//! server answering both sets of fields serves both dialects, and then the design dialect is
//! spoken, since it has more (media status, `active`, `end-all`). Only when the history says
//! nothing either way is `GET calls/active` (design only) asked too; 404 on both means the
//! server has no calls plugin.

use std::path::Path;

use serde_json::Value;
use zulip_calls_protocol::{Dialect, UnknownValue};

use super::api::{ApiClient, ClientError, code_for_status};
use super::state_file::StateFile;

/// How the dialect is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CallsApiChoice {
    /// Remembered for the site, else probed.
    #[default]
    Auto,
    /// This one, without asking the server.
    Fixed(Dialect),
}

impl CallsApiChoice {
    /// Every value the flag and the zuliprc take.
    pub const NAMES: &'static [&'static str] = &["auto", "design", "1.1"];

    /// The value as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CallsApiChoice::Auto => "auto",
            CallsApiChoice::Fixed(dialect) => dialect.as_str(),
        }
    }
}

impl std::fmt::Display for CallsApiChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CallsApiChoice {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(CallsApiChoice::Auto),
            other => other
                .parse::<Dialect>()
                .map(CallsApiChoice::Fixed)
                .map_err(|_| UnknownValue {
                    kind: "calls API",
                    value: s.to_owned(),
                    expected: CallsApiChoice::NAMES,
                }),
        }
    }
}

/// What `GET calls/history?limit=1` told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryProbe {
    /// A page of history, with the fields of the design dialect, of 1.1, of both or of neither.
    Page { design: bool, plugin: bool },
    /// 404: no such route.
    Missing,
    /// Another refusal that says nothing about the dialect (history switched off, say).
    Refused,
}

/// What `GET calls/active` told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveProbe {
    Present,
    /// 404: no such route.
    Missing,
}

/// What the probes decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Speak(Dialect),
    /// The history did not tell: ask `calls/active`.
    AskActive,
    /// 404 on both: no calls plugin at all.
    NoPlugin,
}

/// Decides from the history probe and, once asked, the active probe.
pub fn decide(history: HistoryProbe, active: Option<ActiveProbe>) -> Decision {
    match (history, active) {
        (HistoryProbe::Page { design: true, .. }, _) => Decision::Speak(Dialect::Design),
        (HistoryProbe::Page { plugin: true, .. }, _) => Decision::Speak(Dialect::V1_1),
        (_, None) => Decision::AskActive,
        (_, Some(ActiveProbe::Present)) => Decision::Speak(Dialect::Design),
        (HistoryProbe::Missing, Some(ActiveProbe::Missing)) => Decision::NoPlugin,
        // History answers but `active` is not there: only 1.1 lacks it.
        (_, Some(ActiveProbe::Missing)) => Decision::Speak(Dialect::V1_1),
    }
}

/// Reads a history answer: which dialect's fields a successful page has.
pub fn read_history_probe(status: u16, body: &Value) -> Option<HistoryProbe> {
    if status == 404 {
        return Some(HistoryProbe::Missing);
    }
    match body.get("result").and_then(Value::as_str) {
        Some("success") => {}
        Some("error") if (400..500).contains(&status) && !matches!(status, 401 | 429) => {
            return Some(HistoryProbe::Refused);
        }
        _ => return None,
    }
    let calls = body
        .get("calls")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let has = |top: &str, entry: &str| {
        body.get(top).is_some() || calls.iter().any(|call| call.get(entry).is_some())
    };
    Some(HistoryProbe::Page {
        design: has("total", "is_outgoing"),
        plugin: has("next_cursor", "was_initiator"),
    })
}

/// Whether a server with this history answer has group calls, when the answer tells: the
/// 1.1 dialect's fields mean a server of 1.1 or of both (group calls are 1.1's); the design
/// dialect's alone mean a design-only server (a server of both answers the union of the two).
pub fn group_calls_of(history: HistoryProbe) -> Option<bool> {
    match history {
        HistoryProbe::Page { plugin: true, .. } => Some(true),
        HistoryProbe::Page { design: true, .. } => Some(false),
        _ => None,
    }
}

/// What the probes found: the dialect to speak, and whether group calls exist when they told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    pub dialect: Dialect,
    pub group_calls: Option<bool>,
}

/// Asks the server which dialect it speaks.
pub async fn detect(api: &ApiClient) -> Result<Detected, ClientError> {
    let (status, body) = api.get_json("calls/history", &[("limit", "1")]).await?;
    let history = match read_history_probe(status, &body) {
        Some(history) => history,
        None => return Err(probe_error(api, status, &body)),
    };
    let group_calls = group_calls_of(history);
    let detected = |dialect| Detected {
        dialect,
        group_calls,
    };
    let active = match decide(history, None) {
        Decision::Speak(dialect) => return Ok(detected(dialect)),
        Decision::NoPlugin => return Err(no_plugin(api)),
        Decision::AskActive => {
            let (status, body) = api.get_json("calls/active", &[]).await?;
            match status {
                200 => ActiveProbe::Present,
                404 => ActiveProbe::Missing,
                _ => return Err(probe_error(api, status, &body)),
            }
        }
    };
    match decide(history, Some(active)) {
        Decision::Speak(dialect) => Ok(detected(dialect)),
        Decision::NoPlugin | Decision::AskActive => Err(no_plugin(api)),
    }
}

fn no_plugin(api: &ApiClient) -> ClientError {
    ClientError::NoCallsPlugin {
        site: api.server().site_str(),
    }
}

/// A probe's answer that is neither a page nor a 404: the server's own error when it sent one
/// (refused credentials, rate limit), else an unexpected answer.
fn probe_error(api: &ApiClient, status: u16, body: &Value) -> ClientError {
    let site = api.server().site_str();
    match serde_json::from_value::<zulip_calls_protocol::ApiError>(body.clone()) {
        Ok(mut err) if body.get("result").and_then(Value::as_str) == Some("error") => {
            if body.get("code").is_none() {
                err.code = code_for_status(status, &err);
            }
            ClientError::Api(Box::new(err))
        }
        _ => ClientError::Malformed {
            site,
            reason: format!("HTTP {status} to calls/history"),
        },
    }
}

/// Where the dialect came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--calls-api` or the zuliprc.
    Chosen,
    /// An earlier run's probe.
    Remembered,
    /// Probed now.
    Detected,
}

/// The dialect of a site and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub dialect: Dialect,
    pub source: Source,
    /// Whether the server has group calls, when the probe told (`None`: not probed now).
    pub group_calls: Option<bool>,
}

/// The dialect to speak with `api`'s server: the choice, else what `memory` holds for the
/// site, else the probe's answer (then remembered).
pub async fn resolve(
    api: &ApiClient,
    choice: CallsApiChoice,
    memory: Option<&DialectMemory>,
) -> Result<Resolved, ClientError> {
    if let CallsApiChoice::Fixed(dialect) = choice {
        return Ok(Resolved {
            dialect,
            source: Source::Chosen,
            group_calls: None,
        });
    }
    let site = api.server().site_str();
    if let Some(dialect) = memory.and_then(|m| m.recall(&site)) {
        tracing::debug!(%site, %dialect, "calls API remembered");
        return Ok(Resolved {
            dialect,
            source: Source::Remembered,
            group_calls: None,
        });
    }
    let Detected {
        dialect,
        group_calls,
    } = detect(api).await?;
    tracing::info!(%site, %dialect, "calls API detected");
    if let Some(memory) = memory {
        memory.remember(&site, dialect);
    }
    Ok(Resolved {
        dialect,
        source: Source::Detected,
        group_calls,
    })
}

/// The dialect of each site probed before, in a small JSON file (`{"<site>": "1.1", ...}`) in
/// the client's state directory. Best effort: a file that cannot be read or written only
/// means probing again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialectMemory {
    file: StateFile,
}

impl DialectMemory {
    /// The file's name in the state directory.
    pub const FILE_NAME: &'static str = "calls-api.json";

    /// The memory kept in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        DialectMemory {
            file: StateFile::new(dir, DialectMemory::FILE_NAME, "calls API memory"),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The dialect remembered for `site`.
    pub fn recall(&self, site: &str) -> Option<Dialect> {
        self.file
            .get::<String>(site)
            .and_then(|name| name.parse().ok())
    }

    /// Remembers `dialect` for `site`.
    pub fn remember(&self, site: &str, dialect: Dialect) {
        self.file.set(site, dialect.as_str().to_owned());
    }

    /// Forgets `site`, so the next run probes it again.
    pub fn forget(&self, site: &str) {
        self.file.remove::<String>(site);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(body: Value) -> HistoryProbe {
        read_history_probe(200, &body).unwrap()
    }

    #[test]
    fn design_fields_mean_the_design_dialect() {
        let design = page(json!({
            "result": "success", "msg": "", "has_more": false, "total": 0, "calls": []
        }));
        assert_eq!(
            design,
            HistoryProbe::Page {
                design: true,
                plugin: false
            }
        );
        assert_eq!(decide(design, None), Decision::Speak(Dialect::Design));
        // An older server without `total` still shows `is_outgoing` on its calls.
        let older = page(json!({"result": "success", "calls": [{"is_outgoing": true}]}));
        assert_eq!(decide(older, None), Decision::Speak(Dialect::Design));
    }

    #[test]
    fn plugin_fields_mean_1_1_even_at_the_end_of_history() {
        let empty = page(json!({
            "result": "success", "calls": [], "has_more": false, "next_cursor": null
        }));
        assert_eq!(decide(empty, None), Decision::Speak(Dialect::V1_1));
        let one = page(json!({"result": "success", "calls": [{"was_initiator": false}]}));
        assert_eq!(decide(one, None), Decision::Speak(Dialect::V1_1));
    }

    #[test]
    fn a_server_of_both_is_spoken_to_in_the_design_dialect() {
        let both = page(json!({
            "result": "success", "calls": [{"is_outgoing": true, "was_initiator": true}],
            "has_more": true, "total": 3, "next_cursor": "abc"
        }));
        assert_eq!(
            both,
            HistoryProbe::Page {
                design: true,
                plugin: true
            }
        );
        assert_eq!(decide(both, None), Decision::Speak(Dialect::Design));
    }

    #[test]
    fn the_history_tells_whether_group_calls_exist() {
        let design_only = page(json!({"result": "success", "calls": [], "total": 0}));
        assert_eq!(group_calls_of(design_only), Some(false));
        let plugin = page(json!({"result": "success", "calls": [], "next_cursor": null}));
        assert_eq!(group_calls_of(plugin), Some(true));
        let both = page(json!({
            "result": "success", "calls": [], "total": 0, "next_cursor": null
        }));
        assert_eq!(decide(both, None), Decision::Speak(Dialect::Design));
        assert_eq!(group_calls_of(both), Some(true));
        let bare = page(json!({"result": "success", "calls": []}));
        assert_eq!(group_calls_of(bare), None);
        assert_eq!(group_calls_of(HistoryProbe::Missing), None);
    }

    #[test]
    fn a_404_on_both_probes_means_no_plugin() {
        let missing = read_history_probe(
            404,
            &json!({"result": "error", "msg": "Not Found", "code": "NOT_FOUND"}),
        )
        .unwrap();
        assert_eq!(missing, HistoryProbe::Missing);
        assert_eq!(decide(missing, None), Decision::AskActive);
        assert_eq!(
            decide(missing, Some(ActiveProbe::Missing)),
            Decision::NoPlugin
        );
        // A non-JSON 404 page says the same.
        assert_eq!(
            read_history_probe(404, &Value::Null),
            Some(HistoryProbe::Missing)
        );
    }

    #[test]
    fn a_silent_history_is_settled_by_active() {
        let bare = page(json!({"result": "success", "calls": []}));
        assert_eq!(decide(bare, None), Decision::AskActive);
        assert_eq!(
            decide(bare, Some(ActiveProbe::Present)),
            Decision::Speak(Dialect::Design)
        );
        assert_eq!(
            decide(bare, Some(ActiveProbe::Missing)),
            Decision::Speak(Dialect::V1_1)
        );
        let disabled = read_history_probe(
            400,
            &json!({"result": "error", "msg": "Call history is disabled", "code": "FEATURE_DISABLED"}),
        )
        .unwrap();
        assert_eq!(disabled, HistoryProbe::Refused);
        assert_eq!(
            decide(disabled, Some(ActiveProbe::Present)),
            Decision::Speak(Dialect::Design)
        );
        assert_eq!(
            decide(disabled, Some(ActiveProbe::Missing)),
            Decision::Speak(Dialect::V1_1)
        );
        // Refused credentials are not an answer about the dialect.
        assert_eq!(
            read_history_probe(
                401,
                &json!({"result": "error", "msg": "Invalid API key", "code": "INVALID_API_KEY"})
            ),
            None
        );
    }

    #[test]
    fn choices_read_their_names() {
        assert_eq!("auto".parse(), Ok(CallsApiChoice::Auto));
        assert_eq!("1.1".parse(), Ok(CallsApiChoice::Fixed(Dialect::V1_1)));
        assert_eq!(
            " design ".parse(),
            Ok(CallsApiChoice::Fixed(Dialect::Design))
        );
        let err = "2.0".parse::<CallsApiChoice>().unwrap_err();
        assert!(err.to_string().contains("auto, design, 1.1"), "{err}");
    }

    #[test]
    fn the_memory_keeps_one_dialect_per_site() {
        let dir = tempfile::tempdir().unwrap();
        let memory = DialectMemory::in_dir(&dir.path().join("state"));
        assert_eq!(memory.recall("https://a.example"), None);
        memory.remember("https://a.example", Dialect::V1_1);
        memory.remember("https://b.example", Dialect::Design);
        let again = DialectMemory::in_dir(&dir.path().join("state"));
        assert_eq!(again.recall("https://a.example"), Some(Dialect::V1_1));
        assert_eq!(again.recall("https://b.example"), Some(Dialect::Design));
        again.forget("https://a.example");
        assert_eq!(memory.recall("https://a.example"), None);
        assert_eq!(memory.recall("https://b.example"), Some(Dialect::Design));
        std::fs::write(memory.path(), "not json").unwrap();
        assert_eq!(memory.recall("https://b.example"), None);
    }
}
