//! `cargo run -p monitoring` writes the dashboard and rules; `-- --check` only reports
//! which committed files are stale.

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = monitoring::repo();
    let mut stale = Vec::new();
    for (path, content) in monitoring::files() {
        let target = root.join(path);
        if std::fs::read_to_string(&target).ok().as_deref() == Some(content.as_str()) {
            continue;
        }
        if check {
            stale.push(path);
            continue;
        }
        if let Some(dir) = target.parent()
            && let Err(err) = std::fs::create_dir_all(dir)
        {
            eprintln!("cannot create {}: {err}", dir.display());
            return ExitCode::FAILURE;
        }
        if let Err(err) = std::fs::write(&target, content) {
            eprintln!("cannot write {path}: {err}");
            return ExitCode::FAILURE;
        }
        println!("wrote {path}");
    }
    if stale.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("stale: {}; run `make generate`", stale.join(", "));
        ExitCode::FAILURE
    }
}
