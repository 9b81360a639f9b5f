//! End-to-end tests live in `tests/`; this library holds their shared helpers.

pub mod plugin_users;
