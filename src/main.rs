//! `policyvault`: parses the command line, loads settings, runs the command, and turns any
//! failure into one line on stderr and exit code 1.

use std::process::ExitCode;

use clap::Parser;
use policyvault::cli::Cli;
use policyvault::settings::{Settings, SettingsSource};
use policyvault::{commands, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut source = SettingsSource::from_process();
    if cli.config_dir.is_some() {
        source.config_dir = cli.config_dir.clone();
    }
    let settings = match Settings::load(&source) {
        Ok(settings) => settings,
        Err(e) => return fail(&e.to_string()),
    };
    telemetry::init(&settings.log, cli.json_logs);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(commands::run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        // `{:#}` prints the cause chain on the one line: "what failed: why".
        Err(error) => fail(&format!("{error:#}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
