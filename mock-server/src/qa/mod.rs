//! The QA features, around the API: the control API (`/mock/v1/*`), the request journal,
//! injected faults, bots, `/metrics` and the push webhook. They reach requests as one
//! middleware ([`front_desk`]) and the core's news as listeners (metrics, bots, webhook);
//! bots act through the core's call operations as any user would.
//!
//! Depends on the API and the core.

pub mod bots;
pub mod control;
pub mod faults;
pub mod front_desk;
pub mod journal;
pub mod metrics;
pub mod request_match;
pub mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;

use zulip_calls_protocol::UserId;

use crate::api::ApiState;
use crate::core::Core;
use crate::core::model::{RealmRecord, UserRecord};

/// Where every control route lives.
pub const CONTROL_PREFIX: &str = "/mock/v1";

/// Handlers of the control API and the QA middleware share one of these.
pub type QaState = Arc<Qa>;

/// The realm file as loaded again (the control API's reset): its realms, users and bots.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Realms {
    pub realms: Vec<RealmRecord>,
    pub users: Vec<UserRecord>,
    pub bots: BTreeMap<UserId, bots::BotConfig>,
}

/// Loads the realm file again; the error says why it could not.
pub type RealmSource = Arc<dyn Fn() -> Result<Realms, String> + Send + Sync>;

/// The QA features' state, over the API's.
pub struct Qa {
    /// The core (the API's, named here for short).
    pub core: Arc<Core>,
    pub api: ApiState,
    /// `Authorization: Bearer` token the control API requires; `None` leaves it open.
    pub admin_token: Option<String>,
    /// Where a reset reloads the realms from.
    pub realms: RealmSource,
    /// The latest requests to the Zulip and plugin API (see `journal`).
    pub journal: journal::Journal,
    /// Fault injection rules (see `faults`).
    pub faults: faults::Faults,
    /// The automated bots and their pending actions (see `bots`).
    pub bots: Arc<bots::Bots>,
    /// The `/metrics` series counted as things happen.
    pub metrics: Arc<metrics::Metrics>,
}

impl std::fmt::Debug for Qa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qa")
            .field("api", &self.api)
            .field("admin_token", &self.admin_token.is_some())
            .field("journal", &self.journal)
            .field("faults", &self.faults)
            .field("bots", &self.bots)
            .finish_non_exhaustive()
    }
}

impl crate::api::params::BodyLimit for QaState {
    fn max_body_bytes(&self) -> usize {
        self.api.limits.max_body_bytes
    }
}

impl Qa {
    /// The QA features over `api`, with the listeners the core was built with (`bots` and
    /// `metrics` hear its news).
    pub fn new(
        api: ApiState,
        admin_token: Option<String>,
        realms: RealmSource,
        bots: Arc<bots::Bots>,
        metrics: Arc<metrics::Metrics>,
    ) -> Self {
        Qa {
            core: Arc::clone(&api.core),
            api,
            admin_token,
            realms,
            journal: journal::Journal::default(),
            faults: faults::Faults::default(),
            bots,
            metrics,
        }
    }
}
