//! The users of a server speaking the plugin's 1.1 dialect, in the shape the released plugin's
//! harness writes them (`[{email, api_key, user_id, full_name, realm, is_active, is_bot}]`,
//! `realm` being the realm's URL), and a mock realm file holding the same people.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One user of a users file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginUser {
    pub email: String,
    pub api_key: String,
    pub user_id: i64,
    pub full_name: String,
    /// The URL of the user's realm.
    pub realm: String,
    pub is_active: bool,
    pub is_bot: bool,
}

/// Reads a users file.
pub fn read_users(path: &std::path::Path) -> anyhow::Result<Vec<PluginUser>> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the users file {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a users file of the plugin's shape",
            path.display()
        )
    })
}

/// The users of a mock server's control API (`GET /mock/v1/users`) in the users file's shape.
pub fn from_mock_listing(listing: &serde_json::Value) -> anyhow::Result<Vec<PluginUser>> {
    use anyhow::Context;
    let users = listing["users"]
        .as_array()
        .context("the mock's user listing has no `users`")?;
    users
        .iter()
        .map(|u| {
            let text = |key: &str| -> anyhow::Result<String> {
                u[key]
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("a listed user has no `{key}`"))
            };
            Ok(PluginUser {
                email: text("email")?,
                api_key: text("api_key")?,
                user_id: u["user_id"].as_i64().context("a listed user has no id")?,
                full_name: text("full_name")?,
                realm: text("realm_url")?,
                is_active: u["is_active"].as_bool().unwrap_or(true),
                is_bot: u["is_bot"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

/// The realms of `users`, in the order they first appear: `(url, users)`.
pub fn realms(users: &[PluginUser]) -> Vec<(String, Vec<&PluginUser>)> {
    let mut order: Vec<String> = Vec::new();
    let mut by_realm: BTreeMap<String, Vec<&PluginUser>> = BTreeMap::new();
    for user in users {
        if !by_realm.contains_key(&user.realm) {
            order.push(user.realm.clone());
        }
        by_realm.entry(user.realm.clone()).or_default().push(user);
    }
    order
        .into_iter()
        .map(|url| {
            let members = by_realm.remove(&url).unwrap_or_default();
            (url, members)
        })
        .collect()
}

/// A realm URL the mock accepts for `url`: a host such as `lear.127.0.0.1` (a subdomain of an
/// address, which URL parsers refuse) becomes `lear.localhost`.
pub fn usable_realm_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let (host, port) = authority
        .rsplit_once(':')
        .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
        .map_or((authority, None), |(h, p)| (h, Some(p)));
    let labels: Vec<&str> = host.split('.').collect();
    let numeric = |l: &&str| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit());
    if labels.len() > 4 && labels[labels.len() - 4..].iter().all(numeric) {
        let sub = labels[..labels.len() - 4].join(".");
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let path = if path.is_empty() {
            String::new()
        } else {
            format!("/{path}")
        };
        return format!("{scheme}://{sub}.localhost{port}{path}");
    }
    url.to_owned()
}

/// A mock realm file (the format of `assets/demo-realm.toml`) with the same realms and users
/// as `users`: same ids, emails, names and API keys, deactivated users and bots alike (bots
/// that do nothing by themselves). `name_of` gives a realm's name from its URL.
pub fn realm_toml(users: &[PluginUser], name_of: &dyn Fn(&str) -> String) -> String {
    // JSON strings are valid TOML basic strings.
    let quote = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let mut text = String::from("# The users of a server of the plugin's 1.1 dialect, mirrored.\n");
    for (url, members) in realms(users) {
        text.push_str(&format!(
            "\n[[realm]]\nname = {}\nurl = {}\n",
            quote(&name_of(&url)),
            quote(&usable_realm_url(&url))
        ));
        for user in members {
            text.push_str(&format!(
                "\n[[realm.user]]\nid = {}\nemail = {}\nfull_name = {}\napi_key = {}\n",
                user.user_id,
                quote(&user.email),
                quote(&user.full_name),
                quote(&user.api_key)
            ));
            if !user.is_active {
                text.push_str("active = false\n");
            }
            if user.is_bot {
                text.push_str("bot = true\n");
            }
        }
    }
    text
}

/// The users of the plugin's harness (two realms: seven people, a deactivated one and a bot
/// in the first, two people in the second), at `site`, with made-up API keys: a fixture for
/// servers that have no plugin behind them.
pub fn harness_like(site: &str, lear_site: &str) -> Vec<PluginUser> {
    let people = [
        ("iago@zulip.test", "Iago", site, true, false),
        ("hamlet@zulip.test", "King Hamlet", site, true, false),
        (
            "othello@zulip.test",
            "Othello, the Moor of Venice",
            site,
            true,
            false,
        ),
        (
            "cordelia@zulip.test",
            "Cordelia, Lear's daughter",
            site,
            true,
            false,
        ),
        (
            "prospero@zulip.test",
            "Prospero from The Tempest",
            site,
            true,
            false,
        ),
        ("aaron@zulip.test", "aaron", site, true, false),
        ("zoe@zulip.test", "Zoe", site, true, false),
        ("ophelia@zulip.test", "Ophelia", site, false, false),
        ("welcome-bot@zulip.test", "Welcome Bot", site, true, true),
        ("king@lear.test", "King Lear", lear_site, true, false),
        ("edgar@lear.test", "Edgar", lear_site, true, false),
    ];
    people
        .iter()
        .zip(1..)
        .map(|(&(email, name, realm, active, bot), id)| PluginUser {
            email: email.to_owned(),
            api_key: format!("diffFixtureApiKey{id:015}"),
            user_id: id,
            full_name: name.to_owned(),
            realm: realm.to_owned(),
            is_active: active,
            is_bot: bot,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subdomain_of_an_address_becomes_one_of_localhost() {
        assert_eq!(
            usable_realm_url("http://lear.127.0.0.1:9411"),
            "http://lear.localhost:9411"
        );
        assert_eq!(
            usable_realm_url("http://127.0.0.1:9411"),
            "http://127.0.0.1:9411"
        );
        assert_eq!(
            usable_realm_url("https://lear.example.org"),
            "https://lear.example.org"
        );
    }

    #[test]
    fn the_realm_file_mirrors_the_users() {
        let users = harness_like("http://127.0.0.1:1", "http://lear.127.0.0.1:1");
        let toml = realm_toml(&users, &|url: &str| format!("Realm at {url}"));
        assert_eq!(toml.matches("[[realm]]").count(), 2);
        assert_eq!(toml.matches("[[realm.user]]").count(), 11);
        assert!(toml.contains("full_name = \"Cordelia, Lear's daughter\""));
        assert!(toml.contains("url = \"http://lear.localhost:1\""));
        assert_eq!(toml.matches("active = false").count(), 1);
        assert_eq!(toml.matches("bot = true").count(), 1);
    }
}
