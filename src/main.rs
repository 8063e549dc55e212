//! The `boltward` binary: parses the command line; operator commands run in
//! [`boltward::cli::run`], `serve` here (it owns the process: logging, the runtime and
//! signals) through [`boltward::app::App`].

use anyhow::Context as _;
use boltward::cli::Cli;
use boltward::config::Config;
use clap::Parser;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_env("BOLTWARD_LOG")
        .unwrap_or_else(|_| EnvFilter::new(&config.log.level));
    // Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if config.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn main() -> ExitCode {
    let args = match boltward::cli::run(Cli::parse().command) {
        Ok(code) => return code,
        Err(serve_args) => serve_args,
    };
    let config = match args.load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("boltward: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    for name in &config.unknown_env {
        tracing::warn!(variable = %name, "a BOLTWARD_* variable names no setting; it is ignored (see docs/configuration.md)");
    }
    match serve(config, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("boltward: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the app (every secret, the policy, TLS and the journal resolved before anything
/// binds) and serves until SIGTERM or SIGINT (SIGHUP reloads the policy: see
/// [`boltward::app::App::run`]).
fn serve(config: Config, args: boltward::cli::ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let app = boltward::app::App::build(config, args.config.clone()).await?;
        app.run(shutdown_signal()).await?;
        Ok(())
    })
}
