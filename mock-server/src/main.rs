//! `zulip-calls-mock`: a stand-in for a Zulip server with the calls plugin.
//!
//! Thin on purpose: the commands live in [`zulip_calls_mock::cli`], where they are tested.

use std::process::ExitCode;

use clap::Parser;
use zulip_calls_mock::cli::{Cli, run};

/// Many small short-lived allocations per request (headers, JSON, events): mimalloc serves
/// them with less CPU than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's number for its `purge_delay` option (its place in `mi_option_e` in `mimalloc.h`,
/// v3, as built by `libmimalloc-sys` 0.1.49, which is pinned exactly for this).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Holding 10,000 idle clients is mostly many small buffers coming and going. By default
/// mimalloc commits its whole arena up front (turned off at build time, in
/// `.cargo/config.toml`) and hands freed pages back to the system a second later; together
/// that was ~90 MB more resident memory there. Hand them back at once instead (as
/// `MIMALLOC_PURGE_DELAY=0` would; the variable still wins when set).
#[allow(unsafe_code)]
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: `mi_option_set` stores an integer in mimalloc's option table; it is not
        // thread safe, and this runs first in `main`, before any other thread exists.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
}

fn main() -> ExitCode {
    tune_allocator();
    run(Cli::parse())
}
