//! Hostile and sloppy input against every endpoint of the contract: malformed values, wrong
//! types, missing fields, unknown and foreign calls, other realms, broken bodies, non-UTF-8,
//! huge and negative numbers, quoting, oversized bodies, bad credentials, wrong methods and
//! unknown paths. Each row names the exact HTTP status and `code` the server must answer with
//! (spec §1), and every answer must be a well-formed Zulip envelope and never a 5xx.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use base64::Engine;
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use zulip_calls_protocol::endpoint::{Auth as EndpointAuth, EndpointInfo, Verb, all_endpoints};

use common::{Options, TestApp, spawn_with};

/// The body size limit every row runs under.
const LIMIT: usize = 1024;

/// Demo realm ids the rows use (checked against the directory in [`fixture`]).
const HAMLET: i64 = 10;
const OTHELLO: i64 = 6;
const DESDEMONA: i64 = 12;
const KING: i64 = 101;
/// The demo realm's administrator.
const IAGO: &str = "iago@zulip.com";

/// A call id no server has: the unknown call.
const NO_CALL: &str = "7d0b2a3e-4c1f-4b8e-9a57-2f6e1c9d3b40";
/// The FCM token Othello registers in the fixture.
const OTHELLO_TOKEN: &str = "othello-fcm-token";

/// Who a row authenticates as.
#[derive(Debug, Clone)]
enum Who {
    /// No `Authorization` header.
    Anonymous,
    /// The demo user with this email and their key.
    User(&'static str),
    /// The demo user's email with a wrong key.
    WrongKey(&'static str),
    /// This exact `Authorization` header value.
    Header(&'static [u8]),
}

/// A row's request body.
#[derive(Debug, Clone)]
enum Body {
    None,
    /// `Content-Type: application/x-www-form-urlencoded`.
    Form(Vec<u8>),
    /// `Content-Type: application/json`.
    Json(Vec<u8>),
    /// Any other content type (`None`: no `Content-Type` header).
    Typed(Option<&'static str>, Vec<u8>),
}

/// One request and the answer it must get.
#[derive(Debug, Clone)]
struct Row {
    what: String,
    method: &'static str,
    /// Below `/api/v1/`, with the query string if any; `{call}`, `{hamlet_q}` and
    /// `{othello_q}` are replaced by the fixture's values (here and in bodies).
    path: String,
    who: Who,
    body: Body,
    status: u16,
    /// `None` for a success.
    code: Option<&'static str>,
    var_name: Option<&'static str>,
    /// Further fields the answer must carry, with their values (`{...}` replaced).
    fields: Vec<(&'static str, Value)>,
    /// Fields the answer must not carry.
    absent: Vec<&'static str>,
}

fn row(what: impl Into<String>, method: &'static str, path: impl Into<String>) -> Row {
    Row {
        what: what.into(),
        method,
        path: path.into(),
        who: Who::User("hamlet@zulip.com"),
        body: Body::None,
        status: 0,
        code: None,
        var_name: None,
        fields: Vec::new(),
        absent: Vec::new(),
    }
}

fn get(what: impl Into<String>, path: impl Into<String>) -> Row {
    row(what, "GET", path)
}

fn post(what: impl Into<String>, path: impl Into<String>) -> Row {
    row(what, "POST", path)
}

fn delete(what: impl Into<String>, path: impl Into<String>) -> Row {
    row(what, "DELETE", path)
}

fn patch(what: impl Into<String>, path: impl Into<String>) -> Row {
    row(what, "PATCH", path)
}

impl Row {
    fn by(mut self, email: &'static str) -> Self {
        self.who = Who::User(email);
        self
    }

    fn who(mut self, who: Who) -> Self {
        self.who = who;
        self
    }

    fn form(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Form(body.into());
        self
    }

    fn json(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Json(body.into());
        self
    }

    fn typed(mut self, content_type: Option<&'static str>, body: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Typed(content_type, body.into());
        self
    }

    fn fails(mut self, status: u16, code: &'static str) -> Self {
        self.status = status;
        self.code = Some(code);
        self
    }

    fn ok(mut self) -> Self {
        self.status = 200;
        self.code = None;
        self
    }

    fn var(mut self, name: &'static str) -> Self {
        self.var_name = Some(name);
        self
    }

    fn field(mut self, name: &'static str, value: Value) -> Self {
        self.fields.push((name, value));
        self
    }

    fn absent(mut self, name: &'static str) -> Self {
        self.absent.push(name);
        self
    }

    fn bad(self) -> Self {
        self.fails(400, "BAD_REQUEST")
    }

    fn missing(self, name: &'static str) -> Self {
        self.fails(400, "REQUEST_VARIABLE_MISSING").var(name)
    }

    /// The path without its query string.
    fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
}

/// A form body of exactly `len` bytes that sets `prefix` first and pads with an ignored field.
fn padded_form(prefix: &str, len: usize) -> Vec<u8> {
    let mut body = format!("{prefix}&pad=");
    assert!(body.len() <= len);
    body.push_str(&"x".repeat(len - body.len()));
    body.into_bytes()
}

/// JSON nested `depth` arrays deep.
fn nested_json(depth: usize) -> Vec<u8> {
    format!(
        "{{\"user_id\": {}6{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    )
    .into_bytes()
}

/// Every row of the table.
fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    rows.extend(auth_rows());
    rows.extend(calls_rows());
    rows.extend(plugin_rows());
    rows.extend(group_rows());
    rows.extend(zulip_rows());
    rows.extend(body_rows());
    rows.extend(oversized_rows());
    rows.extend(method_and_path_rows());
    rows
}

/// Every endpoint the mock serves: all the protocol describes.
fn served_endpoints() -> impl Iterator<Item = EndpointInfo> {
    all_endpoints()
}

/// Spec §1 Auth, for every endpoint that needs credentials.
fn auth_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for endpoint in served_endpoints().filter(|e| e.auth == EndpointAuth::Basic) {
        let path = concrete_path(&endpoint);
        let method = endpoint.method.as_str();
        let name = endpoint.name;
        rows.push(
            row(format!("{name}: no credentials"), method, path.clone())
                .who(Who::Anonymous)
                .fails(401, "UNAUTHORIZED"),
        );
        rows.push(
            row(format!("{name}: wrong API key"), method, path.clone())
                .who(Who::WrongKey("hamlet@zulip.com"))
                .fails(401, "INVALID_API_KEY"),
        );
        rows.push(
            row(format!("{name}: deactivated user"), method, path)
                .by("desdemona@zulip.com")
                .fails(401, "USER_DEACTIVATED"),
        );
    }
    let garbled: [(&str, &'static [u8], &str); 7] = [
        ("not base64", b"Basic !!!not-base64!!!", "UNAUTHORIZED"),
        (
            "Bearer scheme",
            b"Bearer hamletDemoApiKeyxxxxxxxxxxxxx010",
            "UNAUTHORIZED",
        ),
        // base64("hamlet@zulip.com") — no colon.
        (
            "no colon",
            b"Basic aGFtbGV0QHp1bGlwLmNvbQ==",
            "UNAUTHORIZED",
        ),
        // base64 of the bytes FF FE 3A 41 (not UTF-8).
        ("non-UTF-8 credentials", b"Basic //46QQ==", "UNAUTHORIZED"),
        ("non-ASCII header bytes", b"Basic \xff\xfe", "UNAUTHORIZED"),
        // base64("nobody@zulip.com:hamletDemoApiKeyxxxxxxxxxxxxx010")
        (
            "unknown email",
            b"Basic bm9ib2R5QHp1bGlwLmNvbTpoYW1sZXREZW1vQXBpS2V5eHh4eHh4eHh4eHh4eDAxMA==",
            "INVALID_API_KEY",
        ),
        // base64("hamlet@zulip.com:")
        (
            "empty key",
            b"Basic aGFtbGV0QHp1bGlwLmNvbTo=",
            "INVALID_API_KEY",
        ),
    ];
    for (what, header, code) in garbled {
        rows.push(
            get(format!("calls.active: {what}"), "calls/active")
                .who(Who::Header(header))
                .fails(401, code),
        );
    }
    rows.push(
        get("calls.active: email in another case", "calls/active")
            .who(Who::Header(
                basic("HAMLET@Zulip.COM", "hamletDemoApiKeyxxxxxxxxxxxxx010")
                    .into_bytes()
                    .leak(),
            ))
            .ok(),
    );
    rows.push(
        get(
            "calls.active: deactivated user with a wrong key",
            "calls/active",
        )
        .who(Who::WrongKey("desdemona@zulip.com"))
        .fails(401, "INVALID_API_KEY"),
    );
    rows.push(
        get("server_settings needs no credentials", "server_settings")
            .who(Who::Anonymous)
            .ok(),
    );
    rows.push(
        get("server_settings ignores bad credentials", "server_settings")
            .who(Who::WrongKey("hamlet@zulip.com"))
            .ok(),
    );
    rows
}

/// Spec 1.1 §6: group calls. The fixture's `{group}` is hosted by Iago (joined), with
/// Cordelia and Zoe invited; Hamlet has no place in it, the King is of another realm.
fn group_rows() -> Vec<Row> {
    let iago = "iago@zulip.com";
    let cordelia = "cordelia@zulip.com";
    let p = "prospero@zulip.com";
    let king = "king@lear.org";
    let g = |action: &str| format!("calls/group/{{group}}/{action}");
    let unknown = |action: &str| format!("calls/group/{NO_CALL}/{action}");
    let mut rows = vec![
        // create
        post("group.create: invites Othello", "calls/group/create")
            .form("user_ids=6")
            .ok()
            .field("invited_count", json!(1))
            .field("call_type", json!("video")),
        post("group.create: a JSON list", "calls/group/create")
            .form("user_ids=[6,9]&call_type=audio")
            .ok()
            .field("invited_count", json!(2))
            .field("call_type", json!("audio")),
        post("group.create: JSON body", "calls/group/create")
            .json(r#"{"user_ids": [6], "title": "Sync"}"#)
            .ok()
            .field("title", json!("Sync")),
        post("group.create: nobody to invite", "calls/group/create").fails(400, "BAD_REQUEST"),
        post("group.create: user_ids not numbers", "calls/group/create")
            .form("user_ids=abc")
            .bad(),
        post("group.create: one id not a number", "calls/group/create")
            .form("user_ids=6,abc")
            .bad(),
        post(
            "group.create: only another realm's user",
            "calls/group/create",
        )
        .form(format!("user_ids={KING}"))
        .bad(),
        post(
            "group.create: only a deactivated user",
            "calls/group/create",
        )
        .form(format!("user_ids={DESDEMONA}"))
        .bad(),
        post("group.create: only oneself", "calls/group/create")
            .form(format!("user_ids={HAMLET}"))
            .bad(),
        post("group.create: unknown call type", "calls/group/create")
            .form("user_ids=6&call_type=hologram")
            .bad(),
        post("group.create: stream_id not a number", "calls/group/create")
            .form("user_ids=6&stream_id=abc")
            .bad(),
        post("group.create: huge user id", "calls/group/create")
            .form("user_ids=99999999999999999999999")
            .bad(),
        post(
            "group.create: the host is in a 1:1 call",
            "calls/group/create",
        )
        .by(p)
        .form("user_ids=6")
        .fails(409, "CALLER_BUSY"),
        // invite
        post("group.invite: not a UUID", "calls/group/not-a-uuid/invite")
            .by(iago)
            .form("user_ids=6")
            .bad(),
        post("group.invite: unknown call", unknown("invite"))
            .by(iago)
            .form("user_ids=6")
            .fails(404, "CALL_NOT_FOUND"),
        post("group.invite: no user_ids", g("invite"))
            .by(iago)
            .missing("user_ids"),
        post("group.invite: user_ids not numbers", g("invite"))
            .by(iago)
            .form("user_ids=abc")
            .bad(),
        post("group.invite: by a stranger", g("invite"))
            .form("user_ids=6")
            .fails(404, "CALL_NOT_FOUND"),
        post("group.invite: by another realm", g("invite"))
            .by(king)
            .form("user_ids=6")
            .fails(404, "CALL_NOT_FOUND"),
        post("group.invite: by an invitee not joined", g("invite"))
            .by(cordelia)
            .form("user_ids=6")
            .fails(403, "NOT_A_PARTICIPANT"),
        post("group.invite: only another realm's user", g("invite"))
            .by(iago)
            .form(format!("user_ids={KING}"))
            .bad(),
        post("group.invite: by the host", g("invite"))
            .by(iago)
            .form(format!("user_ids=[{HAMLET},{OTHELLO}]"))
            .ok()
            .field("invited_count", json!(2))
            .field("online_count", json!(2))
            .field("offline_count", json!(0)),
        // join
        post("group.join: not a UUID", "calls/group/not-a-uuid/join")
            .by(cordelia)
            .bad(),
        post("group.join: unknown call", unknown("join"))
            .by(cordelia)
            .fails(404, "CALL_NOT_FOUND"),
        post("group.join: by a stranger", g("join")).fails(404, "CALL_NOT_FOUND"),
        post("group.join: already joined", g("join"))
            .by(iago)
            .fails(400, "BAD_REQUEST"),
        post("group.join: an invitee", g("join"))
            .by(cordelia)
            .ok()
            .field("participant_count", json!(2)),
        // leave
        post("group.leave: unknown call", unknown("leave"))
            .by(iago)
            .fails(404, "CALL_NOT_FOUND"),
        post("group.leave: before joining", g("leave"))
            .by(cordelia)
            .fails(400, "BAD_REQUEST"),
        post("group.leave: by a stranger", g("leave")).fails(404, "CALL_NOT_FOUND"),
        post("group.leave: the host", g("leave"))
            .by(iago)
            .ok()
            .field("message", json!("Left call successfully")),
        // decline
        post("group.decline: unknown call", unknown("decline"))
            .by(cordelia)
            .fails(404, "CALL_NOT_FOUND"),
        post("group.decline: the joined host", g("decline"))
            .by(iago)
            .fails(400, "BAD_REQUEST"),
        post("group.decline: by a stranger", g("decline")).fails(404, "CALL_NOT_FOUND"),
        post("group.decline: an invitee", g("decline"))
            .by(cordelia)
            .ok()
            .field("message", json!("Call declined")),
        // end
        post("group.end: unknown call", unknown("end"))
            .by(iago)
            .fails(404, "CALL_NOT_FOUND"),
        post("group.end: by an invitee", g("end"))
            .by(cordelia)
            .fails(403, "NOT_A_PARTICIPANT"),
        post("group.end: by a stranger", g("end")).fails(404, "CALL_NOT_FOUND"),
        post("group.end: by the host", g("end"))
            .by(iago)
            .ok()
            .field("message", json!("Call ended successfully")),
        // status and participants
        get("group.status: not a UUID", "calls/group/not-a-uuid/status")
            .by(iago)
            .bad(),
        get("group.status: unknown call", unknown("status"))
            .by(iago)
            .fails(404, "CALL_NOT_FOUND"),
        get("group.status: by a stranger", g("status")).fails(404, "CALL_NOT_FOUND"),
        get("group.status: by another realm", g("status"))
            .by(king)
            .fails(404, "CALL_NOT_FOUND"),
        get("group.status: by an invitee", g("status"))
            .by(cordelia)
            .ok(),
        get("group.participants: unknown call", unknown("participants"))
            .by(iago)
            .fails(404, "CALL_NOT_FOUND"),
        get("group.participants: by a stranger", g("participants")).fails(404, "CALL_NOT_FOUND"),
        get("group.participants: by the host", g("participants"))
            .by(iago)
            .ok()
            .field("total_count", json!(3))
            .field("joined_count", json!(1)),
    ];
    // Wrong methods on every group route.
    rows.push(get("group.create: GET", "calls/group/create").fails(405, "METHOD_NOT_ALLOWED"));
    rows.push(
        post("group.status: POST", g("status"))
            .by(iago)
            .fails(405, "METHOD_NOT_ALLOWED"),
    );
    rows
}

/// A `Basic` header value.
fn basic(email: &str, key: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{email}:{key}"));
    format!("Basic {encoded}")
}

/// The endpoint's path with its placeholders filled.
fn concrete_path(endpoint: &EndpointInfo) -> String {
    endpoint
        .path
        .replace("{call_id}", NO_CALL)
        .replace("{user_id}", &OTHELLO.to_string())
        .replace("{user_id_or_email}", &OTHELLO.to_string())
}

/// Spec §4: the calls endpoints. The fixture call `{call}` is Prospero → Polonius, `calling`.
fn calls_rows() -> Vec<Row> {
    let p = "prospero@zulip.com";
    let q = "polonius@zulip.com";
    let king = "king@lear.org";
    vec![
        // initiate
        post("initiate: no callee", "calls/initiate").missing("user_id"),
        post("initiate: user_id not a number", "calls/initiate")
            .form("user_id=abc")
            .bad(),
        post("initiate: user_id empty", "calls/initiate")
            .form("user_id=")
            .bad(),
        post("initiate: user_id negative", "calls/initiate")
            .form("user_id=-6")
            .fails(404, "USER_NOT_FOUND"),
        post("initiate: user_id past i64", "calls/initiate")
            .form("user_id=99999999999999999999")
            .bad(),
        post("initiate: user_id i64::MAX", "calls/initiate")
            .form("user_id=9223372036854775807")
            .fails(404, "USER_NOT_FOUND"),
        post("initiate: user_id fractional", "calls/initiate")
            .form("user_id=6.5")
            .bad(),
        post("initiate: user_id hex", "calls/initiate")
            .form("user_id=0x6")
            .bad(),
        post("initiate: recipient_email empty", "calls/initiate")
            .form("recipient_email=")
            .bad(),
        post("initiate: recipient_email blank", "calls/initiate")
            .form("recipient_email=%20%20")
            .bad(),
        post("initiate: unknown email", "calls/initiate")
            .form("recipient_email=nobody%40zulip.com")
            .fails(404, "USER_NOT_FOUND"),
        post("initiate: callee in another realm", "calls/initiate")
            .form("recipient_email=king%40lear.org")
            .fails(404, "USER_NOT_FOUND"),
        post("initiate: deactivated callee", "calls/initiate")
            .form("recipient_email=desdemona%40zulip.com")
            .fails(404, "USER_NOT_FOUND"),
        post("initiate: self, other case", "calls/initiate")
            .form("recipient_email=HAMLET%40ZULIP.COM")
            .fails(400, "CANNOT_CALL_SELF"),
        post("initiate: is_video_call not a boolean", "calls/initiate")
            .form("user_id=6&is_video_call=maybe")
            .bad(),
        post("initiate: is_video_call as 1", "calls/initiate")
            .form("user_id=6&is_video_call=1")
            .bad(),
        post("initiate: quoted user_id", "calls/initiate")
            .form("user_id=%226%22")
            .ok(),
        post("initiate: doubly quoted user_id", "calls/initiate")
            .form("user_id=%22%5C%226%5C%22%22")
            .bad(),
        post("initiate: single-quoted user_id", "calls/initiate")
            .form("user_id='6'")
            .bad(),
        post("initiate: half-quoted user_id", "calls/initiate")
            .form("user_id=%226")
            .bad(),
        post("initiate: quoted empty user_id", "calls/initiate")
            .form("user_id=%22%22")
            .bad(),
        post("initiate: boolean in capitals", "calls/initiate")
            .form("user_id=6&is_video_call=FALSE")
            .ok(),
        post(
            "initiate: percent-encoded non-UTF-8 email",
            "calls/initiate",
        )
        .form("recipient_email=%FF%FE")
        .fails(404, "USER_NOT_FOUND"),
        post("initiate: raw non-UTF-8 user_id", "calls/initiate")
            .form(b"user_id=\xff\xfe".to_vec())
            .bad(),
        post("initiate: JSON user_id string", "calls/initiate")
            .json(r#"{"user_id": "abc"}"#)
            .bad(),
        post("initiate: JSON user_id boolean", "calls/initiate")
            .json(r#"{"user_id": true}"#)
            .bad(),
        post("initiate: JSON user_id array", "calls/initiate")
            .json(r#"{"user_id": [6]}"#)
            .bad(),
        post("initiate: JSON user_id object", "calls/initiate")
            .json(r#"{"user_id": {"$gt": 0}}"#)
            .bad(),
        post("initiate: JSON user_id null is absent", "calls/initiate")
            .json(r#"{"user_id": null}"#)
            .missing("user_id"),
        post("initiate: JSON user_id float", "calls/initiate")
            .json(r#"{"user_id": 6.0}"#)
            .bad(),
        post("initiate: JSON user_id past i64", "calls/initiate")
            .json(r#"{"user_id": 99999999999999999999}"#)
            .bad(),
        post("initiate: JSON number out of range", "calls/initiate")
            .json(r#"{"user_id": 1e400}"#)
            .bad(),
        post("initiate: JSON quoted boolean", "calls/initiate")
            .json(r#"{"user_id": 6, "is_video_call": "false"}"#)
            .ok(),
        // start
        post("start: no user_id", "calls/start").missing("user_id"),
        post("start: self", "calls/start")
            .form(format!("user_id={HAMLET}"))
            .fails(400, "CANNOT_CALL_SELF"),
        post("start: callee in another realm", "calls/start")
            .form(format!("user_id={KING}"))
            .fails(404, "USER_NOT_FOUND"),
        post("start: deactivated callee", "calls/start")
            .form(format!("user_id={DESDEMONA}"))
            .fails(404, "USER_NOT_FOUND"),
        post("start: caller in another realm", "calls/start")
            .by(king)
            .form(format!("user_id={OTHELLO}"))
            .fails(404, "USER_NOT_FOUND"),
        post("start: unknown call_type", "calls/start")
            .form("user_id=6&call_type=fax")
            .bad(),
        post("start: call_type in capitals", "calls/start")
            .form("user_id=6&call_type=VIDEO")
            .bad(),
        post("start: call_type empty", "calls/start")
            .form("user_id=6&call_type=")
            .bad(),
        post("start: quoted call_type", "calls/start")
            .form("user_id=6&call_type=%22audio%22")
            .ok(),
        post("start: callee busy", "calls/start")
            .form("user_id=8")
            .fails(409, "USER_BUSY")
            .absent("existing_call_id"),
        post("start: caller busy", "calls/start")
            .by(p)
            .form("user_id=6")
            .fails(409, "CALLER_BUSY")
            .field("existing_call_id", json!("{call}")),
        // create
        post("create: no callee", "calls/create").missing("user_id"),
        post(
            "create: call_type contradicts is_video_call",
            "calls/create",
        )
        .form("user_id=6&call_type=video&is_video_call=false")
        .bad(),
        post(
            "create: call_type agrees with is_video_call",
            "calls/create",
        )
        .form("user_id=6&call_type=audio&is_video_call=false")
        .ok(),
        post("create: callee in another realm", "calls/create")
            .form("recipient_email=goneril%40lear.org")
            .fails(404, "USER_NOT_FOUND"),
        post("create: JSON body is an array", "calls/create")
            .json("[6]")
            .bad(),
        // acknowledge
        post("acknowledge: no call_id", "calls/acknowledge")
            .by(q)
            .missing("call_id"),
        post("acknowledge: call_id not a UUID", "calls/acknowledge")
            .by(q)
            .form("call_id=not-a-uuid")
            .bad(),
        post("acknowledge: call_id empty", "calls/acknowledge")
            .by(q)
            .form("call_id=")
            .bad(),
        post(
            "acknowledge: call_id with trailing garbage",
            "calls/acknowledge",
        )
        .by(q)
        .form("call_id={call}x")
        .bad(),
        post("acknowledge: unknown call", "calls/acknowledge")
            .by(q)
            .form(format!("call_id={NO_CALL}"))
            .fails(404, "CALL_NOT_FOUND"),
        post("acknowledge: another user's call", "calls/acknowledge")
            .form("call_id={call}")
            .fails(403, "NOT_A_PARTICIPANT"),
        post("acknowledge: another realm's call", "calls/acknowledge")
            .by(king)
            .form("call_id={call}")
            .fails(404, "CALL_NOT_FOUND"),
        post("acknowledge: by the sender", "calls/acknowledge")
            .by(p)
            .form("call_id={call}")
            .fails(403, "NOT_A_PARTICIPANT"),
        post(
            "acknowledge: status other than ringing",
            "calls/acknowledge",
        )
        .by(q)
        .form("call_id={call}&status=connected")
        .bad(),
        post("acknowledge: quoted values", "calls/acknowledge")
            .by(q)
            .form("call_id=%22{call}%22&status=%22ringing%22")
            .ok()
            .field("call_status", json!("ringing")),
        // respond
        post("respond: no response", "calls/respond")
            .by(q)
            .form("call_id={call}")
            .missing("response"),
        post("respond: no call_id", "calls/respond")
            .by(q)
            .form("response=accept")
            .missing("call_id"),
        post("respond: unknown response", "calls/respond")
            .by(q)
            .form("call_id={call}&response=maybe")
            .bad(),
        post("respond: response in capitals", "calls/respond")
            .by(q)
            .form("call_id={call}&response=ACCEPT")
            .bad(),
        post("respond: response empty", "calls/respond")
            .by(q)
            .form("call_id={call}&response=")
            .bad(),
        post("respond: JSON response a number", "calls/respond")
            .by(q)
            .json(r#"{"call_id": "{call}", "response": 1}"#)
            .bad(),
        post("respond: by the sender", "calls/respond")
            .by(p)
            .form("call_id={call}&response=accept")
            .fails(403, "NOT_A_PARTICIPANT"),
        post("respond: another user's call", "calls/respond")
            .form("call_id={call}&response=accept")
            .fails(403, "NOT_A_PARTICIPANT"),
        post("respond: another realm's call", "calls/respond")
            .by(king)
            .form("call_id={call}&response=accept")
            .fails(404, "CALL_NOT_FOUND"),
        post("respond: unknown call", "calls/respond")
            .by(q)
            .form(format!("call_id={NO_CALL}&response=accept"))
            .fails(404, "CALL_NOT_FOUND"),
        post("respond: decline is reject", "calls/respond")
            .by(q)
            .form("call_id={call}&response=decline")
            .ok()
            .field("call_status", json!("rejected")),
        // status
        post("status: before the call is accepted", "calls/status")
            .by(p)
            .form("call_id={call}&status=muted")
            .fails(409, "INVALID_CALL_STATE")
            .field("call_status", json!("calling")),
        post("status: no status", "calls/status")
            .by(p)
            .form("call_id={call}")
            .missing("status"),
        post("status: unknown status", "calls/status")
            .by(p)
            .form("call_id={call}&status=dancing")
            .bad(),
        post("status: another user's call", "calls/status")
            .form("call_id={call}&status=muted")
            .fails(403, "NOT_A_PARTICIPANT"),
        post("status: another realm's call", "calls/status")
            .by(king)
            .form("call_id={call}&status=muted")
            .fails(404, "CALL_NOT_FOUND"),
        post("status: unknown call", "calls/status")
            .form(format!("call_id={NO_CALL}&status=muted"))
            .fails(404, "CALL_NOT_FOUND"),
        // end
        post("end: no call_id", "calls/end").missing("call_id"),
        post("end: call_id a number", "calls/end")
            .form("call_id=123")
            .bad(),
        post("end: another user's call", "calls/end")
            .form("call_id={call}")
            .fails(403, "NOT_A_PARTICIPANT"),
        post("end: another realm's call", "calls/end")
            .by(king)
            .form("call_id={call}")
            .fails(404, "CALL_NOT_FOUND"),
        post("end: unknown call", "calls/end")
            .form(format!("call_id={NO_CALL}"))
            .fails(404, "CALL_NOT_FOUND"),
        post("end: by the sender", "calls/end")
            .by(p)
            .form("call_id={call}")
            .ok()
            .field("call_status", json!("cancelled")),
        // end-all
        post("end-all: nothing to end", "calls/end-all")
            .ok()
            .field("calls_ended", json!(0)),
        post("end-all: unknown parameters are ignored", "calls/end-all")
            .form("foo=bar&call_id=nonsense")
            .ok(),
        post("end-all: JSON body not an object", "calls/end-all")
            .json("[]")
            .bad(),
        // active
        get(
            "active: unknown non-UTF-8 parameter is ignored",
            "calls/active?foo=%FF",
        )
        .ok(),
        // history
        get("history: limit 0", "calls/history?limit=0").bad(),
        get("history: limit 201", "calls/history?limit=201").bad(),
        get("history: limit 200", "calls/history?limit=200").ok(),
        get("history: limit negative", "calls/history?limit=-1").bad(),
        get("history: limit past u32", "calls/history?limit=99999999999").bad(),
        get("history: limit fractional", "calls/history?limit=1.5").bad(),
        get("history: limit empty", "calls/history?limit=").bad(),
        get("history: limit non-UTF-8", "calls/history?limit=%FF").bad(),
        get("history: quoted limit", "calls/history?limit=%221%22").ok(),
        get("history: offset negative", "calls/history?offset=-1").bad(),
        get(
            "history: offset u32::MAX",
            "calls/history?offset=4294967295",
        )
        .ok()
        .field("has_more", json!(false)),
        get("history: unknown call_type", "calls/history?call_type=fax").bad(),
        get("history: unknown state", "calls/history?state=bogus").bad(),
        get("history: known state", "calls/history?state=ended").ok(),
        // GET {call_id}
        get("get: not a UUID", "calls/not-a-uuid").fails(404, "CALL_NOT_FOUND"),
        get("get: unknown call", format!("calls/{NO_CALL}")).fails(404, "CALL_NOT_FOUND"),
        get("get: non-UTF-8 id", "calls/%FF%FE").fails(404, "CALL_NOT_FOUND"),
        get("get: quoted id", "calls/%22{call}%22").fails(404, "CALL_NOT_FOUND"),
        get("get: another user's call", "calls/{call}").fails(403, "NOT_A_PARTICIPANT"),
        get("get: another realm's call", "calls/{call}")
            .by(king)
            .fails(404, "CALL_NOT_FOUND"),
        get("get: own call", "calls/{call}").by(p).ok(),
        // cleanup
        post("cleanup: not an administrator", "calls/cleanup").fails(403, "UNAUTHORIZED_PRINCIPAL"),
        post(
            "cleanup: not an administrator, bad parameters",
            "calls/cleanup",
        )
        .form("timeout_minutes=abc")
        .fails(403, "UNAUTHORIZED_PRINCIPAL"),
        post("cleanup: timeout_minutes negative", "calls/cleanup")
            .by("iago@zulip.com")
            .form("timeout_minutes=-1")
            .bad(),
        post("cleanup: timeout_minutes not a number", "calls/cleanup")
            .by("iago@zulip.com")
            .form("timeout_minutes=abc")
            .bad(),
        post("cleanup: old_calls_days negative", "calls/cleanup")
            .by("iago@zulip.com")
            .form("cleanup_old_calls=true&old_calls_days=-30")
            .bad(),
        post("cleanup: old_calls_days past u32", "calls/cleanup")
            .by("iago@zulip.com")
            .form("cleanup_old_calls=true&old_calls_days=99999999999")
            .bad(),
        post("cleanup: cleanup_old_calls not a boolean", "calls/cleanup")
            .by("iago@zulip.com")
            .form("cleanup_old_calls=maybe")
            .bad(),
        post("cleanup: huge timeout_minutes", "calls/cleanup")
            .by("iago@zulip.com")
            .form("timeout_minutes=4294967295&cleanup_old_calls=TRUE&old_calls_days=4294967295")
            .ok()
            .field("calls_timed_out", json!(0))
            .field("calls_deleted", json!(0)),
        post("cleanup: another realm's administrator", "calls/cleanup")
            .by(king)
            .form("timeout_minutes=0")
            .ok()
            .field("calls_timed_out", json!(0)),
    ]
}

/// The 1.1 dialect's own endpoints (spec 1.1 §1, §3), on the fixture's calling call
/// Prospero → Polonius: who may do what, malformed ids (400 naming `call_id`, never a 500),
/// the mobile app's quoted values, and the answers that succeed.
fn plugin_rows() -> Vec<Row> {
    let p = "prospero@zulip.com";
    let q = "polonius@zulip.com";
    let king = "king@lear.org";
    vec![
        // {call_id}/respond
        post("respond_by_id: not a UUID", "calls/not-a-uuid/respond")
            .by(q)
            .form("response=accept")
            .bad(),
        post("respond_by_id: non-UTF-8 id", "calls/%FF%FE/respond")
            .by(q)
            .form("response=accept")
            .bad(),
        post(
            "respond_by_id: unknown call",
            format!("calls/{NO_CALL}/respond"),
        )
        .by(q)
        .form("response=accept")
        .fails(404, "CALL_NOT_FOUND"),
        post("respond_by_id: no response", "calls/{call}/respond")
            .by(q)
            .missing("response"),
        post("respond_by_id: unknown response", "calls/{call}/respond")
            .by(q)
            .form("response=maybe")
            .bad(),
        post("respond_by_id: by the caller", "calls/{call}/respond")
            .by(p)
            .form("response=accept")
            .fails(403, "NOT_A_PARTICIPANT"),
        post("respond_by_id: another user's call", "calls/{call}/respond")
            .form("response=accept")
            .fails(403, "NOT_A_PARTICIPANT"),
        post(
            "respond_by_id: another realm's call",
            "calls/{call}/respond",
        )
        .by(king)
        .form("response=accept")
        .fails(404, "CALL_NOT_FOUND"),
        post(
            "respond_by_id: decline, id quoted",
            "calls/%22{call}%22/respond",
        )
        .by(q)
        .form("response=decline")
        .ok()
        .field("action", json!("decline"))
        .field("call_url", json!(null)),
        post("respond_by_id: accept as JSON", "calls/{call}/respond")
            .by(q)
            .json(r#"{"response": "accept"}"#)
            .ok()
            .field("action", json!("accept")),
        // {call_id}/cancel
        post("cancel: not a UUID", "calls/123/cancel").by(p).bad(),
        post("cancel: unknown call", format!("calls/{NO_CALL}/cancel"))
            .by(p)
            .fails(404, "CALL_NOT_FOUND"),
        post("cancel: by the receiver", "calls/{call}/cancel")
            .by(q)
            .fails(403, "NOT_A_PARTICIPANT"),
        post("cancel: another user's call", "calls/{call}/cancel").fails(403, "NOT_A_PARTICIPANT"),
        post("cancel: another realm's call", "calls/{call}/cancel")
            .by(king)
            .fails(404, "CALL_NOT_FOUND"),
        post("cancel: by the caller", "calls/{call}/cancel")
            .by(p)
            .ok()
            .field("message", json!("Call cancelled successfully")),
        // {call_id}/end
        post("end_by_id: not a UUID", "calls/x/end").by(p).bad(),
        post("end_by_id: unknown call", format!("calls/{NO_CALL}/end"))
            .by(p)
            .fails(404, "CALL_NOT_FOUND"),
        post("end_by_id: another user's call", "calls/{call}/end").fails(403, "NOT_A_PARTICIPANT"),
        post("end_by_id: another realm's call", "calls/{call}/end")
            .by(king)
            .fails(404, "CALL_NOT_FOUND"),
        post(
            "end_by_id: a duration that is no number is ignored",
            "calls/{call}/end",
        )
        .by(q)
        .form("duration=abc")
        .ok()
        .field("message", json!("Call ended successfully")),
        // {call_id}/status
        get("status_by_id: not a UUID", "calls/not-a-uuid/status")
            .by(p)
            .bad(),
        get(
            "status_by_id: unknown call",
            format!("calls/{NO_CALL}/status"),
        )
        .by(p)
        .fails(404, "CALL_NOT_FOUND"),
        get("status_by_id: another user's call", "calls/{call}/status")
            .fails(403, "NOT_A_PARTICIPANT"),
        get("status_by_id: another realm's call", "calls/{call}/status")
            .by(king)
            .fails(404, "CALL_NOT_FOUND"),
        get("status_by_id: own call", "calls/{call}/status")
            .by(p)
            .ok(),
        // heartbeat
        post("heartbeat: no call_id", "calls/heartbeat")
            .by(p)
            .missing("call_id"),
        post("heartbeat: call_id not a UUID", "calls/heartbeat")
            .by(p)
            .form("call_id=123")
            .bad(),
        post(
            "heartbeat: is_backgrounded not a boolean",
            "calls/heartbeat",
        )
        .by(p)
        .form("call_id={call}&is_backgrounded=maybe")
        .bad(),
        post("heartbeat: unknown call", "calls/heartbeat")
            .by(p)
            .form(format!("call_id={NO_CALL}"))
            .fails(404, "CALL_NOT_FOUND"),
        post("heartbeat: another user's call", "calls/heartbeat")
            .form("call_id={call}")
            .fails(403, "NOT_A_PARTICIPANT"),
        post("heartbeat: another realm's call", "calls/heartbeat")
            .by(king)
            .form("call_id={call}")
            .fails(404, "CALL_NOT_FOUND"),
        post(
            "heartbeat: the mobile app's quoted values",
            "calls/heartbeat",
        )
        .by(p)
        .form("call_id=%22{call}%22&is_backgrounded=%22true%22")
        .ok()
        .field("call_state", json!("calling")),
        // history, 1.1 parameters on the shared path
        get("history: bad cursor", "calls/history?cursor=%21%21%21").bad(),
        get(
            "history: cursor with offset",
            "calls/history?cursor=x&offset=1",
        )
        .bad(),
        get("history: unknown status", "calls/history?status=lost").bad(),
        get("history: 1.1 status filter", "calls/history?status=missed")
            .ok()
            .field("next_cursor", json!(null)),
    ]
}

/// Spec §9 and §6: the Zulip subset.
fn zulip_rows() -> Vec<Row> {
    let anon = Who::Anonymous;
    vec![
        // fetch_api_key
        post("fetch_api_key: no parameters", "fetch_api_key")
            .who(anon.clone())
            .missing("username"),
        post("fetch_api_key: no password", "fetch_api_key")
            .who(anon.clone())
            .form("username=hamlet%40zulip.com")
            .missing("password"),
        post("fetch_api_key: wrong password", "fetch_api_key")
            .who(anon.clone())
            .form("username=hamlet%40zulip.com&password=wrong")
            .fails(401, "AUTHENTICATION_FAILED"),
        post("fetch_api_key: unknown user", "fetch_api_key")
            .who(anon.clone())
            .form("username=nobody%40zulip.com&password=opensesame")
            .fails(401, "AUTHENTICATION_FAILED"),
        post("fetch_api_key: empty strings", "fetch_api_key")
            .who(anon.clone())
            .form("username=&password=")
            .fails(401, "AUTHENTICATION_FAILED"),
        post("fetch_api_key: non-UTF-8 password", "fetch_api_key")
            .who(anon.clone())
            .form(b"username=hamlet%40zulip.com&password=\xff".to_vec())
            .fails(401, "AUTHENTICATION_FAILED"),
        post("fetch_api_key: deactivated user", "fetch_api_key")
            .who(anon.clone())
            .form("username=desdemona%40zulip.com&password=opensesame")
            .fails(401, "USER_DEACTIVATED"),
        post("fetch_api_key: username in capitals", "fetch_api_key")
            .who(anon.clone())
            .form("username=HAMLET%40ZULIP.COM&password=opensesame")
            .ok()
            .field("user_id", json!(HAMLET)),
        post("fetch_api_key: JSON username a number", "fetch_api_key")
            .who(anon.clone())
            .json(r#"{"username": 5, "password": "opensesame"}"#)
            .bad(),
        // users/me
        get(
            "users/me: unknown parameters are ignored",
            "users/me?foo=%FF",
        )
        .ok(),
        // users
        get(
            "users: client_gravatar not a boolean",
            "users?client_gravatar=maybe",
        )
        .bad(),
        get(
            "users: include_custom_profile_fields not a boolean",
            "users?include_custom_profile_fields=2",
        )
        .bad(),
        get("users: quoted boolean", "users?client_gravatar=%22false%22").ok(),
        get("users/{id}: not a number", "users/abc").bad(),
        get("users/{id}: negative", "users/-6").bad(),
        get("users/{id}: past i64", "users/99999999999999999999").bad(),
        get("users/{id}: unknown", "users/99999").bad(),
        get("users/{id}: non-UTF-8", "users/%FF").bad(),
        get("users/{id}: another realm's user", format!("users/{KING}")).bad(),
        get(
            "users/{id}: another realm's viewer",
            format!("users/{HAMLET}"),
        )
        .by("king@lear.org")
        .bad(),
        get(
            "users/{id}: deactivated user is listed",
            format!("users/{DESDEMONA}"),
        )
        .ok(),
        get(
            "users/{id}: bad client_gravatar",
            "users/6?client_gravatar=maybe",
        )
        .bad(),
        // register
        post("register: event_types not JSON", "register")
            .form("event_types=call_event")
            .bad(),
        post("register: event_types empty", "register")
            .form("event_types=")
            .bad(),
        post("register: event_types of numbers", "register")
            .form("event_types=%5B1%5D")
            .bad(),
        post("register: event_types an object", "register")
            .form("event_types=%7B%22a%22%3A1%7D")
            .bad(),
        post("register: event_types quoted JSON text", "register")
            .form("event_types=%22%5B%5C%22call_event%5C%22%5D%22")
            .ok(),
        post("register: JSON event_types array", "register")
            .json(r#"{"event_types": ["call_event"]}"#)
            .ok(),
        post("register: JSON event_types a bare string", "register")
            .json(r#"{"event_types": "call_event"}"#)
            .bad(),
        post("register: JSON event_types a number", "register")
            .json(r#"{"event_types": 5}"#)
            .bad(),
        post("register: apply_markdown not a boolean", "register")
            .form("apply_markdown=maybe")
            .bad(),
        // GET events
        get("events: no queue_id", "events").missing("queue_id"),
        get("events: unknown queue", "events?queue_id=nope")
            .fails(400, "BAD_EVENT_QUEUE_ID")
            .field("queue_id", json!("nope")),
        get("events: empty queue_id", "events?queue_id=").fails(400, "BAD_EVENT_QUEUE_ID"),
        get("events: non-UTF-8 queue_id", "events?queue_id=%FF").fails(400, "BAD_EVENT_QUEUE_ID"),
        get(
            "events: another user's queue",
            "events?queue_id={othello_q}&dont_block=true",
        )
        .fails(400, "BAD_EVENT_QUEUE_ID"),
        get(
            "events: another realm's user",
            "events?queue_id={hamlet_q}&dont_block=true",
        )
        .by("king@lear.org")
        .fails(400, "BAD_EVENT_QUEUE_ID"),
        get(
            "events: last_event_id not a number",
            "events?queue_id={hamlet_q}&last_event_id=abc",
        )
        .bad(),
        get(
            "events: last_event_id past i64",
            "events?queue_id={hamlet_q}&last_event_id=99999999999999999999",
        )
        .bad(),
        get(
            "events: last_event_id i64::MIN",
            "events?queue_id={hamlet_q}&last_event_id=-9223372036854775808&dont_block=true",
        )
        .ok(),
        get(
            "events: dont_block not a boolean",
            "events?queue_id={hamlet_q}&dont_block=maybe",
        )
        .bad(),
        get(
            "events: dont_block in capitals",
            "events?queue_id={hamlet_q}&dont_block=TRUE",
        )
        .ok(),
        get(
            "events: quoted queue_id",
            "events?queue_id=%22{hamlet_q}%22&dont_block=true",
        )
        .ok()
        .field("queue_id", json!("{hamlet_q}")),
        // DELETE events
        delete("delete events: no queue_id", "events").missing("queue_id"),
        delete("delete events: unknown queue", "events?queue_id=nope")
            .fails(400, "BAD_EVENT_QUEUE_ID"),
        delete(
            "delete events: another user's queue",
            "events?queue_id={othello_q}",
        )
        .fails(400, "BAD_EVENT_QUEUE_ID"),
        delete("delete events: queue_id in a form body", "events")
            .form("queue_id={hamlet_q}")
            .ok(),
        // push tokens
        post("fcm add: no token", "users/me/android_gcm_reg_id").missing("token"),
        post("fcm add: empty token", "users/me/android_gcm_reg_id")
            .form("token=")
            .bad(),
        post("fcm add: blank token", "users/me/android_gcm_reg_id")
            .form("token=%20%20")
            .bad(),
        post(
            "fcm add: JSON token a number",
            "users/me/android_gcm_reg_id",
        )
        .json(r#"{"token": 5}"#)
        .bad(),
        post("fcm add: a token", "users/me/android_gcm_reg_id")
            .form("token=abc")
            .ok(),
        delete("fcm remove: no token", "users/me/android_gcm_reg_id").missing("token"),
        delete(
            "fcm remove: unknown token",
            "users/me/android_gcm_reg_id?token=nope",
        )
        .bad(),
        delete(
            "fcm remove: another user's token",
            format!("users/me/android_gcm_reg_id?token={OTHELLO_TOKEN}"),
        )
        .bad(),
        delete(
            "fcm remove: own token",
            format!("users/me/android_gcm_reg_id?token={OTHELLO_TOKEN}"),
        )
        .by("othello@zulip.com")
        .ok(),
        post("apns add: no token", "users/me/apns_device_token")
            .form("appid=org.zulip.Zulip")
            .missing("token"),
        post("apns add: no appid", "users/me/apns_device_token")
            .form("token=abcd")
            .missing("appid"),
        post("apns add: empty token", "users/me/apns_device_token")
            .form("token=&appid=org.zulip.Zulip")
            .bad(),
        post("apns add: empty appid", "users/me/apns_device_token")
            .form("token=abcd&appid=")
            .bad(),
        post(
            "apns add: appid with a line break",
            "users/me/apns_device_token",
        )
        .form("token=abcd&appid=org.zulip%0AZulip")
        .bad(),
        post("apns add: a token", "users/me/apns_device_token")
            .form("token=abcd&appid=org.zulip.Zulip")
            .ok(),
        delete("apns remove: no token", "users/me/apns_device_token").missing("token"),
        delete(
            "apns remove: unknown token",
            "users/me/apns_device_token?token=nope",
        )
        .bad(),
        // presence
        post("presence: no status", "users/me/presence").missing("status"),
        post("presence: unknown status", "users/me/presence")
            .form("status=away")
            .bad(),
        post("presence: last_update_id not a number", "users/me/presence")
            .form("status=active&last_update_id=abc")
            .bad(),
        post("presence: ping_only not a boolean", "users/me/presence")
            .form("status=idle&ping_only=2")
            .bad(),
        post("presence: JSON status a number", "users/me/presence")
            .json(r#"{"status": 1}"#)
            .bad(),
        post("presence: an active report", "users/me/presence")
            .form("status=active&history_limit_days=99999999999")
            .ok(),
        get(
            "realm/presence: unknown parameters are ignored",
            "realm/presence?foo=%FF",
        )
        .ok(),
        get("user presence: unknown id", "users/99999/presence").bad(),
        get(
            "user presence: unknown email",
            "users/nobody@zulip.com/presence",
        )
        .bad(),
        get(
            "user presence: past i64",
            "users/99999999999999999999/presence",
        )
        .bad(),
        get("user presence: non-UTF-8", "users/%FF/presence").bad(),
        get(
            "user presence: another realm's user",
            format!("users/{KING}/presence"),
        )
        .bad(),
        get(
            "user presence: no presence data",
            format!("users/{DESDEMONA}/presence"),
        )
        .bad(),
        // user status
        post("status: nothing to change", "users/me/status").bad(),
        post("status: text over 60 characters", "users/me/status")
            .form(format!("status_text={}", "x".repeat(61)))
            .bad(),
        post("status: away not a boolean", "users/me/status")
            .form("away=maybe")
            .bad(),
        post("status: emoji code without a name", "users/me/status")
            .form("away=false&emoji_code=1f697")
            .bad(),
        post("status: unknown emoji type", "users/me/status")
            .form("emoji_name=car&emoji_code=1f697&reaction_type=sticker")
            .bad(),
        post("status: a text", "users/me/status")
            .form("status_text=busy")
            .ok(),
        get("user status: not a number", "users/abc/status").bad(),
        get("user status: unknown", "users/99999/status").bad(),
        get(
            "user status: another realm's user",
            format!("users/{KING}/status"),
        )
        .bad(),
        get("user status: nobody set one", "users/6/status").ok(),
        // another user's status (administrators only)
        post("status for user: by a non-administrator", "users/6/status")
            .form("status_text=hi")
            .bad()
            .field("msg", json!("Insufficient permission")),
        post("status for user: unknown user", "users/99999/status")
            .by(IAGO)
            .form("status_text=hi")
            .bad()
            .field("msg", json!("No such user")),
        post("status for user: not a number", "users/abc/status")
            .by(IAGO)
            .form("status_text=hi")
            .bad(),
        post(
            "status for user: past i64",
            "users/99999999999999999999/status",
        )
        .by(IAGO)
        .form("status_text=hi")
        .bad(),
        post("status for user: non-UTF-8", "users/%FF/status")
            .by(IAGO)
            .form("status_text=hi")
            .bad(),
        post(
            "status for user: another realm's user",
            format!("users/{KING}/status"),
        )
        .by(IAGO)
        .form("status_text=hi")
        .bad()
        .field("msg", json!("No such user")),
        post(
            "status for user: deactivated user",
            format!("users/{DESDEMONA}/status"),
        )
        .by(IAGO)
        .form("status_text=hi")
        .bad()
        .field("msg", json!("User is deactivated")),
        post("status for user: nothing to change", "users/6/status")
            .by(IAGO)
            .bad(),
        post(
            "status for user: away is not its parameter",
            "users/6/status",
        )
        .by(IAGO)
        .form("away=true")
        .bad()
        .field("msg", json!("Client did not pass any new values.")),
        post("status for user: text over 60 characters", "users/6/status")
            .by(IAGO)
            .form(format!("status_text={}", "x".repeat(61)))
            .bad(),
        post("status for user: unknown emoji type", "users/6/status")
            .by(IAGO)
            .form("emoji_name=car&emoji_code=1f697&reaction_type=sticker")
            .bad(),
        post(
            "status for user: JSON status_text a number",
            "users/6/status",
        )
        .by(IAGO)
        .json(r#"{"status_text": 5}"#)
        .bad(),
        post("status for user: a text", "users/6/status")
            .by(IAGO)
            .form("status_text=busy")
            .ok(),
        // settings
        patch("settings: nothing passed", "settings").ok(),
        patch("settings: presence_enabled not a boolean", "settings")
            .form("presence_enabled=maybe")
            .bad(),
        patch("settings: JSON presence_enabled a number", "settings")
            .json(r#"{"presence_enabled": 2}"#)
            .bad(),
        patch("settings: presence_enabled off", "settings")
            .form("presence_enabled=false")
            .ok(),
        patch(
            "settings: presence_enabled in the query string",
            "settings?presence_enabled=true",
        )
        .ok(),
        patch("settings: settings the mock lacks are ignored", "settings")
            .form("full_name=Hamlet&emojiset=google&%FF=1")
            .ok()
            .absent("ignored_parameters_unsupported"),
    ]
}

/// Spec §1 Request bodies: content types, broken JSON, non-objects, non-UTF-8.
fn body_rows() -> Vec<Row> {
    let start = "calls/start";
    vec![
        post("body: JSON cut short", start)
            .json(r#"{"user_id": "#)
            .bad(),
        post("body: JSON with trailing text", start)
            .json(r#"{"user_id": 6} x"#)
            .bad(),
        post("body: JSON array", start).json("[6]").bad(),
        post("body: JSON string", start)
            .json(r#""user_id=6""#)
            .bad(),
        post("body: JSON number", start).json("6").bad(),
        post("body: JSON null", start).json("null").bad(),
        post("body: JSON true", start).json("true").bad(),
        post("body: JSON empty", start).json("").missing("user_id"),
        post("body: JSON whitespace", start)
            .json("  \n")
            .missing("user_id"),
        post("body: JSON empty object", start)
            .json("{}")
            .missing("user_id"),
        post("body: JSON non-UTF-8", start)
            .json(b"{\"user_id\": \"\xff\"}".to_vec())
            .bad(),
        post("body: JSON nested past the parser's depth", start)
            .json(nested_json(200))
            .bad(),
        post("body: JSON with a byte order mark", start)
            .json(b"\xef\xbb\xbf{\"user_id\": 6}".to_vec())
            .bad(),
        post("body: JSON duplicate key, last wins", start)
            .json(r#"{"user_id": "abc", "user_id": 6}"#)
            .ok(),
        post("body: JSON media type in capitals", start)
            .typed(Some("Application/JSON"), r#"{"user_id": 6}"#)
            .ok(),
        post("body: JSON with a charset", start)
            .typed(Some("application/json; charset=utf-8"), r#"{"user_id": 6}"#)
            .ok(),
        post("body: form with a charset", start)
            .typed(
                Some("application/x-www-form-urlencoded; charset=UTF-8"),
                "user_id=6",
            )
            .ok(),
        post("body: form text as text/plain is not read", start)
            .typed(Some("text/plain"), "user_id=6")
            .missing("user_id"),
        post("body: form text without a content type is not read", start)
            .typed(None, "user_id=6")
            .missing("user_id"),
        post("body: JSON sent as a form", start)
            .form(r#"{"user_id": 6}"#)
            .missing("user_id"),
        post(
            "body: form wins over the query string",
            "calls/start?user_id=abc",
        )
        .form("user_id=6")
        .ok(),
        post(
            "body: parameters in the query string of a POST",
            "calls/start?user_id=6",
        )
        .ok(),
        post("body: non-UTF-8 parameter name", start)
            .form(b"\xff=6".to_vec())
            .missing("user_id"),
        post("body: exactly at the size limit", start)
            .form(padded_form("user_id=6", LIMIT))
            .ok(),
        post("body: one byte over the size limit", start)
            .form(padded_form("user_id=6", LIMIT + 1))
            .fails(413, "PAYLOAD_TOO_LARGE"),
        post("body: JSON over the size limit", start)
            .json(format!(
                r#"{{"user_id": 6, "pad": "{}"}}"#,
                "x".repeat(LIMIT)
            ))
            .fails(413, "PAYLOAD_TOO_LARGE"),
    ]
}

/// Spec §1 PAYLOAD_TOO_LARGE, for every endpoint that takes a body.
fn oversized_rows() -> Vec<Row> {
    served_endpoints()
        .filter(|e| e.method != Verb::Get)
        .map(|e| {
            row(
                format!("{}: body over the size limit", e.name),
                e.method.as_str(),
                concrete_path(&e),
            )
            .form(padded_form("a=b", 2 * LIMIT))
            .fails(413, "PAYLOAD_TOO_LARGE")
        })
        .collect()
}

/// Methods a route does not serve (Zulip: 405 with a JSON error) and unknown paths (404).
fn method_and_path_rows() -> Vec<Row> {
    let mut served: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for endpoint in served_endpoints() {
        served
            .entry(concrete_path(&endpoint))
            .or_default()
            .push(endpoint.method.as_str());
    }
    let mut rows = Vec::new();
    for (path, methods) in &served {
        let wrong = ["GET", "POST", "DELETE", "PATCH"]
            .into_iter()
            .filter(|m| !methods.contains(m));
        for method in wrong {
            rows.push(
                row(format!("{method} {path}: not served"), method, path.clone())
                    .fails(405, "METHOD_NOT_ALLOWED"),
            );
        }
    }
    rows.push(get("PUT-less: unknown path", "nonexistent").fails(404, "NOT_FOUND"));
    rows.extend([
        get("unknown path", "nonexistent").fails(404, "NOT_FOUND"),
        get("unknown path without credentials", "nonexistent")
            .who(Who::Anonymous)
            .fails(404, "NOT_FOUND"),
        get("API root", "").fails(404, "NOT_FOUND"),
        get("extra segment after a route", "calls/active/extra").fails(404, "NOT_FOUND"),
        get("trailing slash", "calls/active/").fails(404, "NOT_FOUND"),
        post("empty call id segment", "calls/").fails(404, "NOT_FOUND"),
        get("path in another case", "Calls/Active").fails(404, "NOT_FOUND"),
        get("extra segment after a user", "users/6/extra").fails(404, "NOT_FOUND"),
        row("PUT on an unknown path", "PUT", "calls/nonexistent/more").fails(404, "NOT_FOUND"),
    ]);
    rows
}

/// The fixture's values for the placeholders of rows.
struct Fixture {
    call: String,
    /// A group call Iago hosts, with Cordelia and Zoe invited.
    group: String,
    hamlet_q: String,
    othello_q: String,
}

impl Fixture {
    fn fill(&self, text: &str) -> String {
        text.replace("{call}", &self.call)
            .replace("{group}", &self.group)
            .replace("{hamlet_q}", &self.hamlet_q)
            .replace("{othello_q}", &self.othello_q)
    }

    fn fill_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.fill(text).into_bytes(),
            Err(_) => bytes.to_vec(),
        }
    }

    fn fill_value(&self, value: &Value) -> Value {
        match value {
            Value::String(text) => Value::String(self.fill(text)),
            other => other.clone(),
        }
    }
}

/// A fresh server with two queues, a calling call Prospero → Polonius and Othello's FCM token.
async fn fixture() -> (TestApp, Fixture) {
    let app = spawn_with(Options {
        max_body_bytes: LIMIT,
        ..Options::default()
    })
    .await;
    for (email, id) in [
        ("hamlet@zulip.com", HAMLET),
        ("othello@zulip.com", OTHELLO),
        ("desdemona@zulip.com", DESDEMONA),
        ("king@lear.org", KING),
    ] {
        assert_eq!(app.account(email).id, id, "demo realm changed: {email}");
    }
    let hamlet_q = app.register(&app.account("hamlet@zulip.com")).await;
    let othello = app.account("othello@zulip.com");
    let othello_q = app.register(&othello).await;
    let call = app
        .call(
            &app.account("prospero@zulip.com"),
            &app.account("polonius@zulip.com"),
        )
        .await;
    let (status, body) = app
        .post(
            &othello,
            "users/me/android_gcm_reg_id",
            &[("token", OTHELLO_TOKEN)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            &app.account("iago@zulip.com"),
            "calls/group/create",
            &[("user_ids", "9,3"), ("title", "Fixture")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let group = body["call_id"].as_str().unwrap().to_owned();
    (
        app,
        Fixture {
            call,
            group,
            hamlet_q,
            othello_q,
        },
    )
}

/// Sends `row` to a fresh server; returns what was wrong with the answer, if anything.
async fn check(row: Row) -> Option<String> {
    let (app, fixture) = fixture().await;
    let url = format!("{}/api/v1/{}", app.server.url(), fixture.fill(&row.path));
    let method = reqwest::Method::from_bytes(row.method.as_bytes()).unwrap();
    let mut headers = HeaderMap::new();
    match &row.who {
        Who::Anonymous => {}
        Who::User(email) => {
            let who = app.account(email);
            headers.insert(
                "authorization",
                HeaderValue::from_str(&basic(&who.email, &who.key)).unwrap(),
            );
        }
        Who::WrongKey(email) => {
            headers.insert(
                "authorization",
                HeaderValue::from_str(&basic(email, "wrongDemoApiKeyxxxxxxxxxxxxxxxxx")).unwrap(),
            );
        }
        Who::Header(value) => {
            headers.insert("authorization", HeaderValue::from_bytes(value).unwrap());
        }
    }
    let (content_type, body) = match &row.body {
        Body::None => (None, None),
        Body::Form(bytes) => (
            Some("application/x-www-form-urlencoded"),
            Some(fixture.fill_bytes(bytes)),
        ),
        Body::Json(bytes) => (Some("application/json"), Some(fixture.fill_bytes(bytes))),
        Body::Typed(content_type, bytes) => (*content_type, Some(fixture.fill_bytes(bytes))),
    };
    if let Some(content_type) = content_type {
        headers.insert("content-type", HeaderValue::from_static(content_type));
    }
    let mut request = app.http.request(method, &url).headers(headers);
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) => return Some(format!("request failed: {err}")),
    };
    let status = response.status().as_u16();
    let www_authenticate = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap_or("<not text>").to_owned());
    let allow = response.headers().get("allow").is_some();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    let bytes = response.bytes().await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();

    let mut problems = Vec::new();
    if status >= 500 {
        problems.push(format!("a {status}"));
    }
    if status != row.status {
        problems.push(format!("status {status}, expected {}", row.status));
    }
    if !content_type.starts_with("application/json") {
        problems.push(format!("content type {content_type:?}"));
    }
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(body) => body,
        Err(err) => {
            problems.push(format!("body is not JSON ({err}): {text:?}"));
            Value::Null
        }
    };
    if !body.is_object() {
        problems.push("body is not a JSON object".to_owned());
    }
    match row.code {
        Some(code) => {
            if body["result"] != "error" {
                problems.push(format!("result {}, expected error", body["result"]));
            }
            if body["code"] != code {
                problems.push(format!("code {}, expected {code}", body["code"]));
            }
            match body["msg"].as_str() {
                Some(msg) if !msg.trim().is_empty() => {}
                _ => problems.push(format!("msg {} is not a non-empty string", body["msg"])),
            }
            if body["message"] != body["msg"] {
                problems.push(format!("message {} differs from msg", body["message"]));
            }
            if status == 401 && www_authenticate.as_deref() != Some("Basic realm=\"zulip\"") {
                problems.push(format!("WWW-Authenticate {www_authenticate:?} on a 401"));
            }
            if status == 405 && !allow {
                problems.push("no Allow header on a 405".to_owned());
            }
        }
        None => {
            if body["result"] != "success" {
                problems.push(format!("result {}, expected success", body["result"]));
            }
        }
    }
    match row.var_name {
        Some(name) if body["var_name"] != name => {
            problems.push(format!("var_name {}, expected {name}", body["var_name"]));
        }
        None if row.code == Some("REQUEST_VARIABLE_MISSING") => {
            problems.push("REQUEST_VARIABLE_MISSING row without var_name".to_owned());
        }
        _ => {}
    }
    for (name, expected) in &row.fields {
        let expected = fixture.fill_value(expected);
        if body[*name] != expected {
            problems.push(format!("{name} {}, expected {expected}", body[*name]));
        }
    }
    for name in &row.absent {
        if body.get(*name).is_some() {
            problems.push(format!("{name} must not be sent"));
        }
    }
    (!problems.is_empty()).then(|| {
        format!(
            "{} ({} {}): {}\n    body: {}",
            row.what,
            row.method,
            row.path,
            problems.join("; "),
            text.chars().take(300).collect::<String>()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_row_gets_its_exact_answer() {
    let rows = rows();
    for row in &rows {
        assert!(row.status != 0, "row {:?} has no expectation", row.what);
    }
    let count = rows.len();
    let failures: Vec<String> = futures_util::stream::iter(rows)
        .map(check)
        .buffer_unordered(8)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} of {count} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The endpoint a row is sent to, if any: a static template before a `{placeholder}` one.
fn endpoint_of(row: &Row) -> Option<EndpointInfo> {
    let segments: Vec<&str> = row.route().split('/').collect();
    let matches = |template: &str| {
        let parts: Vec<&str> = template.split('/').collect();
        parts.len() == segments.len()
            && parts.iter().zip(&segments).all(|(part, segment)| {
                (part.starts_with('{') && !segment.is_empty()) || part == segment
            })
    };
    let static_hit = all_endpoints().any(|e| !e.path.contains('{') && e.path == row.route());
    all_endpoints()
        .filter(|e| e.method.as_str() == row.method)
        .filter(|e| !static_hit || !e.path.contains('{'))
        .find(|e| matches(e.path))
}

#[test]
fn the_table_covers_every_endpoint() {
    let rows = rows();
    let mut by_endpoint: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for row in &rows {
        if let Some(endpoint) = endpoint_of(row) {
            by_endpoint.entry(endpoint.name).or_default().push(row);
        }
    }
    for endpoint in served_endpoints() {
        let rows = by_endpoint.get(endpoint.name).cloned().unwrap_or_default();
        let codes: Vec<&str> = rows.iter().filter_map(|r| r.code).collect();
        if endpoint.auth == EndpointAuth::Basic {
            for code in ["UNAUTHORIZED", "INVALID_API_KEY", "USER_DEACTIVATED"] {
                assert!(codes.contains(&code), "{}: no {code} row", endpoint.name);
            }
        }
        let own = rows
            .iter()
            .filter(|r| {
                !matches!(
                    r.code,
                    Some("UNAUTHORIZED" | "INVALID_API_KEY" | "USER_DEACTIVATED")
                )
            })
            .count();
        assert!(own >= 1, "{}: no row beyond authentication", endpoint.name);
        if endpoint.method != Verb::Get {
            assert!(
                codes.contains(&"PAYLOAD_TOO_LARGE"),
                "{}: no oversized body row",
                endpoint.name
            );
        }
    }
    assert!(rows.len() >= 250, "only {} rows", rows.len());
}

/// A cleanup asked to delete calls older than 4294967295 days deletes none: the cutoff lies
/// before any representable time, and must not wrap around to "the end of time".
#[tokio::test]
async fn cleanup_with_an_enormous_age_deletes_nothing() {
    let (app, fixture) = fixture().await;
    let prospero = app.account("prospero@zulip.com");
    let (status, body) = app
        .post(&prospero, "calls/end", &[("call_id", &fixture.call)])
        .await;
    assert_eq!(status, 200, "{body}");
    let iago = app.account("iago@zulip.com");
    let (status, body) = app
        .post(
            &iago,
            "calls/cleanup",
            &[
                ("cleanup_old_calls", "true"),
                ("old_calls_days", "4294967295"),
            ],
        )
        .await;
    assert_eq!((status, &body["calls_deleted"]), (200, &json!(0)), "{body}");
    let (status, body) = app
        .get(&prospero, &format!("calls/{}", fixture.call), &[])
        .await;
    assert_eq!(status, 200, "the ended call was deleted: {body}");
}
