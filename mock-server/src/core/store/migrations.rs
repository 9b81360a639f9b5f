//! The schema, as an ordered list of migrations tracked by `PRAGMA user_version`.
//!
//! Migration `i` (0-based) brings a database from version `i` to version `i + 1`. Each one runs
//! in its own transaction together with the `user_version` bump, so a crash leaves the database
//! at a whole version. Never edit a migration that has shipped: append a new one.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// The migrations, oldest first. The schema version of a fully migrated database is their count.
pub const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
CREATE TABLE realms (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    url  TEXT NOT NULL
);

CREATE TABLE users (
    id        INTEGER PRIMARY KEY,
    realm_id  INTEGER NOT NULL REFERENCES realms(id),
    email     TEXT NOT NULL,
    -- `email` lowercased (Unicode-aware, by the code), for case-insensitive lookups.
    email_key TEXT NOT NULL,
    full_name TEXT NOT NULL,
    api_key   TEXT NOT NULL,
    password  TEXT,
    is_admin  INTEGER NOT NULL CHECK (is_admin IN (0, 1)),
    is_active INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    is_bot    INTEGER NOT NULL CHECK (is_bot IN (0, 1))
);
CREATE INDEX users_email_key ON users(email_key);
CREATE INDEX users_realm ON users(realm_id);

-- Times are integer milliseconds since the Unix epoch.
CREATE TABLE calls (
    call_id               TEXT PRIMARY KEY NOT NULL,
    realm_id              INTEGER NOT NULL REFERENCES realms(id),
    call_type             TEXT NOT NULL,
    state                 TEXT NOT NULL,
    sender_id             INTEGER NOT NULL REFERENCES users(id),
    sender_name           TEXT NOT NULL,
    sender_email          TEXT NOT NULL,
    receiver_id           INTEGER NOT NULL REFERENCES users(id),
    receiver_name         TEXT NOT NULL,
    receiver_email        TEXT NOT NULL,
    jitsi_room_id         TEXT NOT NULL,
    jitsi_url             TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    answered_at           INTEGER,
    ended_at              INTEGER,
    duration              REAL,
    end_reason            TEXT,
    sender_media_status   TEXT,
    receiver_media_status TEXT
) WITHOUT ROWID;
-- A user's active call, and a user's history newest first.
CREATE INDEX calls_sender_state ON calls(sender_id, state);
CREATE INDEX calls_receiver_state ON calls(receiver_id, state);
CREATE INDEX calls_sender_created ON calls(sender_id, created_at, call_id);
CREATE INDEX calls_receiver_created ON calls(receiver_id, created_at, call_id);
-- Deadline scans over active calls, and cleanup of old terminal calls.
CREATE INDEX calls_state_created ON calls(state, created_at);
CREATE INDEX calls_state_answered ON calls(state, answered_at);
CREATE INDEX calls_state_ended ON calls(state, ended_at);

CREATE TABLE call_audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id  TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
    at       INTEGER NOT NULL,
    actor_id INTEGER,
    action   TEXT NOT NULL,
    state    TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX call_audit_call ON call_audit(call_id, id);

CREATE TABLE devices (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    kind    TEXT NOT NULL,
    token   TEXT NOT NULL,
    appid   TEXT,
    UNIQUE (user_id, kind, token)
);

-- Pushes are a record of what was sent; they outlive the calls they were about.
CREATE TABLE push_outbox (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    call_id TEXT NOT NULL,
    event   TEXT NOT NULL,
    request TEXT NOT NULL
);
CREATE INDEX push_outbox_user ON push_outbox(user_id, id);
CREATE INDEX push_outbox_call ON push_outbox(call_id, id);
"#,
    // 2: users changed through the control API, so that a restart keeps those changes (until a
    // reset) although the realm file is read again.
    r#"
CREATE TABLE control_user_changes (
    user_id   INTEGER PRIMARY KEY REFERENCES users(id),
    -- 1: the user was created through the control API (the realm file does not have it).
    added     INTEGER NOT NULL CHECK (added IN (0, 1)),
    -- The activation set through the control API; NULL: as the realm file says.
    is_active INTEGER CHECK (is_active IN (0, 1))
);
"#,
    // 3: indexes over active calls only. A call enters them when it is created and leaves them
    // when it ends, so the transitions in between (ringing, accepted, media status) write no
    // index page; the state-keyed indexes of the first schema were rewritten at every one.
    r#"
DROP INDEX calls_sender_state;
DROP INDEX calls_receiver_state;
DROP INDEX calls_state_created;
DROP INDEX calls_state_answered;
DROP INDEX calls_state_ended;
CREATE INDEX calls_active_sender ON calls(sender_id)
    WHERE state IN ('calling', 'ringing', 'accepted');
CREATE INDEX calls_active_receiver ON calls(receiver_id)
    WHERE state IN ('calling', 'ringing', 'accepted');
CREATE INDEX calls_active_created ON calls(created_at, call_id)
    WHERE state IN ('calling', 'ringing', 'accepted');
"#,
    // 4: calls keyed by a sequence number in the order they were placed, their audit rows
    // by that number. Keyed by their random UUID, each change of a call wrote a leaf page of
    // its own in the table and in the audit index (the calls in flight were spread over the
    // whole history); now the calls in flight share the last pages. The audit ids lose
    // AUTOINCREMENT (its `sqlite_sequence` row was one more write per entry): they only order
    // a call's entries. The partial indexes test the state with `OR`s: SQLite evaluates their
    // predicate at every write of a row, and an `IN` list of three constants builds a
    // temporary b-tree each time.
    r#"
CREATE TABLE calls_by_seq (
    seq                   INTEGER PRIMARY KEY,
    call_id               TEXT NOT NULL UNIQUE,
    realm_id              INTEGER NOT NULL REFERENCES realms(id),
    call_type             TEXT NOT NULL,
    state                 TEXT NOT NULL,
    sender_id             INTEGER NOT NULL REFERENCES users(id),
    sender_name           TEXT NOT NULL,
    sender_email          TEXT NOT NULL,
    receiver_id           INTEGER NOT NULL REFERENCES users(id),
    receiver_name         TEXT NOT NULL,
    receiver_email        TEXT NOT NULL,
    jitsi_room_id         TEXT NOT NULL,
    jitsi_url             TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    answered_at           INTEGER,
    ended_at              INTEGER,
    duration              REAL,
    end_reason            TEXT,
    sender_media_status   TEXT,
    receiver_media_status TEXT
);
INSERT INTO calls_by_seq (
    call_id, realm_id, call_type, state, sender_id, sender_name, sender_email, receiver_id,
    receiver_name, receiver_email, jitsi_room_id, jitsi_url, created_at, answered_at, ended_at,
    duration, end_reason, sender_media_status, receiver_media_status)
SELECT
    call_id, realm_id, call_type, state, sender_id, sender_name, sender_email, receiver_id,
    receiver_name, receiver_email, jitsi_room_id, jitsi_url, created_at, answered_at, ended_at,
    duration, end_reason, sender_media_status, receiver_media_status
FROM calls ORDER BY created_at, call_id;

CREATE TABLE call_audit_by_seq (
    id       INTEGER PRIMARY KEY,
    call_seq INTEGER NOT NULL REFERENCES calls_by_seq(seq) ON DELETE CASCADE,
    at       INTEGER NOT NULL,
    actor_id INTEGER,
    action   TEXT NOT NULL,
    state    TEXT NOT NULL,
    detail   TEXT NOT NULL
);
INSERT INTO call_audit_by_seq (id, call_seq, at, actor_id, action, state, detail)
SELECT a.id, c.seq, a.at, a.actor_id, a.action, a.state, a.detail
FROM call_audit AS a JOIN calls_by_seq AS c ON c.call_id = a.call_id;

DROP TABLE call_audit;
DROP TABLE calls;
ALTER TABLE calls_by_seq RENAME TO calls;
ALTER TABLE call_audit_by_seq RENAME TO call_audit;

CREATE INDEX calls_sender_created ON calls(sender_id, created_at, call_id);
CREATE INDEX calls_receiver_created ON calls(receiver_id, created_at, call_id);
CREATE INDEX calls_active_sender ON calls(sender_id)
    WHERE (state = 'calling' OR state = 'ringing' OR state = 'accepted');
CREATE INDEX calls_active_receiver ON calls(receiver_id)
    WHERE (state = 'calling' OR state = 'ringing' OR state = 'accepted');
CREATE INDEX calls_active_created ON calls(created_at, call_id)
    WHERE (state = 'calling' OR state = 'ringing' OR state = 'accepted');
CREATE INDEX call_audit_call ON call_audit(call_seq, id);
"#,
    // 5: the 1.1 dialect's heartbeat watch: when each party of an accepted call last
    // heartbeated (NULL: not watched), so a restart keeps the deadline it implies.
    r#"
ALTER TABLE calls ADD COLUMN sender_heartbeat_at INTEGER;
ALTER TABLE calls ADD COLUMN receiver_heartbeat_at INTEGER;
"#,
    // 6: group calls (the 1.1 dialect's §6), their participants and their own audit log. The
    // audit is a table of its own rather than `call_audit` with a kind column: its rows
    // cascade from `group_calls` as `call_audit`'s do from `calls`, and they name the
    // participant an entry is about, which a 1:1 call's entry never needs.
    r#"
CREATE TABLE group_calls (
    seq              INTEGER PRIMARY KEY,
    call_id          TEXT NOT NULL UNIQUE,
    realm_id         INTEGER NOT NULL REFERENCES realms(id),
    call_type        TEXT NOT NULL,
    state            TEXT NOT NULL,
    title            TEXT,
    host_id          INTEGER NOT NULL REFERENCES users(id),
    host_name        TEXT NOT NULL,
    stream_id        INTEGER,
    topic            TEXT,
    jitsi_room_name  TEXT NOT NULL,
    jitsi_url        TEXT NOT NULL,
    max_participants INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    ended_at         INTEGER,
    end_reason       TEXT
);
CREATE INDEX group_calls_active ON group_calls(created_at, seq) WHERE state = 'active';

-- `position`: the order participants were first added in (the host is 0).
CREATE TABLE group_participants (
    call_seq     INTEGER NOT NULL REFERENCES group_calls(seq) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    position     INTEGER NOT NULL,
    full_name    TEXT NOT NULL,
    email        TEXT NOT NULL,
    state        TEXT NOT NULL,
    is_host      INTEGER NOT NULL CHECK (is_host IN (0, 1)),
    invited_at   INTEGER NOT NULL,
    joined_at    INTEGER,
    left_at      INTEGER,
    heartbeat_at INTEGER,
    PRIMARY KEY (call_seq, user_id)
) WITHOUT ROWID;
CREATE INDEX group_participants_user ON group_participants(user_id, call_seq);

CREATE TABLE group_call_audit (
    id         INTEGER PRIMARY KEY,
    call_seq   INTEGER NOT NULL REFERENCES group_calls(seq) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    actor_id   INTEGER,
    action     TEXT NOT NULL,
    subject_id INTEGER,
    detail     TEXT NOT NULL
);
CREATE INDEX group_call_audit_call ON group_call_audit(call_seq, id);
"#,
    // 7: Zulip's presence and user status, one row per user. `last_update_id` counts per
    // realm (Zulip's `PresenceSequence`), so clients fetch only what changed since.
    r#"
CREATE TABLE presence (
    user_id           INTEGER PRIMARY KEY REFERENCES users(id),
    realm_id          INTEGER NOT NULL REFERENCES realms(id),
    last_connected_at INTEGER NOT NULL,
    last_active_at    INTEGER,
    last_update_id    INTEGER NOT NULL
);
CREATE INDEX presence_realm_update ON presence(realm_id, last_update_id);

CREATE TABLE user_status (
    user_id       INTEGER PRIMARY KEY REFERENCES users(id),
    realm_id      INTEGER NOT NULL REFERENCES realms(id),
    status_text   TEXT NOT NULL,
    away          INTEGER NOT NULL CHECK (away IN (0, 1)),
    emoji_name    TEXT NOT NULL,
    emoji_code    TEXT NOT NULL,
    reaction_type TEXT NOT NULL
);
CREATE INDEX user_status_realm ON user_status(realm_id);
"#,
    // 8: the index of active calls by creation time goes. SQLite rewrites an index entry at
    // every update that sets a column its predicate names, so each answer and hang-up rewrote
    // it, for lookups made only at start-up, by the metrics scrape and by the cleanup
    // endpoint; those read the few active calls through the index by sender and sort them.
    r#"
DROP INDEX calls_active_created;
"#,
    // 9: the partial indexes over active calls test a column of their own, `active` (1 while
    // the call is calling, ringing or accepted, NULL once it is over), set when a call is
    // created and when it ends. Their predicate named `state` before, so SQLite rewrote both
    // entries at every change of state, the acknowledgement and the answer included, though
    // neither entry moves until the call ends.
    r#"
ALTER TABLE calls ADD COLUMN active INTEGER CHECK (active = 1);
UPDATE calls SET active = 1 WHERE (state = 'calling' OR state = 'ringing' OR state = 'accepted');
DROP INDEX calls_active_sender;
DROP INDEX calls_active_receiver;
CREATE INDEX calls_active_sender ON calls(sender_id) WHERE active = 1;
CREATE INDEX calls_active_receiver ON calls(receiver_id) WHERE active = 1;
"#,
    // 10: the active calls are kept in memory (`store::active`) and read from the rows only
    // at start-up and after a rollback, so one partial index over them is enough, and one
    // ordered by `seq` keeps the calls in flight on its last page. Each index was one more
    // page written when a call was placed and when it ended.
    r#"
DROP INDEX calls_active_sender;
DROP INDEX calls_active_receiver;
CREATE INDEX calls_active ON calls(seq) WHERE active = 1;
"#,
];

/// The schema version this build writes and understands.
pub fn latest_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// The database's schema version (`PRAGMA user_version`).
pub fn current_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Brings `conn` to [`latest_version`], one transaction per migration.
///
/// Fails with [`StoreError::TooNew`] (touching nothing) when the database was written by a newer
/// build. Safe against another process migrating the same file at the same time: each step
/// takes the write lock first and re-reads the version under it.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let supported = latest_version();
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found = current_version(&tx)?;
        if found > supported {
            return Err(StoreError::TooNew { found, supported });
        }
        if found < 0 {
            return Err(StoreError::Corrupt {
                what: format!("schema version {found} is negative"),
            });
        }
        let Some(script) = usize::try_from(found)
            .ok()
            .and_then(|index| MIGRATIONS.get(index))
        else {
            // Up to date.
            return Ok(());
        };
        tx.execute_batch(script)?;
        // `PRAGMA` takes no bound parameters; the value is an integer we computed.
        tx.execute_batch(&format!("PRAGMA user_version = {}", found + 1))?;
        tx.commit()?;
    }
}
