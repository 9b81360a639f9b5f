//! Plays the sequence against both servers, request by request: each request goes to both,
//! then each watched person's events and pushes are read back from both, and the two
//! normalised results are compared.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use zulip_calls_e2e::plugin_users::{self, PluginUser};

use crate::compare::{Difference, differences};
use crate::normalise::Normaliser;
use crate::sequence::{Arg, Block, HUMANS, Item, PathSpec, Role, Step};
use crate::servers::{Answer, Server};

/// The people the sequence's roles stand for, as emails.
#[derive(Debug, Clone)]
pub struct Cast {
    humans: Vec<String>,
    deactivated: String,
    bot: String,
    other: String,
}

impl Cast {
    /// Picks the cast from server A's users; every one of them must be on B too.
    pub fn pick(a: &[PluginUser], b: &[PluginUser]) -> anyhow::Result<Cast> {
        let realms = plugin_users::realms(a);
        let Some((_, first)) = realms.first() else {
            bail!("server A has no users");
        };
        let humans: Vec<String> = first
            .iter()
            .filter(|u| u.is_active && !u.is_bot)
            .take(HUMANS)
            .map(|u| u.email.clone())
            .collect();
        if humans.len() < HUMANS {
            bail!(
                "the sequence needs {HUMANS} active people in the first realm; server A has {}",
                humans.len()
            );
        }
        let deactivated = first
            .iter()
            .find(|u| !u.is_active)
            .context("the sequence needs a deactivated user in the first realm")?
            .email
            .clone();
        let bot = first
            .iter()
            .find(|u| u.is_bot && u.is_active)
            .context("the sequence needs a bot in the first realm")?
            .email
            .clone();
        let other = realms
            .get(1)
            .and_then(|(_, users)| users.iter().find(|u| u.is_active && !u.is_bot))
            .context("the sequence needs a person in a second realm")?
            .email
            .clone();
        let cast = Cast {
            humans,
            deactivated,
            bot,
            other,
        };
        for email in cast.all() {
            if !b.iter().any(|u| u.email.eq_ignore_ascii_case(email)) {
                bail!("{email} (a user of server A) is not among server B's users");
            }
        }
        Ok(cast)
    }

    fn all(&self) -> impl Iterator<Item = &String> {
        self.humans
            .iter()
            .chain([&self.deactivated, &self.bot, &self.other])
    }

    pub fn email(&self, role: Role) -> &str {
        match role {
            Role::Human(i) => &self.humans[i],
            Role::Deactivated => &self.deactivated,
            Role::Bot => &self.bot,
            Role::Other => &self.other,
        }
    }

    /// The short name of a role's person in the report: their email's local part.
    pub fn short(&self, role: Role) -> String {
        short(self.email(role))
    }
}

fn short(email: &str) -> String {
    email
        .split('@')
        .next()
        .unwrap_or(email)
        .to_ascii_lowercase()
}

/// One row of the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub n: usize,
    pub block: usize,
    /// The request as the sequence writes it (`POST calls/<c1>/respond response=accept`),
    /// with the acting person.
    pub request: String,
    pub who: String,
    pub status_a: Option<u16>,
    pub status_b: Option<u16>,
    /// `identical`, `different`, `one-sided` (a saved call exists on one server only,
    /// because of an earlier difference: the request went to that server alone), or
    /// `skipped` (it exists on neither: the request was not sent).
    pub verdict: &'static str,
    pub differences: Vec<Difference>,
    /// Each side's normalised status, body, events (`ev`) and pushes (`push`), for rows that
    /// are not identical.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b: Option<Value>,
    /// Each side's body as it came, for rows that are not identical.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_a: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_b: Option<Value>,
}

/// One server's state during the run.
struct Side<'a> {
    server: &'a Server,
    norm: Normaliser,
    /// Saved call ids and cursors.
    vars: HashMap<&'static str, String>,
    /// The watched people's queues: short name → (email, queue id, last event id).
    queues: BTreeMap<String, (String, String, i64)>,
    /// The newest push already read (its `seq` on the plugin's harness, `id` on the mock).
    pushes_seen: i64,
}

/// The run: blocks in order, rows as they come.
pub struct Player<'a> {
    cast: Cast,
    a: Side<'a>,
    b: Side<'a>,
    ignore: Vec<String>,
    marks: HashMap<&'static str, Instant>,
    pub rows: Vec<Row>,
    pub blocks: Vec<&'static str>,
    /// Things the reader should know (a server that could not be reset, ...).
    pub notes: Vec<String>,
    progress: bool,
}

impl<'a> Player<'a> {
    pub fn new(
        a: &'a Server,
        b: &'a Server,
        cast: Cast,
        ignore: Vec<String>,
        progress: bool,
    ) -> Player<'a> {
        let side = |server: &'a Server| {
            // Ids in A's terms; realms in A's order, matched through the people in them.
            let user_ids = server
                .users
                .iter()
                .filter_map(|u| {
                    let canonical = a.user(&u.email)?;
                    Some((u.user_id, canonical.user_id))
                })
                .collect();
            let realm_urls: Vec<String> = plugin_users::realms(&a.users)
                .iter()
                .map(|(url, members)| {
                    members
                        .iter()
                        .find_map(|m| server.user(&m.email).map(|u| u.realm.clone()))
                        .unwrap_or_else(|| url.clone())
                })
                .collect();
            let keys: Vec<String> = server.users.iter().map(|u| u.api_key.clone()).collect();
            Side {
                server,
                norm: Normaliser::new(user_ids, &realm_urls, &keys),
                vars: HashMap::new(),
                queues: BTreeMap::new(),
                pushes_seen: 0,
            }
        };
        Player {
            cast,
            a: side(a),
            b: side(b),
            ignore,
            marks: HashMap::new(),
            rows: Vec::new(),
            blocks: Vec::new(),
            notes: Vec::new(),
            progress,
        }
    }

    /// Plays every block.
    pub async fn play(&mut self, blocks: &[Block]) -> anyhow::Result<()> {
        for block in blocks {
            self.blocks.push(block.title);
            if self.progress {
                eprintln!("… block {}: {}", self.blocks.len(), block.title);
            }
            self.start_block(block).await?;
            for item in &block.items {
                match item {
                    Item::Step(step) => self.step(step).await?,
                    Item::Mark(name) => {
                        self.marks.insert(name, Instant::now());
                    }
                    Item::WaitSince(name, wait) => {
                        if let Some(at) = self.marks.get(name) {
                            let due = *at + *wait;
                            let now = Instant::now();
                            if due > now {
                                if self.progress {
                                    eprintln!(
                                        "… waiting {:.1} s for the redial cooldown to pass",
                                        (due - now).as_secs_f64()
                                    );
                                }
                                tokio::time::sleep(due - now).await;
                            }
                        }
                    }
                }
            }
            self.end_block().await;
        }
        Ok(())
    }

    /// Resets what should be reset, registers a queue and a device for each watched person,
    /// and notes where the pushes stand.
    ///
    /// Servers are reset before every block only when both can be; otherwise (the plugin's
    /// code cannot) each resettable one is reset once, before the first block, and both then
    /// keep everything, so that what one remembers (a history, a cooldown) the other does too.
    async fn start_block(&mut self, block: &Block) -> anyhow::Result<()> {
        let cast = self.cast.clone();
        let watched: Vec<String> = block
            .cast
            .iter()
            .filter(|r| **r != Role::Deactivated)
            .map(|r| cast.email(*r).to_owned())
            .collect();
        let first = self.blocks.len() == 1;
        let both = self.a.server.resettable && self.b.server.resettable;
        if first {
            for server in [self.a.server, self.b.server] {
                if !server.resettable {
                    self.notes.push(format!(
                        "server {} cannot be reset: both servers keep their state from block \
                         to block",
                        server.name
                    ));
                    if !server.fresh {
                        self.notes.push(format!(
                            "server {} was running before: its history may hold older calls of \
                             the same people",
                            server.name
                        ));
                    }
                }
            }
        }
        let reset = first || both;
        let (ra, rb) = tokio::join!(
            prepare(&mut self.a, &watched, reset),
            prepare(&mut self.b, &watched, reset)
        );
        ra?;
        rb?;
        Ok(())
    }

    async fn end_block(&mut self) {
        tokio::join!(release(&mut self.a), release(&mut self.b));
    }

    async fn step(&mut self, step: &Step) -> anyhow::Result<()> {
        let needs = step.needs();
        let on_a = needs.iter().all(|v| self.a.vars.contains_key(v));
        let on_b = needs.iter().all(|v| self.b.vars.contains_key(v));
        let request = self.describe(step);
        let who = self.cast.short(step.who);
        let n = self.rows.len() + 1;
        if !on_a && !on_b {
            // Nothing to act on anywhere (an earlier create failed on both).
            self.rows.push(Row {
                n,
                block: self.blocks.len(),
                request,
                who,
                status_a: None,
                status_b: None,
                verdict: "skipped",
                differences: Vec::new(),
                a: None,
                b: None,
                raw_a: None,
                raw_b: None,
            });
            return Ok(());
        }
        let cast = self.cast.clone();
        let (ra, rb) = tokio::join!(
            perform(&mut self.a, &cast, step, on_a),
            perform(&mut self.b, &cast, step, on_b)
        );
        let (ra, rb) = (ra?, rb?);
        let one_sided = !(on_a && on_b);
        let (differences, verdict) = match (&ra, &rb) {
            (Some((_, na)), Some((_, nb))) => {
                let found = differences(na, nb, &self.ignore);
                let verdict = if found.is_empty() {
                    "identical"
                } else {
                    "different"
                };
                (found, verdict)
            }
            _ => (Vec::new(), "one-sided"),
        };
        let keep = verdict != "identical" || one_sided;
        let status = |r: &Option<(Answer, Value)>| r.as_ref().map(|(answer, _)| answer.status);
        let row = Row {
            n,
            block: self.blocks.len(),
            request,
            who,
            status_a: status(&ra),
            status_b: status(&rb),
            verdict,
            differences,
            a: ra.as_ref().filter(|_| keep).map(|(_, n)| n.clone()),
            b: rb.as_ref().filter(|_| keep).map(|(_, n)| n.clone()),
            raw_a: ra.as_ref().filter(|_| keep).map(|(a, _)| a.body.clone()),
            raw_b: rb.as_ref().filter(|_| keep).map(|(a, _)| a.body.clone()),
        };
        if self.progress && row.verdict != "identical" {
            eprintln!("  #{} {} {}: {}", row.n, row.who, row.request, row.verdict);
        }
        self.rows.push(row);
        Ok(())
    }

    /// `<name>` of each role.
    fn names(&self, roles: &[Role]) -> Vec<String> {
        roles
            .iter()
            .map(|r| format!("<{}>", self.cast.short(*r)))
            .collect()
    }

    /// The request as the sequence writes it.
    fn describe(&self, step: &Step) -> String {
        let path = match step.path {
            PathSpec::Fixed(p) => {
                // A literal call id in a path is shown as the normaliser shows it.
                let mut norm = Normaliser::default();
                norm.string(p)
            }
            PathSpec::Call(var, action) => format!("calls/<{var}>/{action}"),
            PathSpec::Group(var, action) => format!("calls/group/<{var}>/{action}"),
        };
        let mut text = format!("{} {path}", step.method.as_str());
        for (name, arg) in &step.params {
            let value = match arg {
                Arg::Lit(v) => {
                    let mut norm = Normaliser::default();
                    norm.string(v)
                }
                Arg::Id(role) => format!("<{}>", self.cast.short(*role)),
                Arg::QuotedId(role) => format!("\"<{}>\"", self.cast.short(*role)),
                Arg::Var(v) => format!("<{v}>"),
                Arg::QuotedVar(v) => format!("\"<{v}>\""),
                Arg::Ids(roles) => self.names(roles).join(","),
                Arg::JsonIds(roles) => format!("[{}]", self.names(roles).join(",")),
            };
            text.push_str(&format!(" {name}={value}"));
        }
        if step.bad_key {
            text.push_str(" (wrong API key)");
        }
        text
    }
}

/// Resets the server when `reset` says so, registers queues and devices for `watched`, and
/// notes where the pushes stand.
async fn prepare(side: &mut Side<'_>, watched: &[String], reset: bool) -> anyhow::Result<()> {
    let server = side.server;
    let reset = reset && server.reset().await?;
    side.queues.clear();
    for email in watched {
        let user = server
            .user(email)
            .with_context(|| format!("{email} is not a user of server {}", server.name))?;
        let register = server
            .api(
                user,
                &user.api_key,
                "POST",
                "register",
                &[(
                    "event_types".to_owned(),
                    "[\"call\", \"group_call\"]".to_owned(),
                )],
            )
            .await?;
        let Some(queue_id) = register.body["queue_id"].as_str() else {
            bail!(
                "server {} refused a queue for {email}: {} {}",
                server.name,
                register.status,
                register.body
            );
        };
        side.norm.bind_queue(queue_id);
        side.queues
            .insert(short(email), (email.clone(), queue_id.to_owned(), -1));
        let device = server
            .api(
                user,
                &user.api_key,
                "POST",
                "users/me/android_gcm_reg_id",
                &[(
                    "token".to_owned(),
                    format!("zulip-calls-diff-{}", short(email)),
                )],
            )
            .await?;
        if device.status != 200 {
            bail!(
                "server {} refused a device for {email}: {} {}",
                server.name,
                device.status,
                device.body
            );
        }
    }
    // Pushes from before (an earlier block, or an earlier run) are not this block's. A reset
    // may start the numbers again.
    if reset {
        side.pushes_seen = 0;
    }
    let (_, newest) = read_pushes(side).await?;
    side.pushes_seen = newest;
    Ok(())
}

/// Deletes the block's queues (a server that cannot be reset would keep them for minutes).
async fn release(side: &mut Side<'_>) {
    let server = side.server;
    for (email, queue_id, _) in side.queues.values() {
        if let Some(user) = server.user(email) {
            let _ = server
                .api(
                    user,
                    &user.api_key,
                    "DELETE",
                    "events",
                    &[("queue_id".to_owned(), queue_id.clone())],
                )
                .await;
        }
    }
    side.queues.clear();
}

/// Sends `step` (when `send`), saves what it says to save, reads the events and pushes it
/// caused, and returns the answer and the normalised whole.
async fn perform(
    side: &mut Side<'_>,
    cast: &Cast,
    step: &Step,
    send: bool,
) -> anyhow::Result<Option<(Answer, Value)>> {
    if !send {
        return Ok(None);
    }
    let server = side.server;
    let email = cast.email(step.who);
    let user = server
        .user(email)
        .with_context(|| format!("{email} is not a user of server {}", server.name))?;
    let id_of = |role: Role| -> anyhow::Result<String> {
        let email = cast.email(role);
        Ok(server
            .user(email)
            .with_context(|| format!("{email} is not a user of server {}", server.name))?
            .user_id
            .to_string())
    };
    let ids_of = |roles: &[Role]| -> anyhow::Result<Vec<String>> {
        roles.iter().map(|r| id_of(*r)).collect()
    };
    let var = |name: &str| side.vars.get(name).cloned().unwrap_or_default();
    let path = match step.path {
        PathSpec::Fixed(p) => p.to_owned(),
        PathSpec::Call(v, action) => format!("calls/{}/{action}", var(v)),
        PathSpec::Group(v, action) => format!("calls/group/{}/{action}", var(v)),
    };
    let mut params = Vec::new();
    for (name, arg) in &step.params {
        let value = match arg {
            Arg::Lit(v) => (*v).to_owned(),
            Arg::Id(role) => id_of(*role)?,
            Arg::QuotedId(role) => format!("\"{}\"", id_of(*role)?),
            Arg::Var(v) => var(v),
            Arg::QuotedVar(v) => format!("\"{}\"", var(v)),
            Arg::Ids(roles) => ids_of(roles)?.join(","),
            Arg::JsonIds(roles) => format!("[{}]", ids_of(roles)?.join(",")),
        };
        params.push(((*name).to_owned(), value));
    }
    let key = if step.bad_key {
        "wrongApiKey000000000000000000000".to_owned()
    } else {
        user.api_key.clone()
    };
    let answer = server
        .api(user, &key, step.method.as_str(), &path, &params)
        .await?;

    if answer.status == 200 {
        if let (Some(name), Some(call_id)) = (step.save_call, answer.body["call_id"].as_str()) {
            side.vars.insert(name, call_id.to_owned());
            side.norm
                .bind_call(call_id, name, answer.body["room_name"].as_str());
        }
        if let (Some(name), Some(cursor)) = (step.save_cursor, answer.body["next_cursor"].as_str())
        {
            side.vars.insert(name, cursor.to_owned());
        }
    }

    let events = read_events(side).await?;
    let (pushes, newest) = read_pushes(side).await?;
    side.pushes_seen = side.pushes_seen.max(newest);

    let body = side.norm.value(&answer.body);
    let mut ev = serde_json::Map::new();
    for (name, list) in events {
        let list: Vec<Value> = list
            .iter()
            .map(|e| {
                let mut e = side.norm.value(e);
                // Queue positions depend on what came before; the events themselves count.
                if let Some(id) = e.get_mut("id") {
                    *id = Value::from("<id>");
                }
                e
            })
            .collect();
        ev.insert(name, Value::Array(list));
    }
    // Pushes by recipient, transport and event, so that the same push is compared with the
    // same push whatever else either server sent.
    let mut push = serde_json::Map::new();
    for p in &pushes {
        let p = side.norm.value(&common_push(side.server, p));
        let base = format!(
            "{}:{}:{}",
            short(p["to"].as_str().unwrap_or("?")).replace('.', "_"),
            p["via"].as_str().unwrap_or("?"),
            p["data"]["event"].as_str().unwrap_or("-")
        );
        let mut key = base.clone();
        let mut n = 1;
        while push.contains_key(&key) {
            n += 1;
            key = format!("{base}#{n}");
        }
        push.insert(key, p);
    }
    let whole = json!({
        "status": answer.status,
        "body": body,
        "ev": ev,
        "push": push,
    });
    Ok(Some((answer, whole)))
}

/// Each watched person's new call and group call events (heartbeats left out), by short name; the queues
/// are read at the same time.
async fn read_events(side: &mut Side<'_>) -> anyhow::Result<BTreeMap<String, Vec<Value>>> {
    let server = side.server;
    let reads = side
        .queues
        .iter()
        .map(|(name, (email, queue_id, last))| async move {
            let user = server.user(email).context("a watched user vanished")?;
            let answer = server
                .api(
                    user,
                    &user.api_key,
                    "GET",
                    "events",
                    &[
                        ("queue_id".to_owned(), queue_id.clone()),
                        ("last_event_id".to_owned(), last.to_string()),
                        ("dont_block".to_owned(), "true".to_owned()),
                    ],
                )
                .await?;
            let Some(events) = answer.body["events"].as_array().cloned() else {
                bail!(
                    "server {} did not give {email}'s events: {} {}",
                    server.name,
                    answer.status,
                    answer.body
                );
            };
            anyhow::Ok((name.clone(), events))
        });
    let mut out = BTreeMap::new();
    for read in futures_util::future::join_all(reads).await {
        let (name, events) = read?;
        let mut list = Vec::new();
        for event in events {
            if let (Some(id), Some((_, _, last))) =
                (event["id"].as_i64(), side.queues.get_mut(&name))
            {
                *last = (*last).max(id);
            }
            if event["type"] != "heartbeat" {
                list.push(event);
            }
        }
        out.insert(name, list);
    }
    Ok(out)
}

/// The pushes recorded since the last read, oldest first, and the newest one's number.
async fn read_pushes(side: &Side<'_>) -> anyhow::Result<(Vec<Value>, i64)> {
    let answer = side
        .server
        .control(
            "GET",
            "/mock/v1/pushes",
            &[("since", side.pushes_seen.to_string())],
        )
        .await?;
    let Some(list) = answer.body["pushes"].as_array() else {
        bail!(
            "server {} has no push outbox at /mock/v1/pushes: {} {}",
            side.server.name,
            answer.status,
            answer.body
        );
    };
    let number = |p: &Value| p["harness"]["seq"].as_i64().or_else(|| p["id"].as_i64());
    let mut newest = side.pushes_seen;
    let mut new = Vec::new();
    for push in list {
        let Some(n) = number(push) else { continue };
        newest = newest.max(n);
        if n > side.pushes_seen {
            new.push(push.clone());
        }
    }
    Ok((new, newest))
}

/// A push as `{to, via, data}` whichever server recorded it: the recipient's email, the
/// transport (`fcm`, `apns`, ...), and the data the device receives.
fn common_push(server: &Server, push: &Value) -> Value {
    if let Some(harness) = push.get("harness") {
        // The plugin's harness: the wire message; for FCM its `data`.
        let via = harness["transport"].as_str().unwrap_or("");
        let wire = &harness["wire"];
        let data = if via == "fcm" {
            wire["data"].clone()
        } else {
            wire.clone()
        };
        return json!({"to": harness["user"], "via": via, "data": data});
    }
    // The mock's outbox: the provider request; for FCM its message's `data`.
    let to = push["user_id"]
        .as_i64()
        .and_then(|id| server.users.iter().find(|u| u.user_id == id))
        .map_or(Value::Null, |u| Value::from(u.email.clone()));
    let via = push["request"]["provider"].as_str().unwrap_or("");
    let request = &push["request"]["request"];
    let data = if via == "fcm" {
        request["message"]["data"].clone()
    } else {
        // An APNs request's payload is its body.
        request.get("body").unwrap_or(request).clone()
    };
    json!({"to": to, "via": via, "data": data})
}
