//! Jitsi (spec §7): room names, room and join URLs, and the claims of participant tokens.
//!
//! Signing is the server's business (with a JWT crate, HS256, key `JITSI_JWT_SECRET`); this
//! module only says what goes into the token and into the URL.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use crate::call::{Call, CallType, Party};
use crate::ids::{CallId, UserId};
use crate::settings::Settings;
use crate::time::Timestamp;

/// The token header's `typ`.
pub const JWT_HEADER_TYP: &str = "JWT";
/// The token header's `alg`: Jitsi's token auth (prosody `token` module) verifies HS256.
pub const JWT_ALG: &str = "HS256";

/// How far before issue a token is already valid, to absorb clock skew between us and Jitsi.
pub const NBF_LEEWAY_SECS: i64 = 10;
/// How long a token outlives the longest possible call, so a rejoin near the end still works.
pub const EXP_GRACE_SECS: i64 = 300;

/// What JavaScript's `encodeURIComponent` leaves alone: `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
///
/// Jitsi decodes the fragment with `decodeURIComponent`, so encoding exactly like its
/// counterpart is what guarantees the name comes back byte for byte.
pub const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// `text` percent-encoded as JavaScript's `encodeURIComponent` would (UTF-8 escapes).
pub fn encode_uri_component(text: &str) -> String {
    utf8_percent_encode(text, URI_COMPONENT).to_string()
}

/// A call's room name: `JITSI_MEETING_PREFIX + call_id`.
pub fn room_name(prefix: &str, call_id: CallId) -> String {
    format!("{prefix}{call_id}")
}

/// The bare room URL (`JITSI_SERVER_URL/<room>`), tolerant of a trailing slash on the server.
pub fn room_url(server_url: &str, room: &str) -> String {
    format!("{}/{room}", server_url.trim_end_matches('/'))
}

/// The host of `JITSI_SERVER_URL` (the tokens' `sub`), e.g. `meet.jit.si`; no port.
/// The Jitsi settings the released plugin 1.1.0 puts in its join URLs' query string (where
/// Jitsi Meet ignores them: it reads them from the fragment; `plugin-1.1-dialect.md` §9).
const DEPLOYED_QUERY: &str = "&config.startWithAudioMuted=false\
    &config.startWithVideoMuted=false\
    &config.enableWelcomePage=false\
    &config.enableClosePage=false\
    &config.prejoinPageEnabled=false\
    &config.prejoinConfig.enabled=false\
    &config.prejoinConfig.hideDisplayName=true\
    &config.prejoinConfig.hidePrejoinDisplayName=true\
    &config.requireDisplayName=false\
    &config.disableModeratorIndicator=true\
    &config.startScreenSharing=false\
    &config.enableInsecureRoomNameWarning=false\
    &interfaceConfig.SHOW_JITSI_WATERMARK=false\
    &interfaceConfig.SHOW_WATERMARK_FOR_GUESTS=false";

/// A join URL as the released plugin 1.1.0 builds it: the display name un-encoded and the
/// settings in the query string, the token (if any) after them, one setting in the fragment.
pub fn deployed_join_url(room_url: &str, display_name: &str, jwt: Option<&str>) -> String {
    let token = jwt.map(|t| format!("&jwt={t}")).unwrap_or_default();
    format!(
        "{room_url}?userInfo.displayName={display_name}{DEPLOYED_QUERY}{token}\
         #config.prejoinPageEnabled=false"
    )
}

/// A room name as the released plugin 1.1.0 makes it: `zulip-call-` and 12 hex digits of a
/// fresh random id, whatever `JITSI_MEETING_PREFIX` says.
pub fn deployed_room_name() -> String {
    let id = CallId::new_random().to_string().replace('-', "");
    format!("zulip-call-{}", &id[..12])
}

pub fn jitsi_host(server_url: &str) -> Option<String> {
    let url = url::Url::parse(server_url).ok()?;
    url.host_str().filter(|h| !h.is_empty()).map(str::to_owned)
}

/// The `userInfo.displayName` value: the name as a JSON string, then URI-component encoded.
///
/// Jitsi parses every fragment value as JSON, so a bare name would be read as garbage (or as a
/// number, for a name like `42`).
pub fn display_name_param(display_name: &str) -> String {
    // `Value`'s Display cannot fail, unlike `serde_json::to_string`.
    let json = serde_json::Value::String(display_name.to_owned()).to_string();
    encode_uri_component(&json)
}

/// A participant's join URL (spec §7), built step by step.
///
/// ```
/// use zulip_calls_protocol::{CallType, jitsi::JoinUrl};
/// let url = JoinUrl::new("https://meet.jit.si/zulip-call-x", CallType::Audio, "King Hamlet")
///     .jwt(Some("a.b.c"))
///     .to_string();
/// assert_eq!(
///     url,
///     "https://meet.jit.si/zulip-call-x?jwt=a.b.c#config.startWithVideoMuted=true\
///      &config.prejoinPageEnabled=false&userInfo.displayName=%22King%20Hamlet%22"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinUrl<'a> {
    room_url: &'a str,
    call_type: CallType,
    display_name: &'a str,
    jwt: Option<&'a str>,
    api_enabled: bool,
}

impl<'a> JoinUrl<'a> {
    /// A join URL without a token, with the API enabled.
    pub fn new(room_url: &'a str, call_type: CallType, display_name: &'a str) -> Self {
        JoinUrl {
            room_url,
            call_type,
            display_name,
            jwt: None,
            api_enabled: true,
        }
    }

    /// Adds the participant's token (`?jwt=`), when JWT is configured.
    pub fn jwt(mut self, token: Option<&'a str>) -> Self {
        self.jwt = token;
        self
    }

    /// `JITSI_API_ENABLED`: when false the URL is the bare room, with neither token nor fragment.
    pub fn api_enabled(mut self, enabled: bool) -> Self {
        self.api_enabled = enabled;
        self
    }

    /// The URL as a string.
    pub fn build(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for JoinUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.room_url)?;
        if !self.api_enabled {
            return Ok(());
        }
        if let Some(token) = self.jwt {
            // A JWT is base64url and dots, so this encodes nothing; it guards against a
            // malformed token breaking the URL.
            write!(f, "?jwt={}", encode_uri_component(token))?;
        }
        let video_muted = matches!(self.call_type, CallType::Audio);
        write!(
            f,
            "#config.startWithVideoMuted={video_muted}&config.prejoinPageEnabled=false&userInfo.displayName={}",
            display_name_param(self.display_name)
        )
    }
}

/// A participant's join URL (spec §7); see [`JoinUrl`].
pub fn join_url(
    base_room_url: &str,
    call_type: CallType,
    display_name: &str,
    jwt: Option<&str>,
    api_enabled: bool,
) -> String {
    JoinUrl::new(base_room_url, call_type, display_name)
        .jwt(jwt)
        .api_enabled(api_enabled)
        .build()
}

/// The token header (`{"alg": "HS256", "typ": "JWT"}`), for servers that build it by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JwtHeader {
    pub alg: String,
    pub typ: String,
}

impl Default for JwtHeader {
    fn default() -> Self {
        JwtHeader {
            alg: JWT_ALG.to_owned(),
            typ: JWT_HEADER_TYP.to_owned(),
        }
    }
}

/// The server-wide inputs of every token, taken from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    /// `iss` (`JITSI_JWT_APP_ID`).
    pub app_id: String,
    /// `aud` (`JITSI_JWT_AUDIENCE`).
    pub audience: String,
    /// `sub`: the host of `JITSI_SERVER_URL`.
    pub host: String,
    /// `CALL_MAX_DURATION`, which bounds the token's life.
    pub max_duration_secs: u64,
}

impl JwtConfig {
    /// The token inputs, or `None` when no tokens are issued (no secret or app id, or the API
    /// is disabled so join URLs carry no token).
    pub fn from_settings(settings: &Settings) -> Option<JwtConfig> {
        if !settings.jitsi_api_enabled || settings.jitsi_jwt_secret.is_none() {
            return None;
        }
        Some(JwtConfig {
            app_id: settings.jitsi_jwt_app_id.clone()?,
            audience: settings.jitsi_jwt_audience.clone(),
            host: settings.jitsi_host()?,
            max_duration_secs: settings.call_max_duration,
        })
    }
}

/// Who a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitsiParticipant<'a> {
    pub id: UserId,
    pub name: &'a str,
    pub email: &'a str,
    /// Absolute avatar URL; empty when the server has none to give.
    pub avatar: &'a str,
    /// The caller moderates the room.
    pub is_sender: bool,
}

impl<'a> JitsiParticipant<'a> {
    /// `party` of `call`; the avatar is not part of the call so the server supplies it.
    pub fn of_call(call: &'a Call, party: Party, avatar: &'a str) -> Self {
        match party {
            Party::Sender => JitsiParticipant {
                id: call.sender_id,
                name: &call.sender_name,
                email: &call.sender_email,
                avatar,
                is_sender: true,
            },
            Party::Receiver => JitsiParticipant {
                id: call.receiver_id,
                name: &call.receiver_name,
                email: &call.receiver_email,
                avatar,
                is_sender: false,
            },
        }
    }
}

/// The claims of a participant's token (spec §7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JitsiClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub room: String,
    /// Unix seconds.
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub context: JitsiContext,
}

/// `context` of the claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JitsiContext {
    pub user: JitsiUser,
}

/// `context.user`: every value a string, as Jitsi's token module expects (`moderator` too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JitsiUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub avatar: String,
    /// `"true"` for the caller, `"false"` otherwise.
    pub moderator: String,
}

impl JitsiClaims {
    /// The claims of `participant`'s token for `room`, issued at `now`.
    ///
    /// `nbf` is [`NBF_LEEWAY_SECS`] before `now`; `exp` is `CALL_MAX_DURATION` plus
    /// [`EXP_GRACE_SECS`] after it. Arithmetic saturates, so absurd settings cannot overflow.
    pub fn for_participant(
        config: &JwtConfig,
        room: &str,
        participant: &JitsiParticipant<'_>,
        now: Timestamp,
    ) -> JitsiClaims {
        let iat = now.unix_seconds();
        let max_duration = i64::try_from(config.max_duration_secs).unwrap_or(i64::MAX);
        JitsiClaims {
            iss: config.app_id.clone(),
            aud: config.audience.clone(),
            sub: config.host.clone(),
            room: room.to_owned(),
            iat,
            nbf: iat.saturating_sub(NBF_LEEWAY_SECS),
            exp: iat
                .saturating_add(max_duration)
                .saturating_add(EXP_GRACE_SECS),
            context: JitsiContext {
                user: JitsiUser {
                    id: participant.id.to_string(),
                    name: participant.name.to_owned(),
                    email: participant.email.to_owned(),
                    avatar: participant.avatar.to_owned(),
                    moderator: participant.is_sender.to_string(),
                },
            },
        }
    }
}

#[cfg(test)]
mod deployed_tests {
    use super::*;

    #[test]
    fn deployed_join_urls_are_the_plugins() {
        // As the plugin 1.1.0 answered `create` on this machine.
        assert_eq!(
            deployed_join_url(
                "https://dev.meet.xandylearning.in/zulip-call-cb4c9529d7bf",
                "King Hamlet",
                None
            ),
            "https://dev.meet.xandylearning.in/zulip-call-cb4c9529d7bf?userInfo.displayName=King Hamlet&config.startWithAudioMuted=false&config.startWithVideoMuted=false&config.enableWelcomePage=false&config.enableClosePage=false&config.prejoinPageEnabled=false&config.prejoinConfig.enabled=false&config.prejoinConfig.hideDisplayName=true&config.prejoinConfig.hidePrejoinDisplayName=true&config.requireDisplayName=false&config.disableModeratorIndicator=true&config.startScreenSharing=false&config.enableInsecureRoomNameWarning=false&interfaceConfig.SHOW_JITSI_WATERMARK=false&interfaceConfig.SHOW_WATERMARK_FOR_GUESTS=false#config.prejoinPageEnabled=false"
        );
        let room = deployed_room_name();
        assert!(
            room.starts_with("zulip-call-") && room.len() == 23,
            "{room}"
        );
        assert!(room[11..].bytes().all(|b| b.is_ascii_hexdigit()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: &str = "https://meet.jit.si/zulip-call-0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f";

    fn fragment_name(url: &str) -> &str {
        url.split("userInfo.displayName=").nth(1).unwrap()
    }

    #[test]
    fn room_name_and_url() {
        let id: CallId = "0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f".parse().unwrap();
        let room = room_name("zulip-call-", id);
        assert_eq!(room, "zulip-call-0b8f2c1e-4a5d-4c3b-9e7f-1a2b3c4d5e6f");
        assert_eq!(room_url("https://meet.jit.si", &room), ROOM);
        assert_eq!(room_url("https://meet.jit.si/", &room), ROOM);
    }

    #[test]
    fn host_of_server_url() {
        assert_eq!(
            jitsi_host("https://meet.jit.si").as_deref(),
            Some("meet.jit.si")
        );
        assert_eq!(
            jitsi_host("https://jitsi.example.com:8443/meet").as_deref(),
            Some("jitsi.example.com")
        );
        assert_eq!(jitsi_host("not a url"), None);
    }

    #[test]
    fn video_join_url_without_token() {
        assert_eq!(
            join_url(ROOM, CallType::Video, "King Hamlet", None, true),
            format!(
                "{ROOM}#config.startWithVideoMuted=false&config.prejoinPageEnabled=false\
                 &userInfo.displayName=%22King%20Hamlet%22"
            )
        );
    }

    #[test]
    fn audio_join_url_with_token() {
        assert_eq!(
            join_url(ROOM, CallType::Audio, "Othello", Some("h.p.s"), true),
            format!(
                "{ROOM}?jwt=h.p.s#config.startWithVideoMuted=true&config.prejoinPageEnabled=false\
                 &userInfo.displayName=%22Othello%22"
            )
        );
    }

    #[test]
    fn api_disabled_gives_the_bare_room() {
        assert_eq!(
            join_url(ROOM, CallType::Audio, "Othello", Some("h.p.s"), false),
            ROOM
        );
        assert_eq!(
            JoinUrl::new(ROOM, CallType::Video, "x")
                .api_enabled(false)
                .build(),
            ROOM
        );
    }

    #[test]
    fn quotes_and_backslashes_are_json_escaped_then_encoded() {
        let url = join_url(
            ROOM,
            CallType::Video,
            r#"Dwayne "The Rock" \o/"#,
            None,
            true,
        );
        // JSON: "Dwayne \"The Rock\" \\o/"
        assert_eq!(
            fragment_name(&url),
            "%22Dwayne%20%5C%22The%20Rock%5C%22%20%5C%5Co%2F%22"
        );
    }

    #[test]
    fn url_delimiters_in_names_cannot_break_the_fragment() {
        let url = join_url(ROOM, CallType::Video, "Tom & Jerry #1 ?=%+", None, true);
        assert_eq!(
            fragment_name(&url),
            "%22Tom%20%26%20Jerry%20%231%20%3F%3D%25%2B%22"
        );
        assert_eq!(url.matches('#').count(), 1);
        assert_eq!(url.matches('&').count(), 2);
    }

    #[test]
    fn unreserved_marks_stay_as_in_encode_uri_component() {
        assert_eq!(encode_uri_component("A-z_0.9!~*'()"), "A-z_0.9!~*'()");
        assert_eq!(encode_uri_component("a b/c:d@e"), "a%20b%2Fc%3Ad%40e");
    }

    #[test]
    fn unicode_names_are_utf8_escapes() {
        assert_eq!(
            display_name_param("Zoë Ørsted"),
            "%22Zo%C3%AB%20%C3%98rsted%22"
        );
        assert_eq!(display_name_param("李雷"), "%22%E6%9D%8E%E9%9B%B7%22");
        assert_eq!(display_name_param("Ana 🎉"), "%22Ana%20%F0%9F%8E%89%22");
    }

    #[test]
    fn control_characters_and_numeric_names_stay_strings() {
        // A newline is JSON-escaped (\n) before encoding; a number-like name stays a string.
        assert_eq!(display_name_param("a\nb"), "%22a%5Cnb%22");
        assert_eq!(display_name_param("42"), "%2242%22");
    }

    #[test]
    fn encoded_name_decodes_back_to_json_of_the_name() {
        for name in ["King Hamlet", "Zoë \"Z\" Ørsted & co #1", "李雷 🎉", ""] {
            let param = display_name_param(name);
            let json = percent_encoding::percent_decode_str(&param)
                .decode_utf8()
                .unwrap();
            let back: String = serde_json::from_str(&json).unwrap();
            assert_eq!(back, name);
        }
    }

    #[test]
    fn claims_time_window() {
        let config = JwtConfig {
            app_id: "zulip".into(),
            audience: "jitsi".into(),
            host: "meet.jit.si".into(),
            max_duration_secs: 3600,
        };
        let participant = JitsiParticipant {
            id: UserId(12),
            name: "Othello",
            email: "othello@zulip.com",
            avatar: "",
            is_sender: false,
        };
        let now = Timestamp::from_unix_seconds(1_704_110_400).unwrap();
        let claims = JitsiClaims::for_participant(&config, "room", &participant, now);
        assert_eq!(claims.iat, 1_704_110_400);
        assert_eq!(claims.nbf, 1_704_110_390);
        assert_eq!(claims.exp, 1_704_110_400 + 3600 + 300);
        assert_eq!(claims.context.user.moderator, "false");
        assert_eq!(claims.context.user.id, "12");

        let huge = JwtConfig {
            max_duration_secs: u64::MAX,
            ..config
        };
        let claims = JitsiClaims::for_participant(&huge, "room", &participant, now);
        assert_eq!(claims.exp, i64::MAX);
    }

    #[test]
    fn jwt_config_only_when_tokens_are_issued() {
        let mut settings = Settings::default();
        assert_eq!(JwtConfig::from_settings(&settings), None);
        settings.jitsi_jwt_app_id = Some("zulip".into());
        settings.jitsi_jwt_secret = Some("secret".into());
        assert_eq!(
            JwtConfig::from_settings(&settings),
            Some(JwtConfig {
                app_id: "zulip".into(),
                audience: "jitsi".into(),
                host: "meet.jit.si".into(),
                max_duration_secs: 3600,
            })
        );
        settings.jitsi_api_enabled = false;
        assert_eq!(JwtConfig::from_settings(&settings), None);
    }

    #[test]
    fn header_is_hs256_jwt() {
        assert_eq!(
            serde_json::to_value(JwtHeader::default()).unwrap(),
            serde_json::json!({"alg": "HS256", "typ": "JWT"})
        );
    }
}
