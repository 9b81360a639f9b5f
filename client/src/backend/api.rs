//! The HTTP half of the client: every request goes through [`ApiClient::request`], which takes
//! the method, path and types from the protocol crate's endpoint descriptors. It speaks only
//! the contract, so it works against any Zulip server with the calls plugin.

use std::path::PathBuf;
use std::time::Duration;

use zulip_calls_protocol::endpoint::{API_PREFIX, Endpoint, request_path};
use zulip_calls_protocol::envelope::{DecodeError, decode_response};
use zulip_calls_protocol::{ApiError, CallId, Dialect, ErrorCode, Success, Verb};

/// Where the server is and how to trust it (zuliprc `site`, `insecure`, `cert_bundle`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    /// The server's base URL, without a trailing slash (`https://chat.example.com`).
    pub site: url::Url,
    /// Accept any TLS certificate (zuliprc `insecure = true`): for test servers only.
    pub insecure: bool,
    /// Extra CA certificates (PEM) to trust.
    pub cert_bundle: Option<PathBuf>,
}

impl ServerAddress {
    /// A server at `site` (scheme added when missing: `https://`, or `http://` for localhost).
    pub fn parse(site: &str) -> Result<Self, ClientError> {
        let trimmed = site.trim();
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else if trimmed.starts_with("localhost") || trimmed.starts_with("127.") {
            format!("http://{trimmed}")
        } else {
            format!("https://{trimmed}")
        };
        let url = url::Url::parse(&with_scheme).map_err(|e| ClientError::InvalidSite {
            site: site.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(ClientError::InvalidSite {
                site: site.to_owned(),
                reason: "expected an http:// or https:// URL".to_owned(),
            });
        }
        Ok(ServerAddress {
            site: url,
            insecure: false,
            cert_bundle: None,
        })
    }

    /// The site as text, without a trailing slash.
    pub fn site_str(&self) -> String {
        self.site.as_str().trim_end_matches('/').to_owned()
    }
}

/// An account on a server: the address plus `email:api_key`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub server: ServerAddress,
    pub email: String,
    pub api_key: String,
}

impl std::fmt::Debug for Credentials {
    /// The API key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// Why a request did not produce the endpoint's response.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a Zulip error.
    #[error("{}", .0.text())]
    Api(Box<ApiError>),
    /// Nothing answered at the address.
    #[error("cannot reach {site}: {reason}")]
    Unreachable { site: String, reason: String },
    /// The TLS handshake failed (untrusted or invalid certificate), over HTTP or the event
    /// WebSocket alike.
    #[error(
        "TLS error talking to {site}: {reason} (trust its certificate with cert_bundle=PATH in the zuliprc or --cert-bundle PATH, or, for a test server only, accept any with insecure=true or --insecure)"
    )]
    Tls { site: String, reason: String },
    /// The server took too long.
    #[error("{site} did not answer in time")]
    Timeout { site: String },
    /// The answer is not the contract's (a proxy's error page, say).
    #[error("unexpected answer from {site}: {reason}")]
    Malformed { site: String, reason: String },
    /// The site is not a usable URL.
    #[error("invalid server URL {site:?}: {reason}")]
    InvalidSite { site: String, reason: String },
    /// A zuliprc's `cert_bundle` could not be read or parsed.
    #[error("cannot use the certificate bundle {}: {reason}", path.display())]
    CertBundle { path: PathBuf, reason: String },
    /// A 404 that names no call or user: the server has no such route.
    #[error("{site} has no API endpoint {path}")]
    NoEndpoint { site: String, path: String },
    /// A route the client's calls API dialect needs is missing: the server speaks the other one.
    #[error(
        "{site} answers 404 to {path}: it does not speak the {dialect} calls API (use --calls-api auto, or calls_api = auto in the zuliprc, to detect it)"
    )]
    WrongDialect {
        site: String,
        path: String,
        dialect: Dialect,
    },
    /// Neither dialect's calls API is there (404 on `calls/history` and `calls/active`).
    #[error(
        "{site} has no calls plugin: it answers 404 to calls/history and calls/active, so it cannot place or take calls"
    )]
    NoCallsPlugin { site: String },
    /// The server has no group calls: it answers 404 to `calls/group/...` (it speaks only the
    /// design calls API, or is a plugin older than group calls).
    #[error("this server ({site}) has no group calls")]
    NoGroupCalls { site: String },
    /// The server refused to place a call right now (HTTP 429): the released plugin does so
    /// for 5 s after one of the caller's calls ended, and any server may when calls are
    /// placed too fast. Waiting a moment and trying again works.
    #[error(
        "the server asks to wait a moment before placing another call (try again in {})",
        wait_text(*retry_after)
    )]
    Cooldown {
        /// How long the server asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The server's calls API has no way to do this.
    #[error("{what} is not supported by this server (calls API {dialect})")]
    Unsupported {
        what: &'static str,
        dialect: Dialect,
    },
}

impl ClientError {
    /// The Zulip error code, when the server answered with one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            ClientError::Api(err) => Some(&err.code),
            _ => None,
        }
    }

    /// The callee's own call to me that a placing was refused for (`CALLER_BUSY` with
    /// `calling_you`): we called each other at once, and accepting it joins us.
    pub fn calling_you(&self) -> Option<CallId> {
        match self {
            ClientError::Api(err)
                if err.code == ErrorCode::CallerBusy && err.calling_you == Some(true) =>
            {
                err.existing_call_id
            }
            _ => None,
        }
    }

    /// The server's error body, when there is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            ClientError::Api(err) => Some(err),
            _ => None,
        }
    }

    /// A network-level failure worth retrying (not an answer from the server).
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } | ClientError::Timeout { .. } => true,
            ClientError::Api(err) => {
                err.code == ErrorCode::RateLimitHit || err.http_status().is_server_error()
            }
            ClientError::Malformed { .. } => true,
            _ => false,
        }
    }
}

/// "5 s", or "a few seconds" when the server did not say.
fn wait_text(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!("{} s", wait.as_secs_f64().ceil().max(1.0)),
        None => "a few seconds".to_owned(),
    }
}

impl ClientError {
    /// A refusal to place a call right now as [`ClientError::Cooldown`]; anything else as it
    /// is.
    pub fn into_cooldown(self) -> ClientError {
        match self {
            ClientError::Api(err) if err.code == ErrorCode::RateLimitHit => ClientError::Cooldown {
                retry_after: err
                    .retry_after
                    .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok()),
            },
            other => other,
        }
    }
}

/// How long one ordinary request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP client of one server (and, when signed in, one account).
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    /// The event WebSocket's TLS settings, from the same trust settings as `http`'s.
    websocket_tls: std::sync::Arc<rustls::ClientConfig>,
    server: ServerAddress,
    auth: Option<(String, String)>,
}

impl ApiClient {
    /// A client for `server` without credentials (`server_settings`, `fetch_api_key`).
    pub fn anonymous(server: ServerAddress) -> Result<Self, ClientError> {
        Ok(ApiClient {
            http: build_http(&server)?,
            websocket_tls: websocket_tls_for(&server)?,
            server,
            auth: None,
        })
    }

    /// A client signed in as `credentials`.
    pub fn new(credentials: &Credentials) -> Result<Self, ClientError> {
        Ok(ApiClient {
            http: build_http(&credentials.server)?,
            websocket_tls: websocket_tls_for(&credentials.server)?,
            server: credentials.server.clone(),
            auth: Some((credentials.email.clone(), credentials.api_key.clone())),
        })
    }

    /// The server this client talks to.
    pub fn server(&self) -> &ServerAddress {
        &self.server
    }

    /// The signed-in email and key, if any.
    pub fn auth(&self) -> Option<(&str, &str)> {
        self.auth.as_ref().map(|(e, k)| (e.as_str(), k.as_str()))
    }

    /// The TLS settings for the event WebSocket.
    pub fn websocket_tls(&self) -> std::sync::Arc<rustls::ClientConfig> {
        std::sync::Arc::clone(&self.websocket_tls)
    }

    /// The underlying HTTP client (for the event stream's long-polls).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends a request to endpoint `E` and reads its response.
    pub async fn request<E: Endpoint>(
        &self,
        path: &E::Path,
        request: &E::Request,
    ) -> Result<E::Response, ClientError> {
        self.request_with_timeout::<E>(path, request, REQUEST_TIMEOUT)
            .await
    }

    /// [`ApiClient::request`] with an explicit timeout (long-polls wait longer).
    pub async fn request_with_timeout<E: Endpoint>(
        &self,
        path: &E::Path,
        request: &E::Request,
        timeout: Duration,
    ) -> Result<E::Response, ClientError> {
        let url = format!("{}{}", self.server.site_str(), request_path::<E>(path));
        let mut builder = self
            .http
            .request(E::METHOD.to_http(), &url)
            .timeout(timeout);
        builder = match E::METHOD {
            Verb::Get | Verb::Delete => builder.query(request),
            // The real plugin parses only form bodies (spec §1).
            Verb::Post | Verb::Patch => builder.form(request),
        };
        if let Some((email, key)) = &self.auth {
            builder = builder.basic_auth(email, Some(key));
        }
        let site = self.server.site_str();
        tracing::debug!(endpoint = E::NAME, "request");
        let response = builder.send().await.map_err(|e| classify(&site, &e))?;
        let status = response.status().as_u16();
        let retry_after = retry_after_header(response.headers());
        let body = response.bytes().await.map_err(|e| classify(&site, &e))?;
        match decode_response::<Success<E::Response>>(status, &body) {
            Ok(success) => Ok(success.body),
            Err(DecodeError::Api(mut err)) => {
                if err.retry_after.is_none() {
                    err.retry_after = retry_after;
                }
                Err(api_error(site, request_path::<E>(path), status, &body, err))
            }
            // A 404 page that is not an API answer (a web server's or proxy's "Not Found"):
            // the route is not there.
            Err(DecodeError::Malformed { .. }) if status == 404 => Err(ClientError::NoEndpoint {
                site,
                path: request_path::<E>(path),
            }),
            Err(DecodeError::Malformed { reason, .. }) => Err(ClientError::Malformed {
                site,
                reason: format!("HTTP {status}: {reason}"),
            }),
        }
    }

    /// `GET <path>` below `/api/v1/` with `query`, answered with the HTTP status and the body as
    /// JSON whatever the status: for probing what a server serves. Only a failure to get a
    /// JSON answer at all is an error.
    pub async fn get_json(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<(u16, serde_json::Value), ClientError> {
        let url = format!("{}{API_PREFIX}{path}", self.server.site_str());
        let mut builder = self.http.get(&url).query(query).timeout(REQUEST_TIMEOUT);
        if let Some((email, key)) = &self.auth {
            builder = builder.basic_auth(email, Some(key));
        }
        let site = self.server.site_str();
        tracing::debug!(path, "probe");
        let response = builder.send().await.map_err(|e| classify(&site, &e))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| classify(&site, &e))?;
        let value = serde_json::from_slice(&body).map_err(|e| ClientError::Malformed {
            site,
            reason: format!("HTTP {status}: not JSON ({e})"),
        })?;
        Ok((status, value))
    }
}

/// The seconds of a `Retry-After` header (the delay form; an HTTP date is not used by any
/// server this client talks to, and reads as absent).
fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<f64> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
}

/// The event WebSocket's TLS settings for `server`, trusting what its HTTP requests trust.
fn websocket_tls_for(
    server: &ServerAddress,
) -> Result<std::sync::Arc<rustls::ClientConfig>, ClientError> {
    super::tls::websocket_tls(server.insecure, server.cert_bundle.as_deref()).map_err(|err| {
        match err {
            super::tls::TlsSetupError::Protocol(reason) => ClientError::Tls {
                site: server.site_str(),
                reason,
            },
            super::tls::TlsSetupError::Bundle { path, reason } => {
                ClientError::CertBundle { path, reason }
            }
        }
    })
}

/// The error an error answer stands for. The text is `msg`, else `message` (older plugins
/// send only that); a body without `code` (the released plugin's) gets the code its HTTP
/// status means; a 404 that names no call or user says the route itself is missing.
fn api_error(
    site: String,
    path: String,
    status: u16,
    body: &[u8],
    mut err: Box<ApiError>,
) -> ClientError {
    let has_code = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .is_some_and(|value| value.get("code").is_some());
    if !has_code {
        err.code = code_for_status(status, &err);
    }
    if status == 404 && !matches!(err.code, ErrorCode::CallNotFound | ErrorCode::UserNotFound) {
        return ClientError::NoEndpoint { site, path };
    }
    ClientError::Api(err)
}

/// The contract's code for an error answer without one, from its HTTP status (and, for a
/// 409, the fields that tell a busy caller or callee from a call in the wrong state).
pub(crate) fn code_for_status(status: u16, err: &ApiError) -> ErrorCode {
    match status {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::NotAParticipant,
        404 => ErrorCode::CallNotFound,
        409 if err.call_status.is_some() => ErrorCode::InvalidCallState,
        409 if err.existing_call_id.is_some() => ErrorCode::CallerBusy,
        409 => ErrorCode::UserBusy,
        413 => ErrorCode::PayloadTooLarge,
        429 => ErrorCode::RateLimitHit,
        400 => ErrorCode::BadRequest,
        other => ErrorCode::Other(format!("HTTP_{other}")),
    }
}

fn build_http(server: &ServerAddress) -> Result<reqwest::Client, ClientError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("zulip-calls/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10));
    if server.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if let Some(path) = &server.cert_bundle {
        let bad = |reason: String| ClientError::CertBundle {
            path: path.clone(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| ClientError::Unreachable {
        site: server.site_str(),
        reason: e.to_string(),
    })
}

/// Turns a transport error into one clear line.
fn classify(site: &str, err: &reqwest::Error) -> ClientError {
    let site = site.to_owned();
    if err.is_timeout() {
        return ClientError::Timeout { site };
    }
    let chain = error_chain(err);
    let lower = chain.to_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        return ClientError::Tls {
            site,
            reason: innermost(err),
        };
    }
    ClientError::Unreachable {
        site,
        reason: innermost(err),
    }
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// The most specific cause (e.g. "Connection refused (os error 111)").
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(inner) = current.source() {
        current = inner;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_get_a_scheme_and_lose_the_trailing_slash() {
        assert_eq!(
            ServerAddress::parse("chat.example.com/")
                .unwrap()
                .site_str(),
            "https://chat.example.com"
        );
        assert_eq!(
            ServerAddress::parse("localhost:9991").unwrap().site_str(),
            "http://localhost:9991"
        );
        assert_eq!(
            ServerAddress::parse("http://127.0.0.1:9991")
                .unwrap()
                .site_str(),
            "http://127.0.0.1:9991"
        );
        assert!(ServerAddress::parse("ftp://x").is_err());
        assert!(ServerAddress::parse("http://").is_err());
    }

    fn error_from(status: u16, body: &str) -> ClientError {
        let Err(DecodeError::Api(err)) =
            decode_response::<Success<serde_json::Value>>(status, body.as_bytes())
        else {
            panic!("not an error: {body}");
        };
        api_error(
            "https://chat.example.com".into(),
            "/api/v1/calls/x".into(),
            status,
            body.as_bytes(),
            err,
        )
    }

    #[test]
    fn a_busy_caller_whose_callee_is_calling_them_is_told_apart() {
        let id = "00000000-0000-4000-8000-000000000002";
        let crossed = error_from(
            409,
            &format!(
                r#"{{"result": "error", "code": "CALLER_BUSY", "msg": "They are calling you",
                "existing_call_id": "{id}", "calling_you": true}}"#
            ),
        );
        assert_eq!(
            crossed.calling_you().map(|c| c.to_string()),
            Some(id.to_owned())
        );
        // The plain refusal (my own call is active) and an older server's body are not.
        let mine = error_from(
            409,
            &format!(
                r#"{{"result": "error", "code": "CALLER_BUSY", "msg": "Busy",
                "existing_call_id": "{id}"}}"#
            ),
        );
        assert_eq!(mine.calling_you(), None);
        let plugin = error_from(
            409,
            &format!(
                r#"{{"result": "error", "message": "Busy", "existing_call_id": "{id}", "calling_you": true}}"#
            ),
        );
        assert_eq!(
            plugin.calling_you().map(|c| c.to_string()),
            Some(id.to_owned())
        );
    }

    #[test]
    fn errors_without_a_code_are_read_by_their_status() {
        let cases = [
            (401, ErrorCode::Unauthorized),
            (403, ErrorCode::NotAParticipant),
            (404, ErrorCode::CallNotFound),
            (409, ErrorCode::UserBusy),
            (429, ErrorCode::RateLimitHit),
            (400, ErrorCode::BadRequest),
            (502, ErrorCode::Other("HTTP_502".into())),
        ];
        for (status, code) in cases {
            let err = error_from(status, r#"{"result": "error", "message": "Nope"}"#);
            assert_eq!(err.code(), Some(&code), "{status}");
            assert_eq!(err.to_string(), "Nope");
        }
        let busy = error_from(
            409,
            r#"{"result": "error", "message": "You are already in a call",
                "existing_call_id": "7f1e5a52-3c9b-4d2e-8f6a-9b0c1d2e3f40"}"#,
        );
        assert_eq!(busy.code(), Some(&ErrorCode::CallerBusy));
        let state = error_from(
            409,
            r#"{"result": "error", "message": "No", "call_status": "accepted"}"#,
        );
        assert_eq!(state.code(), Some(&ErrorCode::InvalidCallState));
        // A code that is there is kept, whatever the status.
        let kept = error_from(
            400,
            r#"{"result": "error", "msg": "Busy", "code": "USER_BUSY"}"#,
        );
        assert_eq!(kept.code(), Some(&ErrorCode::UserBusy));
    }

    #[test]
    fn a_429_on_placing_a_call_is_a_cooldown() {
        // The released plugin's: only `message` and the call that just ended.
        let plugin = error_from(
            429,
            r#"{"result": "error", "message": "Please wait a moment before making another call",
                "existing_call_id": "7f1e5a52-3c9b-4d2e-8f6a-9b0c1d2e3f40"}"#,
        )
        .into_cooldown();
        assert!(
            matches!(plugin, ClientError::Cooldown { retry_after: None }),
            "{plugin:?}"
        );
        assert_eq!(
            plugin.to_string(),
            "the server asks to wait a moment before placing another call (try again in a few \
             seconds)"
        );
        // The contract's, with the seconds to wait.
        let contract = error_from(
            429,
            r#"{"result": "error", "msg": "Please wait a moment before making another call",
                "code": "RATE_LIMIT_HIT", "retry-after": 2.5}"#,
        )
        .into_cooldown();
        assert!(
            matches!(contract, ClientError::Cooldown { retry_after: Some(wait) } if wait == Duration::from_millis(2500)),
            "{contract:?}"
        );
        assert!(
            contract.to_string().ends_with("(try again in 3 s)"),
            "{contract}"
        );
        assert!(!contract.to_string().contains("rate"), "{contract}");
        // Other refusals stay what they are.
        let busy = error_from(409, r#"{"result": "error", "message": "Busy"}"#).into_cooldown();
        assert_eq!(busy.code(), Some(&ErrorCode::UserBusy));
    }

    #[test]
    fn retry_after_headers_are_read_in_seconds() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after_header(&headers), None);
        headers.insert(reqwest::header::RETRY_AFTER, "5".parse().unwrap());
        assert_eq!(retry_after_header(&headers), Some(5.0));
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after_header(&headers), None);
        headers.insert(reqwest::header::RETRY_AFTER, "-1".parse().unwrap());
        assert_eq!(retry_after_header(&headers), None);
    }

    #[test]
    fn a_404_naming_no_call_or_user_is_a_missing_route() {
        let route = error_from(
            404,
            r#"{"result": "error", "msg": "Not Found", "code": "NOT_FOUND"}"#,
        );
        assert!(
            matches!(&route, ClientError::NoEndpoint { path, .. } if path == "/api/v1/calls/x"),
            "{route:?}"
        );
        let call = error_from(
            404,
            r#"{"result": "error", "msg": "Call not found", "code": "CALL_NOT_FOUND"}"#,
        );
        assert_eq!(call.code(), Some(&ErrorCode::CallNotFound));
    }

    /// A web server's own "Not Found" page (HTML, no API answer) is a missing route too, as
    /// the released plugin's servers answer for Zulip endpoints they lack.
    #[tokio::test]
    async fn an_html_404_page_is_a_missing_route() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0; 4096];
            let _ = socket.read(&mut request).await;
            let page = "<!doctype html><title>Not Found</title>";
            let answer = format!(
                "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{page}",
                page.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
        });
        let api = ApiClient::new(&Credentials {
            server: ServerAddress::parse(&format!("http://{address}")).unwrap(),
            email: "iago@zulip.com".into(),
            api_key: "0123456789abcdef".into(),
        })
        .unwrap();
        let err = api
            .request::<zulip_calls_protocol::zulip::UpdateStatus>(
                &(),
                &zulip_calls_protocol::zulip::UpdateStatusRequest::default(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ClientError::NoEndpoint { path, .. } if path == "/api/v1/users/me/status"),
            "{err:?}"
        );
    }

    #[test]
    fn credentials_hide_the_key_in_debug_output() {
        let creds = Credentials {
            server: ServerAddress::parse("localhost:9991").unwrap(),
            email: "iago@zulip.com".into(),
            api_key: "secretsecretsecret".into(),
        };
        assert!(!format!("{creds:?}").contains("secret"));
    }
}
