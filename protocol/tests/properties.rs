//! Property tests: the state machine's invariants and the lenient parameter decoding.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use zulip_calls_protocol::calls::{
    AcknowledgeRequest, CleanupRequest, CreateRequest, EndRequest, HistoryRequest, InitiateRequest,
    RespondRequest, StartRequest, StatusRequest,
};
use zulip_calls_protocol::params::{Params, RawParam, to_urlencoded};
use zulip_calls_protocol::zulip::RegisterRequest;
use zulip_calls_protocol::{
    Action, Actor, CallId, CallState, CallType, Outcome, ParamError, UserId, transition,
};

fn any_state() -> impl Strategy<Value = CallState> {
    prop::sample::select(CallState::ALL)
}
fn any_action() -> impl Strategy<Value = Action> {
    prop::sample::select(Action::ALL)
}
fn any_actor() -> impl Strategy<Value = Actor> {
    prop::sample::select(Actor::ALL)
}

/// `text` with each ASCII letter's case chosen by `mask`.
fn recase(text: &str, mask: u64) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// One level of JSON string quoting, as a mobile client sends values.
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

proptest! {
    #[test]
    fn no_transition_leaves_a_terminal_state(
        state in any_state().prop_filter("terminal", |s| s.is_terminal()),
        action in any_action(),
        actor in any_actor(),
    ) {
        if let Ok(outcome) = transition(state, action, actor) {
            prop_assert_eq!(outcome, Outcome::Unchanged);
            prop_assert_eq!(outcome.state_after(state), state);
        }
    }

    /// Any sequence of attempts from `calling` keeps the call consistent: an end reason exactly
    /// when it moves into a terminal state, an event exactly when something happened, and
    /// `accepted` only ever reached from an unanswered state.
    #[test]
    fn random_walks_keep_the_invariants(
        steps in prop::collection::vec((any_action(), any_actor()), 0..40),
    ) {
        let mut state = CallState::Calling;
        for (action, actor) in steps {
            let Ok(outcome) = transition(state, action, actor) else { continue };
            let next = outcome.state_after(state);
            match outcome {
                Outcome::Moved { to, end_reason, .. } => {
                    prop_assert_ne!(to, state);
                    prop_assert_eq!(end_reason.is_some(), to.is_terminal());
                    if to == CallState::Accepted {
                        prop_assert!(state.is_unanswered());
                    }
                }
                Outcome::Updated { .. } => prop_assert_eq!(state, CallState::Accepted),
                Outcome::Unchanged => prop_assert!(outcome.event().is_none()),
            }
            prop_assert!(state.is_active() || next == state);
            state = next;
        }
    }

    #[test]
    fn booleans_in_any_case_and_quoted(value: bool, mask: u64, quoted: bool) {
        let text = recase(if value { "true" } else { "false" }, mask);
        let text = if quoted { quote(&text) } else { text };
        let mut params = Params::new();
        params.insert("user_id", RawParam::Text("7".into()));
        params.insert("is_video_call", RawParam::Text(text));
        let request: InitiateRequest = params.decode().unwrap();
        prop_assert_eq!(request.is_video_call, Some(value));
    }

    #[test]
    fn integers_plain_quoted_or_json(id: i64, form: u8) {
        let raw = match form % 3 {
            0 => RawParam::Text(id.to_string()),
            1 => RawParam::Text(quote(&id.to_string())),
            _ => RawParam::Json(serde_json::json!(id)),
        };
        let mut params = Params::new();
        params.insert("user_id", raw);
        let request: StartRequest = params.decode().unwrap();
        prop_assert_eq!(request.user_id, UserId(id));
    }

    #[test]
    fn call_ids_plain_or_quoted(bytes: [u8; 16], quoted: bool) {
        let id = CallId(uuid::Builder::from_random_bytes(bytes).into_uuid());
        let text = if quoted { quote(&id.to_string()) } else { id.to_string() };
        let request: EndRequest = Params::from_urlencoded(
            format!("call_id={}", url_escape(&text)).as_bytes(),
        )
        .decode()
        .unwrap();
        prop_assert_eq!(request.call_id, id);
    }

    #[test]
    fn non_booleans_are_named_errors(text in "[a-z0-9 ]{0,12}") {
        prop_assume!(!text.eq_ignore_ascii_case("true") && !text.eq_ignore_ascii_case("false"));
        let mut params = Params::new();
        params.insert("user_id", RawParam::Text("1".into()));
        params.insert("is_video_call", RawParam::Text(text));
        let err = params.decode::<InitiateRequest>().unwrap_err();
        let is_named = matches!(&err, ParamError::Invalid { name, .. } if name == "is_video_call");
        prop_assert!(is_named, "{:?}", err);
    }

    #[test]
    fn unknown_parameters_are_ignored(name in "[a-z_]{1,16}", value in ".{0,20}") {
        prop_assume!(!["user_id", "call_type"].contains(&name.as_str()));
        let mut params = Params::new();
        params.insert("user_id", RawParam::Text("3".into()));
        params.insert(name, RawParam::Text(value));
        let request: StartRequest = params.decode().unwrap();
        prop_assert_eq!(request, StartRequest { user_id: UserId(3), call_type: CallType::Video });
    }

    /// Whatever bytes arrive, decoding answers Ok or a parameter error; it never panics.
    #[test]
    fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..200)) {
        let form = Params::from_urlencoded(&body);
        let _ = form.decode::<StartRequest>();
        let _ = form.decode::<InitiateRequest>();
        let _ = form.decode::<CreateRequest>();
        let _ = form.decode::<AcknowledgeRequest>();
        let _ = form.decode::<RespondRequest>();
        let _ = form.decode::<StatusRequest>();
        let _ = form.decode::<HistoryRequest>();
        let _ = form.decode::<CleanupRequest>();
        let _ = form.decode::<RegisterRequest>();
        if let Ok(json) = Params::from_json(&body) {
            let _ = json.decode::<StartRequest>();
            let _ = json.decode::<HistoryRequest>();
            let _ = json.decode::<RegisterRequest>();
        }
    }

    /// What a client sends as a form, the server decodes to the same request.
    #[test]
    fn history_requests_survive_form_encoding(
        limit in 1u32..=200,
        offset: u32,
        call_type in proptest::option::of(prop::sample::select(CallType::ALL)),
        state in proptest::option::of(any_state()),
    ) {
        let request = HistoryRequest { limit, offset, call_type, state };
        let form = to_urlencoded(&request).unwrap();
        let decoded: HistoryRequest = Params::from_urlencoded(form.as_bytes()).decode().unwrap();
        prop_assert_eq!(decoded, request);
    }
}

/// Percent-escapes the characters a form value cannot hold raw.
fn url_escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
