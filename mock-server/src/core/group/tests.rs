//! The group desk through a core: the operations, capacity, visibility, busy across kinds,
//! each deadline on the virtual clock, a restart, and racing operations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier, Mutex};

use zulip_calls_protocol::calls::CallTarget;
use zulip_calls_protocol::plugin::group::{
    GroupCallState, GroupEndReason, GroupLeftReason, GroupRefusal, ParticipantAction,
    ParticipantState,
};
use zulip_calls_protocol::settings::Settings;
use zulip_calls_protocol::{CallId, CallType, Timestamp, UserId};

use super::{GroupDeadline, GroupDesk, GroupError, GroupRecord, NewGroupCall};
use crate::core::calls::CallDesk;
use crate::core::directory::Directory;
use crate::core::error::CallError;
use crate::core::model::{RealmId, RealmRecord, UserRecord};
use crate::core::news::{GroupChange, GroupHappening, Listener, Listeners, Tx};
use crate::core::store::{DbLocation, Store};
use crate::core::{Clock, Core, CoreOptions, virtual_time};

const HOST: UserId = UserId(1);
const OTHER_REALM: UserId = UserId(100);
const DEACTIVATED: UserId = UserId(99);

/// What the listeners heard: each change's happening.
#[derive(Debug, Default)]
struct Recorder {
    heard: Mutex<Vec<(CallId, GroupHappening)>>,
}

impl Listener for Recorder {
    fn group_changed(&self, change: &GroupChange, _tx: &mut Tx<'_>) {
        self.heard
            .lock()
            .unwrap()
            .push((change.record.call.call_id, change.what.clone()));
    }
}

impl Recorder {
    fn of(&self, call_id: CallId) -> Vec<GroupHappening> {
        self.heard
            .lock()
            .unwrap()
            .iter()
            .filter(|(id, _)| *id == call_id)
            .map(|(_, what)| what.clone())
            .collect()
    }
}

fn directory() -> (Vec<RealmRecord>, Vec<UserRecord>) {
    let realms = vec![
        RealmRecord {
            id: RealmId(1),
            name: "Test".into(),
            url: "http://localhost:9991".into(),
        },
        RealmRecord {
            id: RealmId(2),
            name: "Other".into(),
            url: "http://localhost:9992".into(),
        },
    ];
    let mut users: Vec<_> = (1..=60)
        .map(|id| crate::core::directory::tests::user(id, &format!("u{id}@example.com")))
        .collect();
    let mut gone = crate::core::directory::tests::user(DEACTIVATED.0, "gone@example.com");
    gone.is_active = false;
    users.push(gone);
    let mut other = crate::core::directory::tests::user(OTHER_REALM.0, "other@example.org");
    other.realm_id = RealmId(2);
    users.push(other);
    (realms, users)
}

fn t0() -> Timestamp {
    Timestamp::from_unix_seconds(1_704_110_400).unwrap()
}

fn core_over(store: Store, settings: Settings, start: Timestamp) -> (Arc<Core>, Arc<Recorder>) {
    let (realms, users) = directory();
    let mut store = store;
    store.replace_realms(&realms, &users).unwrap();
    let recorder = Arc::new(Recorder::default());
    let core = Core::new(
        settings,
        CoreOptions {
            virtual_clock: true,
            prune_calls_after_days: None,
        },
        Clock::manual(start),
        Directory::new(realms, users),
        store,
        Listeners::default().listen(Arc::clone(&recorder) as _),
    );
    (Arc::new(core), recorder)
}

fn core_with(settings: Settings) -> (Arc<Core>, Arc<Recorder>) {
    core_over(Store::open_in_memory().unwrap(), settings, t0())
}

fn core() -> (Arc<Core>, Arc<Recorder>) {
    core_with(Settings::default())
}

fn user(core: &Core, id: i64) -> UserRecord {
    core.directory().user(UserId(id)).unwrap().clone()
}

fn new_call(ids: &[i64]) -> NewGroupCall {
    NewGroupCall {
        call_type: CallType::Video,
        title: Some("Standup".into()),
        stream_id: None,
        topic: Some("ignored without a stream".into()),
        user_ids: ids.iter().map(|id| UserId(*id)).collect(),
    }
}

fn create(core: &Core, host: i64, ids: &[i64]) -> GroupRecord {
    GroupDesk::new(core)
        .create(&user(core, host), new_call(ids))
        .unwrap()
}

fn states(record: &GroupRecord) -> Vec<(i64, ParticipantState)> {
    record
        .participants
        .iter()
        .map(|p| (p.user_id().0, p.state()))
        .collect()
}

fn refused(result: Result<impl std::fmt::Debug, GroupError>) -> GroupRefusal {
    match result {
        Err(GroupError::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn advance(core: &Core, seconds: i64) -> Vec<&'static str> {
    virtual_time::advance_by(core, seconds * 1000)
        .unwrap()
        .into_iter()
        .map(|f| f.action)
        .collect()
}

fn stored(core: &Core, call_id: CallId) -> GroupRecord {
    core.store().group_call(call_id).unwrap().unwrap()
}

#[test]
fn create_invites_the_valid_users_only() {
    use ParticipantState as S;
    let (core, recorder) = core();
    let record = create(&core, 1, &[2, 3, 1, OTHER_REALM.0, DEACTIVATED.0, 999, 2]);
    assert_eq!(
        states(&record),
        [(1, S::Joined), (2, S::Invited), (3, S::Invited)]
    );
    assert!(record.participants[0].participant.is_host);
    assert_eq!(record.call.state, GroupCallState::Active);
    assert_eq!(record.call.topic, None, "a topic needs a stream");
    assert!(zulip_calls_protocol::plugin::group::is_group_room_name(
        &record.call.jitsi_room_name
    ));
    assert!(
        record
            .call
            .jitsi_url
            .ends_with(&record.call.jitsi_room_name)
    );
    assert_eq!(stored(&core, record.call.call_id), record);
    assert_eq!(
        recorder.of(record.call.call_id),
        [GroupHappening::Created {
            invited: vec![UserId(2), UserId(3)]
        }]
    );
    let audit = core.store().group_audit_of(record.call.call_id).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "created");

    let desk = GroupDesk::new(&core);
    for nobody in [vec![], vec![4, OTHER_REALM.0, DEACTIVATED.0, 999]] {
        assert_eq!(
            refused(desk.create(&user(&core, 4), new_call(&nobody))),
            GroupRefusal::NoValidInvitees
        );
    }
    let audio_off = Settings {
        enable_audio_calls: false,
        ..Settings::default()
    };
    let (core, _) = core_with(audio_off);
    let mut audio = new_call(&[2]);
    audio.call_type = CallType::Audio;
    assert!(matches!(
        GroupDesk::new(&core).create(&user(&core, 1), audio),
        Err(GroupError::CallTypeDisabled(CallType::Audio))
    ));
}

#[test]
fn participants_join_decline_leave_and_the_host_ends() {
    use ParticipantState as S;
    let (core, recorder) = core();
    let desk = GroupDesk::new(&core);
    let call = create(&core, 1, &[2, 3]).call.call_id;
    let (host, u2, u3, u4) = (
        user(&core, 1),
        user(&core, 2),
        user(&core, 3),
        user(&core, 4),
    );

    desk.join(call, &u2).unwrap();
    assert_eq!(refused(desk.join(call, &u2)), GroupRefusal::AlreadyJoined);
    assert_eq!(
        refused(desk.decline(call, &u2)),
        GroupRefusal::InvalidState {
            action: ParticipantAction::Decline,
            state: S::Joined
        }
    );
    desk.decline(call, &u3).unwrap();
    // Declining again is a no-op; an invitee who declined cannot invite.
    desk.decline(call, &u3).unwrap();
    assert_eq!(
        refused(desk.invite(call, &u3, &[UserId(4)])),
        GroupRefusal::NotJoined
    );
    desk.leave(call, &u2).unwrap();
    desk.leave(call, &u2).unwrap();
    let record = desk.join(call, &u2).unwrap();
    assert_eq!(record.joined_count(), 2);

    // Invite: the host and users already in are no one new; a declined one is invited again.
    let invited = desk
        .invite(call, &u2, &[UserId(4), HOST, UserId(3)])
        .unwrap();
    assert_eq!(invited.invited, [UserId(4), UserId(3)]);
    let again = desk.invite(call, &u2, &[UserId(4)]).unwrap();
    assert!(again.invited.is_empty());
    assert_eq!(
        refused(desk.invite(call, &u2, &[HOST, OTHER_REALM])),
        GroupRefusal::NoValidInvitees
    );

    assert_eq!(refused(desk.end(call, &u2)), GroupRefusal::NotHost);
    let ended = desk.end(call, &host).unwrap();
    assert_eq!(ended.call.state, GroupCallState::Ended);
    assert_eq!(ended.end_reason, Some(GroupEndReason::HostEnded));
    assert_eq!(
        states(&ended),
        [(1, S::Left), (2, S::Left), (3, S::Missed), (4, S::Missed)]
    );
    // An ended call shows itself and takes leave, end and heartbeats as no-ops.
    assert_eq!(refused(desk.join(call, &u4)), GroupRefusal::CallEnded);
    assert_eq!(refused(desk.decline(call, &u4)), GroupRefusal::CallEnded);
    assert_eq!(desk.leave(call, &u2).unwrap(), ended);
    assert_eq!(desk.end(call, &host).unwrap(), ended);
    assert_eq!(desk.heartbeat(call, &u2).unwrap(), GroupCallState::Ended);
    assert_eq!(desk.status(call, &u4).unwrap(), ended);
    assert_eq!(stored(&core, call), ended);
    assert_eq!(core.deadlines.group_deadline(call), None);

    use GroupHappening as H;
    assert_eq!(
        recorder.of(call),
        [
            H::Created {
                invited: vec![UserId(2), UserId(3)]
            },
            H::Joined { user: UserId(2) },
            H::Declined { user: UserId(3) },
            H::Left {
                user: UserId(2),
                reason: GroupLeftReason::Left
            },
            H::Joined { user: UserId(2) },
            H::Invited {
                users: vec![UserId(4), UserId(3)]
            },
            H::Ended {
                reason: GroupEndReason::HostEnded
            },
        ]
    );
    let audit = core.store().group_audit_of(call).unwrap();
    assert_eq!(audit.len(), 7);
    assert_eq!(audit[6].action, "ended");
}

#[test]
fn only_participants_of_the_realm_see_a_call() {
    let (core, _) = core();
    let desk = GroupDesk::new(&core);
    let call = create(&core, 1, &[2]).call.call_id;
    for outsider in [5, OTHER_REALM.0] {
        let outsider = user(&core, outsider);
        assert_eq!(
            refused(desk.status(call, &outsider)),
            GroupRefusal::NotParticipant
        );
        assert_eq!(
            refused(desk.join(call, &outsider)),
            GroupRefusal::NotParticipant
        );
        assert_eq!(
            refused(desk.heartbeat(call, &outsider)),
            GroupRefusal::NotParticipant
        );
        assert_eq!(
            refused(desk.end(call, &outsider)),
            GroupRefusal::NotParticipant
        );
    }
    assert_eq!(
        refused(desk.status(CallId::new_random(), &user(&core, 1))),
        GroupRefusal::NotParticipant
    );
    assert!(desk.status(call, &user(&core, 2)).is_ok());
    let listed = desk.participants(call, &user(&core, 2)).unwrap();
    assert_eq!(
        listed.iter().map(|p| p.user_id).collect::<Vec<_>>(),
        [HOST, UserId(2)]
    );
    assert_eq!(
        refused(desk.participants(call, &user(&core, 5))),
        GroupRefusal::NotParticipant
    );
    // Invitees are not heartbeat-watched: only joined participants heartbeat.
    assert!(matches!(
        refused(desk.heartbeat(call, &user(&core, 2))),
        GroupRefusal::InvalidState { .. }
    ));
    assert_eq!(
        desk.heartbeat(call, &user(&core, 1)).unwrap(),
        GroupCallState::Active
    );
}

#[test]
fn a_call_holds_fifty_joined_participants() {
    let (core, _) = core();
    let desk = GroupDesk::new(&core);
    let invitees: Vec<i64> = (2..=51).collect();
    let call = create(&core, 1, &invitees).call.call_id;
    for id in 2..=50 {
        desk.join(call, &user(&core, id)).unwrap();
    }
    assert_eq!(stored(&core, call).joined_count(), 50);
    assert_eq!(
        refused(desk.join(call, &user(&core, 51))),
        GroupRefusal::CallFull { max: 50 }
    );
    desk.leave(call, &user(&core, 2)).unwrap();
    desk.join(call, &user(&core, 51)).unwrap();
    assert_eq!(
        refused(desk.join(call, &user(&core, 2))),
        GroupRefusal::CallFull { max: 50 }
    );
}

#[test]
fn a_user_is_in_one_call_at_a_time_whatever_its_kind() {
    let (core, _) = core();
    let desk = GroupDesk::new(&core);
    let calls = CallDesk::new(&core);
    let one_to_one = calls
        .create(&user(&core, 5), &CallTarget::Id(UserId(6)), CallType::Audio)
        .unwrap()
        .call
        .call_id;
    // A party of a 1:1 call cannot host a group call, nor join one; inviting them is fine.
    assert!(matches!(
        desk.create(&user(&core, 6), new_call(&[2])),
        Err(GroupError::Busy { existing }) if existing == one_to_one
    ));
    let call = create(&core, 1, &[2, 5]).call.call_id;
    assert!(matches!(
        desk.join(call, &user(&core, 5)),
        Err(GroupError::Busy { existing }) if existing == one_to_one
    ));
    // A joined participant (the host) cannot place a 1:1 call, nor be called.
    assert!(matches!(
        calls.create(&user(&core, 1), &CallTarget::Id(UserId(7)), CallType::Video),
        Err(CallError::CallerBusy { existing, .. }) if existing == call
    ));
    assert!(matches!(
        calls.create(&user(&core, 7), &CallTarget::Id(HOST), CallType::Video),
        Err(CallError::UserBusy { .. })
    ));
    // Nor host or join a second group call.
    assert!(matches!(
        desk.create(&user(&core, 1), new_call(&[3])),
        Err(GroupError::Busy { existing }) if existing == call
    ));
    let second = create(&core, 3, &[1]).call.call_id;
    assert!(matches!(
        desk.join(second, &user(&core, 1)),
        Err(GroupError::Busy { existing }) if existing == call
    ));
    // An invitee who has not joined is free.
    calls
        .create(&user(&core, 2), &CallTarget::Id(UserId(8)), CallType::Video)
        .unwrap();
    // Once the host left, they are free again.
    desk.leave(call, &user(&core, 1)).unwrap();
    desk.join(second, &user(&core, 1)).unwrap();
}

#[test]
fn an_unanswered_invitation_is_missed() {
    let (core, recorder) = core();
    let settings = core.settings().clone();
    let call = create(&core, 1, &[2, 3]).call.call_id;
    GroupDesk::new(&core).ring(call, UserId(2)).unwrap();
    let timeout = i64::try_from(settings.call_notification_timeout).unwrap();
    // The host heartbeats meanwhile, so only the rings run out.
    for _ in 0..(timeout / 30 - 1) {
        assert!(advance(&core, 30).is_empty());
        GroupDesk::new(&core)
            .heartbeat(call, &user(&core, 1))
            .unwrap();
    }
    assert!(advance(&core, 29).is_empty());
    assert_eq!(
        advance(&core, 1),
        ["group_participant_missed", "group_participant_missed"]
    );
    let record = stored(&core, call);
    assert_eq!(
        record.participant(UserId(2)).unwrap().state(),
        ParticipantState::Missed
    );
    assert_eq!(
        record.participant(UserId(3)).unwrap().state(),
        ParticipantState::Missed
    );
    assert!(record.call.is_active());
    let heard = recorder.of(call);
    assert!(heard.contains(&GroupHappening::Ringing { user: UserId(2) }));
    assert!(heard.contains(&GroupHappening::Missed { user: UserId(3) }));
    // A missed invitee may still join.
    GroupDesk::new(&core).join(call, &user(&core, 2)).unwrap();
}

#[test]
fn a_silent_participant_is_dropped_and_an_empty_call_ends() {
    let (core, recorder) = core();
    let settings = core.settings().clone();
    let desk = GroupDesk::new(&core);
    let call = create(&core, 1, &[2]).call.call_id;
    let hb = i64::try_from(settings.call_heartbeat_timeout).unwrap();
    advance(&core, 10);
    desk.join(call, &user(&core, 2)).unwrap();
    // The host, watched from the creation, stays silent: dropped at `hb`.
    assert_eq!(advance(&core, hb - 10), ["group_heartbeat_lost"]);
    desk.heartbeat(call, &user(&core, 2)).unwrap();
    let record = stored(&core, call);
    assert_eq!(
        record.participant(HOST).unwrap().state(),
        ParticipantState::Left
    );
    assert!(recorder.of(call).contains(&GroupHappening::Left {
        user: HOST,
        reason: GroupLeftReason::NetworkFailure
    }));
    // Participant 2 leaves: nobody is joined, and the call ends a ring timeout later.
    desk.leave(call, &user(&core, 2)).unwrap();
    let ring = i64::try_from(settings.call_ring_timeout).unwrap();
    assert!(advance(&core, ring - 1).is_empty());
    assert_eq!(advance(&core, 1), ["group_empty"]);
    let record = stored(&core, call);
    assert_eq!(record.call.state, GroupCallState::Ended);
    assert_eq!(record.end_reason, Some(GroupEndReason::Empty));
    assert_eq!(core.deadlines.group_deadline(call), None);
}

#[test]
fn rejoining_before_the_ring_timeout_keeps_the_call() {
    let settings = Settings {
        call_heartbeat_timeout: 0,
        ..Settings::default()
    };
    let (core, _) = core_with(settings);
    let desk = GroupDesk::new(&core);
    let call = create(&core, 1, &[2]).call.call_id;
    desk.leave(call, &user(&core, 1)).unwrap();
    advance(&core, 20);
    desk.join(call, &user(&core, 1)).unwrap();
    assert!(advance(&core, 3000).iter().all(|a| *a != "group_empty"));
    assert!(stored(&core, call).call.is_active());
}

#[test]
fn a_call_ends_at_its_maximum_duration() {
    let settings = Settings {
        call_heartbeat_timeout: 0,
        call_max_duration: 600,
        ..Settings::default()
    };
    let (core, recorder) = core_with(settings);
    let call = create(&core, 1, &[2]).call.call_id;
    GroupDesk::new(&core).join(call, &user(&core, 2)).unwrap();
    assert!(advance(&core, 599).is_empty());
    assert_eq!(advance(&core, 1), ["group_max_duration"]);
    let record = stored(&core, call);
    assert_eq!(record.end_reason, Some(GroupEndReason::MaxDuration));
    assert_eq!(
        recorder.of(call).last(),
        Some(&GroupHappening::Ended {
            reason: GroupEndReason::MaxDuration
        })
    );
}

#[test]
fn a_restart_keeps_a_group_call_and_its_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    let location = DbLocation::File(dir.path().join("group.sqlite3"));
    let settings = Settings {
        call_heartbeat_timeout: 0,
        ..Settings::default()
    };
    let (call, before) = {
        let (core, _) = core_over(Store::open(&location).unwrap(), settings.clone(), t0());
        let record = create(&core, 1, &[2, 3]);
        let record = GroupDesk::new(&core)
            .join(record.call.call_id, &user(&core, 2))
            .unwrap();
        (record.call.call_id, record)
    };
    // Ten seconds later, on a new core over the same file.
    let (core, recorder) = core_over(
        Store::open(&location).unwrap(),
        settings.clone(),
        t0().plus_seconds(10),
    );
    assert_eq!(stored(&core, call), before);
    assert_eq!(core.deadlines.group_deadline(call), None);
    assert_eq!(GroupDesk::new(&core).schedule_all().unwrap(), 1);
    let notification = i64::try_from(settings.call_notification_timeout).unwrap();
    assert_eq!(
        core.deadlines.group_deadline(call),
        Some((
            t0().plus_seconds(notification),
            GroupDeadline::Miss(UserId(3))
        ))
    );
    assert_eq!(
        advance(&core, notification - 10),
        ["group_participant_missed"]
    );
    assert_eq!(
        recorder.of(call),
        [GroupHappening::Missed { user: UserId(3) }]
    );
    // The participants' places survived too: 2 is still joined and may leave.
    GroupDesk::new(&core).leave(call, &user(&core, 2)).unwrap();
}

/// Runs `a` and `b` at once on two threads.
fn race<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let ta = s.spawn(|| {
            barrier.wait();
            a()
        });
        let tb = s.spawn(|| {
            barrier.wait();
            b()
        });
        (ta.join().unwrap(), tb.join().unwrap())
    })
}

#[test]
fn two_users_racing_for_the_last_seat_one_wins() {
    let (core, _) = core();
    let invitees: Vec<i64> = (2..=51).collect();
    for round in 0..40 {
        let desk = GroupDesk::new(&core);
        let call = create(&core, 1, &invitees).call.call_id;
        for id in 2..=49 {
            desk.join(call, &user(&core, id)).unwrap();
        }
        let (a, b) = (user(&core, 50), user(&core, 51));
        let (ra, rb) = race(|| desk.join(call, &a), || desk.join(call, &b));
        let full = |r: &Result<GroupRecord, GroupError>| {
            matches!(r, Err(GroupError::Refused(GroupRefusal::CallFull { .. })))
        };
        assert_eq!(
            (ra.is_ok() as u8 + rb.is_ok() as u8, full(&ra) || full(&rb)),
            (1, true),
            "round {round}: {ra:?} {rb:?}"
        );
        assert_eq!(stored(&core, call).joined_count(), 50);
        desk.end(call, &user(&core, 1)).unwrap();
    }
}

#[test]
fn leave_racing_end_ends_the_call_once() {
    let (core, recorder) = core();
    for round in 0..200 {
        let desk = GroupDesk::new(&core);
        let call = create(&core, 1, &[2]).call.call_id;
        desk.join(call, &user(&core, 2)).unwrap();
        let (host, u2) = (user(&core, 1), user(&core, 2));
        let (left, ended) = race(|| desk.leave(call, &u2), || desk.end(call, &host));
        let (left, ended) = (left.unwrap(), ended.unwrap());
        assert_eq!(ended.call.state, GroupCallState::Ended);
        let heard = recorder.of(call);
        let ends = heard
            .iter()
            .filter(|h| matches!(h, GroupHappening::Ended { .. }))
            .count();
        let leaves = heard
            .iter()
            .filter(|h| matches!(h, GroupHappening::Left { .. }))
            .count();
        // Leave won (it left an active call, then the end came) or end won (leave: no-op).
        let leave_won = left.call.is_active();
        assert_eq!((ends, leaves), (1, usize::from(leave_won)), "round {round}");
        assert_eq!(
            ended.participant(UserId(2)).unwrap().state(),
            ParticipantState::Left
        );
    }
}

#[test]
fn decline_racing_join_leaves_one_answer() {
    let (core, recorder) = core();
    for round in 0..200 {
        let desk = GroupDesk::new(&core);
        let call = create(&core, 1, &[2]).call.call_id;
        let u2 = user(&core, 2);
        let (declined, joined) = race(|| desk.decline(call, &u2), || desk.join(call, &u2));
        // Either join came first (the decline is refused) or the decline did (and the join
        // changed the participant's mind): joined once, whatever the order.
        assert!(joined.is_ok(), "round {round}: {joined:?}");
        let heard = recorder.of(call);
        let declines = heard
            .iter()
            .filter(|h| matches!(h, GroupHappening::Declined { .. }))
            .count();
        assert_eq!(
            declined.is_ok(),
            declines == 1,
            "round {round}: {declined:?}"
        );
        if let Err(err) = declined {
            assert!(matches!(
                err,
                GroupError::Refused(GroupRefusal::InvalidState {
                    state: ParticipantState::Joined,
                    ..
                })
            ));
        }
        let joins = heard
            .iter()
            .filter(|h| matches!(h, GroupHappening::Joined { .. }))
            .count();
        assert_eq!(joins, 1);
        assert_eq!(
            stored(&core, call).participant(UserId(2)).unwrap().state(),
            ParticipantState::Joined
        );
        desk.end(call, &user(&core, 1)).unwrap();
    }
}

#[test]
fn invite_racing_end_has_one_winner() {
    let (core, _) = core();
    for round in 0..200 {
        let desk = GroupDesk::new(&core);
        let call = create(&core, 1, &[2]).call.call_id;
        desk.join(call, &user(&core, 2)).unwrap();
        let (host, u2) = (user(&core, 1), user(&core, 2));
        let (invited, ended) = race(
            || desk.invite(call, &u2, &[UserId(3)]),
            || desk.end(call, &host),
        );
        let ended = ended.unwrap();
        let record = stored(&core, call);
        match invited {
            // The invitation came first: the end made it missed.
            Ok(invited) => {
                assert_eq!(invited.invited, [UserId(3)]);
                assert_eq!(
                    record.participant(UserId(3)).unwrap().state(),
                    ParticipantState::Missed
                );
            }
            // The end came first: the inviter was no longer joined.
            Err(err) => {
                assert!(
                    matches!(err, GroupError::Refused(GroupRefusal::NotJoined)),
                    "round {round}: {err:?}"
                );
                assert!(record.participant(UserId(3)).is_none());
            }
        }
        assert_eq!(record, ended);
    }
}

#[test]
fn a_one_to_one_call_racing_a_group_join_has_one_winner() {
    let (core, _) = core();
    for round in 0..200 {
        let desk = GroupDesk::new(&core);
        let calls = CallDesk::new(&core);
        let call = create(&core, 1, &[5]).call.call_id;
        let (u5, u7) = (user(&core, 5), user(&core, 7));
        let (joined, called) = race(
            || desk.join(call, &u5),
            || calls.create(&u7, &CallTarget::Id(UserId(5)), CallType::Audio),
        );
        assert_eq!(
            joined.is_ok() as u8 + called.is_ok() as u8,
            1,
            "round {round}: {joined:?} {called:?}"
        );
        // Clean up for the next round.
        desk.end(call, &user(&core, 1)).unwrap();
        if let Ok(one) = called {
            calls
                .act(
                    one.call.call_id,
                    crate::core::calls::Who::User(&u7),
                    zulip_calls_protocol::Action::Cancel,
                    None,
                )
                .unwrap();
        }
    }
}
