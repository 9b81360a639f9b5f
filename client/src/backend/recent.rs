//! The calls since a point in time, newest first, read page by page from the history (in
//! whichever dialect [`Calls::history`] speaks); and the mark of when History was last looked
//! at, kept per account in the state directory so missed calls are counted across restarts.

use std::path::Path;

use zulip_calls_protocol::calls::HistoryRequest;
use zulip_calls_protocol::{HistoryEntry, Timestamp, UserId};

use super::api::ClientError;
use super::calls::Calls;
use super::state_file::StateFile;

/// Calls per history page asked for.
const PAGE: u32 = 100;
/// Pages read at most, so a very old mark cannot make start-up slow.
const MAX_PAGES: u32 = 10;

/// Every call since `since` (up to [`MAX_PAGES`] pages), newest first.
pub async fn history_since(
    calls: &Calls,
    since: Timestamp,
) -> Result<Vec<HistoryEntry>, ClientError> {
    let mut entries = Vec::new();
    for page in 0..MAX_PAGES {
        let request = HistoryRequest {
            limit: PAGE,
            offset: page * PAGE,
            call_type: None,
            state: None,
        };
        let response = calls.history(&request).await?;
        let more = response.more_after(PAGE);
        let reached = response.calls.iter().any(|c| c.created_at < since);
        entries.extend(response.calls.into_iter().filter(|c| c.created_at >= since));
        if reached || !more {
            break;
        }
    }
    Ok(entries)
}

/// When each account last looked at History, in a small JSON file of the state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenMarks {
    file: StateFile,
}

impl SeenMarks {
    /// The file's name in the state directory.
    pub const FILE_NAME: &'static str = "history-seen.json";

    /// The marks kept in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        SeenMarks {
            file: StateFile::new(dir, SeenMarks::FILE_NAME, "History marks"),
        }
    }

    /// The key of user `me` on `site`.
    pub fn account(site: &str, me: UserId) -> String {
        format!("{me}@{site}")
    }

    /// When `account` last looked at History.
    pub fn recall(&self, account: &str) -> Option<Timestamp> {
        self.file.get(account)
    }

    /// Records that `account` looked at History at `at`.
    pub fn remember(&self, account: &str, at: Timestamp) {
        self.file.set(account, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_survive_a_new_instance_per_account() {
        let dir = tempfile::tempdir().unwrap();
        let at = Timestamp::from_unix_seconds(1_700_000_000).unwrap();
        let a = SeenMarks::account("https://chat.example.com", UserId(9));
        let b = SeenMarks::account("https://chat.example.com", UserId(10));
        assert_eq!(SeenMarks::in_dir(dir.path()).recall(&a), None);
        SeenMarks::in_dir(dir.path()).remember(&a, at);
        let again = SeenMarks::in_dir(dir.path());
        assert_eq!(again.recall(&a), Some(at));
        assert_eq!(again.recall(&b), None);
    }
}
