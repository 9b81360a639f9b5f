//! The "In a call" status against a real mock server: set over the user's own, put back
//! afterwards, recovered by the next start after a crash, and never over a status the user
//! changed meanwhile. Every step waits on the `user_status` event a teammate's queue receives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use tokio::sync::mpsc;
use zulip_calls::app::own_status::OwnStatus;
use zulip_calls::backend::calls::Calls;
use zulip_calls::backend::events::{EventStream, StreamItem, StreamOptions};
use zulip_calls::backend::own_status::{StatusKeeper, StatusMemory};
use zulip_calls_protocol::endpoint::Empty;
use zulip_calls_protocol::zulip::{
    GetUserStatus, UpdateStatus, UpdateStatusRequest, UserStatus, UserStatusEvent,
};
use zulip_calls_protocol::{Dialect, UserId};

const HAMLET: &str = "hamlet@zulip.com";
const OTHELLO: &str = "othello@zulip.com";

/// Othello's view of statuses: his event queue, `user_status` only.
struct Watcher {
    _handle: EventStream,
    items: mpsc::Receiver<StreamItem>,
}

impl Watcher {
    async fn start(server: &common::TestServer) -> Watcher {
        let calls = Calls::new(server.api(OTHELLO), Dialect::Design);
        let options = StreamOptions {
            event_types: Some(vec!["user_status".to_owned()]),
            ..StreamOptions::default()
        };
        let (handle, mut items) = EventStream::spawn(calls, options);
        // Registered once the first snapshot of calls arrives.
        loop {
            let item = items.recv().await.expect("the stream ended");
            if matches!(item, StreamItem::Resynced(_)) {
                break;
            }
        }
        Watcher {
            _handle: handle,
            items,
        }
    }

    /// The next status change of `user`.
    async fn next_of(&mut self, user: UserId) -> UserStatus {
        loop {
            let item = tokio::time::timeout(Duration::from_secs(10), self.items.recv())
                .await
                .expect("no status change")
                .expect("the stream ended");
            if let StreamItem::Event(event) = item
                && let Some(change) = UserStatusEvent::from_queue_event(&event)
                && change.user_id == user
            {
                return change.status;
            }
        }
    }
}

async fn status_of(server: &common::TestServer, user: UserId) -> UserStatus {
    server
        .api(OTHELLO)
        .request::<GetUserStatus>(&user, &Empty {})
        .await
        .unwrap()
        .status
}

async fn set_by_hand(server: &common::TestServer, text: &str, emoji: Option<(&str, &str)>) {
    let request = UpdateStatusRequest {
        status_text: Some(text.to_owned()),
        away: None,
        emoji_name: emoji.map(|(name, _)| name.to_owned()),
        emoji_code: emoji.map(|(_, code)| code.to_owned()),
        reaction_type: emoji.map(|_| "unicode_emoji".to_owned()),
    };
    server
        .api(HAMLET)
        .request::<UpdateStatus>(&(), &request)
        .await
        .unwrap();
}

fn keeper(server: &common::TestServer, memory: &StatusMemory) -> StatusKeeper {
    StatusKeeper::spawn(
        server.api(HAMLET),
        server.user_id(HAMLET),
        Some((memory.clone(), "hamlet".to_owned())),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_call_replaces_the_users_status_and_gives_it_back() {
    let server = common::start_server().await;
    let hamlet = server.user_id(HAMLET);
    let dir = tempfile::tempdir().unwrap();
    let memory = StatusMemory::in_dir(dir.path());
    set_by_hand(&server, "Coffee break", Some(("coffee", "2615"))).await;
    let own = status_of(&server, hamlet).await;
    let mut othello = Watcher::start(&server).await;

    let status = keeper(&server, &memory);
    status.want(Some(OwnStatus::InCall));
    let during = othello.next_of(hamlet).await;
    assert_eq!(during.status_text.as_deref(), Some("In a call"));
    assert_eq!(during.emoji_name.as_deref(), Some("phone"));
    assert_eq!(
        memory.recall("hamlet").unwrap().previous,
        own,
        "kept on disk"
    );
    // Do-not-disturb instead, then nothing: the user's own comes back.
    status.want(Some(OwnStatus::DoNotDisturb));
    let dnd = othello.next_of(hamlet).await;
    assert_eq!(dnd.status_text.as_deref(), Some("Do not disturb"));
    status.want(None);
    othello.next_of(hamlet).await;
    assert_eq!(status_of(&server, hamlet).await, own);
    status.finish().await;
    assert_eq!(memory.recall("hamlet"), None, "nothing left to put back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_start_after_a_crash_puts_the_old_status_back() {
    let server = common::start_server().await;
    let hamlet = server.user_id(HAMLET);
    let dir = tempfile::tempdir().unwrap();
    let memory = StatusMemory::in_dir(dir.path());
    set_by_hand(&server, "Writing", None).await;
    let own = status_of(&server, hamlet).await;
    let mut othello = Watcher::start(&server).await;

    let crashed = keeper(&server, &memory);
    crashed.want(Some(OwnStatus::InCall));
    othello.next_of(hamlet).await;
    // Killed mid-call: nothing more is sent.
    drop(crashed);
    assert_eq!(
        status_of(&server, hamlet).await.status_text.as_deref(),
        Some("In a call")
    );
    // The next start: no call, so none of ours is wanted, and the old one is put back.
    let next = keeper(&server, &memory);
    next.want(None);
    let back = othello.next_of(hamlet).await;
    assert_eq!(back.status_text.as_deref(), Some("Writing"));
    assert_eq!(status_of(&server, hamlet).await, own);
    next.finish().await;
    assert_eq!(memory.recall("hamlet"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_changed_by_hand_meanwhile_is_left_alone() {
    let server = common::start_server().await;
    let hamlet = server.user_id(HAMLET);
    let dir = tempfile::tempdir().unwrap();
    let memory = StatusMemory::in_dir(dir.path());
    let mut othello = Watcher::start(&server).await;

    let status = keeper(&server, &memory);
    status.want(Some(OwnStatus::InCall));
    othello.next_of(hamlet).await;
    set_by_hand(&server, "Out to lunch", None).await;
    othello.next_of(hamlet).await;
    // Quitting: the keeper finishes what it does before returning.
    status.finish().await;
    assert_eq!(
        status_of(&server, hamlet).await.status_text.as_deref(),
        Some("Out to lunch")
    );
    assert_eq!(memory.recall("hamlet"), None);
}
