//! `POST fetch_api_key`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::endpoint::endpoint;
use crate::ids::UserId;

endpoint! {
    /// Trades a username and password for the API key used in Basic auth.
    FetchApiKey: Post "fetch_api_key", auth None,
    name "zulip.fetch_api_key", path (), FetchApiKeyRequest => FetchApiKeyResponse
}

/// Parameters of `fetch_api_key`. `Debug` hides the password so it never reaches a log.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FetchApiKeyRequest {
    /// Usually the email; an LDAP username on some servers.
    pub username: String,
    pub password: String,
}

impl fmt::Debug for FetchApiKeyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchApiKeyRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Response of `fetch_api_key`. `Debug` hides the key, which is a credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FetchApiKeyResponse {
    pub api_key: String,
    /// The API email to pair with the key in Basic auth (may differ from the username).
    pub email: String,
    /// Zulip 7.0+ (feature level 171); older servers omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
}

impl fmt::Debug for FetchApiKeyResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchApiKeyResponse")
            .field("api_key", &"<redacted>")
            .field("email", &self.email)
            .field("user_id", &self.user_id)
            .finish()
    }
}
