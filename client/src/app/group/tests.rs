//! Group call transitions, one test each, with fixed timestamps: marking, starting, the
//! invitation, joining and declining, the panel following events, leaving and ending.

use pretty_assertions::assert_eq;
use zulip_calls_protocol::plugin::CallOpUser;
use zulip_calls_protocol::plugin::group::{
    GroupCallDetail, GroupCallEvent, GroupCallState, GroupCallStatus, GroupCreateResponse,
    GroupEndReason, GroupEventParticipant, GroupInviteResponse, GroupJoinResponse, GroupLeftReason,
    GroupParticipant, GroupUser, ParticipantState,
};
use zulip_calls_protocol::{CallId, CallType, Dialect, EventId, EventKind, QueueEvent, Timestamp};
use zulip_calls_protocol::{CallState, UserId};

use super::*;
use crate::app::answer::AnswerError;
use crate::app::model::{CallPanel, Level, Model, Overlay, Teammate, View};
use crate::app::msg::{Command, KeyInput, Msg};
use crate::app::update::{Update, update};
use crate::backend::calls::Features;
use crate::backend::events::StreamItem;
use crate::backend::keepalive::Held;

const ME: UserId = UserId(1);
const ANA: UserId = UserId(2);
const BOB: UserId = UserId(3);
const CARLA: UserId = UserId(5);
const JOIN: &str = "https://meet.example.com/zulip-group-call-0123456789abcdef#jwt=mine";
const ROOM: &str = "https://meet.example.com/zulip-group-call-0123456789abcdef";

use ParticipantState::{Declined, Invited, Joined, Left, Missed, Ringing};

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_700_000_000 + secs).unwrap()
}

fn cid(n: u8) -> CallId {
    format!("00000000-0000-4000-8000-0000000000{n:02}")
        .parse()
        .unwrap()
}

fn mate(id: UserId, name: &str) -> Teammate {
    Teammate {
        user_id: id,
        name: name.to_owned(),
        email: format!("{}@example.com", name.to_lowercase()),
        is_bot: false,
    }
}

/// A model at t=0 on a server with group calls, teammates loaded: Ana, Bob, Carla (Ana
/// selected first).
fn model() -> Model {
    let mut m = Model::new(ME, ts(0)).with_features(Features::of(Dialect::V1_1));
    update(
        &mut m,
        Msg::Users(Ok(vec![
            mate(CARLA, "Carla"),
            mate(ME, "Me"),
            mate(ANA, "Ana"),
            mate(BOB, "Bob"),
        ])),
    );
    m
}

fn key(m: &mut Model, k: KeyInput) -> Update {
    update(m, Msg::Key(k))
}

fn ch(m: &mut Model, c: char) -> Update {
    key(m, KeyInput::Char(c))
}

fn typed(m: &mut Model, text: &str) {
    for c in text.chars() {
        ch(m, c);
    }
}

fn person(id: UserId, name: &str, state: ParticipantState, host: bool) -> GroupEventParticipant {
    GroupEventParticipant {
        user_id: id,
        full_name: name.to_owned(),
        avatar_url: format!("/avatar/{}", id.0),
        state,
        is_host: host,
    }
}

/// A `group_call` event about call 7 hosted by `host`, with everyone's state after it.
fn event(
    host: (UserId, &str),
    participants: Vec<GroupEventParticipant>,
    detail: GroupCallDetail,
) -> Msg {
    Msg::Stream(StreamItem::Event(QueueEvent {
        id: EventId(9),
        kind: EventKind::GroupCall(std::sync::Arc::new(GroupCallEvent {
            call_id: cid(7),
            call_type: CallType::Video,
            title: Some("Weekly sync".to_owned()),
            stream_id: None,
            topic: None,
            jitsi_url: ROOM.to_owned(),
            timestamp: ts(0),
            host: CallOpUser::new(host.0, host.1),
            participants,
            detail,
        })),
    }))
}

/// An event of my call 7 (I host it): Ana, Bob and Carla in the states given.
fn my_call_event(ana: ParticipantState, bob: ParticipantState, detail: GroupCallDetail) -> Msg {
    event(
        (ME, "Me"),
        vec![
            person(ME, "Me", Joined, true),
            person(ANA, "Ana", ana, false),
            person(BOB, "Bob", bob, false),
        ],
        detail,
    )
}

fn panel(m: &Model) -> &InGroup {
    match &m.call {
        CallPanel::Group(g) => g,
        other => panic!("expected a group call panel, got {other:?}"),
    }
}

fn invitation(m: &Model) -> &GroupInvitation {
    match &m.call {
        CallPanel::GroupInvitation(i) => i,
        other => panic!("expected a group invitation, got {other:?}"),
    }
}

fn states(m: &Model) -> Vec<(UserId, ParticipantState)> {
    panel(m)
        .members
        .iter()
        .map(|p| (p.user_id, p.state))
        .collect()
}

fn created() -> GroupCreateResponse {
    GroupCreateResponse {
        call_id: cid(7),
        call_url: JOIN.to_owned(),
        call_type: CallType::Video,
        title: Some("Weekly sync".to_owned()),
        room_name: "zulip-group-call-0123456789abcdef".to_owned(),
        host: GroupUser {
            user_id: ME,
            full_name: "Me".to_owned(),
        },
        invited_count: 2,
    }
}

/// I marked Ana and Bob, pressed `v`, typed a title and Enter: the group call is starting.
fn starting() -> (Model, Update) {
    let mut m = model();
    ch(&mut m, ' ');
    key(&mut m, KeyInput::Down);
    ch(&mut m, ' ');
    ch(&mut m, 'v');
    typed(&mut m, "Weekly sync");
    let started = key(&mut m, KeyInput::Enter);
    (m, started)
}

/// My group call with Ana and Bob, created on the server.
fn hosting() -> Model {
    let (mut m, _) = starting();
    update(&mut m, Msg::Group(GroupMsg::Started(Ok(created()))));
    m
}

/// Bob invited me to his call 7, where he is alone; Ana is invited too.
fn invited() -> Model {
    let mut m = model();
    update(
        &mut m,
        event(
            (BOB, "Bob"),
            vec![
                person(BOB, "Bob", Joined, true),
                person(ME, "Me", Invited, false),
                person(ANA, "Ana", Ringing, false),
            ],
            GroupCallDetail::ParticipantInvited {
                inviter_id: BOB,
                was_offline: false,
            },
        ),
    );
    m
}

/// I joined Bob's call 7.
fn joined_bobs_call() -> Model {
    let mut m = invited();
    ch(&mut m, 'y');
    update(
        &mut m,
        Msg::Group(GroupMsg::Joined {
            call_id: cid(7),
            result: Ok(GroupJoinResponse {
                call_url: JOIN.to_owned(),
                call_type: CallType::Video,
                title: Some("Weekly sync".to_owned()),
                participant_count: 2,
            }),
        }),
    );
    m
}

// ---------------------------------------------------------------------------------------------
// Marking and starting

#[test]
fn space_marks_and_unmarks_teammates_in_order() {
    let mut m = model();
    assert!(ch(&mut m, ' ').redraw);
    key(&mut m, KeyInput::Down);
    ch(&mut m, ' ');
    assert_eq!(m.marked, [ANA, BOB]);
    key(&mut m, KeyInput::Up);
    ch(&mut m, ' ');
    assert_eq!(m.marked, [BOB]);
    let labels: Vec<_> = m.key_hints().iter().map(|h| h.label).collect();
    assert!(labels.contains(&"group video"), "{labels:?}");
    // Esc unmarks everyone.
    key(&mut m, KeyInput::Esc);
    assert!(m.marked.is_empty());
}

#[test]
fn space_on_a_server_without_group_calls_says_so() {
    let mut m = model().with_features(Features::of(Dialect::Design));
    let u = ch(&mut m, ' ');
    assert!(m.marked.is_empty());
    assert!(u.commands.is_empty());
    let notice = m.notice.as_ref().unwrap();
    assert_eq!(
        notice.text,
        "Group calls are not available on this server (calls API design)"
    );
}

#[test]
fn v_with_marks_asks_for_a_title_then_starts_the_group_call() {
    let mut m = model();
    ch(&mut m, ' ');
    key(&mut m, KeyInput::Down);
    ch(&mut m, ' ');
    let u = ch(&mut m, 'v');
    assert!(u.commands.is_empty(), "nothing starts before the title");
    assert_eq!(
        m.overlay,
        Overlay::GroupTitle(TitlePrompt {
            call_type: CallType::Video,
            invitees: vec![ANA, BOB],
            title: String::new(),
        })
    );
    // Keys are the title's now, `q` and `?` included.
    typed(&mut m, "q? sync");
    key(&mut m, KeyInput::Backspace);
    assert!(!m.quitting);
    let Overlay::GroupTitle(prompt) = &m.overlay else {
        panic!("{:?}", m.overlay)
    };
    assert_eq!(prompt.title, "q? syn");

    let (m, started) = starting();
    assert_eq!(m.overlay, Overlay::None);
    assert_eq!(
        started.commands,
        [Command::Group(GroupCommand::Start {
            user_ids: vec![ANA, BOB],
            call_type: CallType::Video,
            title: Some("Weekly sync".to_owned()),
        })]
    );
    assert!(m.marked.is_empty(), "the marks went into the call");
    let g = panel(&m);
    assert_eq!(g.call_id, None);
    assert_eq!(g.host_id, ME);
    assert_eq!(states(&m), [(ME, Joined), (ANA, Invited), (BOB, Invited)]);
    assert!(m.call.is_active());
    assert_eq!(
        m.held(),
        None,
        "nothing to heartbeat before the call exists"
    );
}

#[test]
fn an_empty_title_is_no_title_and_esc_keeps_the_marks() {
    let mut m = model();
    ch(&mut m, ' ');
    ch(&mut m, 'a');
    key(&mut m, KeyInput::Esc);
    assert_eq!(m.overlay, Overlay::None);
    assert_eq!(m.marked, [ANA]);
    ch(&mut m, 'a');
    typed(&mut m, "   ");
    let u = key(&mut m, KeyInput::Enter);
    assert_eq!(
        u.commands,
        [Command::Group(GroupCommand::Start {
            user_ids: vec![ANA],
            call_type: CallType::Audio,
            title: None,
        })]
    );
}

#[test]
fn the_created_call_opens_my_join_url_and_is_heartbeaten() {
    let (mut m, _) = starting();
    let u = update(&mut m, Msg::Group(GroupMsg::Started(Ok(created()))));
    assert_eq!(u.commands, [Command::OpenUrl(JOIN.to_owned())]);
    assert_eq!(panel(&m).call_id, Some(cid(7)));
    assert_eq!(m.held(), Some(Held::Group(cid(7))));
    assert_eq!(m.held_call(), None, "not a 1:1 call");
    // `o` opens it again, `u` copies it.
    assert_eq!(
        ch(&mut m, 'o').commands,
        [Command::OpenUrl(JOIN.to_owned())]
    );
    assert_eq!(
        ch(&mut m, 'u').commands,
        [Command::CopyToClipboard(JOIN.to_owned())]
    );
}

#[test]
fn the_created_event_may_come_before_the_answer() {
    let (mut m, _) = starting();
    update(
        &mut m,
        my_call_event(Invited, Invited, GroupCallDetail::Created),
    );
    assert_eq!(panel(&m).call_id, Some(cid(7)));
    let u = update(&mut m, Msg::Group(GroupMsg::Started(Ok(created()))));
    assert_eq!(u.commands, [Command::OpenUrl(JOIN.to_owned())]);
}

#[test]
fn a_server_without_group_calls_ends_the_start_with_its_sentence() {
    let (mut m, _) = starting();
    let text = "this server (https://chat.example.com) has no group calls".to_owned();
    update(&mut m, Msg::Group(GroupMsg::Started(Err(text))));
    let CallPanel::Ended { summary } = &m.call else {
        panic!("{:?}", m.call)
    };
    assert_eq!(
        summary.text,
        "Could not start the group call: this server (https://chat.example.com) has no group \
         calls"
    );
    assert!(!m.call.is_active());
}

// ---------------------------------------------------------------------------------------------
// The panel follows the events

#[test]
fn each_event_sets_every_participant_s_state() {
    let mut m = hosting();
    let u = update(
        &mut m,
        my_call_event(
            Joined,
            Ringing,
            GroupCallDetail::ParticipantJoined {
                joined_user_id: ANA,
            },
        ),
    );
    assert!(u.redraw);
    assert!(u.commands.is_empty());
    assert_eq!(states(&m), [(ME, Joined), (ANA, Joined), (BOB, Ringing)]);
    assert_eq!(m.notice.as_ref().unwrap().text, "Ana joined");
    assert!(m.in_call(ANA));
    assert!(!m.in_call(BOB));

    update(
        &mut m,
        my_call_event(
            Joined,
            Declined,
            GroupCallDetail::ParticipantDeclined {
                declined_user_id: BOB,
            },
        ),
    );
    assert_eq!(states(&m), [(ME, Joined), (ANA, Joined), (BOB, Declined)]);
    assert_eq!(m.notice.as_ref().unwrap().text, "Bob declined");

    update(
        &mut m,
        my_call_event(
            Left,
            Declined,
            GroupCallDetail::ParticipantLeft {
                left_user_id: ANA,
                reason: Some(GroupLeftReason::NetworkFailure),
            },
        ),
    );
    assert_eq!(states(&m), [(ME, Joined), (ANA, Left), (BOB, Declined)]);
    assert_eq!(
        m.notice.as_ref().unwrap().text,
        "Ana dropped out: the connection was lost"
    );
    assert_eq!(m.held(), Some(Held::Group(cid(7))), "I am still in it");
}

#[test]
fn an_event_adds_people_invited_by_someone_else() {
    let mut m = hosting();
    update(
        &mut m,
        event(
            (ME, "Me"),
            vec![
                person(ME, "Me", Joined, true),
                person(ANA, "Ana", Joined, false),
                person(BOB, "Bob", Ringing, false),
                person(CARLA, "Carla", Invited, false),
            ],
            GroupCallDetail::ParticipantsInvited {
                new_participants: vec![CARLA],
                inviter_id: ANA,
            },
        ),
    );
    assert_eq!(
        states(&m),
        [
            (ME, Joined),
            (ANA, Joined),
            (BOB, Ringing),
            (CARLA, Invited)
        ]
    );
    assert!(
        m.log
            .lines
            .back()
            .unwrap()
            .ends_with("group call Weekly sync: Carla invited")
    );
}

#[test]
fn the_host_ending_it_sums_the_call_up() {
    let mut m = joined_bobs_call();
    update(&mut m, Msg::Tick(ts(65)));
    update(
        &mut m,
        event(
            (BOB, "Bob"),
            vec![
                person(BOB, "Bob", Left, true),
                person(ME, "Me", Left, false),
                person(ANA, "Ana", Missed, false),
            ],
            GroupCallDetail::Ended {
                reason: Some(GroupEndReason::HostEnded),
            },
        ),
    );
    let CallPanel::Ended { summary } = &m.call else {
        panic!("{:?}", m.call)
    };
    assert_eq!(summary.text, "Bob ended the group call for everyone");
    assert_eq!(summary.other_name, "Weekly sync");
    assert_eq!(summary.duration, Some(65.0));
    assert_eq!(m.held(), None);
}

// ---------------------------------------------------------------------------------------------
// An invitation

#[test]
fn an_invitation_rings_and_shows_who_invites_the_title_and_who_is_in() {
    let mut m = model();
    let u = update(
        &mut m,
        event(
            (BOB, "Bob"),
            vec![
                person(BOB, "Bob", Joined, true),
                person(ME, "Me", Invited, false),
                person(ANA, "Ana", Ringing, false),
            ],
            GroupCallDetail::ParticipantInvited {
                inviter_id: BOB,
                was_offline: false,
            },
        ),
    );
    assert_eq!(
        u.commands,
        [
            Command::StartRinging,
            Command::Notify {
                title: "Group video call".to_owned(),
                body: "Bob invites you to Weekly sync".to_owned(),
            },
        ]
    );
    let i = invitation(&m);
    assert_eq!(i.inviter_name, "Bob");
    assert_eq!(i.title.as_deref(), Some("Weekly sync"));
    let in_call: Vec<_> = i.joined().map(|p| p.name.as_str()).collect();
    assert_eq!(in_call, ["Bob"]);
    assert!(m.call.is_active());
    let labels: Vec<_> = m.key_hints().iter().map(|h| h.label).collect();
    assert_eq!(&labels[..2], ["join", "decline"]);
}

/// With do-not-disturb on, an invitation neither rings nor pops up: left to ring out, or
/// declined at once (as `dnd_action` says), and counted with the missed calls either way.
#[test]
fn with_dnd_an_invitation_is_left_alone_or_declined() {
    use crate::preferences::DndAction;
    let invite = || {
        event(
            (BOB, "Bob"),
            vec![
                person(BOB, "Bob", Joined, true),
                person(ME, "Me", Invited, false),
            ],
            GroupCallDetail::ParticipantInvited {
                inviter_id: BOB,
                was_offline: false,
            },
        )
    };
    for (action, expected) in [
        (DndAction::Ignore, Vec::new()),
        (
            DndAction::Decline,
            vec![Command::Group(GroupCommand::Decline(cid(7)))],
        ),
    ] {
        let mut m = model();
        m.settings.dnd_action = action;
        update(&mut m, Msg::Key(KeyInput::Char('d')));
        let u = update(&mut m, invite());
        assert_eq!(u.commands, expected, "{action:?}");
        assert_eq!(m.call, CallPanel::None, "{action:?}");
        assert_eq!(m.recent.turned_away, [cid(7)]);
    }
}

#[test]
fn someone_joining_shows_in_the_invitation() {
    let mut m = invited();
    let u = update(
        &mut m,
        event(
            (BOB, "Bob"),
            vec![
                person(BOB, "Bob", Joined, true),
                person(ME, "Me", Invited, false),
                person(ANA, "Ana", Joined, false),
            ],
            GroupCallDetail::ParticipantJoined {
                joined_user_id: ANA,
            },
        ),
    );
    assert!(u.commands.is_empty(), "still ringing");
    let in_call: Vec<_> = invitation(&m).joined().map(|p| p.name.as_str()).collect();
    assert_eq!(in_call, ["Bob", "Ana"]);
}

#[test]
fn y_joins_with_the_keys_of_a_1_1_call_and_opens_my_join_url() {
    let mut m = invited();
    let u = key(&mut m, KeyInput::Enter);
    assert_eq!(
        u.commands,
        [
            Command::StopRinging,
            Command::Group(GroupCommand::Join(cid(7)))
        ]
    );
    assert_eq!(invitation(&m).answered, Some(GroupAnswer::Join));
    // Pressed again while the answer is on its way: nothing more.
    assert!(ch(&mut m, 'y').commands.is_empty());
    let u = update(
        &mut m,
        Msg::Group(GroupMsg::Joined {
            call_id: cid(7),
            result: Ok(GroupJoinResponse {
                call_url: JOIN.to_owned(),
                call_type: CallType::Video,
                title: Some("Weekly sync".to_owned()),
                participant_count: 2,
            }),
        }),
    );
    assert_eq!(u.commands, [Command::OpenUrl(JOIN.to_owned())]);
    let g = panel(&m);
    assert_eq!(g.host_id, BOB);
    assert_eq!(g.my_state, Joined);
    assert_eq!(states(&m), [(BOB, Joined), (ME, Joined), (ANA, Ringing)]);
    assert_eq!(m.held(), Some(Held::Group(cid(7))));
}

#[test]
fn n_declines() {
    let mut m = invited();
    let u = ch(&mut m, 'n');
    assert_eq!(
        u.commands,
        [
            Command::StopRinging,
            Command::Group(GroupCommand::Decline(cid(7)))
        ]
    );
    update(
        &mut m,
        Msg::Group(GroupMsg::Declined {
            call_id: cid(7),
            result: Ok(()),
        }),
    );
    assert_eq!(m.call, CallPanel::None);
    assert_eq!(
        m.notice.as_ref().unwrap().text,
        "Declined the group call from Bob"
    );
}

#[test]
fn a_join_that_did_not_get_through_can_be_tried_again() {
    let mut m = invited();
    ch(&mut m, 'y');
    update(
        &mut m,
        Msg::Group(GroupMsg::Joined {
            call_id: cid(7),
            result: Err(AnswerError::NotSent("connection reset".to_owned())),
        }),
    );
    assert_eq!(invitation(&m).answered, None);
    assert_eq!(m.notice.as_ref().unwrap().level, Level::Error);
    let u = ch(&mut m, 'y');
    assert_eq!(u.commands[1], Command::Group(GroupCommand::Join(cid(7))));
    // A refusal for the call's sake closes the invitation.
    update(
        &mut m,
        Msg::Group(GroupMsg::Joined {
            call_id: cid(7),
            result: Err(AnswerError::CallOver("Call has ended".to_owned())),
        }),
    );
    assert_eq!(m.call, CallPanel::None);
}

#[test]
fn a_missed_invitation_stops_ringing_and_notifies() {
    let mut m = invited();
    let u = update(
        &mut m,
        event(
            (BOB, "Bob"),
            vec![
                person(BOB, "Bob", Joined, true),
                person(ME, "Me", Missed, false),
                person(ANA, "Ana", Ringing, false),
            ],
            GroupCallDetail::ParticipantMissed { missed_user_id: ME },
        ),
    );
    assert_eq!(
        u.commands,
        [
            Command::StopRinging,
            Command::Notify {
                title: "Missed group call".to_owned(),
                body: "Bob invited you to Weekly sync".to_owned(),
            },
        ]
    );
    assert_eq!(m.call, CallPanel::None);
}

#[test]
fn a_call_that_ends_before_i_answer_stops_ringing() {
    let mut m = invited();
    let u = update(
        &mut m,
        event(
            (BOB, "Bob"),
            vec![
                person(BOB, "Bob", Left, true),
                person(ME, "Me", Missed, false),
            ],
            GroupCallDetail::Ended {
                reason: Some(GroupEndReason::HostEnded),
            },
        ),
    );
    assert_eq!(u.commands, [Command::StopRinging]);
    assert_eq!(m.call, CallPanel::None);
    assert_eq!(
        m.notice.as_ref().unwrap().text,
        "The group call from Bob ended before you joined"
    );
}

#[test]
fn joined_on_another_device_stops_ringing_here() {
    let mut m = invited();
    let u = update(
        &mut m,
        event(
            (BOB, "Bob"),
            vec![
                person(BOB, "Bob", Joined, true),
                person(ME, "Me", Joined, false),
            ],
            GroupCallDetail::ParticipantJoined { joined_user_id: ME },
        ),
    );
    assert_eq!(u.commands, [Command::StopRinging]);
    assert_eq!(m.call, CallPanel::None);
}

#[test]
fn an_invitation_during_another_call_is_only_noted() {
    let mut m = hosting();
    let before = m.call.clone();
    let u = update(
        &mut m,
        Msg::Stream(StreamItem::Event(QueueEvent {
            id: EventId(10),
            kind: EventKind::GroupCall(std::sync::Arc::new(GroupCallEvent {
                call_id: cid(8),
                call_type: CallType::Audio,
                title: None,
                stream_id: None,
                topic: None,
                jitsi_url: ROOM.to_owned(),
                timestamp: ts(0),
                host: CallOpUser::new(CARLA, "Carla"),
                participants: vec![
                    person(CARLA, "Carla", Joined, true),
                    person(ME, "Me", Invited, false),
                ],
                detail: GroupCallDetail::ParticipantInvited {
                    inviter_id: CARLA,
                    was_offline: false,
                },
            })),
        })),
    );
    assert!(u.commands.is_empty());
    assert_eq!(m.call, before);
    assert_eq!(
        m.notice.as_ref().unwrap().text,
        "Carla invited you to Group call (you are in another call)"
    );
}

// ---------------------------------------------------------------------------------------------
// Leaving, ending, inviting

#[test]
fn e_asks_before_leaving_and_a_left_call_can_be_joined_again() {
    let mut m = joined_bobs_call();
    let u = ch(&mut m, 'e');
    assert!(u.commands.is_empty());
    assert_eq!(m.overlay, Overlay::ConfirmLeaveGroup);
    ch(&mut m, 'n');
    assert_eq!(m.overlay, Overlay::None);
    ch(&mut m, 'e');
    let u = ch(&mut m, 'y');
    assert_eq!(u.commands, [Command::Group(GroupCommand::Leave(cid(7)))]);
    assert_eq!(panel(&m).pending, Some(GroupPending::Leaving));
    update(
        &mut m,
        Msg::Group(GroupMsg::Left {
            call_id: cid(7),
            result: Ok(()),
        }),
    );
    let g = panel(&m);
    assert_eq!(g.my_state, Left);
    assert_eq!(g.pending, None);
    assert_eq!(states(&m)[1], (ME, Left));
    assert_eq!(m.held(), None, "no heartbeat once out");
    assert!(!m.call.is_active(), "quitting needs no confirmation now");
    let labels: Vec<_> = m.key_hints().iter().map(|h| h.label).collect();
    assert_eq!(&labels[..2], ["rejoin", "close"]);
    // `e` again does nothing; `j` joins again.
    assert!(ch(&mut m, 'e').commands.is_empty());
    assert_eq!(m.overlay, Overlay::None);
    let u = ch(&mut m, 'j');
    assert_eq!(u.commands, [Command::Group(GroupCommand::Join(cid(7)))]);
    update(
        &mut m,
        Msg::Group(GroupMsg::Joined {
            call_id: cid(7),
            result: Ok(GroupJoinResponse {
                call_url: JOIN.to_owned(),
                call_type: CallType::Video,
                title: None,
                participant_count: 2,
            }),
        }),
    );
    assert_eq!(panel(&m).my_state, Joined);
    assert_eq!(m.held(), Some(Held::Group(cid(7))));
}

#[test]
fn only_the_host_ends_it_for_everyone_after_confirming() {
    // Not the host: `E` says so, nothing is sent.
    let mut guest = joined_bobs_call();
    assert!(ch(&mut guest, 'E').commands.is_empty());
    assert_eq!(guest.overlay, Overlay::None);
    assert_eq!(
        guest.notice.as_ref().unwrap().text,
        "Only the host can end the call for everyone (e leaves it)"
    );

    let mut m = hosting();
    ch(&mut m, 'E');
    assert_eq!(m.overlay, Overlay::ConfirmEndGroup);
    key(&mut m, KeyInput::Esc);
    assert_eq!(m.overlay, Overlay::None);
    ch(&mut m, 'E');
    let u = key(&mut m, KeyInput::Enter);
    assert_eq!(u.commands, [Command::Group(GroupCommand::End(cid(7)))]);
    assert_eq!(panel(&m).pending, Some(GroupPending::Ending));
    update(
        &mut m,
        Msg::Group(GroupMsg::Ended {
            call_id: cid(7),
            result: Ok(()),
        }),
    );
    let CallPanel::Ended { summary } = &m.call else {
        panic!("{:?}", m.call)
    };
    assert_eq!(summary.text, "You ended the group call for everyone");
    // Its event afterwards changes nothing.
    let u = update(
        &mut m,
        my_call_event(
            Missed,
            Missed,
            GroupCallDetail::Ended {
                reason: Some(GroupEndReason::HostEnded),
            },
        ),
    );
    assert!(u.commands.is_empty());
}

#[test]
fn a_refused_end_says_why_and_keeps_the_call() {
    let mut m = hosting();
    ch(&mut m, 'E');
    ch(&mut m, 'y');
    update(
        &mut m,
        Msg::Group(GroupMsg::Ended {
            call_id: cid(7),
            result: Err("Only the host can end the call".to_owned()),
        }),
    );
    assert_eq!(panel(&m).pending, None);
    assert_eq!(
        m.notice.as_ref().unwrap().text,
        "Could not end the call: Only the host can end the call"
    );
}

#[test]
fn i_picks_teammates_to_invite_with_space_and_enter() {
    let mut m = hosting();
    m.view = View::History;
    ch(&mut m, 'i');
    assert!(m.inviting());
    assert_eq!(m.view, View::Teammates);
    let labels: Vec<_> = m.key_hints().iter().map(|h| h.label).collect();
    assert_eq!(&labels[..3], ["mark", "invite marked", "cancel"]);
    // Ana is invited already.
    key(&mut m, KeyInput::Up);
    ch(&mut m, ' ');
    assert!(m.marked.is_empty());
    assert_eq!(
        m.notice.as_ref().unwrap().text,
        "Ana is already in this call"
    );
    // Carla is not.
    key(&mut m, KeyInput::Down);
    key(&mut m, KeyInput::Down);
    ch(&mut m, ' ');
    assert_eq!(m.marked, [CARLA]);
    let u = key(&mut m, KeyInput::Enter);
    assert_eq!(
        u.commands,
        [Command::Group(GroupCommand::Invite {
            call_id: cid(7),
            user_ids: vec![CARLA],
        })]
    );
    assert!(!m.inviting());
    assert!(m.marked.is_empty());
    update(
        &mut m,
        Msg::Group(GroupMsg::Invited {
            call_id: cid(7),
            result: Ok(GroupInviteResponse {
                invited_count: 1,
                online_count: 1,
                offline_count: 0,
            }),
        }),
    );
    assert_eq!(panel(&m).pending, None);
    assert_eq!(m.notice.as_ref().unwrap().text, "Invited 1 teammate");
}

#[test]
fn esc_gives_up_inviting() {
    let mut m = hosting();
    ch(&mut m, 'i');
    key(&mut m, KeyInput::Down);
    key(&mut m, KeyInput::Down);
    ch(&mut m, ' ');
    let u = key(&mut m, KeyInput::Esc);
    assert!(u.commands.is_empty());
    assert!(!m.inviting());
    assert!(m.marked.is_empty());
    assert_eq!(m.held(), Some(Held::Group(cid(7))), "still in the call");
}

#[test]
fn quitting_a_group_call_leaves_it() {
    let mut m = joined_bobs_call();
    ch(&mut m, 'q');
    assert_eq!(m.overlay, Overlay::ConfirmQuit);
    let u = ch(&mut m, 'y');
    assert_eq!(
        u.commands,
        [Command::Group(GroupCommand::Leave(cid(7))), Command::Quit]
    );
}

// ---------------------------------------------------------------------------------------------
// Gaps: a dropped heartbeat, a resynchronised stream

fn snapshot(state: GroupCallState, me: ParticipantState) -> GroupSnapshot {
    let participant = |id: UserId, name: &str, state, host| GroupParticipant {
        user_id: id,
        full_name: name.to_owned(),
        email: format!("{}@example.com", name.to_lowercase()),
        state,
        is_host: host,
        invited_at: ts(0),
        joined_at: None,
        left_at: None,
    };
    GroupSnapshot {
        call: GroupCallStatus {
            call_id: cid(7),
            call_type: CallType::Video,
            state,
            title: Some("Weekly sync".to_owned()),
            jitsi_url: ROOM.to_owned(),
            host: GroupUser {
                user_id: BOB,
                full_name: "Bob".to_owned(),
            },
            stream_id: None,
            topic: None,
            created_at: ts(0),
            ended_at: None,
            participant_count: 1,
            max_participants: 50,
        },
        participants: vec![
            participant(BOB, "Bob", Joined, true),
            participant(ME, "Me", me, false),
            participant(ANA, "Ana", Declined, false),
        ],
    }
}

#[test]
fn a_stopped_heartbeat_reads_the_call_again_and_shows_me_out() {
    let mut m = joined_bobs_call();
    let u = update(&mut m, Msg::HeartbeatStopped(Held::Group(cid(7))));
    assert_eq!(u.commands, [Command::Group(GroupCommand::Load(cid(7)))]);
    update(
        &mut m,
        Msg::Group(GroupMsg::Loaded {
            call_id: cid(7),
            result: Ok(snapshot(GroupCallState::Active, Left)),
        }),
    );
    assert_eq!(panel(&m).my_state, Left);
    assert_eq!(states(&m), [(BOB, Joined), (ME, Left), (ANA, Declined)]);
    assert_eq!(m.held(), None);
    assert_eq!(
        m.notice.as_ref().unwrap().text,
        "You are out of the group call (the connection was lost): j to rejoin"
    );
    // A 1:1 heartbeat stopping is not the group's business.
    let u = update(&mut m, Msg::HeartbeatStopped(Held::Call(cid(1))));
    assert!(u.commands.is_empty());
}

#[test]
fn a_resync_reads_the_group_call_again() {
    let mut m = joined_bobs_call();
    let u = update(&mut m, Msg::Stream(StreamItem::Resynced(Vec::new())));
    assert_eq!(u.commands, [Command::Group(GroupCommand::Load(cid(7)))]);
    assert_eq!(panel(&m).my_state, Joined, "not taken for over");
    update(
        &mut m,
        Msg::Group(GroupMsg::Loaded {
            call_id: cid(7),
            result: Ok(snapshot(GroupCallState::Ended, Left)),
        }),
    );
    let CallPanel::Ended { summary } = &m.call else {
        panic!("{:?}", m.call)
    };
    assert_eq!(summary.text, "The group call ended");
    // And an invitation read again after the gap closes when it is over.
    let mut i = invited();
    let u = update(&mut i, Msg::Stream(StreamItem::Resynced(Vec::new())));
    assert_eq!(u.commands, [Command::Group(GroupCommand::Load(cid(7)))]);
    let u = update(
        &mut i,
        Msg::Group(GroupMsg::Loaded {
            call_id: cid(7),
            result: Ok(snapshot(GroupCallState::Active, Missed)),
        }),
    );
    assert_eq!(u.commands, [Command::StopRinging]);
    assert_eq!(i.call, CallPanel::None);
}

#[test]
fn one_to_one_events_leave_the_group_panel_alone() {
    use zulip_calls_protocol::event::EventCall;
    use zulip_calls_protocol::{CallEvent, CallEventDetail, EndReason};
    let mut m = hosting();
    let before = m.call.clone();
    update(
        &mut m,
        Msg::Stream(StreamItem::Event(QueueEvent {
            id: EventId(11),
            kind: EventKind::Call(std::sync::Arc::new(CallEvent {
                call: EventCall {
                    call_id: cid(7),
                    call_type: CallType::Video,
                    state: CallState::Ended,
                    sender_id: ME,
                    sender_name: "Me".to_owned(),
                    receiver_id: ANA,
                    receiver_name: "Ana".to_owned(),
                    jitsi_url: ROOM.to_owned(),
                    created_at: ts(0),
                    answered_at: None,
                    ended_at: None,
                },
                timestamp: ts(0),
                detail: CallEventDetail::CallEnded {
                    reason: EndReason::Hangup,
                    ended_by_id: None,
                    duration: None,
                },
            })),
        })),
    );
    assert_eq!(m.call, before);
}
