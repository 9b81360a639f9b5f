//! `/mock/v1/bots`: the bot users and what they are about to do, and making a bot call someone
//! now, or start a group call with some users (CONTROL-API.md, "Bots"). The call goes through
//! the same desk as a person's `calls/create` (or `calls/group/create`), as the bot user.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use schemars::JsonSchema;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use zulip_calls_protocol::calls::CallTarget;
use zulip_calls_protocol::plugin::group::{GroupCall, GroupParticipant};
use zulip_calls_protocol::{Call, CallId, CallType, Dialect, Timestamp, UserId};

use super::users::{find_user, path_user};
use super::{ControlError, ControlResult, PREFIX};
use crate::api::params::ApiParams;
use crate::api::success;
use crate::core::calls::CallDesk;
use crate::core::group::{GroupDesk, NewGroupCall};
use crate::core::model::UserRecord;
use crate::qa::bots::{BotConfig, BotTask};
use crate::qa::request_match::UserRef;
use crate::qa::{Qa, QaState};

/// The bots routes.
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router
        .route(&format!("{PREFIX}/bots"), get(list))
        .route(&format!("{PREFIX}/bots/{{user_id}}/call"), post(call))
        .route(
            &format!("{PREFIX}/bots/{{user_id}}/group-call"),
            post(group_call),
        )
}

/// A bot user as `GET /mock/v1/bots` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BotInfo {
    pub user_id: UserId,
    pub email: String,
    pub full_name: String,
    pub is_active: bool,
    /// `accept`, `reject`, `ignore` or `acknowledge`; `null` for a bot account without a
    /// `bot` table, which does nothing by itself.
    pub behaviour: Option<&'static str>,
    /// For `accept` and `reject`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_after_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hang_up_after_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls: Option<CallsInfo>,
    /// What the bot will do next, in order.
    pub pending: Vec<PendingInfo>,
}

/// A bot's periodic calls.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CallsInfo {
    pub user_id: UserId,
    pub every_seconds: f64,
    pub call_type: CallType,
}

/// One pending bot task.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PendingInfo {
    pub at: Timestamp,
    /// `acknowledge`, `accept`, `reject`, `hang_up` or `call`; in group calls `group_ring`,
    /// `group_join`, `group_decline`, `group_heartbeat` or `group_leave`.
    pub action: &'static str,
    /// The call it acts on (`null` for a periodic call, not placed yet).
    pub call_id: Option<CallId>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ListResponse {
    bots: Vec<BotInfo>,
}

/// Seconds for display: milliseconds are what a bot keeps.
#[allow(clippy::cast_precision_loss)] // At most a year in milliseconds: exact in an f64.
fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn info(
    user: &crate::core::model::UserRecord,
    config: Option<&BotConfig>,
    pending: &[(Timestamp, BotTask)],
) -> BotInfo {
    let answers = config.is_some_and(|c| c.behaviour.answers());
    BotInfo {
        user_id: user.id,
        email: user.email.clone(),
        full_name: user.full_name.clone(),
        is_active: user.is_active,
        behaviour: config.map(|c| c.behaviour.as_str()),
        answer_after_seconds: config
            .filter(|_| answers)
            .map(|c| seconds(c.answer_after_ms)),
        hang_up_after_seconds: config.and_then(|c| c.hang_up_after_ms).map(seconds),
        calls: config
            .and_then(|c| c.calls.as_ref())
            .map(|calls| CallsInfo {
                user_id: calls.user,
                every_seconds: seconds(calls.every_ms),
                call_type: calls.call_type,
            }),
        pending: pending
            .iter()
            .filter(|(_, task)| task.bot() == user.id)
            .map(|(at, task)| PendingInfo {
                at: *at,
                action: task.name().trim_start_matches("bot_"),
                call_id: task.call_id(),
            })
            .collect(),
    }
}

/// Every bot user of every realm (automated or not), by user id.
async fn list(State(state): State<QaState>) -> ControlResult<Response> {
    let pending = state.bots.pending();
    let bots = {
        let directory = state.core.directory();
        directory
            .realms()
            .into_iter()
            .flat_map(|realm| directory.realm_users(realm.id))
            .filter(|user| user.is_bot)
            .map(|user| info(user, state.bots.config(user.id).as_ref(), &pending))
            .collect::<Vec<_>>()
    };
    let mut bots = bots;
    bots.sort_by_key(|b| b.user_id);
    Ok(success(ListResponse { bots }))
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct CallRequest {
    /// Who the bot calls.
    user: UserRef,
    #[serde(default)]
    call_type: Option<CallType>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct CallResponse {
    call_id: CallId,
    call: Call,
}

/// The active bot a `{user_id}` path segment names: 404 for no such user or a person, 409
/// for a deactivated bot.
fn path_bot(state: &Qa, user_id: Result<Path<String>, PathRejection>) -> ControlResult<UserRecord> {
    let bot = path_user(state, user_id).map_err(|_| ControlError::not_found("No such bot"))?;
    if !bot.is_bot {
        return Err(ControlError::not_found(format!(
            "No such bot: user {} ({}) is not a bot",
            bot.id, bot.email
        )));
    }
    if !bot.is_active {
        return Err(ControlError::new(
            StatusCode::CONFLICT,
            "USER_DEACTIVATED",
            format!("The bot {} is deactivated", bot.email),
        ));
    }
    Ok(bot)
}

/// The bot calls `user` now, exactly as `calls/create` would for a person.
async fn call(
    State(state): State<QaState>,
    user_id: Result<Path<String>, PathRejection>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let bot = path_bot(&state, user_id)?;
    let request: CallRequest = params.decode()?;
    let callee = find_user(&state, &request.user)?;
    let record = CallDesk::new(&state.core).create(
        &bot,
        &CallTarget::Id(callee.id),
        request.call_type.unwrap_or_default(),
    )?;
    tracing::info!(call_id = %record.call.call_id, bot = %bot.email, callee = %callee.email, "bot call placed through the control API");
    Ok(success(CallResponse {
        call_id: record.call.call_id,
        call: record.call,
    }))
}

/// Users named by id or email: a JSON list (`["hamlet@zulip.com", 6]`, also as text), or
/// comma-separated text (`hamlet@zulip.com,6`), or one of them alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct UserList(Vec<UserRef>);

impl UserList {
    fn parse_text<E: de::Error>(text: &str) -> Result<UserList, E> {
        let text = text.trim();
        if text.starts_with('[') {
            let items: Vec<UserRef> = serde_json::from_str(text).map_err(|_| {
                E::custom(format!(
                    "expected a JSON list of user ids or emails, got {text:?}"
                ))
            })?;
            return Ok(UserList(items));
        }
        if text.is_empty() {
            return Ok(UserList::default());
        }
        text.split(',')
            .map(|item| match item.trim() {
                "" => Err(E::custom(format!(
                    "an empty item in {text:?}; separate user ids or emails with single commas"
                ))),
                item => Ok(UserRef::parse(item)),
            })
            .collect::<Result<_, _>>()
            .map(UserList)
    }
}

impl JsonSchema for UserList {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "UserList".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let user = generator.subschema_for::<UserRef>();
        schemars::json_schema!({
            "description": "User ids or emails: a JSON list, or text separated by commas",
            "type": ["array", "string", "integer"],
            "items": user,
        })
    }
}

impl<'de> Deserialize<'de> for UserList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct UserListVisitor;

        impl<'de> Visitor<'de> for UserListVisitor {
            type Value = UserList;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("user ids or emails: a JSON list, or separated by commas")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<UserList, E> {
                UserList::parse_text(text)
            }

            fn visit_i64<E: de::Error>(self, id: i64) -> Result<UserList, E> {
                Ok(UserList(vec![UserRef::Id(UserId(id))]))
            }

            fn visit_u64<E: de::Error>(self, id: u64) -> Result<UserList, E> {
                i64::try_from(id)
                    .map_err(|_| E::custom("user id out of range"))
                    .and_then(|id| self.visit_i64(id))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UserList, A::Error> {
                let mut users = Vec::new();
                while let Some(user) = seq.next_element::<UserRef>()? {
                    users.push(user);
                }
                Ok(UserList(users))
            }
        }

        d.deserialize_any(UserListVisitor)
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct GroupCallRequest {
    /// Who the bot invites.
    users: UserList,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    call_type: Option<CallType>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct GroupCallResponse {
    call_id: CallId,
    call: GroupCall,
    /// The bot (the host, joined) first, then the invitees.
    participants: Vec<GroupParticipant>,
}

/// The bot starts a group call with `users` now, exactly as `calls/group/create` would for a
/// person, and takes part in it as its behaviour says (see `qa::bots::group`). Every user
/// named must be one the bot can invite: unlike `calls/group/create`, which leaves the others
/// out, a control request that names someone who cannot be invited is refused, naming them.
async fn group_call(
    State(state): State<QaState>,
    user_id: Result<Path<String>, PathRejection>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let bot = path_bot(&state, user_id)?;
    let calls_api = state.core.settings().calls_api;
    if !calls_api.serves(Dialect::V1_1) {
        return Err(ControlError::new(
            StatusCode::CONFLICT,
            "GROUP_CALLS_NOT_SERVED",
            format!(
                "Group calls belong to the 1.1 dialect, which this server does not serve \
                 (CALLS_API = {calls_api})"
            ),
        ));
    }
    let request: GroupCallRequest = params.decode()?;
    if request.users.0.is_empty() {
        return Err(
            ControlError::bad_request("Name at least one user to invite in 'users'")
                .with("var_name", "users".into()),
        );
    }
    let mut user_ids = Vec::with_capacity(request.users.0.len());
    for named in &request.users.0 {
        let user = find_user(&state, named)?;
        let problem = if user.id == bot.id {
            Some("is the bot itself")
        } else if user.realm_id != bot.realm_id {
            Some("is in another realm")
        } else if !user.is_active {
            Some("is deactivated")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ControlError::bad_request(format!(
                "Cannot invite {} ({}): the user {problem}",
                user.id, user.email
            ))
            .with("var_name", "users".into()));
        }
        user_ids.push(user.id);
    }
    let new = NewGroupCall {
        call_type: request.call_type.unwrap_or_default(),
        title: request
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
        stream_id: None,
        topic: None,
        user_ids,
    };
    let record = GroupDesk::new(&state.core).create(&bot, new)?;
    tracing::info!(call_id = %record.call.call_id, bot = %bot.email, invited = record.participants.len() - 1, "bot group call started through the control API");
    Ok(success(GroupCallResponse {
        call_id: record.call.call_id,
        participants: record.wire_participants(),
        call: record.call,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(text: &str) -> Result<Vec<UserRef>, String> {
        UserList::parse_text::<serde_json::Error>(text)
            .map(|list| list.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn users_come_as_a_json_list_or_separated_by_commas() {
        let expected = vec![
            UserRef::Email("hamlet@zulip.com".into()),
            UserRef::Id(UserId(6)),
        ];
        assert_eq!(users("hamlet@zulip.com, 6").unwrap(), expected);
        assert_eq!(users(r#"["hamlet@zulip.com", 6]"#).unwrap(), expected);
        assert_eq!(users(" 9 ").unwrap(), [UserRef::Id(UserId(9))]);
        assert_eq!(users("").unwrap(), []);
        assert!(users("6,,9").unwrap_err().contains("an empty item"));
        assert!(users("[6,").unwrap_err().contains("expected a JSON list"));
        assert!(
            users(r#"[6, true]"#)
                .unwrap_err()
                .contains("expected a JSON list")
        );
    }
}
