//! One snapshot per group call screen, from models built directly with fixed timestamps.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use zulip_calls_protocol::plugin::group::ParticipantState;
use zulip_calls_protocol::{CallId, CallType, Dialect, Timestamp, UserId};

use super::draw;
use crate::app::{
    CallPanel, GroupAnswer, GroupInvitation, GroupMember, GroupPending, InGroup, Model, Overlay,
    Teammate, TitlePrompt, View,
};
use crate::backend::calls::Features;
use crate::backend::events::{ConnectionState, Transport};

const ME: UserId = UserId(1);
const ANA: UserId = UserId(2);
const BOB: UserId = UserId(3);
const CARLA: UserId = UserId(5);
const DAN: UserId = UserId(6);
const EVE: UserId = UserId(7);
const FINN: UserId = UserId(8);

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

fn member(id: UserId, name: &str, state: ParticipantState, is_host: bool) -> GroupMember {
    GroupMember {
        user_id: id,
        name: name.to_owned(),
        state,
        is_host,
    }
}

/// Connected to a 1.1 server at t=100, teammates loaded.
fn model() -> Model {
    let mut m = Model::new(ME, ts(100)).with_features(Features::of(Dialect::V1_1));
    m.connection = ConnectionState::Connected {
        transport: Transport::WebSocket,
    };
    m.teammates = vec![
        mate(ME, "Me"),
        mate(ANA, "Ana"),
        mate(BOB, "Bob"),
        mate(CARLA, "Carla"),
        mate(DAN, "Dan"),
        mate(EVE, "Eve"),
        mate(FINN, "Finn"),
    ];
    m
}

fn render(m: &Model, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, m)).unwrap();
    terminal
}

/// Bob's group call, which I joined at t=35: everyone in a different state.
fn in_bobs_call() -> Model {
    let mut m = model();
    m.call = CallPanel::Group(InGroup {
        call_id: Some(cid(7)),
        call_type: CallType::Video,
        title: Some("Weekly sync".to_owned()),
        host_id: BOB,
        members: vec![
            member(BOB, "Bob", Joined, true),
            member(ME, "Me", Joined, false),
            member(ANA, "Ana", Ringing, false),
            member(CARLA, "Carla", Invited, false),
            member(DAN, "Dan", Declined, false),
            member(EVE, "Eve", Left, false),
            member(FINN, "Finn", Missed, false),
        ],
        my_state: Joined,
        url: Some("https://meet.example.com/zulip-group-call-0123456789abcdef#jwt=x".to_owned()),
        room_url: None,
        since: ts(35),
        pending: None,
        inviting: false,
    });
    m
}

/// My own group call with Ana (in) and Bob (ringing), started at t=40.
fn hosting() -> Model {
    let mut m = model();
    m.call = CallPanel::Group(InGroup {
        call_id: Some(cid(7)),
        call_type: CallType::Audio,
        title: None,
        host_id: ME,
        members: vec![
            member(ME, "Me", Joined, true),
            member(ANA, "Ana", Joined, false),
            member(BOB, "Bob", Ringing, false),
        ],
        my_state: Joined,
        url: None,
        room_url: None,
        since: ts(40),
        pending: None,
        inviting: false,
    });
    m
}

#[test]
fn teammates_marked_for_a_group_call() {
    let mut m = model();
    m.marked = vec![ANA, CARLA];
    m.selected = 2;
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn group_title_prompt() {
    let mut m = model();
    m.marked = vec![ANA, CARLA];
    m.overlay = Overlay::GroupTitle(TitlePrompt {
        call_type: CallType::Video,
        invitees: vec![ANA, CARLA],
        title: "Weekly sync".to_owned(),
    });
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn incoming_group_invitation() {
    let mut m = model();
    m.call = CallPanel::GroupInvitation(GroupInvitation {
        call_id: cid(7),
        call_type: CallType::Video,
        title: Some("Weekly sync".to_owned()),
        host_id: BOB,
        inviter_name: "Ana".to_owned(),
        members: vec![
            member(BOB, "Bob", Joined, true),
            member(ANA, "Ana", Joined, false),
            member(ME, "Me", Ringing, false),
            member(CARLA, "Carla", Declined, false),
        ],
        received_at: ts(95),
        answered: None,
    });
    let terminal = render(&m, 80, 24);
    let screen = format!("{}", terminal.backend());
    assert!(screen.contains("In the call: Bob (host), Ana"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn participants_panel_with_the_host_marked_and_mixed_states() {
    let terminal = render(&in_bobs_call(), 80, 24);
    let screen = format!("{}", terminal.backend());
    for row in [
        "Bob (host)",
        "You ",
        "ringing",
        "invited",
        "declined",
        "left",
        "missed",
    ] {
        assert!(screen.contains(row), "{row}: {screen}");
    }
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn participants_panel_under_the_view_on_a_narrow_terminal() {
    insta::assert_snapshot!(render(&in_bobs_call(), 60, 24).backend());
}

#[test]
fn hosting_a_group_call_offers_end_for_all() {
    let terminal = render(&hosting(), 100, 16);
    let screen = format!("{}", terminal.backend());
    assert!(screen.contains("E end for all"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn leave_confirmation() {
    let mut m = in_bobs_call();
    m.overlay = Overlay::ConfirmLeaveGroup;
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn end_for_everyone_confirmation() {
    let mut m = hosting();
    m.overlay = Overlay::ConfirmEndGroup;
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn picking_teammates_to_invite() {
    let mut m = hosting();
    if let CallPanel::Group(g) = &mut m.call {
        g.inviting = true;
    }
    m.marked = vec![CARLA];
    m.selected = 2;
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn out_of_the_call_with_the_offer_to_rejoin() {
    let mut m = in_bobs_call();
    if let CallPanel::Group(g) = &mut m.call {
        g.set_my_state(ME, Left);
    }
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

/// Every group state at every small size renders without panicking.
#[test]
fn small_sizes_never_panic() {
    let mut states = vec![in_bobs_call(), hosting()];
    let mut prompt = model();
    prompt.overlay = Overlay::GroupTitle(TitlePrompt {
        call_type: CallType::Audio,
        invitees: vec![ANA, UserId(99)],
        title: "A long title that does not fit anywhere small".to_owned(),
    });
    states.push(prompt);
    let mut invitation = model();
    invitation.call = CallPanel::GroupInvitation(GroupInvitation {
        call_id: cid(7),
        call_type: CallType::Audio,
        title: None,
        host_id: BOB,
        inviter_name: "Bob".to_owned(),
        members: vec![member(BOB, "Bob", Joined, true)],
        received_at: ts(95),
        answered: Some(GroupAnswer::Join),
    });
    states.push(invitation);
    let mut leaving = in_bobs_call();
    leaving.overlay = Overlay::ConfirmLeaveGroup;
    if let CallPanel::Group(g) = &mut leaving.call {
        g.pending = Some(GroupPending::Leaving);
    }
    states.push(leaving);
    let mut picking = hosting();
    if let CallPanel::Group(g) = &mut picking.call {
        g.inviting = true;
    }
    picking.view = View::Teammates;
    states.push(picking);
    for m in &states {
        for width in 0..=30 {
            for height in 0..=8 {
                let _ = render(m, width, height);
            }
        }
    }
}
