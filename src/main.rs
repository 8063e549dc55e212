use anyhow::Context as _;
use boltward::cli::{Cli, Command, ConfigCommand, PolicyCheckArgs, PolicyCommand};
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
        Command::Policy(PolicyCommand::Check(args)) => policy_check(&args),
        Command::Serve(args) => {
            let config = match args.load() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("boltward: invalid configuration: {e}");
                    return ExitCode::from(2);
                }
            };
            init_logging(&config);
            match serve(config, args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("boltward: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn policy_check(args: &PolicyCheckArgs) -> ExitCode {
    use boltward::policy::{decide, Actor, Policy};
    let policy = match Policy::load(&args.config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("boltward: {e}");
            return ExitCode::from(2);
        }
    };
    let actor = Actor {
        principal: args.actor.clone(),
        scheme: Some(args.scheme.clone()),
        address: args.address,
        cert_subject: args.cert_subject.clone(),
        user_agent: args.user_agent.clone(),
        claimed: args.claimed.clone(),
    };
    let c = boltward::cypher::classify(&args.query);
    let v = decide(&policy, &actor, &c, args.database.as_deref());
    if args.json {
        let out = serde_json::json!({
            "classes": c.classes,
            "verdict": v.verdict,
            "rule": v.rule,
            "reason": v.reason,
            "would_deny": v.would_deny,
            "labels": c.labels,
            "unbounded_delete": c.unbounded_delete,
            "schema_drop": c.schema_drop,
            "verify_with_explain": c.verify,
        });
        println!("{out}");
    } else {
        let classes: Vec<&str> = c.classes.iter().map(|c| c.as_str()).collect();
        println!("classes:  {}", classes.join(", "));
        println!(
            "verdict:  {}{}",
            if v.denied() { "deny" } else { "allow" },
            if v.would_deny {
                " (audit mode: would deny)"
            } else {
                ""
            }
        );
        println!("rule:     {}", v.rule);
        println!("reason:   {}", v.reason);
        if !c.labels.is_empty() {
            println!(
                "labels:   {}",
                c.labels.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
    if v.denied() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Reloads `[policy]` from the configuration on SIGHUP, keeping the old policy when the
/// new one is invalid.
async fn reload_on_sighup(args: boltward::cli::ServeArgs, handle: boltward::proxy::PolicyHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        match args.load().and_then(|c| {
            c.policy()
                .map_err(|e| boltward::config::ConfigError::Parse(e.to_string()))
        }) {
            Ok(p) => {
                let rules = p.rules.len();
                handle.set(p);
                tracing::info!(rules, "policy reloaded");
            }
            Err(e) => {
                tracing::warn!(error = %e, "policy reload failed; keeping the previous policy")
            }
        }
    }
}

fn serve(config: Config, args: boltward::cli::ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let proxy = Proxy::bind(Arc::new(config)).await?;
        tokio::spawn(reload_on_sighup(args, proxy.policy()));
        let addr = proxy.local_addr()?;
        // Machine-readable line for scripts and tests (port 0 resolves here).
        println!("BOLTWARD_LISTEN={addr}");
        proxy.serve(shutdown_signal()).await;
        Ok(())
    })
}
