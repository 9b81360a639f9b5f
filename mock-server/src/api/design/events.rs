//! The design dialect's events: each call change the core announces becomes one
//! `call_event` (spec §5), queued for both parties once the change is committed.

use zulip_calls_protocol::{CallEvent, CallEventDetail, CallEventType, EventKind};

use crate::api::dialect::event_format;
use crate::core::news::{CallChange, Listener, Tx};
use crate::core::queues::EventFormat;

/// The format of this dialect's events.
pub const FORMAT: EventFormat = event_format(zulip_calls_protocol::Dialect::Design);

/// Renders call changes as `call_event`s in the parties' queues.
#[derive(Debug, Default)]
pub struct CallEvents;

impl Listener for CallEvents {
    fn call_changed(&self, change: &CallChange, tx: &mut Tx<'_>) {
        let call = &change.record.call;
        let detail = match change.event {
            CallEventType::CallStarted => CallEventDetail::CallStarted {
                timeout_seconds: tx.core.settings().timeout_seconds(),
            },
            CallEventType::ParticipantRinging => CallEventDetail::ParticipantRinging,
            CallEventType::CallAccepted => CallEventDetail::CallAccepted,
            CallEventType::CallRejected => CallEventDetail::CallRejected,
            CallEventType::CallEnded => match call.end_reason {
                Some(reason) => CallEventDetail::CallEnded {
                    reason,
                    ended_by_id: change.by,
                    duration: call.duration,
                },
                None => CallEventDetail::CallRejected,
            },
            CallEventType::CallStatusUpdate => {
                let (Some(by), Some(party)) =
                    (change.by, change.by.and_then(|by| call.party_of(by)))
                else {
                    return;
                };
                let Some(status) = *change.record.media_status(party) else {
                    return;
                };
                let updated_by_name = match party {
                    zulip_calls_protocol::call::Party::Sender => call.sender_name.clone(),
                    zulip_calls_protocol::call::Party::Receiver => call.receiver_name.clone(),
                };
                CallEventDetail::CallStatusUpdate {
                    status,
                    updated_by_id: by,
                    updated_by_name,
                }
            }
        };
        let event = EventKind::Call(std::sync::Arc::new(CallEvent::new(call, change.at, detail)));
        let parties = change.parties();
        tx.after_commit(move |core| {
            for user in parties {
                core.queues.send_formatted(user, FORMAT, &event);
            }
            core.note_change();
        });
    }
}
