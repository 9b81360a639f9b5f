//! `GET users/me`, `GET users`, `GET users/{user_id}` and Zulip's user object.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::endpoint::{Empty, endpoint};
use crate::ids::UserId;

endpoint! {
    /// The authenticated user: who "me" is in calls, and whether they administer the realm.
    GetOwnUser: Get "users/me", auth Basic,
    name "zulip.users_me", path (), Empty => OwnUserResponse
}

endpoint! {
    /// Everyone in the realm, to pick a callee.
    GetUsers: Get "users", auth Basic,
    name "zulip.users", path (), GetUsersRequest => GetUsersResponse
}

endpoint! {
    /// One user, e.g. the other party of an incoming call.
    GetUser: Get "users/{user_id}", auth Basic,
    name "zulip.user", path UserId, GetUserRequest => GetUserResponse
}

/// A Zulip organization role (`role`). A newtype rather than an enum so a role a newer
/// server invents still reads.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Role(pub u16);

impl Role {
    pub const OWNER: Role = Role(100);
    pub const ADMINISTRATOR: Role = Role(200);
    pub const MODERATOR: Role = Role(300);
    pub const MEMBER: Role = Role(400);
    pub const GUEST: Role = Role(600);

    /// Owners and administrators: who may run administrator-only endpoints.
    pub const fn is_administrator(self) -> bool {
        self.0 == Role::OWNER.0 || self.0 == Role::ADMINISTRATOR.0
    }
}

/// Zulip's user object (OpenAPI `User`), as `GET users` and `GET users/{user_id}` send it.
///
/// Fields Zulip sends as a value, `null` or not at all are `Option<Option<_>>` (outer `None`:
/// absent); fields that only servers older than Zulip 3.0 omit take a default instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct User {
    pub user_id: UserId,
    /// The API email: what Basic auth and other endpoints use; may be a fake address when
    /// the real one is hidden.
    pub email: String,
    pub full_name: String,
    /// The real email: `null` when hidden from the viewer; absent before Zulip 7.0.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::zulip::nullable"
    )]
    #[schemars(with = "Option<String>")]
    pub delivery_email: Option<Option<String>>,
    /// ISO 8601 as Zulip writes it (microseconds, `+00:00`), kept verbatim.
    #[serde(default)]
    pub date_joined: String,
    #[serde(default = "yes")]
    pub is_active: bool,
    /// Implies `is_admin`. Zulip 3.0+.
    #[serde(default)]
    pub is_owner: bool,
    #[serde(default)]
    pub is_admin: bool,
    #[serde(default)]
    pub is_guest: bool,
    /// Zulip 5.0+.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_billing_admin: Option<bool>,
    #[serde(default)]
    pub is_bot: bool,
    /// `null` or absent for humans; 1 generic, 2 incoming webhook, 3 outgoing, 4 embedded.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::zulip::nullable"
    )]
    #[schemars(with = "Option<i64>")]
    pub bot_type: Option<Option<i64>>,
    /// Sent for bots; `null` for legacy bots without an owner.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::zulip::nullable"
    )]
    #[schemars(with = "Option<UserId>")]
    pub bot_owner_id: Option<Option<UserId>>,
    /// Zulip 4.0+.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// IANA name, or `""` when unset.
    #[serde(default)]
    pub timezone: String,
    /// `null` when the client computes Gravatar URLs itself (`client_gravatar`); absent when
    /// the server chose to skip it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::zulip::nullable"
    )]
    #[schemars(with = "Option<String>")]
    pub avatar_url: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_version: Option<i64>,
    /// Custom profile fields by field id; humans only, and only when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_data: Option<Value>,
    /// Fields this crate does not model, kept so a round trip is exact.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn yes() -> bool {
    true
}

impl User {
    /// A realm owner or administrator (by the flags, or by `role` when only it says so).
    pub fn is_administrator(&self) -> bool {
        self.is_admin || self.is_owner || self.role.is_some_and(Role::is_administrator)
    }

    /// The real email when the viewer may see it.
    pub fn real_email(&self) -> Option<&str> {
        self.delivery_email.as_ref().and_then(Option::as_deref)
    }

    /// The avatar URL when the server sent one.
    pub fn avatar(&self) -> Option<&str> {
        self.avatar_url.as_ref().and_then(Option::as_deref)
    }

    /// The owner of a bot, when it has one.
    pub fn owner(&self) -> Option<UserId> {
        self.bot_owner_id.flatten()
    }
}

/// Response of `users/me`: the user's fields at the top level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OwnUserResponse {
    /// Deprecated by Zulip; kept because servers still send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_message_id: Option<i64>,
    #[serde(flatten)]
    pub user: User,
}

/// Parameters of `users` (and `users/{user_id}`); both optional, server defaults apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GetUsersRequest {
    /// `true` (Zulip's default since 5.0): `avatar_url` is `null` for Gravatar users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_gravatar: Option<bool>,
    /// Include `profile_data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_custom_profile_fields: Option<bool>,
}

/// Parameters of `users/{user_id}`: the same as `users`.
pub type GetUserRequest = GetUsersRequest;

/// Response of `users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GetUsersResponse {
    /// Active and deactivated users and bots alike.
    pub members: Vec<User>,
}

/// Response of `users/{user_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GetUserResponse {
    pub user: User,
}
