//! The 1:1 and group endpoints as the released plugin's 1.1.0 views answer them
//! (`CALLS_COMPAT = plugin-1.1.0`; `plugin-1.1-dialect.md` §9 and the fixes of §§1, 3):
//! their order of checks, their statuses and their bodies, word for word, over the same core
//! as the contract's routes. Served instead of `shared`, `plugin::calls` and `plugin::groups`
//! when the core's quirks say `plugin_views` (see `core::compat`); each handler names the
//! rows it reproduces.

mod body;
mod calls;
pub mod events;
pub mod group_events;
mod groups;
mod history;

use axum::Router;

use crate::api::ApiState;

/// The deployed plugin's routes, 1:1 and group.
pub fn router(router: Router<ApiState>) -> Router<ApiState> {
    let router = calls::router(router);
    let router = groups::router(router);
    history::router(router)
}
