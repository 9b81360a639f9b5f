//! `zulip-calls-mock`: a stand-in for a Zulip server with the calls plugin.

use clap::{Parser, Subcommand};
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
    /// List every route of the calls API contract (method, path, authentication).
    Endpoints {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Endpoints { json } => print_endpoints(&all_endpoints().collect::<Vec<_>>(), json),
    }
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
