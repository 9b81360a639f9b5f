//! A user's `bot` key in the realm file: `false` (a person, the default), `true` (a bot account
//! that does nothing by itself), or a table that makes it an automated bot:
//!
//! ```toml
//! bot = { behaviour = "accept", answer_after_seconds = 2, hang_up_after_seconds = 30 }
//! bot = { behaviour = "ignore", calls = { user = "hamlet@zulip.com", every_seconds = 120 } }
//! ```
//!
//! The table is read by hand rather than by serde so that every problem names its key
//! (`bot.calls.every_seconds: ...`), as the rest of the realm file's errors do.

use toml::Value;
use zulip_calls_protocol::{CallType, UserId};

use crate::core::model::{RealmId, UserRecord};

/// The longest delay a bot accepts: a year, far beyond any test, and small enough that
/// adding it to a timestamp cannot overflow.
pub const MAX_SECONDS: f64 = 365.0 * 86_400.0;

/// The shortest period of a calling bot, so a typo cannot make it call in a tight loop.
pub const MIN_PERIOD_SECONDS: f64 = 1.0;

/// What the `bot` key says about a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotField {
    /// No `bot` key, or `bot = false`.
    Person,
    /// `bot = true`: a bot account with no behaviour of its own.
    Account,
    /// A `bot` table; the user to call (if any) is not resolved yet.
    Automated(BotConfig<UserRef>),
}

impl BotField {
    /// Reads the `bot` key; the error is the problem, starting with the key at fault.
    pub fn parse(value: Option<&Value>) -> Result<BotField, String> {
        match value {
            None | Some(Value::Boolean(false)) => Ok(BotField::Person),
            Some(Value::Boolean(true)) => Ok(BotField::Account),
            Some(Value::Table(table)) => parse_table(table).map(BotField::Automated),
            Some(other) => Err(format!(
                "bot: expected true, false or a table such as {{ behaviour = \"accept\" }}, got {}",
                describe(other)
            )),
        }
    }

    /// The user is a bot account (with or without a behaviour).
    pub fn is_bot(&self) -> bool {
        !matches!(self, BotField::Person)
    }
}

/// How a bot answers a call to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Behaviour {
    /// Acknowledges at once (the call rings), accepts after `answer_after_seconds`.
    Accept,
    /// Acknowledges at once, rejects after `answer_after_seconds`.
    Reject,
    /// Does nothing: no device rings, so the call times out at `CALL_RING_TIMEOUT`.
    Ignore,
    /// Acknowledges at once and never answers, so the call is missed at
    /// `CALL_NOTIFICATION_TIMEOUT`.
    Acknowledge,
}

impl Behaviour {
    /// Every behaviour, in the order the documentation lists them.
    pub const ALL: [Behaviour; 4] = [
        Behaviour::Accept,
        Behaviour::Reject,
        Behaviour::Ignore,
        Behaviour::Acknowledge,
    ];

    /// The name used in the realm file and the control API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Behaviour::Accept => "accept",
            Behaviour::Reject => "reject",
            Behaviour::Ignore => "ignore",
            Behaviour::Acknowledge => "acknowledge",
        }
    }

    /// Whether the bot answers (so `answer_after_seconds` means something).
    pub const fn answers(self) -> bool {
        matches!(self, Behaviour::Accept | Behaviour::Reject)
    }

    fn parse(name: &str) -> Option<Behaviour> {
        Behaviour::ALL.into_iter().find(|b| b.as_str() == name)
    }
}

impl std::fmt::Display for Behaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An automated bot. `U` is how it names the user it calls: a [`UserRef`] as written, a
/// [`UserId`] once checked against the realm file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotConfig<U = UserId> {
    pub behaviour: Behaviour,
    /// For `accept` and `reject`: how long after a call reaches it the bot answers.
    pub answer_after_ms: i64,
    /// Ends any accepted call the bot is party to (incoming or its own) this long after the
    /// answer; `None` leaves the call to the other party (or `CALL_MAX_DURATION`).
    pub hang_up_after_ms: Option<i64>,
    /// Calls someone periodically.
    pub calls: Option<PeriodicCalls<U>>,
}

/// A bot's periodic calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodicCalls<U = UserId> {
    pub user: U,
    /// The first call comes this long after the server starts (or is reset), then one every
    /// period.
    pub every_ms: i64,
    pub call_type: CallType,
}

/// A user as the realm file names one: by id or by email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(i64),
    Email(String),
}

impl std::fmt::Display for UserRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserRef::Id(id) => write!(f, "{id}"),
            UserRef::Email(email) => write!(f, "{email:?}"),
        }
    }
}

impl BotConfig<UserRef> {
    /// Checks the user this bot calls against every user of the file: it must exist, be in
    /// the bot's realm, be active and not be the bot itself.
    pub fn resolve(
        self,
        bot: UserId,
        realm: RealmId,
        users: &[UserRecord],
    ) -> Result<BotConfig, String> {
        let calls = match self.calls {
            None => None,
            Some(calls) => {
                let target = users
                    .iter()
                    .find(|u| match &calls.user {
                        UserRef::Id(id) => u.id == UserId(*id),
                        UserRef::Email(email) => u.email.eq_ignore_ascii_case(email),
                    })
                    .ok_or_else(|| {
                        format!("bot.calls.user: no user {} in the realm file", calls.user)
                    })?;
                let problem = if target.id == bot {
                    Some("is the bot itself (a user cannot call themself)")
                } else if target.realm_id != realm {
                    Some("is in another realm (users call only their own realm)")
                } else if !target.is_active {
                    Some("is deactivated (active = false), so cannot be called")
                } else {
                    None
                };
                if let Some(problem) = problem {
                    return Err(format!(
                        "bot.calls.user: {} ({}) {problem}",
                        target.id, target.email
                    ));
                }
                Some(PeriodicCalls {
                    user: target.id,
                    every_ms: calls.every_ms,
                    call_type: calls.call_type,
                })
            }
        };
        Ok(BotConfig {
            behaviour: self.behaviour,
            answer_after_ms: self.answer_after_ms,
            hang_up_after_ms: self.hang_up_after_ms,
            calls,
        })
    }
}

const BOT_KEYS: &str = "behaviour, answer_after_seconds, hang_up_after_seconds, calls";
const CALLS_KEYS: &str = "user, every_seconds, call_type";

fn parse_table(table: &toml::Table) -> Result<BotConfig<UserRef>, String> {
    if let Some(key) = table
        .keys()
        .find(|k| !BOT_KEYS.split(", ").any(|b| b == *k))
    {
        return Err(format!(
            "bot.{key}: unknown key (the bot keys are {BOT_KEYS})"
        ));
    }
    let behaviour = match table.get("behaviour") {
        None => {
            return Err(format!(
                "bot.behaviour: missing; one of {} is required",
                behaviour_names()
            ));
        }
        Some(Value::String(name)) => Behaviour::parse(name).ok_or_else(|| {
            format!(
                "bot.behaviour: expected one of {}, got {name:?}",
                behaviour_names()
            )
        })?,
        Some(other) => {
            return Err(format!(
                "bot.behaviour: expected one of {}, got {}",
                behaviour_names(),
                describe(other)
            ));
        }
    };
    let answer_after_ms = match table.get("answer_after_seconds") {
        None => 0,
        Some(_) if !behaviour.answers() => {
            return Err(format!(
                "bot.answer_after_seconds: a bot with behaviour {behaviour:?} never answers; \
                 the delay applies to \"accept\" and \"reject\" only",
                behaviour = behaviour.as_str()
            ));
        }
        Some(value) => millis("bot.answer_after_seconds", value, 0.0)?,
    };
    let hang_up_after_ms = table
        .get("hang_up_after_seconds")
        .map(|value| millis("bot.hang_up_after_seconds", value, 0.0))
        .transpose()?;
    let calls = match table.get("calls") {
        None => None,
        Some(Value::Table(calls)) => Some(parse_calls(calls)?),
        Some(other) => {
            return Err(format!(
                "bot.calls: expected a table such as {{ user = \"hamlet@zulip.com\", \
                 every_seconds = 120 }}, got {}",
                describe(other)
            ));
        }
    };
    Ok(BotConfig {
        behaviour,
        answer_after_ms,
        hang_up_after_ms,
        calls,
    })
}

fn parse_calls(table: &toml::Table) -> Result<PeriodicCalls<UserRef>, String> {
    if let Some(key) = table
        .keys()
        .find(|k| !CALLS_KEYS.split(", ").any(|c| c == *k))
    {
        return Err(format!(
            "bot.calls.{key}: unknown key (the keys of bot.calls are {CALLS_KEYS})"
        ));
    }
    let user = match table.get("user") {
        None => return Err("bot.calls.user: missing; the email or id of the user to call".into()),
        Some(Value::String(email)) if !email.trim().is_empty() => UserRef::Email(email.clone()),
        Some(Value::Integer(id)) if *id > 0 => UserRef::Id(*id),
        Some(other) => {
            return Err(format!(
                "bot.calls.user: expected an email or a user id, got {}",
                describe(other)
            ));
        }
    };
    let every_ms = match table.get("every_seconds") {
        None => return Err("bot.calls.every_seconds: missing; how often the bot calls".into()),
        Some(value) => millis("bot.calls.every_seconds", value, MIN_PERIOD_SECONDS)?,
    };
    let call_type = match table.get("call_type") {
        None => CallType::Video,
        Some(Value::String(name)) => name.parse().map_err(|_| {
            format!("bot.calls.call_type: expected \"video\" or \"audio\", got {name:?}")
        })?,
        Some(other) => {
            return Err(format!(
                "bot.calls.call_type: expected \"video\" or \"audio\", got {}",
                describe(other)
            ));
        }
    };
    Ok(PeriodicCalls {
        user,
        every_ms,
        call_type,
    })
}

/// A number of seconds (integer or fractional) from `min` to [`MAX_SECONDS`], in milliseconds.
fn millis(key: &str, value: &Value, min: f64) -> Result<i64, String> {
    let seconds = match value {
        #[allow(clippy::cast_precision_loss)] // Out-of-range values are refused just below.
        Value::Integer(n) => Some(*n as f64),
        Value::Float(f) if f.is_finite() => Some(*f),
        _ => None,
    };
    match seconds {
        Some(s) if (min..=MAX_SECONDS).contains(&s) => {
            #[allow(clippy::cast_possible_truncation)] // At most MAX_SECONDS × 1000.
            let ms = (s * 1000.0).round() as i64;
            Ok(ms)
        }
        _ => Err(format!(
            "{key}: expected a number of seconds from {min} to {MAX_SECONDS}, got {}",
            describe(value)
        )),
    }
}

fn behaviour_names() -> String {
    Behaviour::ALL
        .iter()
        .map(|b| format!("{:?}", b.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A TOML value for an error message: strings quoted, other scalars as written, and the
/// type for the rest.
fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Integer(n) => n.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => format!("the date {d}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Table(_) => "a table".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<BotField, String> {
        let value: toml::Table = toml::from_str(&format!("bot = {text}")).unwrap();
        BotField::parse(value.get("bot"))
    }

    fn automated(text: &str) -> BotConfig<UserRef> {
        match parse(text).unwrap() {
            BotField::Automated(config) => config,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn booleans_mark_bot_accounts() {
        assert_eq!(BotField::parse(None).unwrap(), BotField::Person);
        assert_eq!(parse("false").unwrap(), BotField::Person);
        assert_eq!(parse("true").unwrap(), BotField::Account);
        assert!(parse("true").unwrap().is_bot());
        assert!(!parse("false").unwrap().is_bot());
    }

    #[test]
    fn tables_make_automated_bots() {
        let config = automated(
            r#"{ behaviour = "accept", answer_after_seconds = 2, hang_up_after_seconds = 1.5 }"#,
        );
        assert_eq!(config.behaviour, Behaviour::Accept);
        assert_eq!(config.answer_after_ms, 2000);
        assert_eq!(config.hang_up_after_ms, Some(1500));
        assert_eq!(config.calls, None);

        let config = automated(
            r#"{ behaviour = "ignore", calls = { user = "a@b.c", every_seconds = 60, call_type = "audio" } }"#,
        );
        assert_eq!(config.answer_after_ms, 0);
        assert_eq!(
            config.calls,
            Some(PeriodicCalls {
                user: UserRef::Email("a@b.c".into()),
                every_ms: 60_000,
                call_type: CallType::Audio,
            })
        );
        let config =
            automated(r#"{ behaviour = "reject", calls = { user = 7, every_seconds = 1 } }"#);
        assert_eq!(config.calls.unwrap().user, UserRef::Id(7));
    }

    #[test]
    fn problems_name_the_key() {
        let cases = [
            ("\"yes\"", "bot: expected true, false or a table"),
            (
                "{}",
                "bot.behaviour: missing; one of \"accept\", \"reject\"",
            ),
            (
                r#"{ behaviour = "acept" }"#,
                "bot.behaviour: expected one of \"accept\", \"reject\", \"ignore\", \"acknowledge\", got \"acept\"",
            ),
            ("{ behaviour = 1 }", "bot.behaviour: expected one of"),
            (
                r#"{ behaviour = "accept", colour = "red" }"#,
                "bot.colour: unknown key (the bot keys are behaviour, answer_after_seconds",
            ),
            (
                r#"{ behaviour = "ignore", answer_after_seconds = 1 }"#,
                "bot.answer_after_seconds: a bot with behaviour \"ignore\" never answers",
            ),
            (
                r#"{ behaviour = "accept", answer_after_seconds = -1 }"#,
                "bot.answer_after_seconds: expected a number of seconds from 0 to",
            ),
            (
                r#"{ behaviour = "accept", answer_after_seconds = "2" }"#,
                "got \"2\"",
            ),
            (
                r#"{ behaviour = "accept", hang_up_after_seconds = nan }"#,
                "bot.hang_up_after_seconds: expected a number of seconds",
            ),
            (
                r#"{ behaviour = "accept", hang_up_after_seconds = 1e12 }"#,
                "bot.hang_up_after_seconds: expected a number of seconds from 0 to 31536000",
            ),
            (
                r#"{ behaviour = "accept", calls = "hamlet" }"#,
                "bot.calls: expected a table",
            ),
            (
                r#"{ behaviour = "accept", calls = { every_seconds = 5 } }"#,
                "bot.calls.user: missing",
            ),
            (
                r#"{ behaviour = "accept", calls = { user = 0, every_seconds = 5 } }"#,
                "bot.calls.user: expected an email or a user id, got 0",
            ),
            (
                r#"{ behaviour = "accept", calls = { user = "a@b" } }"#,
                "bot.calls.every_seconds: missing",
            ),
            (
                r#"{ behaviour = "accept", calls = { user = "a@b", every_seconds = 0.5 } }"#,
                "bot.calls.every_seconds: expected a number of seconds from 1 to",
            ),
            (
                r#"{ behaviour = "accept", calls = { user = "a@b", every_seconds = 5, call_type = "fax" } }"#,
                "bot.calls.call_type: expected \"video\" or \"audio\", got \"fax\"",
            ),
            (
                r#"{ behaviour = "accept", calls = { user = "a@b", every_seconds = 5, when = 1 } }"#,
                "bot.calls.when: unknown key (the keys of bot.calls are user, every_seconds, call_type)",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    fn user(id: i64, realm: i64, email: &str, active: bool) -> UserRecord {
        UserRecord {
            id: UserId(id),
            realm_id: RealmId(realm),
            email: email.into(),
            full_name: email.into(),
            api_key: "k".repeat(16),
            password: None,
            is_admin: false,
            is_active: active,
            is_bot: false,
        }
    }

    #[test]
    fn the_called_user_must_be_someone_else_active_in_the_realm() {
        let users = [
            user(1, 1, "bot@x", true),
            user(2, 1, "Friend@x", true),
            user(3, 2, "far@y", true),
            user(4, 1, "gone@x", false),
        ];
        let calling = |who: &str| {
            automated(&format!(
                "{{ behaviour = \"ignore\", calls = {{ user = {who}, every_seconds = 5 }} }}"
            ))
            .resolve(UserId(1), RealmId(1), &users)
        };
        assert_eq!(
            calling("\"friend@X\"").unwrap().calls.unwrap().user,
            UserId(2)
        );
        assert_eq!(calling("2").unwrap().calls.unwrap().user, UserId(2));
        let cases = [
            (
                "\"nobody@x\"",
                "bot.calls.user: no user \"nobody@x\" in the realm file",
            ),
            ("9", "bot.calls.user: no user 9 in the realm file"),
            ("1", "bot.calls.user: 1 (bot@x) is the bot itself"),
            ("3", "bot.calls.user: 3 (far@y) is in another realm"),
            ("\"gone@x\"", "bot.calls.user: 4 (gone@x) is deactivated"),
        ];
        for (who, expected) in cases {
            let err = calling(who).unwrap_err();
            assert!(err.contains(expected), "{who}: {err}");
        }
    }
}
