//! The Dockerfile: lint-clean, built with the locked release command CI also runs, and a
//! minimal non-root runtime stage.

use super::support::{root, run, tool};

/// The build command CI runs to prove the image's build step works (no Docker engine in CI).
pub const CARGO_BUILD: &str = "cargo build --release --locked --bin grafana-cloud-operator";

fn dockerfile() -> String {
    std::fs::read_to_string(root().join("Dockerfile")).unwrap()
}

#[test]
fn dockerfile_passes_hadolint() {
    let output = run(tool("hadolint").arg("Dockerfile"));
    assert!(
        output.success,
        "hadolint found problems:\n{}{}",
        output.stdout, output.stderr
    );
}

#[test]
fn dockerfile_builds_with_the_locked_release_command() {
    let text = dockerfile();
    assert!(
        text.contains(CARGO_BUILD),
        "the Dockerfile must build with `{CARGO_BUILD}`"
    );
}

#[test]
fn runtime_stage_is_distroless_non_root_without_a_shell() {
    let text = dockerfile();
    let runtime = text.rsplit_once("\nFROM ").map(|(_, stage)| stage).unwrap();
    assert!(
        runtime.starts_with("gcr.io/distroless/"),
        "runtime stage: {}",
        runtime.lines().next().unwrap()
    );
    assert!(runtime.lines().next().unwrap().ends_with(":nonroot"));
    assert!(
        runtime.contains("\nUSER 65532:65532\n"),
        "numeric non-root user, so runAsNonRoot can check it"
    );
    assert!(
        !runtime.contains("\nRUN "),
        "the runtime stage has no shell to RUN anything"
    );
    for label in ["title", "source", "licenses", "version", "revision"] {
        assert!(
            runtime.contains(&format!("org.opencontainers.image.{label}=")),
            "missing OCI label {label}"
        );
    }
    assert!(runtime.contains("ENTRYPOINT [\"/usr/local/bin/grafana-cloud-operator\"]"));
}

#[test]
fn docker_context_leaves_out_build_output_and_history() {
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    let entries: Vec<&str> = ignore.lines().map(str::trim).collect();
    for entry in ["target", ".git"] {
        assert!(
            entries.contains(&entry),
            ".dockerignore must exclude {entry}"
        );
    }
    // Workspace members must stay in the context, or `cargo build --locked` cannot load them.
    for member in ["src", "simulator", "testenv", "Cargo.toml", "Cargo.lock"] {
        assert!(
            !entries.contains(&member),
            ".dockerignore must keep {member}"
        );
    }
}
