//! TLS for grafana.com: rustls with the ring provider and the platform verifier.

use std::sync::Arc;

use rustls_platform_verifier::BuilderVerifierExt;

use super::Error;

/// A rustls client configuration that uses ring explicitly, so the client
/// works whether or not a process-wide default provider has been installed.
pub(crate) fn client_config() -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map_err(|source| Error::ConfigureTls { source })?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
