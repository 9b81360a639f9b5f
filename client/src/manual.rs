//! Shell completion scripts and the man page, generated from the same clap definitions as the
//! parser ([`crate::cli::Cli`]), so they list exactly the subcommands and flags there are.

use std::io::{self, Write};

use clap::CommandFactory as _;
use clap_complete::Shell;

use crate::cli::Cli;

/// The binary's name, as completions register it.
const NAME: &str = "zulip-calls";

/// Writes the completion script for `shell`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, NAME, out);
}

/// Writes the man page (roff) of the binary and, as sections, of each subcommand.
pub fn man(out: &mut dyn Write) -> io::Result<()> {
    let command = Cli::command();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    // Each subcommand (and group subcommand), with its own synopsis and options.
    writeln!(out, ".SH SUBCOMMANDS")?;
    for sub in command.get_subcommands().filter(|c| !c.is_hide_set()) {
        write_subcommand(out, sub, NAME)?;
    }
    man.render_extra_section(out)?;
    man.render_version_section(out)?;
    man.render_authors_section(out)
}

fn write_subcommand(out: &mut dyn Write, sub: &clap::Command, parent: &str) -> io::Result<()> {
    let path = format!("{parent} {}", sub.get_name());
    writeln!(out, ".SS \"{path}\"")?;
    if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
        writeln!(out, "{}", escape(&about.to_string()))?;
    }
    for arg in sub
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_global_set())
    {
        let name = match (arg.get_long(), arg.get_short()) {
            (Some(long), _) => format!("\\-\\-{long}"),
            (None, Some(short)) => format!("\\-{short}"),
            (None, None) => arg.get_value_names().and_then(|v| v.first()).map_or_else(
                || arg.get_id().to_string().to_uppercase(),
                ToString::to_string,
            ),
        };
        writeln!(out, ".TP\n\\fB{name}\\fR")?;
        if let Some(help) = arg.get_long_help().or_else(|| arg.get_help()) {
            writeln!(out, "{}", escape(&help.to_string()))?;
        }
    }
    for nested in sub.get_subcommands().filter(|c| !c.is_hide_set()) {
        write_subcommand(out, nested, &path)?;
    }
    Ok(())
}

/// Text safe in roff: backslashes doubled, and no line starting with a control character.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .lines()
        .map(|line| {
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_man_page_has_a_section_per_subcommand() {
        let mut page = Vec::new();
        man(&mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with(".ie"), "{page}");
        for sub in [
            "zulip-calls call",
            "zulip-calls missed",
            "zulip-calls stats",
            "zulip-calls group start",
        ] {
            assert!(page.contains(&format!(".SS \"{sub}\"")), "{sub}");
        }
    }

    #[test]
    fn completions_name_the_subcommands() {
        let mut script = Vec::new();
        completions(Shell::Bash, &mut script);
        let script = String::from_utf8(script).unwrap();
        assert!(script.contains("missed") && script.contains("completions"));
    }
}
