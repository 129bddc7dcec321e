//! Free loopback ports, never handed out twice within one process.

use std::{
    collections::HashSet,
    net::{Ipv4Addr, TcpListener},
    sync::{Mutex, OnceLock},
};

use crate::error::{Error, Result};

fn issued() -> &'static Mutex<HashSet<u16>> {
    static ISSUED: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    ISSUED.get_or_init(Default::default)
}

/// Asks the kernel for a free port on 127.0.0.1 that this process has not
/// handed out before. Another process may still grab it before it is bound,
/// so callers retry start-up when a component exits early.
pub(crate) fn free_port() -> Result<u16> {
    for _ in 0..64 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(Error::AllocatePort)?;
        let port = listener.local_addr().map_err(Error::AllocatePort)?.port();
        let mut issued = issued()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if issued.insert(port) {
            return Ok(port);
        }
    }
    Err(Error::AllocatePort(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "no unused port after 64 attempts",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_unique_within_a_process() {
        let ports: Vec<u16> = (0..50).map(|_| free_port().expect("port")).collect();
        let unique: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(unique.len(), ports.len());
    }
}
