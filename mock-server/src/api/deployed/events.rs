//! The `call` events as the plugin 1.1.0 sends them (§5): no top-level `user_id`, no
//! `timeout_seconds` on `initiated`/`incoming_call`, no `duration` on `ended`, and `missed`
//! timed at its hard-coded 90 s.

use serde_json::{Value, json};
use zulip_calls_protocol::EventKind;
use zulip_calls_protocol::plugin::{CallOpDetail, CallOpEvent};

/// Who gets an event of `detail` beyond what the contract sends: `ringing` goes to the
/// caller only.
pub fn to_caller_only(detail: &CallOpDetail) -> bool {
    matches!(detail, CallOpDetail::Ringing)
}

/// `event` as the plugin words it.
pub fn call_event(event: &CallOpEvent) -> EventKind {
    let mut fields = match serde_json::to_value(event) {
        Ok(Value::Object(fields)) => fields,
        _ => return EventKind::CallOp(std::sync::Arc::new(event.clone())),
    };
    fields.remove("user_id");
    match event.detail {
        CallOpDetail::Initiated { .. } | CallOpDetail::IncomingCall { .. } => {
            fields.remove("timeout_seconds");
        }
        CallOpDetail::Ended { .. } => {
            fields.remove("duration");
        }
        CallOpDetail::Missed { .. } => {
            fields.insert("reason".to_owned(), json!("no_answer"));
            fields.insert("timeout_seconds".to_owned(), json!(90));
        }
        _ => {}
    }
    fields.remove("type");
    EventKind::Unknown {
        event_type: zulip_calls_protocol::dialect::CALL_OP_EVENT_TYPE.to_owned(),
        fields,
    }
}
