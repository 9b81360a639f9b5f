//! `/mock/v1/bots`: the bot users and what they are about to do, and making a bot call someone
//! now (CONTROL-API.md, "Bots"). The call goes through the same desk as a person's
//! `calls/create`, as the bot user.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use zulip_calls_protocol::calls::CallTarget;
use zulip_calls_protocol::{Call, CallId, CallType, Timestamp, UserId};

use super::users::{find_user, path_user};
use super::{ControlError, ControlResult, PREFIX};
use crate::api::params::ApiParams;
use crate::api::success;
use crate::core::calls::CallDesk;
use crate::qa::QaState;
use crate::qa::bots::{BotConfig, BotTask};
use crate::qa::request_match::UserRef;

/// The bots routes.
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router
        .route(&format!("{PREFIX}/bots"), get(list))
        .route(&format!("{PREFIX}/bots/{{user_id}}/call"), post(call))
}

/// A bot user as `GET /mock/v1/bots` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallsInfo {
    pub user_id: UserId,
    pub every_seconds: f64,
    pub call_type: CallType,
}

/// One pending bot task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingInfo {
    pub at: Timestamp,
    /// `acknowledge`, `accept`, `reject`, `hang_up` or `call`.
    pub action: &'static str,
    /// The call it acts on (`null` for a periodic call, not placed yet).
    pub call_id: Option<CallId>,
}

#[derive(Debug, Serialize)]
struct ListResponse {
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
                action: match task {
                    BotTask::Act { action, .. } => action.as_str().trim_start_matches("bot_"),
                    BotTask::PeriodicCall { .. } => "call",
                },
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

#[derive(Debug, Deserialize)]
struct CallRequest {
    /// Who the bot calls.
    user: UserRef,
    #[serde(default)]
    call_type: Option<CallType>,
}

#[derive(Debug, Serialize)]
struct CallResponse {
    call_id: CallId,
    call: Call,
}

/// The bot calls `user` now, exactly as `calls/create` would for a person.
async fn call(
    State(state): State<QaState>,
    user_id: Result<Path<String>, PathRejection>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let bot = path_user(&state, user_id).map_err(|_| ControlError::not_found("No such bot"))?;
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
