//! The realm file: which organisations and users the mock server has.
//!
//! Realms and users come from a TOML file rather than from API calls so that a test run or a QA
//! session starts from a known, reviewable population. The format is documented at the top of
//! `assets/demo-realm.toml`, which is also the built-in default ([`demo_realms`]).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zulip_calls_protocol::UserId;

use crate::core::model::{RealmId, RealmRecord, UserRecord};
use crate::qa::bots::config::{BotConfig, BotField, UserRef};

/// The demo realm file, built into the binary so the server runs with no files at all.
pub const DEMO_REALM_TOML: &str = include_str!("../../../assets/demo-realm.toml");

pub use crate::core::model::MIN_API_KEY_LEN;

/// Everything a realm file defines, checked and with realm ids assigned (1, 2, ... in file order):
/// realms, users, and the bots among them.
pub type LoadedRealms = crate::qa::Realms;

/// Why a realm file was refused. Each message names the file, and the realm and user at fault.
#[derive(Debug, thiserror::Error)]
pub enum RealmError {
    #[error("cannot read realm file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Bad TOML, a wrong type or an unknown key; `message` is toml's, with line and column.
    #[error("realm file {origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("realm file {origin}: it defines no realm (add a [[realm]] table)")]
    NoRealms { origin: String },
    #[error("realm file {origin}: realm {realm:?}: {problem}")]
    Realm {
        origin: String,
        realm: String,
        problem: String,
    },
    /// `user` reads like `user 5 (iago@zulip.com)`.
    #[error("realm file {origin}: realm {realm:?}: user {user}: {problem}")]
    User {
        origin: String,
        realm: String,
        user: String,
        problem: String,
    },
}

/// The demo realms of `assets/demo-realm.toml`.
///
/// A `Result` although the file is built in and tested: the lints forbid `expect`, and a caller
/// that reports the error is no worse off than one that panics.
pub fn demo_realms() -> Result<LoadedRealms, RealmError> {
    parse_realms(DEMO_REALM_TOML, "assets/demo-realm.toml (built in)")
}

/// Reads and checks the realm file at `path`.
pub fn load_realm_file(path: &Path) -> Result<LoadedRealms, RealmError> {
    let text = std::fs::read_to_string(path).map_err(|source| RealmError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_realms(&text, &path.display().to_string())
}

/// Parses and checks a realm file; `origin` names it in errors (usually its path).
pub fn parse_realms(text: &str, origin: &str) -> Result<LoadedRealms, RealmError> {
    let file: RealmFile = toml::from_str(text).map_err(|e| RealmError::Syntax {
        origin: origin.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    if file.realm.is_empty() {
        return Err(RealmError::NoRealms {
            origin: origin.to_owned(),
        });
    }

    let mut loaded = LoadedRealms {
        realms: Vec::with_capacity(file.realm.len()),
        users: Vec::new(),
        bots: BTreeMap::new(),
    };
    // Bot tables, checked once every user is known (a bot may call a user listed after it):
    // (bot, its realm, realm name, user label, table).
    let mut bot_tables: Vec<(UserId, RealmId, String, String, BotConfig<UserRef>)> = Vec::new();
    // Who already holds each id, email (lowercased) and (normalised) realm URL.
    let mut ids: HashMap<i64, String> = HashMap::new();
    let mut emails: HashMap<String, String> = HashMap::new();
    let mut urls: HashMap<String, String> = HashMap::new();

    for (raw, id) in file.realm.into_iter().zip(1..) {
        let realm_err = |problem: String| RealmError::Realm {
            origin: origin.to_owned(),
            realm: raw.name.clone(),
            problem,
        };
        if raw.name.trim().is_empty() {
            return Err(realm_err("name must not be empty".to_owned()));
        }
        let url = normalise_realm_url(&raw.url).map_err(|reason| {
            realm_err(format!(
                "url {:?} is not a usable http(s) URL: {reason}",
                raw.url
            ))
        })?;
        // Two realms at one URL would make "which realm is this request for" ambiguous.
        if let Some(other) = urls.insert(url.clone(), raw.name.clone()) {
            return Err(realm_err(format!(
                "url {url:?} is already the url of realm {other:?}"
            )));
        }
        let realm_id = RealmId(id);

        for user in raw.user {
            let label = format!("{} ({})", user.id, user.email);
            let user_err = |problem: String| RealmError::User {
                origin: origin.to_owned(),
                realm: raw.name.clone(),
                user: label.clone(),
                problem,
            };
            check_user(&user).map_err(user_err)?;
            let bot = BotField::parse(user.bot.as_ref()).map_err(user_err)?;
            if let Some(other) = ids.insert(user.id, label.clone()) {
                return Err(user_err(format!(
                    "id {} is already the id of user {other}",
                    user.id
                )));
            }
            if let Some(other) = emails.insert(user.email.to_lowercase(), label.clone()) {
                return Err(user_err(format!(
                    "email {:?} is already the email of user {other} (emails are compared \
                     case-insensitively)",
                    user.email
                )));
            }
            loaded.users.push(UserRecord {
                id: UserId(user.id),
                realm_id,
                email: user.email,
                full_name: user.full_name,
                api_key: user.api_key,
                password: user.password,
                is_admin: user.admin,
                is_active: user.active,
                is_bot: bot.is_bot(),
            });
            if let BotField::Automated(table) = bot {
                bot_tables.push((UserId(user.id), realm_id, raw.name.clone(), label, table));
            }
        }
        loaded.realms.push(RealmRecord {
            id: realm_id,
            name: raw.name,
            url,
        });
    }
    for (bot, realm_id, realm, user, table) in bot_tables {
        let config = table
            .resolve(bot, realm_id, &loaded.users)
            .map_err(|problem| RealmError::User {
                origin: origin.to_owned(),
                realm,
                user,
                problem,
            })?;
        loaded.bots.insert(bot, config);
    }
    Ok(loaded)
}

/// The file as written. `deny_unknown_fields` everywhere, so a misspelt key is an error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RealmFile {
    // Defaulted so an empty file gets the clearer "no realm" error instead of toml's.
    #[serde(default)]
    realm: Vec<RawRealm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRealm {
    name: String,
    url: String,
    #[serde(default)]
    user: Vec<RawUser>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    id: i64,
    email: String,
    full_name: String,
    api_key: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    admin: bool,
    #[serde(default = "active_by_default")]
    active: bool,
    /// `true`/`false`, or a table that makes the user an automated bot (`bots::config`).
    #[serde(default)]
    bot: Option<toml::Value>,
}

fn active_by_default() -> bool {
    true
}

/// The checks that concern one user alone; the problem, without the user's name.
fn check_user(user: &RawUser) -> Result<(), String> {
    if user.id <= 0 {
        return Err(format!("id must be a positive integer, got {}", user.id));
    }
    let email_ok = user
        .email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !user.email.contains(char::is_whitespace);
    if !email_ok {
        return Err(format!(
            "email {:?} is not an email address (expected name@domain)",
            user.email
        ));
    }
    if user.full_name.trim().is_empty() {
        return Err("full_name must not be empty".to_owned());
    }
    // The key itself never appears in errors: it is a credential.
    if user.api_key.is_empty() {
        return Err("api_key must not be empty".to_owned());
    }
    if user.api_key.chars().count() < MIN_API_KEY_LEN {
        return Err(format!(
            "api_key is {} characters long; it must have at least {MIN_API_KEY_LEN}",
            user.api_key.chars().count()
        ));
    }
    if user.api_key.contains(char::is_whitespace) {
        return Err("api_key must not contain whitespace".to_owned());
    }
    // An empty password would let anyone log in; leaving the key out is how to forbid it.
    if user.password.as_deref() == Some("") {
        return Err(
            "password must not be empty (leave it out to refuse password login)".to_owned(),
        );
    }
    Ok(())
}

/// The realm URL in `url`'s normal form without a trailing slash, as Zulip's `realm_url` is.
fn normalise_realm_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the scheme must be http or https".to_owned());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("there is no host".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("it must not have a query or fragment".to_owned());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid one-realm file with `extra` appended to its only user.
    fn one_user(extra: &str) -> String {
        format!(
            r#"
[[realm]]
name = "Test"
url = "http://test.localhost:9991"

[[realm.user]]
id = 1
email = "a@test.org"
full_name = "A"
api_key = "aaaaaaaaaaaaaaaa"
{extra}
"#
        )
    }

    /// A file whose only user has `fields` (so a test can get one field wrong).
    fn user_with(fields: &str) -> String {
        format!(
            r#"
[[realm]]
name = "Test"
url = "http://test.localhost:9991"

[[realm.user]]
{fields}
"#
        )
    }

    fn err_text(text: &str) -> String {
        parse_realms(text, "t.toml").unwrap_err().to_string()
    }

    fn user<'a>(loaded: &'a LoadedRealms, email: &str) -> &'a UserRecord {
        loaded
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .unwrap_or_else(|| panic!("no user {email}"))
    }

    #[test]
    fn demo_realm_has_the_zulip_dev_users() {
        let demo = demo_realms().unwrap();
        let dev = &demo.realms[0];
        assert_eq!(dev.id, RealmId(1));
        assert_eq!(dev.name, "Zulip Dev");
        assert_eq!(dev.url, "http://localhost:9991");

        let expected = [
            (5, "iago@zulip.com", "Iago"),
            (10, "hamlet@zulip.com", "King Hamlet"),
            (6, "othello@zulip.com", "Othello, the Moor of Venice"),
            (9, "cordelia@zulip.com", "Cordelia, Lear's daughter"),
            (8, "prospero@zulip.com", "Prospero from The Tempest"),
            (7, "AARON@zulip.com", "aaron"),
            (3, "zoe@zulip.com", "ZOE"),
            (11, "polonius@zulip.com", "Polonius"),
            (12, "desdemona@zulip.com", "Desdemona"),
        ];
        for (id, email, name) in expected {
            let u = user(&demo, email);
            assert_eq!(u.id, UserId(id), "{email}");
            assert_eq!(u.email, email);
            assert_eq!(u.full_name, name);
            assert_eq!(u.realm_id, RealmId(1), "{email}");
            assert_eq!(u.password.as_deref(), Some("opensesame"), "{email}");
            assert_eq!(u.api_key.len(), 32, "{email}");
            assert!(u.api_key.chars().all(|c| c.is_ascii_alphanumeric()));
            assert!(!u.is_bot, "{email}");
            assert_eq!(u.is_admin, email == "iago@zulip.com", "{email}");
            assert_eq!(u.is_active, email != "desdemona@zulip.com", "{email}");
        }
        assert_eq!(
            user(&demo, "iago@zulip.com").api_key,
            "iagoDemoApiKeyxxxxxxxxxxxxxxx005"
        );
    }

    #[test]
    fn demo_realm_has_a_separate_isolation_realm() {
        let demo = demo_realms().unwrap();
        assert_eq!(demo.realms.len(), 2);
        let lear = &demo.realms[1];
        assert_eq!(lear.id, RealmId(2));
        assert_eq!(lear.name, "Lear & Co.");
        assert_eq!(lear.url, "http://lear.localhost:9991");
        let members: Vec<&str> = demo
            .users
            .iter()
            .filter(|u| u.realm_id == lear.id)
            .map(|u| u.full_name.as_str())
            .collect();
        assert_eq!(members, ["King Lear", "Goneril", "Regan"]);
        assert!(user(&demo, "king@lear.org").is_admin);
        assert_eq!(demo.users.len(), 16);
    }

    #[test]
    fn demo_realm_has_a_bot_for_each_outcome() {
        use crate::qa::bots::Behaviour;
        let demo = demo_realms().unwrap();
        let expected = [
            (
                20,
                "echo-bot@zulip.com",
                "Echo Bot",
                Behaviour::Accept,
                2000,
                Some(30_000),
            ),
            (
                21,
                "busy-bot@zulip.com",
                "Busy Bot",
                Behaviour::Reject,
                1000,
                None,
            ),
            (
                22,
                "sleepy-bot@zulip.com",
                "Sleepy Bot",
                Behaviour::Acknowledge,
                0,
                None,
            ),
            (
                23,
                "ghost-bot@zulip.com",
                "Ghost Bot",
                Behaviour::Ignore,
                0,
                None,
            ),
        ];
        for (id, email, name, behaviour, answer_ms, hang_up_ms) in expected {
            let u = user(&demo, email);
            assert_eq!((u.id, u.full_name.as_str()), (UserId(id), name));
            assert!(u.is_bot && u.is_active && !u.is_admin, "{email}");
            assert_eq!(u.password, None, "{email}");
            assert_eq!(u.realm_id, RealmId(1), "{email}");
            let bot = &demo.bots[&UserId(id)];
            assert_eq!(bot.behaviour, behaviour, "{email}");
            assert_eq!(bot.answer_after_ms, answer_ms, "{email}");
            assert_eq!(bot.hang_up_after_ms, hang_up_ms, "{email}");
            assert_eq!(bot.calls, None, "{email}");
        }
        assert_eq!(demo.bots.len(), 4);
    }

    #[test]
    fn bot_tables_are_checked_and_name_the_user_and_key() {
        let loaded = parse_realms(
            &one_user(
                "bot = { behaviour = \"accept\", calls = { user = \"b@test.org\", every_seconds = 60 } }\n\
                 [[realm.user]]\nid = 2\nemail = \"b@test.org\"\nfull_name = \"B\"\n\
                 api_key = \"bbbbbbbbbbbbbbbb\"",
            ),
            "t.toml",
        )
        .unwrap();
        assert!(loaded.users[0].is_bot && !loaded.users[1].is_bot);
        let calls = loaded.bots[&UserId(1)].calls.as_ref().unwrap();
        assert_eq!((calls.user, calls.every_ms), (UserId(2), 60_000));

        let err = err_text(&one_user("bot = { behaviour = \"acept\" }"));
        assert_eq!(
            err,
            "realm file t.toml: realm \"Test\": user 1 (a@test.org): bot.behaviour: expected \
             one of \"accept\", \"reject\", \"ignore\", \"acknowledge\", got \"acept\""
        );
        let err = err_text(&one_user(
            "bot = { behaviour = \"ignore\", calls = { user = \"nobody@test.org\", every_seconds = 5 } }",
        ));
        assert_eq!(
            err,
            "realm file t.toml: realm \"Test\": user 1 (a@test.org): bot.calls.user: no user \
             \"nobody@test.org\" in the realm file"
        );
        let err = err_text(&one_user("bot = 1"));
        assert!(
            err.contains("user 1 (a@test.org): bot: expected true, false or a table"),
            "{err}"
        );
    }

    #[test]
    fn demo_keys_are_distinct() {
        let demo = demo_realms().unwrap();
        let mut keys: Vec<&str> = demo.users.iter().map(|u| u.api_key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), demo.users.len());
    }

    #[test]
    fn defaults_and_optional_fields() {
        let loaded = parse_realms(&one_user(""), "t.toml").unwrap();
        let u = &loaded.users[0];
        assert_eq!(u.password, None);
        assert!(!u.is_admin && u.is_active && !u.is_bot);

        let loaded = parse_realms(
            &one_user("password = \"pw\"\nadmin = true\nactive = false\nbot = true"),
            "t.toml",
        )
        .unwrap();
        let u = &loaded.users[0];
        assert_eq!(u.password.as_deref(), Some("pw"));
        assert!(u.is_admin && !u.is_active && u.is_bot);
    }

    #[test]
    fn realm_ids_follow_file_order_and_urls_are_normalised() {
        let text = r#"
[[realm]]
name = "One"
url = "HTTP://One.Example.com/"
[[realm]]
name = "Two"
url = "https://two.example.com:8443"
[[realm.user]]
id = 40
email = "x@two.example.com"
full_name = "X"
api_key = "0123456789abcdef"
"#;
        let loaded = parse_realms(text, "t.toml").unwrap();
        let ids: Vec<RealmId> = loaded.realms.iter().map(|r| r.id).collect();
        assert_eq!(ids, [RealmId(1), RealmId(2)]);
        assert_eq!(loaded.realms[0].url, "http://one.example.com");
        assert_eq!(loaded.realms[1].url, "https://two.example.com:8443");
        assert_eq!(loaded.users[0].realm_id, RealmId(2));
    }

    #[test]
    fn a_file_without_realms_is_refused() {
        for text in ["", "# nothing\n", "realm = []\n"] {
            let err = parse_realms(text, "t.toml").unwrap_err();
            assert!(
                matches!(err, RealmError::NoRealms { .. }),
                "{text:?}: {err}"
            );
            assert!(err.to_string().contains("t.toml"), "{err}");
        }
    }

    #[test]
    fn unknown_keys_are_errors_with_line_and_column() {
        let err = err_text(&one_user("admn = true"));
        assert!(err.starts_with("realm file t.toml: "), "{err}");
        assert!(err.contains("admn"), "{err}");
        assert!(err.contains("line 11"), "{err}");

        let err = err_text("[[realm]]\nname = \"R\"\nurl = \"http://r\"\ncolour = \"red\"\n");
        assert!(err.contains("colour") && err.contains("line 4"), "{err}");

        let err = err_text("[[realms]]\nname = \"R\"\n");
        assert!(err.contains("realms"), "{err}");
    }

    #[test]
    fn wrong_types_and_missing_fields_are_toml_errors() {
        let err = err_text(&one_user("admin = \"yes\""));
        assert!(err.contains("line 11"), "{err}");
        let err = err_text(&user_with(
            "id = 1\nemail = \"a@b\"\nfull_name = \"A\"\n# no api_key",
        ));
        assert!(err.contains("api_key"), "{err}");
        let err = err_text("[[realm]]\nname = \"R\"\n");
        assert!(err.contains("url"), "{err}");
        let err = err_text("[[realm]\nname = \"R\"\n");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn realm_problems_name_the_realm() {
        let err = err_text("[[realm]]\nname = \"  \"\nurl = \"http://r\"\n");
        assert!(err.contains("name must not be empty"), "{err}");

        for bad in [
            "localhost:9991",
            "ftp://r.org",
            "http://",
            "http://r.org/?a=1",
            "http://r.org/#x",
            "",
        ] {
            let err = err_text(&format!("[[realm]]\nname = \"R\"\nurl = \"{bad}\"\n"));
            assert!(
                err.starts_with("realm file t.toml: realm \"R\": url "),
                "{bad}: {err}"
            );
            assert!(err.contains("not a usable http(s) URL"), "{bad}: {err}");
        }

        let err = err_text(
            "[[realm]]\nname = \"A\"\nurl = \"http://same\"\n\
             [[realm]]\nname = \"B\"\nurl = \"http://SAME/\"\n",
        );
        assert_eq!(
            err,
            "realm file t.toml: realm \"B\": url \"http://same\" is already the url of realm \"A\""
        );
    }

    #[test]
    fn user_problems_name_the_realm_and_user() {
        let cases = [
            (
                "id = 0",
                "user 0 (a@test.org): id must be a positive integer",
            ),
            ("id = -3", "id must be a positive integer, got -3"),
            (
                "email = \"nobody\"",
                "email \"nobody\" is not an email address",
            ),
            ("email = \"@test.org\"", "is not an email address"),
            ("email = \"a@\"", "is not an email address"),
            ("email = \"a b@test.org\"", "is not an email address"),
            ("full_name = \" \"", "full_name must not be empty"),
            ("api_key = \"\"", "api_key must not be empty"),
            (
                "api_key = \"short\"",
                "api_key is 5 characters long; it must have at least 16",
            ),
            (
                "api_key = \"0123456789 abcdef\"",
                "api_key must not contain whitespace",
            ),
            ("password = \"\"", "password must not be empty"),
        ];
        for (field, expected) in cases {
            let name = field.split(' ').next().unwrap_or_default();
            let mut fields = vec![
                "id = 1",
                "email = \"a@test.org\"",
                "full_name = \"A\"",
                "api_key = \"aaaaaaaaaaaaaaaa\"",
            ];
            fields.retain(|f| !f.starts_with(&format!("{name} ")));
            fields.push(field);
            let err = parse_realms(&user_with(&fields.join("\n")), "t.toml").unwrap_err();
            assert!(matches!(err, RealmError::User { .. }), "{field}: {err:?}");
            let text = err.to_string();
            assert!(
                text.starts_with("realm file t.toml: realm \"Test\": user "),
                "{field}: {text}"
            );
            assert!(text.contains(expected), "{field}: {text}");
        }
    }

    #[test]
    fn api_keys_never_appear_in_errors() {
        let err = err_text(&user_with(
            "id = 1\nemail = \"a@test.org\"\nfull_name = \"A\"\napi_key = \"sekrit\"",
        ));
        assert!(!err.contains("sekrit"), "{err}");
    }

    #[test]
    fn ids_and_emails_are_unique_across_realms() {
        let two = |second_id: i64, second_email: &str| {
            format!(
                r#"
[[realm]]
name = "One"
url = "http://one"
[[realm.user]]
id = 1
email = "Same@Example.com"
full_name = "First"
api_key = "aaaaaaaaaaaaaaaa"
[[realm]]
name = "Two"
url = "http://two"
[[realm.user]]
id = {second_id}
email = "{second_email}"
full_name = "Second"
api_key = "bbbbbbbbbbbbbbbb"
"#
            )
        };
        assert!(parse_realms(&two(2, "other@example.com"), "t.toml").is_ok());

        let err = err_text(&two(1, "other@example.com"));
        assert_eq!(
            err,
            "realm file t.toml: realm \"Two\": user 1 (other@example.com): id 1 is already the \
             id of user 1 (Same@Example.com)"
        );
        let err = err_text(&two(2, "same@example.COM"));
        assert!(
            err.starts_with(
                "realm file t.toml: realm \"Two\": user 2 (same@example.COM): email \
                 \"same@example.COM\" is already the email of user 1 (Same@Example.com)"
            ),
            "{err}"
        );
    }

    #[test]
    fn load_realm_file_reads_and_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("realms.toml");
        std::fs::write(&path, DEMO_REALM_TOML).unwrap();
        assert_eq!(load_realm_file(&path).unwrap(), demo_realms().unwrap());

        std::fs::write(&path, "[[realm]]\nname = \"R\"\n").unwrap();
        let err = load_realm_file(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");

        let missing = dir.path().join("missing.toml");
        let err = load_realm_file(&missing).unwrap_err();
        assert!(matches!(err, RealmError::Read { .. }));
        assert!(err.to_string().contains("missing.toml"), "{err}");
    }

    #[test]
    fn debug_hides_credentials() {
        let demo = demo_realms().unwrap();
        let text = format!("{demo:?}");
        assert!(
            !text.contains("opensesame") && !text.contains("DemoApiKey"),
            "{text}"
        );
    }
}
