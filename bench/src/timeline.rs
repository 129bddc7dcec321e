//! `--timeline DIR`: every grafana.com call of a burst, one line each, with its time since
//! the burst started, so that where the time went can be read off rather than guessed.
//! The simulator logs each call; this writes the burst's calls as TSV.

use std::{fmt::Write as _, path::Path, time::Duration};

use crate::{BoxError, sim::Request};

/// Writes `DIR/<scenario>-run<N>-<phase>.tsv`: a header saying when the benchmark finished
/// creating its objects and when the phase converged, then `seconds org endpoint status` per
/// call, in arrival order.
pub fn write(
    dir: &Path,
    (scenario, run, phase): (&str, usize, &str),
    start: chrono::DateTime<chrono::Utc>,
    (applied, converged): (Duration, Duration),
    requests: &[Request],
) -> Result<(), BoxError> {
    std::fs::create_dir_all(dir)?;
    let mut out = format!(
        "# {scenario} run {run}, {phase}: the benchmark's creates done at {:.3} s, converged \
         at {:.3} s\nseconds\torg\tendpoint\tstatus\n",
        applied.as_secs_f64(),
        converged.as_secs_f64(),
    );
    for request in requests {
        let status = request.status.map_or("-".to_string(), |s| s.to_string());
        writeln!(
            out,
            "{:.3}\t{}\t{}\t{status}",
            request.seconds_since(start),
            request.org.as_deref().unwrap_or("-"),
            request.endpoint(),
        )?;
    }
    let path = dir.join(format!("{scenario}-run{run}-{phase}.tsv"));
    std::fs::write(&path, out)?;
    eprintln!("timeline: {}", path.display());
    Ok(())
}
