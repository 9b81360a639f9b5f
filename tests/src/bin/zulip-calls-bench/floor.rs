//! The floor: what this machine needs for the least a call server could do. A bare axum
//! server (in a process of its own, like the mock) answers `GET /ping` and echoes WebSocket
//! frames; the bench measures one HTTP round trip and one WebSocket echo, one at a time, over
//! the same kind of client and connection it uses against the mock.

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

/// The floor's two round trips.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Floor {
    pub http_round_trip: Summary,
    pub websocket_echo: Summary,
}

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

/// Measures `samples` HTTP round trips and as many WebSocket echoes against the floor server
/// at `url`, after a short warm-up.
pub async fn measure(http: &reqwest::Client, url: &str, samples: usize) -> anyhow::Result<Floor> {
    let ping = format!("{url}/ping");
    let mut round_trips = Vec::with_capacity(samples);
    for i in 0..samples + samples / 10 {
        let started = Instant::now();
        let body = http.get(&ping).send().await?.text().await?;
        anyhow::ensure!(body == "ok", "the floor server answered {body:?}");
        if i >= samples / 10 {
            round_trips.push(started.elapsed());
        }
    }

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
    })
}
