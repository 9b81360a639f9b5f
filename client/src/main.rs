//! `zulip-calls`: phone-style calls for Zulip teams, from the terminal.

use clap::Parser;

/// Phone-style calls for Zulip teams, from the terminal.
///
/// This build carries the command-line surface only; placing and answering calls is not
/// available yet.
#[derive(Debug, Parser)]
#[command(name = "zulip-calls", version, about)]
struct Cli {
    /// Zulip server URL (overrides the zuliprc's `site`).
    #[arg(long, global = true, env = "ZULIP_SITE")]
    site: Option<String>,
    /// Account email (overrides the zuliprc's `email`).
    #[arg(long, global = true, env = "ZULIP_EMAIL")]
    email: Option<String>,
    /// API key (overrides the zuliprc's `key`).
    #[arg(long, global = true, env = "ZULIP_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Path of a zuliprc file.
    #[arg(long, global = true, env = "ZULIPRC")]
    config: Option<std::path::PathBuf>,
    /// Show meeting URLs instead of opening a browser.
    #[arg(long, global = true)]
    no_browser: bool,
}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    anyhow::bail!("placing and answering calls is not available in this build yet; see --help")
}
