//! One snapshot per screen state, from models built directly with fixed timestamps.

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use zulip_calls_protocol::{
    ActiveCall, CallId, CallState, CallType, Dialect, HistoryEntry, MediaState, Timestamp, UserId,
};

use super::draw;
use crate::app::{
    CallPanel, EndSummary, InCall, Incoming, Level, Model, Notice, Outgoing, Overlay, Teammate,
    View,
};
use crate::backend::calls::Features;
use crate::backend::events::{ConnectionState, Transport};

const ME: UserId = UserId(1);
const ANA: UserId = UserId(2);
const BOB: UserId = UserId(3);
const BOT: UserId = UserId(4);
const CARLA: UserId = UserId(5);
const DAN: UserId = UserId(6);

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_700_000_000 + secs).unwrap()
}

fn cid(n: u8) -> CallId {
    format!("00000000-0000-4000-8000-0000000000{n:02}")
        .parse()
        .unwrap()
}

fn mate(id: UserId, name: &str, is_bot: bool) -> Teammate {
    Teammate {
        user_id: id,
        name: name.to_owned(),
        email: format!("{}@example.com", name.to_lowercase().replace(' ', "-")),
        is_bot,
    }
}

fn active_call(n: u8, from: (UserId, &str), to: (UserId, &str), state: CallState) -> ActiveCall {
    ActiveCall {
        call_id: cid(n),
        call_type: CallType::Video,
        state,
        sender_id: from.0,
        sender_name: from.1.to_owned(),
        receiver_id: to.0,
        receiver_name: to.1.to_owned(),
        jitsi_url: format!("https://meet.example.com/zulip-call-{n}"),
        created_at: ts(-90),
        is_outgoing: from.0 == ME,
    }
}

/// Connected, at t=100, with teammates loaded and Carla in a call with Dan.
fn model() -> Model {
    let mut m = Model::new(ME, ts(100));
    m.connection = ConnectionState::Connected {
        transport: Transport::WebSocket,
    };
    m.teammates = vec![
        mate(ME, "Me", false),
        mate(ANA, "Ana", false),
        mate(BOB, "Bob", false),
        mate(BOT, "Welcome Bot", true),
        mate(CARLA, "Carla", false),
        mate(DAN, "Dan", false),
    ];
    m.active.calls = vec![active_call(
        9,
        (CARLA, "Carla"),
        (DAN, "Dan"),
        CallState::Accepted,
    )];
    m.active.loaded = true;
    m
}

fn render(m: &Model, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, m)).unwrap();
    terminal
}

fn outgoing(ringing: bool) -> Model {
    let mut m = model();
    m.call = CallPanel::Outgoing(Outgoing {
        call_id: Some(cid(1)),
        to_id: ANA,
        to_name: "Ana".to_owned(),
        call_type: CallType::Video,
        ringing,
        placed_at: ts(88),
        timeout_seconds: Some(30),
        join_url: None,
        cancel_requested: false,
    });
    m
}

#[test]
fn teammates_with_filter_selection_bot_and_in_call() {
    let mut m = model();
    // "b" matches Bob (in a call with Dan) and the bot, not the example.com addresses.
    m.filter = "b".to_owned();
    m.filtering = true;
    m.selected = 1;
    m.active.calls.push(active_call(
        8,
        (BOB, "Bob"),
        (DAN, "Dan"),
        CallState::Ringing,
    ));
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn outgoing_calling() {
    insta::assert_snapshot!(render(&outgoing(false), 80, 24).backend());
}

#[test]
fn outgoing_ringing() {
    insta::assert_snapshot!(render(&outgoing(true), 80, 24).backend());
}

#[test]
fn incoming_modal() {
    let mut m = model();
    m.call = CallPanel::Incoming(Incoming {
        call_id: cid(2),
        from_id: BOB,
        from_name: "Bob".to_owned(),
        call_type: CallType::Audio,
        jitsi_url: "https://meet.example.com/zulip-call-2".to_owned(),
        received_at: ts(95),
        timeout_seconds: Some(30),
        answered: None,
    });
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn in_call_with_media_states() {
    let mut m = model();
    m.call = CallPanel::InCall(InCall {
        call_id: cid(1),
        other_id: ANA,
        other_name: "Ana".to_owned(),
        call_type: CallType::Video,
        outgoing: true,
        since: ts(-25),
        mine: MediaState {
            connected: true,
            muted: true,
            video_off: false,
            on_hold: false,
            screen_sharing: true,
        },
        theirs: MediaState {
            connected: true,
            muted: false,
            video_off: true,
            on_hold: true,
            screen_sharing: false,
        },
        url: "https://meet.example.com/zulip-call-1#jwt=mine".to_owned(),
        hangup_requested: false,
    });
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

/// On a 1.1 server: the status bar names the dialect and offers no media keys, and the panel
/// says media status is not supported instead of showing states nobody reports.
#[test]
fn in_call_on_a_1_1_server() {
    let mut m = model().with_features(Features::of(Dialect::V1_1));
    m.call = CallPanel::InCall(InCall {
        call_id: cid(1),
        other_id: ANA,
        other_name: "Ana".to_owned(),
        call_type: CallType::Video,
        outgoing: false,
        since: ts(-25),
        mine: MediaState::initial(CallType::Video),
        theirs: MediaState::initial(CallType::Video),
        url: "https://meet.example.com/zulip-call-1#jwt=mine".to_owned(),
        hangup_requested: false,
    });
    let terminal = render(&m, 80, 24);
    let screen = format!("{}", terminal.backend());
    assert!(screen.contains(" connected   1.1  e end"), "{screen}");
    assert!(!screen.contains("m mute"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn call_ended_summary() {
    let mut m = model();
    m.call = CallPanel::Ended {
        summary: EndSummary {
            other_name: "Ana".to_owned(),
            text: "Ana ended the call (hangup)".to_owned(),
            duration: Some(754.0),
        },
    };
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

fn entry(n: u8, who: (UserId, &str), outgoing: bool, state: CallState) -> HistoryEntry {
    let created = ts(-3600 * i64::from(n));
    let answered = matches!(state, CallState::Ended);
    HistoryEntry {
        call_id: cid(n),
        user_id: who.0,
        user_name: who.1.to_owned(),
        call_type: if n.is_multiple_of(2) {
            CallType::Audio
        } else {
            CallType::Video
        },
        state,
        is_outgoing: outgoing,
        created_at: created,
        answered_at: answered.then(|| created.plus_seconds(5)),
        ended_at: Some(created.plus_seconds(65)),
        duration: answered.then_some(60.0),
    }
}

#[test]
fn history() {
    let mut m = model();
    m.view = View::History;
    m.history.entries = vec![
        entry(1, (ANA, "Ana"), true, CallState::Ended),
        entry(2, (BOB, "Bob"), false, CallState::Missed),
        entry(3, (ANA, "Ana"), false, CallState::Rejected),
        entry(4, (CARLA, "Carla"), true, CallState::Cancelled),
    ];
    m.history.offset = 20;
    m.history.has_more = true;
    m.history.total = Some(44);
    m.history.call_type = Some(CallType::Video);
    m.history.selected = 1;
    m.history.loaded = true;
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn active_calls_with_end_all_confirmation() {
    let mut m = model();
    m.view = View::Active;
    m.active.calls = vec![
        active_call(1, (ME, "Me"), (ANA, "Ana"), CallState::Ringing),
        active_call(2, (BOB, "Bob"), (ME, "Me"), CallState::Accepted),
    ];
    m.overlay = Overlay::ConfirmEndAll;
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn help_overlay() {
    let mut m = model();
    m.overlay = Overlay::Help;
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn log_pane_open() {
    let mut m = model();
    m.show_log = true;
    for i in 0..12 {
        m.log.push(format!("12:00:{i:02} event {i}"));
    }
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn reconnecting_status_bar() {
    let mut m = model();
    m.connection = ConnectionState::Reconnecting {
        attempt: 2,
        retry_in: Duration::from_secs(8),
        reason: "connection reset".to_owned(),
    };
    m.connection_since = ts(97);
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn offline_status_bar() {
    let mut m = model();
    m.connection = ConnectionState::Offline {
        reason: "API key refused".to_owned(),
    };
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn error_notice() {
    let mut m = model();
    m.notice = Some(Notice {
        level: Level::Error,
        text: "Could not start the call: Ana is busy".to_owned(),
        at: ts(98),
    });
    insta::assert_snapshot!(render(&m, 80, 24).backend());
}

#[test]
fn tiny_terminal() {
    let mut m = outgoing(true);
    m.show_log = true;
    insta::assert_snapshot!(render(&m, 20, 5).backend());
}

/// Every state at every small size renders without panicking.
#[test]
fn small_sizes_never_panic() {
    let mut states = vec![model(), outgoing(false)];
    let mut help = model();
    help.overlay = Overlay::Help;
    states.push(help);
    let mut confirm = model();
    confirm.view = View::Active;
    confirm.overlay = Overlay::ConfirmEndAll;
    confirm.show_log = true;
    states.push(confirm);
    let mut history = model();
    history.view = View::History;
    history.history.entries = vec![entry(1, (ANA, "Ana"), true, CallState::Ended)];
    states.push(history);
    let mut incoming = model();
    incoming.call = CallPanel::Incoming(Incoming {
        call_id: cid(2),
        from_id: BOB,
        from_name: "Bob".to_owned(),
        call_type: CallType::Video,
        jitsi_url: String::new(),
        received_at: ts(95),
        timeout_seconds: None,
        answered: None,
    });
    incoming.notice = Some(Notice {
        level: Level::Info,
        text: "hello".to_owned(),
        at: ts(100),
    });
    states.push(incoming);
    for m in &states {
        for width in 0..=30 {
            for height in 0..=8 {
                let _ = render(m, width, height);
            }
        }
    }
}

mod login {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::app::login::{Field, LoginModel, ServerInfo, Stage};
    use crate::ui::draw_login;

    fn render(model: &LoginModel, width: u16, height: u16) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| draw_login(frame, model)).unwrap();
        terminal
    }

    fn filled() -> LoginModel {
        LoginModel {
            server: "chat.lear.org".into(),
            email: "king@lear.org".into(),
            password: "opensesame".into(),
            focus: Field::Password,
            server_info: Some(ServerInfo {
                realm_name: Some("Lear & Co.".into()),
                zulip_version: "10.0".into(),
                password_login: true,
            }),
            save_path: Some("/home/king/.zuliprc".into()),
            ..LoginModel::default()
        }
    }

    #[test]
    fn login_empty_form() {
        let model = LoginModel::new(Some("/home/king/.zuliprc".into()));
        insta::assert_snapshot!(render(&model, 80, 24).backend());
    }

    #[test]
    fn login_filled_with_the_server_checked_and_password_masked() {
        let terminal = render(&filled(), 80, 24);
        let screen = format!("{}", terminal.backend());
        assert!(!screen.contains("opensesame"), "{screen}");
        insta::assert_snapshot!(terminal.backend());
    }

    #[test]
    fn login_wrong_password() {
        let model = LoginModel {
            password: String::new(),
            error: Some("Your username or password is incorrect".into()),
            ..filled()
        };
        insta::assert_snapshot!(render(&model, 80, 24).backend());
    }

    #[test]
    fn login_signing_in() {
        let model = LoginModel {
            stage: Stage::SigningIn,
            ..filled()
        };
        insta::assert_snapshot!(render(&model, 80, 24).backend());
    }

    #[test]
    fn login_offers_to_save_a_zuliprc() {
        let model = LoginModel {
            password: String::new(),
            stage: Stage::OfferSave {
                path: "/home/king/.zuliprc".into(),
            },
            ..filled()
        };
        insta::assert_snapshot!(render(&model, 80, 24).backend());
    }

    #[test]
    fn login_never_panics_on_tiny_terminals() {
        for width in 0..30 {
            for height in 0..8 {
                render(&filled(), width, height);
            }
        }
    }
}
