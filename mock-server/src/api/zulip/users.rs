//! The Zulip API subset of spec §9 (except events): server settings, login, users, push tokens.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Map;
use zulip_calls_protocol::endpoint::Empty;
use zulip_calls_protocol::zulip::{self as api, Role, User};
use zulip_calls_protocol::{ApiError, ErrorCode, UserId};

use crate::api::ApiState;
use crate::api::auth::AuthUser;
use crate::api::error::ApiResult;
use crate::api::params::ApiParams;
use crate::api::{mount, success};
use crate::core::model::{Device, UserRecord};

/// The Zulip version and feature level this server presents itself as.
pub const ZULIP_VERSION: &str = "9.0";
/// Feature level of Zulip 9.0.
pub const ZULIP_FEATURE_LEVEL: u64 = 265;

/// The Zulip subset routes.
pub fn router(router: Router<ApiState>) -> Router<ApiState> {
    let router = mount::<api::ServerSettings, _, _>(router, server_settings);
    let router = mount::<api::FetchApiKey, _, _>(router, fetch_api_key);
    let router = mount::<api::GetOwnUser, _, _>(router, users_me);
    let router = mount::<api::GetUsers, _, _>(router, users);
    let router = mount::<api::GetUser, _, _>(router, user);
    let router = mount::<api::AddAndroidGcmRegId, _, _>(router, add_fcm);
    let router = mount::<api::RemoveAndroidGcmRegId, _, _>(router, remove_fcm);
    let router = mount::<api::AddApnsDeviceToken, _, _>(router, add_apns);
    mount::<api::RemoveApnsDeviceToken, _, _>(router, remove_apns)
}

/// A directory user as Zulip's `User` object.
pub fn zulip_user(user: &UserRecord) -> User {
    User {
        user_id: user.id,
        email: user.email.clone(),
        full_name: user.full_name.clone(),
        delivery_email: Some(Some(user.email.clone())),
        date_joined: "2024-01-01T00:00:00+00:00".to_owned(),
        is_active: user.is_active,
        is_owner: false,
        is_admin: user.is_admin,
        is_guest: false,
        is_billing_admin: Some(false),
        is_bot: user.is_bot,
        // Only bots carry `bot_type` (Zulip's `format_user_row`; `GET users/me` lists no such
        // field for humans).
        bot_type: user.is_bot.then_some(Some(1)),
        bot_owner_id: user.is_bot.then_some(None),
        role: Some(if user.is_admin {
            Role::ADMINISTRATOR
        } else {
            Role::MEMBER
        }),
        timezone: String::new(),
        avatar_url: Some(None),
        avatar_version: Some(1),
        profile_data: None,
        extra: Map::new(),
    }
}

async fn server_settings(State(state): State<ApiState>) -> Response {
    let realm = state
        .core
        .directory()
        .realms()
        .first()
        .map(|r| (*r).clone());
    let methods: BTreeMap<String, bool> = [
        ("password", true),
        ("dev", false),
        ("email", true),
        ("ldap", false),
        ("remoteuser", false),
        ("github", false),
        ("azuread", false),
        ("gitlab", false),
        ("apple", false),
        ("google", false),
        ("saml", false),
        ("openid connect", false),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    success(api::ServerSettingsResponse {
        zulip_version: ZULIP_VERSION.to_owned(),
        zulip_feature_level: Some(ZULIP_FEATURE_LEVEL),
        zulip_merge_base: Some(ZULIP_VERSION.to_owned()),
        push_notifications_enabled: Some(state.core.settings().call_push_notification_enabled),
        is_incompatible: Some(false),
        authentication_methods: methods,
        external_authentication_methods: Some(Vec::new()),
        email_auth_enabled: Some(true),
        require_email_format_usernames: Some(true),
        realm_url: realm.as_ref().map(|r| r.url.clone()),
        realm_uri: realm.as_ref().map(|r| r.url.clone()),
        realm_name: realm.as_ref().map(|r| r.name.clone()),
        realm_icon: Some(String::new()),
        realm_description: Some(String::new()),
        realm_web_public_access_enabled: Some(false),
        extra: Map::new(),
    })
}

async fn fetch_api_key(
    State(state): State<ApiState>,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::FetchApiKeyRequest = params.decode()?;
    let failed = || {
        ApiError::new(
            ErrorCode::AuthenticationFailed,
            "Your username or password is incorrect",
        )
    };
    let directory = state.core.directory();
    let user = directory
        .user_by_email(&request.username)
        .ok_or_else(failed)?;
    if user.password.as_deref() != Some(request.password.as_str()) {
        return Err(failed().into());
    }
    if !user.is_active {
        return Err(ApiError::new(ErrorCode::UserDeactivated, "Account is deactivated").into());
    }
    Ok(success(api::FetchApiKeyResponse {
        api_key: user.api_key.clone(),
        email: user.email.clone(),
        user_id: Some(user.id),
    }))
}

async fn users_me(State(state): State<ApiState>, AuthUser(user): AuthUser) -> Response {
    let mut me = zulip_user(&user);
    // Zulip computes its own user with `client_gravatar=false`: `avatar_url` is a URL, never
    // `null` (OpenAPI `get-own-user`). Zulip's `/avatar/{user_id}` redirects to the avatar.
    let realm_url = state
        .core
        .directory()
        .realm(user.realm_id)
        .map(|r| r.url.clone())
        .unwrap_or_default();
    me.avatar_url = Some(Some(format!(
        "{}/avatar/{}",
        realm_url.trim_end_matches('/'),
        user.id
    )));
    success(api::OwnUserResponse {
        max_message_id: Some(0),
        user: me,
    })
}

async fn users(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    // Checked although the answer does not depend on them: a malformed value is an error.
    let _: api::GetUsersRequest = params.decode()?;
    let members = state
        .core
        .directory()
        .realm_users(user.realm_id)
        .into_iter()
        .map(zulip_user)
        .collect();
    Ok(success(api::GetUsersResponse { members }))
}

async fn user(
    State(state): State<ApiState>,
    AuthUser(viewer): AuthUser,
    user_id: Result<Path<String>, PathRejection>,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    // Zulip's answer (`access_user_by_id`) for an id that names no user of the viewer's realm,
    // and (through its `users/{email}` route) for a segment that is no id at all.
    let not_found = || ApiError::bad_request("No such user");
    let id: UserId = user_id
        .ok()
        .and_then(|Path(id)| id.parse().ok())
        .ok_or_else(not_found)?;
    let _: api::GetUserRequest = params.decode()?;
    let directory = state.core.directory();
    let user = directory
        .user(id)
        .filter(|u| u.realm_id == viewer.realm_id)
        .ok_or_else(not_found)?;
    Ok(success(api::GetUserResponse {
        user: zulip_user(user),
    }))
}

async fn add_fcm(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::AndroidGcmRegIdRequest = params.decode()?;
    let token = non_empty(request.token)?;
    state
        .core
        .store()
        .add_device(user.id, &Device::Fcm { token })?;
    Ok(success(Empty {}))
}

async fn remove_fcm(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::AndroidGcmRegIdRequest = params.decode()?;
    remove_device(
        &state,
        &user,
        Device::Fcm {
            token: request.token,
        },
    )
}

async fn add_apns(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::ApnsDeviceTokenAddRequest = params.decode()?;
    let token = non_empty(request.token)?;
    // The app id becomes the `apns-topic` header of pushes: a bundle id, as Zulip checks it.
    if request.appid.is_empty()
        || !request
            .appid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(ApiError::bad_request("Invalid app ID").into());
    }
    state.core.store().add_device(
        user.id,
        &Device::Apns {
            token,
            appid: request.appid,
        },
    )?;
    Ok(success(Empty {}))
}

async fn remove_apns(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::ApnsDeviceTokenRemoveRequest = params.decode()?;
    remove_device(
        &state,
        &user,
        Device::Apns {
            token: request.token,
            appid: String::new(),
        },
    )
}

fn remove_device(state: &ApiState, user: &UserRecord, device: Device) -> ApiResult<Response> {
    if state.core.store().remove_device(user.id, &device)? {
        Ok(success(Empty {}))
    } else {
        // Zulip's answer for a token it does not know.
        Err(ApiError::bad_request("Token does not exist").into())
    }
}

fn non_empty(token: String) -> ApiResult<String> {
    if token.trim().is_empty() || token.len() > 4096 {
        Err(ApiError::bad_request("Empty or invalid length token").into())
    } else {
        Ok(token)
    }
}
