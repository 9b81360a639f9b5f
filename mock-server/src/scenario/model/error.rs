//! Why a scenario file was refused, and where in the file. One error type for every check of
//! loading, kept apart so that all of them report in the same shape.

use std::fmt;
use std::path::PathBuf;

/// Why a scenario file was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad TOML or a bad top-level key: toml's message, which shows the line.
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    /// A value that parsed but makes no sense.
    #[error("{}: {}{problem}", path.display(), Place { step: *step, line: *line, key: key.as_deref() })]
    Invalid {
        path: PathBuf,
        /// 1-based step number, when a step is to blame.
        step: Option<usize>,
        line: Option<usize>,
        /// The offending key (`expect.status`, `actors.hamlet`, ...).
        key: Option<String>,
        problem: String,
    },
}

/// `step 3 (line 20): key expect.status: ` or `key actors.hamlet: `.
struct Place<'a> {
    step: Option<usize>,
    line: Option<usize>,
    key: Option<&'a str>,
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(step) = self.step {
            write!(f, "step {step}")?;
            if let Some(line) = self.line {
                write!(f, " (line {line})")?;
            }
            f.write_str(": ")?;
        }
        if let Some(key) = self.key {
            write!(f, "key {key}: ")?;
        }
        Ok(())
    }
}
