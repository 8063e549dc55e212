//! rustls configuration for both sides: the client-facing server config and the
//! upstream client config (system roots or a custom CA, optional client certificate).

use crate::config::{ListenTls, UpstreamTls};
use rustls::crypto::ring::default_provider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use thiserror::Error;

/// TLS material could not be loaded.
#[derive(Debug, Error)]
pub enum TlsError {
    /// A PEM file is missing or holds nothing usable.
    #[error("{what} {path}: {reason}")]
    Pem {
        /// "certificate", "key" or "CA".
        what: &'static str,
        /// File.
        path: String,
        /// Cause.
        reason: String,
    },
    /// rustls refused the material.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// No trusted roots at all.
    #[error("no trusted CA certificates: set upstream.tls.ca or install the system CA bundle")]
    NoRoots,
}

fn certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |reason: String| TlsError::Pem {
        what,
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no PEM certificate found".into()));
    }
    Ok(certs)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Pem {
        what: "key",
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// The client-facing server config (validated config guarantees cert and key are set).
pub fn server_config(tls: &ListenTls) -> Result<Arc<ServerConfig>, TlsError> {
    let (Some(cert), Some(k)) = (&tls.cert, &tls.key) else {
        return Err(TlsError::Pem {
            what: "certificate",
            path: String::new(),
            reason: "listen.tls.cert and listen.tls.key are required".into(),
        });
    };
    let provider = Arc::new(default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match &tls.client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in certs(ca, "CA")? {
                roots.add(c)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsError::Pem {
                    what: "CA",
                    path: ca.display().to_string(),
                    reason: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(certs(cert, "certificate")?, key(k)?)?;
    Ok(Arc::new(config))
}

/// The upstream client config.
pub fn client_config(tls: &UpstreamTls) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    match &tls.ca {
        Some(ca) => {
            for c in certs(ca, "CA")? {
                roots.add(c)?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    if roots.is_empty() {
        return Err(TlsError::NoRoots);
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match (&tls.client_cert, &tls.client_key) {
        (Some(c), Some(k)) => builder.with_client_auth_cert(certs(c, "certificate")?, key(k)?)?,
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}
