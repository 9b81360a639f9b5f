//! The `zulip-calls-mock serve` process killed with SIGKILL in the middle of its work and
//! started again on the same SQLite file: no call, history entry or audit line is lost, every
//! pending deadline still fires at its own time, and an event stream of the client library
//! reconnects on its own and goes on receiving new calls.
//!
//! The binary is looked up next to the test executable (`target/<profile>/zulip-calls-mock`);
//! `cargo test --workspace` builds it, `cargo build -p zulip-calls-mock` does too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use zulip_calls::backend::api::{ApiClient, Credentials, ServerAddress};
use zulip_calls::backend::events::{
    ConnectionState, EventStream, StreamItem, StreamOptions, Transport, TransportPreference,
};
use zulip_calls_protocol::{CallEventType, CallId, Timestamp};

/// How long a test waits for one thing (a stream item, a request) before failing.
const WAIT: Duration = Duration::from_secs(20);

const RING_TIMEOUT: i64 = 30;
const NOTIFICATION_TIMEOUT: i64 = 60;
const MAX_DURATION: i64 = 120;

/// Further than the latest deadline of any call (all were placed within 20 s).
const PAST_EVERY_DEADLINE: f64 = 200.0;

/// Where the virtual clock starts.
const CLOCK_START: &str = "2026-03-02T09:00:00Z";

/// The `zulip-calls-mock` binary of the build these tests belong to.
fn mock_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/crash_restart-<hash> → target/<profile>/zulip-calls-mock
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable is not in target/<profile>/deps");
    let binary = profile_dir.join(format!("zulip-calls-mock{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: run `cargo build -p zulip-calls-mock` first (`cargo test --workspace` \
         builds it)",
        binary.display()
    );
    binary
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// A running `serve` process; dropping it kills it, so a failed test leaves none behind.
struct Serve {
    child: Child,
    url: String,
    stderr: Option<JoinHandle<String>>,
    _stdout: JoinHandle<String>,
}

impl Serve {
    /// Starts `serve` with `args` and the short deadlines, and waits for the line saying
    /// where it listens.
    fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(mock_binary())
            .arg("serve")
            .args(args)
            .env("CALL_RING_TIMEOUT", RING_TIMEOUT.to_string())
            .env(
                "CALL_NOTIFICATION_TIMEOUT",
                NOTIFICATION_TIMEOUT.to_string(),
            )
            .env("CALL_MAX_DURATION", MAX_DURATION.to_string())
            .env_remove("MOCK_ADMIN_TOKEN")
            .env_remove("PUSH_WEBHOOK_URL")
            .env("RUST_LOG", "zulip_calls_mock=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = drain(child.stderr.take().unwrap());
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        let _ = out.read_line(&mut first);
        let Some(url) = first
            .strip_prefix("zulip-calls-mock serving ")
            .and_then(|rest| rest.split_whitespace().next())
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve did not start: {first:?}\n{}", stderr.join().unwrap());
        };
        Serve {
            url: url.to_owned(),
            _stdout: drain(out),
            stderr: Some(stderr),
            child,
        }
    }

    /// Kills the process with SIGKILL: no shutdown code of the server runs.
    fn kill_9(mut self) -> String {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "not killed by SIGKILL: {status:?}"
        );
        self.stderr.take().unwrap().join().unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that nothing listens on now, for a server that must come back at the same address.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A user of the generated realm.
#[derive(Debug, Clone)]
struct User {
    id: i64,
    email: String,
    key: String,
}

/// Writes a realm file with `count` users (ids from 100) and returns them.
fn write_realm(dir: &Path, count: usize) -> (PathBuf, Vec<User>) {
    let mut text = String::from(
        "[[realm]]\nname = \"Crash Test\"\nurl = \"http://localhost:9991\"\n\n\
         [[realm.user]]\nid = 99\nemail = \"admin@crash.test\"\nfull_name = \"Admin\"\n\
         api_key = \"adminCrashTestKeyxxxxxxxxxxxxx99\"\nadmin = true\n\n",
    );
    let users: Vec<User> = (0..count)
        .map(|i| User {
            id: 100 + i64::try_from(i).unwrap(),
            email: format!("user{i}@crash.test"),
            key: format!("crashTestKey{i:04}xxxxxxxxxxxxxxxx"),
        })
        .collect();
    for user in &users {
        text.push_str(&format!(
            "[[realm.user]]\nid = {}\nemail = \"{}\"\nfull_name = \"User {}\"\napi_key = \"{}\"\n\n",
            user.id, user.email, user.id, user.key
        ));
    }
    let path = dir.join("realm.toml");
    std::fs::write(&path, text).unwrap();
    (path, users)
}

/// Plugin and control API requests against one server address.
#[derive(Clone)]
struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    fn new(base: &str) -> Http {
        Http {
            base: base.to_owned(),
            client: reqwest::Client::builder().timeout(WAIT).build().unwrap(),
        }
    }

    async fn answer(response: reqwest::Response) -> (u16, Value) {
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// `POST /api/v1/<path>` as `who`; a transport error (the server is gone) is an `Err`.
    async fn try_post(
        &self,
        who: &User,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<(u16, Value), reqwest::Error> {
        let response = self
            .client
            .post(format!("{}/api/v1/{path}", self.base))
            .basic_auth(&who.email, Some(&who.key))
            .form(form)
            .send()
            .await?;
        Ok(Http::answer(response).await)
    }

    /// `POST /api/v1/<path>` as `who`, which must succeed.
    async fn post(&self, who: &User, path: &str, form: &[(&str, &str)]) -> Value {
        let (status, body) = self.try_post(who, path, form).await.unwrap();
        assert_eq!(status, 200, "POST {path} {form:?} as {}: {body}", who.email);
        body
    }

    /// `GET /api/v1/<path>` as `who`, which must succeed.
    async fn get(&self, who: &User, path: &str, query: &[(&str, &str)]) -> Value {
        let response = self
            .client
            .get(format!("{}/api/v1/{path}", self.base))
            .basic_auth(&who.email, Some(&who.key))
            .query(query)
            .send()
            .await
            .unwrap();
        let (status, body) = Http::answer(response).await;
        assert_eq!(status, 200, "GET {path} {query:?} as {}: {body}", who.email);
        body
    }

    /// `GET /mock/v1/<path>`, which must succeed.
    async fn control_get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let response = self
            .client
            .get(format!("{}/mock/v1/{path}", self.base))
            .query(query)
            .send()
            .await
            .unwrap();
        let (status, body) = Http::answer(response).await;
        assert_eq!(status, 200, "GET /mock/v1/{path}: {body}");
        body
    }

    /// `POST /mock/v1/<path>` with a JSON body, which must succeed.
    async fn control_post(&self, path: &str, body: &Value) -> Value {
        let response = self
            .client
            .post(format!("{}/mock/v1/{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let (status, answer) = Http::answer(response).await;
        assert_eq!(status, 200, "POST /mock/v1/{path} {body}: {answer}");
        answer
    }

    async fn start_call(&self, from: &User, to: &User) -> String {
        let body = self
            .post(from, "calls/start", &[("user_id", &to.id.to_string())])
            .await;
        body["call_id"].as_str().unwrap().to_owned()
    }

    async fn advance(&self, seconds: f64) -> Value {
        self.control_post("clock/advance", &json!({ "seconds": seconds }))
            .await
    }

    async fn now(&self) -> String {
        let clock = self.control_get("clock", &[]).await;
        assert_eq!(clock["virtual"], true, "{clock}");
        clock["now"].as_str().unwrap().to_owned()
    }

    /// The control API's view of a call: the call and its audit log.
    async fn call(&self, call_id: &str) -> (Value, Vec<Value>) {
        let body = self.control_get(&format!("calls/{call_id}"), &[]).await;
        (
            body["call"].clone(),
            body["audit"].as_array().unwrap().clone(),
        )
    }

    /// Every call the server holds.
    async fn all_calls(&self) -> Vec<Value> {
        let body = self.control_get("calls", &[("limit", "10000")]).await;
        body["calls"].as_array().unwrap().clone()
    }

    /// The call ids in `who`'s history, and its `total`.
    async fn history(&self, who: &User) -> (BTreeSet<String>, u64) {
        let body = self.get(who, "calls/history", &[("limit", "200")]).await;
        assert_eq!(body["has_more"], false, "{body}");
        let ids = body["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["call_id"].as_str().unwrap().to_owned())
            .collect();
        (ids, body["total"].as_u64().unwrap())
    }
}

fn time(value: &Value) -> Timestamp {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .parse()
        .unwrap()
}

fn is_terminal(state: &str) -> bool {
    ["rejected", "timeout", "ended", "missed", "cancelled"].contains(&state)
}

/// Whether a call seen in state `before` may be in state `after` later.
fn may_follow(before: &str, after: &str) -> bool {
    match before {
        "calling" => true,
        "ringing" => after != "calling",
        "accepted" => ["accepted", "ended"].contains(&after),
        terminal => after == terminal,
    }
}

/// What a call was made into before the kill, and how it must end after the restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Left `calling`: rings out (`timeout`) `RING_TIMEOUT` after it was created.
    Calling,
    /// Acknowledged: `missed` `NOTIFICATION_TIMEOUT` after it was created.
    Ringing,
    /// Accepted: ended with `max_duration` `MAX_DURATION` after the answer.
    Accepted,
    /// Accepted and hung up before the kill: stays as it was.
    Ended,
}

const KINDS: [Kind; 4] = [Kind::Calling, Kind::Ringing, Kind::Accepted, Kind::Ended];

/// One pair's current call, placed and brought to its state before the kill.
#[derive(Debug)]
struct Placed {
    kind: Kind,
    call_id: String,
    caller: usize,
    receiver: usize,
}

/// What a load task learned before the server died: every call it placed, with the last
/// state an answer confirmed.
type Confirmed = Vec<(String, String)>;

/// One request of a lifecycle: who sends it, where, an extra parameter, and the state its
/// success confirms.
type Step<'a> = (
    &'a User,
    &'static str,
    Option<(&'static str, &'static str)>,
    &'static str,
);

/// Runs full call lifecycles between `caller` and `receiver` until a request fails; reports
/// each finished lifecycle on `done`. Returns what was confirmed and whether it stopped on a
/// transport error (the server gone) rather than on a wrong answer.
async fn churn(
    http: Http,
    caller: User,
    receiver: User,
    done: mpsc::UnboundedSender<()>,
) -> (Confirmed, Result<(), String>) {
    let mut confirmed: Confirmed = Vec::new();
    let receiver_id = receiver.id.to_string();
    loop {
        let started = http
            .try_post(&caller, "calls/start", &[("user_id", &receiver_id)])
            .await;
        let call_id = match started {
            Ok((200, body)) => body["call_id"].as_str().unwrap().to_owned(),
            Ok((status, body)) => return (confirmed, Err(format!("start: {status} {body}"))),
            Err(_) => return (confirmed, Ok(())),
        };
        confirmed.push((call_id.clone(), "calling".to_owned()));
        let steps: [Step<'_>; 4] = [
            (&receiver, "calls/acknowledge", None, "ringing"),
            (
                &receiver,
                "calls/respond",
                Some(("response", "accept")),
                "accepted",
            ),
            (
                &caller,
                "calls/status",
                Some(("status", "muted")),
                "accepted",
            ),
            (&caller, "calls/end", None, "ended"),
        ];
        for (who, path, extra, state) in steps {
            let mut form = vec![("call_id", call_id.as_str())];
            form.extend(extra);
            match http.try_post(who, path, &form).await {
                Ok((200, _)) => confirmed.last_mut().unwrap().1 = state.to_owned(),
                Ok((status, body)) => {
                    return (confirmed, Err(format!("{path}: {status} {body}")));
                }
                Err(_) => return (confirmed, Ok(())),
            }
        }
        if done.send(()).is_err() {
            return (confirmed, Ok(()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_nothing_and_fires_every_deadline_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    // 60 pairs with a call each (and one in their history before it), 8 pairs making calls
    // while the server is killed, 4 users long-polling then.
    const PAIRS: usize = 60;
    const CHURN_PAIRS: usize = 8;
    const POLLERS: usize = 4;
    let (realm, users) = write_realm(dir.path(), 2 * PAIRS + 2 * CHURN_PAIRS + POLLERS);
    let db = dir.path().join("mock.sqlite3");
    let realm_arg = realm.display().to_string();
    let db_arg = db.display().to_string();
    let server = Serve::start(&[
        "--bind",
        "127.0.0.1:0",
        "--db",
        &db_arg,
        "--realm",
        &realm_arg,
        "--clock-start",
        CLOCK_START,
    ]);
    let http = Http::new(&server.url);

    // Every pair first makes a call that ends (rejected or hung up), then one that is left in
    // its pair's state. The clock moves a quarter second between calls, so every deadline
    // has its own instant (15 s in all: none is due yet).
    let mut placed = Vec::new();
    for pair in 0..PAIRS {
        let (caller, receiver) = (&users[2 * pair], &users[2 * pair + 1]);
        let earlier = http.start_call(caller, receiver).await;
        if pair % 2 == 0 {
            http.post(
                receiver,
                "calls/respond",
                &[("call_id", &earlier), ("response", "reject")],
            )
            .await;
        } else {
            http.post(
                receiver,
                "calls/respond",
                &[("call_id", &earlier), ("response", "accept")],
            )
            .await;
            http.post(receiver, "calls/end", &[("call_id", &earlier)])
                .await;
        }
        let kind = KINDS[pair % KINDS.len()];
        let call_id = http.start_call(caller, receiver).await;
        let id = [("call_id", call_id.as_str())];
        let accept = [("call_id", call_id.as_str()), ("response", "accept")];
        match kind {
            Kind::Calling => {}
            Kind::Ringing => {
                http.post(receiver, "calls/acknowledge", &id).await;
            }
            Kind::Accepted => {
                http.post(receiver, "calls/acknowledge", &id).await;
                http.post(receiver, "calls/respond", &accept).await;
                http.post(
                    caller,
                    "calls/status",
                    &[("call_id", &call_id), ("status", "muted")],
                )
                .await;
            }
            Kind::Ended => {
                http.post(receiver, "calls/respond", &accept).await;
                http.advance(0.1).await;
                http.post(caller, "calls/end", &id).await;
            }
        }
        placed.push(Placed {
            kind,
            call_id,
            caller: 2 * pair,
            receiver: 2 * pair + 1,
        });
        let fired = http.advance(0.25).await;
        assert_eq!(fired["fired"], json!([]), "nothing is due yet: {fired}");
    }

    // What the server holds now, before any request races the kill.
    let before_calls: BTreeMap<String, (Value, Vec<Value>)> = {
        let mut calls = BTreeMap::new();
        for call in http.all_calls().await {
            let call_id = call["call_id"].as_str().unwrap().to_owned();
            let (call, audit) = http.call(&call_id).await;
            calls.insert(call_id, (call, audit));
        }
        calls
    };
    assert_eq!(before_calls.len(), 2 * PAIRS);
    let mut before_history = Vec::new();
    for user in &users[..2 * PAIRS] {
        let (ids, total) = http.history(user).await;
        assert_eq!(total, 2, "{}: two calls each", user.email);
        before_history.push((ids, total));
    }
    let now_before_kill = http.now().await;

    // Requests in flight when the process dies: long-polls held open, and pairs running
    // call lifecycles as fast as the server answers.
    let poll_users = &users[2 * PAIRS + 2 * CHURN_PAIRS..];
    let mut polls = Vec::new();
    for user in poll_users {
        let queue = http
            .post(user, "register", &[("event_types", r#"["call_event"]"#)])
            .await;
        let queue_id = queue["queue_id"].as_str().unwrap().to_owned();
        let (http, user) = (http.clone(), user.clone());
        polls.push(tokio::spawn(async move {
            http.client
                .get(format!("{}/api/v1/events", http.base))
                .basic_auth(&user.email, Some(&user.key))
                .query(&[("queue_id", queue_id.as_str()), ("last_event_id", "-1")])
                .send()
                .await
                .map(|response| response.status().as_u16())
        }));
    }
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let mut churners = Vec::new();
    for pair in 0..CHURN_PAIRS {
        let caller = users[2 * PAIRS + 2 * pair].clone();
        let receiver = users[2 * PAIRS + 2 * pair + 1].clone();
        churners.push(tokio::spawn(churn(
            http.clone(),
            caller,
            receiver,
            done_tx.clone(),
        )));
    }
    drop(done_tx);
    // Kill once the pairs have finished 3 lifecycles each on average and every long-poll is
    // being held.
    for _ in 0..3 * CHURN_PAIRS {
        tokio::time::timeout(WAIT, done_rx.recv())
            .await
            .expect("the load made no progress")
            .expect("every load task stopped before the kill");
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let queues = http.control_get("queues", &[]).await;
        let held = queues["queues"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|q| q["long_polling"] == true)
            .count();
        if held == POLLERS {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the long-polls are not held: {queues}"
        );
        tokio::task::yield_now().await;
    }
    let _stderr = server.kill_9();

    // Every request that was open fails; none hangs.
    for poll in polls {
        let outcome = poll.await.unwrap();
        assert!(
            outcome.is_err(),
            "a long-poll answered after SIGKILL: {outcome:?}"
        );
    }
    let mut churned = Vec::new();
    for churner in churners {
        let (confirmed, outcome) = churner.await.unwrap();
        outcome.expect("a wrong answer before the kill");
        assert!(!confirmed.is_empty());
        churned.extend(confirmed);
    }

    // The same database, the clock where it stood.
    let server = Serve::start(&[
        "--bind",
        "127.0.0.1:0",
        "--db",
        &db_arg,
        "--realm",
        &realm_arg,
        "--clock-start",
        &now_before_kill,
    ]);
    let http = Http::new(&server.url);
    assert_eq!(
        time(&json!(http.now().await)).unix_millis(),
        time(&json!(now_before_kill)).unix_millis()
    );

    // Nothing lost: the calls of before, exactly as they were, audit logs included...
    let after_calls: BTreeMap<String, Value> = http
        .all_calls()
        .await
        .into_iter()
        .map(|call| (call["call_id"].as_str().unwrap().to_owned(), call))
        .collect();
    for (call_id, (call, audit)) in &before_calls {
        let (after, after_audit) = http.call(call_id).await;
        assert_eq!(&after, call, "call {call_id} changed across the restart");
        assert_eq!(
            &after_audit, audit,
            "audit of {call_id} changed across the restart"
        );
        assert!(after_calls.contains_key(call_id));
    }
    // ...the histories...
    for (user, (ids, total)) in users.iter().zip(&before_history) {
        assert_eq!(
            &http.history(user).await,
            &(ids.clone(), *total),
            "{}",
            user.email
        );
    }
    // ...and every call of the load whose answer came back, in that state or a later one.
    let churn_ids: BTreeSet<&str> = churned.iter().map(|(id, _)| id.as_str()).collect();
    for (call_id, confirmed_state) in &churned {
        let call = after_calls
            .get(call_id)
            .unwrap_or_else(|| panic!("call {call_id} ({confirmed_state}) lost in the kill"));
        let state = call["state"].as_str().unwrap();
        assert!(
            may_follow(confirmed_state, state),
            "call {call_id} was {confirmed_state} before the kill, {state} after"
        );
    }
    // A call whose start was in flight may or may not exist; nothing else is new.
    let unconfirmed: Vec<&Value> = after_calls
        .iter()
        .filter(|(id, _)| !before_calls.contains_key(*id) && !churn_ids.contains(id.as_str()))
        .map(|(_, call)| call)
        .collect();
    assert!(
        unconfirmed.len() <= CHURN_PAIRS,
        "calls nobody placed: {unconfirmed:#?}"
    );
    for churn_user in &users[2 * PAIRS..2 * PAIRS + 2 * CHURN_PAIRS] {
        let (_, total) = http.history(churn_user).await;
        let known = churned
            .iter()
            .filter(|(id, _)| {
                let call = &after_calls[id];
                call["sender_id"] == churn_user.id || call["receiver_id"] == churn_user.id
            })
            .count();
        let total = usize::try_from(total).unwrap();
        assert!(
            (known..=known + 1).contains(&total),
            "{}: {known} calls known, {total} in history",
            churn_user.email
        );
    }

    // Every deadline still fires, at its own time: queues for both parties of each pending
    // call, then time moves past all of them.
    let mut queues = BTreeMap::new();
    for p in placed.iter().filter(|p| p.kind != Kind::Ended) {
        for index in [p.caller, p.receiver] {
            let user = &users[index];
            let queue = http
                .post(user, "register", &[("event_types", r#"["call_event"]"#)])
                .await;
            queues.insert(index, queue["queue_id"].as_str().unwrap().to_owned());
        }
    }
    let pending: Vec<&Value> = after_calls
        .values()
        .filter(|call| !is_terminal(call["state"].as_str().unwrap()))
        .collect();
    let expected_fired: BTreeSet<(String, &str)> = pending
        .iter()
        .map(|call| {
            let action = match call["state"].as_str().unwrap() {
                "calling" => "ring_timeout",
                "ringing" => "notification_timeout",
                "accepted" => "max_duration",
                other => panic!("{other}"),
            };
            (call["call_id"].as_str().unwrap().to_owned(), action)
        })
        .collect();
    assert!(expected_fired.len() >= 3 * PAIRS / 4);
    let zero = http.advance(0.0).await;
    assert_eq!(zero["fired"], json!([]), "nothing was overdue: {zero}");
    let moved = http.advance(PAST_EVERY_DEADLINE).await;
    let fired: Vec<(String, String)> = moved["fired"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["call_id"].is_null())
        .map(|f| {
            (
                f["call_id"].as_str().unwrap().to_owned(),
                f["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let fired_set: BTreeSet<(String, &str)> = fired
        .iter()
        .map(|(id, a)| (id.clone(), a.as_str()))
        .collect();
    assert_eq!(
        fired.len(),
        fired_set.len(),
        "a deadline fired twice: {moved}"
    );
    assert_eq!(fired_set, expected_fired, "{moved}");

    for p in &placed {
        let (call, _) = http.call(&p.call_id).await;
        let (state, reason, at) = match p.kind {
            Kind::Calling => (
                "timeout",
                "timeout",
                time(&call["created_at"]).plus_seconds(RING_TIMEOUT),
            ),
            Kind::Ringing => (
                "missed",
                "missed",
                time(&call["created_at"]).plus_seconds(NOTIFICATION_TIMEOUT),
            ),
            Kind::Accepted => (
                "ended",
                "max_duration",
                time(&call["answered_at"]).plus_seconds(MAX_DURATION),
            ),
            Kind::Ended => {
                assert_eq!(&call, &before_calls[&p.call_id].0);
                continue;
            }
        };
        assert_eq!(call["state"], state, "{call}");
        assert_eq!(call["end_reason"], reason, "{call}");
        assert_eq!(
            time(&call["ended_at"]).unix_millis(),
            at.unix_millis(),
            "{call}"
        );
        // Both parties were told.
        for index in [p.caller, p.receiver] {
            let user = &users[index];
            let events = http
                .get(
                    user,
                    "events",
                    &[
                        ("queue_id", queues[&index].as_str()),
                        ("dont_block", "true"),
                    ],
                )
                .await;
            let ended: Vec<&Value> = events["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["type"] == "call_event" && e["call_id"] == p.call_id.as_str())
                .collect();
            assert_eq!(ended.len(), 1, "{}: {events}", user.email);
            assert_eq!(ended[0]["event_type"], "call_ended");
            assert_eq!(ended[0]["reason"], reason);
        }
    }
    for state in ["calling", "ringing", "accepted"] {
        let left = http.control_get("calls", &[("state", state)]).await;
        assert_eq!(left["calls"], json!([]), "still {state}");
    }
    for user in &users {
        let active = http.get(user, "calls/active", &[]).await;
        assert_eq!(active["count"], 0, "{}: {active}", user.email);
    }
    // The histories kept their length: the deadlines ended calls, they added none.
    for (user, (ids, total)) in users.iter().zip(&before_history) {
        assert_eq!(
            &http.history(user).await,
            &(ids.clone(), *total),
            "{}",
            user.email
        );
    }
    drop(server);
}

/// An event stream's items, each waited for at most `WAIT`.
async fn next_item(rx: &mut mpsc::Receiver<StreamItem>) -> StreamItem {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no stream item in time")
        .expect("the stream ended")
}

async fn expect_call_event(
    rx: &mut mpsc::Receiver<StreamItem>,
    event_type: CallEventType,
    call: &str,
) {
    match next_item(rx).await {
        StreamItem::Event(event) => {
            let call_event = event.as_call().expect("not a call event");
            assert_eq!(call_event.event_type(), event_type, "{event:?}");
            assert_eq!(call_event.call.call_id.to_string(), call, "{event:?}");
        }
        other => panic!("expected {event_type}, got {other:?}"),
    }
}

async fn stream_recovers_from_a_kill(preference: TransportPreference, transport: Transport) {
    let dir = tempfile::tempdir().unwrap();
    let (realm, users) = write_realm(dir.path(), 3);
    let db = dir.path().join("mock.sqlite3").display().to_string();
    let realm = realm.display().to_string();
    let bind = format!("127.0.0.1:{}", free_port());
    let args = ["--bind", bind.as_str(), "--db", &db, "--realm", &realm];
    let server = Serve::start(&args);
    assert_eq!(server.url, format!("http://{bind}"));
    let http = Http::new(&server.url);
    let (listener, caller, other) = (&users[0], &users[1], &users[2]);

    let credentials = Credentials {
        server: ServerAddress::parse(&server.url).unwrap(),
        email: listener.email.clone(),
        api_key: listener.key.clone(),
    };
    let options = StreamOptions {
        transport: preference,
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        ..StreamOptions::default()
    };
    let (stream, mut rx) = EventStream::spawn(ApiClient::new(&credentials).unwrap(), options);
    let connected = StreamItem::State(ConnectionState::Connected { transport });
    assert_eq!(
        next_item(&mut rx).await,
        StreamItem::State(ConnectionState::Connecting)
    );
    assert_eq!(next_item(&mut rx).await, StreamItem::Resynced(vec![]));
    assert_eq!(next_item(&mut rx).await, connected);
    let first = http.start_call(caller, listener).await;
    expect_call_event(&mut rx, CallEventType::CallStarted, &first).await;

    let _stderr = server.kill_9();
    match next_item(&mut rx).await {
        StreamItem::State(ConnectionState::Reconnecting { attempt: 1, .. }) => {}
        other => panic!("expected the first reconnect, got {other:?}"),
    }

    let server = Serve::start(&args);
    assert_eq!(server.url, format!("http://{bind}"));
    let http = Http::new(&server.url);
    // The queue died with the process: retries, then a new queue and its snapshot (the call
    // is stored, so it is still there), then connected.
    let resynced = loop {
        match next_item(&mut rx).await {
            StreamItem::State(ConnectionState::Reconnecting { .. }) => {}
            StreamItem::Resynced(calls) => break calls,
            other => panic!("expected reconnecting or a resync, got {other:?}"),
        }
    };
    let first_id: CallId = first.parse().unwrap();
    assert_eq!(
        resynced.iter().map(|c| c.call_id).collect::<Vec<_>>(),
        [first_id]
    );
    assert_eq!(next_item(&mut rx).await, connected);

    // The stream works on the new server: the old call's end, then a new call.
    http.post(listener, "calls/end", &[("call_id", &first)])
        .await;
    expect_call_event(&mut rx, CallEventType::CallEnded, &first).await;
    let second = http.start_call(other, listener).await;
    expect_call_event(&mut rx, CallEventType::CallStarted, &second).await;
    stream.shutdown().await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_stream_recovers_from_a_kill_on_its_own() {
    stream_recovers_from_a_kill(TransportPreference::WebSocketOnly, Transport::WebSocket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_stream_recovers_from_a_kill_on_its_own() {
    stream_recovers_from_a_kill(TransportPreference::LongPollOnly, Transport::LongPoll).await;
}
