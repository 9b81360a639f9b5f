//! Everything that can happen to the UI, as one type, plus the effects the UI can ask for.

use zulip_calls_protocol::calls::{EndResponse, HistoryResponse, RespondResponse, StartResponse};
use zulip_calls_protocol::{
    ActiveCall, CallId, CallState, CallType, HistoryEntry, MediaStatus, RespondAction, Timestamp,
    UserId,
};

use zulip_calls_protocol::zulip::{PresenceStatus, UpdatePresenceResponse};

use super::answer::AnswerError;
use super::group::{GroupCommand, GroupMsg};
use super::model::Teammate;
use super::presence::ReportError;
use crate::backend::events::StreamItem;
use crate::backend::keepalive::Held;

/// A key press, reduced to what the app uses, so the core does not depend on a terminal crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyInput {
    Char(char),
    Enter,
    Esc,
    Up,
    Down,
    PageUp,
    PageDown,
    Backspace,
    Tab,
    /// Shift-Tab.
    BackTab,
    CtrlC,
}

/// One input to [`super::update()`]. Command results carry errors as display strings: the core
/// only shows them.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyInput),
    /// The clock advanced (the runner sends this about every 250 ms).
    Tick(Timestamp),
    /// The terminal was resized: redraw, nothing else changes.
    Resize,
    /// From the event stream.
    Stream(StreamItem),
    Users(Result<Vec<Teammate>, String>),
    Started {
        user_id: UserId,
        result: Result<StartResponse, String>,
    },
    /// The answer to a presence report.
    PresenceReported(Result<UpdatePresenceResponse, ReportError>),
    /// Placing a call to `user_id` was refused because their own call `call_id` to me is
    /// ringing: we called each other at once.
    CallingEachOther {
        user_id: UserId,
        call_id: CallId,
    },
    Responded {
        call_id: CallId,
        action: RespondAction,
        result: Result<RespondResponse, AnswerError>,
    },
    StatusSent {
        call_id: CallId,
        status: MediaStatus,
        result: Result<(), String>,
    },
    Ended {
        call_id: CallId,
        result: Result<EndResponse, String>,
    },
    /// `end-all` finished: how many calls it ended.
    EndedAll(Result<u32, String>),
    /// A history page for the request with this `offset`.
    History {
        offset: u32,
        result: Result<HistoryResponse, String>,
    },
    ActiveLoaded(Result<Vec<ActiveCall>, String>),
    /// The calls since the time [`Command::LoadRecent`] named, newest first.
    Recent(Result<Vec<HistoryEntry>, String>),
    /// Opening the browser failed (success needs no message).
    OpenFailed(String),
    /// The browser is off (`--no-browser`): show where to join instead.
    JoinAt(String),
    /// A group request's result.
    Group(GroupMsg),
    /// The heartbeat of a held call stopped by itself: the server says the call is over, or
    /// that I am no longer in it (a group participant the server dropped hears no event).
    HeartbeatStopped(Held),
}

/// An effect for the runner: HTTP calls, the browser, notifications, the ringer.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Start {
        user_id: UserId,
        call_type: CallType,
    },
    Acknowledge(CallId),
    Respond {
        call_id: CallId,
        action: RespondAction,
    },
    SendStatus {
        call_id: CallId,
        status: MediaStatus,
    },
    End(CallId),
    EndAll,
    LoadUsers,
    LoadHistory {
        offset: u32,
        limit: u32,
        call_type: Option<CallType>,
        state: Option<CallState>,
    },
    LoadActive,
    /// Every call since `since` (for missed calls and the History chart).
    LoadRecent {
        since: Timestamp,
    },
    /// Remember, in the state directory, that History was looked at `at`.
    SaveSeen(Timestamp),
    /// A group call request.
    Group(GroupCommand),
    /// `POST users/me/presence`, fetching what changed since `last_update_id`.
    ReportPresence {
        status: PresenceStatus,
        new_user_input: bool,
        last_update_id: i64,
    },
    OpenUrl(String),
    /// Put text on the clipboard of the terminal the user sits at (OSC 52, which also works
    /// over SSH), for a join URL to paste into another device or browser.
    CopyToClipboard(String),
    /// Start the ringer (the runner rings the bell every couple of seconds until stopped).
    StartRinging,
    StopRinging,
    /// A desktop notification.
    Notify {
        title: String,
        body: String,
    },
    Quit,
}
