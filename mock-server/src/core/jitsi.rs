//! Per-participant join URLs (spec §7), signed with HS256 when a JWT secret is configured.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use zulip_calls_protocol::call::Party;
use zulip_calls_protocol::jitsi::{
    JitsiClaims, JitsiParticipant, JoinUrl, JwtConfig, deployed_join_url,
};
use zulip_calls_protocol::plugin::group::{GroupCall, GroupParticipant};
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
        let participant = JitsiParticipant::of_call(call, party, "");
        let token = self.token(&call.jitsi_room_id, &participant, now);
        if self.deployed {
            return deployed_join_url(&call.jitsi_url, name, token.as_deref());
        }
        JoinUrl::new(&call.jitsi_url, call.call_type, name)
            .jwt(token.as_deref())
            .api_enabled(self.api_enabled)
            .build()
    }

    /// The join URL of `participant` in group call `call` (the host moderates). The deployed
    /// plugin answers the bare room URL (spec 1.1 §9).
    pub fn for_group_participant(
        &self,
        call: &GroupCall,
        participant: &GroupParticipant,
        now: Timestamp,
    ) -> String {
        if self.deployed {
            return call.jitsi_url.clone();
        }
        let who = JitsiParticipant {
            id: participant.user_id,
            name: &participant.full_name,
            email: &participant.email,
            avatar: "",
            is_sender: participant.is_host,
        };
        let token = self.token(&call.jitsi_room_name, &who, now);
        JoinUrl::new(&call.jitsi_url, call.call_type, &participant.full_name)
            .jwt(token.as_deref())
            .api_enabled(self.api_enabled)
            .build()
    }

    /// `participant`'s signed token for `room`, when tokens are issued.
    fn token(
        &self,
        room: &str,
        participant: &JitsiParticipant<'_>,
        now: Timestamp,
    ) -> Option<String> {
        let (config, key) = self.jwt.as_ref()?;
        let claims = JitsiClaims::for_participant(config, room, participant, now);
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("JWT".into());
        match jsonwebtoken::encode(&header, &claims, key) {
            Ok(token) => Some(token),
            Err(err) => {
                tracing::error!(error = %err, "could not sign a Jitsi token");
                None
            }
        }
    }
}
