//! `users` and `zuliprc`: the realm file's users with their credentials, as a table or JSON,
//! and a ready zuliprc for one of them.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::{CliError, DEFAULT_SITE, find_user, load_realms, parse_site};
use crate::core::model::UserRecord;
use crate::server::config::ServerConfig;
use crate::server::realm::LoadedRealms;

#[derive(Debug, Args)]
pub struct UsersArgs {
    /// Realm file; the demo realm when absent.
    #[arg(long)]
    pub realm: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ZuliprcArgs {
    /// The user's email (case does not matter).
    pub email: String,
    /// Realm file; the demo realm when absent.
    #[arg(long)]
    pub realm: Option<PathBuf>,
    /// The server URL to write as `site`.
    #[arg(long, default_value = DEFAULT_SITE, value_parser = parse_site)]
    pub site: String,
    /// The CA certificate to write as `cert_bundle`, for a server started with --tls (whose
    /// banner names it) [default for an https:// site: the CA `serve --tls` generates for the
    /// default database, when it exists].
    #[arg(long, value_name = "PATH")]
    pub cert_bundle: Option<PathBuf>,
}

pub(super) fn users(args: &UsersArgs) -> Result<String, CliError> {
    let (realms, _) = load_realms(args.realm.as_deref())?;
    if args.json {
        serde_json::to_string_pretty(&users_json(&realms))
            .map(|text| text + "\n")
            .map_err(|e| CliError::Runtime(e.to_string()))
    } else {
        Ok(users_table(&realms))
    }
}

/// Every user as JSON, in file order, with credentials.
pub fn users_json(realms: &LoadedRealms) -> serde_json::Value {
    realms
        .users
        .iter()
        .map(|u| {
            let realm = realms.realms.iter().find(|r| r.id == u.realm_id);
            serde_json::json!({
                "id": u.id,
                "realm": realm.map(|r| r.name.as_str()),
                "realm_url": realm.map(|r| r.url.as_str()),
                "email": u.email,
                "full_name": u.full_name,
                "admin": u.is_admin,
                "active": u.is_active,
                "bot": u.is_bot,
                "api_key": u.api_key,
                "password": u.password,
            })
        })
        .collect()
}

/// Every user as an aligned table, in file order, with credentials.
pub fn users_table(realms: &LoadedRealms) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let header = ["ID", "REALM", "EMAIL", "NAME", "ADMIN", "ACTIVE", "API KEY"].map(str::to_owned);
    let rows: Vec<[String; 7]> = realms
        .users
        .iter()
        .map(|u| {
            [
                u.id.to_string(),
                realm_name(realms, u),
                u.email.clone(),
                u.full_name.clone(),
                yes_no(u.is_admin),
                yes_no(u.is_active),
                u.api_key.clone(),
            ]
        })
        .collect();
    let mut widths = [0usize; 7];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (width, cell) in widths.iter().zip(row) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn realm_name(realms: &LoadedRealms, user: &UserRecord) -> String {
    realms
        .realms
        .iter()
        .find(|r| r.id == user.realm_id)
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

pub(super) fn zuliprc_command(args: &ZuliprcArgs) -> Result<String, CliError> {
    let (realms, origin) = load_realms(args.realm.as_deref())?;
    let user = find_user(&realms, &args.email).ok_or_else(|| CliError::UnknownUser {
        email: args.email.clone(),
        origin,
    })?;
    if !user.is_active {
        eprintln!(
            "warning: {} is deactivated; the server will refuse this key",
            user.email
        );
    }
    let cert_bundle = args.cert_bundle.clone().or_else(|| {
        let generated = ServerConfig::default()
            .tls_dir()
            .join(crate::server::tls::CA_FILE);
        (args.site.starts_with("https://") && generated.exists()).then_some(generated)
    });
    let mut text = zuliprc(user, &args.site);
    if let Some(bundle) = cert_bundle {
        // Absolute: the zuliprc may be read from another directory.
        let bundle = std::path::absolute(&bundle).unwrap_or(bundle);
        let _ = writeln!(text, "cert_bundle={}", bundle.display());
    }
    Ok(text)
}

/// A zuliprc as Zulip's clients read it.
pub fn zuliprc(user: &UserRecord, site: &str) -> String {
    format!(
        "[api]\nemail={}\nkey={}\nsite={site}\n",
        user.email, user.api_key
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tests::demo;

    #[test]
    fn zuliprc_is_what_zulip_clients_read() {
        let realms = demo();
        let hamlet = find_user(&realms, "HAMLET@zulip.com").unwrap();
        assert_eq!(
            zuliprc(hamlet, DEFAULT_SITE),
            "[api]\nemail=hamlet@zulip.com\nkey=hamletDemoApiKeyxxxxxxxxxxxxx010\n\
             site=http://127.0.0.1:9991\n"
        );
    }

    #[test]
    fn a_cert_bundle_is_written_for_a_tls_server() {
        let args = ZuliprcArgs {
            email: "hamlet@zulip.com".into(),
            realm: None,
            site: "https://127.0.0.1:4000".into(),
            cert_bundle: Some("/data/tls/ca.pem".into()),
        };
        let text = zuliprc_command(&args).unwrap();
        assert!(
            text.ends_with("site=https://127.0.0.1:4000\ncert_bundle=/data/tls/ca.pem\n"),
            "{text}"
        );
    }

    #[test]
    fn an_unknown_email_names_the_realm_source() {
        let args = ZuliprcArgs {
            email: "nobody@zulip.com".into(),
            realm: None,
            site: DEFAULT_SITE.into(),
            cert_bundle: None,
        };
        let err = zuliprc_command(&args).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert_eq!(
            err.to_string(),
            "no user with email \"nobody@zulip.com\" in the demo realm (`zulip-calls-mock users` \
             lists them)"
        );
    }

    #[test]
    fn a_bad_realm_file_is_a_configuration_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("realms.toml");
        std::fs::write(&path, "[[realm]]\nname = \"R\"\n").unwrap();
        let err = users(&UsersArgs {
            realm: Some(path),
            json: false,
        })
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("realms.toml"), "{err}");
    }

    #[test]
    fn users_table_has_a_row_per_user_with_credentials() {
        let table = users_table(&demo());
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 1 + 16);
        let header: Vec<&str> = lines[0]
            .split("  ")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(
            header,
            ["ID", "REALM", "EMAIL", "NAME", "ADMIN", "ACTIVE", "API KEY"]
        );
        let iago = lines[1];
        assert!(iago.starts_with("5 "), "{iago}");
        for cell in [
            "Zulip Dev",
            "iago@zulip.com",
            "Iago",
            "yes",
            "iagoDemoApiKeyxxxxxxxxxxxxxxx005",
        ] {
            assert!(iago.contains(cell), "{iago}");
        }
        let desdemona = lines.iter().find(|l| l.contains("desdemona")).unwrap();
        assert!(desdemona.contains(" no     no "), "{desdemona}");
        // Columns line up: every row's email starts where the header's does.
        let column = lines[0].find("EMAIL").unwrap();
        assert!(lines[1..].iter().all(|l| l[column..].contains('@')));
        assert_eq!(lines[1].find("iago@").unwrap(), column);
    }

    #[test]
    fn users_json_has_every_field() {
        let json = users_json(&demo());
        let rows = json.as_array().unwrap();
        assert_eq!(rows.len(), 16);
        assert_eq!(
            rows[0],
            serde_json::json!({
                "id": 5,
                "realm": "Zulip Dev",
                "realm_url": "http://localhost:9991",
                "email": "iago@zulip.com",
                "full_name": "Iago",
                "admin": true,
                "active": true,
                "bot": false,
                "api_key": "iagoDemoApiKeyxxxxxxxxxxxxxxx005",
                "password": "opensesame",
            })
        );
        let king = rows.iter().find(|r| r["email"] == "king@lear.org").unwrap();
        assert_eq!(king["realm"], "Lear & Co.");
    }
}
