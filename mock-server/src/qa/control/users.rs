//! `/mock/v1/users`: the users of every realm with their credentials, and creating,
//! deactivating and reactivating users while the server runs (CONTROL-API.md, "Users").
//!
//! The realm file stays the source of truth: a reset (`reset.rs`) brings it back. Changes here
//! write the directory (replaced whole, so requests never see half of a change) and the stored
//! users together, under the store lock, so calls and authentication always agree.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use rand::Rng;
use rand::distr::Alphanumeric;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zulip_calls_protocol::UserId;

use super::{ControlError, ControlResult, PREFIX};
use crate::api::params::ApiParams;
use crate::api::success;
use crate::core::directory::Directory;
use crate::core::model::MIN_API_KEY_LEN;
use crate::core::model::{RealmRecord, UserRecord};
use crate::qa::request_match::UserRef;
use crate::qa::{Qa, QaState};

/// The WebSocket close code for a deactivated user's connections (policy violation): like a
/// deleted queue, reconnecting cannot help.
const DEACTIVATED_CLOSE_CODE: u16 = 1008;

/// The users routes.
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router
        .route(&format!("{PREFIX}/users"), get(list).post(create))
        .route(
            &format!("{PREFIX}/users/{{user_id}}/deactivate"),
            post(deactivate),
        )
        .route(
            &format!("{PREFIX}/users/{{user_id}}/reactivate"),
            post(reactivate),
        )
}

/// A user as the control API shows it, credentials included (the control API is for tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct UserInfo {
    pub user_id: UserId,
    pub email: String,
    pub full_name: String,
    /// The realm's name.
    pub realm: String,
    pub realm_url: String,
    pub is_admin: bool,
    pub is_bot: bool,
    pub is_active: bool,
    pub api_key: String,
    pub password: Option<String>,
    /// The bot's behaviour, for automated bots; `null` otherwise.
    pub bot: Option<serde_json::Value>,
}

impl UserInfo {
    fn new(user: &UserRecord, realm: Option<&RealmRecord>) -> Self {
        UserInfo {
            user_id: user.id,
            email: user.email.clone(),
            full_name: user.full_name.clone(),
            realm: realm.map(|r| r.name.clone()).unwrap_or_default(),
            realm_url: realm.map(|r| r.url.clone()).unwrap_or_default(),
            is_admin: user.is_admin,
            is_bot: user.is_bot,
            is_active: user.is_active,
            api_key: user.api_key.clone(),
            password: user.password.clone(),
            bot: None,
        }
    }
}

/// The realm `text` names: its id, name (any case), URL, or subdomain (the URL's first host
/// label, e.g. `lear` for `http://lear.localhost:9991`).
pub fn find_realm<'a>(directory: &'a Directory, text: &str) -> ControlResult<&'a RealmRecord> {
    let text = text.trim();
    directory
        .realms()
        .into_iter()
        .find(|realm| {
            let host = url::Url::parse(&realm.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            realm.id.0.to_string() == text
                || realm.name.eq_ignore_ascii_case(text)
                || realm.url.eq_ignore_ascii_case(text.trim_end_matches('/'))
                || host.split('.').next() == Some(text)
        })
        .ok_or_else(|| ControlError::not_found(format!("No such realm: {text}")))
}

/// The user `user` names (by id or email, active or not), or 404.
pub fn find_user(state: &Qa, user: &UserRef) -> ControlResult<UserRecord> {
    let directory = state.core.directory();
    match user {
        UserRef::Id(id) => directory.user(*id),
        UserRef::Email(email) => directory.user_by_email(email),
    }
    .cloned()
    .ok_or_else(|| ControlError::not_found(format!("No such user: {user}")))
}

/// The user a `{user_id}` path segment names, or 404.
pub fn path_user(
    state: &Qa,
    user_id: Result<Path<String>, PathRejection>,
) -> ControlResult<UserRecord> {
    let id = user_id
        .ok()
        .and_then(|Path(id)| id.trim().parse::<i64>().ok())
        .ok_or_else(|| ControlError::not_found("No such user"))?;
    find_user(state, &UserRef::Id(UserId(id)))
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct ListRequest {
    #[serde(default)]
    realm: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ListResponse {
    users: Vec<UserInfo>,
}

async fn list(
    State(state): State<QaState>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let request: ListRequest = params.decode()?;
    let directory = state.core.directory();
    let realms = match &request.realm {
        Some(realm) => vec![find_realm(&directory, realm)?],
        None => directory.realms(),
    };
    let bots = &state.bots;
    let users = realms
        .into_iter()
        .flat_map(|realm| {
            directory
                .realm_users(realm.id)
                .into_iter()
                .map(move |user| UserInfo {
                    bot: bots.behaviour_of(user.id).map(|b| b.as_str().into()),
                    ..UserInfo::new(user, Some(realm))
                })
        })
        .collect();
    Ok(success(ListResponse { users }))
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct CreateRequest {
    email: String,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    realm: Option<String>,
    #[serde(default)]
    is_admin: bool,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    api_key: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct CreateResponse {
    user_id: UserId,
    email: String,
    api_key: String,
}

async fn create(
    State(state): State<QaState>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let request: CreateRequest = params.decode()?;
    let email = request.email.trim().to_owned();
    let email_ok = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.contains(char::is_whitespace);
    if !email_ok {
        return Err(ControlError::bad_request(format!(
            "Invalid 'email': {email:?} is not an email address"
        )));
    }
    let full_name = match request.full_name.as_deref().map(str::trim) {
        Some("") => return Err(ControlError::bad_request("Invalid 'full_name': empty")),
        Some(name) => name.to_owned(),
        None => email.split('@').next().unwrap_or_default().to_owned(),
    };
    let api_key = match request.api_key {
        Some(key) => {
            if key.chars().count() < MIN_API_KEY_LEN || key.contains(char::is_whitespace) {
                return Err(ControlError::bad_request(format!(
                    "Invalid 'api_key': it needs at least {MIN_API_KEY_LEN} characters and no \
                     whitespace"
                )));
            }
            key
        }
        None => new_api_key(),
    };
    if request.password.as_deref() == Some("") {
        return Err(ControlError::bad_request(
            "Invalid 'password': empty (leave it out to refuse password login)",
        ));
    }

    let mut store = state.core.store();
    let (realms, mut users) = snapshot(&state.core.directory());
    let realm_id = {
        let directory = state.core.directory();
        match &request.realm {
            Some(realm) => find_realm(&directory, realm)?.id,
            None => directory
                .realms()
                .first()
                .map(|r| r.id)
                .ok_or_else(|| ControlError::bad_request("There is no realm"))?,
        }
    };
    if users.iter().any(|u| u.email.eq_ignore_ascii_case(&email)) {
        return Err(ControlError::new(
            StatusCode::CONFLICT,
            "EMAIL_TAKEN",
            format!("A user with email {email} already exists"),
        ));
    }
    // Above every id ever stored, so a user the realm file dropped keeps its calls to itself.
    let stored_max = store.users()?.iter().map(|u| u.id.0).max().unwrap_or(0);
    let id = UserId(
        users
            .iter()
            .map(|u| u.id.0)
            .max()
            .unwrap_or(0)
            .max(stored_max)
            + 1,
    );
    users.push(UserRecord {
        id,
        realm_id,
        email: email.clone(),
        full_name,
        api_key: api_key.clone(),
        password: request.password,
        is_admin: request.is_admin,
        is_active: true,
        is_bot: false,
    });
    store.with_tx(|tx| {
        tx.replace_realms(&realms, &users)?;
        tx.note_user_added(id)
    })?;
    state.core.replace_directory(Directory::new(realms, users));
    drop(store);
    tracing::info!(user = %id, %email, "user created through the control API");
    Ok(success(CreateResponse {
        user_id: id,
        email,
        api_key,
    }))
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct DeactivateResponse {
    user_id: UserId,
    /// How many event queues of the user were deleted.
    queues_deleted: usize,
    /// How many open WebSockets were closed.
    websockets_closed: usize,
}

async fn deactivate(
    State(state): State<QaState>,
    user_id: Result<Path<String>, PathRejection>,
) -> ControlResult<Response> {
    let user = path_user(&state, user_id)?;
    set_active(&state, user.id, false)?;
    // Sockets first, so they close with the reason rather than as a vanished queue.
    let websockets_closed = state.api.sockets.close_user(
        user.id,
        DEACTIVATED_CLOSE_CODE,
        "USER_DEACTIVATED: the account was deactivated",
    );
    let queues_deleted = state.core.queues.remove_user(user.id).len();
    state.core.note_change();
    tracing::info!(user = %user.id, queues_deleted, websockets_closed, "user deactivated through the control API");
    Ok(success(DeactivateResponse {
        user_id: user.id,
        queues_deleted,
        websockets_closed,
    }))
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ReactivateResponse {
    user_id: UserId,
}

async fn reactivate(
    State(state): State<QaState>,
    user_id: Result<Path<String>, PathRejection>,
) -> ControlResult<Response> {
    let user = path_user(&state, user_id)?;
    set_active(&state, user.id, true)?;
    state.core.note_change();
    tracing::info!(user = %user.id, "user reactivated through the control API");
    Ok(success(ReactivateResponse { user_id: user.id }))
}

/// Sets a user's `is_active` in storage and in the directory.
fn set_active(state: &Qa, id: UserId, active: bool) -> ControlResult<()> {
    let mut store = state.core.store();
    let (realms, mut users) = snapshot(&state.core.directory());
    let user = users
        .iter_mut()
        .find(|u| u.id == id)
        .ok_or_else(|| ControlError::not_found(format!("No such user: user {id}")))?;
    user.is_active = active;
    store.with_tx(|tx| {
        tx.replace_realms(&realms, &users)?;
        tx.note_user_active(id, active)
    })?;
    state.core.replace_directory(Directory::new(realms, users));
    Ok(())
}

/// Every realm and user of `directory`, to build the next one from.
fn snapshot(directory: &Directory) -> (Vec<RealmRecord>, Vec<UserRecord>) {
    let realms: Vec<RealmRecord> = directory.realms().into_iter().cloned().collect();
    let users = realms
        .iter()
        .flat_map(|r| directory.realm_users(r.id))
        .cloned()
        .collect();
    (realms, users)
}

/// A fresh API key: 32 letters and digits, like Zulip's.
fn new_api_key() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}
