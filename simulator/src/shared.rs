//! State shared by the HTTP handlers and the in-process control handle.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::{config::Config, faults::Faults, record::Recorder, state::State};

#[derive(Debug)]
pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub faults: Mutex<Faults>,
    pub recorder: Mutex<Recorder>,
}

impl Shared {
    pub fn new(config: &Config) -> Self {
        Self {
            state: Mutex::new(State::new(config)),
            faults: Mutex::new(Faults::new(config.latency, config.jitter)),
            recorder: Mutex::new(Recorder::new(config.request_log_capacity)),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn recorder(&self) -> MutexGuard<'_, Recorder> {
        self.recorder.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
