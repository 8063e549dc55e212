use anyhow::Context as _;
use boltward::cli::{Cli, Command, ConfigCommand};
use boltward::config::Config;
use boltward::proxy::Proxy;
use clap::Parser;
use std::process::ExitCode;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_env("BOLTWARD_LOG")
        .unwrap_or_else(|_| EnvFilter::new(&config.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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
    let cli = Cli::parse();
    match cli.command {
        Command::Config(ConfigCommand::Check(args)) => {
            match Config::load(args.config.as_deref(), std::env::vars(), &[]) {
                Ok(config) => {
                    if args.json {
                        println!("{config:#?}");
                    } else {
                        println!("configuration OK");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("boltward: invalid configuration: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Serve(args) => {
            let config = match args.load() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("boltward: invalid configuration: {e}");
                    return ExitCode::from(2);
                }
            };
            init_logging(&config);
            match serve(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("boltward: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let proxy = Proxy::bind(Arc::new(config)).await?;
        let addr = proxy.local_addr()?;
        // Machine-readable line for scripts and tests (port 0 resolves here).
        println!("BOLTWARD_LISTEN={addr}");
        proxy.serve(shutdown_signal()).await;
        Ok(())
    })
}
