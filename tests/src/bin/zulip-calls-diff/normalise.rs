//! What makes two servers' answers comparable: everything random, per-server or time-bound is
//! replaced by a placeholder, consistently within one server's answers, so that equal behaviour
//! compares equal.
//!
//! - Call ids: the sequence's name for the call (`<c1>`), bound when the call was created;
//!   other UUIDs are `<uuid1>`, `<uuid2>`... in the order this server first showed them.
//! - Jitsi rooms: `<room:c1>` (bound with the call from `room_name`), others `<room1>`...; the
//!   Jitsi server in front of a room is `<jitsi>`, a token after `jwt=` is `<jwt>`.
//! - User ids (under user-id keys, and in `/avatar/N`): the id of the same email on server A,
//!   so a server whose ids differ still compares equal.
//! - Realm URLs and hosts: `<realm1>`, `<realm1-host>`...; API keys and queue ids: `<api-key>`,
//!   `<queue>`.
//! - Times: ISO 8601 anywhere in a string is `<time>`; a 10-digit number is `<unix-number>`, a
//!   10-digit run in a string `<unix>`; `next_cursor`/`cursor` strings are `<cursor>`; a
//!   `duration`/`duration_seconds` number is `<seconds>` (calls here last well under a second,
//!   and the two servers may round differently).
//! - Group call participants (a `participants` list of objects with a `user_id`): sorted by
//!   user id. The plugin's queries have no order, so its database picks one (SQLite by an
//!   index on the last heartbeat, PostgreSQL by where the rows happen to lie); a client must
//!   not depend on it.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Keys whose value is a user id, or a list of them (besides `user_id` and `*_user_id`).
const USER_ID_KEYS: &[&str] = &[
    "new_participants",
    "caller_id",
    "recipient_id",
    "sender_id",
    "receiver_id",
    "inviter_id",
    "host_id",
    "actor_id",
];

/// Room names start with one of these (the plugin's and the mock's defaults).
const ROOM_PREFIXES: &[&str] = &["zulip-group-call-", "zulip-call-"];

/// One server's placeholders.
#[derive(Debug, Default)]
pub struct Normaliser {
    /// UUID (lower case) → placeholder.
    uuids: HashMap<String, String>,
    anonymous_uuids: usize,
    /// Room name → placeholder.
    rooms: HashMap<String, String>,
    anonymous_rooms: usize,
    /// This server's user id → server A's id for the same email.
    user_ids: HashMap<i64, i64>,
    /// Literal strings → placeholders, longest first (realm URLs, hosts, keys, queue ids).
    literals: Vec<(String, String)>,
}

impl Normaliser {
    /// `user_ids`: this server's ids to the canonical ones; `realm_urls`: this server's realm
    /// URLs in the canonical order; `api_keys`: every user's key.
    pub fn new(user_ids: HashMap<i64, i64>, realm_urls: &[String], api_keys: &[String]) -> Self {
        let mut n = Normaliser {
            user_ids,
            ..Normaliser::default()
        };
        for (i, url) in realm_urls.iter().enumerate() {
            n.add_literal(url, &format!("<realm{}>", i + 1));
            if let Some((_, host)) = url.split_once("://") {
                n.add_literal(
                    host.trim_end_matches('/'),
                    &format!("<realm{}-host>", i + 1),
                );
            }
        }
        for key in api_keys {
            n.add_literal(key, "<api-key>");
        }
        n
    }

    fn add_literal(&mut self, literal: &str, placeholder: &str) {
        if literal.is_empty() || self.literals.iter().any(|(l, _)| l == literal) {
            return;
        }
        self.literals
            .push((literal.to_owned(), placeholder.to_owned()));
        self.literals
            .sort_by_key(|(l, _)| std::cmp::Reverse(l.len()));
    }

    /// An event queue id of this server.
    pub fn bind_queue(&mut self, queue_id: &str) {
        self.add_literal(queue_id, "<queue>");
    }

    /// The call `uuid` is the sequence's `name`; its room (when the answer named it) too.
    pub fn bind_call(&mut self, uuid: &str, name: &str, room: Option<&str>) {
        self.uuids
            .entry(uuid.to_ascii_lowercase())
            .or_insert_with(|| format!("<{name}>"));
        if let Some(room) = room.filter(|r| !r.is_empty()) {
            self.rooms
                .entry(room.to_owned())
                .or_insert_with(|| format!("<room:{name}>"));
        }
    }

    /// The canonical id of this server's user `id` (itself when unknown).
    pub fn user_id(&self, id: i64) -> i64 {
        self.user_ids.get(&id).copied().unwrap_or(id)
    }

    /// `value` with every placeholder in.
    pub fn value(&mut self, value: &Value) -> Value {
        self.value_at(None, value)
    }

    fn value_at(&mut self, key: Option<&str>, value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    out.insert(k.clone(), self.value_at(Some(k), v));
                }
                Value::Object(out)
            }
            Value::Array(items) => {
                let mut items: Vec<Value> = items.iter().map(|v| self.value_at(key, v)).collect();
                if key == Some("participants") && items.iter().all(|p| p["user_id"].is_i64()) {
                    items.sort_by_key(|p| p["user_id"].as_i64());
                }
                Value::Array(items)
            }
            Value::Number(number) => {
                let key = key.unwrap_or("");
                if let Some(id) = number.as_i64().filter(|_| is_user_id_key(key)) {
                    return Value::from(self.user_id(id));
                }
                if matches!(key, "duration" | "duration_seconds") {
                    return Value::from("<seconds>");
                }
                if number
                    .as_f64()
                    .is_some_and(|n| (1_000_000_000.0..10_000_000_000.0).contains(&n))
                {
                    return Value::from("<unix-number>");
                }
                value.clone()
            }
            Value::String(text) => {
                let key = key.unwrap_or("");
                if let Some(id) = text.parse::<i64>().ok().filter(|_| is_user_id_key(key)) {
                    return Value::from(self.user_id(id).to_string());
                }
                if matches!(key, "next_cursor" | "cursor") {
                    return Value::from("<cursor>");
                }
                Value::from(self.string(text))
            }
            Value::Bool(_) | Value::Null => value.clone(),
        }
    }

    /// `text` with every placeholder in.
    pub fn string(&mut self, text: &str) -> String {
        let mut s = text.to_owned();
        for (literal, placeholder) in &self.literals {
            if s.contains(literal.as_str()) {
                s = s.replace(literal.as_str(), placeholder);
            }
        }
        let s = self.rooms_in(&s);
        let s = self.uuids_in(&s);
        let s = times_in(&s);
        let s = self.avatars_in(&s);
        jwts_in(&s)
    }

    /// Room names, and the Jitsi server URL in front of them.
    fn rooms_in(&mut self, s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            let Some(prefix) = ROOM_PREFIXES
                .iter()
                .find(|p| bytes[i..].starts_with(p.as_bytes()))
            else {
                i += 1;
                continue;
            };
            if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
                i += 1;
                continue;
            }
            let mut end = i + prefix.len();
            while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'-') {
                end += 1;
            }
            if end == i + prefix.len() {
                i = end;
                continue;
            }
            // The Jitsi server: `scheme://host/` right before the room.
            let mut start = i;
            if i > 0
                && bytes[i - 1] == b'/'
                && let Some(scheme) = s[..i - 1].rfind("://")
            {
                let host = &s[scheme + 3..i - 1];
                let scheme_start = s[..scheme]
                    .rfind(|c: char| !c.is_ascii_alphanumeric())
                    .map_or(0, |p| p + 1);
                if !host.is_empty() && !host.contains(['/', ' ', '\'', '"', '?', '#']) {
                    start = scheme_start;
                }
            }
            let room = &s[i..end];
            let placeholder = match self.rooms.get(room) {
                Some(p) => p.clone(),
                None => {
                    self.anonymous_rooms += 1;
                    let p = format!("<room{}>", self.anonymous_rooms);
                    self.rooms.insert(room.to_owned(), p.clone());
                    p
                }
            };
            out.push_str(&s[copied..start]);
            if start < i {
                out.push_str("<jitsi>/");
            }
            out.push_str(&placeholder);
            copied = end;
            i = end;
        }
        out.push_str(&s[copied..]);
        out
    }

    fn uuids_in(&mut self, s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut copied = 0;
        let mut i = 0;
        while i + 36 <= bytes.len() {
            if (i == 0 || !is_word(bytes[i - 1]))
                && is_uuid(&bytes[i..i + 36])
                && (i + 36 == bytes.len() || !is_word(bytes[i + 36]))
            {
                let uuid = s[i..i + 36].to_ascii_lowercase();
                let placeholder = match self.uuids.get(&uuid) {
                    Some(p) => p.clone(),
                    None => {
                        self.anonymous_uuids += 1;
                        let p = format!("<uuid{}>", self.anonymous_uuids);
                        self.uuids.insert(uuid, p.clone());
                        p
                    }
                };
                out.push_str(&s[copied..i]);
                out.push_str(&placeholder);
                i += 36;
                copied = i;
            } else {
                i += 1;
            }
        }
        out.push_str(&s[copied..]);
        out
    }

    /// `/avatar/N` with the canonical id.
    fn avatars_in(&self, s: &str) -> String {
        const AVATAR: &str = "/avatar/";
        if !s.contains(AVATAR) {
            return s.to_owned();
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(at) = rest.find(AVATAR) {
            let after = &rest[at + AVATAR.len()..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            out.push_str(&rest[..at + AVATAR.len()]);
            match after[..digits].parse::<i64>() {
                Ok(id) => out.push_str(&self.user_id(id).to_string()),
                Err(_) => out.push_str(&after[..digits]),
            }
            rest = &after[digits..];
        }
        out.push_str(rest);
        out
    }
}

fn is_user_id_key(key: &str) -> bool {
    key == "user_id" || key.ends_with("_user_id") || USER_ID_KEYS.contains(&key)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// ISO 8601 date-times (`<time>`) and runs of exactly ten digits (`<unix>`).
fn times_in(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        if let Some(len) = iso_len(&bytes[i..]) {
            out.push_str(&s[copied..i]);
            out.push_str("<time>");
            i += len;
            copied = i;
            continue;
        }
        let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let end = i + digits;
        if digits == 10 && (end == bytes.len() || !bytes[end].is_ascii_alphanumeric()) {
            out.push_str(&s[copied..i]);
            out.push_str("<unix>");
            copied = end;
        }
        i = end;
    }
    out.push_str(&s[copied..]);
    out
}

/// The length of the ISO 8601 date-time at the start of `b`, if there is one:
/// `YYYY-MM-DDTHH:MM:SS`, then optional fraction and offset (`Z` or `±HH:MM`).
fn iso_len(b: &[u8]) -> Option<usize> {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    if b.len() < SHAPE.len() {
        return None;
    }
    let fits = SHAPE.iter().zip(b).all(|(shape, c)| match shape {
        b'd' => c.is_ascii_digit(),
        b'T' => *c == b'T' || *c == b' ',
        other => c == other,
    });
    if !fits {
        return None;
    }
    let mut len = SHAPE.len();
    if b.get(len) == Some(&b'.') {
        let digits = b[len + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits > 0 {
            len += 1 + digits;
        }
    }
    match b.get(len) {
        Some(b'Z') => len += 1,
        Some(b'+' | b'-')
            if b.len() >= len + 6
                && b[len + 1..len + 3].iter().all(u8::is_ascii_digit)
                && b[len + 3] == b':'
                && b[len + 4..len + 6].iter().all(u8::is_ascii_digit) =>
        {
            len += 6;
        }
        _ => {}
    }
    Some(len)
}

/// A Jitsi token after `jwt=`.
fn jwts_in(s: &str) -> String {
    const JWT: &str = "jwt=";
    if !s.contains(JWT) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(JWT) {
        let after = &rest[at + JWT.len()..];
        let token = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
            .count();
        out.push_str(&rest[..at + JWT.len()]);
        if token > 0 {
            out.push_str("<jwt>");
        }
        rest = &after[token..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn normaliser() -> Normaliser {
        Normaliser::new(
            HashMap::from([(11, 1), (12, 2)]),
            &[
                "http://127.0.0.1:9411".to_owned(),
                "http://lear.127.0.0.1:9411".to_owned(),
            ],
            &["0123456789abcdef0123456789abcdef".to_owned()],
        )
    }

    #[test]
    fn calls_rooms_and_the_jitsi_server_get_the_sequence_names() {
        let mut n = normaliser();
        n.bind_call(
            "17869347-1E65-40e7-a674-a16f46ea125e",
            "c1",
            Some("zulip-call-2953efa529e5"),
        );
        let url = "https://dev.meet.example/zulip-call-2953efa529e5?userInfo.displayName=Iago#x";
        assert_eq!(
            n.string(url),
            "<jitsi>/<room:c1>?userInfo.displayName=Iago#x"
        );
        assert_eq!(
            n.string("{'call_id': '17869347-1e65-40e7-a674-a16f46ea125e', 'x': 'b8f2c1e0-4a5d-4c3b-9e7f-1a2b3c4d5e6f'}"),
            "{'call_id': '<c1>', 'x': '<uuid1>'}"
        );
        // The mock's rooms hold the call id: the room wins, as a whole.
        n.bind_call(
            "0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f",
            "c2",
            Some("zulip-call-0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f"),
        );
        assert_eq!(
            n.string("https://meet.jit.si/zulip-call-0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f"),
            "<jitsi>/<room:c2>"
        );
        assert_eq!(n.string("zulip-call-abc"), "<room1>");
    }

    #[test]
    fn participants_are_listed_by_user_id() {
        let mut n = normaliser();
        let value = json!({"participants": [
            {"user_id": 12, "state": "invited"},
            {"user_id": 11, "state": "joined"},
        ], "new_participants": [12, 11]});
        assert_eq!(
            n.value(&value),
            json!({"participants": [
                {"user_id": 1, "state": "joined"},
                {"user_id": 2, "state": "invited"},
            ], "new_participants": [2, 1]})
        );
    }

    #[test]
    fn times_ids_realms_and_secrets() {
        let mut n = normaliser();
        let value = json!({
            "timestamp": 1796641061,
            "time": "1796641061",
            "created_at": "2026-12-07T10:57:41.036076+00:00",
            "at": "2026-12-07T10:57:41.077Z",
            "user_id": 11,
            "sender_id": "12",
            "avatar_url": "/avatar/12",
            "realm_uri": "http://lear.127.0.0.1:9411",
            "server": "127.0.0.1:9411",
            "key": "0123456789abcdef0123456789abcdef",
            "next_cursor": "MjAyNi0xMi0wN1QxMDo1Nzo0MS4wMzYwNzYrMDA6MDBfMTc4Ng==",
            "duration": 3,
            "call_url": "https://x.example/zulip-call-a?jwt=aa.bb.cc#config.x=1",
            "count": 12,
        });
        assert_eq!(
            n.value(&value),
            json!({
                "timestamp": "<unix-number>",
                "time": "<unix>",
                "created_at": "<time>",
                "at": "<time>",
                "user_id": 1,
                "sender_id": "2",
                "avatar_url": "/avatar/2",
                "realm_uri": "<realm2>",
                "server": "<realm1-host>",
                "key": "<api-key>",
                "next_cursor": "<cursor>",
                "duration": "<seconds>",
                "call_url": "<jitsi>/<room1>?jwt=<jwt>#config.x=1",
                "count": 12,
            })
        );
    }
}
