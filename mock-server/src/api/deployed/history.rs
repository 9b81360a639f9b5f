//! `GET calls/history` as the plugin 1.1.0's view answers it: `limit` read with Python's
//! `int()` (a non-integer is the view's 500, §9 row 12; capped at 100, never floored), a
//! `cursor` that does not decode ignored (§3), `status` and `call_type` filters that ignore
//! values they do not know.

use axum::Router;
use axum::extract::State;
use zulip_calls_protocol::calls as api;
use zulip_calls_protocol::plugin::{
    HistoryCursor, HistoryStatus, PluginHistoryCall, PluginHistoryResponse,
};
use zulip_calls_protocol::{CallState, CallType};

use super::body::{Answer, error, ok, python_int, text};
use crate::api::auth::AuthUser;
use crate::api::params::ApiParams;
use crate::api::{ApiState, mount};

pub fn router(router: Router<ApiState>) -> Router<ApiState> {
    mount::<api::History, _, _>(router, history)
}

async fn history(
    State(state): State<ApiState>,
    AuthUser(user): AuthUser,
    ApiParams(params): ApiParams,
) -> Answer {
    const FAILING: &str = "Failed to get call history";
    let limit = match text(&params, "limit") {
        None => 50,
        Some(raw) => match python_int(&raw) {
            Some(limit) => limit.min(100),
            None => {
                return Err(error(
                    500,
                    format!("{FAILING}: invalid literal for int() with base 10: '{raw}'"),
                ));
            }
        },
    };
    if limit < 0 {
        // Django refuses a negative slice.
        return Err(error(
            500,
            format!("{FAILING}: Negative indexing is not supported."),
        ));
    }
    let call_type = match text(&params, "call_type").as_deref().map(str::trim) {
        Some("video") => Some(CallType::Video),
        Some("audio") => Some(CallType::Audio),
        _ => None,
    };
    let states: Vec<CallState> = match text(&params, "status").as_deref().map(str::trim) {
        Some("missed") => vec![CallState::Missed],
        Some("answered") => CallState::ALL
            .iter()
            .copied()
            .filter(|s| HistoryStatus::Answered.matches(*s))
            .collect(),
        _ => Vec::new(),
    };
    // Python's `b64decode` drops what is not of the alphabet first (a JSON-quoted cursor
    // works), and a cursor that still does not decode is ignored.
    let after = text(&params, "cursor")
        .map(|raw| {
            raw.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
                .collect::<String>()
        })
        .filter(|raw| !raw.is_empty())
        .and_then(|raw| HistoryCursor(raw).decode().ok());
    let limit = u32::try_from(limit).unwrap_or(100);
    let calls = state.core.store().history_after(
        user.id,
        call_type,
        &states,
        after,
        limit.saturating_add(1),
    );
    let calls = match calls {
        Ok(calls) => calls,
        Err(err) => return Err(error(500, format!("{FAILING}: {err}"))),
    };
    let has_more = calls.len() > limit as usize;
    let calls: Vec<PluginHistoryCall> = calls
        .iter()
        .take(limit as usize)
        .map(|record| PluginHistoryCall::new(&record.call, user.id))
        .collect();
    Ok(ok(PluginHistoryResponse::new(calls, has_more)))
}

#[cfg(test)]
mod tests {
    use super::super::body::python_int;

    #[test]
    fn limits_are_read_as_python_reads_them() {
        assert_eq!(python_int(" 7 "), Some(7));
        assert_eq!(python_int("+3"), Some(3));
        assert_eq!(python_int("-2"), Some(-2));
        assert_eq!(python_int("1_0"), Some(10));
        assert_eq!(python_int("abc"), None);
        assert_eq!(python_int("\"5\""), None);
        assert_eq!(python_int("1.5"), None);
    }
}
