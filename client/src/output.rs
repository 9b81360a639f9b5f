//! Printing for the subcommands: human text by default, one JSON object per line with
//! `--json`. Every line is flushed at once, so a script reading a pipe sees it immediately.

use std::io::{self, Write};

use serde::Serialize;

/// A command's result, printable both ways.
pub trait Render: Serialize {
    /// Text for people, ending with a newline (empty for nothing to say).
    fn human(&self) -> String;
}

/// Where results go, and in which form.
#[derive(Debug)]
pub struct Output<W: Write> {
    json: bool,
    out: W,
}

impl<W: Write> Output<W> {
    /// Human text, or JSON when `json`.
    pub fn new(out: W, json: bool) -> Self {
        Output { json, out }
    }

    /// Whether this output prints JSON.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints `value` as text or as one JSON line.
    pub fn print<R: Render + ?Sized>(&mut self, value: &R) -> io::Result<()> {
        if self.json {
            self.json_line(value)
        } else {
            self.out.write_all(value.human().as_bytes())?;
            self.out.flush()
        }
    }

    /// Prints `text` (a line ending with a newline) for people only: JSON output leaves it
    /// out, so scripts keep reading exactly the results.
    pub fn note(&mut self, text: &str) -> io::Result<()> {
        if self.json {
            return Ok(());
        }
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }

    /// Prints `value` as one JSON line whatever the mode (`watch` always speaks JSON).
    pub fn json_line<S: Serialize + ?Sized>(&mut self, value: &S) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// The writer, for tests.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Greeting {
        name: &'static str,
    }

    impl Render for Greeting {
        fn human(&self) -> String {
            format!("hello {}\n", self.name)
        }
    }

    #[test]
    fn text_by_default_json_lines_on_request() {
        let mut text = Output::new(Vec::new(), false);
        text.print(&Greeting { name: "iago" }).unwrap();
        assert_eq!(
            String::from_utf8(text.into_inner()).unwrap(),
            "hello iago\n"
        );

        let mut json = Output::new(Vec::new(), true);
        json.print(&Greeting { name: "iago" }).unwrap();
        json.print(&Greeting { name: "zoe" }).unwrap();
        assert_eq!(
            String::from_utf8(json.into_inner()).unwrap(),
            "{\"name\":\"iago\"}\n{\"name\":\"zoe\"}\n"
        );
    }
}
