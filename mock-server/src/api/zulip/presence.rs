//! Zulip's presence and user status (spec §9, after Zulip's 2025 OpenAPI description):
//! reports and fetches, statuses set by their users or by an administrator, `presence` and
//! `user_status` events to the realm, and the initial state `register` hands out.
//!
//! The `presence_enabled` setting (invisible mode) is stored as the status's `away`, negated:
//! Zulip has kept `away == !presence_enabled` since feature level 148, so the two can never
//! disagree.
//!
//! Presence carries timestamps, not verdicts: clients judge "active", "idle" or "offline"
//! against [`OFFLINE_THRESHOLD_SECS`] (Zulip's 140 s). Only `GET users/{..}/presence` judges
//! itself, as Zulip's does, calling an aggregate older than that "offline".

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Map, Value};
use zulip_calls_protocol::endpoint::Empty;
use zulip_calls_protocol::event::EventKind;
use zulip_calls_protocol::zulip::{
    self as api, LEGACY_ACTIVITY_OFFSET_SECS, LEGACY_CLIENT, LegacyClientPresence, LegacyPresence,
    LegacyStatus, MAX_STATUS_TEXT_CHARS, ModernPresence, OFFLINE_THRESHOLD_SECS, PresenceStatus,
    Presences,
};
use zulip_calls_protocol::{ApiError, Timestamp, UserId};

use crate::api::ApiState;
use crate::api::auth::AuthUser;
use crate::api::error::ApiResult;
use crate::api::params::ApiParams;
use crate::api::{mount, success};
use crate::core::Core;
use crate::core::model::{RealmId, UserRecord};
use crate::core::presence::PresenceRecord;

/// How far back a first fetch reaches unless told otherwise (Zulip's default, 14 days).
const DEFAULT_HISTORY_DAYS: i64 = 14;

/// Every user's `date_joined` as the mock presents it (see `users::zulip_user`): Zulip's
/// stand-in for an `active_timestamp` of a user who never reported active.
const DATE_JOINED_UNIX: i64 = 1_704_067_200;

/// The presence and user status routes.
pub fn router(router: Router<ApiState>) -> Router<ApiState> {
    let router = mount::<api::UpdatePresence, _, _>(router, update_presence);
    let router = mount::<api::GetRealmPresence, _, _>(router, realm_presence);
    let router = mount::<api::GetUserPresence, _, _>(router, user_presence);
    let router = mount::<api::UpdateStatus, _, _>(router, update_status);
    let router = mount::<api::GetUserStatus, _, _>(router, user_status);
    // Same path as `GetUserStatus`: axum merges the two methods into one route.
    mount::<api::UpdateStatusForUser, _, _>(router, update_status_for_user)
}

/// Unix seconds with a fraction, as Zulip's `server_timestamp`.
fn server_timestamp(now: Timestamp) -> f64 {
    now.unix_millis() as f64 / 1000.0
}

fn modern(record: &PresenceRecord) -> ModernPresence {
    ModernPresence {
        active_timestamp: record
            .last_active
            .map_or(DATE_JOINED_UNIX, Timestamp::unix_seconds),
        idle_timestamp: record.last_connected.unix_seconds(),
    }
}

/// Zulip's `format_legacy_presence_dict`: "active" while the last active report is close
/// enough to the last report, then "idle" as of the last report.
fn legacy_entry(record: &PresenceRecord) -> LegacyClientPresence {
    let ModernPresence {
        active_timestamp,
        idle_timestamp,
    } = modern(record);
    let (status, timestamp) = if active_timestamp + LEGACY_ACTIVITY_OFFSET_SECS >= idle_timestamp {
        (LegacyStatus::Active, active_timestamp)
    } else {
        (LegacyStatus::Idle, idle_timestamp)
    };
    LegacyClientPresence {
        client: Some(LEGACY_CLIENT.to_owned()),
        status,
        timestamp,
        pushable: Some(false),
    }
}

/// `{"website": .., "aggregated": ..}` with identical data, as Zulip 7.0+ sends it.
fn legacy(record: &PresenceRecord) -> LegacyPresence {
    let website = legacy_entry(record);
    let aggregated = LegacyClientPresence {
        pushable: None,
        ..website.clone()
    };
    BTreeMap::from([
        (LEGACY_CLIENT.to_owned(), website),
        ("aggregated".to_owned(), aggregated),
    ])
}

/// The realm's presence rows of listed users (active humans sharing their presence), with
/// their users.
fn realm_rows(
    state: &ApiState,
    realm: RealmId,
    after_update_id: i64,
    connected_since: Timestamp,
) -> ApiResult<Vec<(UserRecord, PresenceRecord)>> {
    let (rows, statuses) = {
        let store = state.core.store();
        (
            store.realm_presence(realm, after_update_id, connected_since)?,
            store.realm_user_statuses(realm)?,
        )
    };
    let hidden: Vec<UserId> = statuses
        .into_iter()
        .filter(|(_, status)| status.away)
        .map(|(id, _)| id)
        .collect();
    let directory = state.core.directory();
    Ok(rows
        .into_iter()
        .filter(|row| !hidden.contains(&row.user_id))
        .filter_map(|row| {
            directory
                .user(row.user_id)
                .filter(|u| u.is_active && !u.is_bot && u.realm_id == realm)
                .map(|u| (u.clone(), row))
        })
        .collect())
}

/// Whether `user` hides their presence (`presence_enabled` off, stored as `away`): such a user
/// is left out of presence data and events.
fn hides_presence(state: &ApiState, user: UserId) -> ApiResult<bool> {
    Ok(state
        .core
        .store()
        .user_status(user)?
        .is_some_and(|status| status.away))
}

/// What a fetch returns: the rows and the `presence_last_update_id` to send with them.
struct Fetched {
    rows: Vec<(UserRecord, PresenceRecord)>,
    last_update_id: i64,
}

/// Zulip's `get_presence_for_user` with `last_update_id` semantics: rows newer than it when
/// positive, else everything within `history_days`.
fn fetch(
    state: &ApiState,
    realm: RealmId,
    last_update_id: Option<i64>,
    history_days: Option<i64>,
    now: Timestamp,
) -> ApiResult<Fetched> {
    let since = last_update_id.filter(|&id| id > 0);
    let days = if since.is_some() {
        // Ignored then: the update id is the limit.
        36_500
    } else {
        history_days
            .unwrap_or(DEFAULT_HISTORY_DAYS)
            .clamp(-36_500, 36_500)
    };
    let connected_since = now.plus_seconds(-days * 86_400);
    let rows = realm_rows(state, realm, since.unwrap_or(0), connected_since)?;
    let newest = rows.iter().map(|(_, r)| r.last_update_id).max();
    let last_update_id = match (newest, last_update_id) {
        (Some(newest), Some(passed)) => newest.max(passed),
        (Some(newest), None) => newest,
        (None, Some(passed)) => passed,
        (None, None) => -1,
    };
    Ok(Fetched {
        rows,
        last_update_id,
    })
}

fn presences(rows: &[(UserRecord, PresenceRecord)], modern_format: bool) -> Presences {
    if modern_format {
        Presences::Modern(
            rows.iter()
                .map(|(u, r)| (u.id.to_string(), modern(r)))
                .collect(),
        )
    } else {
        Presences::Legacy(
            rows.iter()
                .map(|(u, r)| (u.email.clone(), legacy(r)))
                .collect(),
        )
    }
}

/// Active users of `realm`: who realm-wide events go to (Zulip's `active_user_ids`).
fn realm_recipients(core: &Core, realm: RealmId) -> Vec<UserId> {
    core.directory()
        .realm_users(realm)
        .into_iter()
        .filter(|u| u.is_active)
        .map(|u| u.id)
        .collect()
}

/// Queues `event` of type `event_type` for every active user of `realm` once what was written
/// is committed.
fn announce<T: serde::Serialize>(
    state: &ApiState,
    realm: RealmId,
    event_type: &str,
    event: &T,
) -> ApiResult<()> {
    let recipients = realm_recipients(&state.core, realm);
    announce_to(state, recipients, event_type, event)
}

/// Queues `event` of type `event_type` for `recipients` once what was written is committed.
fn announce_to<T: serde::Serialize>(
    state: &ApiState,
    recipients: Vec<UserId>,
    event_type: &str,
    event: &T,
) -> ApiResult<()> {
    let fields = match serde_json::to_value(event) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    let kind = EventKind::Unknown {
        event_type: event_type.to_owned(),
        fields,
    };
    state.core.store().after_commit(&state.core, move |core| {
        for user in recipients {
            core.queues.send(user, &kind);
        }
    });
    Ok(())
}

/// Tells the realm that `user` is present as of `record`.
fn announce_presence(
    state: &ApiState,
    user: &UserRecord,
    record: &PresenceRecord,
    now: Timestamp,
) -> ApiResult<()> {
    let event = api::PresenceEvent {
        user_id: user.id,
        email: user.email.clone(),
        server_timestamp: server_timestamp(now),
        presence: BTreeMap::from([(LEGACY_CLIENT.to_owned(), legacy_entry(record))]),
    };
    announce(state, user.realm_id, api::PRESENCE_EVENT_TYPE, &event)
}

async fn update_presence(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::UpdatePresenceRequest = params.decode()?;
    let now = state.core.clock.now();
    let active = request.status == PresenceStatus::Active;
    let (before, after) =
        state
            .core
            .store()
            .record_presence(user.id, user.realm_id, now, active)?;
    if !user.is_bot
        && PresenceRecord::comes_online(before.as_ref(), active, now)
        && !hides_presence(&state, user.id)?
    {
        tracing::debug!(user = %user.id, "user came online");
        announce_presence(&state, &user, &after, now)?;
    }
    if request.ping_only == Some(true) {
        return Ok(success(api::UpdatePresenceResponse {
            presences: None,
            server_timestamp: None,
            presence_last_update_id: None,
        }));
    }
    let modern_format = request.last_update_id.is_some() || request.slim_presence == Some(true);
    let fetched = fetch(
        &state,
        user.realm_id,
        request.last_update_id,
        request.history_limit_days,
        now,
    )?;
    Ok(success(api::UpdatePresenceResponse {
        presences: Some(presences(&fetched.rows, modern_format)),
        server_timestamp: Some(server_timestamp(now)),
        presence_last_update_id: Some(fetched.last_update_id),
    }))
}

async fn realm_presence(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let _: Empty = params.decode()?;
    let now = state.core.clock.now();
    let fetched = fetch(&state, user.realm_id, None, None, now)?;
    let presences = fetched
        .rows
        .iter()
        .map(|(u, r)| (u.email.clone(), legacy(r)))
        .collect();
    Ok(success(api::RealmPresenceResponse {
        presences,
        server_timestamp: server_timestamp(now),
    }))
}

async fn user_presence(
    State(state): State<ApiState>,
    AuthUser(viewer): AuthUser,
    target: Result<Path<String>, PathRejection>,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let not_found = || ApiError::bad_request("No such user");
    let Path(segment) = target.map_err(|_| not_found())?;
    let _: Empty = params.decode()?;
    let target = {
        let directory = state.core.directory();
        let found = match segment.parse::<i64>() {
            Ok(id) => directory.user(UserId(id)),
            Err(_) => directory.user_by_email(&segment),
        };
        found
            .filter(|u| u.realm_id == viewer.realm_id)
            .cloned()
            .ok_or_else(not_found)?
    };
    if target.is_bot {
        return Err(ApiError::bad_request("Presence is not supported for bot users.").into());
    }
    let record = if hides_presence(&state, target.id)? {
        None
    } else {
        state.core.store().presence_of(target.id)?
    };
    let Some(record) = record else {
        return Err(ApiError::bad_request(format!("No presence data for {segment}")).into());
    };
    let now = state.core.clock.now().unix_seconds();
    // Zulip's answer keeps only `status` and `timestamp`, and judges the aggregate itself.
    let mut presence = legacy(&record);
    for (key, entry) in &mut presence {
        entry.client = None;
        entry.pushable = None;
        if key == "aggregated" && now - entry.timestamp > OFFLINE_THRESHOLD_SECS {
            entry.status = LegacyStatus::Offline;
        }
    }
    Ok(success(api::UserPresenceResponse { presence }))
}

/// Unicode emoji the mock knows by name: enough to set a status by name alone, as Zulip
/// looks the code up in its emoji data.
const KNOWN_EMOJI: &[(&str, &str)] = &[
    ("airplane", "2708"),
    ("calendar", "1f4c6"),
    ("car", "1f697"),
    ("coffee", "2615"),
    ("headphones", "1f3a7"),
    ("heart", "2764"),
    ("house", "1f3e0"),
    ("palm_tree", "1f334"),
    ("phone", "1f4de"),
    ("rocket", "1f680"),
    ("sick", "1f912"),
    ("slight_smile", "1f642"),
    ("smile", "1f604"),
    ("tada", "1f389"),
    ("thumbs_up", "1f44d"),
    ("video_camera", "1f4f9"),
    ("zzz", "1f4a4"),
];

fn known_emoji_code(name: &str) -> Option<&'static str> {
    KNOWN_EMOJI
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, code)| *code)
}

/// Zulip's `check_emoji` with the mock's emoji data: no custom emoji, the known unicode
/// names checked against their codes, other names only for their syntax.
fn check_emoji(name: &str, code: &str, reaction_type: &str) -> ApiResult<()> {
    let bad = |msg: &str| -> ApiResult<()> { Err(ApiError::bad_request(msg).into()) };
    match reaction_type {
        "realm_emoji" => bad("Invalid custom emoji."),
        "zulip_extra_emoji" => {
            if code != "zulip" {
                bad("Invalid emoji code.")
            } else if name != code {
                bad("Invalid emoji name.")
            } else {
                Ok(())
            }
        }
        "unicode_emoji" => {
            let code_ok = !code.is_empty()
                && code
                    .split('-')
                    .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_hexdigit()));
            if !code_ok {
                return bad("Invalid emoji code.");
            }
            let name_ok = match known_emoji_code(name) {
                Some(known) => known == code,
                None => name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-+".contains(c)),
            };
            if name_ok {
                Ok(())
            } else {
                bad("Invalid emoji name.")
            }
        }
        _ => bad("Invalid emoji type."),
    }
}

async fn update_status(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let request: api::UpdateStatusRequest = params.decode()?;
    change_status(&state, &user, request)?;
    Ok(success(Empty {}))
}

/// `POST users/{user_id}/status`: Zulip's `access_user_by_id(.., for_admin=True)` finds the
/// target (in the realm, not a bot, active), then only an administrator may go on; the rest
/// is `POST users/me/status` for the target.
async fn update_status_for_user(
    State(state): State<ApiState>,
    AuthUser(admin): AuthUser,
    user_id: Result<Path<String>, PathRejection>,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let not_found = || ApiError::bad_request("No such user");
    let id: UserId = user_id
        .ok()
        .and_then(|Path(id)| id.parse().ok())
        .ok_or_else(not_found)?;
    let request: api::UpdateStatusForUserRequest = params.decode()?;
    let target = state
        .core
        .directory()
        .user(id)
        .filter(|u| u.realm_id == admin.realm_id && !u.is_bot)
        .cloned()
        .ok_or_else(not_found)?;
    if !target.is_active {
        return Err(ApiError::bad_request("User is deactivated").into());
    }
    if !admin.is_admin {
        return Err(ApiError::bad_request("Insufficient permission").into());
    }
    change_status(&state, &target, request.into())?;
    Ok(success(Empty {}))
}

/// Checks `request` as Zulip's `update_user_status_backend` does, stores what it changes in
/// `user`'s status and tells the realm; a changed `away` is a `presence_enabled` change too.
fn change_status(
    state: &ApiState,
    user: &UserRecord,
    request: api::UpdateStatusRequest,
) -> ApiResult<()> {
    if let Some(text) = &request.status_text
        && text.chars().count() > MAX_STATUS_TEXT_CHARS
    {
        return Err(ApiError::bad_request(format!(
            "status_text is too long (limit: {MAX_STATUS_TEXT_CHARS} characters)"
        ))
        .into());
    }
    let status_text = request.status_text.map(|t| t.trim().to_owned());
    if request.away.is_none() && status_text.is_none() && request.emoji_name.is_none() {
        return Err(ApiError::bad_request("Client did not pass any new values.").into());
    }
    // The emoji as it will be stored and announced, when it changes.
    let emoji = match request.emoji_name {
        Some(name) if name.is_empty() => Some((name, String::new(), "unicode_emoji".to_owned())),
        Some(name) => {
            let (code, reaction_type) = match (request.emoji_code, request.reaction_type) {
                (Some(code), Some(reaction_type)) => (code, reaction_type),
                // Zulip looks both up by name unless both are given.
                _ => match known_emoji_code(&name) {
                    Some(code) => (code.to_owned(), "unicode_emoji".to_owned()),
                    None => {
                        return Err(ApiError::bad_request(format!(
                            "Emoji '{name}' does not exist"
                        ))
                        .into());
                    }
                },
            };
            check_emoji(&name, &code, &reaction_type)?;
            Some((name, code, reaction_type))
        }
        None if request.emoji_code.is_some() || request.reaction_type.is_some() => {
            return Err(ApiError::bad_request(
                "Client must pass emoji_name if they pass either emoji_code or reaction_type.",
            )
            .into());
        }
        None => None,
    };
    let was_away = {
        let storage = state.core.store();
        let mut record = storage.user_status(user.id)?.unwrap_or_default();
        let was_away = record.away;
        if let Some(away) = request.away {
            record.away = away;
        }
        if let Some(text) = &status_text {
            record.status_text.clone_from(text);
        }
        if let Some((name, code, reaction_type)) = &emoji {
            record.emoji_name.clone_from(name);
            record.emoji_code.clone_from(code);
            record.reaction_type.clone_from(reaction_type);
        }
        storage.set_user_status(user.id, user.realm_id, &record)?;
        was_away
    };
    // Zulip's event names exactly what was passed.
    let (emoji_name, emoji_code, reaction_type) = match emoji {
        Some((name, code, reaction_type)) => (Some(name), Some(code), Some(reaction_type)),
        None => (None, None, None),
    };
    let event = api::UserStatusEvent {
        user_id: user.id,
        status: api::UserStatus {
            away: request.away,
            status_text,
            emoji_name,
            emoji_code,
            reaction_type,
        },
    };
    announce(state, user.realm_id, api::USER_STATUS_EVENT_TYPE, &event)?;
    if let Some(away) = request.away
        && away != was_away
    {
        presence_enabled_changed(state, user, !away)?;
    }
    Ok(())
}

/// `PATCH settings` with `presence_enabled`: stores it as the status's `away`; a change is
/// announced as Zulip's `do_change_user_setting` does (see [`presence_enabled_changed`]).
pub fn set_presence_enabled(state: &ApiState, user: &UserRecord, enabled: bool) -> ApiResult<()> {
    {
        let storage = state.core.store();
        let mut record = storage.user_status(user.id)?.unwrap_or_default();
        if record.away != enabled {
            // Unchanged: Zulip only acts on settings that differ.
            return Ok(());
        }
        record.away = !enabled;
        storage.set_user_status(user.id, user.realm_id, &record)?;
    }
    presence_enabled_changed(state, user, enabled)
}

/// What follows a change of `presence_enabled` in Zulip: a `user_settings` event to the user's
/// own queues and, when sharing resumes, an immediate "active" presence report announced to
/// the realm, so that others see the change take effect.
fn presence_enabled_changed(state: &ApiState, user: &UserRecord, enabled: bool) -> ApiResult<()> {
    let event = api::UserSettingsEvent::update("presence_enabled", enabled);
    announce_to(state, vec![user.id], api::USER_SETTINGS_EVENT_TYPE, &event)?;
    if enabled && !user.is_bot {
        let now = state.core.clock.now();
        let (_, after) = state
            .core
            .store()
            .record_presence(user.id, user.realm_id, now, true)?;
        announce_presence(state, user, &after, now)?;
    }
    Ok(())
}

async fn user_status(
    State(state): State<ApiState>,
    AuthUser(viewer): AuthUser,
    user_id: Result<Path<String>, PathRejection>,
    ApiParams(params): ApiParams,
) -> ApiResult<Response> {
    let not_found = || ApiError::bad_request("No such user");
    let id: UserId = user_id
        .ok()
        .and_then(|Path(id)| id.parse().ok())
        .ok_or_else(not_found)?;
    let _: Empty = params.decode()?;
    let known = state
        .core
        .directory()
        .user(id)
        .is_some_and(|u| u.realm_id == viewer.realm_id);
    if !known {
        return Err(not_found().into());
    }
    let status = state
        .core
        .store()
        .user_status(id)?
        .map(|s| s.to_wire())
        .unwrap_or_default();
    Ok(success(api::GetUserStatusResponse { status }))
}

/// The presence and user status parts of `register`'s initial state, as Zulip adds them
/// when `fetch_event_types` (or `event_types`, or neither) names them.
pub fn initial_state(
    state: &ApiState,
    user: &UserRecord,
    wants: impl Fn(&str) -> bool,
    slim_presence: bool,
    extra: &mut Map<String, Value>,
) -> ApiResult<()> {
    if wants(api::PRESENCE_EVENT_TYPE) {
        let now = state.core.clock.now();
        let fetched = fetch(state, user.realm_id, None, None, now)?;
        let presences = presences(&fetched.rows, slim_presence);
        extra.insert("presences".to_owned(), to_value(&presences));
        extra.insert(
            "server_timestamp".to_owned(),
            to_value(&server_timestamp(now)),
        );
        extra.insert(
            "presence_last_update_id".to_owned(),
            Value::from(fetched.last_update_id),
        );
    }
    if wants(api::USER_STATUS_EVENT_TYPE) {
        let statuses: Map<String, Value> = state
            .core
            .store()
            .realm_user_statuses(user.realm_id)?
            .into_iter()
            .map(|(id, s)| (id.to_string(), s.to_wire()))
            .filter(|(_, s)| !s.is_empty())
            .map(|(id, s)| (id, to_value(&s)))
            .collect();
        extra.insert("user_status".to_owned(), Value::Object(statuses));
    }
    Ok(())
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
