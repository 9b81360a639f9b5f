//! Queue events (spec §5): what `GET events` returns and the WebSocket stream sends.
//!
//! Parsing is two-stage, as in twilight: read `type` (and for call events `event_type`, for
//! the 1.1 dialect's `call` and `group_call` events `op`) first, then the payload. Anything this crate does not
//! know is kept whole as [`EventKind::Unknown`] so a newer server never breaks an older client.
//! (`#[serde(other)]` would drop the payload.)

use std::sync::Arc;

use serde::de::Error as _;
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::call::{Call, CallState, CallType, EndReason, MediaStatus};
use crate::dialect::{CALL_OP_EVENT_TYPE, GROUP_CALL_EVENT_TYPE};
use crate::ids::{CallId, EventId, UserId};
use crate::macros::string_enum;
use crate::time::Timestamp;

pub use crate::plugin::event::{
    CallOp, CallOpDetail, CallOpEvent, CallOpExtras, CallOpReason, CallOpUser,
};
pub use crate::plugin::group::event::{GroupCallDetail, GroupCallEvent, GroupCallOp};

/// The `type` of call events.
pub const CALL_EVENT_TYPE: &str = "call_event";
/// The `type` of long-poll heartbeats.
pub const HEARTBEAT_TYPE: &str = "heartbeat";

string_enum! {
    /// The `event_type` of a call event.
    pub enum CallEventType {
        /// A call was created; the receiver's clients ring.
        CallStarted = "call_started",
        /// A device of the receiver acknowledged; the caller sees "Ringing".
        ParticipantRinging = "participant_ringing",
        CallAccepted = "call_accepted",
        CallRejected = "call_rejected",
        /// A party reported a media status.
        CallStatusUpdate = "call_status_update",
        /// Every other end: hangup, cancel, end-all, missed, timeout, max duration, cleanup.
        CallEnded = "call_ended",
    }
}

/// One event in a queue: its id and what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueEvent {
    pub id: EventId,
    pub kind: EventKind,
}

/// What a queue event is about. A call's events are shared (`Arc`): one change is told to
/// every queue of every recipient and kept in the server's event log, and a group call's
/// event carries its whole participant list.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// A `call_event` (design dialect).
    Call(Arc<CallEvent>),
    /// A `call` event with an `op` (1.1 dialect).
    CallOp(Arc<CallOpEvent>),
    /// A `group_call` event with an `op` (1.1 dialect).
    GroupCall(Arc<GroupCallEvent>),
    /// Sent when a long-poll had nothing to deliver.
    Heartbeat,
    /// Any other event, kept whole: its `type` and every other field but `id`.
    Unknown {
        event_type: String,
        fields: Map<String, Value>,
    },
}

impl EventKind {
    /// The event's `type` as on the wire, for `event_types` filtering.
    pub fn type_name(&self) -> &str {
        match self {
            EventKind::Call(_) => CALL_EVENT_TYPE,
            EventKind::CallOp(_) => CALL_OP_EVENT_TYPE,
            EventKind::GroupCall(_) => GROUP_CALL_EVENT_TYPE,
            EventKind::Heartbeat => HEARTBEAT_TYPE,
            EventKind::Unknown { event_type, .. } => event_type,
        }
    }
}

impl QueueEvent {
    /// The event's `type` as on the wire, for `event_types` filtering.
    pub fn type_name(&self) -> &str {
        self.kind.type_name()
    }

    /// The call event, if this is one.
    pub fn as_call(&self) -> Option<&CallEvent> {
        match &self.kind {
            EventKind::Call(event) => Some(event),
            _ => None,
        }
    }

    /// The 1.1 call event, if this is one.
    pub fn as_call_op(&self) -> Option<&CallOpEvent> {
        match &self.kind {
            EventKind::CallOp(event) => Some(event),
            _ => None,
        }
    }

    /// The group call event, if this is one.
    pub fn as_group_call(&self) -> Option<&GroupCallEvent> {
        match &self.kind {
            EventKind::GroupCall(event) => Some(event),
            _ => None,
        }
    }

    /// The event as a JSON object.
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }
}

/// Open: any event `type`, with its own fields beside `id` and `type`.
impl schemars::JsonSchema for QueueEvent {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "QueueEvent".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let id = generator.subschema_for::<EventId>();
        schemars::json_schema!({
            "type": "object",
            "required": ["id", "type"],
            "properties": { "id": id, "type": { "type": "string" } },
            "additionalProperties": true
        })
    }
}

impl Serialize for QueueEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.kind {
            // Written straight through: by way of a `Value` (a map of fresh strings per field),
            // serializing was ~6 % of the server's instructions per call lifecycle.
            EventKind::Call(event) => WireCallEvent {
                event_type: CALL_EVENT_TYPE,
                id: self.id,
                event,
            }
            .serialize(s),
            EventKind::CallOp(event) => WireCallOpEvent {
                event_type: CALL_OP_EVENT_TYPE,
                id: self.id,
                event,
            }
            .serialize(s),
            EventKind::GroupCall(event) => WireGroupCallEvent {
                event_type: GROUP_CALL_EVENT_TYPE,
                id: self.id,
                event,
            }
            .serialize(s),
            EventKind::Heartbeat => {
                let mut object = s.serialize_map(Some(2))?;
                object.serialize_entry("type", HEARTBEAT_TYPE)?;
                object.serialize_entry("id", &self.id)?;
                object.end()
            }
            EventKind::Unknown { fields, .. } => {
                let mut object = fields.clone();
                object.insert("type".into(), Value::String(self.type_name().to_owned()));
                object.insert("id".into(), Value::from(self.id.0));
                object.serialize(s)
            }
        }
    }
}

/// A call event as a queue delivers it: `type` and `id` beside the event's own fields.
#[derive(Serialize, schemars::JsonSchema)]
struct WireCallEvent<'a> {
    #[serde(rename = "type")]
    event_type: &'static str,
    id: EventId,
    #[serde(flatten)]
    event: &'a CallEvent,
}

/// A 1.1 call event as a queue delivers it: `type` and `id` beside the event's own fields.
#[derive(Serialize, schemars::JsonSchema)]
struct WireCallOpEvent<'a> {
    #[serde(rename = "type")]
    event_type: &'static str,
    id: EventId,
    #[serde(flatten)]
    event: &'a CallOpEvent,
}

/// A group call event as a queue delivers it: `type` and `id` beside the event's own fields.
#[derive(Serialize, schemars::JsonSchema)]
struct WireGroupCallEvent<'a> {
    #[serde(rename = "type")]
    event_type: &'static str,
    id: EventId,
    #[serde(flatten)]
    event: &'a GroupCallEvent,
}

impl<'de> Deserialize<'de> for QueueEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut object = Map::<String, Value>::deserialize(d)?;
        let id = match object.remove("id") {
            Some(id) => EventId::deserialize(id).map_err(D::Error::custom)?,
            None => return Err(D::Error::missing_field("id")),
        };
        let event_type = match object.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(_) => return Err(D::Error::custom("event `type` is not a string")),
            None => return Err(D::Error::missing_field("type")),
        };
        let known_call_event = event_type == CALL_EVENT_TYPE
            && object
                .get("event_type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.parse::<CallEventType>().is_ok());
        let known_call_op = event_type == CALL_OP_EVENT_TYPE
            && object
                .get("op")
                .and_then(Value::as_str)
                .is_some_and(|op| op.parse::<CallOp>().is_ok());
        let known_group_op = event_type == GROUP_CALL_EVENT_TYPE
            && object
                .get("op")
                .and_then(Value::as_str)
                .is_some_and(|op| op.parse::<GroupCallOp>().is_ok());
        let kind = if known_call_event {
            object.remove("type");
            let event = CallEvent::deserialize(Value::Object(object)).map_err(D::Error::custom)?;
            EventKind::Call(Arc::new(event))
        } else if known_call_op {
            object.remove("type");
            let event =
                CallOpEvent::deserialize(Value::Object(object)).map_err(D::Error::custom)?;
            EventKind::CallOp(Arc::new(event))
        } else if known_group_op {
            object.remove("type");
            let event =
                GroupCallEvent::deserialize(Value::Object(object)).map_err(D::Error::custom)?;
            EventKind::GroupCall(Arc::new(event))
        } else if event_type == HEARTBEAT_TYPE {
            EventKind::Heartbeat
        } else {
            object.remove("type");
            EventKind::Unknown {
                event_type,
                fields: object,
            }
        };
        Ok(QueueEvent { id, kind })
    }
}

/// A call event: the call as it is now, when the event happened, and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CallEvent {
    #[serde(flatten)]
    pub call: EventCall,
    /// When the event happened.
    pub timestamp: Timestamp,
    #[serde(flatten)]
    pub detail: CallEventDetail,
}

impl CallEvent {
    /// An event about `call` at `timestamp`.
    pub fn new(call: &Call, timestamp: Timestamp, detail: CallEventDetail) -> Self {
        CallEvent {
            call: EventCall::from(call),
            timestamp,
            detail,
        }
    }

    /// The `event_type`.
    pub fn event_type(&self) -> CallEventType {
        self.detail.event_type()
    }
}

/// The call fields every call event carries (no emails, no join URLs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventCall {
    pub call_id: CallId,
    pub call_type: CallType,
    pub state: CallState,
    pub sender_id: UserId,
    pub sender_name: String,
    pub receiver_id: UserId,
    pub receiver_name: String,
    pub jitsi_url: String,
    pub created_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
}

impl From<&Call> for EventCall {
    fn from(call: &Call) -> Self {
        EventCall {
            call_id: call.call_id,
            call_type: call.call_type,
            state: call.state,
            sender_id: call.sender_id,
            sender_name: call.sender_name.clone(),
            receiver_id: call.receiver_id,
            receiver_name: call.receiver_name.clone(),
            jitsi_url: call.jitsi_url.clone(),
            created_at: call.created_at,
            answered_at: call.answered_at,
            ended_at: call.ended_at,
        }
    }
}

/// The per-type part of a call event, tagged by `event_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "event_type", rename_all = "snake_case")]
pub enum CallEventDetail {
    CallStarted {
        /// Seconds the receiver has to answer (`CALL_NOTIFICATION_TIMEOUT`).
        timeout_seconds: u64,
    },
    ParticipantRinging,
    CallAccepted,
    CallRejected,
    CallStatusUpdate {
        status: MediaStatus,
        updated_by_id: UserId,
        updated_by_name: String,
    },
    CallEnded {
        reason: EndReason,
        /// `null` when the server ended the call (timeouts, cleanup).
        ended_by_id: Option<UserId>,
        duration: Option<f64>,
    },
}

impl CallEventDetail {
    /// The `event_type` of this detail.
    pub const fn event_type(&self) -> CallEventType {
        match self {
            CallEventDetail::CallStarted { .. } => CallEventType::CallStarted,
            CallEventDetail::ParticipantRinging => CallEventType::ParticipantRinging,
            CallEventDetail::CallAccepted => CallEventType::CallAccepted,
            CallEventDetail::CallRejected => CallEventType::CallRejected,
            CallEventDetail::CallStatusUpdate { .. } => CallEventType::CallStatusUpdate,
            CallEventDetail::CallEnded { .. } => CallEventType::CallEnded,
        }
    }
}

/// Where servers that offer the event WebSocket usually put it; clients always use the
/// `events_websocket_path` that `register` returned.
pub const DEFAULT_EVENTS_WEBSOCKET_PATH: &str = "/api/v1/events/websocket";

/// The query of the WebSocket upgrade request:
/// `GET <events_websocket_path>?queue_id=Q&last_event_id=N` (Basic auth).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WsConnectParams {
    pub queue_id: crate::ids::QueueId,
    /// Events after this id are sent first (replay); defaults to the queue's start.
    #[serde(default = "before_first")]
    pub last_event_id: EventId,
}

fn before_first() -> EventId {
    EventId::BEFORE_FIRST
}

/// A frame the client sends on the event WebSocket: "I have everything up to here".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WsAck {
    pub last_event_id: EventId,
}

/// Why a WebSocket text frame from a client was not understood.
#[derive(Debug, thiserror::Error)]
#[error("invalid acknowledgement frame (expected {{\"last_event_id\": N}}): {0}")]
pub struct WsFrameError(#[from] serde_json::Error);

impl WsAck {
    /// Reads a client frame.
    pub fn parse(text: &str) -> Result<Self, WsFrameError> {
        Ok(serde_json::from_str(text)?)
    }
}

/// Reads one server frame of the event WebSocket (a single queue event).
pub fn parse_event_frame(text: &str) -> Result<QueueEvent, serde_json::Error> {
    serde_json::from_str(text)
}
