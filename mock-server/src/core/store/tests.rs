use pretty_assertions::assert_eq;
use rusqlite::params;
use serde_json::json;
use uuid::Uuid;
use zulip_calls_protocol::call::EndReason;
use zulip_calls_protocol::{Call, CallId, CallState, CallType, MediaStatus, Timestamp, UserId};

use super::*;
use crate::core::model::{AuditEntry, CallRecord, Device, RealmId, RealmRecord, UserRecord};

fn at(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_704_110_400_000 + millis).unwrap()
}

fn realm(id: i64) -> RealmRecord {
    RealmRecord {
        id: RealmId(id),
        name: format!("Realm {id}"),
        url: format!("http://realm{id}.localhost:9991"),
    }
}

fn user(id: i64, realm: i64, email: &str) -> UserRecord {
    UserRecord {
        id: UserId(id),
        realm_id: RealmId(realm),
        email: email.to_owned(),
        full_name: format!("User {id}"),
        api_key: format!("key-{id}"),
        password: (id % 2 == 0).then(|| format!("pw-{id}")),
        is_admin: id == 1,
        is_active: true,
        is_bot: false,
    }
}

/// Users 1..=4 in realm 1, user 5 in realm 2.
fn seeded(location: &DbLocation) -> Store {
    let mut store = Store::open(location).unwrap();
    store
        .replace_realms(
            &[realm(1), realm(2)],
            &[
                user(1, 1, "alice@example.com"),
                user(2, 1, "bob@example.com"),
                user(3, 1, "carol@example.com"),
                user(4, 1, "Éva@Example.com"),
                user(5, 2, "zed@other.example"),
            ],
        )
        .unwrap();
    store
}

fn call_id(n: u128) -> CallId {
    CallId(Uuid::from_u128(n))
}

fn call(n: u128, sender: i64, receiver: i64, state: CallState, created: i64) -> CallRecord {
    let id = call_id(n);
    let ended = state.is_terminal().then(|| at(created + 60_000));
    let answered =
        matches!(state, CallState::Accepted | CallState::Ended).then(|| at(created + 5_000));
    CallRecord {
        call: Call {
            call_id: id,
            call_type: if n.is_multiple_of(2) {
                CallType::Video
            } else {
                CallType::Audio
            },
            state,
            sender_id: UserId(sender),
            sender_name: format!("User {sender}"),
            sender_email: format!("u{sender}@example.com"),
            receiver_id: UserId(receiver),
            receiver_name: format!("User {receiver}"),
            receiver_email: format!("u{receiver}@example.com"),
            jitsi_room_id: format!("zulip-call-{id}"),
            jitsi_url: format!("https://meet.jit.si/zulip-call-{id}"),
            created_at: at(created),
            answered_at: answered,
            ended_at: ended,
            duration: zulip_calls_protocol::call::call_duration(answered, ended),
            end_reason: match state {
                CallState::Ended => Some(EndReason::Hangup),
                CallState::Missed => Some(EndReason::Missed),
                CallState::Rejected => Some(EndReason::Rejected),
                CallState::Cancelled => Some(EndReason::Cancelled),
                CallState::Timeout => Some(EndReason::Timeout),
                _ => None,
            },
        },
        realm_id: RealmId(if sender == 5 { 2 } else { 1 }),
        sender_media_status: None,
        receiver_media_status: None,
        sender_heartbeat_at: None,
        receiver_heartbeat_at: None,
    }
}

fn audit(call: &CallRecord, millis: i64, action: &str) -> AuditEntry {
    AuditEntry {
        call_id: call.call.call_id,
        at: at(millis),
        actor_id: Some(call.call.sender_id),
        action: action.to_owned(),
        state: call.call.state,
        detail: json!({"n": millis}),
    }
}

/// Starts call `n` between users 1 and 2 for each `n` of `numbers`, a commit each.
fn start_calls(store: &mut Store, numbers: std::ops::Range<u128>) {
    for n in numbers {
        let record = call(n, 1, 2, CallState::Calling, n as i64);
        store
            .create_call(&record, &audit(&record, n as i64, "call_started"))
            .unwrap();
    }
}

fn ids(calls: &[CallRecord]) -> Vec<CallId> {
    calls.iter().map(|c| c.call.call_id).collect()
}

fn audit_rows(store: &Store) -> i64 {
    store
        .conn
        .query_row("SELECT COUNT(*) FROM call_audit", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn store_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Store>();
}

#[test]
fn locations_parse() {
    assert_eq!(DbLocation::parse(":memory:"), DbLocation::Memory);
    assert_eq!(
        DbLocation::parse("data/calls.db"),
        DbLocation::File(PathBuf::from("data/calls.db"))
    );
    assert_eq!(DbLocation::Memory.to_string(), ":memory:");
}

#[test]
fn data_survives_a_reopen_of_a_fresh_file() {
    let dir = tempfile::tempdir().unwrap();
    let location = DbLocation::File(dir.path().join("nested/deeper/calls.sqlite3"));

    let mut store = seeded(&location);
    assert_eq!(
        store.schema_version().unwrap(),
        migrations::latest_version()
    );
    let journal: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    let foreign_keys: i64 = store
        .conn
        .query_row("PRAGMA foreign_keys", [], |row| row.get(0))
        .unwrap();
    assert_eq!(foreign_keys, 1);
    let synchronous: i64 = store
        .conn
        .query_row("PRAGMA synchronous", [], |row| row.get(0))
        .unwrap();
    assert_eq!(synchronous, 1, "NORMAL");

    let mut first = call(1, 1, 2, CallState::Calling, 0);
    store
        .create_call(&first, &audit(&first, 0, "call_started"))
        .unwrap();
    first.call.state = CallState::Accepted;
    first.call.answered_at = Some(at(3_000));
    first.sender_media_status = Some(MediaStatus::Muted);
    let accepted = audit(&first, 3_000, "call_accepted");
    store
        .apply_transition(&first, CallState::Calling, &[accepted])
        .unwrap();
    // A change that keeps the state (a media status, a heartbeat) is written all the same.
    first.receiver_media_status = Some(MediaStatus::Connected);
    first.sender_heartbeat_at = Some(at(4_000));
    store
        .apply_transition(&first, CallState::Accepted, &[])
        .unwrap();
    assert_eq!(
        store.call(first.call.call_id).unwrap().as_ref(),
        Some(&first)
    );
    let second = call(2, 3, 4, CallState::Ended, 10);
    store
        .create_call(&second, &audit(&second, 10, "call_started"))
        .unwrap();
    assert!(
        store
            .add_device(UserId(2), &Device::Fcm { token: "f1".into() })
            .unwrap()
    );
    let apns = Device::Apns {
        token: "a1".into(),
        appid: "org.zulip.calls".into(),
    };
    store.add_device(UserId(2), &apns).unwrap();
    let push = store
        .record_push(
            at(1),
            UserId(2),
            first.call.call_id,
            "call",
            &json!({"to": "f1"}),
        )
        .unwrap();

    let users_before = store.users().unwrap();
    drop(store);

    let store = Store::open(&location).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        migrations::latest_version()
    );
    assert_eq!(store.realms().unwrap(), vec![realm(1), realm(2)]);
    assert_eq!(store.users().unwrap(), users_before);
    assert_eq!(store.call(first.call.call_id).unwrap(), Some(first.clone()));
    assert_eq!(
        store.call(second.call.call_id).unwrap(),
        Some(second.clone())
    );
    let log = store.audit_of(first.call.call_id).unwrap();
    assert_eq!(
        log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["call_started", "call_accepted"]
    );
    assert_eq!(log[1].state, CallState::Accepted);
    assert_eq!(log[1].detail, json!({"n": 3_000}));
    assert_eq!(
        store.devices_of(UserId(2)).unwrap(),
        vec![Device::Fcm { token: "f1".into() }, apns]
    );
    assert_eq!(store.pushes(&PushFilter::default()).unwrap(), vec![push]);
    assert_eq!(
        store
            .active_call_of(UserId(2))
            .unwrap()
            .map(|c| c.call.call_id),
        Some(first.call.call_id)
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.db");
    drop(Store::open(&DbLocation::File(path.clone())).unwrap());
    let newer = migrations::latest_version() + 1;
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", newer).unwrap();
    }
    match Store::open(&DbLocation::File(path.clone())) {
        Err(StoreError::TooNew { found, supported }) => {
            assert_eq!(found, newer);
            assert_eq!(supported, migrations::latest_version());
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, newer, "left untouched");
}

#[test]
fn calls_and_their_audit_logs_survive_the_migration_to_sequence_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.db");
    // A database as version 3 left it: calls keyed by their UUID, audit rows by call id.
    {
        let conn = Connection::open(&path).unwrap();
        for script in &migrations::MIGRATIONS[..3] {
            conn.execute_batch(script).unwrap();
        }
        conn.execute_batch(
            "PRAGMA user_version = 3;
             INSERT INTO realms VALUES (1, 'Realm', 'http://realm.localhost');
             INSERT INTO users VALUES
                 (1, 1, 'a@x', 'a@x', 'A', 'k1', NULL, 0, 1, 0),
                 (2, 1, 'b@x', 'b@x', 'B', 'k2', NULL, 0, 1, 0);",
        )
        .unwrap();
        // Three calls whose UUID order is not their creation order.
        for (n, created, state) in [
            (3u128, 100, "ended"),
            (1, 200, "ended"),
            (2, 300, "ringing"),
        ] {
            let id = call_id(n).to_string();
            conn.execute(
                "INSERT INTO calls (call_id, realm_id, call_type, state, sender_id, sender_name,
                     sender_email, receiver_id, receiver_name, receiver_email, jitsi_room_id,
                     jitsi_url, created_at, ended_at)
                 VALUES (?1, 1, 'video', ?2, 1, 'A', 'a@x', 2, 'B', 'b@x', 'room', 'url', ?3,
                     CASE ?2 WHEN 'ended' THEN ?3 + 10 END)",
                params![id, state, created],
            )
            .unwrap();
            for action in ["call_started", "participant_ringing"] {
                conn.execute(
                    "INSERT INTO call_audit (call_id, at, actor_id, action, state, detail)
                     VALUES (?1, ?2, 1, ?3, ?4, '{}')",
                    params![id, created, action, state],
                )
                .unwrap();
            }
        }
    }

    let mut store = Store::open(&DbLocation::File(path)).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        migrations::latest_version()
    );
    for n in [1, 2, 3] {
        let record = store.call(call_id(n)).unwrap().expect("kept");
        let log = store.audit_of(call_id(n)).unwrap();
        assert_eq!(
            log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            ["call_started", "participant_ringing"],
            "call {n}"
        );
        assert!(log.iter().all(|e| e.call_id == record.call.call_id));
    }
    // The ringing call is marked active for the partial indexes (migration 9); the ended
    // ones are not.
    assert_eq!(
        store.active_call_id_of(UserId(1)).unwrap(),
        Some(call_id(2))
    );
    assert_eq!(ids(&store.all_active_calls().unwrap()), vec![call_id(2)]);
    let (page, total) = store.history(UserId(1), None, None, 10, 0).unwrap();
    assert_eq!(
        (ids(&page), total),
        (vec![call_id(2), call_id(1), call_id(3)], 3)
    );
    assert_eq!(
        store
            .active_call_of(UserId(2))
            .unwrap()
            .map(|r| r.call.call_id),
        Some(call_id(2))
    );

    // A new entry lands after the migrated ones; deleting old calls takes their audit along.
    let mut ringing = store.call(call_id(2)).unwrap().unwrap();
    ringing.call.state = CallState::Accepted;
    store
        .apply_transition(
            &ringing,
            CallState::Ringing,
            &[audit(&ringing, 400, "call_accepted")],
        )
        .unwrap();
    assert_eq!(store.audit_of(call_id(2)).unwrap().len(), 3);
    assert_eq!(store.delete_terminal_ended_before(at(0), None).unwrap(), 2);
    assert_eq!(audit_rows(&store), 3);

    // The call's end is the one change that takes it out of the active calls' indexes.
    assert_eq!(
        store.active_call_id_of(UserId(1)).unwrap(),
        Some(call_id(2))
    );
    ringing.call.state = CallState::Ended;
    store
        .apply_transition(&ringing, CallState::Accepted, &[])
        .unwrap();
    assert_eq!(store.active_call_id_of(UserId(1)).unwrap(), None);
    assert!(store.all_active_calls().unwrap().is_empty());
}

#[test]
fn migrating_twice_is_a_no_op() {
    let mut store = Store::open_in_memory().unwrap();
    migrations::migrate(&mut store.conn).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        migrations::latest_version()
    );
}

#[test]
fn history_pages_filters_and_counts_newest_first() {
    let store = seeded(&DbLocation::Memory);
    // User 1 is party to calls 1..=6; call 7 is between others.
    let calls = [
        call(1, 1, 2, CallState::Ended, 100),
        call(2, 2, 1, CallState::Missed, 200),
        call(3, 1, 3, CallState::Rejected, 300),
        // Same creation time as call 3: ties go by call id, descending.
        call(4, 3, 1, CallState::Ended, 300),
        call(5, 1, 4, CallState::Cancelled, 400),
        call(6, 4, 1, CallState::Ringing, 500),
        call(7, 2, 3, CallState::Ended, 600),
    ];
    for c in &calls {
        store.insert_call(c).unwrap();
    }
    let all = [6, 5, 4, 3, 2, 1].map(call_id).to_vec();

    let (page, total) = store.history(UserId(1), None, None, 50, 0).unwrap();
    assert_eq!(total, 6);
    assert_eq!(ids(&page), all);

    let (page, total) = store.history(UserId(1), None, None, 2, 0).unwrap();
    assert_eq!((ids(&page), total), (all[..2].to_vec(), 6));
    let (page, total) = store.history(UserId(1), None, None, 2, 2).unwrap();
    assert_eq!((ids(&page), total), (all[2..4].to_vec(), 6));
    let (page, total) = store.history(UserId(1), None, None, 2, 5).unwrap();
    assert_eq!((ids(&page), total), (all[5..].to_vec(), 6));
    let (page, total) = store.history(UserId(1), None, None, 2, 99).unwrap();
    assert_eq!((page.len(), total), (0, 6));

    // Even ids are video calls.
    let (page, total) = store
        .history(UserId(1), Some(CallType::Video), None, 50, 0)
        .unwrap();
    assert_eq!((ids(&page), total), ([6, 4, 2].map(call_id).to_vec(), 3));
    let (page, total) = store
        .history(UserId(1), None, Some(CallState::Ended), 50, 0)
        .unwrap();
    assert_eq!((ids(&page), total), ([4, 1].map(call_id).to_vec(), 2));
    let (page, total) = store
        .history(
            UserId(1),
            Some(CallType::Audio),
            Some(CallState::Ended),
            50,
            0,
        )
        .unwrap();
    assert_eq!((ids(&page), total), (vec![call_id(1)], 1));

    let (page, total) = store.history(UserId(5), None, None, 50, 0).unwrap();
    assert_eq!((page.len(), total), (0, 0));
}

#[test]
fn active_calls_are_found_from_either_side() {
    let store = seeded(&DbLocation::Memory);
    store
        .insert_call(&call(1, 1, 2, CallState::Ended, 0))
        .unwrap();
    store
        .insert_call(&call(2, 1, 2, CallState::Ringing, 100))
        .unwrap();
    store
        .insert_call(&call(3, 3, 4, CallState::Accepted, 50))
        .unwrap();
    store
        .insert_call(&call(4, 4, 3, CallState::Calling, 200))
        .unwrap();

    // The whole record, and the busy check's id alone, agree.
    let of = |user| {
        let id = store
            .active_call_of(UserId(user))
            .unwrap()
            .map(|c| c.call.call_id);
        assert_eq!(store.active_call_id_of(UserId(user)).unwrap(), id);
        id
    };
    assert_eq!(of(1), Some(call_id(2)));
    assert_eq!(of(2), Some(call_id(2)));
    assert_eq!(of(5), None);
    // Against the rules user 3 has two; the newest wins.
    assert_eq!(of(3), Some(call_id(4)));
    assert_eq!(
        ids(&store.active_calls_of(UserId(4)).unwrap()),
        vec![call_id(4), call_id(3)]
    );
    assert_eq!(
        ids(&store.all_active_calls().unwrap()),
        vec![call_id(3), call_id(2), call_id(4)]
    );
    assert_eq!(
        ids(&store.unanswered_created_before(at(200)).unwrap()),
        vec![call_id(2)]
    );
    assert_eq!(
        ids(&store.unanswered_created_before(at(201)).unwrap()),
        vec![call_id(2), call_id(4)]
    );

    let mut ended = call(2, 1, 2, CallState::Ended, 100);
    ended.receiver_media_status = Some(MediaStatus::Connected);
    store.update_call(&ended).unwrap();
    assert_eq!(of(1), None);
    assert_eq!(store.call(call_id(2)).unwrap(), Some(ended));
}

#[test]
fn cleanup_deletes_old_terminal_calls_and_their_audit() {
    let mut store = seeded(&DbLocation::Memory);
    // Ended at created + 60 s.
    let old = call(1, 1, 2, CallState::Ended, 0);
    let recent = call(2, 1, 2, CallState::Missed, 100_000);
    let active = call(3, 3, 4, CallState::Accepted, 0);
    for c in [&old, &recent, &active] {
        store.create_call(c, &audit(c, 0, "call_started")).unwrap();
        store.append_audit(&audit(c, 1, "call_ended")).unwrap();
    }
    store
        .record_push(at(0), UserId(2), old.call.call_id, "call", &json!({}))
        .unwrap();
    assert_eq!(audit_rows(&store), 6);

    assert_eq!(
        store
            .delete_terminal_ended_before(at(60_000), None)
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .delete_terminal_ended_before(at(60_001), None)
            .unwrap(),
        1
    );
    assert_eq!(store.call(old.call.call_id).unwrap(), None);
    assert!(store.audit_of(old.call.call_id).unwrap().is_empty());
    assert_eq!(audit_rows(&store), 4);
    assert!(store.call(recent.call.call_id).unwrap().is_some());
    assert!(store.call(active.call.call_id).unwrap().is_some());
    assert_eq!(store.pushes(&PushFilter::default()).unwrap().len(), 1);

    // Active calls are never deleted, however old.
    assert_eq!(
        store
            .delete_terminal_ended_before(at(10_000_000), None)
            .unwrap(),
        1
    );
    assert_eq!(
        ids(&store.all_active_calls().unwrap()),
        vec![active.call.call_id]
    );
    assert_eq!(audit_rows(&store), 2);
}

#[test]
fn realm_replacement_deactivates_removed_users_and_keeps_their_calls() {
    let mut store = seeded(&DbLocation::Memory);
    store
        .insert_call(&call(1, 1, 3, CallState::Ended, 0))
        .unwrap();

    let mut renamed = user(1, 1, "alice@example.com");
    renamed.full_name = "Alice Renamed".into();
    let mut realm1 = realm(1);
    realm1.name = "Renamed realm".into();
    store
        .replace_realms(
            &[realm1.clone()],
            &[
                renamed.clone(),
                user(2, 1, "bob@example.com"),
                user(6, 1, "new@example.com"),
            ],
        )
        .unwrap();

    assert_eq!(store.realms().unwrap(), vec![realm1, realm(2)]);
    assert_eq!(store.user_by_id(UserId(1)).unwrap(), Some(renamed));
    let carol = store.user_by_id(UserId(3)).unwrap().unwrap();
    assert!(!carol.is_active);
    assert_eq!(carol.email, "carol@example.com");
    assert!(store.user_by_id(UserId(6)).unwrap().unwrap().is_active);
    let active: Vec<i64> = store
        .users()
        .unwrap()
        .iter()
        .filter(|u| u.is_active)
        .map(|u| u.id.0)
        .collect();
    assert_eq!(active, [1, 2, 6]);
    let (history, total) = store.history(UserId(3), None, None, 50, 0).unwrap();
    assert_eq!((ids(&history), total), (vec![call_id(1)], 1));

    // Listed again: active again.
    store
        .replace_realms(&[realm(1)], &[user(3, 1, "carol@example.com")])
        .unwrap();
    assert!(store.user_by_id(UserId(3)).unwrap().unwrap().is_active);
    assert!(!store.user_by_id(UserId(1)).unwrap().unwrap().is_active);
}

#[test]
fn email_lookup_ignores_case() {
    let mut store = seeded(&DbLocation::Memory);
    let by = |store: &Store, email: &str| store.user_by_email(email).unwrap().map(|u| u.id.0);
    assert_eq!(by(&store, "ALICE@example.COM"), Some(1));
    assert_eq!(by(&store, "éva@example.com"), Some(4));
    assert_eq!(by(&store, "ÉVA@EXAMPLE.COM"), Some(4));
    assert_eq!(by(&store, "nobody@example.com"), None);
    assert_eq!(
        store
            .user_by_email("eva@example.com")
            .unwrap()
            .map(|u| u.email),
        None
    );
    // A removed user's address given to someone new: the active one wins.
    store
        .replace_realms(&[realm(1)], &[user(9, 1, "Alice@Example.com")])
        .unwrap();
    assert_eq!(by(&store, "alice@example.com"), Some(9));
}

#[test]
fn devices_are_idempotent_per_kind_and_token() {
    let store = seeded(&DbLocation::Memory);
    let fcm = Device::Fcm { token: "t".into() };
    assert!(store.add_device(UserId(1), &fcm).unwrap());
    assert!(!store.add_device(UserId(1), &fcm).unwrap());
    let apns = |appid: &str| Device::Apns {
        token: "t".into(),
        appid: appid.into(),
    };
    assert!(store.add_device(UserId(1), &apns("a")).unwrap());
    assert!(!store.add_device(UserId(1), &apns("b")).unwrap());
    assert!(store.add_device(UserId(2), &fcm).unwrap());
    assert_eq!(
        store.devices_of(UserId(1)).unwrap(),
        vec![fcm.clone(), apns("b")]
    );

    assert!(store.remove_device(UserId(1), &apns("")).unwrap());
    assert!(!store.remove_device(UserId(1), &apns("")).unwrap());
    assert_eq!(store.devices_of(UserId(1)).unwrap(), vec![fcm.clone()]);
    assert_eq!(store.devices_of(UserId(2)).unwrap(), vec![fcm]);
    assert!(store.devices_of(UserId(3)).unwrap().is_empty());
}

#[test]
fn pushes_filter_and_clear() {
    let store = seeded(&DbLocation::Memory);
    let a = store
        .record_push(at(0), UserId(1), call_id(1), "call", &json!({"a": 1}))
        .unwrap();
    let b = store
        .record_push(
            at(1),
            UserId(2),
            call_id(1),
            "call_cancelled",
            &json!({"b": [2]}),
        )
        .unwrap();
    let c = store
        .record_push(at(2), UserId(1), call_id(2), "call_cancelled", &json!(null))
        .unwrap();
    assert!(a.id < b.id && b.id < c.id);

    let get = |filter: PushFilter| store.pushes(&filter).unwrap();
    assert_eq!(
        get(PushFilter::default()),
        vec![a.clone(), b.clone(), c.clone()]
    );
    let user1 = PushFilter {
        user_id: Some(UserId(1)),
        ..PushFilter::default()
    };
    assert_eq!(get(user1), vec![a.clone(), c.clone()]);
    let call1 = PushFilter {
        call_id: Some(call_id(1)),
        ..PushFilter::default()
    };
    assert_eq!(get(call1), vec![a, b.clone()]);
    let cancelled_of_2 = PushFilter {
        user_id: Some(UserId(2)),
        call_id: None,
        event: Some("call_cancelled".into()),
    };
    assert_eq!(get(cancelled_of_2), vec![b]);

    assert_eq!(store.clear_pushes().unwrap(), 3);
    assert!(get(PushFilter::default()).is_empty());
}

#[test]
fn a_failed_transaction_leaves_nothing_behind() {
    let mut store = seeded(&DbLocation::Memory);
    let first = call(1, 1, 2, CallState::Calling, 0);
    let result: Result<(), StoreError> = store.with_tx(|tx| {
        tx.create_call(&first, &audit(&first, 0, "call_started"))?;
        assert!(tx.call(first.call.call_id)?.is_some());
        Err(StoreError::CallNotFound(call_id(99)))
    });
    assert!(result.is_err());
    assert_eq!(store.call(first.call.call_id).unwrap(), None);
    assert_eq!(audit_rows(&store), 0);

    // An audit entry of an unknown call fails, and takes the call update with it.
    store.insert_call(&first).unwrap();
    let mut accepted = first.clone();
    accepted.call.state = CallState::Accepted;
    let mut stray = audit(&first, 1, "call_accepted");
    stray.call_id = call_id(42);
    let err = store
        .apply_transition(&accepted, first.call.state, &[stray])
        .unwrap_err();
    assert!(err.is_constraint_violation(), "{err}");
    assert_eq!(store.call(first.call.call_id).unwrap(), Some(first.clone()));

    // A duplicate call id is a constraint violation too.
    let err = store.insert_call(&first).unwrap_err();
    assert!(err.is_constraint_violation(), "{err}");
}

#[test]
fn updating_an_unknown_call_is_an_error() {
    let store = seeded(&DbLocation::Memory);
    let missing = call(1, 1, 2, CallState::Ended, 0);
    assert!(matches!(
        store.update_call(&missing),
        Err(StoreError::CallNotFound(id)) if id == missing.call.call_id
    ));
}

#[test]
fn unknown_stored_values_are_corrupt_not_panics() {
    let store = seeded(&DbLocation::Memory);
    store
        .insert_call(&call(1, 1, 2, CallState::Calling, 0))
        .unwrap();
    store
        .conn
        .execute("UPDATE calls SET state = 'on_fire'", [])
        .unwrap();
    match store.call(call_id(1)) {
        Err(StoreError::Corrupt { what }) => assert!(what.contains("calls.state"), "{what}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn checkpoints_move_the_wal_into_the_database_off_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.sqlite3");
    let location = DbLocation::File(path.clone());
    let mut store = seeded(&location);
    store.hand_checkpoints_over().unwrap();
    let checkpointer = super::checkpoint::Checkpointer::open(path.clone()).unwrap();
    let wal = dir.path().join("wal.sqlite3-wal");
    start_calls(&mut store, 0..600);
    // The writer no longer checkpoints by itself (SQLite's own threshold is 1000 frames):
    // every commit is still in the WAL.
    let (frames, copied) = checkpointer.checkpoint().unwrap();
    assert!(frames > 1000, "{frames} frames");
    assert_eq!(
        copied, frames,
        "a passive checkpoint with no reader copies everything"
    );
    // The next write starts the WAL over, so it stays small under steady writes.
    let grown = std::fs::metadata(&wal).unwrap().len();
    start_calls(&mut store, 1000..1001);
    let (frames, _) = checkpointer.checkpoint().unwrap();
    assert!(frames < 20, "the WAL restarted: {frames} frames");
    assert!(std::fs::metadata(&wal).unwrap().len() <= grown);
    drop(store);
    let reopened = Store::open(&location).unwrap();
    assert_eq!(
        reopened.call(call_id(1000)).unwrap().unwrap().call.call_id,
        call_id(1000)
    );
    assert_eq!(
        reopened.call(call_id(0)).unwrap().unwrap().call.call_id,
        call_id(0)
    );
}

#[test]
fn the_active_calls_are_read_through_a_partial_index() {
    let store = Store::open_in_memory().unwrap();
    let plan: Vec<String> = store
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", active::LOAD))
        .unwrap()
        .query_map([], |row| row.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        plan.iter()
            .any(|step| step.contains("USING INDEX calls_active")),
        "{plan:?}"
    );
}

#[test]
fn writing_a_call_builds_no_temporary_table_for_the_partial_indexes() {
    let store = Store::open_in_memory().unwrap();
    let opcodes = |sql: &str| -> Vec<String> {
        let mut stmt = store.conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
        stmt.query_map([], |row| row.get::<_, String>(1))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    for sql in [
        "UPDATE calls SET state = 'ended' WHERE call_id = 'x'",
        "UPDATE calls SET receiver_media_status = 'muted' WHERE call_id = 'x'",
        "DELETE FROM calls WHERE call_id = 'x'",
        concat!(
            "INSERT INTO calls (call_id, realm_id, call_type, state, sender_id, sender_name, ",
            "sender_email, receiver_id, receiver_name, receiver_email, jitsi_room_id, jitsi_url, ",
            "created_at) VALUES ('x', 1, 'video', 'calling', 1, '', '', 2, '', '', '', '', 0)"
        ),
    ] {
        let ops = opcodes(sql);
        let writes = ["Insert", "IdxInsert", "Delete", "IdxDelete"];
        assert!(
            ops.iter().any(|op| writes.contains(&op.as_str())),
            "{sql}: {ops:?}"
        );
        assert!(
            !ops.iter().any(|op| op == "OpenEphemeral"),
            "{sql}: {ops:?}"
        );
    }
}

/// Every 1:1 call's start asks whether either party is in a group call: one index, no
/// temporary table.
#[test]
fn the_group_busy_check_builds_no_temporary_table() {
    let store = Store::open_in_memory().unwrap();
    let mut stmt = store
        .conn
        .prepare(&format!("EXPLAIN {}", super::groups::JOINED_GROUP_CALL_ID))
        .unwrap();
    let ops: Vec<String> = stmt
        .query_map([1], |row| row.get::<_, String>(1))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        ops.iter().any(|op| op == "SeekLE" || op == "SeekGE"),
        "{ops:?}"
    );
    assert!(!ops.iter().any(|op| op == "OpenEphemeral"), "{ops:?}");
}

#[test]
fn a_checkpoint_on_the_writers_connection_lets_the_next_commit_start_the_wal_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.sqlite3");
    let mut store = seeded(&DbLocation::File(path.clone()));
    store.hand_checkpoints_over().unwrap();
    let checkpointer = super::checkpoint::Checkpointer::open(path).unwrap();
    start_calls(&mut store, 0..600);
    // What the background task asks for when the WAL is over its threshold.
    let (frames, copied) = store.checkpoint().unwrap();
    assert!(
        frames > super::checkpoint::CATCH_UP_FRAMES,
        "{frames} frames"
    );
    assert_eq!(
        copied, frames,
        "with the writer held, every frame is copied"
    );
    start_calls(&mut store, 600..601);
    let (frames, _) = checkpointer.checkpoint().unwrap();
    assert!(frames < 20, "the WAL started over: {frames} frames");
}

/// A seeded store in a fresh file, its writes batched: the directory (to keep), the file, the
/// store and its batch counters.
fn batched_store() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    Store,
    std::sync::Arc<batch::BatchCounters>,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batch.sqlite3");
    let mut store = seeded(&DbLocation::File(path.clone()));
    let counters = store.batch_writes();
    (dir, path, store, counters)
}

/// Rows in `calls` as another connection to the same file sees them: what is committed.
fn committed_calls(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM calls", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn batched_writes_share_one_commit_and_are_invisible_until_it() {
    let (_dir, path, mut store, counters) = batched_store();
    assert!(!store.in_batch());
    start_calls(&mut store, 0..3);
    assert!(store.in_batch());
    assert_eq!(counters.pending(), Some(1), "one batch holds all three");
    // The writer reads its own batch; nobody else does yet.
    assert!(store.call(call_id(2)).unwrap().is_some());
    assert_eq!(committed_calls(&path), 0);

    assert!(store.commit_batch().unwrap());
    assert_eq!(committed_calls(&path), 3);
    assert_eq!(counters.pending(), None);
    assert!(counters.has_ended(1) && !counters.has_failed(1));
    assert!(!store.commit_batch().unwrap(), "nothing left to commit");

    start_calls(&mut store, 3..4);
    assert_eq!(
        counters.pending(),
        Some(2),
        "the next write opens the next batch"
    );
}

#[test]
fn a_failed_change_in_a_batch_rolls_back_alone() {
    let (_dir, path, mut store, _) = batched_store();
    start_calls(&mut store, 0..1);
    // The active calls in memory, so that they have to follow the rollback.
    assert_eq!(
        store.active_call_id_of(UserId(1)).unwrap(),
        Some(call_id(0))
    );
    let doomed = call(7, 1, 2, CallState::Calling, 7);
    let result: Result<(), StoreError> = store.with_tx(|tx| {
        tx.create_call(&doomed, &audit(&doomed, 7, "call_started"))?;
        Err(StoreError::CallNotFound(call_id(99)))
    });
    assert!(result.is_err());
    start_calls(&mut store, 1..2);
    store.commit_batch().unwrap();
    assert_eq!(committed_calls(&path), 2);
    assert_eq!(store.call(doomed.call.call_id).unwrap(), None);
    assert_eq!(
        ids(&store.all_active_calls().unwrap()),
        [call_id(0), call_id(1)]
    );
    assert_eq!(
        audit_rows(&store),
        2,
        "the failed change's audit entry went with it"
    );
}

#[test]
fn a_failed_change_that_opened_the_batch_ends_it_with_nothing_lost() {
    let (_dir, path, mut store, counters) = batched_store();
    assert_eq!(store.active_call_id_of(UserId(1)).unwrap(), None);
    let doomed = call(7, 1, 2, CallState::Calling, 7);
    let result: Result<(), StoreError> = store.with_tx(|tx| {
        tx.create_call(&doomed, &audit(&doomed, 7, "call_started"))?;
        Err(StoreError::CallNotFound(call_id(99)))
    });
    assert!(result.is_err());
    assert!(!store.in_batch(), "the batch it opened is rolled back");
    assert_eq!(counters.pending(), None);
    assert!(
        counters.has_ended(1) && !counters.has_failed(1),
        "whoever waited on it goes on"
    );
    assert_eq!(store.call(doomed.call.call_id).unwrap(), None);
    assert_eq!(store.active_call_id_of(UserId(1)).unwrap(), None);
    assert_eq!(audit_rows(&store), 0);

    // The next change opens the next batch, and changes join it as before.
    start_calls(&mut store, 0..2);
    assert_eq!(counters.pending(), Some(2));
    store.commit_batch().unwrap();
    assert_eq!(committed_calls(&path), 2);
}

#[test]
fn a_change_that_opened_the_batch_and_panics_leaves_nothing_behind() {
    let (_dir, path, mut store, counters) = batched_store();
    assert_eq!(store.active_call_id_of(UserId(1)).unwrap(), None);
    let doomed = call(7, 1, 2, CallState::Calling, 7);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _: Result<(), StoreError> = store.with_tx(|tx| {
            tx.create_call(&doomed, &audit(&doomed, 7, "call_started"))?;
            panic!("a bug mid-change");
        });
    }));
    assert!(panicked.is_err());
    assert!(!store.in_batch());
    assert_eq!(counters.pending(), None);
    start_calls(&mut store, 0..1);
    store.commit_batch().unwrap();
    assert_eq!(committed_calls(&path), 1);
    assert_eq!(store.call(doomed.call.call_id).unwrap(), None);
}

#[test]
fn a_batch_that_cannot_commit_is_rolled_back_and_reported_failed() {
    let (_dir, path, mut store, counters) = batched_store();
    start_calls(&mut store, 0..2);
    assert_eq!(store.active_calls_of(UserId(2)).unwrap().len(), 2);
    // What makes the COMMIT itself fail: a foreign key broken inside the batch, deferred.
    store
        .conn
        .execute_batch("PRAGMA defer_foreign_keys = ON")
        .unwrap();
    store
        .conn
        .execute(
            "UPDATE calls SET sender_id = 999 WHERE call_id = ?1",
            [call_id(0).0.to_string()],
        )
        .unwrap();
    let err = store.commit_batch().unwrap_err();
    assert!(err.is_constraint_violation(), "{err}");
    assert!(counters.has_ended(1) && counters.has_failed(1));
    assert!(!store.in_batch(), "rolled back, not left open");
    assert_eq!(committed_calls(&path), 0);
    assert_eq!(store.call(call_id(0)).unwrap(), None);
    assert_eq!(store.active_calls_of(UserId(2)).unwrap(), []);
    // The store goes on: the next change opens and commits a batch of its own.
    start_calls(&mut store, 5..6);
    store.commit_batch().unwrap();
    assert_eq!(committed_calls(&path), 1);
}

#[test]
fn a_change_that_panics_in_a_batch_leaves_nothing_behind() {
    let (_dir, path, mut store, _) = batched_store();
    start_calls(&mut store, 0..1);
    assert_eq!(
        store.active_call_id_of(UserId(1)).unwrap(),
        Some(call_id(0))
    );
    let doomed = call(7, 1, 2, CallState::Calling, 7);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _: Result<(), StoreError> = store.with_tx(|tx| {
            tx.create_call(&doomed, &audit(&doomed, 7, "call_started"))?;
            panic!("a bug mid-change");
        });
    }));
    assert!(panicked.is_err());
    start_calls(&mut store, 1..2);
    store.commit_batch().unwrap();
    assert_eq!(committed_calls(&path), 2);
    assert_eq!(store.call(doomed.call.call_id).unwrap(), None);
}

/// A group call `n` hosted by user 1 with user 2 invited, created at `created`, ended 60 s
/// later when `ended`.
fn group_call(n: u128, created: i64, ended: bool) -> crate::core::group::GroupRecord {
    use zulip_calls_protocol::plugin::group::{
        GroupCall, GroupCallState, GroupEndReason, GroupParticipant, GroupUser,
    };
    let user = |id: i64| GroupUser {
        user_id: UserId(id),
        full_name: format!("User {id}"),
    };
    let participant = |p: GroupParticipant| crate::core::group::ParticipantRecord {
        participant: p,
        heartbeat_at: None,
    };
    crate::core::group::GroupRecord {
        call: GroupCall {
            call_id: call_id(n),
            call_type: CallType::Video,
            state: if ended {
                GroupCallState::Ended
            } else {
                GroupCallState::Active
            },
            title: None,
            host: user(1),
            stream_id: None,
            topic: None,
            jitsi_room_name: format!("zulip-group-call-{n:016x}"),
            jitsi_url: format!("https://meet.jit.si/zulip-group-call-{n:016x}"),
            max_participants: 50,
            created_at: at(created),
            ended_at: ended.then(|| at(created + 60_000)),
        },
        realm_id: RealmId(1),
        end_reason: ended.then_some(GroupEndReason::HostEnded),
        participants: vec![
            participant(GroupParticipant::host(
                user(1),
                "alice@example.com",
                at(created),
            )),
            participant(GroupParticipant::invitee(
                user(2),
                "bob@example.com",
                at(created),
            )),
        ],
    }
}

fn rows(store: &Store, table: &str) -> i64 {
    store
        .conn
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .unwrap()
}

#[test]
fn pruning_deletes_old_ended_group_calls_with_their_participants_and_audit() {
    use crate::core::group::GroupAuditEntry;
    let mut store = seeded(&DbLocation::Memory);
    let old = group_call(1, 0, true);
    let recent = group_call(2, 100_000, true);
    let active = group_call(3, 0, false);
    let one_to_one = call(4, 3, 4, CallState::Ended, 0);
    for g in [&old, &recent, &active] {
        let entry = GroupAuditEntry {
            call_id: g.call.call_id,
            at: g.call.created_at,
            actor_id: Some(UserId(1)),
            action: "created".into(),
            subject_id: None,
            detail: json!({}),
        };
        store.create_group_call(g, &entry).unwrap();
    }
    store
        .create_call(&one_to_one, &audit(&one_to_one, 0, "call_started"))
        .unwrap();
    assert_eq!(
        (
            rows(&store, "group_participants"),
            rows(&store, "group_call_audit")
        ),
        (6, 3)
    );

    // Ended at 60 s: not before 60 s.
    assert_eq!(
        store
            .delete_terminal_ended_before(at(60_000), None)
            .unwrap(),
        0
    );
    // Another realm's cleanup leaves them alone.
    assert_eq!(
        store
            .delete_terminal_ended_before(at(60_001), Some(RealmId(2)))
            .unwrap(),
        0
    );
    // The old group call and the old 1:1 call go together.
    assert_eq!(
        store
            .delete_terminal_ended_before(at(60_001), Some(RealmId(1)))
            .unwrap(),
        2
    );
    assert_eq!(store.group_call(old.call.call_id).unwrap(), None);
    assert_eq!(store.call(one_to_one.call.call_id).unwrap(), None);
    assert_eq!(
        (
            rows(&store, "group_participants"),
            rows(&store, "group_call_audit")
        ),
        (4, 2)
    );
    // Active group calls are never deleted, however old.
    assert_eq!(
        store
            .delete_terminal_ended_before(at(10_000_000), None)
            .unwrap(),
        1
    );
    let left: Vec<_> = store
        .all_active_group_calls()
        .unwrap()
        .into_iter()
        .map(|g| g.call.call_id)
        .collect();
    assert_eq!(left, [active.call.call_id]);
    assert_eq!(
        (
            rows(&store, "group_participants"),
            rows(&store, "group_call_audit")
        ),
        (2, 1)
    );
}

#[test]
fn group_calls_are_listed_by_filter_newest_first() {
    use zulip_calls_protocol::plugin::group::GroupCallState;
    let mut store = seeded(&DbLocation::Memory);
    let entry = |g: &crate::core::group::GroupRecord| crate::core::group::GroupAuditEntry {
        call_id: g.call.call_id,
        at: g.call.created_at,
        actor_id: None,
        action: "created".into(),
        subject_id: None,
        detail: json!({}),
    };
    let older = group_call(1, 0, true);
    let newer = group_call(2, 1_000, false);
    for g in [&older, &newer] {
        store.create_group_call(g, &entry(g)).unwrap();
    }
    let filter = |state, user, realm, limit| GroupCallFilter {
        state,
        call_type: None,
        user,
        realm,
        limit,
    };
    let listed = |f: GroupCallFilter| -> Vec<CallId> {
        store
            .group_calls_matching(&f)
            .unwrap()
            .into_iter()
            .map(|g| g.call.call_id)
            .collect()
    };
    let (o, n) = (older.call.call_id, newer.call.call_id);
    assert_eq!(listed(filter(None, None, None, 10)), [n, o]);
    assert_eq!(listed(filter(None, None, None, 1)), [n]);
    assert_eq!(
        listed(filter(Some(GroupCallState::Ended), None, None, 10)),
        [o]
    );
    assert_eq!(listed(filter(None, Some(UserId(2)), None, 10)), [n, o]);
    assert_eq!(listed(filter(None, Some(UserId(3)), None, 10)), []);
    assert_eq!(listed(filter(None, None, Some(RealmId(2)), 10)), []);
    // Participants come with each call, in order.
    let all = store
        .group_calls_matching(&filter(None, None, None, 10))
        .unwrap();
    assert_eq!(all[1], older);
}

/// What the active calls look like to every lookup that reads them from memory.
fn active_view(store: &Store, calls: u128) -> Vec<String> {
    let mut view = vec![format!("all {:?}", ids(&store.all_active_calls().unwrap()))];
    view.push(format!(
        "unanswered {:?}",
        ids(&store.unanswered_created_before(at(1_000)).unwrap())
    ));
    for user in 1..=4 {
        let user = UserId(user);
        view.push(format!(
            "{user}: {:?} {:?}",
            store.active_call_id_of(user).unwrap(),
            ids(&store.active_calls_of(user).unwrap())
        ));
    }
    for n in 0..calls {
        view.push(format!("{n}: {:?}", store.call(call_id(n)).unwrap()));
    }
    view
}

/// A step of [`the_active_calls_in_memory_always_agree_with_the_rows`].
#[derive(Debug, Clone)]
enum Step {
    /// Place a call between two of users 1..=4 (created at `at`).
    Place(i64, i64, i64),
    /// Move the `n`th call placed to a state, in a change kept or failed.
    Move(usize, CallState, bool),
    /// Commit the batch.
    Commit,
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        (1..=4i64, 1..=4i64, 0..2_000i64).prop_map(|(a, b, at)| Step::Place(a, b, at)),
        (
            0..8usize,
            proptest::sample::select(CallState::ALL),
            any::<bool>()
        )
            .prop_map(|(n, to, kept)| Step::Move(n, to, kept)),
        Just(Step::Commit),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// After any mix of calls placed, moved, failed changes and commits, every lookup served
    /// from memory answers what the rows say (the copy forgotten and read again).
    #[test]
    fn the_active_calls_in_memory_always_agree_with_the_rows(
        steps in proptest::collection::vec(step(), 1..24),
        batched in proptest::prelude::any::<bool>(),
    ) {
        let mut store = seeded(&DbLocation::Memory);
        if batched {
            store.batch_writes();
        }
        let mut placed: Vec<CallRecord> = Vec::new();
        for step in steps {
            match step {
                Step::Place(sender, receiver, created) => {
                    let n = placed.len() as u128;
                    let record = call(n, sender, receiver, CallState::Calling, created);
                    store.create_call(&record, &audit(&record, created, "call_started")).unwrap();
                    placed.push(record);
                }
                Step::Move(n, to, kept) => {
                    let Some(current) = placed.get(n) else { continue };
                    let Some(stored) = store.call(current.call.call_id).unwrap() else { continue };
                    let mut moved = stored.clone();
                    moved.call.state = to;
                    moved.receiver_heartbeat_at = Some(at(n as i64));
                    let result: Result<(), StoreError> = store.with_tx(|tx| {
                        tx.apply_transition(&moved, stored.call.state, &[audit(&moved, 1, "moved")])?;
                        if kept { Ok(()) } else { Err(StoreError::CallNotFound(moved.call.call_id)) }
                    });
                    proptest::prop_assert_eq!(result.is_ok(), kept);
                }
                Step::Commit => {
                    store.commit_batch().unwrap();
                }
            }
            let served = active_view(&store, placed.len() as u128);
            store.active.forget();
            proptest::prop_assert_eq!(served, active_view(&store, placed.len() as u128));
        }
    }
}

/// A time finer than storage keeps reads back the same from memory as from the row.
#[test]
fn an_active_call_reads_back_in_whole_milliseconds_from_memory_too() {
    let mut store = seeded(&DbLocation::Memory);
    assert_eq!(store.active_call_id_of(UserId(1)).unwrap(), None);
    let mut record = call(1, 1, 2, CallState::Calling, 0);
    let fine = |at: Timestamp| Timestamp(at.0 + chrono::TimeDelta::microseconds(1_234));
    record.call.created_at = fine(record.call.created_at);
    record.sender_heartbeat_at = Some(fine(at(7)));
    store
        .create_call(&record, &audit(&record, 0, "call_started"))
        .unwrap();
    let from_memory = store.call(call_id(1)).unwrap().unwrap();
    assert_eq!(from_memory.call.created_at, at(1));
    assert_eq!(from_memory.sender_heartbeat_at, Some(at(8)));
    store.active.forget();
    assert_eq!(store.call(call_id(1)).unwrap().unwrap(), from_memory);
}
