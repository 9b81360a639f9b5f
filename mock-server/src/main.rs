//! `zulip-calls-mock`: a stand-in for a Zulip server with the calls plugin.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zulip_calls_mock::config::{ConfigFlags, load};
use zulip_calls_mock::{Clock, Server};
use zulip_calls_protocol::endpoint::{API_PREFIX, Auth, EndpointInfo, all_endpoints};

/// A Zulip server with the calls plugin, for development and QA.
#[derive(Debug, Parser)]
#[command(name = "zulip-calls-mock", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the calls API and the Zulip subset it relies on.
    Serve {
        /// Configuration file (TOML: [server] and [settings] tables).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Realm file (TOML); the bundled demo realm when absent.
        #[arg(long)]
        realm: Option<PathBuf>,
        /// Address to listen on.
        #[arg(long)]
        bind: Option<SocketAddr>,
        /// SQLite database file, or :memory: for a throwaway run.
        #[arg(long)]
        db: Option<String>,
    },
    /// List every route of the calls API contract (method, path, authentication).
    Endpoints {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            realm,
            bind,
            db,
        } => serve(
            config,
            ConfigFlags {
                bind,
                db,
                realm,
                heartbeat_seconds: None,
            },
        ),
        Command::Endpoints { json } => {
            match print_endpoints(&all_endpoints().collect::<Vec<_>>(), json) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("error: {err}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn serve(file: Option<PathBuf>, flags: ConfigFlags) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "zulip_calls_mock=info".into()),
        )
        .init();
    let config = match load(file.as_deref(), |name| std::env::var(name).ok(), &flags) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let db = config.db.clone();
        let mut server = match Server::start(config, Clock::System).await {
            Ok(server) => server,
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::FAILURE;
            }
        };
        println!("zulip-calls-mock serving {} (database: {db})", server.url());
        println!(
            "log in as a demo user: zulip-calls --site {} --email iago@zulip.com --api-key <key from the realm file>",
            server.url()
        );
        tokio::select! {
            () = server.wait() => {}
            _ = tokio::signal::ctrl_c() => {
                println!("shutting down");
            }
        }
        ExitCode::SUCCESS
    })
}

fn print_endpoints(endpoints: &[EndpointInfo], json: bool) -> anyhow::Result<()> {
    if json {
        let rows: Vec<_> = endpoints
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name,
                    "method": e.method.as_str(),
                    "path": format!("{API_PREFIX}{}", e.path),
                    "auth": matches!(e.auth, Auth::Basic),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    for e in endpoints {
        let auth = match e.auth {
            Auth::Basic => "basic",
            Auth::None => "none",
        };
        println!(
            "{:<7} {API_PREFIX}{:<40} {auth:<6} {}",
            e.method, e.path, e.name
        );
    }
    Ok(())
}
