//! The event WebSocket's TLS settings, built from the same zuliprc `insecure` and
//! `cert_bundle` (or `--insecure`, `--cert-bundle`) as the HTTP client's, so the two halves
//! trust the same servers and a WebSocket never has to be given up for a trust setting.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Why the WebSocket's TLS settings could not be made (the HTTP client names the site).
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("{0}")]
    Protocol(String),
    #[error("cannot use the certificate bundle {}: {reason}", path.display())]
    Bundle { path: PathBuf, reason: String },
}

/// The rustls configuration for WebSockets: the public (webpki) roots plus the `cert_bundle`'s
/// certificates, or, with `insecure`, any certificate at all.
pub fn websocket_tls(
    insecure: bool,
    cert_bundle: Option<&Path>,
) -> Result<Arc<rustls::ClientConfig>, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Protocol(e.to_string()))?;
    let config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = cert_bundle {
            let bad = |reason: String| TlsSetupError::Bundle {
                path: path.to_owned(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
            let mut found = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| bad(e.to_string()))?;
                roots.add(cert).map_err(|e| bad(e.to_string()))?;
                found += 1;
            }
            if found == 0 {
                return Err(bad("no PEM certificate in it".to_owned()));
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// `insecure = true`: any certificate for any name, as the HTTP client's
/// `danger_accept_invalid_certs`. The handshake's signatures are still checked, which costs
/// nothing and keeps the connection bound to the certificate it was shown.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS failure inside a WebSocket error, if that is what it is: a certificate the client
/// does not trust (or another handshake failure) that retrying will not fix.
pub fn tls_failure(err: &tokio_tungstenite::tungstenite::Error) -> Option<String> {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match err {
        WsError::Tls(tls) => Some(tls.to_string()),
        WsError::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .map(ToString::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_without_certificates_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.pem");
        std::fs::write(&path, "nothing here\n").unwrap();
        let err = websocket_tls(false, Some(&path)).unwrap_err();
        assert!(matches!(err, TlsSetupError::Bundle { .. }), "{err}");
        assert!(err.to_string().contains("bundle.pem"), "{err}");

        assert!(websocket_tls(false, None).is_ok());
        assert!(websocket_tls(true, None).is_ok());
    }

    #[test]
    fn only_tls_failures_are_picked_out() {
        use tokio_tungstenite::tungstenite::Error as WsError;
        let untrusted = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let reason = tls_failure(&WsError::Io(untrusted)).unwrap();
        assert!(reason.contains("UnknownIssuer"), "{reason}");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(tls_failure(&WsError::Io(refused)), None);
    }
}
