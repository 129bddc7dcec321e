use std::{io::Write, process::ExitCode};

use clap::Parser;
use grafana_cloud_operator::{
    cli::{Cli, Command},
    crd, run,
};

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Crd => print_crds(),
        Command::Run(args) => run::main(*args),
    }
}

fn print_crds() -> ExitCode {
    let rendered = match crd::rendered() {
        Ok(rendered) => rendered,
        Err(err) => {
            eprintln!("failed to render CRDs: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    for (_, yaml) in rendered {
        if writeln!(out, "---\n{yaml}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
