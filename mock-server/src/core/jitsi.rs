//! Per-participant join URLs (spec §7), signed with HS256 when a JWT secret is configured.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use zulip_calls_protocol::call::Party;
use zulip_calls_protocol::jitsi::{
    JitsiClaims, JitsiParticipant, JoinUrl, JwtConfig, deployed_join_url,
};
use zulip_calls_protocol::settings::Settings;
use zulip_calls_protocol::{Call, Timestamp};

/// Builds join URLs; holds the signing key when JWT is configured.
pub struct JoinUrls {
    jwt: Option<(JwtConfig, EncodingKey)>,
    api_enabled: bool,
    /// Built as the deployed plugin builds them (see `compat`).
    deployed: bool,
}

impl std::fmt::Debug for JoinUrls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinUrls")
            .field("jwt", &self.jwt.is_some())
            .field("api_enabled", &self.api_enabled)
            .finish()
    }
}

impl JoinUrls {
    /// From the server settings.
    pub fn new(settings: &Settings, deployed: bool) -> Self {
        let jwt = JwtConfig::from_settings(settings).and_then(|config| {
            let secret = settings.jitsi_jwt_secret.as_deref()?;
            Some((config, EncodingKey::from_secret(secret.as_bytes())))
        });
        JoinUrls {
            jwt,
            api_enabled: settings.jitsi_api_enabled,
            deployed,
        }
    }

    /// The join URL of `party` in `call`, for that party only.
    pub fn for_party(&self, call: &Call, party: Party, now: Timestamp) -> String {
        let name = match party {
            Party::Sender => &call.sender_name,
            Party::Receiver => &call.receiver_name,
        };
        let token = self.jwt.as_ref().and_then(|(config, key)| {
            let participant = JitsiParticipant::of_call(call, party, "");
            let claims =
                JitsiClaims::for_participant(config, &call.jitsi_room_id, &participant, now);
            let mut header = Header::new(Algorithm::HS256);
            header.typ = Some("JWT".into());
            match jsonwebtoken::encode(&header, &claims, key) {
                Ok(token) => Some(token),
                Err(err) => {
                    tracing::error!(error = %err, "could not sign a Jitsi token");
                    None
                }
            }
        });
        if self.deployed {
            return deployed_join_url(&call.jitsi_url, name, token.as_deref());
        }
        JoinUrl::new(&call.jitsi_url, call.call_type, name)
            .jwt(token.as_deref())
            .api_enabled(self.api_enabled)
            .build()
    }
}
