//! The sign-in form's runner: drives [`crate::app::login`] with keys and the results of its
//! three effects (`server_settings`, `fetch_api_key`, writing the zuliprc), in the terminal
//! the main UI then takes over.

use std::path::{Path, PathBuf};

use crossterm::event::Event;
use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use zulip_calls_protocol::endpoint::Empty;
use zulip_calls_protocol::zulip::{FetchApiKey, FetchApiKeyRequest, ServerSettings};

use crate::app::login::{Account, LoginCommand, LoginModel, LoginMsg, ServerInfo, update_login};
use crate::backend::api::{ApiClient, Credentials, ServerAddress};
use crate::config;
use crate::tui::{self, Signals, TerminalGuard};
use crate::ui;

/// Shows the form until the user signs in (the account) or leaves (`None`).
pub async fn sign_in(
    guard: &mut TerminalGuard,
    signals: &mut Signals,
    save_path: Option<PathBuf>,
) -> std::io::Result<Option<Account>> {
    let mut model = LoginModel::new(save_path.map(|p| p.display().to_string()));
    let (tx, mut results) = mpsc::unbounded_channel();
    let mut keys = crossterm::event::EventStream::new();
    guard
        .terminal()
        .draw(|frame| ui::draw_login(frame, &model))?;
    loop {
        let msg = tokio::select! {
            () = signals.recv() => return Ok(None),
            event = keys.next() => match event {
                Some(Ok(Event::Key(key))) => match tui::key_input(key) {
                    Some(key) => LoginMsg::Key(key),
                    None => continue,
                },
                Some(Ok(Event::Resize(..))) => LoginMsg::Resize,
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err(err),
                None => return Ok(None),
            },
            Some(msg) = results.recv() => msg,
        };
        let (commands, redraw) = update_login(&mut model, msg);
        for command in commands {
            let tx = tx.clone();
            let account = model.account.clone();
            tokio::spawn(async move {
                if let Some(msg) = perform(command, account).await {
                    let _ = tx.send(msg);
                }
            });
        }
        if model.cancelled {
            return Ok(None);
        }
        if redraw {
            guard
                .terminal()
                .draw(|frame| ui::draw_login(frame, &model))?;
        }
        if model.stage == crate::app::login::Stage::Done {
            return Ok(model.account);
        }
    }
}

/// Runs one command of the form; the answer comes back as a message.
pub async fn perform(command: LoginCommand, account: Option<Account>) -> Option<LoginMsg> {
    match command {
        LoginCommand::CheckServer { site } => {
            let result = check_server(&site).await;
            Some(LoginMsg::ServerChecked { site, result })
        }
        LoginCommand::FetchApiKey {
            site,
            username,
            password,
        } => Some(LoginMsg::SignedIn(
            fetch_api_key(&site, username, password).await,
        )),
        LoginCommand::SaveZuliprc { path } => {
            let result = match account {
                Some(account) => save(Path::new(&path), &account),
                None => Err("not signed in".to_owned()),
            };
            Some(LoginMsg::Saved(result))
        }
    }
}

/// `GET server_settings`: is there a Zulip server at `site`, and does it take passwords?
pub async fn check_server(site: &str) -> Result<ServerInfo, String> {
    let server = ServerAddress::parse(site).map_err(|e| e.to_string())?;
    let api = ApiClient::anonymous(server).map_err(|e| e.to_string())?;
    let settings = api
        .request::<ServerSettings>(&(), &Empty {})
        .await
        .map_err(|e| e.to_string())?;
    let password_login = settings.auth_method_enabled("password")
        || settings.auth_method_enabled("ldap")
        || settings.email_auth_enabled == Some(true);
    Ok(ServerInfo {
        realm_name: settings.realm_name,
        zulip_version: settings.zulip_version,
        password_login,
    })
}

/// `POST fetch_api_key`: trades the password for the account's API key.
pub async fn fetch_api_key(
    site: &str,
    username: String,
    password: String,
) -> Result<Account, String> {
    let server = ServerAddress::parse(site).map_err(|e| e.to_string())?;
    let site = server.site_str();
    let api = ApiClient::anonymous(server).map_err(|e| e.to_string())?;
    let answer = api
        .request::<FetchApiKey>(&(), &FetchApiKeyRequest { username, password })
        .await
        .map_err(|e| e.to_string())?;
    Ok(Account {
        site,
        email: answer.email,
        api_key: answer.api_key,
    })
}

/// The account as credentials for the API client.
pub fn credentials(account: &Account) -> Result<Credentials, crate::backend::api::ClientError> {
    Ok(Credentials {
        server: ServerAddress::parse(&account.site)?,
        email: account.email.clone(),
        api_key: account.api_key.clone(),
    })
}

/// Writes the account to a new owner-only zuliprc at `path`.
fn save(path: &Path, account: &Account) -> Result<(), String> {
    let credentials = credentials(account).map_err(|e| e.to_string())?;
    config::save_zuliprc(path, &credentials).map_err(|e| e.to_string())
}
