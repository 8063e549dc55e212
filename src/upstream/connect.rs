//! Connecting to the upstream Bolt server over TCP or TLS.

use crate::config::Upstream;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A byte stream boltward can proxy: TCP or TLS, either side.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// A boxed [`Stream`].
pub type BoxStream = Box<dyn Stream>;

/// The upstream could not be reached.
#[derive(Debug, Error)]
pub enum ConnectError {
    /// TCP connect failed.
    #[error("cannot connect to upstream {addr}: {source}")]
    Tcp {
        /// Address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// TCP connect took too long.
    #[error("connecting to upstream {addr} timed out after {timeout:?}")]
    Timeout {
        /// Address.
        addr: String,
        /// Timeout.
        timeout: Duration,
    },
    /// TLS handshake failed.
    #[error("TLS handshake with upstream {addr} failed: {source} (check upstream.tls.ca and server_name)")]
    Tls {
        /// Address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The configured server name is not a valid DNS name or IP.
    #[error("upstream.tls.server_name {0:?} is not a valid DNS name or IP address")]
    ServerName(String),
}

/// How to reach the upstream: address, timeout, optional TLS.
#[derive(Clone)]
pub struct Connector {
    addr: String,
    timeout: Duration,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
}

impl Connector {
    /// A connector for `[upstream]`, with the TLS config built by the caller when enabled.
    pub fn new(upstream: &Upstream, tls: Option<Arc<ClientConfig>>) -> Result<Self, ConnectError> {
        let tls = match tls {
            Some(cfg) => {
                let name = upstream.tls.server_name.clone().unwrap_or_else(|| {
                    let host = upstream
                        .addr
                        .rsplit_once(':')
                        .map_or(upstream.addr.as_str(), |(h, _)| h);
                    host.trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_owned()
                });
                let server_name = ServerName::try_from(name.clone())
                    .map_err(|_| ConnectError::ServerName(name))?;
                Some((cfg, server_name))
            }
            None => None,
        };
        Ok(Connector {
            addr: upstream.addr.clone(),
            timeout: Duration::from_millis(upstream.connect_timeout_ms),
            tls,
        })
    }

    /// A plain-TCP connector to `addr`.
    pub fn plain(addr: impl Into<String>, timeout: Duration) -> Self {
        Connector {
            addr: addr.into(),
            timeout,
            tls: None,
        }
    }

    /// The upstream address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Opens one connection.
    pub async fn connect(&self) -> Result<BoxStream, ConnectError> {
        let tcp = tokio::time::timeout(self.timeout, TcpStream::connect(&self.addr))
            .await
            .map_err(|_| ConnectError::Timeout {
                addr: self.addr.clone(),
                timeout: self.timeout,
            })?
            .map_err(|source| ConnectError::Tcp {
                addr: self.addr.clone(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some((cfg, name)) => {
                let tls = TlsConnector::from(cfg.clone())
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|source| ConnectError::Tls {
                        addr: self.addr.clone(),
                        source,
                    })?;
                Ok(Box::new(tls))
            }
        }
    }
}
