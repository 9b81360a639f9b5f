//! `zulip-calls-bench`: the mock server under load, side by side with this machine's floor.
//!
//! It starts `zulip-calls-mock serve` as a child process with a realm of generated users,
//! optionally gathers a crowd of idle connected clients (each with its own event queue, on the
//! WebSocket or long-polling), then runs caller/receiver pairs through full call lifecycles
//! (start → acknowledge → accept → status → end) as fast as they go or at a target rate. It
//! reports ring latency (start sent → the receiver's `call_started` received), lifecycles and
//! HTTP requests per second, the server's memory and CPU, and the connections it held; and,
//! measured in the same run against a bare axum server, the floor: one HTTP round trip and one
//! WebSocket echo, with every latency also as a multiple of the floor.
//!
//! ```text
//! cargo build --release -p zulip-calls-mock -p zulip-calls-e2e
//! target/release/zulip-calls-bench --clients 100 --duration 10
//! target/release/zulip-calls-bench --clients 100 --idle 10000 --duration 10 --json
//! ```

mod clients;
mod floor;
mod load;
mod report;
mod server;
mod stats;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

/// The allocator the mock server uses: the load generator shares the machine's two cores with
/// it, so its own CPU is the server's headroom, and the floor server allocates the same way.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use zulip_calls_protocol::Dialect;

use crate::clients::Api;
use crate::load::LoadPlan;
use crate::report::{IdleFigures, LoadFigures, Report, ServerFigures};
use crate::server::{Account, ChildServer, Held, Usage};
use crate::stats::Summary;

/// Load the mock server and measure it against this machine's floor.
#[derive(Debug, Parser)]
#[command(name = "zulip-calls-bench", version)]
struct Cli {
    /// Clients running call lifecycles, in caller/receiver pairs (an even number, at least 2).
    #[arg(long, default_value_t = 100)]
    clients: u64,
    /// Seconds of lifecycle load.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Idle clients connected (each with its own queue) before and during the load.
    #[arg(long, default_value_t = 0)]
    idle: u64,
    /// Target lifecycles per second over all pairs (default: as fast as possible).
    #[arg(long)]
    rate: Option<f64>,
    /// Share of clients listening on the WebSocket; the others long-poll (0 to 1).
    #[arg(long, default_value_t = 0.5)]
    websocket_share: f64,
    /// Round trips measured for each floor figure.
    #[arg(long, default_value_t = 2000)]
    floor_samples: usize,
    /// The `zulip-calls-mock` binary (default: the one beside this bench).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// The calls API dialect of the lifecycles: `design` (start → acknowledge → accept →
    /// status → end) or `1.1` (create → acknowledge → accept by id → heartbeat → end by id),
    /// against a server of that dialect alone.
    #[arg(long, default_value = "design")]
    calls_api: Dialect,
    /// Print the report as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Serve the floor (used by the bench itself).
    #[arg(long, hide = true)]
    serve_floor: bool,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = if cli.serve_floor {
        runtime.block_on(floor::serve())
    } else {
        runtime.block_on(run(cli))
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if cli.clients < 2 || !cli.clients.is_multiple_of(2) {
        bail!("--clients must be an even number of at least 2 (callers and receivers)");
    }
    if !(0.0..=1.0).contains(&cli.websocket_share) {
        bail!("--websocket-share must be between 0 and 1");
    }
    if !(cli.duration > 0.0 && cli.duration.is_finite()) {
        bail!("--duration must be a positive number of seconds");
    }
    if cli.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        bail!("--rate must be a positive number of lifecycles per second");
    }
    let binary = zulip_calls_e2e::mock_binary::mock_binary(
        cli.server_bin.clone(),
        "build it with `cargo build --release -p zulip-calls-mock` (or pass --server-bin)",
    )?;
    let command_line = std::env::args()
        .map(|a| a.rsplit('/').next().map_or_else(String::new, str::to_owned))
        .collect::<Vec<_>>()
        .join(" ");

    progress(&cli, "measuring the floor");
    let floor = {
        let floor_server = ChildServer::start_floor()?;
        let api = Api::new(&floor_server.url)?;
        floor::measure(
            api.http(),
            &floor_server.url,
            cli.floor_samples.max(1),
            cli.rate,
        )
        .await?
    };

    let users = cli.clients + cli.idle;
    progress(&cli, &format!("starting the mock with {users} users"));
    let mock = ChildServer::start_mock(&binary, users, cli.calls_api)?;
    let api = Api::speaking(&mock.url, cli.calls_api)?;
    let at_start = mock.usage()?;

    let idle = if cli.idle > 0 {
        progress(&cli, &format!("connecting {} idle clients", cli.idle));
        let accounts = (cli.clients + 1..=users).map(Account::numbered).collect();
        let connecting = Instant::now();
        let crowd = load::connect_idle(&api, accounts, cli.websocket_share).await?;
        let connect_seconds = connecting.elapsed().as_secs_f64();
        let websockets = (0..cli.idle)
            .filter(|&i| {
                load::transport_of(i, cli.websocket_share) == clients::Transport::WebSocket
            })
            .count() as u64;
        let wanted = Held {
            event_queues: cli.idle,
            websocket_connections: websockets,
            long_polls: cli.idle - websockets,
        };
        let held = Held::settle(api.http(), &mock.url, wanted, Duration::from_secs(30)).await?;
        let usage = mock.usage()?;
        Some((
            crowd,
            IdleFigures {
                clients: cli.idle,
                connect_seconds,
                held,
                server_rss_mb: usage.rss_mb,
                server_rss_mb_per_1000: (usage.rss_mb - at_start.rss_mb)
                    / (cli.idle as f64 / 1000.0),
            },
        ))
    } else {
        None
    };

    progress(&cli, &format!("running {} pairs", cli.clients / 2));
    let accounts: Vec<Account> = (1..=cli.clients).map(Account::numbered).collect();
    let plan = LoadPlan {
        pairs: (cli.clients / 2) as usize,
        duration: Duration::from_secs_f64(cli.duration),
        rate: cli.rate,
        websocket_share: cli.websocket_share,
    };
    let before_load = mock.usage()?;
    let requests_before = api.requests.load(std::sync::atomic::Ordering::Relaxed);
    let bench_before = Usage::own()?;
    // What the server holds halfway through the load (a reading, not a synchronisation).
    let halfway = {
        let (http, url) = (api.http().clone(), mock.url.clone());
        let wait = plan.duration / 2;
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            Held::scrape(&http, &url).await
        })
    };
    let mut outcome = load::run_lifecycles(&api, &accounts, plan).await?;
    let after_load = mock.usage()?;
    let bench_after = Usage::own()?;
    let requests = api.requests.load(std::sync::atomic::Ordering::Relaxed) - requests_before;
    let held_during_load = halfway.await.context("the metrics reading failed")??;
    let idle = match idle {
        Some((crowd, figures)) => {
            let failed = crowd.disperse().await;
            if failed > 0 {
                eprintln!("warning: {failed} idle clients lost their connection during the run");
            }
            Some(figures)
        }
        None => None,
    };

    let seconds = outcome.elapsed.as_secs_f64();
    // A paced run starts the lifecycles due in its window and finishes the last ones just
    // after it: its rate is over the window, or up to the last start when the server fell
    // behind and lifecycles due in the window started after it. As fast as possible, it is
    // over the wall time.
    let rate_seconds = if cli.rate.is_some() {
        plan.duration.max(outcome.last_start).as_secs_f64()
    } else {
        seconds
    };
    let mut all = outcome.ring_websocket.clone();
    all.extend_from_slice(&outcome.ring_long_poll);
    let load = LoadFigures {
        pairs: plan.pairs as u64,
        seconds,
        rate_seconds,
        lifecycles: outcome.lifecycles,
        lifecycles_per_second: outcome.lifecycles as f64 / rate_seconds,
        requests,
        requests_per_second: requests as f64 / seconds,
        failures: outcome.failures,
        first_failure: outcome.first_failure.take(),
        ring_latency: Summary::of(&mut all),
        ring_latency_websocket: Summary::of(&mut outcome.ring_websocket),
        ring_latency_long_poll: Summary::of(&mut outcome.ring_long_poll),
        held: held_during_load,
        bench_cpu_seconds: bench_after.cpu_seconds - bench_before.cpu_seconds,
    };
    let server = ServerFigures {
        rss_mb_at_start: at_start.rss_mb,
        rss_mb_at_end: after_load.rss_mb,
        peak_rss_mb: after_load.peak_rss_mb,
        cpu_seconds_during_load: after_load.cpu_seconds - before_load.cpu_seconds,
        cpu_cores_busy: (after_load.cpu_seconds - before_load.cpu_seconds) / seconds,
    };
    let report = Report::new(
        command_line,
        cli.calls_api.as_str(),
        cli.websocket_share,
        cli.rate,
        floor,
        idle,
        load,
        server,
    );
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

fn progress(cli: &Cli, what: &str) {
    if !cli.json {
        eprintln!("… {what}");
    }
}
