//! HTTPS (and WSS, on the same listener) for `serve --tls`: the certificate, either the
//! user's PEM files or one generated on first start and kept for later ones, and a listener
//! that hands axum connections whose TLS handshake is done.
//!
//! The generated pair is a small CA and a server certificate it signed for `localhost`,
//! `127.0.0.1`, `::1` and the bind address. The CA's key is thrown away once the server
//! certificate is signed, so trusting `ca.pem` trusts this one server and nothing else anyone
//! could mint later.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The generated CA certificate: what clients name as their `cert_bundle`.
pub const CA_FILE: &str = "ca.pem";
/// The generated server certificate.
pub const CERT_FILE: &str = "cert.pem";
/// The generated server certificate's private key (readable by its owner only).
pub const KEY_FILE: &str = "key.pem";

/// A client that connects and says nothing holds no connection slot for longer than this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// Generated into `dir` on first start ([`CA_FILE`], [`CERT_FILE`], [`KEY_FILE`]) and
    /// reused on later starts.
    Generated { dir: PathBuf },
    /// The user's PEM files: the certificate chain (server certificate first) and its key.
    Files { cert: PathBuf, key: PathBuf },
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not usable: {reason}", path.display())]
    Pem { path: PathBuf, reason: String },
    #[error("cannot generate a TLS certificate: {0}")]
    Generate(String),
    #[error("the TLS certificate and key do not fit together: {0}")]
    Config(String),
}

/// What the start banner says about the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// The server certificate's SHA-256, as colon-separated hex pairs.
    pub fingerprint: String,
    /// The certificate clients should trust: the generated CA, or the given certificate file.
    pub ca_path: PathBuf,
}

/// A server's TLS setup, ready to accept connections.
#[derive(Clone)]
pub struct Tls {
    pub acceptor: TlsAcceptor,
    pub info: TlsInfo,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("info", &self.info).finish()
    }
}

/// Loads (or, for [`TlsSource::Generated`], first creates) the certificate and key.
pub fn load(source: &TlsSource, bind: SocketAddr) -> Result<Tls, TlsError> {
    let (cert_path, key_path, ca_path) = match source {
        TlsSource::Generated { dir } => {
            let paths = (dir.join(CERT_FILE), dir.join(KEY_FILE), dir.join(CA_FILE));
            if !(paths.0.exists() && paths.1.exists() && paths.2.exists()) {
                generate(dir, bind.ip())?;
            }
            paths
        }
        TlsSource::Files { cert, key } => (cert.clone(), key.clone(), cert.clone()),
    };
    let bad = |path: &Path, reason: String| TlsError::Pem {
        path: path.to_owned(),
        reason,
    };
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let cert_pem = read(&cert_path)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&cert_path, e.to_string()))?;
    let Some(leaf) = chain.first() else {
        return Err(bad(&cert_path, "no PEM certificate in it".to_owned()));
    };
    let fingerprint = fingerprint(leaf);
    let key = PrivateKeyDer::from_pem_slice(&read(&key_path)?)
        .map_err(|e| bad(&key_path, format!("no PEM private key in it ({e})")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    // The WebSocket upgrade is an HTTP/1.1 affair, and the server speaks nothing newer.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        info: TlsInfo {
            fingerprint,
            ca_path,
        },
    })
}

/// Writes a new CA and server certificate (with its key) into `dir`, replacing any there.
pub fn generate(dir: &Path, bind_ip: IpAddr) -> Result<(), TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let failed = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let ca_key = KeyPair::generate().map_err(failed)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca.distinguished_name
        .push(DnType::CommonName, "zulip-calls-mock local CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).map_err(failed)?;
    let issuer = Issuer::new(ca, ca_key);

    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if !bind_ip.is_unspecified() && !bind_ip.is_loopback() {
        names.push(bind_ip.to_string());
    }
    let mut server = CertificateParams::new(names).map_err(failed)?;
    server
        .distinguished_name
        .push(DnType::CommonName, "zulip-calls-mock");
    server.use_authority_key_identifier_extension = true;
    server.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().map_err(failed)?;
    let cert = server.signed_by(&key, &issuer).map_err(failed)?;

    std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_owned(),
        source,
    })?;
    // The key first, and the CA last: a half-written set is regenerated on the next start.
    write_private(&dir.join(KEY_FILE), key.serialize_pem().as_bytes())?;
    write(&dir.join(CERT_FILE), cert.pem().as_bytes())?;
    write(&dir.join(CA_FILE), ca_cert.pem().as_bytes())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    std::fs::write(path, bytes).map_err(|source| TlsError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Writes a file only its owner can read, from the start.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write as _;
    let failed = |source| TlsError::Write {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(failed)?;
    file.write_all(bytes).map_err(failed)
}

/// A certificate's SHA-256 as `AB:CD:…`, the way browsers and `openssl x509 -fingerprint` show
/// it, so the banner's value can be compared with theirs.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

type Handshake = Pin<Box<dyn Future<Output = Option<(TlsStream<TcpStream>, SocketAddr)>> + Send>>;

/// A TCP listener whose connections come out with their TLS handshake done. Handshakes run
/// side by side while `accept` waits, so a slow or silent client holds up no one else.
pub(crate) struct TlsListener<L> {
    tcp: L,
    acceptor: TlsAcceptor,
    handshakes: FuturesUnordered<Handshake>,
}

impl<L> TlsListener<L> {
    pub(crate) fn new(tcp: L, acceptor: TlsAcceptor) -> Self {
        TlsListener {
            tcp,
            acceptor,
            handshakes: FuturesUnordered::new(),
        }
    }
}

impl<L> Listener for TlsListener<L>
where
    L: Listener<Io = TcpStream, Addr = SocketAddr>,
{
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                (tcp, addr) = self.tcp.accept() => {
                    // As for plain HTTP: events are small writes that must not wait.
                    if let Err(err) = tcp.set_nodelay(true) {
                        tracing::debug!(error = %err, "cannot set TCP_NODELAY");
                    }
                    let acceptor = self.acceptor.clone();
                    self.handshakes.push(Box::pin(async move {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => Some((tls, addr)),
                            Ok(Err(err)) => {
                                tracing::debug!(%addr, error = %err, "TLS handshake failed");
                                None
                            }
                            Err(_) => {
                                tracing::debug!(%addr, "TLS handshake timed out");
                                None
                            }
                        }
                    }));
                }
                Some(done) = self.handshakes.next(), if !self.handshakes.is_empty() => {
                    if let Some(connection) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let source = TlsSource::Generated {
            dir: dir.path().join("tls"),
        };
        let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let first = load(&source, bind).unwrap().info;
        assert_eq!(first.ca_path, dir.path().join("tls").join(CA_FILE));
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        assert_eq!(load(&source, bind).unwrap().info, first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("tls").join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
    }

    #[test]
    fn unusable_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "not a certificate").unwrap();
        let source = TlsSource::Files {
            cert: cert.clone(),
            key: dir.path().join("missing.pem"),
        };
        let err = load(&source, "127.0.0.1:0".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("cert.pem"), "{err}");
    }
}
