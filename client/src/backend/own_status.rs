//! Keeps the user's Zulip status in step with what the UI wants shown ("In a call", "Do not
//! disturb", or the user's own), in a task of its own so a slow server never blocks the keys.
//!
//! Before the first status of ours is set, the user's status is read and written to the state
//! directory; it is put back when none of ours is wanted any more, and the record is then
//! removed. A client killed in between leaves the record behind: the next start finds it,
//! begins as if its status were still set, and so puts the old one back as soon as the UI
//! (with no call) wants none. A status the user changed by hand meanwhile is left alone.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zulip_calls_protocol::UserId;
use zulip_calls_protocol::endpoint::Empty;
use zulip_calls_protocol::zulip::{GetUserStatus, UpdateStatus, UpdateStatusRequest, UserStatus};

use super::api::{ApiClient, ClientError};
use super::state_file::StateFile;
use crate::app::own_status::OwnStatus;

/// After a failed request, the next try.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// How long quitting waits for the old status to be put back.
pub const RESTORE_TIMEOUT: Duration = Duration::from_secs(5);

/// What is remembered per account while a status of ours is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replaced {
    /// Ours, as set.
    pub set: StoredStatus,
    /// The user's own, to put back.
    pub previous: UserStatus,
}

/// [`OwnStatus`] as written in the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredStatus {
    InCall,
    DoNotDisturb,
}

impl From<OwnStatus> for StoredStatus {
    fn from(status: OwnStatus) -> Self {
        match status {
            OwnStatus::InCall => StoredStatus::InCall,
            OwnStatus::DoNotDisturb => StoredStatus::DoNotDisturb,
        }
    }
}

impl From<StoredStatus> for OwnStatus {
    fn from(status: StoredStatus) -> Self {
        match status {
            StoredStatus::InCall => OwnStatus::InCall,
            StoredStatus::DoNotDisturb => OwnStatus::DoNotDisturb,
        }
    }
}

/// The replaced statuses, per account, in the state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMemory {
    file: StateFile,
}

impl StatusMemory {
    /// The file's name in the state directory.
    pub const FILE_NAME: &'static str = "replaced-status.json";

    /// The records kept in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        StatusMemory {
            file: StateFile::new(dir, StatusMemory::FILE_NAME, "replaced statuses"),
        }
    }

    /// What is recorded for `account`.
    pub fn recall(&self, account: &str) -> Option<Replaced> {
        self.file.get(account)
    }

    fn remember(&self, account: &str, replaced: &Replaced) {
        self.file.set(account, replaced.clone());
    }

    fn forget(&self, account: &str) {
        self.file.remove::<Replaced>(account);
    }
}

/// The running keeper. Dropping it stops the task where it is (a crash, in effect, and the
/// next start recovers); [`StatusKeeper::finish`] puts the old status back first.
#[derive(Debug)]
pub struct StatusKeeper {
    /// `None` once finishing: the worker stops when it is gone. It holds `None` until the UI
    /// first says what it wants, then `Some(wish)`.
    wanted: Option<watch::Sender<Option<Option<OwnStatus>>>>,
    task: Option<JoinHandle<()>>,
}

impl StatusKeeper {
    /// Starts keeping user `me`'s status; `memory` (with the key `account`) is where the
    /// replaced status is recorded and where one left by a previous run is found.
    pub fn spawn(api: ApiClient, me: UserId, memory: Option<(StatusMemory, String)>) -> Self {
        let applied = memory.as_ref().and_then(|(m, account)| m.recall(account));
        if let Some(replaced) = &applied {
            tracing::info!(set = ?replaced.set, "found a status of ours from an earlier run");
        }
        let (wanted, watcher) = watch::channel(None);
        let worker = Worker {
            api,
            me,
            memory,
            applied,
            unsupported: false,
        };
        StatusKeeper {
            wanted: Some(wanted),
            task: Some(tokio::spawn(worker.run(watcher))),
        }
    }

    /// The status the UI wants now; `None` for the user's own.
    pub fn want(&self, status: Option<OwnStatus>) {
        if let Some(wanted) = &self.wanted {
            wanted.send_if_modified(|current| {
                let changed = *current != Some(status);
                *current = Some(status);
                changed
            });
        }
    }

    /// Puts the user's own status back (waiting up to [`RESTORE_TIMEOUT`]) and stops.
    pub async fn finish(mut self) {
        self.want(None);
        self.wanted = None;
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(RESTORE_TIMEOUT, &mut task)
                .await
                .is_err()
        {
            tracing::warn!("the old status could not be put back in time");
            task.abort();
        }
    }
}

impl Drop for StatusKeeper {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

struct Worker {
    api: ApiClient,
    me: UserId,
    memory: Option<(StatusMemory, String)>,
    /// Ours, as set, and what it replaced.
    applied: Option<Replaced>,
    /// The server has no user status API: nothing more is tried.
    unsupported: bool,
}

impl Worker {
    /// Brings the status to what is wanted, again after every change, until the keeper is
    /// gone and nothing is left to do.
    async fn run(mut self, mut wanted: watch::Receiver<Option<Option<OwnStatus>>>) {
        // Nothing is done before the UI first says what it wants.
        if wanted.changed().await.is_err() {
            return;
        }
        loop {
            let target = wanted.borrow_and_update().flatten();
            let done = match self.apply(target).await {
                Ok(()) => true,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot update the Zulip status");
                    false
                }
            };
            let closed = if done {
                wanted.changed().await.is_err()
            } else {
                tokio::select! {
                    changed = wanted.changed() => changed.is_err(),
                    () = tokio::time::sleep(RETRY_AFTER) => false,
                }
            };
            if closed {
                // The last wish (`finish` sends `None`) is applied once more if it failed.
                if !done {
                    let last = wanted.borrow().flatten();
                    let _ = self.apply(last).await;
                }
                return;
            }
        }
    }

    /// One step towards `target`; a server without the status API ends all steps.
    async fn apply(&mut self, target: Option<OwnStatus>) -> Result<(), ClientError> {
        if self.unsupported {
            return Ok(());
        }
        match self.step(target).await {
            Err(ClientError::NoEndpoint { site, path }) => {
                tracing::info!(%site, %path, "the server has no user status API; the status is left alone");
                self.unsupported = true;
                self.applied = None;
                if let Some((memory, account)) = &self.memory {
                    memory.forget(account);
                }
                Ok(())
            }
            other => other,
        }
    }

    async fn step(&mut self, target: Option<OwnStatus>) -> Result<(), ClientError> {
        match (target, self.applied.clone()) {
            (None, None) => Ok(()),
            (Some(status), Some(replaced)) if OwnStatus::from(replaced.set) == status => Ok(()),
            (Some(status), None) => {
                // Zulip 9.0+ reads one user's status; older servers leave it unknown (then
                // the text and emoji are cleared afterwards).
                let previous = match self.api.request::<GetUserStatus>(&self.me, &Empty {}).await {
                    Ok(response) => response.status,
                    Err(err) if err.is_transient() => return Err(err),
                    Err(err) => {
                        tracing::info!(error = %err, "cannot read the current status");
                        UserStatus::default()
                    }
                };
                let replaced = Replaced {
                    set: status.into(),
                    previous,
                };
                // Recorded before it is set: a crash right after must still find it.
                self.record(&replaced);
                self.api
                    .request::<UpdateStatus>(&(), &status.request())
                    .await?;
                tracing::info!(?status, "set the Zulip status");
                self.applied = Some(replaced);
                Ok(())
            }
            (Some(status), Some(mut replaced)) => {
                replaced.set = status.into();
                self.record(&replaced);
                self.api
                    .request::<UpdateStatus>(&(), &status.request())
                    .await?;
                tracing::info!(?status, "changed the Zulip status");
                self.applied = Some(replaced);
                Ok(())
            }
            (None, Some(replaced)) => {
                let ours = OwnStatus::from(replaced.set);
                let current = self
                    .api
                    .request::<GetUserStatus>(&self.me, &Empty {})
                    .await
                    .ok()
                    .map(|r| r.status);
                let still_ours = current.as_ref().is_none_or(|c| ours.matches(c));
                if still_ours {
                    self.api
                        .request::<UpdateStatus>(&(), &restoring(&replaced.previous))
                        .await?;
                    tracing::info!("put the old Zulip status back");
                } else {
                    tracing::info!("the status was changed meanwhile; leaving it");
                }
                if let Some((memory, account)) = &self.memory {
                    memory.forget(account);
                }
                self.applied = None;
                Ok(())
            }
        }
    }

    fn record(&self, replaced: &Replaced) {
        if let Some((memory, account)) = &self.memory {
            memory.remember(account, replaced);
        }
    }
}

/// The request that puts `previous` back: its text and emoji, or none (an empty text or
/// emoji name clears it). `away` was never touched.
pub fn restoring(previous: &UserStatus) -> UpdateStatusRequest {
    let emoji = previous.emoji_name.is_some();
    UpdateStatusRequest {
        status_text: Some(previous.status_text.clone().unwrap_or_default()),
        away: None,
        emoji_name: Some(previous.emoji_name.clone().unwrap_or_default()),
        emoji_code: if emoji {
            previous.emoji_code.clone()
        } else {
            None
        },
        reaction_type: if emoji {
            previous.reaction_type.clone()
        } else {
            None
        },
    }
}
