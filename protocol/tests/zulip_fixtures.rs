//! The Zulip API subset of spec §9 against exact fixtures: Zulip's own OpenAPI examples
//! (copied verbatim, `*_openapi.json` where a newer shape also has a fixture) and bodies
//! written from its schemas, plus the form encoding clients send and servers decode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Debug;

use common::{assert_request, assert_response, assert_round_trip, fixture_json, fixture_text};
use pretty_assertions::assert_eq;
use serde_json::json;
use zulip_calls_protocol::endpoint::{Empty, request_path, route};
use zulip_calls_protocol::envelope::decode_response;
use zulip_calls_protocol::params::to_urlencoded;
use zulip_calls_protocol::zulip::{
    self, AddAndroidGcmRegId, AddApnsDeviceToken, AndroidGcmRegIdRequest,
    ApnsDeviceTokenAddRequest, DeleteEvents, DeleteEventsRequest, FetchApiKey, FetchApiKeyRequest,
    FetchApiKeyResponse, GetEvents, GetEventsRequest, GetOwnUser, GetUser, GetUsers,
    GetUsersRequest, Register, RegisterRequest, RemoveAndroidGcmRegId, RemoveApnsDeviceToken, Role,
    ServerSettings, ServerSettingsResponse, User,
};
use zulip_calls_protocol::{
    ApiError, Auth, CallEventDetail, CallEventType, CallId, CallState, CallType, DecodeError,
    EndReason, Endpoint, ErrorCode, EventId, EventKind, ParamError, Params, QueueId, Success,
    UserId, Verb,
};

const QUEUE: &str = "1704110400:7";

/// Request fixture `name` of endpoint `E`, through [`assert_request`].
fn request<E: Endpoint>(name: &str) -> E::Request
where
    E::Request: Debug + PartialEq,
{
    assert_request::<E::Request>(&format!("zulip/{name}"))
}

/// Success fixture `name` of endpoint `E`, through [`assert_response`].
fn response<E: Endpoint>(name: &str) -> E::Response
where
    E::Response: Debug,
{
    assert_response::<E::Response>(&format!("zulip/{name}"))
}

// ---------------------------------------------------------------------------------------
// Descriptors

#[test]
fn descriptors_match_zulips_routes() {
    let expected = [
        (
            "zulip.server_settings",
            Verb::Get,
            "server_settings",
            Auth::None,
        ),
        (
            "zulip.fetch_api_key",
            Verb::Post,
            "fetch_api_key",
            Auth::None,
        ),
        ("zulip.users_me", Verb::Get, "users/me", Auth::Basic),
        ("zulip.users", Verb::Get, "users", Auth::Basic),
        ("zulip.user", Verb::Get, "users/{user_id}", Auth::Basic),
        ("zulip.register", Verb::Post, "register", Auth::Basic),
        ("zulip.events", Verb::Get, "events", Auth::Basic),
        ("zulip.delete_events", Verb::Delete, "events", Auth::Basic),
        (
            "zulip.android_gcm_reg_id_add",
            Verb::Post,
            "users/me/android_gcm_reg_id",
            Auth::Basic,
        ),
        (
            "zulip.android_gcm_reg_id_remove",
            Verb::Delete,
            "users/me/android_gcm_reg_id",
            Auth::Basic,
        ),
        (
            "zulip.apns_token_add",
            Verb::Post,
            "users/me/apns_device_token",
            Auth::Basic,
        ),
        (
            "zulip.apns_token_remove",
            Verb::Delete,
            "users/me/apns_device_token",
            Auth::Basic,
        ),
        (
            "zulip.presence_update",
            Verb::Post,
            "users/me/presence",
            Auth::Basic,
        ),
        (
            "zulip.realm_presence",
            Verb::Get,
            "realm/presence",
            Auth::Basic,
        ),
        (
            "zulip.user_presence",
            Verb::Get,
            "users/{user_id_or_email}/presence",
            Auth::Basic,
        ),
        (
            "zulip.status_update",
            Verb::Post,
            "users/me/status",
            Auth::Basic,
        ),
        (
            "zulip.user_status",
            Verb::Get,
            "users/{user_id}/status",
            Auth::Basic,
        ),
        (
            "zulip.status_update_for_user",
            Verb::Post,
            "users/{user_id}/status",
            Auth::Basic,
        ),
        (
            "zulip.settings_update",
            Verb::Patch,
            "settings",
            Auth::Basic,
        ),
    ];
    let listed: Vec<_> = zulip::ENDPOINTS
        .iter()
        .map(|e| (e.name, e.method, e.path, e.auth))
        .collect();
    assert_eq!(listed, expected);
}

#[test]
fn only_server_settings_and_fetch_api_key_skip_auth() {
    assert_eq!(ServerSettings::AUTH, Auth::None);
    assert_eq!(FetchApiKey::AUTH, Auth::None);
    let unauthenticated: Vec<_> = zulip::ENDPOINTS
        .iter()
        .filter(|e| e.auth == Auth::None)
        .map(|e| e.name)
        .collect();
    assert_eq!(
        unauthenticated,
        ["zulip.server_settings", "zulip.fetch_api_key"]
    );
}

#[test]
fn single_user_path_renders_the_id() {
    assert_eq!(request_path::<GetUser>(&UserId(10)), "/api/v1/users/10");
    assert_eq!(route::<GetUser>(), "/api/v1/users/{user_id}");
    assert_eq!(request_path::<GetOwnUser>(&()), "/api/v1/users/me");
    assert_eq!(
        request_path::<AddApnsDeviceToken>(&()),
        "/api/v1/users/me/apns_device_token"
    );
}

// ---------------------------------------------------------------------------------------
// server_settings

#[test]
fn server_settings_of_a_current_server_round_trip() {
    let settings = response::<ServerSettings>("server_settings_response.json");
    assert_eq!(settings.zulip_version, "9.0-dev+git");
    assert_eq!(settings.feature_level(), 247);
    // Zulip 9.0+ sends both names; both are kept so the body is unchanged.
    assert_eq!(
        settings.realm_url.as_deref(),
        Some("https://chat.example.com")
    );
    assert_eq!(
        settings.realm_uri.as_deref(),
        Some("https://chat.example.com")
    );
    assert_eq!(
        settings.organization_url(),
        Some("https://chat.example.com")
    );
    assert_eq!(settings.realm_name.as_deref(), Some("Example Inc."));
    assert_eq!(settings.authentication_methods.len(), 12);
    assert!(settings.auth_method_enabled("password"));
    assert!(!settings.auth_method_enabled("openid connect"));
    assert!(!settings.auth_method_enabled("no such backend"));
    assert_eq!(settings.push_notifications_enabled, Some(true));
    let external = settings.external_authentication_methods.as_ref().unwrap();
    assert_eq!(external[0]["name"], "google");
    assert_eq!(external[1]["login_url"], "/accounts/login/social/github");
    assert!(settings.extra.is_empty(), "untyped: {:?}", settings.extra);
}

#[test]
fn server_settings_openapi_example_reads_realm_uri() {
    let settings =
        assert_response::<ServerSettingsResponse>("zulip/server_settings_response_openapi.json");
    assert_eq!(settings.realm_url, None);
    assert_eq!(settings.organization_url(), Some("http://localhost:9991"));
    // The example omits the feature level; Zulip says to assume 0 then.
    assert_eq!(settings.zulip_feature_level, None);
    assert_eq!(settings.feature_level(), 0);
    assert_eq!(
        settings.zulip_merge_base.as_deref(),
        Some("5.0-dev-1646-gea6b21cd8c")
    );
    assert_eq!(settings.is_incompatible, Some(false));
    assert_eq!(settings.require_email_format_usernames, Some(true));
    assert!(settings.auth_method_enabled("saml"));
    assert!(!settings.auth_method_enabled("ldap"));
    let external = settings.external_authentication_methods.as_ref().unwrap();
    assert_eq!(external.len(), 3);
    assert_eq!(external[0]["display_icon"], serde_json::Value::Null);
    assert!(settings.extra.is_empty(), "untyped: {:?}", settings.extra);
}

#[test]
fn server_settings_of_a_root_domain_keep_unknown_fields() {
    // A multi-realm root domain sends no realm fields; a newer server adds fields we keep.
    let body = json!({
        "result": "success",
        "msg": "",
        "authentication_methods": {"password": true},
        "zulip_version": "11.0",
        "zulip_feature_level": 400,
        "push_notifications_enabled": false,
        "is_incompatible": false,
        "some_future_setting": {"enabled": true}
    });
    let parsed: Success<ServerSettingsResponse> = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(parsed.body.organization_url(), None);
    assert_eq!(parsed.body.realm_name, None);
    assert_eq!(
        parsed.body.extra["some_future_setting"],
        json!({"enabled": true})
    );
    assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
}

// ---------------------------------------------------------------------------------------
// fetch_api_key

#[test]
fn fetch_api_key_request_round_trips_and_hides_the_password() {
    let req = request::<FetchApiKey>("fetch_api_key_request.json");
    assert_eq!(req.username, "iago@zulip.com");
    assert_eq!(req.password, "abcd1234");
    assert_eq!(
        to_urlencoded(&req).unwrap(),
        "username=iago%40zulip.com&password=abcd1234"
    );
    let debug = format!("{req:?}");
    assert!(!debug.contains("abcd1234"), "{debug}");
    assert!(debug.contains("iago@zulip.com"), "{debug}");
}

#[test]
fn fetch_api_key_request_needs_both_fields() {
    let err = Params::from_urlencoded(b"username=iago%40zulip.com")
        .decode::<FetchApiKeyRequest>()
        .unwrap_err();
    assert_eq!(err, ParamError::Missing("password".into()));
}

#[test]
fn fetch_api_key_response_round_trips_and_hides_the_key() {
    let resp = response::<FetchApiKey>("fetch_api_key_response.json");
    assert_eq!(resp.api_key, "gjA04ZYcqXKalvYMA8OeXSfzUOLrtbZv");
    assert_eq!(resp.email, "iago@zulip.com");
    assert_eq!(resp.user_id, Some(UserId(5)));
    let debug = format!("{resp:?}");
    assert!(!debug.contains("gjA04ZYc"), "{debug}");
}

#[test]
fn fetch_api_key_response_of_an_older_server_has_no_user_id() {
    let body = json!({"result": "success", "msg": "", "api_key": "k", "email": "a@b.c"});
    let parsed: Success<FetchApiKeyResponse> = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(parsed.body.user_id, None);
    assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
}

// ---------------------------------------------------------------------------------------
// users

#[test]
fn own_user_openapi_example_round_trips() {
    let me = response::<GetOwnUser>("users_me_response.json");
    assert_eq!(me.max_message_id, Some(30));
    let user = &me.user;
    assert_eq!(user.user_id, UserId(5));
    assert_eq!(user.full_name, "Iago");
    assert_eq!(user.role, Some(Role::ADMINISTRATOR));
    assert!(user.is_administrator());
    assert_eq!(user.real_email(), Some("iago@zulip.com"));
    assert_eq!(user.avatar_version, Some(1));
    assert_eq!(user.is_billing_admin, Some(false));
    assert_eq!(
        user.profile_data.as_ref().unwrap()["1"]["value"],
        "+1-234-567-8901"
    );
    // Every field of the example is typed: nothing left over, nothing counted twice.
    assert!(user.extra.is_empty(), "untyped: {:?}", user.extra);
}

#[test]
fn users_request_round_trips() {
    let req = request::<GetUsers>("users_request.json");
    assert_eq!(req.client_gravatar, Some(false));
    assert_eq!(req.include_custom_profile_fields, Some(true));
    assert_eq!(
        to_urlencoded(&req).unwrap(),
        "client_gravatar=false&include_custom_profile_fields=true"
    );
    assert_eq!(to_urlencoded(&GetUsersRequest::default()).unwrap(), "");
    let lenient: GetUsersRequest = Params::from_urlencoded(b"client_gravatar=%22False%22")
        .decode()
        .unwrap();
    assert_eq!(lenient.client_gravatar, Some(false));
    assert_eq!(lenient.include_custom_profile_fields, None);
}

#[test]
fn users_openapi_example_round_trips() {
    let users = response::<GetUsers>("users_response.json").members;
    assert_eq!(users.len(), 3);

    let aaron = &users[0];
    assert_eq!(aaron.user_id, UserId(7));
    assert_eq!(aaron.email, "AARON@zulip.com");
    assert_eq!(aaron.delivery_email, Some(None), "sent as null");
    assert_eq!(aaron.real_email(), None);
    assert_eq!(aaron.bot_type, Some(None), "sent as null");
    assert_eq!(aaron.bot_owner_id, None, "not sent");
    assert_eq!(aaron.avatar_version, None);
    assert_eq!(aaron.role, Some(Role::MEMBER));
    assert_eq!(aaron.date_joined, "2019-10-20T07:50:53.728864+00:00");
    assert!(!aaron.is_administrator());

    let hamlet = &users[1];
    assert_eq!(hamlet.full_name, "King Hamlet");
    assert_eq!(
        hamlet.profile_data.as_ref().unwrap()["3"]["rendered_value"],
        "<p>Dark chocolate</p>"
    );

    let bot = &users[2];
    assert!(bot.is_bot);
    assert_eq!(bot.bot_type, Some(Some(1)));
    assert_eq!(bot.owner(), Some(UserId(11)));
    assert_eq!(bot.real_email(), Some("iago-bot@zulipdev.com"));
    assert_eq!(bot.profile_data, None);

    assert!(users.iter().all(|u| u.extra.is_empty() && u.is_active));
}

#[test]
fn single_user_openapi_example_round_trips() {
    let user = response::<GetUser>("user_response.json").user;
    assert_eq!(user.user_id, UserId(10));
    assert_eq!(user.email, "hamlet@zulip.com");
    assert_eq!(
        user.avatar(),
        Some(
            "https://secure.gravatar.com/avatar/6d8cad0fd00256e7b40691d27ddfd466?d=identicon&version=1"
        )
    );
    assert!(!user.is_guest);
    assert!(user.extra.is_empty());
}

#[test]
fn user_fields_keep_absent_null_and_unknown_apart() {
    // A current server: no bot fields for a human, a null avatar under client_gravatar,
    // and a field this crate does not know.
    let body = json!({
        "user_id": 12,
        "email": "user12@chat.example.com",
        "full_name": "Cordelia",
        "delivery_email": null,
        "date_joined": "2024-01-01T12:00:00.000000+00:00",
        "is_active": true,
        "is_owner": true,
        "is_admin": false,
        "is_guest": false,
        "is_billing_admin": false,
        "is_bot": false,
        "role": 100,
        "timezone": "Europe/London",
        "avatar_url": null,
        "avatar_version": 3,
        "is_imported_stub": false
    });
    let user: User = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(user.avatar_url, Some(None));
    assert_eq!(user.bot_type, None);
    assert_eq!(user.extra["is_imported_stub"], false);
    assert!(user.is_administrator(), "owners administer the realm");
    assert_eq!(serde_json::to_value(&user).unwrap(), body);
}

#[test]
fn role_alone_makes_an_administrator() {
    let mut user: User = serde_json::from_value(json!({
        "user_id": 1, "email": "a@b.c", "full_name": "A", "role": 200
    }))
    .unwrap();
    assert!(
        user.is_active,
        "absent on servers before 3.0; defaults to active"
    );
    assert!(!user.is_admin);
    assert!(user.is_administrator());
    user.role = Some(Role::MODERATOR);
    assert!(!user.is_administrator());
}

// ---------------------------------------------------------------------------------------
// register

#[test]
fn register_request_round_trips() {
    let req = request::<Register>("register_request.json");
    assert_eq!(req.event_types, Some(vec!["call_event".to_owned()]));
    assert_eq!(req.fetch_event_types, Some(vec!["realm".to_owned()]));
    assert_eq!(req.apply_markdown, Some(true));
    assert_eq!(req.client_gravatar, Some(false));
    assert_eq!(req.slim_presence, Some(true));
    assert!(req.wants("call_event"));
    assert!(!req.wants("message"));
}

#[test]
fn register_sends_event_types_as_json_text() {
    let req = RegisterRequest::for_event_types(["call_event"]);
    let form = to_urlencoded(&req).unwrap();
    assert_eq!(form, "event_types=%5B%22call_event%22%5D");

    let decoded: RegisterRequest = Params::from_urlencoded(form.as_bytes()).decode().unwrap();
    assert_eq!(decoded.event_types, Some(vec!["call_event".to_owned()]));
    assert_eq!(decoded, req);
}

#[test]
fn register_reads_event_types_in_every_form_a_client_may_send() {
    let want = Some(vec!["call_event".to_owned(), "heartbeat".to_owned()]);

    let from_json_array: RegisterRequest =
        Params::from_json(br#"{"event_types": ["call_event", "heartbeat"]}"#)
            .unwrap()
            .decode()
            .unwrap();
    assert_eq!(from_json_array.event_types, want);

    let from_json_text: RegisterRequest =
        Params::from_json(br#"{"event_types": "[\"call_event\", \"heartbeat\"]"}"#)
            .unwrap()
            .decode()
            .unwrap();
    assert_eq!(from_json_text.event_types, want);

    let plain_serde: RegisterRequest =
        serde_json::from_str(r#"{"event_types": ["call_event", "heartbeat"]}"#).unwrap();
    assert_eq!(plain_serde.event_types, want);

    let none: RegisterRequest = Params::from_urlencoded(b"").decode().unwrap();
    assert_eq!(none, RegisterRequest::default());
    assert!(none.wants("message"), "no event_types means every type");
    assert_eq!(to_urlencoded(&none).unwrap(), "");
}

#[test]
fn register_rejects_event_types_that_are_not_a_json_list() {
    let err = Params::from_urlencoded(b"event_types=call_event")
        .decode::<RegisterRequest>()
        .unwrap_err();
    assert!(
        matches!(&err, ParamError::Invalid { name, .. } if name == "event_types"),
        "{err:?}"
    );
    let api: ApiError = err.into();
    assert_eq!(api.code, ErrorCode::BadRequest);
}

#[test]
fn register_response_round_trips() {
    let resp = response::<Register>("register_response.json");
    assert_eq!(resp.queue_id, QueueId(QUEUE.into()));
    assert_eq!(resp.last_event_id, EventId::BEFORE_FIRST);
    assert_eq!(resp.zulip_feature_level, 247);
    assert_eq!(resp.zulip_merge_base.as_deref(), Some("9.0-dev+git"));
    assert_eq!(
        resp.events_websocket_path.as_deref(),
        Some("/api/v1/events/websocket")
    );
    assert_eq!(resp.longpoll_timeout_seconds(), 90);
    assert_eq!(
        resp.extra["realm_jitsi_server_url"],
        serde_json::Value::Null
    );
    assert_eq!(resp.extra["server_jitsi_server_url"], "https://meet.jit.si");
    assert_eq!(resp.extra.len(), 3, "{:?}", resp.extra);
}

#[test]
fn register_openapi_example_round_trips() {
    let resp = response::<Register>("register_response_openapi.json");
    assert_eq!(
        resp.queue_id.as_str(),
        "fb67bf8a-c031-47cc-84cf-ed80accacda8"
    );
    assert_eq!(resp.zulip_version, "5.0-dev-1650-gc3fd37755f");
    assert_eq!(resp.zulip_feature_level, 2);
    assert_eq!(
        resp.events_websocket_path, None,
        "a real Zulip offers no WebSocket"
    );
    assert_eq!(
        resp.longpoll_timeout_seconds(),
        zulip::DEFAULT_LONGPOLL_TIMEOUT_SECONDS
    );
    assert_eq!(resp.extra["realm_emoji"]["2"]["name"], "animated_img");
    assert_eq!(resp.extra.len(), 1);
}

// ---------------------------------------------------------------------------------------
// events

#[test]
fn events_request_round_trips() {
    let req = request::<GetEvents>("events_request.json");
    assert_eq!(req.queue_id, QueueId(QUEUE.into()));
    assert_eq!(req.last_event_id, Some(EventId(4)));
    assert_eq!(req.dont_block, Some(true));
    assert_eq!(
        to_urlencoded(&req).unwrap(),
        "queue_id=1704110400%3A7&last_event_id=4&dont_block=true"
    );
}

#[test]
fn events_request_decodes_leniently() {
    let req: GetEventsRequest = Params::from_urlencoded(
        b"queue_id=%221704110400%3A7%22&last_event_id=-1&dont_block=%22TRUE%22",
    )
    .decode()
    .unwrap();
    assert_eq!(req.queue_id.as_str(), QUEUE, "quotes are unwrapped");
    assert_eq!(req.last_event_id, Some(EventId::BEFORE_FIRST));
    assert_eq!(req.dont_block, Some(true));

    let req: GetEventsRequest = Params::from_urlencoded(b"queue_id=q&dont_block=False")
        .decode()
        .unwrap();
    assert_eq!(req.dont_block, Some(false));
    assert_eq!(req.last_event_id, None);

    let err = Params::from_urlencoded(b"queue_id=q&dont_block=maybe")
        .decode::<GetEventsRequest>()
        .unwrap_err();
    assert!(
        matches!(&err, ParamError::Invalid { name, .. } if name == "dont_block"),
        "{err:?}"
    );

    let err = Params::from_urlencoded(b"last_event_id=3")
        .decode::<GetEventsRequest>()
        .unwrap_err();
    assert_eq!(err, ParamError::Missing("queue_id".into()));
}

#[test]
fn events_response_carries_call_and_unknown_events_unchanged() {
    let resp = response::<GetEvents>("events_response.json");
    assert_eq!(resp.queue_id, Some(QueueId(QUEUE.into())));
    let ids: Vec<i64> = resp.events.iter().map(|e| e.id.0).collect();
    assert_eq!(ids, [5, 6, 7, 9]);
    assert_eq!(resp.last_event_id(), Some(EventId(9)));

    let started = resp.events[0].as_call().expect("a call event");
    assert_eq!(started.event_type(), CallEventType::CallStarted);
    assert_eq!(
        started.call.call_id,
        "6f1c0b8e-3d2a-4b7c-9e5f-1a2b3c4d5e6f"
            .parse::<CallId>()
            .unwrap()
    );
    assert_eq!(started.call.call_id.0.get_version_num(), 4);
    assert_eq!(started.call.call_type, CallType::Video);
    assert_eq!(started.call.state, CallState::Calling);
    assert_eq!(started.call.sender_id, UserId(10));
    assert_eq!(started.call.receiver_name, "Iago");
    assert_eq!(started.call.answered_at, None);
    assert_eq!(
        started.detail,
        CallEventDetail::CallStarted {
            timeout_seconds: 120
        }
    );

    let message = &resp.events[1];
    assert_eq!(message.type_name(), "message");
    let EventKind::Unknown { fields, .. } = &message.kind else {
        panic!("a message event is not a call event: {message:?}");
    };
    assert_eq!(fields["message"]["id"], 12345678);
    assert_eq!(fields["flags"], json!([]));

    let ended = resp.events[2].as_call().expect("a call event");
    assert_eq!(ended.call.call_type, CallType::Audio);
    assert_eq!(ended.call.state, CallState::Ended);
    assert_eq!(ended.timestamp.to_string(), "2024-01-01T11:53:07.500Z");
    assert_eq!(
        ended.detail,
        CallEventDetail::CallEnded {
            reason: EndReason::Hangup,
            ended_by_id: Some(UserId(7)),
            duration: Some(180.5),
        }
    );

    // A call event of a type this crate does not know is kept whole, not dropped.
    let future = &resp.events[3];
    assert_eq!(future.type_name(), "call_event");
    assert!(future.as_call().is_none());
    let EventKind::Unknown { fields, .. } = &future.kind else {
        panic!("unknown call event type parsed as known: {future:?}");
    };
    assert_eq!(fields["event_type"], "call_transferred");
    assert_eq!(fields["transferred_to_id"], 11);
}

#[test]
fn events_heartbeat_round_trips() {
    let resp = response::<GetEvents>("events_heartbeat_response.json");
    assert_eq!(resp.events.len(), 1);
    assert_eq!(resp.events[0].id, EventId(10));
    assert_eq!(resp.events[0].kind, EventKind::Heartbeat);
    assert_eq!(resp.events[0].type_name(), "heartbeat");
}

#[test]
fn events_openapi_example_round_trips() {
    let resp = response::<GetEvents>("events_response_openapi.json");
    assert_eq!(
        resp.queue_id.as_ref().map(QueueId::as_str),
        Some("fb67bf8a-c031-47cc-84cf-ed80accacda8")
    );
    assert_eq!(resp.events.len(), 2);
    assert!(resp.events.iter().all(|e| e.type_name() == "message"));
    let EventKind::Unknown { fields, .. } = &resp.events[1].kind else {
        panic!("not kept as unknown");
    };
    assert_eq!(fields["message"]["type"], "private");
    assert_eq!(resp.last_event_id(), Some(EventId(1)));
}

#[test]
fn events_response_without_queue_id_still_reads() {
    let body = json!({"result": "success", "msg": "", "events": []});
    let parsed: Success<<GetEvents as Endpoint>::Response> =
        serde_json::from_value(body.clone()).unwrap();
    assert_eq!(parsed.body.queue_id, None);
    assert_eq!(parsed.body.last_event_id(), None);
    assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
}

#[test]
fn delete_events_request_round_trips() {
    let req = request::<DeleteEvents>("delete_events_request.json");
    assert_eq!(
        req,
        DeleteEventsRequest {
            queue_id: QueueId(QUEUE.into())
        }
    );
    assert_eq!(DeleteEvents::METHOD, Verb::Delete);
    assert!(DeleteEvents::METHOD.params_in_query());
    assert_eq!(to_urlencoded(&req).unwrap(), "queue_id=1704110400%3A7");
}

#[test]
fn empty_success_is_the_answer_of_delete_and_push_token_endpoints() {
    let _: Empty = response::<DeleteEvents>("empty_success_response.json");
    let _: Empty = response::<AddAndroidGcmRegId>("empty_success_response.json");
    let _: Empty = response::<RemoveApnsDeviceToken>("empty_success_response.json");
    let value = serde_json::to_value(Success::new(Empty {})).unwrap();
    assert_eq!(value, fixture_json("zulip/empty_success_response.json"));
}

// ---------------------------------------------------------------------------------------
// push tokens

#[test]
fn push_token_requests_round_trip() {
    let fcm = request::<AddAndroidGcmRegId>("android_gcm_reg_id_request.json");
    assert_eq!(fcm.token, "fcm-3f9b2a:APA91bH-example_registration_token");
    let removed = request::<RemoveAndroidGcmRegId>("android_gcm_reg_id_request.json");
    assert_eq!(removed, fcm);

    let apns = request::<AddApnsDeviceToken>("apns_device_token_add_request.json");
    assert_eq!(
        apns,
        ApnsDeviceTokenAddRequest {
            token: "c0ffee0123456789abcdef".into(),
            appid: "org.zulip.Zulip".into(),
        }
    );
    assert_eq!(
        to_urlencoded(&apns).unwrap(),
        "token=c0ffee0123456789abcdef&appid=org.zulip.Zulip"
    );
    let removed = request::<RemoveApnsDeviceToken>("apns_device_token_remove_request.json");
    assert_eq!(removed.token, apns.token);
}

#[test]
fn push_token_requests_name_what_is_missing() {
    let err = Params::from_urlencoded(b"token=c0ffee")
        .decode::<ApnsDeviceTokenAddRequest>()
        .unwrap_err();
    assert_eq!(err, ParamError::Missing("appid".into()));
    let err = Params::from_urlencoded(b"")
        .decode::<AndroidGcmRegIdRequest>()
        .unwrap_err();
    assert_eq!(ApiError::from(err).var_name.as_deref(), Some("token"));
}

// ---------------------------------------------------------------------------------------
// errors

#[test]
fn bad_event_queue_id_openapi_example_round_trips() {
    let err = assert_round_trip::<ApiError>("zulip/error_bad_event_queue_id.json");
    assert_eq!(err.code, ErrorCode::BadEventQueueId);
    assert_eq!(err.http_status().as_u16(), 400);
    assert_eq!(
        err.queue_id,
        Some(QueueId("fb67bf8a-c031-47cc-84cf-ed80accacda8".into()))
    );
    assert_eq!(
        err.text(),
        "Bad event queue ID: fb67bf8a-c031-47cc-84cf-ed80accacda8"
    );
    assert_eq!(err.message, None, "Zulip itself sends no legacy `message`");
}

#[test]
fn bad_event_queue_id_as_this_crate_writes_it() {
    let err = assert_round_trip::<ApiError>("zulip/error_bad_event_queue_id_plugin.json");
    let built = ApiError::bad_event_queue_id(&QueueId(QUEUE.into()));
    assert_eq!(err, built);
    assert_eq!(err.message.as_deref(), Some(err.msg.as_str()));
}

#[test]
fn bad_event_queue_id_reaches_a_client_as_an_api_error() {
    let body = fixture_text("zulip/error_bad_event_queue_id.json");
    let err = decode_response::<Success<<GetEvents as Endpoint>::Response>>(400, body.as_bytes())
        .unwrap_err();
    let DecodeError::Api(err) = err else {
        panic!("not an API error: {err:?}");
    };
    assert_eq!(err.code, ErrorCode::BadEventQueueId);
    assert_eq!(
        err.queue_id.as_ref().map(QueueId::as_str),
        Some("fb67bf8a-c031-47cc-84cf-ed80accacda8")
    );
}

#[test]
fn auth_errors_round_trip() {
    let invalid = assert_round_trip::<ApiError>("zulip/error_invalid_api_key.json");
    assert_eq!(invalid.code, ErrorCode::InvalidApiKey);
    assert_eq!(invalid.text(), "Invalid API key");
    assert_eq!(invalid.http_status().as_u16(), 401);

    let deactivated = assert_round_trip::<ApiError>("zulip/error_user_deactivated.json");
    assert_eq!(deactivated.code, ErrorCode::UserDeactivated);
    assert_eq!(deactivated.text(), "Account is deactivated");
    assert_eq!(deactivated.http_status().as_u16(), 401);
}

// ---------------------------------------------------------------------------------------
// Presence and user status (Zulip's 2025 OpenAPI examples)

#[test]
fn presence_requests_and_both_formats_round_trip() {
    use zulip::{
        GetRealmPresence, GetUserPresence, LegacyStatus, PresenceStatus, Presences, UpdatePresence,
        UserIdOrEmail,
    };
    let sent = request::<UpdatePresence>("presence_update_request.json");
    assert_eq!(sent.status, PresenceStatus::Active);
    assert_eq!(sent.last_update_id, Some(5));

    let modern = response::<UpdatePresence>("presence_update_response_openapi_modern.json");
    let presences = modern.presences.unwrap();
    let hamlet = presences.modern(UserId(10)).unwrap();
    assert_eq!(hamlet.active_timestamp, 1_656_958_520);
    // Active 19 s before the answer: active; idle only after the 140 s threshold.
    assert_eq!(hamlet.status_at(1_656_958_539), LegacyStatus::Active);
    assert_eq!(hamlet.status_at(1_656_958_520 + 141), LegacyStatus::Idle);
    assert_eq!(hamlet.status_at(1_656_958_530 + 141), LegacyStatus::Offline);
    assert_eq!(modern.presence_last_update_id, Some(1000));

    let legacy = response::<UpdatePresence>("presence_update_response_openapi_legacy.json");
    let Some(Presences::Legacy(by_email)) = legacy.presences else {
        panic!("legacy entries read as modern");
    };
    assert_eq!(
        by_email["user@example.com"]["aggregated"].status,
        LegacyStatus::Idle
    );

    let realm = response::<GetRealmPresence>("realm_presence_response_openapi.json");
    assert_eq!(realm.presences.len(), 1);
    let one = response::<GetUserPresence>("user_presence_response_openapi.json");
    assert_eq!(one.presence["aggregated"].client, None);
    assert_eq!(
        request_path::<GetUserPresence>(&UserIdOrEmail::Email("iago@zulip.com".into())),
        "/api/v1/users/iago@zulip.com/presence"
    );
    assert_eq!(
        request_path::<GetUserPresence>(&UserIdOrEmail::Id(UserId(5))),
        "/api/v1/users/5/presence"
    );
    let event: zulip::PresenceEvent = assert_round_trip("zulip/presence_event_openapi.json");
    assert_eq!(event.user_id, UserId(10));
}

#[test]
fn presence_status_must_be_active_or_idle() {
    let err = Params::from_urlencoded(b"status=offline")
        .decode::<zulip::UpdatePresenceRequest>()
        .unwrap_err();
    assert!(matches!(err, ParamError::Invalid { .. }), "{err:?}");
    let err = Params::from_urlencoded(b"")
        .decode::<zulip::UpdatePresenceRequest>()
        .unwrap_err();
    assert_eq!(err, ParamError::Missing("status".into()));
}

#[test]
fn user_status_requests_responses_and_events_round_trip() {
    use zulip::{GetUserStatus, UpdateStatus};
    let sent = request::<UpdateStatus>("status_update_request.json");
    assert_eq!(sent.emoji_name.as_deref(), Some("car"));
    let status = response::<GetUserStatus>("user_status_response_openapi.json").status;
    assert_eq!(status.status_text.as_deref(), Some("on vacation"));
    assert_eq!(status.away, None);
    assert_eq!(
        request_path::<GetUserStatus>(&UserId(12)),
        "/api/v1/users/12/status"
    );
    let event: zulip::UserStatusEvent = assert_round_trip("zulip/user_status_event_openapi.json");
    assert_eq!(event.status.away, Some(true));
    let empty: zulip::GetUserStatusResponse =
        serde_json::from_value(json!({"status": {}})).unwrap();
    assert!(empty.status.is_empty());
}

#[test]
fn an_administrator_sets_another_users_status_without_away() {
    use zulip::{UpdateStatusForUser, UpdateStatusRequest};
    let sent = request::<UpdateStatusForUser>("status_update_for_user_request.json");
    assert_eq!(sent.status_text.as_deref(), Some("on vacation"));
    assert_eq!(
        request_path::<UpdateStatusForUser>(&UserId(12)),
        "/api/v1/users/12/status"
    );
    assert_eq!(
        route::<UpdateStatusForUser>(),
        route::<zulip::GetUserStatus>()
    );
    // `away` is not among its parameters: passed anyway, it is ignored.
    let decoded: zulip::UpdateStatusForUserRequest =
        Params::from_urlencoded(b"away=true&status_text=busy")
            .decode()
            .unwrap();
    let own: UpdateStatusRequest = decoded.into();
    assert_eq!(own.away, None);
    assert_eq!(own.status_text.as_deref(), Some("busy"));
}

#[test]
fn settings_requests_responses_and_events_round_trip() {
    use zulip::UpdateSettings;
    let sent = request::<UpdateSettings>("settings_update_request.json");
    assert_eq!(sent.presence_enabled, Some(false));
    let ignored = response::<UpdateSettings>("settings_update_response_openapi.json");
    assert_eq!(
        ignored.ignored_parameters_unsupported,
        Some(vec![
            "invalid_param_1".to_owned(),
            "invalid_param_2".to_owned()
        ])
    );
    let none = response::<UpdateSettings>("empty_success_response.json");
    assert_eq!(none.ignored_parameters_unsupported, None);
    assert_eq!(request_path::<UpdateSettings>(&()), "/api/v1/settings");
    let decoded: zulip::UpdateSettingsRequest = Params::from_urlencoded(b"presence_enabled=true")
        .decode()
        .unwrap();
    assert_eq!(decoded.presence_enabled, Some(true));
    let err = Params::from_urlencoded(b"presence_enabled=maybe")
        .decode::<zulip::UpdateSettingsRequest>()
        .unwrap_err();
    assert!(matches!(err, ParamError::Invalid { .. }), "{err:?}");
    let event: zulip::UserSettingsEvent =
        assert_round_trip("zulip/user_settings_event_openapi.json");
    assert_eq!(
        event,
        zulip::UserSettingsEvent::update("high_contrast_mode", false)
    );
}
