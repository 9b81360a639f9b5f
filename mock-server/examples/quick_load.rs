//! A quick load run against an in-process server: N caller/receiver pairs run full call
//! lifecycles (start → acknowledge → accept → status → end) for a few seconds while the
//! receivers long-poll their event queues. Prints lifecycles/s, HTTP requests/s and the ring
//! latency (start sent → receiver's `call_started` received).
//!
//! `cargo run --release -p zulip-calls-mock --example quick_load -- [PAIRS] [SECONDS]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};
use zulip_calls_mock::config::ServerConfig;
use zulip_calls_mock::{Clock, Server};

struct User {
    email: String,
    key: String,
    id: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let pairs: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(50);
    let seconds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10);

    let dir = tempfile::tempdir()?;
    let realm_path = dir.path().join("realm.toml");
    let mut realm = String::from("[[realm]]\nname = \"Load\"\nurl = \"http://localhost:9991\"\n");
    let users: Vec<User> = (1..=pairs * 2)
        .map(|i| User {
            email: format!("user{i}@load.test"),
            key: format!("loadtestapikey{i:018}"),
            id: i,
        })
        .collect();
    for u in &users {
        realm.push_str(&format!(
            "[[realm.user]]\nid = {}\nemail = \"{}\"\nfull_name = \"User {}\"\napi_key = \"{}\"\n",
            u.id, u.email, u.id, u.key
        ));
    }
    std::fs::write(&realm_path, realm)?;
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse()?,
        db: dir.path().join("load.sqlite3").display().to_string(),
        realm_file: Some(realm_path),
        rate_limit_per_minute: 0,
        ..ServerConfig::default()
    };
    let server = Server::start(config, Clock::System).await?;
    let base = format!("{}/api/v1", server.url());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .build()?;
    let requests = Arc::new(AtomicU64::new(0));
    let lifecycles = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let stop = Instant::now() + Duration::from_secs(seconds);

    let users = Arc::new(users);
    let mut tasks = Vec::new();
    for p in 0..pairs as usize {
        let (caller, callee) = (2 * p, 2 * p + 1);
        let (http, base, users) = (http.clone(), base.clone(), Arc::clone(&users));
        let (requests, lifecycles, latencies) = (
            Arc::clone(&requests),
            Arc::clone(&lifecycles),
            Arc::clone(&latencies),
        );
        tasks.push(tokio::spawn(async move {
            let post = |who: usize, path: &str, form: Vec<(&'static str, String)>| {
                requests.fetch_add(1, Ordering::Relaxed);
                let u = &users[who];
                http.post(format!("{base}/{path}"))
                    .basic_auth(&u.email, Some(&u.key))
                    .form(&form)
                    .send()
            };
            let reg: Value = post(
                callee,
                "register",
                vec![("event_types", "[\"call_event\"]".into())],
            )
            .await?
            .json()
            .await?;
            let queue = reg["queue_id"].as_str().context("no queue")?.to_owned();
            // The receiver long-polls in its own task and reports each ring.
            let (rang_tx, mut rang_rx) = mpsc::unbounded_channel::<(String, Instant)>();
            let poller = {
                let (http, base, users, requests) = (
                    http.clone(),
                    base.clone(),
                    Arc::clone(&users),
                    Arc::clone(&requests),
                );
                tokio::spawn(async move {
                    let mut last = -1i64;
                    loop {
                        requests.fetch_add(1, Ordering::Relaxed);
                        let u = &users[callee];
                        let Ok(resp) = http
                            .get(format!("{base}/events"))
                            .basic_auth(&u.email, Some(&u.key))
                            .query(&[
                                ("queue_id", queue.as_str()),
                                ("last_event_id", &last.to_string()),
                            ])
                            .send()
                            .await
                        else {
                            return;
                        };
                        let Ok(body) = resp.json::<Value>().await else {
                            return;
                        };
                        for e in body["events"].as_array().into_iter().flatten() {
                            last = e["id"].as_i64().unwrap_or(last);
                            if e["event_type"] == "call_started" {
                                let id = e["call_id"].as_str().unwrap_or_default().to_owned();
                                if rang_tx.send((id, Instant::now())).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                })
            };
            while Instant::now() < stop {
                let sent = Instant::now();
                let started: Value = post(
                    caller,
                    "calls/start",
                    vec![("user_id", users[callee].id.to_string())],
                )
                .await?
                .json()
                .await?;
                let call_id = started["call_id"]
                    .as_str()
                    .context("start failed")?
                    .to_owned();
                let (rung, at) = rang_rx.recv().await.context("poller stopped")?;
                anyhow::ensure!(rung == call_id, "rang for another call");
                latencies.lock().await.push(at - sent);
                post(
                    callee,
                    "calls/acknowledge",
                    vec![("call_id", call_id.clone())],
                )
                .await?;
                post(
                    callee,
                    "calls/respond",
                    vec![("call_id", call_id.clone()), ("response", "accept".into())],
                )
                .await?;
                post(
                    caller,
                    "calls/status",
                    vec![("call_id", call_id.clone()), ("status", "muted".into())],
                )
                .await?;
                post(caller, "calls/end", vec![("call_id", call_id)]).await?;
                lifecycles.fetch_add(1, Ordering::Relaxed);
            }
            poller.abort();
            anyhow::Ok(())
        }));
    }
    let started = Instant::now();
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut lat = latencies.lock().await.clone();
    lat.sort();
    let pct = |q: f64| {
        lat.get(((lat.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    println!("pairs {pairs}, {elapsed:.1} s");
    println!(
        "lifecycles/s {:.0}",
        lifecycles.load(Ordering::Relaxed) as f64 / elapsed
    );
    println!(
        "requests/s   {:.0}",
        requests.load(Ordering::Relaxed) as f64 / elapsed
    );
    println!(
        "ring latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.9).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        lat.len()
    );
    Ok(())
}
