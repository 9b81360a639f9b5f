//! Finding the `zulip-calls-mock` binary that the tools of this crate start.

use std::path::PathBuf;

use anyhow::{Context, bail};

/// The `zulip-calls-mock` binary: `flag`'s path, else the one built beside the running tool.
/// `hint` says how to get it when it is missing (which build, which flag).
pub fn mock_binary(flag: Option<PathBuf>, hint: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = flag {
        return Ok(path);
    }
    let me = std::env::current_exe()?;
    let beside = me
        .parent()
        .context("the tool has no directory")?
        .join("zulip-calls-mock");
    if !beside.exists() {
        bail!("{} is missing: {hint}", beside.display());
    }
    Ok(beside)
}
