//! `serve`: the configuration from the flags, the server started and announced (the banner,
//! warnings about what other machines can reach), then run until SIGINT or SIGTERM.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use zulip_calls_protocol::Compat;

use super::DEFAULT_SITE;
use crate::core::directory::Directory;
use crate::core::model::UserRecord;
use crate::server::config::{ConfigFlags, load};
use crate::server::telemetry::{self, LogFormat};
use crate::server::tls::TlsInfo;
use crate::{Clock, Server, StartError};

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
    /// overrides MOCK_ADMIN_TOKEN and the config file. Without one the control API is open on
    /// loopback, and off loopback a random token is generated and printed; `none` leaves it
    /// open anyway.
    #[arg(long, value_name = "TOKEN")]
    pub admin_token: Option<String>,
    /// Log lines on stderr as text or as one JSON object a line; overrides the config file
    /// [default: text].
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Run on a virtual clock: time moves only through POST /mock/v1/clock/advance, which
    /// fires every deadline on the way.
    #[arg(long)]
    pub virtual_clock: bool,
    /// Where the virtual clock starts (RFC 3339, e.g. 2026-01-01T09:00:00Z); implies
    /// --virtual-clock [default: now].
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub clock_start: Option<zulip_calls_protocol::Timestamp>,
    /// Which calls API dialects to serve: both (the design document's and the released
    /// plugin's 1.1), design, or 1.1 (the other dialect's own endpoints then answer 404, as
    /// such a server would); overrides CALLS_API and the config file [default: both].
    #[arg(long, value_name = "DIALECTS")]
    pub calls_api: Option<zulip_calls_protocol::CallsApi>,
    /// contract (the 1.1 contract, the plugin's bugs fixed) or plugin-1.1.0 (the released
    /// plugin's code as deployed, bugs included; implies --calls-api 1.1); overrides
    /// CALLS_COMPAT and the config file [default: contract].
    #[arg(long, value_name = "MODE")]
    pub compat: Option<zulip_calls_protocol::Compat>,
    /// Serve HTTPS and WSS with a self-signed certificate generated on first start (kept in
    /// tls/ beside the database and reused); the banner prints its fingerprint and the CA file
    /// clients trust with cert_bundle.
    #[arg(long)]
    pub tls: bool,
    /// Serve HTTPS with this PEM certificate chain (server certificate first) instead of a
    /// generated one; needs --tls-key.
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// A `--clock-start` value.
fn parse_time(value: &str) -> Result<zulip_calls_protocol::Timestamp, String> {
    value
        .parse()
        .map_err(|_| format!("{value:?} is not an RFC 3339 time such as 2026-01-01T09:00:00Z"))
}

pub(super) fn serve(args: ServeArgs) -> ExitCode {
    let flags = ConfigFlags {
        bind: args.bind,
        db: args.db,
        realm: args.realm,
        heartbeat_seconds: None,
        admin_token: args.admin_token,
        log_format: args.log_format,
        virtual_clock: args.virtual_clock,
        clock_start: args.clock_start,
        calls_api: args.calls_api,
        compat: args.compat,
        tls: args.tls,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
    };
    let config = match load(args.config.as_deref(), |n| std::env::var(n).ok(), &flags) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    // After loading, which may choose the format; a bad configuration is reported on stderr
    // without a logger.
    telemetry::init_logging(config.log_format);
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
        let token_configured = config.admin_token.is_some();
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
            server.tls.as_ref(),
            &server.state.core.directory(),
        );
        print!("{banner}");
        if let Some(token) = server.state.admin_token.as_deref()
            && !token_configured
        {
            print!("{}", generated_token_notice(&server.url(), token));
        }
        if let Some(dialect) = server.state.core.settings().calls_api.only() {
            println!(
                "Speaking the {dialect} calls API only (CALLS_API={dialect}): the other dialect's \
                 own endpoints answer 404"
            );
        }
        if server.state.core.settings().calls_compat == Compat::Plugin1_1_0 {
            println!(
                "Behaving as the released plugin 1.1.0 does, bugs included \
                 (CALLS_COMPAT=plugin-1.1.0; spec/plugin-1.1-dialect.md §9)"
            );
        }
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
             machine can log in with the realm file's credentials (the demo realm's are public); \
             the control API needs the admin token unless --admin-token none"
        )
    })
}

/// A warning when the control API (which can reset the server, create users and read their
/// keys) is open to other machines: bound off loopback with `--admin-token none` (without
/// it, a token is generated there).
pub fn open_control_warning(addr: SocketAddr, admin_token: Option<&str>) -> Option<String> {
    (!addr.ip().is_loopback() && admin_token.is_none()).then(|| {
        format!(
            "the control API (/mock/v1, /metrics) is open to anyone who can reach {addr}, who \
             can reset the server and read every user's API key (--admin-token none); set a \
             token with --admin-token or MOCK_ADMIN_TOKEN, or leave it unset to get a generated one"
        )
    })
}

/// What `serve` prints once when it generated the control API's token (off loopback without
/// one): the token, and how to pass it, as the control API checks only this header.
pub fn generated_token_notice(url: &str, token: &str) -> String {
    format!(
        "Control API token (generated for this run; set one with --admin-token or \
         MOCK_ADMIN_TOKEN): {token}\n\
         Pass it as a header: curl -H 'Authorization: Bearer {token}' {url}/mock/v1/server\n"
    )
}

/// What `serve` prints once it listens. The first line names the URL (tests read it); with
/// TLS the next two say which certificate is served and how clients trust it; the rest says
/// how to log in.
pub fn serve_banner(
    url: &str,
    db: &str,
    realm_file: Option<&Path>,
    tls: Option<&TlsInfo>,
    directory: &Directory,
) -> String {
    let mut out = format!("zulip-calls-mock serving {url} (database: {db})\n");
    let mut bundle_flag = String::new();
    if let Some(tls) = tls {
        let ca = shell_quote(&tls.ca_path.display().to_string());
        let _ = writeln!(
            out,
            "TLS certificate SHA-256 fingerprint: {}",
            tls.fingerprint
        );
        let _ = writeln!(
            out,
            "Clients trust it with cert_bundle={ca} in a zuliprc (zulip-calls --cert-bundle {ca})"
        );
        bundle_flag = format!(" --cert-bundle {ca}");
    }
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
            "A ready zuliprc: zulip-calls-mock zuliprc {}{realm_flag}{site_flag}{bundle_flag} > zuliprc",
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

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::tests::{demo, parse};
    use crate::cli::{Cli, Command};
    use crate::core::model::{RealmId, RealmRecord};

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
    fn an_open_control_api_is_warned_about_only_off_loopback_without_a_token() {
        let any: SocketAddr = "0.0.0.0:9991".parse().unwrap();
        let warning = open_control_warning(any, None).unwrap();
        assert!(warning.contains("/mock/v1"), "{warning}");
        assert!(warning.contains("--admin-token none"), "{warning}");
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
    fn a_generated_token_is_shown_with_how_to_pass_it() {
        let notice = generated_token_notice("http://0.0.0.0:9991", "abc123");
        let lines: Vec<&str> = notice.lines().collect();
        assert_eq!(lines.len(), 2, "{notice}");
        assert!(lines[0].ends_with(": abc123"), "{notice}");
        assert!(
            lines[1].contains("-H 'Authorization: Bearer abc123' http://0.0.0.0:9991/mock/v1/"),
            "{notice}"
        );
    }

    #[test]
    fn serve_takes_a_log_format() {
        match parse(&["serve", "--log-format", "json"]) {
            Command::Serve(args) => assert_eq!(args.log_format, Some(LogFormat::Json)),
            other => panic!("{other:?}"),
        }
        match parse(&["serve"]) {
            Command::Serve(args) => assert_eq!(args.log_format, None),
            other => panic!("{other:?}"),
        }
        let err =
            Cli::try_parse_from(["zulip-calls-mock", "serve", "--log-format", "xml"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn only_non_loopback_binds_are_warned_about() {
        assert_eq!(bind_warning("127.0.0.1:9991".parse().unwrap()), None);
        assert_eq!(bind_warning("[::1]:9991".parse().unwrap()), None);
        let warning = bind_warning("0.0.0.0:9991".parse().unwrap()).unwrap();
        assert!(warning.contains("not a loopback address"), "{warning}");
        assert!(warning.contains("admin token"), "{warning}");
        assert!(bind_warning("192.168.1.5:80".parse().unwrap()).is_some());
    }

    fn demo_directory() -> Directory {
        let realms = demo();
        Directory::new(realms.realms, realms.users)
    }

    #[test]
    fn the_banner_says_where_and_how_to_log_in() {
        let banner = serve_banner(
            DEFAULT_SITE,
            "/tmp/x.sqlite3",
            None,
            None,
            &demo_directory(),
        );
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
            None,
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
    fn a_tls_banner_names_the_fingerprint_and_the_ca_to_trust() {
        let tls = TlsInfo {
            fingerprint: "AB:CD".into(),
            ca_path: "/data/tls/ca.pem".into(),
        };
        let banner = serve_banner(
            "https://127.0.0.1:4000",
            "/data/mock.sqlite3",
            None,
            Some(&tls),
            &demo_directory(),
        );
        let lines: Vec<&str> = banner.lines().collect();
        assert_eq!(
            lines[0],
            "zulip-calls-mock serving https://127.0.0.1:4000 (database: /data/mock.sqlite3)"
        );
        assert_eq!(lines[1], "TLS certificate SHA-256 fingerprint: AB:CD");
        assert_eq!(
            lines[2],
            "Clients trust it with cert_bundle=/data/tls/ca.pem in a zuliprc \
             (zulip-calls --cert-bundle /data/tls/ca.pem)"
        );
        assert!(
            banner.contains(
                "--site https://127.0.0.1:4000 --cert-bundle /data/tls/ca.pem > zuliprc\n"
            ),
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
        assert!(
            serve_banner(DEFAULT_SITE, "db", None, None, &none).contains("password login is off")
        );
        let mixed = Directory::new(vec![realm], vec![user(1, Some("a")), user(2, Some("b"))]);
        let banner = serve_banner(DEFAULT_SITE, "db", None, None, &mixed);
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
}
