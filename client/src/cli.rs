//! The command line: global credential flags, the scriptable subcommands, and the exit codes
//! scripts can rely on (listed in `--help`, generated from [`ExitStatus`] so they cannot drift).

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use zulip_calls_protocol::{CallId, CallState, CallType, MediaStatus, UnknownValue};

use crate::backend::dialect::CallsApiChoice;
use crate::config::CredentialFlags;

/// Phone-style calls for Zulip teams, from the terminal.
///
/// Credentials come from a zuliprc (`--config`, `$ZULIPRC`, `~/.zuliprc`), then `ZULIP_EMAIL`,
/// `ZULIP_API_KEY`, `ZULIP_SITE`, then the flags below; later sources win.
#[derive(Debug, Parser)]
#[command(name = "zulip-calls", version, about, after_help = exit_codes_help())]
pub struct Cli {
    /// Zulip server URL (overrides ZULIP_SITE and the zuliprc's `site`).
    #[arg(long, global = true)]
    pub site: Option<String>,
    /// Account email (overrides ZULIP_EMAIL and the zuliprc's `email`).
    #[arg(long, global = true)]
    pub email: Option<String>,
    /// API key (overrides ZULIP_API_KEY and the zuliprc's `key`).
    #[arg(long, global = true)]
    pub api_key: Option<String>,
    /// Path of a zuliprc file (overrides ZULIPRC).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Accept any TLS certificate, for HTTP and the event WebSocket alike (as the zuliprc's
    /// `insecure=true`): for test servers only.
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Also trust the CA certificates in this PEM file (overrides the zuliprc's
    /// `cert_bundle`), e.g. the CA `zulip-calls-mock serve --tls` prints.
    #[arg(long, global = true, value_name = "PATH")]
    pub cert_bundle: Option<PathBuf>,
    /// Show meeting URLs instead of opening a browser (subcommands always just print them).
    #[arg(long, global = true)]
    pub no_browser: bool,
    /// Start the terminal UI with do-not-disturb on (`d` toggles it): calls neither ring nor
    /// pop up.
    #[arg(long, global = true)]
    pub dnd: bool,
    /// Print JSON for machines instead of text: one object per line.
    #[arg(long, global = true)]
    pub json: bool,
    /// Which calls API the server speaks: `auto` detects it (once per server, then
    /// remembered), `design` or `1.1` skip the detection (overrides the zuliprc's
    /// `[zulip-calls] calls_api`).
    #[arg(long, global = true, value_name = "API", value_parser = calls_api_choice())]
    pub calls_api: Option<CallsApiChoice>,
    /// Seconds between heartbeats of a held call on servers that need them.
    #[arg(long, global = true, hide = true, value_name = "SECONDS", value_parser = heartbeat_interval)]
    pub heartbeat_interval: Option<Duration>,
    /// How the log file (zulip-calls.log in the state directory) is written: text, or one
    /// JSON object a line for log collectors.
    #[arg(long, global = true, value_name = "FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// Without a subcommand: the full-screen terminal UI.
    #[command(subcommand)]
    pub command: Option<TopCommand>,
}

/// The log file's format (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`, `spans`).
    Json,
}

impl Cli {
    /// The flags that take part in credential resolution.
    pub fn credential_flags(&self) -> CredentialFlags {
        CredentialFlags {
            config: self.config.clone(),
            site: self.site.clone(),
            email: self.email.clone(),
            api_key: self.api_key.clone(),
            insecure: self.insecure,
            cert_bundle: self.cert_bundle.clone(),
        }
    }
}

/// Every subcommand: the scriptable ones plus `demo`, which needs no account (kept apart so
/// [`crate::commands::run`] handles exactly the scriptable ones).
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum TopCommand {
    /// Try the terminal UI against a built-in demo server (no account needed); prints how a
    /// second terminal joins the same demo as someone else.
    Demo {
        /// The demo user to sign in as.
        #[arg(long = "as", value_name = "EMAIL", default_value = DEMO_DEFAULT_USER)]
        as_email: String,
        /// Serve the demo over HTTPS and WSS, with the certificate `zulip-calls-mock serve
        /// --tls` generates (kept in its data directory), and trust its CA.
        #[arg(long)]
        tls: bool,
    },
    /// Print a completion script for SHELL on stdout, e.g. `zulip-calls completions bash >
    /// ~/.local/share/bash-completion/completions/zulip-calls`.
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout, e.g. `zulip-calls man | man -l -`.
    Man,
    #[command(flatten)]
    Scripted(Command),
}

/// Who `demo` signs in as unless told otherwise.
pub const DEMO_DEFAULT_USER: &str = "hamlet@zulip.com";

/// The scriptable subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Call someone: USER is a user id, an email, or part of a full name matching one person.
    Call {
        /// User id, email, or a unique part of a full name.
        user: String,
        /// An audio call (camera off) instead of video.
        #[arg(long)]
        audio: bool,
        /// Wait for the answer: exit 0 when accepted, otherwise the outcome's exit code. With
        /// --json, prints the placed call, then the outcome, one JSON object per line.
        /// Interrupting (Ctrl-C) cancels the call. A server that asks to wait a moment before
        /// another call (the released plugin does for 5 s after a call ended) is asked once
        /// more after the wait it names, or 5 s.
        #[arg(long)]
        wait: bool,
        /// With --wait: once accepted, stay in the call until it ends (see `answer --hold`).
        #[arg(long, requires = "wait")]
        hold: bool,
    },
    /// Accept an incoming call and print its meeting URL.
    Answer {
        #[arg(value_name = "CALL_ID")]
        call_id: CallId,
        /// Stay in the call until it ends, keeping it alive on servers that drop calls whose
        /// clients went quiet (calls API 1.1); then print how it ended. Interrupting (Ctrl-C)
        /// hangs up.
        #[arg(long)]
        hold: bool,
    },
    /// Decline an incoming call.
    Reject {
        #[arg(value_name = "CALL_ID")]
        call_id: CallId,
    },
    /// Hang up (or cancel) a call; without CALL_ID, your only active call.
    End {
        #[arg(value_name = "CALL_ID")]
        call_id: Option<CallId>,
    },
    /// End every active call of yours.
    EndAll,
    /// Report an in-call media status (the call must be accepted).
    Status {
        #[arg(value_name = "CALL_ID")]
        call_id: CallId,
        #[arg(value_name = "STATUS", value_parser = wire_enum::<MediaStatus>(MediaStatus::ALL.iter().map(|s| s.as_str())))]
        status: MediaStatus,
    },
    /// List your active calls.
    Active,
    /// List past calls, newest first.
    History {
        /// Calls per page (1 to 200).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,
        /// Calls to skip.
        #[arg(long, default_value_t = 0)]
        offset: u32,
        /// Only calls of this type.
        #[arg(long = "type", value_name = "TYPE", value_parser = wire_enum::<CallType>(CallType::ALL.iter().map(|s| s.as_str())))]
        call_type: Option<CallType>,
        /// Only calls in this state.
        #[arg(long, value_parser = wire_enum::<CallState>(CallState::ALL.iter().map(|s| s.as_str())))]
        state: Option<CallState>,
    },
    /// List calls to you that rang unanswered (missed or timed out) since you last looked at
    /// History in the terminal UI, newest first.
    Missed {
        /// Every missed call in your history, whether or not History was looked at since.
        #[arg(long)]
        all: bool,
    },
    /// Your calls at a glance: calls per day (answered, missed, declined), your answer rate
    /// (calls to you that you answered) and the average call length. Days are UTC days.
    Stats {
        /// Days to cover, ending today.
        #[arg(long, default_value_t = crate::app::stats::CHART_DAYS, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
    },
    /// List the people of your organization.
    Users,
    /// Print one JSON line per call event (group call events too) until interrupted (also
    /// without --json).
    Watch,
    /// Group calls (servers with the released plugin's calls API, 1.1 or both).
    Group {
        #[command(subcommand)]
        command: GroupCommand,
    },
}

/// The group call subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum GroupCommand {
    /// Start a group call and invite USERs (each a user id, an email, or a unique part of a
    /// full name); prints the call and your join URL.
    Start {
        /// Whom to invite.
        #[arg(value_name = "USER", required = true)]
        users: Vec<String>,
        /// The call's title.
        #[arg(long)]
        title: Option<String>,
        /// An audio call (cameras off) instead of video.
        #[arg(long)]
        audio: bool,
        /// Wait until someone joins (exit 0), keeping the call alive meanwhile; when every
        /// invitee declined (10) or nobody joined in time (11) the call is ended. With
        /// --json, prints the call, then the outcome, one JSON object per line. Interrupting
        /// (Ctrl-C) ends the call.
        #[arg(long)]
        wait: bool,
        /// With --wait: once someone joined, stay in the call until it ends (see `group join
        /// --hold`).
        #[arg(long, requires = "wait")]
        hold: bool,
    },
    /// Invite more USERs to a group call you are in.
    Invite {
        #[arg(value_name = "CALL_ID")]
        call_id: CallId,
        #[arg(value_name = "USER", required = true)]
        users: Vec<String>,
    },
    /// Join a group call you were invited to (or left), and print your join URL.
    Join {
        #[arg(value_name = "CALL_ID")]
        call_id: CallId,
        /// Stay in the call until it ends, keeping it alive on servers that drop participants
        /// whose clients went quiet; then print how it ended. Interrupting (Ctrl-C) leaves.
        #[arg(long)]
        hold: bool,
    },
    /// Leave a group call (it goes on without you).
    Leave {
        #[arg(value_name = "CALL_ID")]
        call_id: CallId,
    },
    /// Decline an invitation to a group call.
    Decline {
        #[arg(value_name = "CALL_ID")]
        call_id: CallId,
    },
    /// End a group call for everyone (its host only).
    End {
        #[arg(value_name = "CALL_ID")]
        call_id: CallId,
    },
    /// Show a group call.
    Status {
        #[arg(value_name = "CALL_ID")]
        call_id: CallId,
    },
    /// List a group call's participants and their states.
    Participants {
        #[arg(value_name = "CALL_ID")]
        call_id: CallId,
    },
}

/// `auto`, `design` or `1.1`, listed in `--help` and error messages.
fn calls_api_choice() -> impl TypedValueParser<Value = CallsApiChoice> {
    PossibleValuesParser::new(CallsApiChoice::NAMES).try_map(|s| s.parse::<CallsApiChoice>())
}

/// The most seconds between heartbeats the 1.1 dialect allows.
const MAX_HEARTBEAT_SECONDS: f64 = 15.0;

/// Seconds (fractions allowed) above zero and at most 15.
fn heartbeat_interval(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if seconds > 0.0 && seconds <= MAX_HEARTBEAT_SECONDS {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(format!(
            "must be above 0 and at most {MAX_HEARTBEAT_SECONDS} seconds"
        ))
    }
}

/// A parser offering exactly the wire values of one of the protocol's string enums, so
/// `--help` and error messages list them.
fn wire_enum<T>(names: impl Iterator<Item = &'static str>) -> impl TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = UnknownValue> + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(names.collect::<Vec<_>>()).try_map(|s| s.parse::<T>())
}

/// How the process ends; the numbers are part of the interface for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// Success (for `call --wait`: the call was accepted; `group start --wait`: someone
    /// joined).
    Ok,
    /// Any other error.
    Error,
    /// Bad usage or configuration (including missing credentials).
    Usage,
    /// The server cannot be reached (network, TLS, no answer in time), or cannot serve calls
    /// (it has no calls plugin, or not the calls API chosen).
    Unreachable,
    /// The server refused the credentials.
    AuthFailed,
    /// No such user or call, or (group commands) no group calls on the server.
    NotFound,
    /// The callee or you already have an active call, or the server asks to wait a moment
    /// before placing another call (the released plugin's 5 s after a call ended).
    Busy,
    /// The call is not yours to act on that way: only a group call's host ends it for
    /// everyone, only a call's party answers or ends it.
    NotAllowed,
    /// `call --wait`: the callee rejected the call (`group start --wait`: every invitee
    /// declined).
    Rejected,
    /// `call --wait`: it rang but nobody answered in time (`group start --wait`: nobody
    /// joined, some invitations ran out).
    Missed,
    /// `call --wait`: no device of the callee answered.
    TimedOut,
    /// `call --wait`: the call was cancelled (by you, another of your devices, or Ctrl-C).
    Cancelled,
    /// `call --wait`: the call ended before an answer for another reason.
    EndedOther,
}

impl ExitStatus {
    /// Every status, in the order `--help` lists them.
    pub const ALL: &'static [ExitStatus] = &[
        ExitStatus::Ok,
        ExitStatus::Error,
        ExitStatus::Usage,
        ExitStatus::Unreachable,
        ExitStatus::AuthFailed,
        ExitStatus::NotFound,
        ExitStatus::Busy,
        ExitStatus::NotAllowed,
        ExitStatus::Rejected,
        ExitStatus::Missed,
        ExitStatus::TimedOut,
        ExitStatus::Cancelled,
        ExitStatus::EndedOther,
    ];

    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Error => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Unreachable => 3,
            ExitStatus::AuthFailed => 4,
            ExitStatus::NotFound => 5,
            ExitStatus::Busy => 6,
            ExitStatus::NotAllowed => 7,
            ExitStatus::Rejected => 10,
            ExitStatus::Missed => 11,
            ExitStatus::TimedOut => 12,
            ExitStatus::Cancelled => 13,
            ExitStatus::EndedOther => 14,
        }
    }

    /// One line for `--help`.
    pub const fn description(self) -> &'static str {
        match self {
            ExitStatus::Ok => {
                "success (call --wait: the call was accepted; group start --wait: someone joined)"
            }
            ExitStatus::Error => "any other error",
            ExitStatus::Usage => "usage or configuration error (including missing credentials)",
            ExitStatus::Unreachable => {
                "cannot reach the server (network, TLS, timeout) or it serves no calls"
            }
            ExitStatus::AuthFailed => "authentication failed",
            ExitStatus::NotFound => "no such user or call (group commands: or no group calls)",
            ExitStatus::Busy => {
                "the callee or you are already in a call, or the server asks to wait a moment \
                 before another call"
            }
            ExitStatus::NotAllowed => {
                "not yours to do (only the host ends a group call for everyone)"
            }
            ExitStatus::Rejected => "call --wait: rejected (group start --wait: all declined)",
            ExitStatus::Missed => {
                "call --wait: missed, rang and not answered in time (group start --wait: nobody \
                 joined)"
            }
            ExitStatus::TimedOut => "call --wait: timed out (no device answered)",
            ExitStatus::Cancelled => "call --wait, group start --wait: cancelled",
            ExitStatus::EndedOther => {
                "call --wait, group start --wait: ended before an answer for another reason"
            }
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}

/// The `--help` epilogue listing every exit code.
pub fn exit_codes_help() -> String {
    let mut text = String::from("Exit codes:\n");
    for status in ExitStatus::ALL {
        text.push_str(&format!(
            "  {:>2}  {}\n",
            status.code(),
            status.description()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exit_codes_are_distinct_and_all_in_help() {
        let mut codes: Vec<u8> = ExitStatus::ALL.iter().map(|s| s.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ExitStatus::ALL.len());
        let help = exit_codes_help();
        for status in ExitStatus::ALL {
            assert!(
                help.contains(&format!("{:>2}  {}", status.code(), status.description())),
                "{help}"
            );
        }
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "zulip-calls",
            "history",
            "--limit",
            "1",
            "--type",
            "audio",
            "--json",
            "--site",
            "localhost:9991",
        ])
        .unwrap();
        assert!(cli.json);
        assert_eq!(cli.site.as_deref(), Some("localhost:9991"));
        assert_eq!(
            cli.command,
            Some(TopCommand::Scripted(Command::History {
                limit: 1,
                offset: 0,
                call_type: Some(CallType::Audio),
                state: None
            }))
        );
    }

    #[test]
    fn the_calls_api_and_hold_are_flags() {
        let cli = Cli::try_parse_from(["zulip-calls", "active", "--calls-api", "1.1"]).unwrap();
        assert_eq!(
            cli.calls_api,
            Some(CallsApiChoice::Fixed(zulip_calls_protocol::Dialect::V1_1))
        );
        let err = Cli::try_parse_from(["zulip-calls", "--calls-api", "2", "active"]).unwrap_err();
        assert_eq!(err.exit_code(), i32::from(ExitStatus::Usage.code()));
        assert!(err.to_string().contains("auto, design, 1.1"), "{err}");
        let cli = Cli::try_parse_from([
            "zulip-calls",
            "answer",
            "6f1c1d52-32a4-4c5e-9d7a-3a0e2f6b8c11",
            "--hold",
            "--heartbeat-interval",
            "0.25",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(TopCommand::Scripted(Command::Answer { hold: true, .. }))
        ));
        assert_eq!(cli.heartbeat_interval, Some(Duration::from_millis(250)));
        for bad in ["0", "16", "x"] {
            assert!(
                Cli::try_parse_from(["zulip-calls", "active", "--heartbeat-interval", bad])
                    .is_err()
            );
        }
        // Holding needs waiting.
        assert!(Cli::try_parse_from(["zulip-calls", "call", "iago", "--hold"]).is_err());
    }

    #[test]
    fn group_subcommands_take_users_ids_and_flags() {
        let cli = Cli::try_parse_from([
            "zulip-calls",
            "group",
            "start",
            "othello",
            "5",
            "--title",
            "Weekly sync",
            "--audio",
            "--wait",
            "--json",
        ])
        .unwrap();
        assert!(cli.json);
        assert_eq!(
            cli.command,
            Some(TopCommand::Scripted(Command::Group {
                command: GroupCommand::Start {
                    users: vec!["othello".to_owned(), "5".to_owned()],
                    title: Some("Weekly sync".to_owned()),
                    audio: true,
                    wait: true,
                    hold: false,
                }
            }))
        );
        let id = "6f1c1d52-32a4-4c5e-9d7a-3a0e2f6b8c11";
        let cli = Cli::try_parse_from(["zulip-calls", "group", "join", id, "--hold"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(TopCommand::Scripted(Command::Group {
                command: GroupCommand::Join { hold: true, .. }
            }))
        ));
        for args in [
            &["zulip-calls", "group", "start"][..],
            &["zulip-calls", "group", "start", "iago", "--hold"],
            &["zulip-calls", "group", "invite", id],
            &["zulip-calls", "group", "end", "not-a-call"],
            &["zulip-calls", "group", "dance", id],
        ] {
            let err = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(
                err.exit_code(),
                i32::from(ExitStatus::Usage.code()),
                "{args:?}"
            );
        }
    }

    #[test]
    fn the_trust_flags_reach_the_credentials() {
        let cli = Cli::try_parse_from([
            "zulip-calls",
            "--insecure",
            "--cert-bundle",
            "ca.pem",
            "end-all",
        ])
        .unwrap();
        let flags = cli.credential_flags();
        assert!(flags.insecure);
        assert_eq!(flags.cert_bundle, Some(PathBuf::from("ca.pem")));
    }

    #[test]
    fn demo_defaults_to_hamlet() {
        let cli = Cli::try_parse_from(["zulip-calls", "demo"]).unwrap();
        assert_eq!(
            cli.command,
            Some(TopCommand::Demo {
                as_email: DEMO_DEFAULT_USER.to_owned(),
                tls: false,
            })
        );
        let cli = Cli::try_parse_from(["zulip-calls", "demo", "--tls"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(TopCommand::Demo { tls: true, .. })
        ));
        let cli = Cli::try_parse_from(["zulip-calls", "demo", "--as", "iago@zulip.com"]).unwrap();
        assert!(
            matches!(cli.command, Some(TopCommand::Demo { as_email, .. }) if as_email == "iago@zulip.com")
        );
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["zulip-calls", "answer", "not-a-uuid"][..],
            &["zulip-calls", "history", "--limit", "0"],
            &["zulip-calls", "history", "--state", "bored"],
            &[
                "zulip-calls",
                "status",
                "6f1c1d52-32a4-4c5e-9d7a-3a0e2f6b8c11",
                "dancing",
            ],
        ] {
            let err = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(
                err.exit_code(),
                i32::from(ExitStatus::Usage.code()),
                "{args:?}"
            );
        }
        let cli = Cli::try_parse_from([
            "zulip-calls",
            "status",
            "6f1c1d52-32a4-4c5e-9d7a-3a0e2f6b8c11",
            "on_hold",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(TopCommand::Scripted(Command::Status {
                status: MediaStatus::OnHold,
                ..
            }))
        ));
    }
}
