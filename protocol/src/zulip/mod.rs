//! The part of Zulip's own REST API that a calls client needs (spec §9), shaped as in Zulip's
//! OpenAPI description so the client works against a real server and the mock server can pass
//! for one.
//!
//! Responses keep fields this crate does not model in an `extra` map where Zulip sends many
//! (server settings, users, `register`), so a response read and written back is unchanged.

/// Log-in prompt data and the server's version, fetched before any credentials exist.
mod server_settings;

/// Password log-in: trades a username and password for an API key.
mod fetch_api_key;

/// Who the user is (for names and the administrator check) and who can be called.
mod users;

/// Opens the event queue call events arrive on.
mod register;

/// Long-polls and closes the event queue.
mod events;

/// Registers the device tokens push notifications for incoming calls are sent to (spec §6).
mod push_tokens;

/// Who is online: reports, fetches and `presence` events.
mod presence;

/// What users say about themselves: status text, emoji, away.
mod user_status;

/// The user's own settings: whether they share their presence.
mod settings;

pub use events::{
    DeleteEvents, DeleteEventsRequest, GetEvents, GetEventsRequest, GetEventsResponse,
};
pub use fetch_api_key::{FetchApiKey, FetchApiKeyRequest, FetchApiKeyResponse};
pub use presence::{
    GetRealmPresence, GetUserPresence, LEGACY_ACTIVITY_OFFSET_SECS, LEGACY_CLIENT,
    LegacyClientPresence, LegacyPresence, LegacyStatus, ModernPresence, OFFLINE_THRESHOLD_SECS,
    PRESENCE_EVENT_TYPE, PresenceEvent, PresenceStatus, Presences, RealmPresenceResponse,
    UpdatePresence, UpdatePresenceRequest, UpdatePresenceResponse, UserIdOrEmail,
    UserPresenceResponse,
};
pub use push_tokens::{
    AddAndroidGcmRegId, AddApnsDeviceToken, AndroidGcmRegIdRequest, ApnsDeviceTokenAddRequest,
    ApnsDeviceTokenRemoveRequest, RemoveAndroidGcmRegId, RemoveApnsDeviceToken,
};
pub use register::{
    DEFAULT_LONGPOLL_TIMEOUT_SECONDS, PresenceState, Register, RegisterRequest, RegisterResponse,
};
pub use server_settings::{ServerSettings, ServerSettingsResponse};
pub use settings::{
    USER_SETTINGS_EVENT_TYPE, UpdateSettings, UpdateSettingsRequest, UpdateSettingsResponse,
    UserSettingsEvent,
};
pub use user_status::{
    GetUserStatus, GetUserStatusResponse, MAX_STATUS_TEXT_CHARS, REACTION_TYPES,
    USER_STATUS_EVENT_TYPE, UpdateStatus, UpdateStatusForUser, UpdateStatusForUserRequest,
    UpdateStatusRequest, UserStatus, UserStatusEvent,
};
pub use users::{
    GetOwnUser, GetUser, GetUserRequest, GetUserResponse, GetUsers, GetUsersRequest,
    GetUsersResponse, OwnUserResponse, Role, User,
};

use crate::endpoint::{EndpointInfo, info};

/// Every Zulip endpoint of this module, for listings and coverage tests.
pub const ENDPOINTS: &[EndpointInfo] = &[
    info::<ServerSettings>(),
    info::<FetchApiKey>(),
    info::<GetOwnUser>(),
    info::<GetUsers>(),
    info::<GetUser>(),
    info::<Register>(),
    info::<GetEvents>(),
    info::<DeleteEvents>(),
    info::<AddAndroidGcmRegId>(),
    info::<RemoveAndroidGcmRegId>(),
    info::<AddApnsDeviceToken>(),
    info::<RemoveApnsDeviceToken>(),
    info::<UpdatePresence>(),
    info::<GetRealmPresence>(),
    info::<GetUserPresence>(),
    info::<UpdateStatus>(),
    info::<GetUserStatus>(),
    info::<UpdateStatusForUser>(),
    info::<UpdateSettings>(),
];

/// Serde `with` module for fields Zulip sends as a value, as `null`, or not at all
/// (`Option<Option<T>>`: the outer `None` is "absent"). Keeping the three apart keeps round
/// trips exact across server versions.
pub(crate) mod nullable {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn deserialize<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }

    pub(crate) fn serialize<T, S>(value: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error>
    where
        T: Serialize,
        S: Serializer,
    {
        match value {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }
}

/// `deserialize_with` for Zulip's list parameters (`event_types`): JSON text, as form bodies
/// carry them, or a JSON array, as JSON bodies may.
pub(crate) fn json_text_list<'de, D>(d: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    use serde::de::Error;
    use serde_json::Value;

    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| D::Error::custom(format!("expected a JSON array of strings: {e}"))),
        Some(other) => Vec::<String>::deserialize(other)
            .map(Some)
            .map_err(|e| D::Error::custom(format!("expected an array of strings: {e}"))),
    }
}
