//! What the app notes on the model as things happen: a line in the log pane, a notice in the
//! status bar, the summary of a call that ended. Shared by the 1:1 and the group updates.

use zulip_calls_protocol::Timestamp;

use super::model::{CallPanel, EndSummary, Level, Model, Notice};

/// Shows the end summary; the duration falls back to the local timer of an answered call
/// (or of a group call I was in).
pub(crate) fn end_with(model: &mut Model, other_name: String, text: String, duration: Option<f64>) {
    let duration = duration.or_else(|| match &model.call {
        CallPanel::InCall(_) | CallPanel::Group(_) => model.call_elapsed(),
        _ => None,
    });
    log(model, text.clone());
    model.call = CallPanel::Ended {
        summary: EndSummary {
            other_name,
            text,
            duration,
        },
    };
}

/// Shows `text` in the status bar (and logs it).
pub(crate) fn notice(model: &mut Model, level: Level, text: String) {
    log(model, text.clone());
    model.notice = Some(Notice {
        level,
        text,
        at: model.now,
    });
}

/// Adds a line, stamped with the time, to the log pane.
pub(crate) fn log(model: &mut Model, line: String) {
    let line = format!("{} {line}", fmt_time(model.now));
    model.log.push(line);
}

/// `HH:MM:SS` in UTC, short enough for the log pane.
fn fmt_time(t: Timestamp) -> String {
    t.0.format("%H:%M:%S").to_string()
}
