//! The request sequence: every 1:1 and group endpoint of the 1.1 dialect, with good and bad
//! input, in blocks that leave no call behind.
//!
//! Neither server is reset in the middle of a block, and the plugin's code cannot be reset at
//! all, so the blocks are written not to disturb each other on a server that keeps everything:
//! each ends the calls it made, and a user whose call ended (the plugin then refuses their next
//! call for 5 s) places no call in the blocks right after, except where that is the point.
//!
//! People are named by role, so any users file with enough people fits: `H0`…`H6` are the
//! first seven active people of the first realm, `DEACTIVATED` and `BOT` a deactivated user and
//! a bot of that realm, `OTHER` a person of another realm.

use std::time::Duration;

/// A person of the cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The n-th active person of the first realm.
    Human(usize),
    Deactivated,
    Bot,
    /// A person of the second realm.
    Other,
}

pub const H0: Role = Role::Human(0);
pub const H1: Role = Role::Human(1);
pub const H2: Role = Role::Human(2);
pub const H3: Role = Role::Human(3);
pub const H4: Role = Role::Human(4);
pub const H5: Role = Role::Human(5);
pub const H6: Role = Role::Human(6);
pub const DEACTIVATED: Role = Role::Deactivated;
pub const BOT: Role = Role::Bot;
pub const OTHER: Role = Role::Other;

/// How many active people of the first realm the sequence needs.
pub const HUMANS: usize = 7;

/// A parameter's value.
#[derive(Debug, Clone, Copy)]
pub enum Arg {
    Lit(&'static str),
    /// The user's id on the server at hand.
    Id(Role),
    /// The user's id, JSON-quoted as the mobile app sends it (`"3"`).
    QuotedId(Role),
    /// A call id or cursor saved earlier on the server at hand.
    Var(&'static str),
    /// A saved value, JSON-quoted.
    QuotedVar(&'static str),
    /// The users' ids, comma-separated (`3,5`).
    Ids(&'static [Role]),
    /// The users' ids as a JSON list (`[3,5]`).
    JsonIds(&'static [Role]),
}

/// `GET` or `POST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A path under `/api/v1/`: fixed, or with a saved call id in it.
#[derive(Debug, Clone, Copy)]
pub enum PathSpec {
    Fixed(&'static str),
    /// `calls/{var}/{action}`.
    Call(&'static str, &'static str),
    /// `calls/group/{var}/{action}`.
    Group(&'static str, &'static str),
}

/// One request.
#[derive(Debug, Clone)]
pub struct Step {
    pub who: Role,
    pub method: Method,
    pub path: PathSpec,
    pub params: Vec<(&'static str, Arg)>,
    /// Save the answer's `call_id` under this name.
    pub save_call: Option<&'static str>,
    /// Save the answer's `next_cursor` under this name.
    pub save_cursor: Option<&'static str>,
    /// Send a wrong API key.
    pub bad_key: bool,
}

impl Step {
    fn new(who: Role, method: Method, path: PathSpec, params: &[(&'static str, Arg)]) -> Self {
        Step {
            who,
            method,
            path,
            params: params.to_vec(),
            save_call: None,
            save_cursor: None,
            bad_key: false,
        }
    }

    fn saving(mut self, name: &'static str) -> Self {
        self.save_call = Some(name);
        self
    }

    fn saving_cursor(mut self, name: &'static str) -> Self {
        self.save_cursor = Some(name);
        self
    }

    fn with_bad_key(mut self) -> Self {
        self.bad_key = true;
        self
    }

    /// The saved values the request needs.
    pub fn needs(&self) -> Vec<&'static str> {
        let mut needs: Vec<&'static str> = self
            .params
            .iter()
            .filter_map(|(_, arg)| match arg {
                Arg::Var(v) | Arg::QuotedVar(v) => Some(*v),
                _ => None,
            })
            .collect();
        if let PathSpec::Call(v, _) | PathSpec::Group(v, _) = self.path {
            needs.push(v);
        }
        needs
    }
}

/// What a block does, in order.
#[derive(Debug, Clone)]
pub enum Item {
    Step(Step),
    /// Remember when the previous request was answered.
    Mark(&'static str),
    /// Wait until this long after a mark (not at all if that is past already).
    WaitSince(&'static str, Duration),
}

/// A block: the people whose queues and devices are watched, and what they do.
#[derive(Debug, Clone)]
pub struct Block {
    pub title: &'static str,
    pub cast: Vec<Role>,
    pub items: Vec<Item>,
}

/// A block under construction.
struct B {
    block: Block,
}

impl B {
    fn new(title: &'static str, cast: &[Role]) -> Self {
        B {
            block: Block {
                title,
                cast: cast.to_vec(),
                items: Vec::new(),
            },
        }
    }

    fn step(&mut self, step: Step) -> &mut Self {
        self.block.items.push(Item::Step(step));
        self
    }

    fn post(&mut self, who: Role, path: &'static str, params: &[(&'static str, Arg)]) -> &mut Self {
        self.step(Step::new(who, Method::Post, PathSpec::Fixed(path), params))
    }

    fn get(&mut self, who: Role, path: &'static str, params: &[(&'static str, Arg)]) -> &mut Self {
        self.step(Step::new(who, Method::Get, PathSpec::Fixed(path), params))
    }

    /// `POST calls/create` saving the call as `name`.
    fn create(
        &mut self,
        who: Role,
        name: &'static str,
        params: &[(&'static str, Arg)],
    ) -> &mut Self {
        self.step(
            Step::new(who, Method::Post, PathSpec::Fixed("calls/create"), params).saving(name),
        )
    }

    /// `POST calls/{call}/{action}`.
    fn on(
        &mut self,
        who: Role,
        call: &'static str,
        action: &'static str,
        params: &[(&'static str, Arg)],
    ) -> &mut Self {
        self.step(Step::new(
            who,
            Method::Post,
            PathSpec::Call(call, action),
            params,
        ))
    }

    /// `GET calls/{call}/status`.
    fn status(&mut self, who: Role, call: &'static str) -> &mut Self {
        self.step(Step::new(
            who,
            Method::Get,
            PathSpec::Call(call, "status"),
            &[],
        ))
    }

    fn acknowledge(&mut self, who: Role, call: &'static str) -> &mut Self {
        self.post(
            who,
            "calls/acknowledge",
            &[("call_id", Arg::Var(call)), ("status", Arg::Lit("ringing"))],
        )
    }

    fn heartbeat(&mut self, who: Role, call: &'static str) -> &mut Self {
        self.post(who, "calls/heartbeat", &[("call_id", Arg::Var(call))])
    }

    fn history(&mut self, who: Role, params: &[(&'static str, Arg)]) -> &mut Self {
        self.get(who, "calls/history", params)
    }

    /// `POST calls/group/create` saving the call as `name`.
    fn group_create(
        &mut self,
        who: Role,
        name: &'static str,
        params: &[(&'static str, Arg)],
    ) -> &mut Self {
        self.step(
            Step::new(
                who,
                Method::Post,
                PathSpec::Fixed("calls/group/create"),
                params,
            )
            .saving(name),
        )
    }

    /// `POST calls/group/{call}/{action}`.
    fn group(
        &mut self,
        who: Role,
        call: &'static str,
        action: &'static str,
        params: &[(&'static str, Arg)],
    ) -> &mut Self {
        self.step(Step::new(
            who,
            Method::Post,
            PathSpec::Group(call, action),
            params,
        ))
    }

    /// `GET calls/group/{call}/{what}` (`status`, `participants`).
    fn group_get(&mut self, who: Role, call: &'static str, what: &'static str) -> &mut Self {
        self.step(Step::new(
            who,
            Method::Get,
            PathSpec::Group(call, what),
            &[],
        ))
    }

    fn mark(&mut self, name: &'static str) -> &mut Self {
        self.block.items.push(Item::Mark(name));
        self
    }

    fn wait_since(&mut self, name: &'static str, wait: Duration) -> &mut Self {
        self.block.items.push(Item::WaitSince(name, wait));
        self
    }

    fn done(&mut self) -> Block {
        self.block.clone()
    }
}

use Arg::{Id, Ids, JsonIds, Lit, QuotedId, QuotedVar, Var};

/// A well-formed call id no server knows.
const UNKNOWN_CALL: &str = "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed";

/// The plugin refuses a new call for 5 s after one of the caller's calls ended; the sequence
/// waits this long before it relies on that being over.
pub const COOLDOWN_WAIT: Duration = Duration::from_millis(5_500);

/// The whole sequence.
pub fn blocks() -> Vec<Block> {
    vec![
        history(),
        answered_call(),
        quoted_values(),
        busy_and_unknown_users(),
        strangers(),
        receiver_ends_before_answering(),
        malformed_ids(),
        after_the_cooldown(),
        group_call(),
        group_call_edges(),
    ]
}

/// Three calls between two people (declined, cancelled, answered and ended), then their
/// history: paging with a cursor, filters, bad values. First, so that these two people have
/// no other calls on a server that was fresh when the run started.
fn history() -> Block {
    let mut b = B::new(
        "history: three calls, then pages, filters and bad values",
        &[H3, H5],
    );
    b.create(H3, "h1", &[("user_id", Id(H5))])
        .on(H5, "h1", "respond", &[("response", Lit("decline"))])
        .create(
            H3,
            "h2",
            &[("user_id", Id(H5)), ("is_video_call", Lit("false"))],
        )
        .on(H3, "h2", "cancel", &[])
        .create(
            H3,
            "h3",
            &[("user_id", Id(H5)), ("is_video_call", Lit("true"))],
        )
        .acknowledge(H5, "h3")
        .on(H5, "h3", "respond", &[("response", Lit("accept"))])
        .on(H3, "h3", "end", &[])
        .history(H3, &[])
        .history(H5, &[])
        .step(
            Step::new(
                H3,
                Method::Get,
                PathSpec::Fixed("calls/history"),
                &[("limit", Lit("2"))],
            )
            .saving_cursor("page2"),
        )
        .history(H3, &[("limit", Lit("2")), ("cursor", Var("page2"))])
        .history(H3, &[("limit", Lit("1")), ("cursor", QuotedVar("page2"))])
        .history(H3, &[("call_type", Lit("audio"))])
        .history(H3, &[("call_type", Lit("video"))])
        .history(H3, &[("status", Lit("answered"))])
        .history(H3, &[("status", Lit("missed"))])
        .history(H3, &[("call_type", Lit("fax"))])
        .history(H3, &[("cursor", Lit("not-a-cursor!"))])
        .history(H3, &[("limit", Lit("abc"))])
        .history(H3, &[("limit", Lit("\"2\""))])
        .history(H3, &[("limit", Lit("0"))])
        .history(H3, &[("limit", Lit("500"))]);
    b.done()
}

/// A call answered and ended by the receiver, every wrong move around it, every endpoint on
/// the ended call, and the redial cooldown right after (both parties).
fn answered_call() -> Block {
    let mut b = B::new(
        "answered call: wrong moves, idempotent calls once ended, redial cooldown",
        &[H0, H1, H2],
    );
    b.create(
        H0,
        "c1",
        &[("user_id", Id(H1)), ("is_video_call", Lit("true"))],
    )
    .status(H0, "c1")
    .acknowledge(H1, "c1")
    .acknowledge(H1, "c1")
    .status(H1, "c1")
    .on(H0, "c1", "respond", &[("response", Lit("accept"))])
    .on(H1, "c1", "respond", &[])
    .on(H1, "c1", "respond", &[("response", Lit("maybe"))])
    .on(H1, "c1", "respond", &[("response", Lit("accept"))])
    .on(H1, "c1", "respond", &[("response", Lit("accept"))])
    .on(H0, "c1", "cancel", &[])
    .acknowledge(H1, "c1")
    .heartbeat(H0, "c1")
    .post(
        H1,
        "calls/heartbeat",
        &[("call_id", Var("c1")), ("is_backgrounded", Lit("true"))],
    )
    .status(H0, "c1")
    .on(H1, "c1", "end", &[("duration", Lit("42"))])
    .mark("cooldown")
    .on(H0, "c1", "end", &[])
    .on(H1, "c1", "respond", &[("response", Lit("accept"))])
    .on(H0, "c1", "cancel", &[])
    .acknowledge(H1, "c1")
    .heartbeat(H0, "c1")
    .status(H1, "c1")
    // The plugin: 429 for the caller and for the receiver of the call that just ended.
    .create(H0, "c2", &[("user_id", Id(H2))])
    .on(H0, "c2", "cancel", &[])
    .create(H1, "c3", &[("user_id", Id(H2))])
    .on(H1, "c3", "cancel", &[]);
    b.done()
}

/// The mobile app's JSON-quoted values: `user_id="5"`, `is_video_call="true"`, a quoted call
/// id; `acknowledge` without `status`.
fn quoted_values() -> Block {
    let mut b = B::new("the mobile app's JSON-quoted values", &[H2, H4]);
    b.create(
        H2,
        "q1",
        &[
            ("user_id", QuotedId(H4)),
            ("is_video_call", Lit("\"true\"")),
        ],
    )
    .on(H2, "q1", "cancel", &[])
    .create(
        H2,
        "q2",
        &[("user_id", Id(H4)), ("is_video_call", Lit("\"true\""))],
    )
    .post(
        H4,
        "calls/acknowledge",
        &[("call_id", QuotedVar("q2")), ("status", Lit("ringing"))],
    )
    .post(
        H4,
        "calls/acknowledge",
        &[("call_id", Var("q2")), ("status", Lit("\"ringing\""))],
    )
    .post(H4, "calls/acknowledge", &[("call_id", Var("q2"))])
    .post(H2, "calls/heartbeat", &[("call_id", QuotedVar("q2"))])
    .status(H4, "q2")
    .on(H2, "q2", "cancel", &[])
    .on(H2, "q2", "cancel", &[]);
    b.done()
}

/// Busy both ways, calling oneself, unknown, deactivated, bot and other-realm users, missing
/// and non-numeric `user_id`.
fn busy_and_unknown_users() -> Block {
    let mut b = B::new(
        "busy both ways, self-call, unknown/deactivated/bot/other-realm users",
        &[H2, H4, H6],
    );
    b.create(H4, "b1", &[("user_id", Id(H6))])
        .create(H4, "b2", &[("user_id", Id(H2))])
        .on(H4, "b2", "cancel", &[])
        .create(H2, "b3", &[("user_id", Id(H6))])
        .on(H2, "b3", "cancel", &[])
        .create(H2, "b4", &[("user_id", Id(H4))])
        .on(H2, "b4", "cancel", &[])
        .create(H6, "b5", &[("user_id", Id(H2))])
        .on(H6, "b5", "cancel", &[])
        .on(H4, "b1", "cancel", &[])
        .create(H2, "b6", &[("user_id", Id(H2))])
        .create(H2, "b7", &[("user_id", Lit("999999"))])
        .create(H2, "b8", &[("user_id", Id(DEACTIVATED))])
        .on(H2, "b8", "cancel", &[])
        .create(H2, "b9", &[("user_id", Id(OTHER))])
        .on(H2, "b9", "cancel", &[])
        .create(H2, "b10", &[])
        .create(H2, "b11", &[("user_id", Lit("abc"))])
        .create(H2, "b12", &[("user_id", Id(BOT))])
        .on(H2, "b12", "cancel", &[]);
    b.done()
}

/// A ringing call, and everyone who is not its party trying every endpoint on it: a person
/// of the same realm, one of another realm, and each party doing the other's part. The caller
/// then ends it before any answer.
fn strangers() -> Block {
    let mut b = B::new(
        "strangers and the wrong party acting; the caller ends before an answer",
        &[H6, H2, H5, OTHER],
    );
    b.create(
        H6,
        "n1",
        &[("user_id", Id(H2)), ("is_video_call", Lit("false"))],
    )
    .acknowledge(H5, "n1")
    .acknowledge(H6, "n1")
    .on(H5, "n1", "respond", &[("response", Lit("accept"))])
    .on(H5, "n1", "cancel", &[])
    .on(H2, "n1", "cancel", &[])
    .on(H5, "n1", "end", &[])
    .status(H5, "n1")
    .heartbeat(H5, "n1")
    .status(OTHER, "n1")
    .on(OTHER, "n1", "respond", &[("response", Lit("decline"))])
    .on(OTHER, "n1", "cancel", &[])
    .on(OTHER, "n1", "end", &[])
    .acknowledge(OTHER, "n1")
    .heartbeat(OTHER, "n1")
    .acknowledge(H2, "n1")
    .heartbeat(H6, "n1")
    .on(H6, "n1", "end", &[])
    .status(H2, "n1");
    b.done()
}

/// The receiver hangs up a ringing call instead of declining it.
fn receiver_ends_before_answering() -> Block {
    let mut b = B::new("the receiver ends a ringing call", &[H4, H5]);
    b.create(H4, "r1", &[("user_id", Id(H5))])
        .acknowledge(H5, "r1")
        .on(H5, "r1", "end", &[])
        .status(H4, "r1")
        .history(H5, &[("limit", Lit("1"))]);
    b.done()
}

/// Malformed and unknown call ids in every path and parameter, missing parameters, a wrong
/// API key.
fn malformed_ids() -> Block {
    let mut b = B::new(
        "malformed and unknown call ids, missing parameters, bad key",
        &[H1],
    );
    b.post(
        H1,
        "calls/not-a-uuid/respond",
        &[("response", Lit("accept"))],
    )
    .post(H1, "calls/not-a-uuid/cancel", &[])
    .post(H1, "calls/not-a-uuid/end", &[]);
    b.get(H1, "calls/not-a-uuid/status", &[])
        .post(
            H1,
            "calls/acknowledge",
            &[("call_id", Lit("not-a-uuid")), ("status", Lit("ringing"))],
        )
        .post(H1, "calls/heartbeat", &[("call_id", Lit("not-a-uuid"))])
        .post(H1, "calls/heartbeat", &[])
        .post(H1, "calls/acknowledge", &[("status", Lit("ringing"))])
        .post(H1, "calls/acknowledge", &[])
        .post(
            H1,
            "calls/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed/respond",
            &[("response", Lit("accept"))],
        )
        .post(H1, "calls/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed/cancel", &[])
        .post(H1, "calls/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed/end", &[])
        .get(H1, "calls/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed/status", &[])
        .post(
            H1,
            "calls/acknowledge",
            &[("call_id", Lit(UNKNOWN_CALL)), ("status", Lit("ringing"))],
        )
        .post(H1, "calls/heartbeat", &[("call_id", Lit(UNKNOWN_CALL))])
        .step(
            Step::new(
                H1,
                Method::Get,
                PathSpec::Fixed("calls/history"),
                &[("limit", Lit("1"))],
            )
            .with_bad_key(),
        );
    b.done()
}

/// Once the cooldown of the answered call is over, its parties call again; declined and
/// cancelled calls start no cooldown.
fn after_the_cooldown() -> Block {
    let mut b = B::new(
        "after the cooldown; declined and cancelled calls start none",
        &[H0, H1],
    );
    b.wait_since("cooldown", COOLDOWN_WAIT)
        .create(H0, "w1", &[("user_id", Id(H1))])
        .on(H1, "w1", "respond", &[("response", Lit("decline"))])
        .create(H0, "w2", &[("user_id", Id(H1))])
        .acknowledge(H1, "w2")
        .on(H0, "w2", "cancel", &[])
        .create(
            H1,
            "w3",
            &[("user_id", Id(H0)), ("is_video_call", Lit("false"))],
        )
        .on(H1, "w3", "cancel", &[]);
    b.done()
}

/// A group call from creation to its end: comma-separated invitees, join (twice), an
/// uninvited user joining, decline (twice), invitations (again, as a JSON list, empty, by an
/// invitee, of another realm's user), leave (twice, and by an invitee), a stranger and a
/// user of another realm looking, `end` by a guest, then twice by the host, and everything
/// after the end.
fn group_call() -> Block {
    let mut b = B::new(
        "group call: invitations, joins, declines, leaves, end twice, after the end",
        &[H0, H1, H2, H3, H4, H5, OTHER],
    );
    b.group_create(
        H0,
        "g1",
        &[
            ("user_ids", Ids(&[H1, H2, H3])),
            ("title", Lit("Standup")),
            ("call_type", Lit("video")),
        ],
    )
    .group_get(H0, "g1", "status")
    .group_get(H0, "g1", "participants")
    .group(H1, "g1", "join", &[])
    .group(H1, "g1", "join", &[])
    .group(H4, "g1", "join", &[])
    .group_get(H4, "g1", "status")
    .group(H2, "g1", "decline", &[])
    .group(H2, "g1", "decline", &[])
    .group(H1, "g1", "invite", &[("user_ids", Ids(&[H2, H5]))])
    .group(H1, "g1", "invite", &[("user_ids", JsonIds(&[H5]))])
    .group(H1, "g1", "invite", &[("user_ids", Lit(""))])
    .group(H3, "g1", "invite", &[("user_ids", Ids(&[H5]))])
    .group(H1, "g1", "invite", &[("user_ids", Ids(&[OTHER]))])
    .group(H1, "g1", "leave", &[])
    .group(H1, "g1", "leave", &[])
    .group(H3, "g1", "leave", &[])
    .group(H1, "g1", "end", &[])
    .group_get(OTHER, "g1", "status")
    .group(OTHER, "g1", "join", &[])
    .group_get(H5, "g1", "participants")
    .group(H0, "g1", "end", &[])
    .group(H0, "g1", "end", &[])
    .group(H4, "g1", "leave", &[])
    .group(H5, "g1", "decline", &[])
    .group(H2, "g1", "join", &[])
    .group(H1, "g1", "invite", &[("user_ids", Ids(&[H2]))])
    .group_get(H0, "g1", "status")
    .group_get(H0, "g1", "participants");
    b.done()
}

/// `group/create` with invitees as a JSON list, not numbers, of another realm only; a bad
/// call type, a bad stream; an audio call with a blank title; a participant of a group call
/// rung for a 1:1 call; malformed and unknown group call ids.
fn group_call_edges() -> Block {
    let mut b = B::new(
        "group call creation with bad input, busy across kinds, malformed ids",
        &[H6, H1, H2, OTHER],
    );
    b.group_create(H6, "e1", &[("user_ids", JsonIds(&[H1, H2]))])
        .group_get(H6, "e1", "participants")
        .group(H6, "e1", "end", &[])
        .group_create(H6, "e2", &[("user_ids", Lit("abc"))])
        .group(H6, "e2", "end", &[])
        .group_create(H6, "e3", &[("user_ids", Id(OTHER))])
        .group(H6, "e3", "end", &[])
        .group_create(H6, "e4", &[("call_type", Lit("fax"))])
        .group_create(H6, "e5", &[("stream_id", Lit("abc"))])
        .group_create(
            H6,
            "e6",
            &[
                ("user_ids", Lit(" 0 ")),
                ("call_type", Lit("AUDIO")),
                ("title", Lit("   ")),
            ],
        )
        .group(H6, "e6", "end", &[])
        .group_create(H6, "e7", &[("user_ids", Id(H1))])
        .group(H1, "e7", "join", &[])
        // The plugin rings a user joined in a group call (and lets them call).
        .create(H2, "e8", &[("user_id", Id(H1))])
        .on(H2, "e8", "cancel", &[])
        .create(H1, "e9", &[("user_id", Id(H2))])
        .on(H1, "e9", "cancel", &[])
        .group(H6, "e7", "end", &[])
        .post(H6, "calls/group/not-a-uuid/join", &[])
        .post(H6, "calls/group/not-a-uuid/invite", &[("user_ids", Id(H1))])
        .post(H6, "calls/group/not-a-uuid/leave", &[])
        .post(H6, "calls/group/not-a-uuid/decline", &[])
        .post(H6, "calls/group/not-a-uuid/end", &[])
        .get(H6, "calls/group/not-a-uuid/status", &[])
        .get(H6, "calls/group/not-a-uuid/participants", &[])
        .post(
            H6,
            "calls/group/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed/join",
            &[],
        )
        .get(
            H6,
            "calls/group/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed/status",
            &[],
        );
    b.done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_saved_value_is_saved_before_it_is_used() {
        for block in blocks() {
            let mut saved: Vec<&str> = Vec::new();
            for item in &block.items {
                if let Item::Step(step) = item {
                    for need in step.needs() {
                        assert!(
                            saved.contains(&need),
                            "{}: {need} used unsaved",
                            block.title
                        );
                    }
                    saved.extend(step.save_call);
                    saved.extend(step.save_cursor);
                }
            }
        }
    }

    #[test]
    fn the_sequence_is_long_enough() {
        let steps: usize = blocks()
            .iter()
            .map(|b| {
                b.items
                    .iter()
                    .filter(|i| matches!(i, Item::Step(_)))
                    .count()
            })
            .sum();
        assert!(steps > 100, "{steps}");
    }
}
