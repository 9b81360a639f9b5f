//! Credentials the way every Zulip tool finds them: a zuliprc (`[api]` `email`, `key`, `site`,
//! optional `insecure` and `cert_bundle`) from `--config`, `$ZULIPRC`, `~/.zuliprc` or
//! `~/zuliprc`; then `ZULIP_EMAIL`, `ZULIP_API_KEY`, `ZULIP_SITE`; then `--email`, `--api-key`,
//! `--site`. Later sources win, field by field. The zuliprc's `[zulip-calls]` section holds the
//! client's own preferences ([`crate::preferences`]).
//!
//! Resolution is pure apart from reading the file: the environment and the home directory come
//! in as parameters, so tests never touch the process's.

use std::path::{Path, PathBuf};

use crate::backend::api::{ClientError, Credentials, ServerAddress};
use crate::preferences::CLIENT_SECTION;
use crate::preferences::{self, BadValue, Preferences, UnknownKey};

/// Command-line overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialFlags {
    pub config: Option<PathBuf>,
    pub site: Option<String>,
    pub email: Option<String>,
    pub api_key: Option<String>,
    /// `--insecure`: only ever turns `insecure` on.
    pub insecure: bool,
    /// `--cert-bundle`, over the zuliprc's `cert_bundle`.
    pub cert_bundle: Option<PathBuf>,
}

/// Why credentials could not be put together.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a valid zuliprc: {reason}", path.display())]
    Syntax { path: PathBuf, reason: String },
    #[error(
        "{}: {key} in [{section}] must be one of {}, not {value:?}",
        path.display(),
        expected.join(", ")
    )]
    BadValue {
        path: PathBuf,
        section: &'static str,
        key: &'static str,
        value: String,
        expected: &'static [&'static str],
    },
    #[error(
        "{} is readable by other users (mode {mode:o}); it holds your API key, so run: chmod 600 {}",
        path.display(),
        path.display()
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("{} names cert_bundle {}, which does not exist", path.display(), bundle.display())]
    MissingBundle { path: PathBuf, bundle: PathBuf },
    #[error("no {what}: set it in a zuliprc [api] section, with {env}, or with --{flag}")]
    Missing {
        what: &'static str,
        env: &'static str,
        flag: &'static str,
    },
    #[error(transparent)]
    Site(#[from] ClientError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl BadValue {
    /// The error naming the key and the file.
    pub fn in_file(self, path: &Path) -> ConfigError {
        ConfigError::BadValue {
            path: path.to_owned(),
            section: CLIENT_SECTION,
            key: self.key,
            value: self.value,
            expected: self.expected,
        }
    }
}

/// What a zuliprc holds (every field optional: flags or the environment may fill the rest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zuliprc {
    pub email: Option<String>,
    pub key: Option<String>,
    pub site: Option<String>,
    pub insecure: bool,
    pub cert_bundle: Option<PathBuf>,
    /// The `[zulip-calls]` section.
    pub preferences: Preferences,
    /// Keys of `[zulip-calls]` this version does not know.
    pub unknown_keys: Vec<UnknownKey>,
}

/// This client's settings beside the credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// The zuliprc's preferences (the defaults without one).
    pub preferences: Preferences,
    /// What to warn about: keys of `[zulip-calls]` this version does not know.
    pub unknown_keys: Vec<UnknownKey>,
}

/// Where the zuliprc is: `--config`, then `$ZULIPRC`, then `~/.zuliprc`, then `~/zuliprc`
/// (the first that exists; an explicit path is returned even when missing, to report it).
pub fn zuliprc_path(
    flag: Option<&Path>,
    env: &impl Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Option<PathBuf> {
    if let Some(path) = flag {
        return Some(path.to_owned());
    }
    if let Some(path) = env("ZULIPRC").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let home = home?;
    [".zuliprc", "zuliprc"]
        .iter()
        .map(|name| home.join(name))
        .find(|p| p.is_file())
}

/// Reads and checks a zuliprc.
pub fn read_zuliprc(path: &Path) -> Result<Zuliprc, ConfigError> {
    check_permissions(path)?;
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_zuliprc(&text, path)
}

/// Parses zuliprc text read from `path` (relative `cert_bundle` paths are taken from its folder).
pub fn parse_zuliprc(text: &str, path: &Path) -> Result<Zuliprc, ConfigError> {
    let syntax = |reason: String| ConfigError::Syntax {
        path: path.to_owned(),
        reason,
    };
    let ini = ini::Ini::load_from_str(text).map_err(|e| syntax(e.to_string()))?;
    let Some(api) = ini.section(Some("api")) else {
        return Err(syntax("no [api] section".to_owned()));
    };
    let get = |key: &str| {
        api.get(key)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let insecure = match get("insecure")
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("false" | "no" | "0" | "off") => false,
        Some("true" | "yes" | "1" | "on") => true,
        Some(other) => {
            return Err(syntax(format!(
                "insecure must be true or false, not {other:?}"
            )));
        }
    };
    let cert_bundle = get("cert_bundle").map(|b| {
        let bundle = PathBuf::from(b);
        match path.parent() {
            Some(dir) if bundle.is_relative() => dir.join(bundle),
            _ => bundle,
        }
    });
    if let Some(bundle) = &cert_bundle
        && !bundle.exists()
    {
        return Err(ConfigError::MissingBundle {
            path: path.to_owned(),
            bundle: bundle.clone(),
        });
    }
    let (preferences, unknown_keys) = preferences::parse(ini.section(Some(CLIENT_SECTION)), path)
        .map_err(|bad| bad.in_file(path))?;
    Ok(Zuliprc {
        email: get("email"),
        key: get("key"),
        site: get("site"),
        insecure,
        cert_bundle,
        preferences,
        unknown_keys,
    })
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ConfigError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<(), ConfigError> {
    Ok(())
}

/// Puts the credentials together; `Ok(None)` when there are none at all (the TUI then asks
/// for them), an error when some are there but not enough.
pub fn resolve(
    flags: &CredentialFlags,
    env: impl Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<Option<Credentials>, ConfigError> {
    resolve_with_settings(flags, env, home).map(|(credentials, _)| credentials)
}

/// [`resolve`], plus the client's own settings from the same zuliprc.
pub fn resolve_with_settings(
    flags: &CredentialFlags,
    env: impl Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<(Option<Credentials>, ClientSettings), ConfigError> {
    let rc = match zuliprc_path(flags.config.as_deref(), &env, home) {
        Some(path) => read_zuliprc(&path)?,
        None => Zuliprc::default(),
    };
    let settings = ClientSettings {
        preferences: rc.preferences,
        unknown_keys: rc.unknown_keys.clone(),
    };
    Ok((credentials_from(flags, &env, rc)?, settings))
}

fn credentials_from(
    flags: &CredentialFlags,
    env: &impl Fn(&str) -> Option<String>,
    rc: Zuliprc,
) -> Result<Option<Credentials>, ConfigError> {
    let pick = |flag: &Option<String>, var: &str, file: &Option<String>| {
        flag.clone()
            .filter(|v| !v.is_empty())
            .or_else(|| env(var).filter(|v| !v.is_empty()))
            .or_else(|| file.clone())
    };
    let email = pick(&flags.email, "ZULIP_EMAIL", &rc.email);
    let key = pick(&flags.api_key, "ZULIP_API_KEY", &rc.key);
    let site = pick(&flags.site, "ZULIP_SITE", &rc.site);
    if email.is_none() && key.is_none() && site.is_none() {
        // Trust flags alone make no account.
        return Ok(None);
    }
    let missing = |what, env, flag| ConfigError::Missing { what, env, flag };
    let site = site.ok_or_else(|| missing("server URL", "ZULIP_SITE", "site"))?;
    let email = email.ok_or_else(|| missing("email", "ZULIP_EMAIL", "email"))?;
    let api_key = key.ok_or_else(|| missing("API key", "ZULIP_API_KEY", "api-key"))?;
    let mut server = ServerAddress::parse(&site)?;
    server.insecure = flags.insecure || rc.insecure;
    server.cert_bundle = flags.cert_bundle.clone().or(rc.cert_bundle);
    Ok(Some(Credentials {
        server,
        email,
        api_key,
    }))
}

/// Where the client keeps its log and what it remembers between runs: the state directory
/// (`$XDG_STATE_HOME/zulip-calls` on Linux), else the local data directory.
pub fn state_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "zulip-calls")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_owned(),
    )
}

/// The text of a zuliprc for `credentials`.
pub fn zuliprc_text(credentials: &Credentials) -> String {
    let mut text = format!(
        "[api]\nemail={}\nkey={}\nsite={}\n",
        credentials.email,
        credentials.api_key,
        credentials.server.site_str()
    );
    if credentials.server.insecure {
        text.push_str("insecure=true\n");
    }
    if let Some(bundle) = &credentials.server.cert_bundle {
        text.push_str(&format!("cert_bundle={}\n", bundle.display()));
    }
    text
}

/// Where the sign-in form offers to save a zuliprc: `~/.zuliprc`, the first place every Zulip
/// tool looks.
pub fn login_save_path(home: Option<&Path>) -> Option<PathBuf> {
    home.map(|home| home.join(".zuliprc"))
}

/// Writes a new zuliprc readable by its owner only (mode 0600 from the start, never wider).
/// An existing file is never replaced: it may hold other sections or another account.
pub fn save_zuliprc(path: &Path, credentials: &Credentials) -> Result<(), ConfigError> {
    use std::io::Write;
    let write_err = |source| ConfigError::Write {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(write_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(write_err)?;
    }
    file.write_all(zuliprc_text(credentials).as_bytes())
        .map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::dialect::CallsApiChoice;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn write_rc(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        path
    }

    const RC: &str = "[api]\nemail=hamlet@zulip.com\nkey=abcdefghijklmnop\nsite=localhost:9991\n";

    #[test]
    fn reads_a_zuliprc_from_home() {
        let dir = tempfile::tempdir().unwrap();
        write_rc(dir.path(), ".zuliprc", RC, 0o600);
        let creds = resolve(&CredentialFlags::default(), no_env, Some(dir.path()))
            .unwrap()
            .unwrap();
        assert_eq!(creds.email, "hamlet@zulip.com");
        assert_eq!(creds.api_key, "abcdefghijklmnop");
        assert_eq!(creds.server.site_str(), "http://localhost:9991");
    }

    #[test]
    fn the_environment_beats_the_file_and_flags_beat_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_rc(dir.path(), "rc", RC, 0o600);
        let env = |name: &str| match name {
            "ZULIPRC" => Some(path.display().to_string()),
            "ZULIP_EMAIL" => Some("iago@zulip.com".into()),
            "ZULIP_SITE" => Some("https://chat.example.com".into()),
            _ => None,
        };
        let flags = CredentialFlags {
            site: Some("https://other.example.com".into()),
            ..CredentialFlags::default()
        };
        let creds = resolve(&flags, env, None).unwrap().unwrap();
        assert_eq!(creds.email, "iago@zulip.com", "env over file");
        assert_eq!(creds.api_key, "abcdefghijklmnop", "file where nothing else");
        assert_eq!(
            creds.server.site_str(),
            "https://other.example.com",
            "flag over env"
        );
    }

    #[test]
    fn the_trust_flags_override_the_zuliprc() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rc-ca.pem"), "").unwrap();
        std::fs::write(dir.path().join("flag-ca.pem"), "").unwrap();
        let text = format!("{RC}cert_bundle=rc-ca.pem\n");
        let path = write_rc(dir.path(), "rc", &text, 0o600);
        let mut flags = CredentialFlags {
            config: Some(path),
            ..CredentialFlags::default()
        };
        let creds = resolve(&flags, no_env, None).unwrap().unwrap();
        assert_eq!(creds.server.cert_bundle, Some(dir.path().join("rc-ca.pem")));
        assert!(!creds.server.insecure);
        flags.cert_bundle = Some(dir.path().join("flag-ca.pem"));
        flags.insecure = true;
        let creds = resolve(&flags, no_env, None).unwrap().unwrap();
        assert_eq!(creds.server.cert_bundle, flags.cert_bundle);
        assert!(creds.server.insecure);
    }

    #[cfg(unix)]
    #[test]
    fn a_zuliprc_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_rc(dir.path(), "rc", RC, 0o644);
        let flags = CredentialFlags {
            config: Some(path),
            ..CredentialFlags::default()
        };
        let err = resolve(&flags, no_env, None).unwrap_err();
        assert!(
            matches!(err, ConfigError::TooOpen { mode: 0o644, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"));
    }

    #[test]
    fn nothing_anywhere_is_none_but_half_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            resolve(&CredentialFlags::default(), no_env, Some(dir.path()))
                .unwrap()
                .is_none()
        );
        let flags = CredentialFlags {
            email: Some("x@y.z".into()),
            site: Some("localhost:9991".into()),
            ..CredentialFlags::default()
        };
        let err = resolve(&flags, no_env, Some(dir.path())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no API key: set it in a zuliprc [api] section, with ZULIP_API_KEY, or with --api-key"
        );
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let path = Path::new("/x/zuliprc");
        assert!(
            parse_zuliprc("[other]\nemail=a\n", path)
                .unwrap_err()
                .to_string()
                .contains("no [api] section")
        );
        assert!(
            parse_zuliprc("[api]\ninsecure=maybe\n", path)
                .unwrap_err()
                .to_string()
                .contains("insecure")
        );
        let missing = parse_zuliprc("[api]\ncert_bundle=nope.pem\n", path).unwrap_err();
        assert!(missing.to_string().contains("/x/nope.pem"), "{missing}");
        let rc = parse_zuliprc("[api]\ninsecure=True\nsite=https://x.org\n", path).unwrap();
        assert!(rc.insecure);
    }

    #[test]
    fn the_calls_api_comes_from_its_own_section() {
        let path = Path::new("/x/zuliprc");
        let rc = parse_zuliprc("[api]\nsite=x\n[zulip-calls]\ncalls_api = 1.1\n", path).unwrap();
        assert_eq!(
            rc.preferences.calls_api,
            Some(CallsApiChoice::Fixed(zulip_calls_protocol::Dialect::V1_1))
        );
        let rc = parse_zuliprc("[api]\nsite=x\n[zulip-calls]\ncalls_api=auto\n", path).unwrap();
        assert_eq!(rc.preferences.calls_api, Some(CallsApiChoice::Auto));
        assert_eq!(parse_zuliprc(RC, path).unwrap().preferences.calls_api, None);
        let err = parse_zuliprc("[api]\n[zulip-calls]\ncalls_api=1.2\n", path).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/x/zuliprc: calls_api in [zulip-calls] must be one of auto, design, 1.1, not \"1.2\""
        );
    }

    #[test]
    fn settings_come_with_the_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{RC}[zulip-calls]\ncalls_api=design\n");
        write_rc(dir.path(), ".zuliprc", &text, 0o600);
        let (creds, settings) =
            resolve_with_settings(&CredentialFlags::default(), no_env, Some(dir.path())).unwrap();
        assert_eq!(creds.unwrap().email, "hamlet@zulip.com");
        assert_eq!(
            settings.preferences.calls_api,
            Some(CallsApiChoice::Fixed(zulip_calls_protocol::Dialect::Design))
        );
    }

    #[test]
    fn saved_zuliprcs_are_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zuliprc");
        let creds = Credentials {
            server: ServerAddress::parse("http://127.0.0.1:9991").unwrap(),
            email: "othello@zulip.com".into(),
            api_key: "0123456789abcdef".into(),
        };
        save_zuliprc(&path, &creds).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let flags = CredentialFlags {
            config: Some(path.clone()),
            ..CredentialFlags::default()
        };
        assert_eq!(resolve(&flags, no_env, None).unwrap().unwrap(), creds);
        let again = save_zuliprc(&path, &creds).unwrap_err().to_string();
        assert!(
            again.contains("cannot write") && again.contains("exists"),
            "{again}"
        );
    }
}
