//! Child processes whose output goes to a log file and which die with their
//! handle, including when a test panics.

use std::{
    fs::OpenOptions,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{Signal, killpg},
    unistd::Pid,
};

use crate::error::{Error, Result, io};

/// A running child process in its own process group, with stdout and stderr
/// appended to one log file. Dropping it kills the whole process group.
#[derive(Debug)]
pub struct ChildProcess {
    program: String,
    child: Child,
    log_path: PathBuf,
    status: Option<ExitStatus>,
}

impl ChildProcess {
    /// Spawns `command` in a new process group, with stdin closed and
    /// stdout/stderr appended to `log_path` (created if needed).
    pub fn spawn(mut command: Command, log_path: impl Into<PathBuf>) -> Result<Self> {
        let log_path = log_path.into();
        let program = command.get_program().to_string_lossy().into_owned();
        if let Some(parent) = log_path.parent() {
            std::fs::create_dir_all(parent).map_err(io("create directory", parent))?;
        }
        let stdout = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io("open log file", &log_path))?;
        let stderr = stdout.try_clone().map_err(io("open log file", &log_path))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .map_err(|source| Error::SpawnProcess {
                program: program.clone(),
                source,
            })?;
        tracing::debug!(program, pid = child.id(), log = %log_path.display(), "spawned child process");
        Ok(Self {
            program,
            child,
            log_path,
            status: None,
        })
    }

    /// The process id (also the process group id).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The file holding the process's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything the process has written so far (lossy UTF-8).
    pub fn read_log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.read_log(), lines)
    }

    /// The exit status if the process has exited, without blocking.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.exit_status().is_none()
    }

    /// Waits until the log contains `needle`. Fails if the process exits or
    /// `timeout` passes first.
    pub async fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.read_log().contains(needle) {
                return Ok(());
            }
            if let Some(status) = self.exit_status() {
                return Err(Error::ComponentExited {
                    component: "child process",
                    status: format!("{} {status}", self.program),
                    log_tail: self.log_tail(40),
                });
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("{:?} in the log of {}", needle, self.program),
                    seconds: timeout.as_secs(),
                    log_tail: self.log_tail(40),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGTERM to the process group and waits up to `grace` for the
    /// process to exit, then kills it. Returns the exit status.
    pub async fn terminate(&mut self, grace: Duration) -> Result<ExitStatus> {
        if let Some(status) = self.exit_status() {
            return Ok(status);
        }
        self.signal(Signal::SIGTERM)?;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.exit_status() {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.kill()
    }

    /// Kills the whole process group with SIGKILL and reaps the process.
    pub fn kill(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.exit_status() {
            return Ok(status);
        }
        self.signal(Signal::SIGKILL)?;
        let status = self.child.wait().map_err(|source| Error::SpawnProcess {
            program: self.program.clone(),
            source,
        })?;
        self.status = Some(status);
        Ok(status)
    }

    fn signal(&self, signal: Signal) -> Result<()> {
        let pid = self.child.id();
        let pgid = i32::try_from(pid).map_err(|_| Error::Signal {
            pid,
            source: nix::Error::EINVAL,
        })?;
        match killpg(Pid::from_raw(pgid), signal) {
            Ok(()) | Err(nix::Error::ESRCH) => Ok(()),
            Err(source) => Err(Error::Signal { pid, source }),
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if let Err(err) = self.kill() {
            tracing::warn!(program = self.program, error = %err, "failed to kill child process");
        }
    }
}

pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_is_captured_and_process_is_killed_on_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("sleeper.log");
        let mut command = Command::new("sh");
        command.args(["-c", "echo started; echo oops >&2; exec sleep 600"]);
        let mut child = ChildProcess::spawn(command, &log).expect("spawn");
        child
            .wait_for_log("oops", Duration::from_secs(10))
            .await
            .expect("log");
        assert!(child.read_log().contains("started"));
        let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
        drop(child);
        assert_eq!(nix::sys::signal::kill(pid, None), Err(nix::Error::ESRCH));
    }

    #[tokio::test]
    async fn terminate_reports_exit_status() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut command = Command::new("sh");
        command.args(["-c", "exec sleep 600"]);
        let mut child = ChildProcess::spawn(command, dir.path().join("c.log")).expect("spawn");
        assert!(child.is_running());
        let status = child
            .terminate(Duration::from_secs(5))
            .await
            .expect("terminate");
        assert!(!status.success());
        assert!(!child.is_running());
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
