//! The floor: what this machine needs for the least a call server could do. A bare axum
//! server (in a process of its own, like the mock) answers `GET /ping` and echoes WebSocket
//! frames; the bench measures one HTTP round trip and one WebSocket echo, one at a time, over
//! the same kind of client and connection it uses against the mock.
//!
//! Back to back, both processes stay awake between round trips. A paced run (`--rate`) rings
//! with pauses in between, in which both sleep, and waking a sleeping thread (twice per round
//! trip: the server's, then the client's) is most of what a lone round trip costs on this
//! machine. So with a rate the floor is also measured at that pace: one round trip per ring.

use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::ws::{Message as AxumMessage, WebSocket, WebSocketUpgrade};
use axum::routing::get;
use axum::serve::ListenerExt as _;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;

use crate::stats::Summary;

/// The floor's round trips.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Floor {
    pub http_round_trip: Summary,
    pub websocket_echo: Summary,
    /// HTTP round trips spaced like the run's rings (`--rate`), when it has a rate.
    pub http_round_trip_paced: Option<PacedFloor>,
}

/// The HTTP round trip at a pace.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PacedFloor {
    /// The time from one round trip's start to the next.
    pub interval_ms: f64,
    pub round_trip: Summary,
}

/// How long the paced floor may take at most: its samples are capped to fit.
const PACED_FLOOR_BUDGET: Duration = Duration::from_secs(5);

/// The fewest paced samples, whatever the budget says.
const PACED_FLOOR_MIN_SAMPLES: usize = 20;

/// Serves the floor on 127.0.0.1 (a free port) and prints its URL on the first line of stdout;
/// runs until killed.
pub async fn serve() -> anyhow::Result<()> {
    let app = Router::new().route("/ping", get(|| async { "ok" })).route(
        "/ws",
        get(|upgrade: WebSocketUpgrade| async move { upgrade.on_upgrade(echo) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("http://{}", listener.local_addr()?);
    // As the mock does.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

async fn echo(mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        let reply = match message {
            AxumMessage::Text(text) => AxumMessage::Text(text),
            AxumMessage::Binary(bytes) => AxumMessage::Binary(bytes),
            AxumMessage::Close(_) => return,
            _ => continue,
        };
        if socket.send(reply).await.is_err() {
            return;
        }
    }
}

/// One HTTP round trip to the floor server.
async fn ping(http: &reqwest::Client, ping: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let body = http.get(ping).send().await?.text().await?;
    anyhow::ensure!(body == "ok", "the floor server answered {body:?}");
    Ok(started.elapsed())
}

/// Measures `samples` HTTP round trips and as many WebSocket echoes against the floor server
/// at `url`, after a short warm-up; and, given `rate` (rings per second), HTTP round trips
/// one every `1 / rate` seconds (at most [`PACED_FLOOR_BUDGET`] of them, and at most
/// `samples`).
pub async fn measure(
    http: &reqwest::Client,
    url: &str,
    samples: usize,
    rate: Option<f64>,
) -> anyhow::Result<Floor> {
    let ping_url = format!("{url}/ping");
    let mut round_trips = Vec::with_capacity(samples);
    for i in 0..samples + samples / 10 {
        let took = ping(http, &ping_url).await?;
        if i >= samples / 10 {
            round_trips.push(took);
        }
    }

    let http_round_trip_paced = match rate {
        Some(rate) => Some(measure_paced(http, &ping_url, samples, rate).await?),
        None => None,
    };

    let ws_url = format!("{}/ws", url.replacen("http://", "ws://", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(&ws_url, None, true)
        .await
        .context("cannot open the floor's WebSocket")?;
    let mut echoes = Vec::with_capacity(samples);
    // About the size of a call_started event.
    let frame = "x".repeat(600);
    for i in 0..samples + samples / 10 {
        let started = Instant::now();
        ws.send(Message::text(frame.clone())).await?;
        loop {
            match ws.next().await.context("the floor's WebSocket closed")?? {
                Message::Text(_) => break,
                _ => continue,
            }
        }
        if i >= samples / 10 {
            echoes.push(started.elapsed());
        }
    }
    let _ = ws.close(None).await;
    let summary = |samples: &mut Vec<Duration>| {
        Summary::of(samples).context("no floor samples (use --floor-samples 1 or more)")
    };
    Ok(Floor {
        http_round_trip: summary(&mut round_trips)?,
        websocket_echo: summary(&mut echoes)?,
        http_round_trip_paced,
    })
}

/// HTTP round trips one every `1 / rate` seconds: as many as fit in [`PACED_FLOOR_BUDGET`],
/// at most `samples` and at least [`PACED_FLOOR_MIN_SAMPLES`].
async fn measure_paced(
    http: &reqwest::Client,
    ping_url: &str,
    samples: usize,
    rate: f64,
) -> anyhow::Result<PacedFloor> {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let fit = (PACED_FLOOR_BUDGET.as_secs_f64() * rate) as usize;
    let count = fit.clamp(
        PACED_FLOOR_MIN_SAMPLES,
        samples.max(PACED_FLOOR_MIN_SAMPLES),
    );
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut paced = Vec::with_capacity(count);
    // The first tick is at once: a warm-up round trip, not measured.
    ticks.tick().await;
    ping(http, ping_url).await?;
    for _ in 0..count {
        ticks.tick().await;
        paced.push(ping(http, ping_url).await?);
    }
    Ok(PacedFloor {
        interval_ms: crate::stats::millis(interval),
        round_trip: Summary::of(&mut paced).context("no paced floor samples")?,
    })
}
