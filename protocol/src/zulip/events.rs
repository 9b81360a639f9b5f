//! `GET events` and `DELETE events`.

use serde::{Deserialize, Serialize};

use crate::endpoint::{Empty, endpoint};
use crate::event::QueueEvent;
use crate::ids::{EventId, QueueId};

endpoint! {
    /// Long-polls a queue: events after `last_event_id`, or a heartbeat when none come.
    GetEvents: Get "events", auth Basic,
    name "zulip.events", path (), GetEventsRequest => GetEventsResponse
}

endpoint! {
    /// Deletes a queue, e.g. when a client signs out.
    DeleteEvents: Delete "events", auth Basic,
    name "zulip.delete_events", path (), DeleteEventsRequest => Empty
}

/// Parameters of `GET events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GetEventsRequest {
    pub queue_id: QueueId,
    /// Acknowledges every event up to this id; the server discards them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_id: Option<EventId>,
    /// Answer at once, with an empty list if nothing is queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dont_block: Option<bool>,
}

/// Response of `GET events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GetEventsResponse {
    /// In increasing `id` order; ids need not be consecutive.
    pub events: Vec<QueueEvent>,
    /// Zulip echoes the queue; optional so a server that does not still reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
}

impl GetEventsResponse {
    /// The id to acknowledge next (the last event's), or `None` for an empty answer.
    pub fn last_event_id(&self) -> Option<EventId> {
        self.events.iter().map(|e| e.id).max()
    }
}

/// Parameters of `DELETE events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeleteEventsRequest {
    pub queue_id: QueueId,
}
