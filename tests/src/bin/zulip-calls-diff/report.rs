//! The report: a table with one row per request, a summary line, then every difference with
//! both sides' values; or all of it as one JSON object.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::compare::Difference;
use crate::play::Row;

/// The report's width in columns.
const WIDTH: usize = 100;
const REQUEST_WIDTH: usize = 52;

/// One server, as the report names it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    pub name: &'static str,
    pub what: String,
    pub url: String,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub a: ServerInfo,
    pub b: ServerInfo,
    pub blocks: Vec<&'static str>,
    /// Requests sent to both servers and compared.
    pub compared: usize,
    pub identical: usize,
    pub different: usize,
    /// Requests sent to one server only (what they act on exists there alone).
    pub one_sided: usize,
    /// Requests not sent (what they act on exists on neither server).
    pub skipped: usize,
    /// Each differing path (indices and people as `*`), with the rows where it differs.
    pub by_path: Vec<PathTally>,
    pub ignored_paths: Vec<String>,
    pub notes: Vec<String>,
    pub rows: Vec<Row>,
}

impl Report {
    pub fn new(
        a: ServerInfo,
        b: ServerInfo,
        blocks: Vec<&'static str>,
        rows: Vec<Row>,
        ignored_paths: Vec<String>,
        notes: Vec<String>,
    ) -> Report {
        let count = |v: &str| rows.iter().filter(|r| r.verdict == v).count();
        Report {
            a,
            b,
            blocks,
            compared: count("identical") + count("different"),
            identical: count("identical"),
            different: count("different"),
            one_sided: count("one-sided"),
            skipped: count("skipped"),
            by_path: tally(&rows),
            ignored_paths,
            notes,
            rows,
        }
    }

    /// Whether the two servers behaved alike on every request.
    pub fn all_identical(&self) -> bool {
        // Requests not sent at all were answered alike before (nothing was created on either).
        self.different == 0 && self.one_sided == 0
    }

    /// The summary line, and a second one for requests sent to one server or none.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} requests compared, {} identical",
            self.compared, self.identical
        );
        if self.different > 0 {
            let _ = write!(text, ", {} different", self.different);
        }
        let mut more = Vec::new();
        if self.one_sided > 0 {
            more.push(format!("{} sent to one server only", self.one_sided));
        }
        if self.skipped > 0 {
            more.push(format!("{} not sent (nothing to act on)", self.skipped));
        }
        if !more.is_empty() {
            let _ = write!(text, "\n{}", more.join("; "));
        }
        text
    }

    /// The report as text.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "A: {} at {}", self.a.what, self.a.url);
        let _ = writeln!(out, "B: {} at {}", self.b.what, self.b.url);
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        if !self.ignored_paths.is_empty() {
            let _ = writeln!(out, "ignored paths: {}", self.ignored_paths.join(", "));
        }
        out.push('\n');
        let _ = writeln!(
            out,
            "{:>4}  {:<REQUEST_WIDTH$}  {:>3}  {:>3}  verdict",
            "#", "request (who: method path params)", "A", "B"
        );
        let mut block = 0;
        for row in &self.rows {
            if row.block != block {
                block = row.block;
                let title = self.blocks.get(block - 1).copied().unwrap_or("");
                let _ = writeln!(out, "{}", fit(&format!("-- {block}. {title} "), WIDTH));
            }
            let request = fit(&format!("{}: {}", row.who, row.request), REQUEST_WIDTH);
            let verdict = match row.verdict {
                "identical" => "identical".to_owned(),
                "skipped" => "not sent: nothing to act on".to_owned(),
                "one-sided" => format!(
                    "only on {} (follows an earlier difference)",
                    if row.status_a.is_some() { "A" } else { "B" }
                ),
                _ => brief(&row.differences),
            };
            let used = 4 + 2 + REQUEST_WIDTH + 2 + 3 + 2 + 3 + 2;
            let _ = writeln!(
                out,
                "{:>4}  {:<REQUEST_WIDTH$}  {:>3}  {:>3}  {}",
                row.n,
                request,
                status(row.status_a),
                status(row.status_b),
                fit(&verdict, WIDTH - used)
            );
        }
        out.push('\n');
        let _ = writeln!(out, "{}", self.summary());
        let differing: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.verdict == "different")
            .collect();
        if !self.by_path.is_empty() {
            let _ = writeln!(out, "\nWhere they differ (indices and people as *):");
            let _ = writeln!(
                out,
                "(a push is push.<to>:<transport>:<its data's event>, `-` when its data has none)"
            );
            for t in &self.by_path {
                let mut rows: Vec<String> =
                    t.rows.iter().take(6).map(|n| format!("#{n}")).collect();
                if t.rows.len() > 6 {
                    rows.push("…".to_owned());
                }
                let line = format!(
                    "{:>4} {}  {}: {}  ({})",
                    t.rows.len(),
                    if t.rows.len() == 1 { "row " } else { "rows" },
                    t.path,
                    t.kind,
                    rows.join(" ")
                );
                let _ = writeln!(out, "{}", fit(&line, WIDTH));
            }
        }
        if !differing.is_empty() {
            let _ = writeln!(out, "\nDifferences, request by request (A | B):");
            for row in differing {
                let _ = writeln!(
                    out,
                    "\n#{} {}",
                    row.n,
                    fit(&format!("{}: {}", row.who, row.request), WIDTH - 6)
                );
                for line in detail(&row.differences) {
                    let _ = writeln!(out, "{}", fit(&line, WIDTH));
                }
            }
        }
        out
    }
}

/// A differing path, as it differs across rows.
#[derive(Debug, Clone, Serialize)]
pub struct PathTally {
    /// The path with indices and people as `*` (`ev.*[*].user_id`, `push.*:fcm:call.data.type`).
    pub path: String,
    /// `only on A`, `only on B` or `differs`.
    pub kind: &'static str,
    /// The rows where it differs.
    pub rows: Vec<usize>,
}

/// Every differing path, most frequent first.
fn tally(rows: &[Row]) -> Vec<PathTally> {
    let mut out: Vec<PathTally> = Vec::new();
    for row in rows {
        for d in &row.differences {
            let kind = match (&d.a, &d.b) {
                (Some(_), None) => "only on A",
                (None, Some(_)) => "only on B",
                _ => "differs",
            };
            let path = generic(&d.path);
            match out.iter_mut().find(|t| t.path == path && t.kind == kind) {
                Some(t) => {
                    if t.rows.last() != Some(&row.n) {
                        t.rows.push(row.n);
                    }
                }
                None => out.push(PathTally {
                    path,
                    kind,
                    rows: vec![row.n],
                }),
            }
        }
    }
    out.sort_by(|x, y| y.rows.len().cmp(&x.rows.len()).then(x.path.cmp(&y.path)));
    out
}

/// `path` with indices as `[*]`, the person of `ev.<person>` and of a push key as `*`.
fn generic(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '[' {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('*');
        }
    }
    let mut parts: Vec<String> = out.splitn(3, '.').map(str::to_owned).collect();
    if parts.len() >= 2 {
        match parts[0].as_str() {
            "ev" => {
                let rest = parts[1].find('[').map_or("", |i| &parts[1][i..]).to_owned();
                parts[1] = format!("*{rest}");
            }
            "push" => {
                let rest = parts[1].find(':').map_or("", |i| &parts[1][i..]).to_owned();
                parts[1] = format!("*{rest}");
            }
            _ => {}
        }
    }
    parts.join(".")
}

fn status(status: Option<u16>) -> String {
    status.map_or_else(|| "-".to_owned(), |s| s.to_string())
}

/// `text` cut to `width` characters, ending in `…` when cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The parent of a path and its last step (`ev.iago[0]` and `op`; `push` and `[1]`).
fn split(path: &str) -> (&str, String) {
    let dot = path.rfind('.');
    let bracket = path.rfind('[');
    match (dot, bracket) {
        (Some(d), Some(b)) if b > d => (&path[..b], path[b..].to_owned()),
        (Some(d), _) => (&path[..d], path[d + 1..].to_owned()),
        (None, Some(b)) => (&path[..b], path[b..].to_owned()),
        (None, None) => ("", path.to_owned()),
    }
}

/// Differences grouped by parent path, in order: `(parent, leaves)`.
fn groups<'a>(differences: impl Iterator<Item = &'a Difference>) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for d in differences {
        let (parent, leaf) = split(&d.path);
        match out.last_mut() {
            Some((p, leaves)) if p == parent => leaves.push(leaf),
            _ => out.push((parent.to_owned(), vec![leaf])),
        }
    }
    out
}

fn join(parent: &str, leaves: &[String]) -> String {
    let leaf = if leaves.len() == 1 {
        leaves[0].clone()
    } else {
        format!("{{{}}}", leaves.join(","))
    };
    if parent.is_empty() {
        leaf
    } else if leaf.starts_with('[') {
        format!("{parent}{leaf}")
    } else {
        format!("{parent}.{leaf}")
    }
}

/// The differing paths, briefly (the status is in its own columns).
fn brief(differences: &[Difference]) -> String {
    let text = groups(differences.iter().filter(|d| d.path != "status"))
        .iter()
        .map(|(parent, leaves)| join(parent, leaves))
        .collect::<Vec<_>>()
        .join("; ");
    if text.is_empty() {
        "status only".to_owned()
    } else {
        text
    }
}

/// The detail lines of a row's differences: siblings present on one side only are grouped;
/// every other difference shows both values.
fn detail(differences: &[Difference]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut i = 0;
    while i < differences.len() {
        let d = &differences[i];
        let one_side = |d: &Difference| match (&d.a, &d.b) {
            (Some(_), None) => Some("A"),
            (None, Some(_)) => Some("B"),
            _ => None,
        };
        if let Some(side) = one_side(d) {
            // Gather following siblings missing on the same side.
            let (parent, _) = split(&d.path);
            let mut j = i;
            let mut leaves = Vec::new();
            while j < differences.len()
                && one_side(&differences[j]) == Some(side)
                && split(&differences[j].path).0 == parent
            {
                leaves.push(split(&differences[j].path).1);
                j += 1;
            }
            if leaves.len() == 1 {
                let value = d.a.as_ref().or(d.b.as_ref()).map_or(String::new(), show);
                lines.push(format!("  {}: only on {side}: {value}", d.path));
            } else {
                lines.push(format!("  {}: only on {side}", join(parent, &leaves)));
            }
            i = j;
            continue;
        }
        let (a, b) = excerpts(d.a.as_ref(), d.b.as_ref());
        lines.push(format!("  {}: {a} | {b}", d.path));
        i += 1;
    }
    lines
}

fn show(value: &Value) -> String {
    fit(&compact(value), 60)
}

/// `value` as compact JSON, with the keys that say what an event or push is (`type`, `op`,
/// `state`, `to`, `event`) first.
fn compact(value: &Value) -> String {
    const FIRST: &[&str] = &["type", "op", "state", "to", "via", "data", "event"];
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| FIRST.iter().position(|f| f == k).unwrap_or(FIRST.len()));
            let fields: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), compact(&map[*k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(compact).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

/// Both values, cut to fit; two strings are shown from a little before where they part.
fn excerpts(a: Option<&Value>, b: Option<&Value>) -> (String, String) {
    let text = |v: Option<&Value>| v.map_or_else(|| "(absent)".to_owned(), Value::to_string);
    let (x, y) = (text(a), text(b));
    if let (Some(Value::String(sa)), Some(Value::String(sb))) = (a, b) {
        let common = sa
            .chars()
            .zip(sb.chars())
            .take_while(|(p, q)| p == q)
            .count();
        if common > 20 {
            let from = common - 12;
            let cut = |s: &str| {
                let rest: String = s.chars().skip(from).collect();
                fit(&format!("\"…{rest}\""), 44)
            };
            return (cut(sa), cut(sb));
        }
    }
    (fit(&x, 44), fit(&y, 44))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn diff(path: &str, a: Option<Value>, b: Option<Value>) -> Difference {
        Difference {
            path: path.to_owned(),
            a,
            b,
        }
    }

    #[test]
    fn the_verdict_names_the_paths_briefly() {
        let found = vec![
            diff("body.code", None, Some(json!("X"))),
            diff("body.msg", None, Some(json!("m"))),
            diff("ev.iago[0].user_id", None, Some(json!(1))),
            diff("push[1]", None, Some(json!({}))),
            diff("status", Some(json!(404)), Some(json!(403))),
        ];
        assert_eq!(
            brief(&found),
            "body.{code,msg}; ev.iago[0].user_id; push[1]"
        );
        assert_eq!(
            brief(&[diff("status", Some(json!(1)), Some(json!(2)))]),
            "status only"
        );
        let lines = detail(&found);
        assert_eq!(lines[0], "  body.{code,msg}: only on B");
        assert_eq!(lines[1], "  ev.iago[0].user_id: only on B: 1");
        assert_eq!(lines[3], "  status: 404 | 403");
    }

    #[test]
    fn paths_are_made_generic_for_the_tally() {
        assert_eq!(generic("ev.hamlet[12].user_id"), "ev.*[*].user_id");
        assert_eq!(
            generic("push.iago:fcm:call.data.type"),
            "push.*:fcm:call.data.type"
        );
        assert_eq!(generic("body.calls[0].state"), "body.calls[*].state");
        assert_eq!(generic("status"), "status");
    }

    #[test]
    fn long_strings_show_where_they_part() {
        let a = json!("Failed to respond to call: ['“not-a-uuid” is not a valid UUID.']");
        let b = json!("Failed to respond to call: no such call, and a long tail after it");
        let (x, y) = excerpts(Some(&a), Some(&b));
        assert!(x.starts_with("\"…"), "{x}");
        assert!(y.contains("no such call"), "{y}");
    }
}
