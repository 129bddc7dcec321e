//! The operator's TCP connections, read from /proc: which peer, how many.

use super::Env;

impl Env {
    /// Established TCP connections from the running operator to the API server.
    pub fn operator_connections_to_api_server(&self) -> usize {
        let pid = self.operator.as_ref().expect("the operator runs").id();
        let port = self
            .cp
            .server_url()
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok())
            .expect("the API server URL ends in its port");
        let sockets: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .expect("the operator's open files")
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter_map(|target| {
                let target = target.to_string_lossy().into_owned();
                Some(
                    target
                        .strip_prefix("socket:[")?
                        .strip_suffix(']')?
                        .to_string(),
                )
            })
            .collect();
        ["tcp", "tcp6"]
            .iter()
            .filter_map(|table| std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).ok())
            .flat_map(|text| text.lines().skip(1).map(str::to_string).collect::<Vec<_>>())
            .filter(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let (Some(remote), Some(state), Some(inode)) =
                    (fields.get(2), fields.get(3), fields.get(9))
                else {
                    return false;
                };
                let remote_port = remote
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok());
                // 01: ESTABLISHED.
                remote_port == Some(port) && *state == "01" && sockets.iter().any(|s| s == inode)
            })
            .count()
    }
}
