//! Clean-up after test processes that died without running destructors
//! (for example killed by a CI timeout): their control-plane processes and
//! directories are removed when the next control plane starts.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use nix::{
    sys::signal::{Signal, killpg},
    unistd::Pid,
};

use crate::error::{Result, io};

/// Prefix of every control plane's scratch directory in the temp dir.
pub(crate) const ROOT_PREFIX: &str = "gco-testenv-";
/// Prefix of the logs directories (kept for debugging, never swept).
pub(crate) const LOGS_PREFIX: &str = "gco-testenv-logs-";
const OWNER_FILE: &str = "owner.pid";
const PIDS_FILE: &str = "components.pids";

/// Records the current process as the owner of the control plane in `root`.
pub(crate) fn record_owner(root: &Path) -> Result<()> {
    let path = root.join(OWNER_FILE);
    std::fs::write(&path, std::process::id().to_string()).map_err(io("write", &path))
}

/// Records a component's process (group) id.
pub(crate) fn record_component(root: &Path, pid: u32) -> Result<()> {
    let path = root.join(PIDS_FILE);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io("open", &path))?;
    writeln!(file, "{pid}").map_err(io("write", &path))
}

/// Kills the components of control planes whose owning process is gone and
/// removes their directories. Best effort: errors are logged and ignored.
pub(crate) fn sweep_stale(temp_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(temp_dir) else {
        return;
    };
    for root in entries.flatten().map(|entry| entry.path()) {
        let Some(name) = root.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !name.starts_with(ROOT_PREFIX) || name.starts_with(LOGS_PREFIX) {
            continue;
        }
        let Some(owner) = read_pids(&root.join(OWNER_FILE)).first().copied() else {
            continue;
        };
        if Path::new(&format!("/proc/{owner}")).exists() {
            continue;
        }
        sweep(&root);
    }
}

fn sweep(root: &Path) {
    let marker = root.to_string_lossy().into_owned();
    for pid in read_pids(&root.join(PIDS_FILE)) {
        // Only signal a process that still belongs to this control plane:
        // its command line names the directory.
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains(&marker) {
            continue;
        }
        if let Ok(pid) = i32::try_from(pid)
            && let Err(err) = killpg(Pid::from_raw(pid), Signal::SIGKILL)
        {
            tracing::warn!(pid, error = %err, "failed to kill stale control-plane process");
        }
    }
    match std::fs::remove_dir_all(root) {
        Ok(()) => tracing::info!(dir = %root.display(), "removed stale control plane"),
        Err(err) => {
            tracing::warn!(dir = %root.display(), error = %err, "failed to remove stale control plane")
        }
    }
}

fn read_pids(path: &PathBuf) -> Vec<u32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::{os::unix::process::CommandExt, process::Command, time::Duration};

    use super::*;

    #[test]
    fn sweeps_control_planes_of_dead_owners_only() {
        let temp = tempfile::tempdir().expect("tempdir");
        let stale = temp.path().join(format!("{ROOT_PREFIX}stale"));
        let live = temp.path().join(format!("{ROOT_PREFIX}live"));
        let logs = temp.path().join(format!("{LOGS_PREFIX}kept"));
        for dir in [&stale, &live, &logs] {
            std::fs::create_dir(dir).expect("mkdir");
        }
        // A dead owner: a process that has already exited and been reaped.
        let mut dead = Command::new("true").spawn().expect("spawn");
        let dead_pid = dead.id();
        dead.wait().expect("wait");
        std::fs::write(stale.join(OWNER_FILE), dead_pid.to_string()).expect("write");
        let mut orphan = Command::new("sh")
            .args(["-c", "sleep 600; true", stale.to_str().expect("utf-8")])
            .process_group(0)
            .spawn()
            .expect("spawn");
        record_component(&stale, orphan.id()).expect("record");
        record_owner(&live).expect("record");
        // `spawn` returns once the child has begun exec, which is before the
        // kernel publishes its new command line; a real component has been
        // running for a while when a sweep finds it.
        wait_until("orphan's command line names its directory", || {
            let cmdline =
                std::fs::read(format!("/proc/{}/cmdline", orphan.id())).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains(stale.to_str().expect("utf-8"))
        });

        sweep_stale(temp.path());

        assert!(!stale.exists(), "stale control plane not removed");
        assert!(live.exists(), "live control plane removed");
        assert!(logs.exists(), "logs removed");
        wait_until("orphan killed", || {
            orphan.try_wait().expect("try_wait").is_some()
        });
    }

    fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
