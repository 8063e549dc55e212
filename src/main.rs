use anyhow::Context as _;
use boltward::cli::client::{call, status_table, Failed};
use boltward::cli::{
    Cli, Command, ConfigCommand, PolicyCheckArgs, PolicyCommand, ReplicationCommand, WritesCommand,
};
use boltward::config::Config;
use boltward::control::api;
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
    let cli = Cli::parse();
    match cli.command {
        Command::Audit(boltward::cli::AuditCommand::Query(args)) => {
            boltward::cli::audit::run_query(&args)
        }
        Command::Audit(boltward::cli::AuditCommand::Prune(args)) => {
            boltward::cli::audit::run_prune(&args)
        }
        Command::Audit(boltward::cli::AuditCommand::Verify(args)) => {
            boltward::cli::audit::run_verify(&args)
        }
        Command::Snapshot(cmd) => boltward::cli::snapshot::run_snapshot(&cmd),
        Command::Restore(cmd) => boltward::cli::snapshot::run_restore(&cmd),
        Command::Health(args) => boltward::cli::health::run(&args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "boltward", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Config(ConfigCommand::Check(args)) => {
            match Config::load(args.config.as_deref(), std::env::vars(), &[]) {
                Ok(config) => {
                    for name in &config.unknown_env {
                        eprintln!("boltward: warning: {name} is set but names no setting; it is ignored (see docs/configuration.md)");
                    }
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
        Command::Policy(PolicyCommand::Reload(args)) => control(
            &args,
            "POST",
            "/v1/policy/reload",
            |v: &api::PolicyReload| {
                let rules = serde_json::to_string(&v.policy.rules).unwrap_or_default();
                format!("policy reloaded: {rules}\n")
            },
        ),
        Command::Status(args) => control(&args, "GET", "/v1/status", status_table),
        Command::Replication(cmd) => replication(cmd),
        Command::Writes(WritesCommand::Pause(args)) => {
            control(&args, "POST", "/v1/writes/pause", |v: &api::Writes| {
                format!("writes paused ({} held)\n", v.held)
            })
        }
        Command::Writes(WritesCommand::Resume(args)) => {
            control(&args, "POST", "/v1/writes/resume", |_: &api::Writes| {
                "writes resumed\n".to_owned()
            })
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
    }
}

/// One control-port call, printed as JSON (`--json`) or for people.
fn control<T: serde::de::DeserializeOwned>(
    args: &boltward::cli::ControlArgs,
    method: &str,
    path: &str,
    human: impl Fn(&T) -> String,
) -> ExitCode {
    match call::<T>(args, method, path) {
        Ok(answer) => {
            if args.json {
                println!("{}", answer.json);
            } else {
                print!("{}", human(&answer.body));
            }
            ExitCode::SUCCESS
        }
        Err(Failed(code)) => code,
    }
}

/// `boltward replication …`.
fn replication(cmd: ReplicationCommand) -> ExitCode {
    let (args, verb, remote) = match cmd {
        ReplicationCommand::Status(args) => {
            return control(&args, "GET", "/v1/replication", |v: &api::Replication| {
                boltward::cli::replication::table(&v.remotes)
            })
        }
        ReplicationCommand::Pause(a) => (a.control, "pause", a.remote),
        ReplicationCommand::Resume(a) => (a.control, "resume", a.remote),
        ReplicationCommand::Reseed(a) => (a.control, "reseed", a.remote),
        ReplicationCommand::Verify(a) => return boltward::cli::replication::verify(&a),
        ReplicationCommand::Resolve(a) => return boltward::cli::replication::resolve(&a),
    };
    let path = format!("/v1/replication/{remote}/{verb}");
    control(&args, "POST", &path, |r: &api::ReplicationRemote| {
        boltward::cli::replication::table(std::slice::from_ref(r))
    })
}

fn policy_check(args: &PolicyCheckArgs) -> ExitCode {
    use boltward::policy::Policy;
    let policy = match Policy::load(&args.config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("boltward: {e}");
            return ExitCode::from(2);
        }
    };
    let query = match read_statement(args) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("boltward: {e}");
            return ExitCode::from(3);
        }
    };
    let req = boltward::control::CheckRequest {
        query,
        actor: args.actor.clone(),
        scheme: Some(args.scheme.clone()),
        user_agent: args.user_agent.clone(),
        address: args.address,
        cert_subject: args.cert_subject.clone(),
        claimed: args.claimed.clone(),
        database: args.database.clone(),
    };
    let limit = boltward::config::Limits::default().max_statement_bytes;
    let out = boltward::control::check(&policy, &req, limit);
    let denied = out.verdict == boltward::policy::Decision::Deny;
    if args.json {
        println!("{}", serde_json::to_string(&out).unwrap_or_default());
    } else {
        let would = if out.would_deny {
            " (audit mode: would deny)"
        } else {
            ""
        };
        let classes: Vec<&str> = out.classes.iter().map(|c| c.as_str()).collect();
        println!("classes:  {}", classes.join(", "));
        println!("verdict:  {}{would}", out.verdict.as_str());
        println!("rule:     {}", out.rule);
        println!("reason:   {}", out.reason);
        if !out.labels.is_empty() {
            let labels: Vec<&str> = out.labels.iter().map(String::as_str).collect();
            println!("labels:   {}", labels.join(", "));
        }
    }
    if denied {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Why `policy check` has no statement to check.
#[derive(Debug, thiserror::Error)]
enum StatementError {
    #[error("cannot read the statement from {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("the statement in {path} is not UTF-8 (byte {at})")]
    NotUtf8 { path: std::path::PathBuf, at: usize },
}

/// The statement of `policy check`: from `--query`, a file or standard input, read up to
/// one byte past the classifier's limit (a larger statement is then refused by it).
fn read_statement(args: &PolicyCheckArgs) -> Result<String, StatementError> {
    use std::io::Read;
    if let Some(q) = &args.query {
        return Ok(q.clone());
    }
    let path = args
        .query_file
        .as_deref()
        .unwrap_or(std::path::Path::new("-"));
    let cap = boltward::config::Limits::default().max_statement_bytes as u64 + 1;
    let mut bytes = Vec::new();
    let read = if path == std::path::Path::new("-") {
        std::io::stdin().lock().take(cap).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(cap).read_to_end(&mut bytes))
    };
    read.map_err(|source| StatementError::Read {
        path: path.to_owned(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| StatementError::NotUtf8 {
        path: path.to_owned(),
        at: e.utf8_error().valid_up_to(),
    })
}

/// Reloads `[policy]` from the configuration on SIGHUP, keeping the old policy when the
/// new one is invalid. `hup` is registered before boltward says it listens, so a SIGHUP
/// sent as soon as it does never meets the default action (termination).
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
