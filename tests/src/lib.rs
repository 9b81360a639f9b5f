//! End-to-end tests live in `tests/`; this library holds their shared helpers.

pub mod mock_binary;
pub mod plugin_users;
