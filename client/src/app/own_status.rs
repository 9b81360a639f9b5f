//! The Zulip status this client shows for its user while they cannot take a call: "In a call"
//! while they are in one, "Do not disturb" while DND is on. The core only says which one is
//! wanted ([`Model::wanted_status`]); the runner's status keeper sets it, remembers the status
//! it replaced (on disk, so a crash cannot lose it) and puts that back when none is wanted.

use zulip_calls_protocol::zulip::{UpdateStatusRequest, UserStatus};

use super::model::Model;

/// A status this client sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnStatus {
    InCall,
    DoNotDisturb,
}

/// The text of the "in a call" status.
pub const IN_A_CALL_TEXT: &str = "In a call";
/// The text of the do-not-disturb status.
pub const DO_NOT_DISTURB_TEXT: &str = "Do not disturb";

impl OwnStatus {
    pub const fn text(self) -> &'static str {
        match self {
            OwnStatus::InCall => IN_A_CALL_TEXT,
            OwnStatus::DoNotDisturb => DO_NOT_DISTURB_TEXT,
        }
    }

    /// Zulip's name and code of the emoji shown with it.
    pub const fn emoji(self) -> (&'static str, &'static str) {
        match self {
            OwnStatus::InCall => ("phone", "1f4de"),
            OwnStatus::DoNotDisturb => ("zzz", "1f4a4"),
        }
    }

    /// The request that sets it.
    pub fn request(self) -> UpdateStatusRequest {
        let (name, code) = self.emoji();
        UpdateStatusRequest {
            status_text: Some(self.text().to_owned()),
            away: None,
            emoji_name: Some(name.to_owned()),
            emoji_code: Some(code.to_owned()),
            reaction_type: Some("unicode_emoji".to_owned()),
        }
    }

    /// Whether `status` is this one (as set by this client, or typed the same by hand).
    pub fn matches(self, status: &UserStatus) -> bool {
        status
            .status_text
            .as_deref()
            .is_some_and(|text| text.eq_ignore_ascii_case(self.text()))
    }
}

/// Whether a teammate's status says they are in a call: ours, another client's "On a call",
/// or just the phone emoji.
pub fn is_in_a_call(status: &UserStatus) -> bool {
    let text = status
        .status_text
        .as_deref()
        .unwrap_or_default()
        .to_lowercase();
    text.starts_with("in a call")
        || text.starts_with("on a call")
        || status.emoji_name.as_deref() == Some(OwnStatus::InCall.emoji().0)
}

/// Whether a teammate's status asks not to be disturbed.
pub fn is_do_not_disturb(status: &UserStatus) -> bool {
    OwnStatus::DoNotDisturb.matches(status)
}

impl Model {
    /// The status this client wants shown for its user now; `None` for theirs.
    pub fn wanted_status(&self) -> Option<OwnStatus> {
        if !self.settings.share_status {
            return None;
        }
        if self.held().is_some() {
            Some(OwnStatus::InCall)
        } else if self.dnd.on {
            Some(OwnStatus::DoNotDisturb)
        } else {
            None
        }
    }
}
