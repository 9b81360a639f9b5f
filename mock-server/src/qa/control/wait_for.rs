//! `POST /mock/v1/wait-for` (CONTROL-API.md, "Wait for a condition"): answers when a call
//! reaches a state, a group call or one of its participants does, an event was queued, a
//! push recorded or a request journaled, so tests wait for what they mean instead of
//! sleeping.
//!
//! The condition is checked at once, then again each time [`Core::changes`] moves (every
//! call and group call change is noted there, every push is recorded with one, every request
//! is journaled), until it holds, the wall-clock timeout passes (408), or the server shuts
//! down (503).
//!
//! [`Core::changes`]: crate::core::Core::changes

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use zulip_calls_protocol::params::{Params, RawParam};
use zulip_calls_protocol::plugin::group::{GroupCallState, ParticipantState};
use zulip_calls_protocol::push::PushEvent;
use zulip_calls_protocol::{CallId, CallState, UserId};

use super::group_calls::GroupCallView;
use super::journal::{matching, near_misses};
use super::{ControlError, ControlResult, PREFIX};
use crate::api::params::ApiParams;
use crate::api::success;
use crate::core::group::GroupRecord;
use crate::core::store::{GroupCallFilter, PushFilter};
use crate::qa::QaState;
use crate::qa::request_match::{RequestPattern, UserRef};

/// The timeout when none is given, in seconds.
pub const DEFAULT_TIMEOUT_SECS: f64 = 10.0;

/// The longest timeout allowed, in seconds.
pub const MAX_TIMEOUT_SECS: f64 = 300.0;

/// The `wait-for` route.
pub fn router(router: Router<QaState>) -> Router<QaState> {
    router.route(&format!("{PREFIX}/wait-for"), post(wait_for))
}

/// Parameters of `POST /mock/v1/wait-for`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub(super) struct WaitRequest {
    /// A JSON object (JSON text in a form or query).
    #[schemars(schema_with = "condition_schema")]
    condition: Map<String, Value>,
    #[serde(default)]
    timeout_seconds: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct WaitResponse {
    /// What satisfied the condition, as the control API shows it elsewhere: the call, the
    /// group call, the queued event, the push or the journaled request.
    matched: Value,
}

/// The shape of `condition`, for the document only: [`Condition::decode`] reads it by its
/// `kind`, with the same lenient rules as any parameter.
#[derive(JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(dead_code)] // Never built: only its schema is used.
enum ConditionShape {
    CallState(CallStateFields),
    GroupCallState(GroupCallStateFields),
    Event(EventFields),
    Push(PushFields),
    Request(RequestShape),
}

/// A `request` condition: a request pattern and `since_id`.
#[derive(JsonSchema)]
#[allow(dead_code)] // Never built: only its schema is used.
struct RequestShape {
    #[serde(flatten)]
    pattern: RequestPattern,
    #[serde(flatten)]
    fields: RequestFields,
}

/// `condition` is an object (JSON text in a form), whichever its `kind`.
fn condition_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = generator.subschema_for::<ConditionShape>();
    schema.insert("type".into(), "object".into());
    schema
}

/// A decoded condition, its users resolved.
#[derive(Debug, Clone)]
enum Condition {
    CallState {
        target: CallTarget,
        state: CallState,
    },
    /// A group call in `state`, and/or one participant of it in `participant_state`; at
    /// least one of the two is set.
    GroupCallState {
        target: CallTarget,
        state: Option<GroupCallState>,
        participant: Option<((UserId, String), ParticipantState)>,
    },
    Event {
        user: UserId,
        label: String,
        event_type: String,
        call_id: Option<CallId>,
    },
    Push {
        user: Option<(UserId, String)>,
        call_id: Option<CallId>,
        event: Option<PushEvent>,
    },
    Request {
        pattern: RequestPattern,
        since_id: Option<u64>,
    },
}

#[derive(Debug, Clone)]
enum CallTarget {
    Call(CallId),
    /// The user's latest call, and how to name the user.
    LatestOf(UserId, String),
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct CallStateFields {
    #[serde(default)]
    call_id: Option<CallId>,
    #[serde(default)]
    user: Option<UserRef>,
    state: CallState,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct GroupCallStateFields {
    #[serde(default)]
    call_id: Option<CallId>,
    /// The user's latest group call (any place in it, the host's included).
    #[serde(default)]
    user: Option<UserRef>,
    #[serde(default)]
    state: Option<GroupCallState>,
    /// Whose state `participant_state` is about; `user` when absent.
    #[serde(default)]
    participant: Option<UserRef>,
    #[serde(default)]
    participant_state: Option<ParticipantState>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct EventFields {
    user: UserRef,
    event_type: String,
    #[serde(default)]
    call_id: Option<CallId>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct PushFields {
    #[serde(default)]
    user: Option<UserRef>,
    #[serde(default)]
    call_id: Option<CallId>,
    #[serde(default)]
    event: Option<PushEvent>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct RequestFields {
    #[serde(default)]
    since_id: Option<u64>,
}

fn invalid(err: impl std::fmt::Display) -> ControlError {
    ControlError::bad_request(format!("Invalid 'condition': {err}"))
}

/// The user `user` names, or 404.
fn resolve(state: &QaState, user: &UserRef) -> ControlResult<(UserId, String)> {
    let directory = state.core.directory();
    let found = match user {
        UserRef::Id(id) => directory.user(*id),
        UserRef::Email(email) => directory.user_by_email(email),
    };
    found
        .map(|u| (u.id, u.email.clone()))
        .ok_or_else(|| ControlError::not_found(format!("No such user: {user}")))
}

impl Condition {
    /// Decodes `condition` by its `kind`, with the same lenient rules as any parameter.
    fn decode(state: &QaState, condition: Map<String, Value>) -> ControlResult<Condition> {
        let kind = match condition.get("kind") {
            Some(Value::String(kind)) => kind.clone(),
            _ => return Err(invalid("'kind' is missing or not a string")),
        };
        let mut fields = Params::new();
        for (name, value) in condition {
            fields.insert(name, RawParam::Json(value));
        }
        match kind.as_str() {
            "call_state" => {
                let f: CallStateFields = fields.decode().map_err(invalid)?;
                let target = match (f.call_id, f.user) {
                    (Some(call_id), None) => CallTarget::Call(call_id),
                    (None, Some(user)) => {
                        let (id, label) = resolve(state, &user)?;
                        CallTarget::LatestOf(id, label)
                    }
                    _ => return Err(invalid("call_state needs either 'call_id' or 'user'")),
                };
                Ok(Condition::CallState {
                    target,
                    state: f.state,
                })
            }
            "group_call_state" => Self::decode_group(state, &fields),
            "event" => {
                let f: EventFields = fields.decode().map_err(invalid)?;
                let (user, label) = resolve(state, &f.user)?;
                Ok(Condition::Event {
                    user,
                    label,
                    event_type: f.event_type,
                    call_id: f.call_id,
                })
            }
            "push" => {
                let f: PushFields = fields.decode().map_err(invalid)?;
                let user = f.user.map(|u| resolve(state, &u)).transpose()?;
                Ok(Condition::Push {
                    user,
                    call_id: f.call_id,
                    event: f.event,
                })
            }
            "request" => {
                let pattern: RequestPattern = fields.decode().map_err(invalid)?;
                let f: RequestFields = fields.decode().map_err(invalid)?;
                Ok(Condition::Request {
                    pattern,
                    since_id: f.since_id,
                })
            }
            other => Err(invalid(format!(
                "unknown kind {other:?} (expected call_state, group_call_state, event, push or \
                 request)"
            ))),
        }
    }

    /// A `group_call_state` condition: its call by id or as a user's latest, and what it
    /// waits for.
    fn decode_group(state: &QaState, fields: &Params) -> ControlResult<Condition> {
        let f: GroupCallStateFields = fields.decode().map_err(invalid)?;
        let (target, user) = match (f.call_id, &f.user) {
            (Some(call_id), None) => (CallTarget::Call(call_id), None),
            (None, Some(user)) => {
                let user = resolve(state, user)?;
                (CallTarget::LatestOf(user.0, user.1.clone()), Some(user))
            }
            _ => {
                return Err(invalid("group_call_state needs either 'call_id' or 'user'"));
            }
        };
        let participant = match (f.participant, f.participant_state) {
            (Some(who), Some(wanted)) => Some((resolve(state, &who)?, wanted)),
            (None, Some(wanted)) => match user {
                Some(user) => Some((user, wanted)),
                None => {
                    return Err(invalid(
                        "'participant_state' needs 'participant' (or 'user')",
                    ));
                }
            },
            (Some(_), None) => return Err(invalid("'participant' needs 'participant_state'")),
            (None, None) => None,
        };
        if f.state.is_none() && participant.is_none() {
            return Err(invalid(
                "group_call_state needs 'state', 'participant_state' or both",
            ));
        }
        Ok(Condition::GroupCallState {
            target,
            state: f.state,
            participant,
        })
    }

    /// What is waited for, for the timeout message.
    fn describe(&self) -> String {
        match self {
            Condition::CallState {
                target: CallTarget::Call(id),
                state,
            } => format!("call {id} to be {state}"),
            Condition::CallState {
                target: CallTarget::LatestOf(_, label),
                state,
            } => format!("the latest call of {label} to be {state}"),
            Condition::GroupCallState {
                target,
                state,
                participant,
            } => {
                let call = match target {
                    CallTarget::Call(id) => format!("group call {id}"),
                    CallTarget::LatestOf(_, label) => format!("the latest group call of {label}"),
                };
                let mut wants = Vec::new();
                if let Some(state) = state {
                    wants.push(format!("{call} to be {state}"));
                }
                if let Some(((_, label), wanted)) = participant {
                    wants.push(format!("{label} to be {wanted} in {call}"));
                }
                wants.join(" and ")
            }
            Condition::Event {
                label,
                event_type,
                call_id,
                ..
            } => {
                let about = call_id
                    .map(|c| format!(" about call {c}"))
                    .unwrap_or_default();
                format!("a {event_type} event for {label}{about}")
            }
            Condition::Push {
                user,
                call_id,
                event,
            } => {
                let mut text = "a push".to_owned();
                if let Some(event) = event {
                    text.push_str(&format!(" '{event}'"));
                }
                if let Some((_, label)) = user {
                    text.push_str(&format!(" to {label}"));
                }
                if let Some(call_id) = call_id {
                    text.push_str(&format!(" for call {call_id}"));
                }
                text
            }
            Condition::Request { pattern, since_id } => {
                let after = since_id
                    .map(|id| format!(" after request {id}"))
                    .unwrap_or_default();
                format!("{pattern}{after}")
            }
        }
    }
}

/// The result of one look.
enum Check {
    /// What satisfied the condition.
    Holds(Value),
    /// Not yet: the closest current state, and a few words on it for the timeout message.
    Pending(Value, String),
}

fn check(state: &QaState, condition: &Condition, first: bool) -> ControlResult<Check> {
    match condition {
        Condition::CallState {
            target,
            state: want,
        } => {
            let record = match target {
                CallTarget::Call(id) => {
                    let record = state.core.store().call(*id)?;
                    if record.is_none() && first {
                        return Err(ControlError::not_found(format!("No call {id}")));
                    }
                    record
                }
                CallTarget::LatestOf(user, _) => state
                    .core
                    .store()
                    .history(*user, None, None, 1, 0)?
                    .0
                    .into_iter()
                    .next(),
            };
            Ok(match record {
                Some(record) if record.call.state == *want => {
                    Check::Holds(serde_json::to_value(&record.call).unwrap_or_default())
                }
                Some(record) => Check::Pending(
                    json!({"call_id": record.call.call_id, "state": record.call.state}),
                    format!("call {} is {}", record.call.call_id, record.call.state),
                ),
                None => Check::Pending(Value::Null, "there is no such call".to_owned()),
            })
        }
        Condition::GroupCallState {
            target,
            state: want,
            participant,
        } => check_group(state, target, *want, participant.as_ref(), first),
        Condition::Event {
            user,
            event_type,
            call_id,
            ..
        } => {
            let (found, count) = state.core.queues.sent().find(*user, |e| {
                e.is_of_type(event_type) && call_id.is_none_or(|c| e.call_id == Some(c))
            });
            if let Some(event) = found {
                return Ok(Check::Holds(
                    serde_json::to_value(event).unwrap_or_default(),
                ));
            }
            let latest = state.core.queues.sent().latest(*user);
            let words = match &latest {
                Some(e) => format!(
                    "{count} other events were queued, the latest a {}",
                    e.call_event_type.as_deref().unwrap_or(&e.event_type)
                ),
                None => "no event was queued for them".to_owned(),
            };
            Ok(Check::Pending(
                json!({"events_for_user": count, "latest": latest}),
                words,
            ))
        }
        Condition::Push {
            user,
            call_id,
            event,
        } => {
            let user_id = user.as_ref().map(|(id, _)| *id);
            let store = state.core.store();
            let found = store
                .pushes(&PushFilter {
                    user_id,
                    call_id: *call_id,
                    event: event.map(|e| e.as_str().to_owned()),
                })?
                .pop();
            if let Some(push) = found {
                return Ok(Check::Holds(serde_json::to_value(push).unwrap_or_default()));
            }
            let nearby = store.pushes(&PushFilter {
                user_id,
                call_id: None,
                event: None,
            })?;
            let words = match nearby.last() {
                Some(p) => format!(
                    "{} other pushes, the latest '{}' for call {}",
                    nearby.len(),
                    p.event,
                    p.call_id
                ),
                None => "no push was recorded".to_owned(),
            };
            Ok(Check::Pending(
                json!({"pushes": nearby.len(), "latest": nearby.last()}),
                words,
            ))
        }
        Condition::Request { pattern, since_id } => Ok(state.journal.read(|entries| {
            if let Some(entry) = matching(entries, pattern, *since_id).first() {
                return Check::Holds(serde_json::to_value(entry).unwrap_or_default());
            }
            let journaled = entries
                .iter()
                .filter(|e| since_id.is_none_or(|s| e.id > s))
                .count();
            let closest = near_misses(entries, pattern, *since_id, 1).pop();
            let words = match &closest {
                Some(near) => format!(
                    "{journaled} other requests, the closest {} {} ({})",
                    near.request.method,
                    near.request.path,
                    near.differences.join("; ")
                ),
                None => "no request was journaled".to_owned(),
            };
            Check::Pending(json!({"journaled": journaled, "closest": closest}), words)
        })),
    }
}

/// One look at a `group_call_state` condition.
fn check_group(
    state: &QaState,
    target: &CallTarget,
    want: Option<GroupCallState>,
    participant: Option<&((UserId, String), ParticipantState)>,
    first: bool,
) -> ControlResult<Check> {
    let record: Option<GroupRecord> = match target {
        CallTarget::Call(id) => {
            let record = state.core.store().group_call(*id)?;
            if record.is_none() && first {
                return Err(ControlError::not_found(format!("No group call {id}")));
            }
            record
        }
        CallTarget::LatestOf(user, _) => state
            .core
            .store()
            .group_calls_matching(&GroupCallFilter {
                state: None,
                call_type: None,
                user: Some(*user),
                realm: None,
                limit: 1,
            })?
            .pop(),
    };
    let Some(record) = record else {
        return Ok(Check::Pending(
            Value::Null,
            "there is no such group call".to_owned(),
        ));
    };
    let call_id = record.call.call_id;
    let call_state = record.call.state;
    let place = participant.map(|((user, label), wanted)| {
        (label, *wanted, record.participant(*user).map(|p| p.state()))
    });
    let call_holds = want.is_none_or(|w| w == call_state);
    let place_holds = place
        .as_ref()
        .is_none_or(|(_, wanted, now)| *now == Some(*wanted));
    if call_holds && place_holds {
        return Ok(Check::Holds(
            serde_json::to_value(GroupCallView::from(record)).unwrap_or_default(),
        ));
    }
    let mut words = format!("group call {call_id} is {call_state}");
    if let Some((label, _, now)) = &place {
        match now {
            Some(now) => words.push_str(&format!(", {label} is {now}")),
            None => words.push_str(&format!(", {label} has no place in it")),
        }
    }
    let participants: Vec<Value> = record
        .participants
        .iter()
        .map(|p| json!({"user_id": p.user_id(), "state": p.state()}))
        .collect();
    Ok(Check::Pending(
        json!({"call_id": call_id, "state": call_state, "participants": participants}),
        words,
    ))
}

async fn wait_for(
    State(state): State<QaState>,
    ApiParams(params): ApiParams,
) -> ControlResult<Response> {
    let request: WaitRequest = params.decode()?;
    let timeout = request.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if !(0.0..=MAX_TIMEOUT_SECS).contains(&timeout) {
        return Err(ControlError::bad_request(format!(
            "Invalid 'timeout_seconds': must be between 0 and {MAX_TIMEOUT_SECS}"
        )));
    }
    let condition = Condition::decode(&state, request.condition)?;
    // Wall-clock on purpose: a virtual clock only moves when the test moves it.
    let deadline = Instant::now() + Duration::from_secs_f64(timeout);
    // Subscribed before the first look, so a change in between still wakes the loop.
    let mut changes = state.core.changes.subscribe();
    let mut closing = state.api.closing.subscribe();
    let mut first = true;
    loop {
        changes.borrow_and_update();
        let (last_seen, words) = match check(&state, &condition, first)? {
            Check::Holds(matched) => return Ok(success(WaitResponse { matched })),
            Check::Pending(last_seen, words) => (last_seen, words),
        };
        first = false;
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return Err(shutting_down());
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                let msg = format!(
                    "Timed out after {timeout} s waiting for {}; {words}",
                    condition.describe()
                );
                tracing::info!(%msg, "wait-for timed out");
                return Err(ControlError::new(StatusCode::REQUEST_TIMEOUT, "WAIT_TIMEOUT", msg)
                    .with("last_seen", last_seen));
            }
            () = crate::api::state::closed(&mut closing) => return Err(shutting_down()),
        }
    }
}

/// A wait cut short by a shutdown: 503, as every request the shutdown ends.
fn shutting_down() -> ControlError {
    ControlError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        crate::api::shutdown::SHUTTING_DOWN_CODE,
        "The server is shutting down",
    )
}
