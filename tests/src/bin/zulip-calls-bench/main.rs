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
//! With `--group-fanout` it runs the group call fan-out instead of the lifecycles (against a
//! 1.1 server): hosts each create a group call inviting their teammates, and it reports the
//! time from `group/create` sent to each invitee's `participant_invited` event, above all the
//! last invitee's, and the group calls per second (see `fanout.rs`).
//!
//! ```text
//! cargo build --release -p zulip-calls-mock -p zulip-calls-e2e
//! target/release/zulip-calls-bench --clients 100 --duration 10
//! target/release/zulip-calls-bench --clients 100 --idle 10000 --duration 10 --json
//! target/release/zulip-calls-bench --group-fanout --rate 10 --idle 10000 --duration 10
//! ```

mod clients;
mod fanout;
mod floor;
mod load;
mod report;
mod server;
mod stats;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

/// The allocator the mock server uses: the load generator shares the machine's two cores with
/// it, so its own CPU is the server's headroom, and the floor server allocates the same way.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use zulip_calls_protocol::Dialect;

use crate::clients::Api;
use crate::fanout::{FanoutPlan, MAX_GROUP_SIZE};
use crate::load::LoadPlan;
use crate::report::{IdleFigures, LoadFigures, Measured, Report, ServerFigures, Traffic};
use crate::server::{Account, ChildServer, Held, Usage};
use crate::stats::Summary;

/// Load the mock server and measure it against this machine's floor.
#[derive(Debug, Parser)]
#[command(name = "zulip-calls-bench", version)]
struct Cli {
    /// Clients running call lifecycles, in caller/receiver pairs (an even number, at least 2).
    #[arg(long, default_value_t = 100)]
    clients: u64,
    /// Run the group call fan-out instead of the lifecycles: hosts each create a group call
    /// inviting their own teammates (every one listening for `group_call` events) and end it
    /// once every invitation has arrived. Needs the 1.1 dialect.
    #[arg(long, conflicts_with = "clients")]
    group_fanout: bool,
    /// Participants of each group call: the host and its invitees (2 to 50).
    #[arg(long, default_value_t = MAX_GROUP_SIZE, requires = "group_fanout")]
    group_size: u64,
    /// Hosts taking turns at --rate, each with a team of --group-size - 1 invitees of its own.
    #[arg(long, default_value_t = 10, requires = "group_fanout")]
    group_hosts: u64,
    /// Seconds of load (lifecycles, or group calls with --group-fanout).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Idle clients connected (each with its own queue) before and during the load.
    #[arg(long, default_value_t = 0)]
    idle: u64,
    /// Target lifecycles (or, with --group-fanout, group calls) per second over all pairs (or
    /// hosts) (default: as fast as possible).
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
    /// against a server of that dialect alone [default: design; 1.1 with --group-fanout].
    #[arg(long)]
    calls_api: Option<Dialect>,
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
    if !cli.group_fanout && (cli.clients < 2 || !cli.clients.is_multiple_of(2)) {
        bail!("--clients must be an even number of at least 2 (callers and receivers)");
    }
    if !(0.0..=1.0).contains(&cli.websocket_share) {
        bail!("--websocket-share must be between 0 and 1");
    }
    if !(cli.duration > 0.0 && cli.duration.is_finite()) {
        bail!("--duration must be a positive number of seconds");
    }
    if cli.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        bail!("--rate must be a positive number of lifecycles (or group calls) per second");
    }
    let fanout = if cli.group_fanout {
        if !(2..=MAX_GROUP_SIZE).contains(&cli.group_size) {
            bail!("--group-size must be between 2 and {MAX_GROUP_SIZE} (the host included)");
        }
        if cli.group_hosts == 0 {
            bail!("--group-hosts must be at least 1");
        }
        if cli.calls_api == Some(Dialect::Design) {
            bail!("--group-fanout needs the 1.1 dialect: group calls are 1.1 only");
        }
        Some(FanoutPlan {
            hosts: cli.group_hosts as usize,
            group_size: cli.group_size as usize,
            duration: Duration::from_secs_f64(cli.duration),
            rate: cli.rate,
            websocket_share: cli.websocket_share,
        })
    } else {
        None
    };
    let dialect = cli.calls_api.unwrap_or(if fanout.is_some() {
        Dialect::V1_1
    } else {
        Dialect::Design
    });
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

    // The clients under measurement are users 1..=live; the idle crowd comes after them.
    let live = fanout.map_or(cli.clients, |plan| plan.clients());
    let users = live + cli.idle;
    progress(&cli, &format!("starting the mock with {users} users"));
    let mock = ChildServer::start_mock(&binary, users, dialect)?;
    let api = Api::speaking(&mock.url, dialect)?;
    let at_start = mock.usage()?;

    let idle = if cli.idle > 0 {
        progress(&cli, &format!("connecting {} idle clients", cli.idle));
        let accounts = (live + 1..=users).map(Account::numbered).collect();
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

    let accounts: Vec<Account> = (1..=live).map(Account::numbered).collect();
    let duration = Duration::from_secs_f64(cli.duration);
    let measured = match fanout {
        None => {
            progress(&cli, &format!("running {} pairs", cli.clients / 2));
            let plan = LoadPlan {
                pairs: (cli.clients / 2) as usize,
                duration,
                rate: cli.rate,
                websocket_share: cli.websocket_share,
            };
            let window = Window::open(&mock, &api, duration)?;
            let mut outcome = load::run_lifecycles(&api, &accounts, plan).await?;
            let seconds = outcome.elapsed.as_secs_f64();
            let (traffic, server) = window.close(&mock, &api, at_start, seconds).await?;
            let rate_seconds =
                load::rate_seconds(cli.rate, duration, outcome.last_start, outcome.elapsed);
            let mut all = outcome.ring_websocket.clone();
            all.extend_from_slice(&outcome.ring_long_poll);
            let load = LoadFigures {
                pairs: plan.pairs as u64,
                seconds,
                rate_seconds,
                lifecycles: outcome.lifecycles,
                lifecycles_per_second: outcome.lifecycles as f64 / rate_seconds,
                failures: outcome.failures,
                first_failure: outcome.first_failure.take(),
                ring_latency: Summary::of(&mut all),
                ring_latency_websocket: Summary::of(&mut outcome.ring_websocket),
                ring_latency_long_poll: Summary::of(&mut outcome.ring_long_poll),
                traffic,
            };
            (Measured::Lifecycles(load), server)
        }
        Some(plan) => {
            progress(
                &cli,
                &format!(
                    "running {} hosts with group calls of {}",
                    plan.hosts, plan.group_size
                ),
            );
            let window = Window::open(&mock, &api, duration)?;
            let outcome = fanout::run(&api, &accounts, plan).await?;
            let seconds = outcome.elapsed.as_secs_f64();
            let (traffic, server) = window.close(&mock, &api, at_start, seconds).await?;
            (Measured::Fanout(outcome.figures(&plan, traffic)), server)
        }
    };
    let (measured, server) = measured;
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

    let report = Report::new(
        command_line,
        dialect.as_str(),
        cli.websocket_share,
        cli.rate,
        floor,
        idle,
        measured,
        server,
    );
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

/// The readings around the measured load: the server's and the bench's CPU and memory, the
/// requests sent, and what the server holds halfway through.
struct Window {
    server_before: Usage,
    bench_before: Usage,
    requests_before: u64,
    halfway: tokio::task::JoinHandle<anyhow::Result<Held>>,
}

impl Window {
    /// Takes the first readings, and starts the one halfway through `duration` (a reading,
    /// not a synchronisation).
    fn open(mock: &ChildServer, api: &Api, duration: Duration) -> anyhow::Result<Window> {
        let server_before = mock.usage()?;
        let requests_before = api.requests.load(Ordering::Relaxed);
        let bench_before = Usage::own()?;
        let halfway = {
            let (http, url) = (api.http().clone(), mock.url.clone());
            tokio::spawn(async move {
                tokio::time::sleep(duration / 2).await;
                Held::scrape(&http, &url).await
            })
        };
        Ok(Window {
            server_before,
            bench_before,
            requests_before,
            halfway,
        })
    }

    /// The readings since [`Window::open`], over a load of `seconds`; `at_start` is the
    /// server's usage when it started.
    async fn close(
        self,
        mock: &ChildServer,
        api: &Api,
        at_start: Usage,
        seconds: f64,
    ) -> anyhow::Result<(Traffic, ServerFigures)> {
        let server_after = mock.usage()?;
        let bench_after = Usage::own()?;
        let requests = api.requests.load(Ordering::Relaxed) - self.requests_before;
        let held = self.halfway.await.context("the metrics reading failed")??;
        let cpu_seconds = server_after.cpu_seconds - self.server_before.cpu_seconds;
        Ok((
            Traffic {
                requests,
                requests_per_second: requests as f64 / seconds,
                held,
                bench_cpu_seconds: bench_after.cpu_seconds - self.bench_before.cpu_seconds,
            },
            ServerFigures {
                rss_mb_at_start: at_start.rss_mb,
                rss_mb_at_end: server_after.rss_mb,
                peak_rss_mb: server_after.peak_rss_mb,
                cpu_seconds_during_load: cpu_seconds,
                cpu_cores_busy: cpu_seconds / seconds,
            },
        ))
    }
}

fn progress(cli: &Cli, what: &str) {
    if !cli.json {
        eprintln!("… {what}");
    }
}
