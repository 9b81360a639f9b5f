//! `cleanup-calls`: whom to act as (each realm's first administrator by default) and the
//! `POST calls/cleanup` requests to a running server, summed up in one line.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use zulip_calls_protocol::calls::{Cleanup, CleanupRequest, CleanupResponse};
use zulip_calls_protocol::endpoint::request_path;
use zulip_calls_protocol::envelope::decode_response;
use zulip_calls_protocol::{DecodeError, ErrorCode, Success};

use super::{CliError, DEFAULT_SITE, find_user, load_realms, parse_site};
use crate::core::model::UserRecord;

/// How long `cleanup-calls` waits for the server to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `cleanup-calls` waits for the whole answer (a cleanup of many calls takes a while).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

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

pub(super) async fn cleanup_calls(args: &CleanupArgs) -> Result<String, CliError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;
    use crate::cli::tests::{demo, parse};
    use crate::server::config::ServerConfig;
    use crate::{Clock, Server};

    fn cleanup_args(args: &[&str]) -> CleanupArgs {
        let mut all = vec!["cleanup-calls"];
        all.extend_from_slice(args);
        match parse(&all) {
            Command::CleanupCalls(args) => args,
            other => panic!("{other:?}"),
        }
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
            db: crate::server::config::MEMORY_DB.into(),
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
}
