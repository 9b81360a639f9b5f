//! The 1.1 dialect's events (spec 1.1 §5): each call change the core announces becomes a
//! `call` event with an `op`, queued for both parties' 1.1 queues once the change is
//! committed. Media status updates have no 1.1 event.

use zulip_calls_protocol::plugin::{CallOpEvent, CallOpExtras};
use zulip_calls_protocol::{CallEventType, Dialect, EventKind};

use crate::api::dialect::event_format;
use crate::core::news::{CallChange, Listener, Tx};
use crate::core::queues::EventFormat;

/// The format of this dialect's events.
pub const FORMAT: EventFormat = event_format(Dialect::V1_1);

/// Renders call changes as 1.1 `call` events in the parties' queues.
#[derive(Debug, Default)]
pub struct CallOpEvents;

impl Listener for CallOpEvents {
    fn call_changed(&self, change: &CallChange, tx: &mut Tx<'_>) {
        if change.event == CallEventType::CallStatusUpdate {
            return;
        }
        let call = &change.record.call;
        let extras = CallOpExtras {
            timeout_seconds: tx.core.settings().timeout_seconds(),
            // From the receiver's live queues, whatever their types (the plugin computed it
            // where no queue is visible, so it always said "offline": see `compat`).
            receiver_was_offline: !tx.core.reports_online(call.receiver_id),
        };
        // As deployed plugins word them, when this server is one (see `core::compat`).
        let deployed = tx.core.quirks().plugin_events;
        let render = |event: CallOpEvent| {
            if deployed {
                crate::api::deployed::events::call_event(&event)
            } else {
                EventKind::CallOp(std::sync::Arc::new(event))
            }
        };
        // Only a creation tells the two parties different things (`initiated`,
        // `incoming_call`); every later change is one event for both.
        let events: Vec<_> = if change.before.is_none() {
            change
                .parties()
                .into_iter()
                .map(|user| {
                    let event =
                        CallOpEvent::for_recipient(call, user, change.by, extras, change.at);
                    (vec![user], render(event))
                })
                .collect()
        } else {
            let event =
                CallOpEvent::for_recipient(call, call.receiver_id, change.by, extras, change.at);
            let users = if deployed && crate::api::deployed::events::to_caller_only(&event.detail) {
                vec![call.sender_id]
            } else {
                change.parties().to_vec()
            };
            vec![(users, render(event))]
        };
        tx.after_commit(move |core| {
            for (users, event) in &events {
                for user in users {
                    core.queues.send_formatted(*user, FORMAT, event);
                }
            }
            core.note_change();
        });
    }
}
