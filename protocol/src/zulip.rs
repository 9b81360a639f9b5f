//! Zulip endpoints.
