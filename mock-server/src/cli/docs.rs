//! `completions` and `man`: shell completion scripts and a roff man page, both generated from
//! the same clap definitions as the parser, so they never drift from the real command line.

use clap::CommandFactory;
use clap_complete::Shell;

use super::{Cli, CliError};

/// The binary's name as completions and the man page call it.
const BIN: &str = "zulip-calls-mock";

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> String {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, BIN, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The man page (roff): the command, its options and its subcommands.
pub fn man_page() -> Result<String, CliError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| CliError::Runtime(format!("cannot render the man page: {e}")))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_name_every_subcommand() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
            let script = completions(shell);
            for sub in [
                "serve",
                "cleanup-calls",
                "users",
                "zuliprc",
                "endpoints",
                "scenario",
            ] {
                assert!(script.contains(sub), "{shell}: no {sub}");
            }
        }
    }

    #[test]
    fn the_man_page_is_roff_with_the_subcommands() {
        let page = man_page().unwrap();
        assert!(page.contains(".TH zulip-calls-mock"), "{page}");
        assert!(page.contains(".SH NAME"), "{page}");
        for sub in ["serve", "cleanup\\-calls", "scenario", "completions", "man"] {
            assert!(page.contains(sub), "no {sub}");
        }
    }
}
