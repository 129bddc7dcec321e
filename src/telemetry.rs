//! Structured logging. The filter can be changed at runtime through the health server's
//! `PUT /log-level` endpoint, without a restart.

use tracing_subscriber::{
    EnvFilter, Registry, layer::SubscriberExt, reload, util::SubscriberInitExt,
};

use crate::cli::LogFormat;

/// Changes the active log filter.
#[derive(Clone)]
pub struct LogLevelHandle(reload::Handle<EnvFilter, Registry>);

impl LogLevelHandle {
    /// Replaces the filter, for example with `debug` or `info,kube=warn`.
    pub fn set(&self, filter: &str) -> Result<(), String> {
        let filter = EnvFilter::try_new(filter).map_err(|e| e.to_string())?;
        self.0.reload(filter).map_err(|e| e.to_string())
    }
}

/// Installs the global subscriber. Fails if the filter does not parse.
pub fn init(
    format: LogFormat,
    filter: &str,
) -> Result<LogLevelHandle, tracing_subscriber::filter::ParseError> {
    let (filter, handle) = reload::Layer::new(EnvFilter::try_new(filter)?);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .init(),
        LogFormat::Text => registry.with(tracing_subscriber::fmt::layer()).init(),
    }
    Ok(LogLevelHandle(handle))
}
