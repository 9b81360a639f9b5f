//! `zulip-calls-diff`: a differential check of two servers speaking the plugin's 1.1 dialect.
//!
//! It plays one request sequence (every 1:1 endpoint of the dialect, good and bad input: see
//! `sequence`) against two servers, reads back after each request the events of every person
//! involved and the pushes recorded, normalises what is random or per-server (`normalise`),
//! and prints, request by request, where the status, the body, the events and the pushes
//! differ. Its purpose is to show that the mock in its `plugin-1.1.0` mode behaves as the
//! released plugin's own code does; by default it starts both.
//!
//! ```text
//! cargo build -p zulip-calls-mock -p zulip-calls-e2e
//! REALPLUGIN_DIR=… REALPLUGIN_UPSTREAM=… target/debug/zulip-calls-diff
//! target/debug/zulip-calls-diff --a http://127.0.0.1:9411 --a-users users.json --json
//! target/debug/zulip-calls-diff --a http://127.0.0.1:9991 --b http://127.0.0.1:9992
//! ```

mod cli;
mod compare;
mod normalise;
mod play;
mod report;
mod sequence;
mod servers;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use zulip_calls_e2e::plugin_users::{self, PluginUser};

use crate::cli::Cli;
use crate::play::{Cast, Player};
use crate::report::{Report, ServerInfo};
use crate::servers::{ChildServer, Server};

/// How a run ended, short of an error.
enum Outcome {
    Skipped(String),
    Done(Box<Report>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::from(2);
        }
    };
    let json = cli.json;
    let json_file = cli.json_file.clone();
    match runtime.block_on(run(cli)) {
        Ok(Outcome::Skipped(sentence)) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"skipped": true, "reason": sentence})
                );
            } else {
                println!("{sentence}");
            }
            ExitCode::SUCCESS
        }
        Ok(Outcome::Done(report)) => {
            if let Some(path) = &json_file {
                let written = serde_json::to_string_pretty(&report)
                    .map_err(anyhow::Error::from)
                    .and_then(|text| Ok(std::fs::write(path, text)?));
                if let Err(err) = written {
                    eprintln!("error: cannot write {}: {err}", path.display());
                    return ExitCode::from(2);
                }
            }
            if json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => println!("{text}"),
                    Err(err) => {
                        eprintln!("error: {err}");
                        return ExitCode::from(2);
                    }
                }
            } else {
                print!("{}", report.table());
            }
            if report.all_identical() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let progress = !cli.json;
    let say = |what: &str| {
        if progress {
            eprintln!("… {what}");
        }
    };
    let work = tempfile::tempdir()?;
    // Children live until the report is made.
    let mut children: Vec<ChildServer> = Vec::new();

    let mut a = match &cli.a {
        Some(url) => {
            let users = servers::users_of(url, cli.a_users.as_deref()).await?;
            Server::new("A", "the server given as --a".to_owned(), url, users)
        }
        None => {
            let place = match cli.plugin_place() {
                Ok(place) => place,
                Err(sentence) => return Ok(Outcome::Skipped(sentence)),
            };
            say("starting the plugin's code");
            let users_json = work.path().join("plugin-users.json");
            let child = ChildServer::start_plugin(
                &place.harness,
                &place.upstream,
                work.path(),
                &users_json,
            )?;
            let users = plugin_users::read_users(&users_json)?;
            let server = Server::new(
                "A",
                "the released plugin's code (started here)".to_owned(),
                &child.url,
                users,
            );
            children.push(child);
            server
        }
    };

    let mut b = match &cli.b {
        Some(url) => {
            let users = servers::users_of(url, cli.b_users.as_deref()).await?;
            Server::new("B", "the server given as --b".to_owned(), url, users)
        }
        None => {
            say(&format!("starting the mock (--compat {})", cli.compat));
            let binary = zulip_calls_e2e::mock_binary::mock_binary(
                cli.mock_bin.clone(),
                "build it with `cargo build -p zulip-calls-mock` (or pass --mock-bin)",
            )?;
            let names = servers::realm_names(&a.url, &a.users).await;
            let name_of = |url: &str| {
                names
                    .iter()
                    .find(|(u, _)| u == url)
                    .map_or_else(|| "Realm".to_owned(), |(_, n)| n.clone())
            };
            let realm = plugin_users::realm_toml(&a.users, &name_of);
            let child =
                ChildServer::start_mock(&binary, work.path(), &realm, &cli.compat, &cli.mock_env)
                    .context("cannot start the mock")?;
            let users: Vec<PluginUser> = a
                .users
                .iter()
                .map(|u| PluginUser {
                    realm: plugin_users::usable_realm_url(&u.realm),
                    ..u.clone()
                })
                .collect();
            let mut what = format!("zulip-calls-mock --compat {} (started here)", cli.compat);
            for (k, v) in &cli.mock_env {
                what.push_str(&format!(" {k}={v}"));
            }
            let server = Server::new("B", what, &child.url, users);
            children.push(child);
            server
        }
    };

    a.fresh = cli.a.is_none();
    b.fresh = cli.b.is_none();
    a.resettable = a.reset().await.unwrap_or(false);
    b.resettable = b.reset().await.unwrap_or(false);
    let cast = Cast::pick(&a.users, &b.users)?;
    let mut player = Player::new(&a, &b, cast, cli.ignore.clone(), progress);
    player.play(&sequence::blocks()).await?;
    let info = |s: &Server| ServerInfo {
        name: s.name,
        what: s.what.clone(),
        url: s.url.clone(),
    };
    let report = Report::new(
        info(&a),
        info(&b),
        player.blocks.clone(),
        std::mem::take(&mut player.rows),
        cli.ignore.clone(),
        std::mem::take(&mut player.notes),
    );
    drop(player);
    drop(children);
    Ok(Outcome::Done(Box::new(report)))
}
