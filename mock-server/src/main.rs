//! `zulip-calls-mock`: a stand-in for a Zulip server with the calls plugin.
//!
//! Thin on purpose: the commands live in [`zulip_calls_mock::cli`], where they are tested.

use std::process::ExitCode;

use clap::Parser;
use zulip_calls_mock::cli::{Cli, run};

fn main() -> ExitCode {
    run(Cli::parse())
}
